#include "repository/tree.h"

#include <algorithm>
#include <cstring>

namespace lifeboat {

static constexpr char kTreeMagic[4] = {'L', 'B', 'T', '1'};

namespace {

// Reads a varint and accepts only the form ByteWriter::PutVarint writes (shortest encoding, no
// bits beyond 64), so that every accepted tree re-encodes to exactly the bytes it came from.
bool GetCanonicalVarint(ByteReader& r, ByteView data, uint64_t* v) {
  size_t start = r.position();
  if (!r.GetVarint(v)) return false;
  uint8_t canonical[10];
  size_t n = 0;
  for (uint64_t x = *v;; x >>= 7) {
    canonical[n++] = static_cast<uint8_t>(x >= 0x80 ? (x & 0x7f) | 0x80 : x);
    if (x < 0x80) break;
  }
  return r.position() - start == n && std::memcmp(data.data() + start, canonical, n) == 0;
}

bool GetCanonicalString(ByteReader& r, ByteView data, std::string* out) {
  uint64_t n;
  ByteView b;
  if (!GetCanonicalVarint(r, data, &n) || n > r.remaining() || !r.GetBytes(n, &b)) return false;
  out->assign(reinterpret_cast<const char*>(b.data()), b.size());
  return true;
}

}  // namespace

std::string_view NodeTypeName(NodeType t) {
  switch (t) {
    case NodeType::kFile: return "file";
    case NodeType::kDir: return "dir";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kFifo: return "fifo";
    case NodeType::kCharDevice: return "chardev";
    case NodeType::kBlockDevice: return "blockdev";
    case NodeType::kSocket: return "socket";
  }
  return "unknown";
}

bool IsValidNodeName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

void SortTree(Tree* tree) {
  std::sort(tree->nodes.begin(), tree->nodes.end(),
            [](const Node& a, const Node& b) { return a.name < b.name; });
  for (auto& n : tree->nodes) std::sort(n.xattrs.begin(), n.xattrs.end());
}

Bytes EncodeTree(const Tree& tree) {
  ByteWriter w;
  w.PutBytes(AsBytes(std::string_view(kTreeMagic, 4)));
  w.PutVarint(tree.nodes.size());
  for (const Node& n : tree.nodes) {
    w.PutString(n.name);
    w.PutU8(static_cast<uint8_t>(n.type));
    w.PutVarint(n.mode);
    w.PutVarint(n.uid);
    w.PutVarint(n.gid);
    w.PutString(n.user);
    w.PutString(n.group);
    w.PutI64(n.mtime_ns);
    w.PutI64(n.atime_ns);
    w.PutI64(n.ctime_ns);
    w.PutVarint(n.device);
    w.PutVarint(n.inode);
    w.PutVarint(n.links);
    w.PutVarint(n.size);
    w.PutVarint(n.rdev);
    w.PutString(n.link_target);
    w.PutVarint(n.content.size());
    for (const Id& id : n.content) w.PutBytes(id.bytes);
    if (n.subtree) {
      w.PutU8(1);
      w.PutBytes(n.subtree->bytes);
    } else {
      w.PutU8(0);
    }
    w.PutVarint(n.xattrs.size());
    for (const auto& [k, v] : n.xattrs) {
      w.PutString(k);
      w.PutString(v);
    }
    w.PutU8(n.sparse ? 1 : 0);
  }
  return w.Release();
}

Result<Tree> DecodeTree(ByteView data) {
  auto bad = [](const std::string& what) { return Status::Corruption("tree: " + what); };
  ByteReader r(data);
  auto varint = [&](uint64_t* v) { return GetCanonicalVarint(r, data, v); };
  auto str = [&](std::string* out) { return GetCanonicalString(r, data, out); };
  ByteView magic;
  if (!r.GetBytes(4, &magic) || AsString(magic) != std::string_view(kTreeMagic, 4))
    return bad("bad magic");
  uint64_t count;
  // Every node takes at least 40 bytes, so a count larger than that is a lie.
  if (!varint(&count) || count > r.remaining() / 40) return bad("bad node count");
  Tree tree;
  tree.nodes.resize(count);
  for (size_t i = 0; i < count; ++i) {
    Node& n = tree.nodes[i];
    uint8_t type;
    uint64_t mode, uid, gid, content_count, xattr_count;
    uint8_t has_subtree, sparse;
    if (!str(&n.name) || !r.GetU8(&type) || !varint(&mode) || !varint(&uid) || !varint(&gid) ||
        !str(&n.user) || !str(&n.group) || !r.GetI64(&n.mtime_ns) || !r.GetI64(&n.atime_ns) ||
        !r.GetI64(&n.ctime_ns) || !varint(&n.device) || !varint(&n.inode) || !varint(&n.links) ||
        !varint(&n.size) || !varint(&n.rdev) || !str(&n.link_target) || !varint(&content_count))
      return bad("truncated node");
    if (!IsValidNodeName(n.name)) return bad("invalid name");
    if (i > 0 && !(tree.nodes[i - 1].name < n.name)) return bad("names not sorted or not unique");
    if (type < 1 || type > 7) return bad("unknown node type");
    n.type = static_cast<NodeType>(type);
    if (mode > 07777 || uid > UINT32_MAX || gid > UINT32_MAX) return bad("bad mode or owner");
    n.mode = static_cast<uint32_t>(mode);
    n.uid = static_cast<uint32_t>(uid);
    n.gid = static_cast<uint32_t>(gid);
    if (content_count > r.remaining() / 32) return bad("bad content count");
    if (content_count && n.type != NodeType::kFile) return bad("content on a non-file");
    n.content.resize(content_count);
    for (Id& id : n.content) (void)r.GetArray(&id.bytes);
    if (!r.GetU8(&has_subtree) || has_subtree > 1) return bad("bad subtree flag");
    if (has_subtree) {
      Id id;
      if (!r.GetArray(&id.bytes)) return bad("truncated subtree");
      n.subtree = id;
    }
    if ((n.type == NodeType::kDir) != static_cast<bool>(has_subtree))
      return bad("directory without subtree or subtree on a non-directory");
    if (!varint(&xattr_count) || xattr_count > r.remaining() / 2) return bad("bad xattrs");
    n.xattrs.resize(xattr_count);
    for (size_t x = 0; x < xattr_count; ++x) {
      if (!str(&n.xattrs[x].first) || !str(&n.xattrs[x].second)) return bad("truncated xattr");
      if (x > 0 && !(n.xattrs[x - 1].first < n.xattrs[x].first)) return bad("xattrs not sorted");
    }
    if (!r.GetU8(&sparse) || sparse > 1) return bad("bad flags");
    n.sparse = sparse;
  }
  if (!r.done()) return bad("trailing bytes");
  return tree;
}

}  // namespace lifeboat
