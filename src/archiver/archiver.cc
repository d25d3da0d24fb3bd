#include "archiver/archiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "archiver/dir_descriptors.h"
#include "archiver/fs_metadata.h"
#include "archiver/walk_rules.h"
#include "repository/blob_saver.h"
#include "util/buffer_pool.h"
#include "util/file_io.h"
#include "util/progress_reporter.h"
#include "util/thread_pool.h"
#include "util/thread_start.h"

namespace lifeboat {

// ---------------------------------------------------------------------------------------------
// Paths and excludes

std::string CleanPath(const std::string& path) {
  std::string abs = path;
  if (abs.empty() || abs[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) abs = std::string(cwd) + "/" + abs;
  }
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= abs.size()) {
    size_t slash = abs.find('/', pos);
    if (slash == std::string::npos) slash = abs.size();
    std::string part = abs.substr(pos, slash - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

namespace {

// Memory of chunk buffers a backup keeps for reuse (util/buffer_pool.h). Measured on the 1 GiB
// image benchmark: 8 MiB cuts page faults by a third (sys time 1.3 -> 1.0 s) for about 6-13 MiB
// more peak memory; 16 MiB gains little more and costs another 8.
constexpr size_t kPooledBufferBytes = 8u << 20;

// Opens the entry `name` of the directory open as `dirfd` (by `path` when dirfd < 0) without
// touching its atime where the kernel allows that (O_NOATIME needs ownership or CAP_FOWNER).
int OpenEntry(int dirfd, const std::string& name, const std::string& path, int flags) {
  auto open = [&](int f) {
    return dirfd >= 0 ? ::openat(dirfd, name.c_str(), f) : ::open(path.c_str(), f);
  };
  int fd = open(flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(flags);
  return fd;
}

const Node* FindChild(const Tree* tree, const std::string& name) {
  if (!tree) return nullptr;
  auto it = std::lower_bound(tree->nodes.begin(), tree->nodes.end(), name,
                             [](const Node& n, const std::string& v) { return n.name < v; });
  if (it == tree->nodes.end() || it->name != name) return nullptr;
  return &*it;
}

// One directory being assembled. Children fill fixed slots; `pending` counts outstanding
// children plus one hold by the walker. Whoever drops it to zero finishes the tree.
struct DirState {
  std::string path;
  // How to open the directory (dirs_): its entries are opened, stat'ed and their xattrs read
  // relative to its descriptor, so no path is ever longer than a name and paths beyond PATH_MAX
  // are backed up. Unused for the virtual directories above the paths given (`is_virtual`:
  // their entries are reached by path, following symlinks in those leading components).
  DirLink link;
  bool is_virtual = false;
  int depth = 0;  // below the root of the walk
  Node node;
  std::vector<Node> children;
  std::vector<uint8_t> valid;
  std::atomic<int64_t> pending{1};
  std::shared_ptr<DirState> parent;
  size_t slot = 0;
  const Node* old = nullptr;  // this directory in the parent snapshot (owned by old_trees)
};

// A directory AddEntry found that the walk enters next, once the caller has let go of its own
// directory's descriptor (so the walk holds descriptors for a window of levels, not all).
struct Descent {
  std::shared_ptr<DirState> dir;
  const Tree* old_tree = nullptr;
};

struct PathTrie {
  std::map<std::string, PathTrie> children;
  bool target = false;
};

class Archiver {
 public:
  Archiver(Repository& repo, const BackupOptions& options, ExcludeMatcher excludes)
      : repo_(repo),
        options_(options),
        rules_(options, std::move(excludes)),
        cancel_(options.cancel) {
    if (!options_.dry_run) {
      BlobSaverOptions so;
      so.workers = options_.save_workers;
      so.buffers = &buffers_;
      if (RepositoryLock* lock = options_.lock) so.before_index_write = [lock] { return lock->Check(); };
      saver_ = std::make_unique<BlobSaver>(repo_, so);
    }
    int readers = options_.read_workers > 0
                      ? options_.read_workers
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    ThreadPoolOptions po;
    po.threads = readers;
    po.max_queued = static_cast<size_t>(readers) * 16;
    po.job_name = "a backup job";
    po.on_failure = [this](const Status& st) { Fatal(st); };
    pool_ = std::make_unique<ThreadPool>(std::move(po));
    start_ = std::chrono::steady_clock::now();
    summary_.backup_start_ns = NowNs();
  }

  ~Archiver() {
    StopReporter();
    pool_.reset();  // join readers before the saver goes away
  }

  Result<BackupResult> RunPaths(const Snapshot* parent_snapshot, std::optional<Id> parent_id);
  Result<BackupResult> RunStream(int fd, const std::string& filename,
                                 const std::function<Status()>& finish);

 private:
  bool Cancelled() const { return cancel_ && cancel_->load(); }
  void Issue(const std::string& path, const std::string& message, bool error);
  void Fatal(const Status& st) {
    std::lock_guard lock(mu_);
    if (fatal_.ok()) fatal_ = st;
    root_cv_.notify_all();  // the walk's end may never come (a job failed mid-way): stop waiting
  }
  Status FatalStatus() {
    std::lock_guard lock(mu_);
    return fatal_;
  }

  // Chunks the stream of `fd` to its end, storing new blobs; fills content and returns the bytes
  // read. `size_hint` (a regular file's size from fstat; nullopt for pipes) only sizes buffers.
  Result<uint64_t> ChunkStream(int fd, std::optional<uint64_t> size_hint,
                               std::vector<Id>* content);
  // Stores one chunk unless the repository has it and appends its id to *content. Large chunks
  // are hashed by the saver's workers (SaveUnhashed): their ids appear in *content once
  // pending->Wait() returns. The buffer of a chunk that is not handed to the saver goes back to
  // buffers_ at once.
  Status StoreChunk(Bytes chunk, std::deque<Id>* content, PendingIds* pending);

  void WalkVirtual(const std::shared_ptr<DirState>& dir, const PathTrie& trie,
                   const Tree* old_tree);
  void WalkDir(const std::shared_ptr<DirState>& dir, const Tree* old_tree);
  // Handles one entry of a real or virtual directory, `dirfd` being that directory's descriptor
  // (-1 for a virtual one). `trie` is non-null for virtual entries. A directory to walk is
  // returned, not walked, except virtual ones.
  Descent AddEntry(const std::shared_ptr<DirState>& dir, int dirfd, size_t slot,
                   const std::string& name, const struct stat& st, const Tree* old_tree,
                   const PathTrie* trie);
  // Reads a file the walk found new or changed (`had_old`: it is in the parent snapshot).
  void ReadFileJob(const std::shared_ptr<DirState>& dir, size_t slot, std::string path,
                   Node node, bool had_old);
  // Opens a file of `dir` to read it; -1 with errno set on failure.
  int OpenFile(DirState& dir, const std::string& name, const std::string& path);
  void Release(const std::shared_ptr<DirState>& dir);
  void Complete(const std::shared_ptr<DirState>& dir);

  void StartReporter();
  void StopReporter();
  BackupProgress Progress();
  Result<BackupResult> Commit(const Id& root, std::optional<Id> parent_id);

  Repository& repo_;
  const BackupOptions& options_;
  const WalkRules rules_;  // what is included: shared with the progress scan
  const std::atomic<bool>* cancel_;
  // The walk's directory descriptors, for a window of directories (dir_descriptors.h); the
  // scanner has its own. Declared before every holder of a DirState (jobs in pool_).
  DirDescriptors dirs_{DirDescriptors::DefaultCapacity()};
  DirDescriptors scan_dirs_{std::max<size_t>(1, DirDescriptors::DefaultCapacity() / 4)};
  // Chunk buffers circulate: the reader takes one per chunk, the saver gives it back once the
  // chunk is encoded (or the reader does, when the repository already has the chunk). Declared
  // before saver_, which uses it.
  BufferPool buffers_{kPooledBufferBytes};
  std::unique_ptr<BlobSaver> saver_;
  std::unique_ptr<ThreadPool> pool_;  // the file readers
  std::chrono::steady_clock::time_point start_;

  std::mutex mu_;
  Status fatal_;                       // GUARDED_BY(mu_)
  std::vector<BackupIssue> errors_;    // GUARDED_BY(mu_)
  std::vector<BackupIssue> warnings_;  // GUARDED_BY(mu_)
  std::condition_variable root_cv_;
  std::optional<Id> root_id_;          // GUARDED_BY(mu_)
  bool root_done_ = false;             // GUARDED_BY(mu_)
  std::optional<Id> old_root_tree_;   // the parent snapshot's root tree, if any
  std::deque<Tree> old_trees_;         // parent trees kept alive for DirState::old; GUARDED_BY(mu_)

  SnapshotSummary summary_;  // counters below are folded in at the end
  std::atomic<uint64_t> files_new_{0}, files_changed_{0}, files_unmodified_{0};
  std::atomic<uint64_t> dirs_new_{0}, dirs_changed_{0}, dirs_unmodified_{0};
  std::atomic<uint64_t> files_done_{0}, dirs_done_{0}, bytes_done_{0}, bytes_read_{0};
  std::atomic<uint64_t> dry_new_bytes_{0}, dry_new_blobs_{0};
  std::atomic<uint64_t> scan_files_{0}, scan_bytes_{0};
  std::atomic<bool> scan_finished_{false};
  std::atomic<bool> scan_stop_{false};

  std::optional<ProgressReporter> reporter_;
  std::thread scanner_;
  std::string current_path_;  // GUARDED_BY(mu_)
};

void Archiver::Issue(const std::string& path, const std::string& message, bool error) {
  std::lock_guard lock(mu_);
  BackupIssue issue{path, message};
  (error ? errors_ : warnings_).push_back(issue);
  if (options_.on_issue) options_.on_issue(issue, error);
}

// True when every byte is zero (holes of sparse files, zeroed regions of disk images).
static bool IsAllZero(ByteView data) {
  if (data.empty() || data[0] != 0) return false;
  return std::memcmp(data.data(), data.data() + 1, data.size() - 1) == 0;
}

Status Archiver::StoreChunk(Bytes chunk, std::deque<Id>* content, PendingIds* pending) {
  // Runs of zeros are frequent (sparse files, disk images) and always yield the same few chunks:
  // remember their ids instead of hashing the zeros again.
  thread_local std::vector<std::pair<size_t, Id>> zero_ids;
  thread_local Id zero_ids_repo;  // ids depend on the repository's key: one cache per repo
  if (zero_ids_repo != repo_.config().id) {
    zero_ids.clear();
    zero_ids_repo = repo_.config().id;
  }
  bool zero = IsAllZero(chunk);
  if (!zero && !options_.dry_run && chunk.size() > saver_->inline_max_bytes()) {
    // Hashed by a saver worker: the reading thread only reads and chunks, so one large file
    // keeps every core busy. (Zero runs are rarely new and their ids are cached below.)
    Id& slot = content->emplace_back();  // a deque: the reference stays valid as it grows
    return saver_->SaveUnhashed(BlobType::kData, std::move(chunk), &slot, pending);
  }
  Id id;
  bool known_zero = false;
  if (zero) {
    for (const auto& [len, zid] : zero_ids)
      if (len == chunk.size()) {
        id = zid;
        known_zero = true;
        break;
      }
  }
  if (!known_zero) {
    id = repo_.codec().ComputeId(chunk);
    if (zero && zero_ids.size() < 64) zero_ids.emplace_back(chunk.size(), id);
  }
  content->push_back(id);
  if (options_.dry_run) {
    if (!repo_.index().Has(BlobType::kData, id)) {
      dry_new_blobs_++;
      dry_new_bytes_ += chunk.size();
    }
    buffers_.Give(std::move(chunk));
    return Status::Ok();
  }
  if (saver_->Known(BlobType::kData, id)) {
    buffers_.Give(std::move(chunk));
    return Status::Ok();
  }
  auto added = saver_->Save(BlobType::kData, id, std::move(chunk));
  return added.status();
}

// Each chunk is assembled in its own buffer (reads of at most 256 KiB land at its end), which
// then goes to the saver as is; only the bytes of the last read that lie past a boundary are
// copied, into the next chunk's buffer. Memory: the chunk being formed (at most max_size) per
// reading thread. A file of known size gets exactly sized buffers, so a small file
// costs one allocation of its own size; bytes beyond the hint (a growing file) are still read.
Result<uint64_t> Archiver::ChunkStream(int fd, std::optional<uint64_t> size_hint,
                                       std::vector<Id>* content) {
  constexpr size_t kReadPiece = 256u << 10;
  const Chunker& chunker = repo_.chunker();
  const size_t max = chunker.params().max_size;
  uint64_t total = 0;  // bytes read from fd so far
  bool eof = false;
  // Ids of this stream's chunks, some filled in by saver workers (StoreChunk): the deque keeps
  // their addresses stable, and every exit waits for the workers before it goes away.
  std::deque<Id> ids;
  PendingIds pending;
  struct WaitForIds {
    PendingIds& pending;
    ~WaitForIds() { pending.Wait(); }
  } wait_for_ids{pending};
  auto new_chunk = [&](ByteView leftover) {
    uint64_t unread = size_hint && *size_hint > total ? *size_hint - total : 0;
    Bytes b = buffers_.Take(
        static_cast<size_t>(size_hint ? std::min<uint64_t>(max, leftover.size() + unread) : max));
    b.assign(leftover.begin(), leftover.end());
    return b;
  };
  Bytes chunk = new_chunk({});  // starts at a chunk boundary
  size_t scanned = 0;           // NextCut found no boundary within chunk[0, scanned)
  for (;;) {
    if (!eof && chunk.size() < max) {
      ssize_t n;
      if (size_hint && total >= *size_hint) {
        // Everything the size promised is read: probe for the end without growing the buffer.
        uint8_t probe[4096];
        do n = ::read(fd, probe, sizeof(probe));
        while (n < 0 && errno == EINTR);
        if (n > 0) chunk.insert(chunk.end(), probe, probe + n);  // the file grew
      } else {
        // Straight into the chunk's buffer (a pooled one, its pages mostly resident): growing it
        // by at most 256 KiB zero-fills bytes that stay in cache for the read that overwrites
        // them, which is cheaper than reading into a side buffer and copying (image first
        // backup: 0.25 s of memmove gone).
        size_t want = std::min(kReadPiece, max - chunk.size());
        if (size_hint) want = static_cast<size_t>(std::min<uint64_t>(want, *size_hint - total));
        const size_t old_size = chunk.size();
        chunk.resize(old_size + want);
        do n = ::read(fd, chunk.data() + old_size, want);
        while (n < 0 && errno == EINTR);
        chunk.resize(old_size + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      }
      if (n < 0) return PosixError("read");
      if (n == 0) eof = true;
      total += static_cast<uint64_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      bytes_done_ += static_cast<uint64_t>(n);
      if (Cancelled()) return Status::Cancelled("interrupted");
    }
    if (chunk.empty() && eof) break;
    size_t cut = chunker.NextCut(chunk, eof, scanned);
    if (cut == 0) {  // no boundary yet and fewer than max bytes: read more
      scanned = chunk.size();
      continue;
    }
    thread_local Bytes carry;  // bytes past the boundary: the start of the next chunk
    carry.assign(chunk.begin() + static_cast<ptrdiff_t>(cut), chunk.end());
    chunk.resize(cut);
    LB_RETURN_IF_ERROR(StoreChunk(std::move(chunk), &ids, &pending));
    chunk = new_chunk(carry);
    scanned = 0;
  }
  pending.Wait();
  // A saver that failed may have left ids unset; its error also fails the backup at Flush().
  if (saver_) LB_RETURN_IF_ERROR(saver_->status());
  content->insert(content->end(), ids.begin(), ids.end());
  return total;
}

void Archiver::Release(const std::shared_ptr<DirState>& dir) {
  if (dir->pending.fetch_sub(1) == 1) Complete(dir);
}

void Archiver::Complete(const std::shared_ptr<DirState>& dir) {
  dirs_.Close(dir->link);  // every entry is done: close the directory now, not when freed
  Tree tree;
  for (size_t i = 0; i < dir->children.size(); ++i)
    if (dir->valid[i]) tree.nodes.push_back(std::move(dir->children[i]));
  dir->children.clear();
  SortTree(&tree);
  Bytes encoded = EncodeTree(tree);
  Id id = repo_.codec().ComputeId(encoded);
  if (!options_.dry_run) {
    auto added = saver_->Save(BlobType::kTree, id, std::move(encoded));
    if (!added.ok()) Fatal(added.status().WithContext("saving tree of " + dir->path));
  }
  dir->node.subtree = id;
  dirs_done_++;
  if (!dir->parent && old_root_tree_) {
    // The root has no node in the parent snapshot; compare with the parent's root tree.
    (*old_root_tree_ == id ? dirs_unmodified_ : dirs_changed_)++;
  } else if (!dir->old || dir->old->type != NodeType::kDir) dirs_new_++;
  else if (dir->old->subtree == id) dirs_unmodified_++;
  else dirs_changed_++;
  if (auto parent = dir->parent) {
    parent->children[dir->slot] = std::move(dir->node);
    parent->valid[dir->slot] = 1;
    dir->parent.reset();
    Release(parent);
  } else {
    std::lock_guard lock(mu_);
    root_id_ = id;
    root_done_ = true;
    root_cv_.notify_all();
  }
}

int Archiver::OpenFile(DirState& dir, const std::string& name, const std::string& path) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  for (int attempt = 0;; ++attempt) {
    int fd;
    if (dir.is_virtual) {
      fd = OpenEntry(-1, name, path, flags);  // a path given to back up: by its path
    } else {
      auto lease = dirs_.Open(dir.link);
      if (!lease.ok()) {
        Issue(path, lease.status().message(), true);
        errno = 0;  // reported
        return -1;
      }
      fd = OpenEntry(lease->fd(), name, path, flags);
    }
    // Out of descriptors: the walk closes its idle ones, or other threads are given a moment
    // to finish with theirs, and the open is retried rather than the file left out.
    if (fd >= 0 || !IsOutOfDescriptors(errno)) return fd;
    const int err = errno;
    if (scan_dirs_.CloseIdle() == 0 && !dirs_.MakeRoom(attempt)) {
      errno = err;
      return -1;
    }
  }
}

void Archiver::ReadFileJob(const std::shared_ptr<DirState>& dir, size_t slot, std::string path,
                           Node node, bool had_old) {
  if (Cancelled() || !FatalStatus().ok()) {
    Release(dir);
    return;
  }
  {
    std::lock_guard lock(mu_);
    current_path_ = path;
  }
  int fd = OpenFile(*dir, node.name, path);
  if (fd < 0) {
    if (errno != 0) {
      Status st = PosixError("open");
      Issue(path, errno == ENOENT ? "file vanished before it could be read" : st.message(), true);
    }
    Release(dir);
    return;
  }
  FileDescriptor guard(fd);
  struct stat before, after;
  if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode)) {
    Issue(path, "is no longer a regular file", true);
    Release(dir);
    return;
  }
  std::vector<Id> content;
  auto total = ChunkStream(fd, static_cast<uint64_t>(before.st_size), &content);
  if (!total.ok()) {
    if (total.status().code() == StatusCode::kCancelled) {
      Release(dir);
      return;
    }
    if (total.status().code() == StatusCode::kIOError ||
        total.status().code() == StatusCode::kPermissionDenied ||
        total.status().code() == StatusCode::kNotFound ||
        total.status().message().rfind("read", 0) == 0) {
      Issue(path, total.status().message(), true);
    } else {
      Fatal(total.status().WithContext(path));
    }
    Release(dir);
    return;
  }
  if (::fstat(fd, &after) == 0 &&
      (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
       after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
       after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
       after.st_ctim.tv_nsec != before.st_ctim.tv_nsec ||
       static_cast<off_t>(*total) != after.st_size)) {
    Issue(path, "file changed while it was being read; the snapshot holds what was read", false);
  }
  // The node describes exactly what was stored.
  Node n = NodeFromStat(node.name, before);
  n.xattrs = std::move(node.xattrs);
  n.size = *total;
  n.content = std::move(content);
  dir->children[slot] = std::move(n);
  dir->valid[slot] = 1;
  // Counted once stored: a file that could not be read is an error, not a new or changed file.
  (had_old ? files_changed_ : files_new_)++;
  files_done_++;
  Release(dir);
}

Descent Archiver::AddEntry(const std::shared_ptr<DirState>& dir, int dirfd, size_t slot,
                           const std::string& name, const struct stat& st, const Tree* old_tree,
                           const PathTrie* trie) {
  std::string path = JoinPath(dir->path, name);
  const Node* old = FindChild(old_tree, name);
  Node node = NodeFromStat(name, st);
  bool virtual_dir = trie && !trie->target;
  // A leading component of a path given that is a symlink to a directory was followed (st is
  // the directory's): its xattrs are the directory's, read through "name/.".
  struct stat lst;
  const bool followed = virtual_dir && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
  Status xs = ReadExtendedMetadata(dirfd, name, followed ? path + "/." : path, &node);
  if (!xs.ok()) Issue(path, xs.message(), true);

  if (node.type == NodeType::kDir) {
    auto child = std::make_shared<DirState>();
    child->path = path;
    child->node = std::move(node);
    child->parent = dir;
    child->slot = slot;
    child->old = old;
    child->depth = dir->depth + 1;
    child->is_virtual = virtual_dir;
    if (dir->is_virtual) {
      child->link.path = path;  // a path given (or below one only by name): opened by its path
    } else {
      child->link.up = &dir->link;
      child->link.name = name;
    }
    child->link.dev = st.st_dev;
    child->link.ino = st.st_ino;
    dir->pending.fetch_add(1);
    const Tree* child_old = nullptr;
    if (old && old->type == NodeType::kDir && old->subtree) {
      auto t = repo_.LoadTree(*old->subtree);
      if (t.ok()) {
        std::lock_guard lock(mu_);
        old_trees_.push_back(std::move(*t));
        child_old = &old_trees_.back();
      } else {
        Issue(path, "parent snapshot tree unreadable, reading everything: " +
                        t.status().message(), false);
      }
    }
    if (virtual_dir) {
      WalkVirtual(child, *trie, child_old);
      return {};
    }
    // A path given is walked whatever its filesystem; below it, the rules decide.
    WalkRules::Descend into =
        trie ? WalkRules::Descend::kYes
             : rules_.IntoDirectory(st, static_cast<dev_t>(dir->node.device), child->depth);
    if (into == WalkRules::Descend::kOtherFilesystem) {
      Release(child);  // mount point: keep the directory itself, not its contents
    } else if (into == WalkRules::Descend::kTooDeep || child->depth > kMaxDirDepth) {
      Issue(path, "nested more than " + std::to_string(kMaxDirDepth) +
                      " directories deep; saved without contents", true);
      Release(child);
    } else {
      return {child, child_old};
    }
    return {};
  }
  if (virtual_dir) {
    Issue(path, "is not a directory", true);
    return {};
  }
  if (node.type == NodeType::kFile) {
    if (!rules_.IncludesFile(st)) return {};
    bool unchanged = old && old->type == NodeType::kFile && old->size == node.size &&
                     old->mtime_ns == node.mtime_ns && old->ctime_ns == node.ctime_ns &&
                     old->inode == node.inode;
    if (unchanged) {
      for (const Id& id : old->content)
        if (!repo_.index().Has(BlobType::kData, id)) unchanged = false;
    }
    if (unchanged) {
      node.content = old->content;
      dir->children[slot] = std::move(node);
      dir->valid[slot] = 1;
      files_unmodified_++;
      files_done_++;
      bytes_done_ += old->size;
      return {};
    }
    dir->pending.fetch_add(1);
    pool_->Submit([this, dir, slot, path, node = std::move(node), had_old = old != nullptr]() mutable {
      ReadFileJob(dir, slot, std::move(path), std::move(node), had_old);
    });
    return {};
  }
  dir->children[slot] = std::move(node);
  dir->valid[slot] = 1;
  return {};
}

void Archiver::WalkVirtual(const std::shared_ptr<DirState>& dir, const PathTrie& trie,
                           const Tree* old_tree) {
  dir->children.resize(trie.children.size());
  dir->valid.assign(trie.children.size(), 0);
  size_t slot = 0;
  for (const auto& [name, sub] : trie.children) {
    std::string path = JoinPath(dir->path, name);
    // Symlinks among the leading components of a path given are followed to reach what it
    // names (restic does the same); the path itself is not: a symlink given is stored as one.
    struct stat st;
    const bool leading = !sub.target;
    if ((leading ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
      Issue(path, PosixError(leading ? "stat" : "lstat").message(), true);
    } else if (Cancelled()) {
      break;
    } else if (Descent next = AddEntry(dir, -1, slot, name, st, old_tree, &sub); next.dir) {
      WalkDir(next.dir, next.old_tree);
    }
    ++slot;
  }
  Release(dir);
}

void Archiver::WalkDir(const std::shared_ptr<DirState>& dir, const Tree* old_tree) {
  std::vector<WalkEntry> entries;
  auto on_error = [this](const std::string& path, const std::string& message) {
    Issue(path, message, true);
  };
  {
    auto lease = dirs_.Open(dir->link);
    if (!lease.ok()) {
      Issue(dir->path, lease.status().message() + " (saved without contents)", true);
      Release(dir);
      return;
    }
    rules_.List(dirs_, lease->fd(), dir->path, &entries, on_error);
  }
  dir->children.resize(entries.size());
  dir->valid.assign(entries.size(), 0);
  // The directory's descriptor is held while its entries are handled, and let go while a
  // subdirectory is walked: it may be closed meanwhile (a deep tree) and is reopened after.
  DirDescriptors::Lease lease;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (Cancelled() || !FatalStatus().ok()) break;
    if (!lease.valid()) {
      auto reopened = dirs_.Open(dir->link);
      if (!reopened.ok()) {
        Issue(dir->path, reopened.status().message() + " (the rest of its entries were left out)",
              true);
        break;
      }
      lease = std::move(*reopened);
    }
    Descent next = AddEntry(dir, lease.fd(), i, entries[i].name, entries[i].st, old_tree, nullptr);
    if (next.dir) {
      lease.reset();
      WalkDir(next.dir, next.old_tree);
    }
  }
  lease.reset();
  Release(dir);
}

BackupProgress Archiver::Progress() {
  BackupProgress p;
  p.files_done = files_done_;
  p.dirs_done = dirs_done_;
  p.bytes_done = bytes_done_;
  p.files_total = scan_files_;
  p.bytes_total = scan_bytes_;
  p.scan_finished = scan_finished_;
  p.bytes_added = saver_ ? saver_->stats().new_raw_bytes : dry_new_bytes_.load();
  p.elapsed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard lock(mu_);
  p.errors = errors_.size();
  p.current_path = current_path_;
  return p;
}

void Archiver::StartReporter() {
  if (!options_.progress) return;
  // The final report is Commit's, on the calling thread: it comes even when the system started
  // no reporter thread.
  reporter_.emplace(std::chrono::milliseconds(options_.progress_interval_ms),
                    [this](bool) { options_.progress(Progress()); });
}

void Archiver::StopReporter() {
  scan_stop_ = true;
  if (reporter_) reporter_->Stop(ProgressReporter::FinalReport::kNo);
  if (scanner_.joinable()) scanner_.join();
}

Result<BackupResult> Archiver::Commit(const Id& root, std::optional<Id> parent_id) {
  if (Cancelled()) {
    // Make what was uploaded reusable by the next run, then stop without a snapshot.
    if (saver_) saver_->Flush().IgnoreError();
    return Status::Cancelled("backup interrupted; no snapshot was written");
  }
  LB_RETURN_IF_ERROR(FatalStatus());
  if (saver_) LB_RETURN_IF_ERROR(saver_->Flush());
  StopReporter();
  if (options_.progress) options_.progress(Progress());

  BackupResult result;
  Snapshot& s = result.snapshot;
  s.time_ns = summary_.backup_start_ns;
  s.hostname = options_.host.empty() ? Hostname() : options_.host;
  s.username = Username();
  s.uid = ::getuid();
  s.gid = ::getgid();
  s.paths = options_.paths;
  s.tags = options_.tags;
  s.excludes = options_.excludes;
  s.parent = parent_id;
  s.tree = root;
  s.program_version = "lifeboat 0.1.0";
  {
    std::lock_guard lock(mu_);
    result.errors = errors_;
    result.warnings = warnings_;
  }
  result.parent_id = parent_id;
  result.incomplete = !result.errors.empty() || !result.warnings.empty();
  s.incomplete = result.incomplete;
  SnapshotSummary& m = s.summary;
  m = summary_;
  m.files_new = files_new_;
  m.files_changed = files_changed_;
  m.files_unmodified = files_unmodified_;
  m.dirs_new = dirs_new_;
  m.dirs_changed = dirs_changed_;
  m.dirs_unmodified = dirs_unmodified_;
  m.total_files_processed = files_done_;
  m.total_bytes_processed = bytes_done_;
  m.bytes_read = bytes_read_;
  m.errors = result.errors.size();
  if (saver_) {
    BlobSaverStats st = saver_->stats();
    m.data_blobs = st.new_data_blobs;
    m.tree_blobs = st.new_tree_blobs;
    m.data_added = st.new_raw_bytes;
    m.data_added_packed = st.new_stored_bytes;
  } else {
    m.data_blobs = dry_new_blobs_;
    m.data_added = dry_new_bytes_;
  }
  m.backup_end_ns = NowNs();
  if (options_.dry_run) return result;
  // The last moment to notice a lost lock: after this the snapshot exists.
  if (options_.lock) LB_RETURN_IF_ERROR(options_.lock->Check());
  LB_ASSIGN_OR_RETURN(Id id, repo_.SaveSnapshot(s));
  result.snapshot_id = id;
  return result;
}

Result<BackupResult> Archiver::RunPaths(const Snapshot* parent_snapshot,
                                        std::optional<Id> parent_id) {
  PathTrie trie;
  std::vector<std::string> paths;
  for (const auto& p : options_.paths) paths.push_back(CleanPath(p));
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  for (const auto& p : paths) {
    PathTrie* t = &trie;
    if (p == "/") {
      t->target = true;
      continue;
    }
    size_t pos = 1;
    while (pos <= p.size()) {
      size_t slash = p.find('/', pos);
      if (slash == std::string::npos) slash = p.size();
      t = &t->children[p.substr(pos, slash - pos)];
      if (t->target) break;  // an ancestor is already backed up whole
      pos = slash + 1;
    }
    t->target = true;
    t->children.clear();  // everything below is covered by this path
  }
  size_t missing = 0;
  for (const auto& p : paths) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) ++missing;
  }
  if (missing == paths.size())
    return Status::InvalidArgument("none of the paths to back up exists: " + paths[0] +
                                   (paths.size() > 1 ? " ..." : ""));

  Tree old_root;
  const Tree* old_root_ptr = nullptr;
  if (parent_snapshot) {
    auto t = repo_.LoadTree(parent_snapshot->tree);
    if (!t.ok()) return t.status().WithContext("loading the parent snapshot's tree");
    old_root = std::move(*t);
    old_root_ptr = &old_root;
    old_root_tree_ = parent_snapshot->tree;
  }

  if (options_.progress) {
    try {
      scanner_ = std::thread([this, paths] {
        try {
          ScanTree(paths, rules_, scan_dirs_, scan_files_, scan_bytes_, scan_stop_);
          scan_finished_ = true;
        } catch (...) {
          // Out of memory while counting: the progress goes without totals.
        }
      });
    } catch (const std::system_error&) {
      // No thread for the scan (a process or memory limit): progress without totals.
    }
  }
  StartReporter();

  auto root = std::make_shared<DirState>();
  root->path = "/";
  if (trie.target) {
    // Backing up "/" itself: the root tree is the real root directory.
    struct stat st;
    if (::lstat("/", &st) == 0) {
      root->node = NodeFromStat("", st);
      root->link.dev = st.st_dev;
      root->link.ino = st.st_ino;
    }
    root->link.path = "/";
    WalkDir(root, old_root_ptr);
  } else {
    root->is_virtual = true;
    WalkVirtual(root, trie, old_root_ptr);
  }
  {
    std::unique_lock lock(mu_);
    root_cv_.wait(lock, [&] { return root_done_ || !fatal_.ok(); });
    if (!root_done_) return fatal_;
  }
  return Commit(*root_id_, parent_id);
}

Result<BackupResult> Archiver::RunStream(int fd, const std::string& filename,
                                         const std::function<Status()>& finish) {
  StartReporter();
  std::vector<Id> content;
  auto total = ChunkStream(fd, std::nullopt, &content);
  Status finished = finish ? finish() : Status::Ok();
  if (!total.ok()) return total.status().WithContext("reading the stream");
  LB_RETURN_IF_ERROR(finished);
  Node n;
  n.name = filename;
  n.type = NodeType::kFile;
  n.mode = 0600;
  n.uid = ::getuid();
  n.gid = ::getgid();
  n.mtime_ns = n.atime_ns = n.ctime_ns = NowNs();
  n.links = 1;
  n.size = *total;
  n.content = std::move(content);
  files_new_++;
  files_done_++;
  Tree tree;
  tree.nodes.push_back(std::move(n));
  Bytes encoded = EncodeTree(tree);
  Id root = repo_.codec().ComputeId(encoded);
  if (saver_) {
    auto added = saver_->Save(BlobType::kTree, root, std::move(encoded));
    if (!added.ok()) return added.status();
  }
  dirs_new_++;
  return Commit(root, std::nullopt);
}

}  // namespace

