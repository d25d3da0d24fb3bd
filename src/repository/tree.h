// Trees: the deterministic encoding of one directory (doc/repository-format.md §8).
//
//   Tree t; t.nodes.push_back(node);  SortTree(&t);
//   Bytes b = EncodeTree(t);  LB_ASSIGN_OR_RETURN(Tree back, DecodeTree(b));
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/id.h"
#include "util/status.h"

namespace lifeboat {

enum class NodeType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDevice = 5,
  kBlockDevice = 6,
  kSocket = 7,
};
std::string_view NodeTypeName(NodeType t);

struct Node {
  std::string name;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // st_mode & 07777
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  int64_t mtime_ns = 0, atime_ns = 0, ctime_ns = 0;
  uint64_t device = 0, inode = 0, links = 0;
  uint64_t size = 0;
  uint64_t rdev = 0;
  std::string link_target;
  std::vector<Id> content;  // files: data blobs in order
  std::optional<Id> subtree;  // dirs
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
  bool sparse = false;

  bool operator==(const Node&) const = default;
};

struct Tree {
  std::vector<Node> nodes;  // sorted by name, unique
};

// Sorts nodes and their xattrs into canonical order.
void SortTree(Tree* tree);
// REQUIRES: SortTree was applied (nodes sorted, names unique and valid).
Bytes EncodeTree(const Tree& tree);
// Rejects anything EncodeTree could not have produced: bad magic, unsorted or duplicate names,
// names with '/', trailing bytes, counts larger than the input, varints not in their shortest
// form. Whatever it accepts re-encodes to exactly `data`.
Result<Tree> DecodeTree(ByteView data);
// True for a usable file name: not empty, not "." or "..", no '/' and no NUL.
bool IsValidNodeName(std::string_view name);

}  // namespace lifeboat
