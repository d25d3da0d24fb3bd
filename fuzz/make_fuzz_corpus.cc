// make_fuzz_corpus <dir>: writes seed inputs for every fuzz target into <dir>/<target>/ (pack,
// blob, index, tree, snapshot, key, config, lock, aead), made with the real encoders and the
// fixed test keys of fuzz_common.h, each prefixed with the mode byte its target expects.
// Seeds give the fuzzer valid encodings to mutate; without them it would rarely get past the
// magic numbers and length checks. Exit status 0 on success, 1 with a message otherwise.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_common.h"
#include "index/index.h"
#include "pack/blob.h"
#include "pack/pack.h"
#include "repository/keys.h"
#include "repository/repository.h"
#include "repository/snapshot.h"
#include "repository/tree.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "make_fuzz_corpus: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(*r);
}

class CorpusWriter {
 public:
  explicit CorpusWriter(fs::path root) : root_(std::move(root)) {}

  void Add(const std::string& target, uint8_t mode, ByteView payload) {
    AddRaw(target, fuzz::WithMode(mode, payload));
  }
  void AddRaw(const std::string& target, ByteView input) {
    fs::path dir = root_ / target;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) Die("cannot create " + dir.string() + ": " + ec.message());
    fs::path file = dir / ("seed-" + std::to_string(++count_[target]));
    std::FILE* f = std::fopen(file.c_str(), "wb");
    if (!f) Die("cannot write " + file.string());
    bool ok = std::fwrite(input.data(), 1, input.size(), f) == input.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok) Die("cannot write " + file.string());
  }
  size_t total() const {
    size_t n = 0;
    for (const auto& [t, c] : count_) n += c;
    return n;
  }

 private:
  fs::path root_;
  std::map<std::string, size_t> count_;
};

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

Id IdOf(uint8_t b) {
  Id id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(b + 3 * i);
  return id;
}

