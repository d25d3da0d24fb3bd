// Regular files: a file's content is cut into jobs of consecutive blobs that the pool's threads
// write with pwrite; the last job to finish completes the file (size, metadata, close; removed
// when anything failed) and makes the hardlinks that waited for it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

#include "restorer/restorer_internal.h"
#include "restorer/sparse_write.h"

namespace lifeboat::restore {
namespace {


// Writes [offset, offset + length) of a restored file to disk and drops it from the page cache,
// so that restoring a large file does not fill memory with dirty pages and the next writes reuse
// these pages instead of fresh ones (which cost several times more, above all in virtual
// machines). Not a durability promise: metadata and the device cache are not flushed. A write-back
// error is returned (the file is then reported and removed); filesystems without
// sync_file_range are left to the kernel.
Status WriteThrough(int fd, uint64_t offset, uint64_t length) {
  if (::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
    if (errno == EINVAL || errno == ENOSYS || errno == ESPIPE) return Status::Ok();
    return PosixError("writing back bytes " + std::to_string(offset) + "-" +
                      std::to_string(offset + length));
  }
  (void)::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                        POSIX_FADV_DONTNEED);  // a hint; the data is on disk either way
  return Status::Ok();
}

}  // namespace

void Restorer::StartFile(size_t i, const std::shared_ptr<FileDescriptor>& dir) {
  const LayoutEntry& e = plan_.entries[i];
  auto give_up = [&](const Status& st) {
    AddError(e.snap_path, st.message());
    states_[i] = kFailed;
    files_done_++;
    bytes_done_ += e.node.size;
  };
  auto locs = LocateContent(repo_, e.node);
  if (!locs.ok()) return give_up(locs.status());  // nothing created

  auto w = std::make_shared<FileWork>();
  w->entry = i;
  w->dir = dir;
  w->locs = std::move(*locs);
  w->offsets.reserve(w->locs.size());
  for (const auto& l : w->locs) {
    w->offsets.push_back(w->size);
    w->size += l.raw_length;
  }
  if (w->size != e.node.size)
    AddWarning(e.snap_path, "the snapshot records " + std::to_string(e.node.size) +
                                " bytes but the content has " + std::to_string(w->size) +
                                "; restoring the content");

  auto made = CreateReplacing(dir->get(), e.node.name, [&] {
    auto create = [&] {
      return ::openat(dir->get(), e.node.name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    };
    w->fd = FileDescriptor(create());
    if (!w->fd.valid() && OutOfDescriptors(errno)) {
      FreeDescriptors();
      w->fd = FileDescriptor(create());
    }
    return w->fd.valid() ? 0 : -1;
  });
  if (!made.ok()) return give_up(made.status());
  if (*made == Made::kSkipped) {
    skipped_++;
    states_[i] = kSkipped;
    files_done_++;
    bytes_done_ += e.node.size;
    return;
  }
  if (e.has_links) {
    link_targets_[i] = w;
    if (++link_dirs_held_ > budget_.dirs) ReleaseLinkDirs();
  }

  // Jobs of consecutive blobs covering about kJobBytes each; a file of one job's worth or less
  // joins the window instead.
  std::vector<std::pair<size_t, size_t>> jobs;
  for (size_t b = 0; b < w->locs.size();) {
    size_t end = b;
    uint64_t bytes = 0;
    while (end < w->locs.size() && (end == b || bytes < kJobBytes))
      bytes += w->locs[end++].raw_length;
    jobs.emplace_back(b, end);
    b = end;
  }
  if (jobs.empty()) return FinishFile(w);
  if (jobs.size() == 1) {
    // A window's file keeps its descriptor while the budget allows; beyond it, it is closed
    // until a run reopens it (restorer_internal.h, kMaxWindowFiles).
    if (window_fds_held_.load() < budget_.window_fds) {
      window_fds_held_++;
      w->holds_fd = true;
    } else {
      struct stat st;
      if (::fstat(w->fd.get(), &st) != 0) {
        FailFile(*w, PosixError("stat the created file"));
        return FinishFile(w);
      }
      w->dev = st.st_dev;
      w->ino = st.st_ino;
      if (Status closed = w->fd.Close("created file"); !closed.ok()) {
        FailFile(*w, closed);
        return FinishFile(w);
      }
      w->dir.reset();  // reopened, like the file, when a link or a removal needs it
    }
    w->windowed = true;
    return AddToWindow(std::move(w));
  }
  w->jobs_left = jobs.size();
  for (auto [b, end] : jobs) {
    pool_->Submit([this, job = std::vector<Segment>{{w, b, end}}] { RunJob(job); });
  }
}

// What a window's jobs share, read-only once submitted.
// Compact (a window holds up to kMaxWindowFiles files, two windows at once): a place is 8 bytes.
struct Restorer::Window {
  struct Place {
    uint32_t file;  // into `files`
    uint32_t k;     // the blob's index in the file
  };
  struct Run {
    size_t begin, end;  // into `needed`
  };
  std::vector<std::shared_ptr<FileWork>> files;
  std::vector<Repository::BlobRequest> needed;  // each blob once, by pack and offset
  // Where needed[i] goes: places[first[i]] up to places[first[i + 1]].
  std::vector<uint32_t> first;
  std::vector<Place> places;
  std::vector<Run> runs;

  std::span<const Place> PlacesOf(size_t i) const {
    return {places.data() + first[i], places.data() + first[i + 1]};
  }
};

void Restorer::AddToWindow(std::shared_ptr<FileWork> w) {
  window_bytes_ += w->size;
  window_.push_back(std::move(w));
  uint64_t max_bytes = kWindowBytes;
  size_t max_files = kMaxWindowFiles;
  if (local_reads_) {
    max_bytes = kFirstWindowBytes;
    max_files = std::clamp<size_t>(budget_.window_fds / 2, 1, kLocalWindowFiles);
  } else if (windows_flushed_ == 0) {
    max_bytes = kFirstWindowBytes;
    max_files = kFirstWindowFiles;
  }
  if (window_bytes_ >= max_bytes || window_.size() >= max_files) FlushWindow();
}

void Restorer::FlushWindow() {
  if (window_.empty()) return;
  std::vector<std::shared_ptr<FileWork>> files;
  files.swap(window_);
  window_bytes_ = 0;
  windows_flushed_++;
  // The previous window's plan is held until its runs are done: at most two windows at once.
  if (window_in_flight_) pool_->Wait();
  window_in_flight_ = true;

  auto window = std::make_shared<Window>();
  {
    // Each blob once (`index`: its place in `needed` as gathered), and every place it goes to.
    std::unordered_map<Id, uint32_t, IdHash> index;
    std::vector<std::pair<uint32_t, Window::Place>> gathered;
    for (uint32_t f = 0; f < files.size(); ++f) {
      const FileWork& w = *files[f];
      const Node& node = plan_.entries[w.entry].node;
      for (uint32_t k = 0; k < w.locs.size(); ++k) {
        const Id& id = node.content[k];
        {
          MutexLock l(&zero_mu_);
          if (zero_blobs_.count(id)) continue;  // a hole
        }
        auto [it, added] = index.try_emplace(id, static_cast<uint32_t>(window->needed.size()));
        if (added) window->needed.push_back({w.locs[k], id});
        gathered.push_back({it->second, {f, k}});
      }
    }
    for (auto [begin, end] :
         Repository::GroupNeighbours(window->needed, kMaxGapBytes, kMaxRangeBytes))
      window->runs.push_back({begin, end});
    // GroupNeighbours sorted `needed`: group the places by the blob's new position.
    std::vector<uint32_t> position(window->needed.size());
    for (uint32_t i = 0; i < window->needed.size(); ++i)
      position[index.at(window->needed[i].id)] = i;
    window->first.assign(window->needed.size() + 1, 0);
    for (const auto& [blob, place] : gathered) window->first[position[blob] + 1]++;
    for (size_t i = 1; i < window->first.size(); ++i) window->first[i] += window->first[i - 1];
    window->places.resize(gathered.size());
    std::vector<uint32_t> next(window->first.begin(), window->first.end() - 1);
    for (const auto& [blob, place] : gathered) window->places[next[position[blob]]++] = place;
  }
  // Each file is held by each of its blob writes, and by this function until every run is
  // submitted (a file with nothing to write, all holes, completes below).
  for (const auto& w : files) w->jobs_left = 1;
  for (const Window::Place& p : window->places) files[p.file]->jobs_left++;
  window->files = std::move(files);
  for (size_t r = 0; r < window->runs.size(); ++r)
    pool_->Submit([this, window, r] { RunWindowJob(*window, r); });
  for (const auto& w : window->files) ReleaseFile(w);
}

void Restorer::RunWindowJob(const Window& window, size_t r) {
  const Window::Run& run = window.runs[r];
  const std::span<const Repository::BlobRequest> blobs(window.needed.data() + run.begin,
                                                       run.end - run.begin);
  // Each blob's places are released exactly once: by its result, or below when there was none.
  std::vector<bool> taken(blobs.size(), false);
  auto fail_places = [&](size_t i, const Status& st) {
    for (const Window::Place& p : window.PlacesOf(run.begin + i)) {
      FailFile(*window.files[p.file], st);
      WriteWindowPlace(window.files[p.file], p.k, nullptr);
    }
  };
  if (!Cancelled()) {
    // Every result, error or not, is taken: LoadBlobsAt itself cannot fail here.
    (void)repo_.LoadBlobsAt(blobs, [&](size_t i, Result<Bytes> loaded) -> Status {
      if (i >= blobs.size() || taken[i]) return Status::Ok();
      taken[i] = true;
      if (!loaded.ok()) {
        fail_places(i, loaded.status());
        return Status::Ok();
      }
      const Id& id = blobs[i].id;
      const bool zero = IsAllZero(loaded->data(), loaded->size());
      if (zero) {
        MutexLock l(&zero_mu_);
        zero_blobs_.insert(id);
      }
      for (const Window::Place& p : window.PlacesOf(run.begin + i))
        WriteWindowPlace(window.files[p.file], p.k, zero ? nullptr : &*loaded);
      return Status::Ok();
    });
  }
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (taken[i]) continue;
    fail_places(i, Cancelled() ? Status::Cancelled("interrupted")
                               : Status::Internal("blob " + blobs[i].id.Hex() + " was not loaded"));
  }
}

