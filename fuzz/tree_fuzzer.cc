// Fuzzes trees (doc/repository-format.md §8): DecodeTree on the plaintext of a tree blob. (Tree
// blobs are sealed like data blobs; blob_fuzzer covers that layer.)
//
// Invariants (tree.h): whatever DecodeTree accepts re-encodes to exactly the input, decodes again
// to an equal tree, is already in canonical order (SortTree changes nothing), and has valid names.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "repository/tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  ByteView input(data, size);
  auto tree = DecodeTree(input);
  if (!tree.ok()) {
    FUZZ_CHECK(tree.status().IsCorruption());
    return 0;
  }
  for (const Node& n : tree->nodes) FUZZ_CHECK(IsValidNodeName(n.name));
  Bytes encoded = EncodeTree(*tree);
  FUZZ_CHECK(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), data));
  auto again = DecodeTree(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->nodes == tree->nodes);
  Tree sorted = *tree;
  SortTree(&sorted);
  FUZZ_CHECK(sorted.nodes == tree->nodes);
  return 0;
}