std::vector<Bytes> SamplePlaintexts() {
  std::vector<Bytes> out;
  out.push_back({});
  out.push_back(Text("x"));
  out.push_back(Text("hello, lifeboat"));
  std::string repetitive;
  for (int i = 0; i < 200; ++i) repetitive += "line " + std::to_string(i % 7) + " of a log\n";
  out.push_back(Text(repetitive));  // compresses: zstd frame
  Bytes mixed(700);
  for (size_t i = 0; i < mixed.size(); ++i)
    mixed[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  out.push_back(mixed);  // incompressible: raw frame
  return out;
}

void PackAndBlobSeeds(CorpusWriter& w) {
  BlobCodec codec(fuzz::FixedAead(), fuzz::FixedIdMac(), 3);
  std::vector<Bytes> plains = SamplePlaintexts();
  for (size_t i = 0; i < plains.size(); ++i) {
    const Bytes& plain = plains[i];
    Id id = codec.ComputeId(plain);
    Bytes stored;
    if (!codec.Encode(plain, id, &stored).ok()) Die("blob encode failed");
    uint8_t len[4];
    StoreLE32(len, static_cast<uint32_t>(plain.size()));
    Bytes raw(len, len + 4);
    raw.insert(raw.end(), id.bytes.begin(), id.bytes.end());
    Bytes sealed_mode = raw;
    raw.insert(raw.end(), stored.begin(), stored.end());
    w.Add("blob", 0, raw);
    Bytes frame = Must(fuzz::FixedAead().Open(stored), "open blob");
    sealed_mode.insert(sealed_mode.end(), frame.begin(), frame.end());
    w.Add("blob", 1, sealed_mode);
    Bytes round = {static_cast<uint8_t>(i)};
    round.insert(round.end(), plain.begin(), plain.end());
    w.Add("blob", 2, round);
  }

  // Packs of 0, 1 and all sample blobs (the last one with a tree blob).
  for (size_t n : {size_t{0}, size_t{1}, plains.size()}) {
    PackWriter pw(fuzz::FixedAead());
    for (size_t i = 0; i < n; ++i) {
      Id id = codec.ComputeId(plains[i]);
      Bytes stored;
      if (!codec.Encode(plains[i], id, &stored).ok()) Die("blob encode failed");
      BlobType type = (i == 2) ? BlobType::kTree : BlobType::kData;
      pw.Add(type, id, std::move(stored), static_cast<uint32_t>(plains[i].size()));
    }
    FinishedPack pack = Must(pw.Finish(), "pack finish");
    const Bytes whole = pack.Joined();
    w.Add("pack", 1, whole);
    Bytes header = EncodePackHeader(pack.blobs);
    uint32_t blobs_end = 0;
    for (const auto& b : pack.blobs) blobs_end += b.stored_length;
    uint8_t end[4];
    StoreLE32(end, blobs_end);
    Bytes plain_mode(end, end + 4);
    plain_mode.insert(plain_mode.end(), header.begin(), header.end());
    w.Add("pack", 0, plain_mode);
    Bytes sealed_mode = {static_cast<uint8_t>(blobs_end), static_cast<uint8_t>(blobs_end >> 8)};
    sealed_mode.insert(sealed_mode.end(), header.begin(), header.end());
    w.Add("pack", 2, sealed_mode);
    w.Add("aead", 0,
          ByteView(whole)
              .last(header.size() + crypto::kSealOverhead + 4)
              .first(header.size() + crypto::kSealOverhead));
  }
}

void IndexSeeds(CorpusWriter& w) {
  std::vector<IndexFile> files(3);
  files[1].packs.push_back({IdOf(1), {{BlobType::kData, IdOf(10), 0, 60, 19}}});
  IndexFile& big = files[2];
  big.supersedes = {IdOf(7), IdOf(8)};
  big.packs.push_back({IdOf(2),
                       {{BlobType::kData, IdOf(20), 0, 100, 59},
                        {BlobType::kTree, IdOf(21), 100, 80, 39},
                        {BlobType::kData, IdOf(22), 180, 4000, 3959}}});
  big.packs.push_back({IdOf(3),
                       {{BlobType::kData, IdOf(20), 0, 100, 59},  // also in pack 2
                        {BlobType::kTree, IdOf(20), 100, 42, 1}}});
  for (const auto& f : files) {
    Bytes plain = EncodeIndexFile(f);
    w.Add("index", 0, plain);
    w.Add("index", 1, fuzz::SealFixed(plain));
  }
}

Node BaseNode(std::string name, NodeType type) {
  Node n;
  n.name = std::move(name);
  n.type = type;
  n.mode = 0644;
  n.uid = 1000;
  n.gid = 1000;
  n.user = "alice";
  n.group = "staff";
  n.mtime_ns = 1767225600123456789;
  n.atime_ns = n.mtime_ns + 5;
  n.ctime_ns = n.mtime_ns - 5;
  n.device = 2049;
  n.inode = 131;
  n.links = 1;
  return n;
}

void TreeSeeds(CorpusWriter& w) {
  w.AddRaw("tree", EncodeTree(Tree{}));
  Tree t;
  Node file = BaseNode("file.txt", NodeType::kFile);
  file.size = 3 << 20;
  file.content = {IdOf(30), IdOf(31), IdOf(32)};
  file.xattrs = {{"user.a", "1"}, {"user.b", std::string("\0\xff", 2)}};
  file.sparse = true;
  t.nodes.push_back(file);
  Node dir = BaseNode("dir", NodeType::kDir);
  dir.mode = 0755;
  dir.subtree = IdOf(40);
  t.nodes.push_back(dir);
  Node link = BaseNode("link", NodeType::kSymlink);
  link.link_target = "../dir/file.txt";
  t.nodes.push_back(link);
  Node dev = BaseNode("sda", NodeType::kBlockDevice);
  dev.rdev = 0x800;
  t.nodes.push_back(dev);
  t.nodes.push_back(BaseNode("fifo", NodeType::kFifo));
  SortTree(&t);
  w.AddRaw("tree", EncodeTree(t));
  Tree one;
  one.nodes.push_back(BaseNode("a", NodeType::kFile));
  w.AddRaw("tree", EncodeTree(one));
}

void SnapshotSeeds(CorpusWriter& w) {
  Snapshot s;
  s.time_ns = 1767225600123456789;
  s.hostname = "db1";
  s.username = "root";
  s.paths = {"/srv", "/var/lib/postgresql"};
  s.tree = IdOf(50);
  s.program_version = "lifeboat 0.1.0";
  Bytes a = EncodeSnapshot(s);
  s.parent = IdOf(51);
  s.tags = {"daily", "db"};
  s.excludes = {"*.tmp"};
  s.uid = 0;
  s.gid = 4;
  s.incomplete = true;
  s.summary.backup_start_ns = s.time_ns;
  s.summary.backup_end_ns = s.time_ns + 61000000000;
  s.summary.files_new = 10;
  s.summary.data_added = 1 << 20;
  s.summary.errors = 1;
  Bytes b = EncodeSnapshot(s);
  for (const Bytes& plain : {a, b}) {
    w.Add("snapshot", 0, plain);
    w.Add("snapshot", 1, fuzz::SealFixed(plain));
  }
}

void KeyAndTimeSeeds(CorpusWriter& w) {
  MasterKey mk{fuzz::FixedKey(0x01), fuzz::FixedKey(0x41), fuzz::FixedKey(0x81)};
  w.Add("key", 0, Must(CreateKeyFile(mk, "fuzz-password", KdfParams{16, 1, 1}), "key file"));
  w.Add("key", 0, Must(CreateKeyFile(mk, "fuzz-password", KdfParams{1024, 8, 1}), "key file"));
  w.Add("key", 0, Must(CreateKeyFile(mk, "other password", KdfParams{64, 2, 2}), "key file"));
  Bytes material = {1};
  for (const auto* k : {&mk.enc, &mk.id, &mk.chunker})
    material.insert(material.end(), k->bytes.begin(), k->bytes.end());
  w.Add("key", 1, material);
  for (std::string t : {FormatTime(0), FormatTime(1767225600123456789), FormatTime(-1),
                        std::string("2026-01-02T03:04:05Z"), std::string("2026-01-02T03:04:05.5Z")})
    w.Add("key", 2, AsBytes(t));
}

void ConfigSeeds(CorpusWriter& w) {
  RepositoryConfig c;
  c.id = IdOf(60);
  c.created = FormatTime(1767225600123456789);
  RepositoryConfig small = c;
  small.chunker = ChunkerParams{64, 128, 256};
  small.compression_level = -7;
  small.pack_size = 1 << 20;
  for (const auto& cfg : {c, small}) {
    w.Add("config", 0, Must(EncodeConfig(cfg, fuzz::FixedAead()), "config"));
    w.Add("config", 1, AsBytes(ConfigToJson(cfg)));
  }
}

void LockSeeds(CorpusWriter& w) {
  // The same JSON as lock.cc writes. Lock objects are sealed with the fuzzed repository's random
  // key, so mode 1 (stored bytes) gets a sealed object that fails authentication, as a start.
  for (bool exclusive : {false, true}) {
    for (long long pid : {static_cast<long long>(getpid()), 1LL << 22}) {
      std::string json = "{\"version\":1,\"time\":\"" + FormatTime(1767225000000000000) +
                         "\",\"exclusive\":" + (exclusive ? "true" : "false") + ",\"hostname\":\"" +
                         Hostname() + "\",\"username\":\"" + Username() +
                         "\",\"pid\":" + std::to_string(pid) + "}";
      w.Add("lock", 0, AsBytes(json));
    }
  }
  w.Add("lock", 0, AsBytes(R"({"version":1,"time":"2020-01-01T00:00:00Z","exclusive":false})"));
  w.Add("lock", 1, fuzz::SealFixed(AsBytes(R"({"version":1})")));
}

void AeadSeeds(CorpusWriter& w) {
  for (const Bytes& plain : SamplePlaintexts()) {
    w.Add("aead", 0, fuzz::SealFixed(plain));
    Bytes round = {0x11, 0x01, 0x00, 0x00};
    round.insert(round.end(), plain.begin(), plain.end());
    w.Add("aead", 1, round);
  }
}

}  // namespace
}  // namespace lifeboat

int main(int argc, char** argv) {
  using namespace lifeboat;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output dir>\n", argv[0]);
    return 2;
  }
  CorpusWriter w{std::filesystem::path(argv[1])};
  PackAndBlobSeeds(w);
  IndexSeeds(w);
  TreeSeeds(w);
  SnapshotSeeds(w);
  KeyAndTimeSeeds(w);
  ConfigSeeds(w);
  LockSeeds(w);
  AeadSeeds(w);
  std::printf("make_fuzz_corpus: wrote %zu seeds to %s\n", w.total(), argv[1]);
  return 0;
}
