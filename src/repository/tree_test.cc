// Tests for the tree encoding (§8): round trips, determinism and strict decoding.

#include "repository/tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace lifeboat {
namespace {

Id MakeId(uint8_t fill) {
  Id id;
  id.bytes.fill(fill);
  id.bytes[0] = 0x42;
  return id;
}

Node BaseNode(std::string name, NodeType type) {
  Node n;
  n.name = std::move(name);
  n.type = type;
  n.mode = 0644;
  n.uid = 1000;
  n.gid = 100;
  n.user = "alice";
  n.group = "users";
  n.mtime_ns = 1764000000123456789;
  n.atime_ns = -5;  // before the epoch
  n.ctime_ns = INT64_MAX;
  n.device = 0xfd01;
  n.inode = UINT64_MAX;
  n.links = 1;
  return n;
}

// One node of every type, with every field set to something non-default where it applies.
Tree FullTree() {
  Tree t;
  Node file = BaseNode("file.txt", NodeType::kFile);
  file.size = 3u << 20;
  file.content = {MakeId(1), MakeId(2), MakeId(1)};  // repeated chunks are fine
  file.xattrs = {
      {"user.b", std::string("\0\xff", 2)}, {"system.posix_acl_access", "acl"}, {"user.a", ""}};
  file.sparse = true;
  file.links = 2;
  t.nodes.push_back(file);
  Node dir = BaseNode("dir", NodeType::kDir);
  dir.mode = 01777;
  dir.subtree = MakeId(3);
  t.nodes.push_back(dir);
  Node link = BaseNode("link", NodeType::kSymlink);
  link.link_target = "../some/where else";
  link.mode = 0777;
  t.nodes.push_back(link);
  Node fifo = BaseNode("fifo", NodeType::kFifo);
  t.nodes.push_back(fifo);
  Node chr = BaseNode("tty", NodeType::kCharDevice);
  chr.rdev = 0x0501;
  t.nodes.push_back(chr);
  Node blk = BaseNode("sda", NodeType::kBlockDevice);
  blk.rdev = 0x0800;
  blk.mode = 06660;  // setuid + setgid
  t.nodes.push_back(blk);
  Node sock = BaseNode("socket", NodeType::kSocket);
  sock.user = "";
  sock.group = "";
  sock.uid = UINT32_MAX;
  t.nodes.push_back(sock);
  Node empty_file = BaseNode("empty", NodeType::kFile);
  t.nodes.push_back(empty_file);
  Node utf8 = BaseNode("\xc3\xa9t\xc3\xa9", NodeType::kFile);  // sorts after ASCII (bytewise)
  t.nodes.push_back(utf8);
  Node odd = BaseNode("name with spaces\n\x01", NodeType::kFile);  // any byte but '/' and NUL
  t.nodes.push_back(odd);
  SortTree(&t);
  return t;
}

TEST(TreeTest, RoundTripEveryNodeType) {
  Tree t = FullTree();
  Bytes enc = EncodeTree(t);
  auto dec = DecodeTree(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  ASSERT_EQ(dec->nodes.size(), t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) EXPECT_EQ(dec->nodes[i], t.nodes[i]) << i;
  // Every type occurs.
  for (int type = 1; type <= 7; ++type) {
    EXPECT_TRUE(std::any_of(t.nodes.begin(), t.nodes.end(),
                            [&](const Node& n) { return static_cast<int>(n.type) == type; }));
  }
  // Bytewise order: the UTF-8 name (0xc3...) comes last.
  EXPECT_EQ(dec->nodes.back().name, "\xc3\xa9t\xc3\xa9");
  const Node& file = *std::find_if(dec->nodes.begin(), dec->nodes.end(),
                                   [](const Node& n) { return n.name == "file.txt"; });
  ASSERT_EQ(file.xattrs.size(), 3u);
  EXPECT_EQ(file.xattrs[0].first, "system.posix_acl_access");
  EXPECT_EQ(file.xattrs[2].second, std::string("\0\xff", 2));
}

TEST(TreeTest, EmptyTree) {
  Tree t;
  Bytes enc = EncodeTree(t);
  EXPECT_EQ(enc.size(), 5u);
  auto dec = DecodeTree(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_TRUE(dec->nodes.empty());
}

TEST(TreeTest, EncodingIsDeterministic) {
  Tree t = FullTree();
  Bytes a = EncodeTree(t);
  EXPECT_EQ(EncodeTree(t), a);
  // The same directory listed in another order, xattrs too, encodes to the same bytes.
  std::mt19937 rng(1);
  for (int round = 0; round < 10; ++round) {
    Tree shuffled = t;
    std::shuffle(shuffled.nodes.begin(), shuffled.nodes.end(), rng);
    for (auto& n : shuffled.nodes) std::shuffle(n.xattrs.begin(), n.xattrs.end(), rng);
    SortTree(&shuffled);
    EXPECT_EQ(EncodeTree(shuffled), a);
  }
  // Decode then encode gives back the same bytes.
  auto dec = DecodeTree(a);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(EncodeTree(*dec), a);
  // Any change to any field changes the bytes.
  Tree changed = t;
  changed.nodes[0].mtime_ns += 1;
  EXPECT_NE(EncodeTree(changed), a);
}

TEST(TreeTest, TruncationAtEveryLengthIsRejected) {
  Bytes enc = EncodeTree(FullTree());
  for (size_t n = 0; n < enc.size(); ++n) {
    Bytes cut(enc.begin(), enc.begin() + n);  // own allocation, so ASan sees overreads
    auto dec = DecodeTree(cut);
    ASSERT_EQ(dec.status().code(), StatusCode::kCorruption) << n;
  }
}

TEST(TreeTest, TrailingBytesAreRejected) {
  Bytes enc = EncodeTree(FullTree());
  enc.push_back(0);
  EXPECT_EQ(DecodeTree(enc).status().code(), StatusCode::kCorruption);
  Bytes empty = EncodeTree(Tree{});
  empty.push_back(0);
  EXPECT_EQ(DecodeTree(empty).status().code(), StatusCode::kCorruption);
}

TEST(TreeTest, BadMagicIsRejected) {
  Bytes enc = EncodeTree(FullTree());
  enc[3] = '2';
  EXPECT_EQ(DecodeTree(enc).status().code(), StatusCode::kCorruption);
}

// Encodes nodes as given, without SortTree (EncodeTree writes what it is handed).
Result<Tree> DecodeRaw(std::vector<Node> nodes) {
  Tree t;
  t.nodes = std::move(nodes);
  return DecodeTree(EncodeTree(t));
}

TEST(TreeTest, UnsortedOrDuplicateNamesAreRejected) {
  Node a = BaseNode("a", NodeType::kFile), b = BaseNode("b", NodeType::kFile);
  EXPECT_TRUE(DecodeRaw({a, b}).ok());
  EXPECT_EQ(DecodeRaw({b, a}).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeRaw({a, a}).status().code(), StatusCode::kCorruption);
  Node a2 = BaseNode("a", NodeType::kFifo);
  EXPECT_EQ(DecodeRaw({a, a2}).status().code(), StatusCode::kCorruption);
  // Prefix order: "a" < "ab".
  EXPECT_TRUE(DecodeRaw({a, BaseNode("ab", NodeType::kFile)}).ok());
  EXPECT_EQ(DecodeRaw({BaseNode("ab", NodeType::kFile), a}).status().code(),
            StatusCode::kCorruption);
  // Bytewise, not signed-char order: 'z' (0x7a) < 0xc3.
  EXPECT_TRUE(DecodeRaw({BaseNode("z", NodeType::kFile), BaseNode("\xc3", NodeType::kFile)}).ok());
  EXPECT_EQ(DecodeRaw({BaseNode("\xc3", NodeType::kFile), BaseNode("z", NodeType::kFile)})
                .status()
                .code(),
            StatusCode::kCorruption);
}

TEST(TreeTest, InvalidNamesAreRejected) {
  for (std::string name : {std::string("a/b"), std::string("/"), std::string("."),
                           std::string(".."), std::string(""), std::string("a\0b", 3)}) {
    EXPECT_FALSE(IsValidNodeName(name)) << name;
    EXPECT_EQ(DecodeRaw({BaseNode(name, NodeType::kFile)}).status().code(), StatusCode::kCorruption)
        << name;
  }
  for (std::string name : {"...", ".a", "a.", " ", "\xff"}) {
    EXPECT_TRUE(IsValidNodeName(name)) << name;
    EXPECT_TRUE(DecodeRaw({BaseNode(name, NodeType::kFile)}).ok()) << name;
  }
}

TEST(TreeTest, InconsistentNodesAreRejected) {
  auto expect_bad = [](Node n) {
    EXPECT_EQ(DecodeRaw({n}).status().code(), StatusCode::kCorruption) << n.name;
  };
  Node bad_mode = BaseNode("m", NodeType::kFile);
  bad_mode.mode = 0100644;  // file type bits do not belong in mode
  expect_bad(bad_mode);
  Node dir_without_subtree = BaseNode("d", NodeType::kDir);
  expect_bad(dir_without_subtree);
  Node file_with_subtree = BaseNode("f", NodeType::kFile);
  file_with_subtree.subtree = MakeId(9);
  expect_bad(file_with_subtree);
  Node dir_with_content = BaseNode("d", NodeType::kDir);
  dir_with_content.subtree = MakeId(9);
  dir_with_content.content = {MakeId(1)};
  expect_bad(dir_with_content);
  Node symlink_with_content = BaseNode("s", NodeType::kSymlink);
  symlink_with_content.content = {MakeId(1)};
  expect_bad(symlink_with_content);
  Node dup_xattr = BaseNode("x", NodeType::kFile);
  dup_xattr.xattrs = {{"user.a", "1"}, {"user.a", "2"}};
  expect_bad(dup_xattr);
  Node unsorted_xattr = BaseNode("x", NodeType::kFile);
  unsorted_xattr.xattrs = {{"user.b", "1"}, {"user.a", "2"}};
  expect_bad(unsorted_xattr);
}

TEST(TreeTest, BadBytesInFixedFieldsAreRejected) {
  Tree t;
  t.nodes.push_back(BaseNode("n", NodeType::kFile));
  Bytes enc = EncodeTree(t);
  // Layout: magic(4) count(1) name(2) type(1) ...; sparse flag is the last byte, subtree flag
  // the third from last (before xattr count 0 and sparse).
  const size_t type_at = 7;
  for (uint8_t type : {0, 8, 255}) {
    Bytes bad = enc;
    bad[type_at] = type;
    EXPECT_EQ(DecodeTree(bad).status().code(), StatusCode::kCorruption) << int(type);
  }
  Bytes sparse = enc;
  sparse.back() = 2;
  EXPECT_EQ(DecodeTree(sparse).status().code(), StatusCode::kCorruption);
  Bytes subtree_flag = enc;
  subtree_flag[enc.size() - 3] = 2;
  EXPECT_EQ(DecodeTree(subtree_flag).status().code(), StatusCode::kCorruption);
  // Hand-built nodes: `uid` holds the raw bytes of the uid varint.
  auto node_with_uid = [](Bytes uid) {
    ByteWriter w;
    w.PutBytes(AsBytes("LBT1"));
    w.PutVarint(1);
    w.PutString("n");
    w.PutU8(1);
    w.PutVarint(0644);
    w.PutBytes(uid);
    w.PutVarint(0);  // gid
    w.PutString("");
    w.PutString("");
    for (int i = 0; i < 3; ++i) w.PutI64(0);
    for (int i = 0; i < 5; ++i) w.PutVarint(0);  // device, inode, links, size, rdev
    w.PutString("");
    w.PutVarint(0);  // content
    w.PutU8(0);      // subtree
    w.PutVarint(0);  // xattrs
    w.PutU8(0);      // sparse
    return w.Release();
  };
  auto good = DecodeTree(node_with_uid({0x05}));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->nodes[0].uid, 5u);
  // uid beyond 32 bits.
  EXPECT_EQ(DecodeTree(node_with_uid({0x80, 0x80, 0x80, 0x80, 0x10})).status().code(),
            StatusCode::kCorruption);
  // Non-shortest varints for 5 and 0: they would decode to a tree that encodes differently.
  EXPECT_EQ(DecodeTree(node_with_uid({0x85, 0x00})).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeTree(node_with_uid({0x80, 0x00})).status().code(), StatusCode::kCorruption);
}

TEST(TreeTest, HugeCountsAreRejectedWithoutAllocating) {
  // Node count claiming 2^62 nodes.
  ByteWriter w;
  w.PutBytes(AsBytes("LBT1"));
  w.PutVarint(uint64_t{1} << 62);
  EXPECT_EQ(DecodeTree(w.data()).status().code(), StatusCode::kCorruption);
  // Content count claiming far more ids than bytes remain.
  Tree t;
  Node n = BaseNode("f", NodeType::kFile);
  n.content = {MakeId(1)};
  t.nodes.push_back(n);
  Bytes enc = EncodeTree(t);
  // The content count is the byte just before the 32-byte id (a 1-byte varint).
  const Id content_id = MakeId(1);
  auto it = std::search(enc.begin(), enc.end(), content_id.bytes.begin(), content_id.bytes.end());
  ASSERT_NE(it, enc.end());
  size_t count_at = static_cast<size_t>(it - enc.begin()) - 1;
  ASSERT_EQ(enc[count_at], 1);
  enc[count_at] = 0x7f;
  EXPECT_EQ(DecodeTree(enc).status().code(), StatusCode::kCorruption);
}

TEST(TreeTest, EveryBitFlipEitherFailsOrChangesTheTree) {
  // The decoder may accept a flipped bit in a free-form field (that is what ids are for), but it
  // must never crash, and whatever it accepts must re-encode to exactly the flipped bytes.
  Bytes enc = EncodeTree(FullTree());
  size_t accepted = 0;
  for (size_t bit = 0; bit < enc.size() * 8; ++bit) {
    Bytes bad = enc;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto dec = DecodeTree(bad);
    if (!dec.ok()) {
      ASSERT_EQ(dec.status().code(), StatusCode::kCorruption);
      continue;
    }
    ++accepted;
    ASSERT_EQ(EncodeTree(*dec), bad) << "bit " << bit;
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, enc.size() * 8);
}

}  // namespace
}  // namespace lifeboat
