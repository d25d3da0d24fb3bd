#include "repository/blob_saver.h"

#include <utility>

#include "util/thread_start.h"

namespace lifeboat {

BlobSaver::BlobSaver(Repository& repo, BlobSaverOptions options)
    : repo_(repo), options_(options), index_(options.index ? *options.index : repo.index()) {
  // Workers encode and also upload the packs they fill: a remote store gets as many as it serves
  // at once, a local disk about one per core.
  const int n = WorkersFor(repo_.backend(), options_.workers);
  for (auto& w : writers_) w = std::make_unique<PackWriter>(repo_.aead());
  // The system may start fewer threads than asked for (none: callers encode themselves).
  StartThreads(&threads_, static_cast<size_t>(n), [this] { WorkerLoop(); });
}

BlobSaver::~BlobSaver() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    // Work not flushed is dropped (see the header): nothing refers to it yet.
    for (Job& job : queue_) {
      if (job.pending) job.pending->Done();
    }
    queue_.clear();
    queued_bytes_ = 0;
  }
  work_cv_.NotifyAll();
  for (auto& t : threads_) t.join();
}

void BlobSaver::SetError(const Status& st) {
  MutexLock lock(&mu_);
  if (error_.ok()) error_ = st;
  space_cv_.NotifyAll();
}

bool BlobSaver::Known(BlobType type, const Id& id) {
  // pending_ first, then the index: a worker adds a blob to the index before erasing it from
  // pending_, so in this order a blob that is in either is always seen in one of them.
  MutexLock lock(&mu_);
  return pending_.count(Key{id, type}) > 0 || index_.Has(type, id);
}

Result<bool> BlobSaver::Accept(BlobType type, const Id& id) {
  if (index_.Has(type, id)) return false;
  MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  // Re-check under the lock: a worker indexes a blob before erasing it from pending_, so a blob
  // is always in at least one of the two. Waiting for queue space releases the lock, so another
  // thread may accept the same blob meanwhile: check again after every wait.
  for (;;) {
    if (pending_.count(Key{id, type}) || index_.Has(type, id)) return false;
    if (queued_bytes_ < options_.max_queued_bytes) break;
    space_cv_.Wait(&mu_);
    if (!error_.ok()) return error_;
  }
  pending_.insert(Key{id, type});
  return true;
}

Result<bool> BlobSaver::Save(BlobType type, const Id& id, Bytes plaintext) {
  LB_ASSIGN_OR_RETURN(bool accepted, Accept(type, id));
  if (!accepted) return false;
  if (plaintext.size() <= options_.inline_max_bytes || threads_.empty()) {
    // Small blobs are encoded right here, in the caller's thread: handing thousands of tiny
    // blobs to a worker costs more in wake-ups than the encoding itself.
    Status st = EncodeInline(type, id, plaintext);
    if (!st.ok()) {
      SetError(st);
      return st;
    }
    return true;
  }
  {
    MutexLock lock(&mu_);
    queued_bytes_ += plaintext.size();
    queue_.push_back(Job{type, id, std::move(plaintext)});
  }
  work_cv_.NotifyOne();
  return true;
}

Status BlobSaver::SaveUnhashed(BlobType type, Bytes plaintext, Id* id_out,
                               PendingIds* pending) {
  if (threads_.empty()) {  // no worker could be started: hash and store in the caller's thread
    *id_out = repo_.codec().ComputeId(plaintext);
    auto added = Save(type, *id_out, std::move(plaintext));
    return added.status();
  }
  {
    MutexLock lock(&mu_);
    while (error_.ok() && queued_bytes_ >= options_.max_queued_bytes) space_cv_.Wait(&mu_);
    if (!error_.ok()) return error_;
    pending->Add();
    queued_bytes_ += plaintext.size();
    queue_.push_back(Job{type, Id(), std::move(plaintext), id_out, pending});
  }
  work_cv_.NotifyOne();
  return Status::Ok();
}

Result<bool> BlobSaver::SaveStored(BlobType type, const Id& id, Bytes stored,
                                   uint32_t raw_length) {
  LB_ASSIGN_OR_RETURN(bool accepted, Accept(type, id));
  if (!accepted) return false;
  Status st = AddToPack(type, id, std::move(stored), raw_length);
  if (!st.ok()) {
    SetError(st);
    return st;
  }
  return true;
}

void BlobSaver::WorkerLoop() {
  for (;;) {
    Job job;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) work_cv_.Wait(&mu_);
      // Destroyed without Flush(): queued blobs are dropped. Nothing references them yet.
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= job.plaintext.size();
      ++active_;
      if (!error_.ok()) {  // drain without work after an error
        --active_;
        if (job.pending) job.pending->Done();
        space_cv_.NotifyAll();
        continue;
      }
    }
    space_cv_.NotifyAll();
    // An exception (std::bad_alloc) must not escape the thread (std::terminate): it becomes the
    // saver's error, and a caller waiting for this job's id is told it is done.
    try {
      RunJob(job);
    } catch (...) {
      if (job.pending) job.pending->Done();
      SetError(StatusFromCurrentException("the blob saver"));
    }
    {
      MutexLock lock(&mu_);
      --active_;
    }
    space_cv_.NotifyAll();
  }
}

