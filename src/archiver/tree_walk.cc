// The walk: the calling thread lists each directory (WalkRules), turns its entries into nodes,
// compares them with the parent snapshot, queues the files to read on the reader pool, and
// descends into subdirectories holding descriptors for a window of levels (DirDescriptors).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "archiver/archiver_internal.h"
#include "archiver/fs_metadata.h"
#include "util/file_io.h"

namespace lifeboat::backup {
namespace {

const Node* FindChild(const Tree* tree, const std::string& name) {
  if (!tree) return nullptr;
  auto it = std::lower_bound(tree->nodes.begin(), tree->nodes.end(), name,
                             [](const Node& n, const std::string& v) { return n.name < v; });
  if (it == tree->nodes.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace

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
    if (old && old->type == NodeType::kDir && old->subtree &&
        (child_old = parent_trees_.Find(*old->subtree)) == nullptr) {
      auto t = repo_.LoadTree(*old->subtree);
      if (t.ok()) {
        MutexLock lock(&mu_);
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
    // Below a read root nothing is followed: a symlink could lead out of it.
    struct stat st;
    const bool below_root = !options_.read_root.empty();
    const bool follow = !sub.target && !below_root;
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
      Issue(path, PosixError(follow ? "stat" : "lstat").message(), true);
    } else if (!sub.target && S_ISLNK(st.st_mode)) {
      Issue(path,
            "is a symbolic link below the read root " + options_.read_root +
                ": not followed (it could lead out of the read root); back up what it "
                "points to by its own path",
            true);
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

}  // namespace lifeboat::backup