void Restorer::WriteWindowPlace(const std::shared_ptr<FileWork>& w, size_t k, const Bytes* data) {
  if (w->holds_fd) {
    if (data) WritePlace(*w, w->fd.get(), k, *data);
    return ReleaseFile(w);
  }
  FileDescriptor fd;
  if (data && !w->failed) {
    auto reopened = ReopenFile(*w);
    if (reopened.ok()) {
      fd = std::move(*reopened);
      WritePlace(*w, fd.get(), k, *data);
    } else {
      FailFile(*w, reopened.status());
    }
  }
  if (w->jobs_left.load() == 1 && fd.valid()) {
    // Most likely the file's last write: FinishFile needs a descriptor, keep this one. Only
    // this thread can drop the last hold, so no other thread touches w->fd meanwhile.
    w->fd = std::move(fd);
  } else if (fd.valid()) {
    if (Status closed = fd.Close("restored file"); !closed.ok()) FailFile(*w, closed);
  }
  ReleaseFile(w);
}

Result<FileDescriptor> Restorer::ReopenFile(const FileWork& w) {
  const std::string& rel = plan_.entries[w.entry].rel;
  LB_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFileBeneath(root_fd_.get(), rel, O_WRONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat the reopened file");
  if (st.st_dev != w.dev || st.st_ino != w.ino)
    return Status::FailedPrecondition(
        "the file was replaced by another one while it was being restored");
  return fd;
}

Status Restorer::RemoveWindowFile(const FileWork& w) {
  const LayoutEntry& e = plan_.entries[w.entry];
  LB_ASSIGN_OR_RETURN(FileDescriptor dir, OpenDirBeneath(root_fd_.get(), ParentRel(e.rel)));
  struct stat st;
  if (::fstatat(dir.get(), e.node.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status::Ok() : PosixError("stat");
  if (st.st_dev != w.dev || st.st_ino != w.ino)
    return Status::FailedPrecondition("another file took its place");
  if (::unlinkat(dir.get(), e.node.name.c_str(), 0) != 0 && errno != ENOENT)
    return PosixError("remove");
  return Status::Ok();
}

void Restorer::ReleaseFile(const std::shared_ptr<FileWork>& w) {
  if (--w->jobs_left != 0) return;
  bytes_done_ += w->size;
  FinishFile(w);
}

void Restorer::WritePlace(FileWork& w, int fd, size_t k, const Bytes& data) {
  if (w.failed) return;
  const Id& id = plan_.entries[w.entry].node.content[k];
  Status st =
      WriteSkippingZeroBlocks(fd, data, w.offsets[k], hole_block_,
                              "blob " + id.Hex() + " at offset " + std::to_string(w.offsets[k]));
  if (!st.ok()) FailFile(w, st);
}

void Restorer::FailFile(FileWork& w, const Status& st) {
  MutexLock l(&w.mu);
  if (w.error.ok()) w.error = st;
  w.failed = true;
}

void Restorer::RunJob(const std::vector<Segment>& segments) {
  LoadSegments(segments);
  for (const Segment& s : segments) {
    FileWork& w = *s.w;
    if (!w.failed && Cancelled()) FailFile(w, Status::Cancelled("interrupted"));
    if (!w.failed && w.size >= kWriteThroughBytes) {
      const uint64_t from = w.offsets[s.begin];
      const uint64_t to = s.end < w.offsets.size() ? w.offsets[s.end] : w.size;
      Status st = WriteThrough(w.fd.get(), from, to - from);
      if (!st.ok()) FailFile(w, st);
    }
    uint64_t bytes = 0;
    for (size_t k = s.begin; k < s.end; ++k) bytes += w.locs[k].raw_length;
    bytes_done_ += bytes;
    if (--w.jobs_left == 0) FinishFile(s.w);
  }
}

void Restorer::LoadSegments(const std::vector<Segment>& segments) {
  // Where each blob goes: (segment, blob index k) pairs, by blob id.
  struct Place {
    FileWork* w;
    size_t k;
  };
  std::unordered_map<Id, std::vector<Place>, IdHash> places;
  std::vector<Repository::BlobRequest> needed;
  for (const Segment& s : segments) {
    FileWork& w = *s.w;
    for (size_t k = s.begin; k < s.end && !w.failed; ++k) {
      const Id& id = plan_.entries[w.entry].node.content[k];
      {
        MutexLock l(&zero_mu_);
        if (zero_blobs_.count(id)) continue;  // a hole
      }
      if (std::shared_ptr<const Bytes> cached = cache_.Get(id)) {
        WritePlace(w, w.fd.get(), k, *cached);
        continue;
      }
      auto [it, first] = places.try_emplace(id);
      it->second.push_back({&w, k});
      if (first) needed.push_back({w.locs[k], id});
    }
  }
  // Pack by pack, in offset order: runs of neighbours, each loaded with one read.
  for (auto [begin, end] : Repository::GroupNeighbours(needed, kMaxGapBytes, kMaxRangeBytes)) {
    if (Cancelled()) {
      for (const Segment& s : segments) FailFile(*s.w, Status::Cancelled("interrupted"));
      return;
    }
    const std::span<const Repository::BlobRequest> run(needed.data() + begin, end - begin);
    // Every result, error or not, is taken: LoadBlobsAt itself cannot fail here.
    (void)repo_.LoadBlobsAt(run, [&](size_t i, Result<Bytes> loaded) -> Status {
      const Id& id = run[i].id;
      const std::vector<Place>& to = places[id];
      if (!loaded.ok()) {
        for (const Place& p : to) FailFile(*p.w, loaded.status());
        return Status::Ok();
      }
      if (IsAllZero(loaded->data(), loaded->size())) {
        MutexLock l(&zero_mu_);
        zero_blobs_.insert(id);
        return Status::Ok();
      }
      auto data = std::make_shared<const Bytes>(std::move(*loaded));
      for (const Place& p : to) WritePlace(*p.w, p.w->fd.get(), p.k, *data);
      cache_.Put(id, std::move(data));
      return Status::Ok();
    });
  }
}

void Restorer::FinishFile(const std::shared_ptr<FileWork>& w) {
  const LayoutEntry& e = plan_.entries[w->entry];
  // Our own reference: once `done` is set, the main thread may drop w->dir (ReleaseLinkDirs).
  const std::shared_ptr<FileDescriptor> dir = w->dir;
  Status st;
  {
    MutexLock l(&w->mu);
    st = w->error;
  }
  if (st.ok() && !w->fd.valid()) {  // a window's file whose last write did not keep it open
    auto reopened = ReopenFile(*w);
    if (reopened.ok()) {
      w->fd = std::move(*reopened);
    } else {
      st = reopened.status();
    }
  }
  if (st.ok() && ::ftruncate(w->fd.get(), static_cast<off_t>(w->size)) != 0)
    st = PosixError("truncate to " + std::to_string(w->size) + " bytes");
  if (st.ok()) {
    ApplyMetadata(e, w->fd.get(), -1);
    st = w->fd.Close("restored file");
  }
  if (!st.ok()) {
    w->fd = FileDescriptor();  // close
    // Never leave an incomplete file that looks restored.
    if (dir) {
      if (::unlinkat(dir->get(), e.node.name.c_str(), 0) != 0 && errno != ENOENT)
        st = st.WithContext("could not remove the incomplete file (" +
                            std::string(std::strerror(errno)) + ")");
    } else if (Status removed = RemoveWindowFile(*w); !removed.ok()) {
      st = st.WithContext("could not remove the incomplete file (" + removed.message() + ")");
    }
    // An interrupted file is not an error of its own: the restore reports the interrupt.
    if (st.code() != StatusCode::kCancelled)
      AddError(e.snap_path, "file not restored: " + st.message());
    states_[w->entry] = kFailed;
  } else {
    files_++;
    bytes_ += w->size;
    states_[w->entry] = kDone;
  }
  if (w->holds_fd) window_fds_held_--;
  files_done_++;
  w->locs.clear();
  w->locs.shrink_to_fit();
  w->offsets.clear();
  w->offsets.shrink_to_fit();

  std::vector<PendingLink> links;
  {
    MutexLock l(&w->mu);
    w->done = true;
    w->ok = st.ok();
    links.swap(w->links);
  }
  // A window's file and its waiting links have no directory held: reopened below the target.
  std::shared_ptr<FileDescriptor> from_dir = dir;
  for (const auto& link : links) {
    if (st.ok()) {
      const LayoutEntry& le = plan_.entries[link.entry];
      std::shared_ptr<FileDescriptor> link_dir = link.dir;
      Status opened;
      for (auto [held, rel] : {std::pair{&from_dir, &e.rel}, std::pair{&link_dir, &le.rel}}) {
        if (*held || !opened.ok()) continue;
        auto reopened = OpenDirBeneath(root_fd_.get(), ParentRel(*rel));
        if (reopened.ok()) {
          *held = std::make_shared<FileDescriptor>(std::move(*reopened));
        } else {
          opened = reopened.status();
        }
      }
      if (!opened.ok()) {
        AddError(le.snap_path, "hardlink to " + e.snap_path + " not created: " + opened.message());
        states_[link.entry] = kFailed;
        continue;
      }
      MakeLink(*w, from_dir->get(), link.entry, link_dir->get());
    } else {
      if (st.code() != StatusCode::kCancelled)
        AddError(plan_.entries[link.entry].snap_path,
                 "hardlink not restored: its file " + e.snap_path + " failed");
      states_[link.entry] = kFailed;
    }
  }
}

void Restorer::LinkEntry(size_t i, const std::shared_ptr<FileDescriptor>& dir) {
  const LayoutEntry& e = plan_.entries[i];
  const size_t p = static_cast<size_t>(e.primary);
  auto it = link_targets_.find(p);
  if (it == link_targets_.end()) {
    if (states_[p] == kSkipped) {
      skipped_++;
      states_[i] = kSkipped;
    } else {
      AddError(e.snap_path, "hardlink not restored: its file " + plan_.entries[p].snap_path +
                                " was not restored");
      states_[i] = kFailed;
    }
    return;
  }
  FileWork& w = *it->second;
  bool ok;
  std::shared_ptr<FileDescriptor> from_dir;
  {
    MutexLock l(&w.mu);
    if (!w.done) {
      w.links.push_back({i, w.windowed && !w.holds_fd ? nullptr : dir});
      return;
    }
    ok = w.ok;
    from_dir = w.dir;
  }
  if (ok && !from_dir) {  // released: reopen the file's directory from the target
    const std::string from_rel = ParentRel(plan_.entries[p].rel);
    auto reopened = OpenDirBeneath(root_fd_.get(), from_rel);
    if (!reopened.ok()) {
      FreeDescriptors();
      reopened = OpenDirBeneath(root_fd_.get(), from_rel);
    }
    if (!reopened.ok()) {
      AddError(e.snap_path, "hardlink to " + plan_.entries[p].snap_path +
                                " not created: " + reopened.status().message());
      states_[i] = kFailed;
      return;
    }
    from_dir = std::make_shared<FileDescriptor>(std::move(*reopened));
  }
  if (ok) {
    MakeLink(w, from_dir->get(), i, dir->get());
  } else {
    AddError(e.snap_path,
             "hardlink not restored: its file " + plan_.entries[p].snap_path + " failed");
    states_[i] = kFailed;
  }
}

void Restorer::MakeLink(const FileWork& w, int from_dirfd, size_t i, int dirfd) {
  const LayoutEntry& e = plan_.entries[i];
  const std::string& from = plan_.entries[w.entry].node.name;
  auto made = CreateReplacing(dirfd, e.node.name, [&] {
    return ::linkat(from_dirfd, from.c_str(), dirfd, e.node.name.c_str(), 0);
  });
  if (!made.ok()) {
    AddError(e.snap_path, "hardlink to " + plan_.entries[w.entry].snap_path +
                              " not created: " + made.status().message());
    states_[i] = kFailed;
  } else if (*made == Made::kSkipped) {
    skipped_++;
    states_[i] = kSkipped;
  } else {
    hardlinks_++;
    states_[i] = kDone;
  }
}

void Restorer::ReleaseLinkDirs() {
  link_dirs_held_ = 0;
  for (auto& [entry, w] : link_targets_) {
    MutexLock l(&w->mu);
    if (w->done) {
      w->dir.reset();
    } else if (w->dir) {
      link_dirs_held_++;
    }
  }
}

}  // namespace lifeboat::restore
