// BlobSaver: the write path for blobs — dedup, encode (compress, seal, verify) on worker threads,
// pack, upload, and index files written as packs land.
//
//   BlobSaver saver(repo, {});
//   LB_ASSIGN_OR_RETURN(bool added, saver.Save(BlobType::kData, id, std::move(chunk)));
//   LB_RETURN_IF_ERROR(saver.Flush());   // only now is every accepted blob durable and indexed
//
// Tree blobs and data blobs never share a pack (doc/repository-format.md §6): the trees of
// forgotten snapshots then fill whole packs that prune deletes, instead of leaving holes in data
// packs that prune would have to rewrite, and tree-only packs are quick to read for walks.
//
// Ordering guarantee (what makes crashes safe): a pack is stored before any index file naming it,
// and Flush() returns only after every pack and index file is stored, so a snapshot written after
// Flush() never refers to missing data. Work still queued when the saver is destroyed without
// Flush() is dropped; it was never referenced by an index, so it leaves at most unreferenced packs.
//
// Threads: `workers` encoding threads, or fewer when the system refuses to start more (a process
// or memory limit); with none, every blob is encoded in the thread that saves it. Running out of
// memory on a worker (std::bad_alloc) becomes the saver's sticky error, like a failed upload.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "index/index.h"
#include "pack/pack.h"
#include "repository/repository.h"
#include "util/buffer_pool.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct BlobSaverOptions {
  int workers = 0;                      // 0: WorkersFor(the repository's backend)
  size_t max_queued_bytes = 8u << 20;   // Save() blocks while more than this waits for encoding
  size_t packs_per_index = 4;           // write an index file after this many packs
  size_t inline_max_bytes = 256u << 10;  // blobs up to this size are encoded in Save()'s caller
  // The index that decides what is already stored and that learns every new pack; null means
  // repo.index(). Prune passes the index it is building, so blobs it repacks out of packs about
  // to be deleted are stored again and indexed at their new place.
  MasterIndex* index = nullptr;
  // Called right before each index file is written; an error stops the write (and is returned
  // from Flush). Backups pass their lock's Check(): a process whose lock was lost (say it was
  // suspended while a prune judged the lock stale and deleted its unindexed packs) must not
  // publish index entries for packs that may be gone.
  std::function<Status()> before_index_write;
  // Where the plaintext buffer of each queued blob goes once it is encoded; null: it is freed.
  // The backup's reader takes its chunk buffers from the same pool, so they circulate.
  BufferPool* buffers = nullptr;

  static BlobSaverOptions WithWorkers(int n) {
    BlobSaverOptions o;
    o.workers = n;
    return o;
  }
};

// Counts the blobs a caller handed to BlobSaver::SaveUnhashed whose ids are not known yet. The
// caller waits on it before reading the ids. Thread-safe.
class PendingIds {
 public:
  void Add() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ++count_;
  }
  void Done() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (--count_ == 0) cv_.NotifyAll();
  }
  void Wait() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (count_ != 0) cv_.Wait(&mu_);
  }

 private:
  Mutex mu_;
  CondVar cv_;  // count_ reached zero
  size_t count_ GUARDED_BY(mu_) = 0;
};

struct BlobSaverStats {
  uint64_t new_blobs = 0, new_data_blobs = 0, new_tree_blobs = 0;
  uint64_t new_raw_bytes = 0, new_stored_bytes = 0;
  uint64_t packs = 0, index_files = 0;
};

class BlobSaver {
 public:
  BlobSaver(Repository& repo, BlobSaverOptions options);
  ~BlobSaver();
  BlobSaver(const BlobSaver&) = delete;
  BlobSaver& operator=(const BlobSaver&) = delete;

  // Accepts a blob whose id the caller computed with repo.codec().ComputeId. Returns true when
  // the blob was new and is now queued, false when the repository or this saver already has it.
  // Blobs up to inline_max_bytes are encoded in the calling thread; larger ones are queued for
  // the workers (blocking while the queue is full). Returns the first error hit. Thread-safe.
  Result<bool> Save(BlobType type, const Id& id, Bytes plaintext);

  // Like Save(), for a blob already in its stored form (compressed and sealed, as in a pack) that
  // the caller has just verified with repo.codec().Decode() against `id` and `raw_length`. It is
  // packed as is, without being encoded again: prune uses this to move blobs out of packs it
  // deletes. Stored forms are independent of the pack that holds them (format §5), so the bytes
  // stay valid in a new pack. Thread-safe.
  Result<bool> SaveStored(BlobType type, const Id& id, Bytes stored, uint32_t raw_length);

