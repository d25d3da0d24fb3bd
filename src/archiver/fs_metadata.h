// Reading a filesystem entry's metadata into a tree Node (doc/repository-format.md §8).
//
//   struct stat st; lstat(path, &st);
//   Node n = NodeFromStat(name, st);
//   LB_RETURN_IF_ERROR(ReadExtendedMetadata(dirfd, name, path, &n));   // symlink target, xattrs
#pragma once

#include <sys/stat.h>

#include <string>

#include "repository/tree.h"

namespace lifeboat {

// Type, mode, owner (with names), times, device/inode/links, size, rdev. Never fails.
// Thread-safe (user/group names are cached).
Node NodeFromStat(const std::string& name, const struct stat& st);
// Reads the symlink target and the extended attributes (including POSIX ACLs) of the entry
// `name` in the directory open as `dirfd`, so that paths longer than PATH_MAX work; with
// dirfd < 0, of `path`. `path` also names the entry in errors. Filesystems without xattr
// support yield none. Thread-safe.
Status ReadExtendedMetadata(int dirfd, const std::string& name, const std::string& path,
                            Node* node);
// True when the file's allocated blocks are fewer than its size needs (it has holes).
bool LooksSparse(const struct stat& st);

}  // namespace lifeboat