void BlobSaver::RunJob(Job& job) {
  if (job.id_out) {
    job.id = repo_.codec().ComputeId(job.plaintext);
    *job.id_out = job.id;
    bool known;
    {
      // The same check as Accept(): pending_ first, then the index.
      MutexLock lock(&mu_);
      const Key key{job.id, job.type};
      known = pending_.count(key) > 0 || index_.Has(job.type, job.id);
      if (!known) pending_.insert(key);
    }
    // The id is set; nothing below touches *id_out or the caller's state.
    std::exchange(job.pending, nullptr)->Done();
    if (known) {
      if (options_.buffers) options_.buffers->Give(std::move(job.plaintext));
      return;
    }
  }
  const size_t raw_length = job.plaintext.size();
  Bytes stored;
  Status st = repo_.codec().Encode(job.plaintext, job.id, &stored);
  if (options_.buffers) options_.buffers->Give(std::move(job.plaintext));
  if (st.ok()) {
    st = AddToPack(job.type, job.id, std::move(stored), static_cast<uint32_t>(raw_length));
  }
  if (!st.ok()) SetError(st);
}

Status BlobSaver::EncodeInline(BlobType type, const Id& id, ByteView plaintext) {
  Bytes stored;
  LB_RETURN_IF_ERROR(repo_.codec().Encode(plaintext, id, &stored));
  return AddToPack(type, id, std::move(stored), static_cast<uint32_t>(plaintext.size()));
}

Status BlobSaver::AddToPack(BlobType type, const Id& id, Bytes stored, uint32_t raw_length) {
  new_blobs_++;
  (type == BlobType::kData ? new_data_blobs_ : new_tree_blobs_)++;
  new_raw_bytes_ += raw_length;
  new_stored_bytes_ += stored.size();
  std::unique_ptr<PackWriter> full;
  {
    MutexLock lock(&pack_mu_);
    std::unique_ptr<PackWriter>& writer = writers_[static_cast<size_t>(type)];
    writer->Add(type, id, std::move(stored), raw_length);
    if (writer->bytes() >= repo_.config().pack_size) {
      full = std::move(writer);
      writer = std::make_unique<PackWriter>(repo_.aead());
    }
  }
  // Finished and stored outside the lock: others keep filling the next pack meanwhile.
  if (full) return UploadPack(*full);
  return Status::Ok();
}

Status BlobSaver::UploadPack(PackWriter& writer) {
  if (writer.empty()) return Status::Ok();
  LB_ASSIGN_OR_RETURN(FinishedPack pack, writer.Finish());
  Status st = repo_.backend().SaveParts({ObjectType::kPack, pack.name.Hex()}, pack.Views());
  // The same pack bytes cannot reappear (random seeds), but a retried save may have landed.
  if (!st.ok()) return st.WithContext("saving pack " + pack.name.Hex());
  packs_++;
  index_.AddPack(pack.name, pack.blobs);
  {
    MutexLock lock(&mu_);
    for (const auto& b : pack.blobs) pending_.erase(Key{b.id, b.type});
  }
  bool write_index;
  {
    MutexLock lock(&index_mu_);
    unindexed_.packs.push_back(IndexFile::Pack{pack.name, std::move(pack.blobs)});
    write_index = unindexed_.packs.size() >= options_.packs_per_index;
  }
  if (write_index) {
    // The pack is stored and in the in-memory index; only its index file is missing. A failed
    // write keeps the entries (WriteIndex puts them back) for the next index file or Flush(),
    // which reports the error if it persists, so it does not stop the backup here.
    WriteIndex(false).IgnoreError();
  }
  return Status::Ok();
}

Status BlobSaver::WriteIndex(bool all) {
  IndexFile file;
  {
    MutexLock lock(&index_mu_);
    if (unindexed_.packs.empty() || (!all && unindexed_.packs.size() < options_.packs_per_index))
      return Status::Ok();
    file.packs = std::move(unindexed_.packs);
    unindexed_.packs.clear();
  }
  Status allowed = options_.before_index_write ? options_.before_index_write() : Status::Ok();
  if (!allowed.ok()) {
    MutexLock lock(&index_mu_);
    for (auto& p : file.packs) unindexed_.packs.push_back(std::move(p));
    return allowed;
  }
  auto id = repo_.SaveUnpacked(ObjectType::kIndex, EncodeIndexFile(file));
  if (!id.ok()) {
    // Put the entries back so a later Flush() can retry them.
    MutexLock lock(&index_mu_);
    for (auto& p : file.packs) unindexed_.packs.push_back(std::move(p));
    return id.status().WithContext("saving index");
  }
  index_files_++;
  MutexLock lock(&index_mu_);
  written_index_files_.push_back(*id);
  return Status::Ok();
}

Status BlobSaver::Flush() {
  {
    MutexLock lock(&mu_);
    while (!queue_.empty() || active_ != 0) space_cv_.Wait(&mu_);
    if (!error_.ok()) return error_;
  }
  // All workers are idle and callers do not Save() during Flush(), so no pack is being filled
  // or stored by anyone else: the open packs are stored here, under the lock all the same.
  {
    MutexLock lock(&pack_mu_);
    for (auto& writer : writers_) {
      Status st = UploadPack(*writer);
      if (!st.ok()) {
        SetError(st);
        return st;
      }
    }
  }
  // Not sticky: the entries were put back, so calling Flush() again retries the index write.
  return WriteIndex(true);
}

std::vector<Id> BlobSaver::index_files() const {
  MutexLock lock(&index_mu_);
  return written_index_files_;
}

BlobSaverStats BlobSaver::stats() const {
  BlobSaverStats s;
  s.new_blobs = new_blobs_;
  s.new_data_blobs = new_data_blobs_;
  s.new_tree_blobs = new_tree_blobs_;
  s.new_raw_bytes = new_raw_bytes_;
  s.new_stored_bytes = new_stored_bytes_;
  s.packs = packs_;
  s.index_files = index_files_;
  return s;
}

}  // namespace lifeboat