  // Like Save(), for a blob whose id is not computed yet: a worker computes it
  // (repo.codec().ComputeId), writes it to *id_out, then stores the blob unless the repository or
  // this saver already has it. So a single large file is hashed on all cores, not only by the
  // thread that reads it. `pending` counts the blob until *id_out is set; the caller must
  // pending->Wait() before reading *id_out and keep both alive until then. If the saver fails,
  // *id_out may stay unset: the error is returned by every later call and by Flush(). Blocks
  // while the queue is full. Thread-safe.
  Status SaveUnhashed(BlobType type, Bytes plaintext, Id* id_out, PendingIds* pending);

  // True if the blob is in the index or queued here. Thread-safe.
  bool Known(BlobType type, const Id& id);

  // Drains the queue, writes all partial packs and the remaining index entries. Thread-safe,
  // but Save() must not be called concurrently with Flush(). Errors while encoding or storing a
  // pack stick: every later Save() and Flush() returns them. A failure to store an index file
  // does not stick: its entries are kept, and calling Flush() again retries writing them.
  Status Flush();

  BlobSaverStats stats() const;
  // The first error that stopped the saver (sticky), or OK.
  Status status() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return error_;
  }
  // Blobs up to this size are encoded in the caller's thread by Save().
  size_t inline_max_bytes() const { return options_.inline_max_bytes; }
  // Names of the index files this saver has written so far. Thread-safe.
  std::vector<Id> index_files() const;

 private:
  struct Job {
    BlobType type;
    Id id;
    Bytes plaintext;
    Id* id_out = nullptr;          // SaveUnhashed: the id is computed by the worker
    PendingIds* pending = nullptr;  // SaveUnhashed: told once id_out is set (or dropped)
  };
  struct Key {
    Id id;
    BlobType type;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return IdHash()(k.id) ^ static_cast<size_t>(k.type); }
  };

  void WorkerLoop() EXCLUDES(mu_);
  void RunJob(Job& job);  // one queued blob: hash if needed, encode, pack; may throw bad_alloc
  // Finishes, stores and indexes a pack. Thread-safe; takes mu_ and index_mu_.
  Status UploadPack(PackWriter& writer) EXCLUDES(mu_, index_mu_);
  Status EncodeInline(BlobType type, const Id& id, ByteView plaintext);
  // Adds an encoded blob to the open pack of its type; stores the pack when it is full.
  Status AddToPack(BlobType type, const Id& id, Bytes stored, uint32_t raw_length);
  // Accepts (type, id) into pending_ unless it is known; waits while the queue is full.
  Result<bool> Accept(BlobType type, const Id& id) EXCLUDES(mu_);
  Status WriteIndex(bool all) EXCLUDES(index_mu_);  // writes pending index entries
  void SetError(const Status& st) EXCLUDES(mu_);

  Repository& repo_;
  BlobSaverOptions options_;
  MasterIndex& index_;  // options_.index or repo_.index()

  Mutex mu_;
  CondVar work_cv_;   // jobs available or stopping
  CondVar space_cv_;  // queue has room, or idle
  std::deque<Job> queue_ GUARDED_BY(mu_);
  size_t queued_bytes_ GUARDED_BY(mu_) = 0;
  size_t active_ GUARDED_BY(mu_) = 0;  // workers encoding a job
  bool stopping_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
  std::unordered_set<Key, KeyHash> pending_ GUARDED_BY(mu_);  // accepted, not yet indexed
  std::vector<std::thread> threads_;  // started by the constructor, joined by the destructor

  // The open pack of each blob type (indexed by BlobType), shared by all threads: one pack in
  // memory per type, however many workers (trees and data never share a pack).
  Mutex pack_mu_;
  std::array<std::unique_ptr<PackWriter>, 2> writers_ GUARDED_BY(pack_mu_);

  mutable Mutex index_mu_;
  IndexFile unindexed_ GUARDED_BY(index_mu_);
  std::vector<Id> written_index_files_ GUARDED_BY(index_mu_);

  std::atomic<uint64_t> new_blobs_{0}, new_data_blobs_{0}, new_tree_blobs_{0};
  std::atomic<uint64_t> new_raw_bytes_{0}, new_stored_bytes_{0}, packs_{0}, index_files_{0};
};

}  // namespace lifeboat
