// WalkRules: what a backup includes, as one set of rules for both walks over the files: the
// backup's own walk and the pre-scan that counts files and bytes for the progress ETA. Both list
// directories through List() and decide about subdirectories through IntoDirectory(), so the ETA
// covers exactly what the backup reads (--exclude, --exclude-caches, --exclude-larger-than,
// --one-file-system and the depth limit alike).
//
//   WalkRules rules(options, std::move(excludes));
//   std::vector<WalkEntry> entries;
//   rules.List(dirs, lease.fd(), "/srv/data", &entries, on_error);
//   for (const WalkEntry& e : entries)
//     if (S_ISDIR(e.st.st_mode) && rules.IntoDirectory(e.st, parent_dev, depth + 1) == kYes) ...
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "archiver/archiver.h"
#include "archiver/dir_descriptors.h"
#include "archiver/exclude.h"

namespace lifeboat {

// Directories nested deeper than this below the root of the walk are saved without contents
// and reported.
inline constexpr int kMaxDirDepth = 4096;

struct WalkEntry {
  std::string name;
  struct stat st;  // lstat: a symlink is the symlink
};

class WalkRules {
 public:
  WalkRules(const BackupOptions& options, ExcludeMatcher excludes);

  // Called for an entry the walk cannot list or stat: (its path, what went wrong).
  using OnError = std::function<void(const std::string& path, const std::string& message)>;

  // Lists the directory open as `dirfd` (its path is `path`, as read: below the read root when
  // there is one) and lstats its entries; appends the included ones to *entries, sorted by
  // name. Left out: names matching an exclude pattern (matched against the recorded path),
  // everything but CACHEDIR.TAG in a directory holding a valid CACHEDIR.TAG (exclude_caches),
  // regular files larger than exclude_larger_than, and entries that cannot be stat'ed (reported
  // to on_error, like a listing that fails). Out of descriptors for CACHEDIR.TAG, idle ones of
  // `dirs` are closed and the open retried. Thread-safe.
  void List(DirDescriptors& dirs, int dirfd, const std::string& path,
            std::vector<WalkEntry>* entries, const OnError& on_error) const;

  // A regular file given as a path to back up is included unless it is over the size limit.
  bool IncludesFile(const struct stat& st) const;

  enum class Descend {
    kYes,              // read its contents
    kOtherFilesystem,  // a mount point under one_file_system: the directory without contents
    kTooDeep,          // deeper than kMaxDirDepth: the directory without contents, reported
  };
  // For a directory found while listing a directory on device `parent_dev`, `depth` levels
  // below the root of the walk.
  Descend IntoDirectory(const struct stat& st, dev_t parent_dev, int depth) const;

  const ExcludeMatcher& excludes() const { return excludes_; }

 private:
  bool IsCacheDir(DirDescriptors& dirs, int dirfd) const;

  // The path `read_path` has in the snapshot (BackupOptions::read_root taken off).
  std::string Recorded(const std::string& read_path) const;

  ExcludeMatcher excludes_;
  std::string read_root_;  // "" for none
  bool exclude_caches_;
  bool one_file_system_;
  uint64_t exclude_larger_than_;
};

// The progress pre-scan: counts the regular files (and their bytes) that a backup of `paths`
// (clean absolute paths, as RunBackup makes them, read below `read_root` when it is not "")
// reads under `rules`, adding to `files` and `bytes` as it goes. Unreadable parts are skipped
// silently (the backup reports them). Returns early once `stop` is set. Uses its own
// descriptors from `dirs`.
void ScanTree(const std::vector<std::string>& paths, const std::string& read_root,
              const WalkRules& rules, DirDescriptors& dirs, std::atomic<uint64_t>& files,
              std::atomic<uint64_t>& bytes, const std::atomic<bool>& stop);

// Path of `name` in the directory `dir`.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace lifeboat
