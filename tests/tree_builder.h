// Test support: builds a directory tree with every file kind and rich metadata, and compares two
// trees programmatically (content, type, mode, owner, times, xattrs, hardlinks, sparseness).
//
//   std::string src = MakeTempDir("src");
//   BuildEveryKindTree(src);
//   std::vector<std::string> diffs = CompareTrees(src, restored, {});
#pragma once

#include <string>
#include <vector>

namespace lifeboat::testing {

std::string MakeTempDir(const std::string& tag);
void RemoveTree(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFileOrDie(const std::string& path);
// Deterministic pseudo-random bytes.
std::string RandomBytes(size_t n, uint64_t seed);

struct TreeFeatures {
  bool xattrs = false;   // user.* xattrs could be set
  bool acls = false;     // POSIX ACLs could be set
  bool devices = false;  // device nodes (root only)
  bool ownership = false;  // chown to other ids (root only)
};
// Creates files of many sizes, nested and empty dirs, symlinks (relative, absolute, dangling),
// hardlinks, a sparse file, a fifo, device nodes, xattrs, ACLs, special modes, odd names and
// nanosecond timestamps under `root`. Returns which optional features the system allowed.
TreeFeatures BuildEveryKindTree(const std::string& root);

struct CompareOptions {
  bool check_atime = false;
  bool check_ownership = true;
  bool check_sparse = true;
};
// Returns one line per difference between the trees under `a` and `b` (empty = identical).
std::vector<std::string> CompareTrees(const std::string& a, const std::string& b,
                                      const CompareOptions& options);

}  // namespace lifeboat::testing