// Runs the archiver; an exception in the walking thread (out of memory, out of threads) is an
// error, not an abort; the other threads' failures arrive as statuses. Nothing was committed.
static Result<BackupResult> RunArchiver(Repository& repo, const BackupOptions& options,
                                        ExcludeMatcher excludes, const Snapshot* parent,
                                        std::optional<Id> parent_id) {
  try {
    Archiver archiver(repo, options, std::move(excludes));
    return archiver.RunPaths(parent, parent_id);
  } catch (...) {
    return StatusFromCurrentException("the backup");
  }
}

Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& options) {
  if (options.paths.empty()) return Status::InvalidArgument("no paths to back up");
  LB_RETURN_IF_ERROR(CheckSnapshotLabels(options.tags, options.host));
  LB_ASSIGN_OR_RETURN(ExcludeMatcher excludes, ExcludeMatcher::Compile(options.excludes));
  std::vector<std::string> clean;
  for (const auto& p : options.paths) clean.push_back(CleanPath(p));
  std::sort(clean.begin(), clean.end());
  clean.erase(std::unique(clean.begin(), clean.end()), clean.end());

  std::optional<Id> parent_id;
  std::optional<Snapshot> parent;
  std::string host = options.host.empty() ? Hostname() : options.host;
  if (options.parent) {
    auto s = repo.LoadSnapshot(*options.parent);
    if (!s.ok()) return s.status().WithContext("loading the parent snapshot");
    parent_id = options.parent;
    parent = std::move(*s);
  } else if (!options.no_parent) {
    // A damaged snapshot file cannot be a parent: it is reported and the others are searched.
    std::vector<DamagedSnapshot> damaged;
    LB_ASSIGN_OR_RETURN(auto all, repo.ListSnapshots(&damaged));
    for (const DamagedSnapshot& d : damaged)
      if (options.on_issue) options.on_issue({"snapshots/" + d.name, DescribeDamagedSnapshot(d)}, false);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      // A parent whose root tree is not indexed (its pack is missing) is no help: read everything.
      if (it->second.hostname == host && it->second.paths == clean &&
          repo.index().Has(BlobType::kTree, it->second.tree)) {
        parent_id = it->first;
        parent = std::move(it->second);
        break;
      }
    }
  }
  BackupOptions opts = options;
  opts.paths = clean;
  opts.host = host;
  return RunArchiver(repo, opts, std::move(excludes), parent ? &*parent : nullptr, parent_id);
}

Result<BackupResult> RunStreamBackup(Repository& repo, int fd, const std::string& filename,
                                     const BackupOptions& options,
                                     const std::function<Status()>& finish) {
  LB_RETURN_IF_ERROR(CheckSnapshotLabels(options.tags, options.host));
  if (!IsValidNodeName(filename))
    return Status::InvalidArgument("'" + filename + "' is not a valid file name for the stream");
  try {
    BackupOptions opts = options;
    opts.paths = {"/" + filename};
    Archiver archiver(repo, opts, ExcludeMatcher());
    return archiver.RunStream(fd, filename, finish);
  } catch (...) {
    return StatusFromCurrentException("the backup");
  }
}

}  // namespace lifeboat
