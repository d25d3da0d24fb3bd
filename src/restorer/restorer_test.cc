#include "restorer/restorer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "backend/forwarding_backend.h"
#include "backend/memory_backend.h"
#include "counting_backend.h"
#include "progress_contract.h"
#include "repository/blob_saver.h"
#include "util/file_io.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

// Descriptors open in this process now.
rlim_t OpenDescriptors() {
  rlim_t n = 0;
  for (const auto& ent : fs::directory_iterator("/proc/self/fd")) {
    (void)ent;
    n++;
  }
  return n;
}

// Restores with the soft limit on descriptors 11 above those open now: the restorer then runs
// one worker, keeps no window file open (DescriptorBudget) and releases directories as it goes.
// The limit is put back before returning.
Result<RestoreResult> RestoreWithFewDescriptors(Repository& repo, const Id& root,
                                                const RestoreOptions& o) {
  struct rlimit saved;
  if (::getrlimit(RLIMIT_NOFILE, &saved) != 0) return PosixError("getrlimit");
  struct rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, OpenDescriptors() + 11);
  if (::setrlimit(RLIMIT_NOFILE, &low) != 0) return PosixError("lower the descriptor limit");
  auto r = RestoreTree(repo, root, o);
  if (::setrlimit(RLIMIT_NOFILE, &saved) != 0) return PosixError("put the descriptor limit back");
  return r;
}

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

Bytes Concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes ReadFile(const std::string& path) {
  auto r = ReadWholeFile(path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.status().ToString();
  return r.ok() ? *r : Bytes{};
}

bool HasError(const RestoreResult& r, const std::string& path, const std::string& needle = "") {
  for (const auto& e : r.errors)
    if (e.path == path && e.message.find(needle) != std::string::npos) return true;
  return false;
}

std::string Errors(const RestoreResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.path + ": " + e.message + "\n";
  return s;
}

constexpr int64_t kMtime = 1600000000123456789;
constexpr int64_t kAtime = 1500000000987654321;

class RestorerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
    auto backend = std::make_unique<MemoryBackend>();
    backend_ = backend.get();
    InitOptions io;
    io.kdf = DefaultKdfParams();
    auto repo = Repository::Init(std::move(backend), "pw", io);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    saver_ = std::make_unique<BlobSaver>(*repo_, BlobSaverOptions{});
    char tmpl[] = "/tmp/lb-restorer-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    target_ = tmp_ + "/target";
  }
  void TearDown() override {
    std::error_code ec;
    // Restored directories may be read-only (0555) for a non-root run: open them up first.
    for (auto it = fs::recursive_directory_iterator(tmp_, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory() && !it->is_symlink())
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(tmp_, ec);
  }

  Id SaveBlob(const Bytes& data) {
    Id id = repo_->codec().ComputeId(data);
    auto r = saver_->Save(BlobType::kData, id, data);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }
  Id SaveTree(Tree t) {
    SortTree(&t);
    Bytes b = EncodeTree(t);
    Id id = repo_->codec().ComputeId(b);
    auto r = saver_->Save(BlobType::kTree, id, b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }
  void Flush() { ASSERT_TRUE(saver_->Flush().ok()); }

  static Node Meta(const std::string& name, NodeType type, uint32_t mode) {
    Node n;
    n.name = name;
    n.type = type;
    n.mode = mode;
    n.uid = 1234;
    n.gid = 5678;
    n.mtime_ns = kMtime;
    n.atime_ns = kAtime;
    n.links = 1;
    return n;
  }
  Node File(const std::string& name, const std::vector<Bytes>& chunks, uint32_t mode = 0644) {
    Node n = Meta(name, NodeType::kFile, mode);
    for (const auto& c : chunks) {
      n.content.push_back(SaveBlob(c));
      n.size += c.size();
    }
    return n;
  }
  Node Dir(const std::string& name, std::vector<Node> children, uint32_t mode = 0755) {
    Node n = Meta(name, NodeType::kDir, mode);
    Tree t;
    t.nodes = std::move(children);
    n.subtree = SaveTree(std::move(t));
    return n;
  }
  Id Root(std::vector<Node> children) {
    Tree t;
    t.nodes = std::move(children);
    Id id = SaveTree(std::move(t));
    Flush();
    return id;
  }
  // The repository opened again through `backend` (a wrapper of backend_), its index loaded;
  // null, with the test failed, when that does not work.
  std::unique_ptr<Repository> OpenThrough(std::unique_ptr<Backend> backend) {
    auto repo = Repository::Open(std::move(backend), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    if (!repo.ok()) return nullptr;
    Status loaded = (*repo)->LoadIndex();
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    return loaded.ok() ? std::move(*repo) : nullptr;
  }
  RestoreOptions Options() {
    RestoreOptions o;
    o.target = target_;
    o.workers = 4;
    return o;
  }
  RestoreResult Restore(const Id& root, const RestoreOptions& o) {
    auto r = RestoreTree(*repo_, root, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : RestoreResult{};
  }

  MemoryBackend* backend_ = nullptr;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<BlobSaver> saver_;
  std::string tmp_, target_;
};

TEST_F(RestorerTest, RestoresNestedTreeBitExactWithMetadata) {
  // 20 MiB in blobs of different sizes, restored by several threads.
  std::vector<Bytes> big;
  size_t sizes[] = {1u << 20, (3u << 20) + 7, (5u << 20) - 3, 2u << 20, 777, (4u << 20) + 1};
  size_t total = 0;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    big.push_back(RandomBytes(sizes[i], static_cast<uint32_t>(i + 1)));
    total += sizes[i];
  }
  big.push_back(RandomBytes((20u << 20) - total, 99));
  Bytes small = RandomBytes(1000, 7);
  Node symlink = Meta("link", NodeType::kSymlink, 0777);
  symlink.link_target = "../nowhere/at all";
  Node fifo = Meta("pipe", NodeType::kFifo, 0620);
  Node socket = Meta("sock", NodeType::kSocket, 0755);
  Id root = Root({Dir("a",
                      {Dir("b", {File("small", {small}, 0640), File("empty", {}, 0600)}, 0555),
                       File("big", big, 0604), symlink, fifo, socket},
                      0711),
                  File("top", {small}, 04755)});

  RestoreOptions o = Options();
  o.verify = true;
  std::atomic<int> calls{0};
  std::atomic<bool> saw_final{false};
  testing::ProgressLog log;
  const auto caller = std::this_thread::get_id();
  o.progress_interval_ms = 1;
  o.progress = [&](const RestoreProgress& p) {
    log.Record(p);
    calls++;
    if (p.final) {
      saw_final = true;
      EXPECT_EQ(p.files_done, p.files_total);
      EXPECT_EQ(p.bytes_done, p.bytes_total);
    }
  };
  RestoreResult r = Restore(root, o);
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.files, 4u);
  EXPECT_EQ(r.dirs, 2u);
  EXPECT_EQ(r.other, 2u);
  EXPECT_EQ(r.bytes, (20u << 20) + 2000);
  EXPECT_EQ(r.verified_files, 4u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].path, "/a/sock");
  EXPECT_TRUE(saw_final);
  EXPECT_GE(calls.load(), 1);
  // The progress contract (util/phase_timer.h) and the phases in the order the restore runs.
  log.ExpectContract(caller, r.phases);
  EXPECT_EQ(testing::PhaseNames(r.phases),
            (std::vector<std::string>{"layout", "write", "verify", "metadata"}));

  EXPECT_FALSE(fs::exists(fs::symlink_status(target_ + "/a/sock")));

  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/a/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(fs::read_symlink(target_ + "/a/link"), "../nowhere/at all");
  EXPECT_EQ(st.st_mtim.tv_sec, kMtime / 1000000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, kMtime % 1000000000);
  ASSERT_EQ(::lstat((target_ + "/a/pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);

  struct Want {
    const char* path;
    uint32_t mode;
  } wants[] = {{"/a", 0711},         {"/a/b", 0555},   {"/a/b/small", 0640},
               {"/a/b/empty", 0600}, {"/a/big", 0604}, {"/top", 04755}};
  for (const auto& w : wants) {
    ASSERT_EQ(::lstat((target_ + w.path).c_str(), &st), 0) << w.path;
    EXPECT_EQ(st.st_mode & 07777, w.mode) << w.path;
    // Directories keep their mtime although entries were created in them afterwards.
    EXPECT_EQ(st.st_mtim.tv_sec, kMtime / 1000000000) << w.path;
    EXPECT_EQ(st.st_mtim.tv_nsec, kMtime % 1000000000) << w.path;
    EXPECT_EQ(st.st_atim.tv_sec, kAtime / 1000000000) << w.path;
    EXPECT_EQ(st.st_atim.tv_nsec, kAtime % 1000000000) << w.path;
    if (::geteuid() == 0) {
      EXPECT_EQ(st.st_uid, 1234u) << w.path;
      EXPECT_EQ(st.st_gid, 5678u) << w.path;
    }
  }

  // Content last: reading updates atimes (verification itself reads with O_NOATIME).
  EXPECT_EQ(ReadFile(target_ + "/a/big"), Concat(big));
  EXPECT_EQ(ReadFile(target_ + "/a/b/small"), small);
  EXPECT_EQ(ReadFile(target_ + "/top"), small);
  EXPECT_TRUE(ReadFile(target_ + "/a/b/empty").empty());

  // A second restore over the first replaces everything (overwrite) and stays exact.
  RestoreResult again = Restore(root, o);
  EXPECT_TRUE(again.errors.empty()) << Errors(again);
  EXPECT_EQ(again.files, 4u);
  EXPECT_EQ(ReadFile(target_ + "/a/big"), Concat(big));
}

TEST_F(RestorerTest, ZeroBlobsBecomeHoles) {
  Bytes head = RandomBytes(64 << 10, 3);
  Bytes zeros(4u << 20, 0);
  Bytes tail = RandomBytes(100, 4);
  // Over 16 MiB: written through to disk job by job, holes and all.
  Node f = File("sparse", {head, zeros, zeros, zeros, zeros, tail});
  f.sparse = true;
  Node trailing = File("trailing", {head, zeros});  // ends in a hole: ftruncate sets the size
  Node repeated = File("repeated", {tail, head, tail, head});  // the cache serves repeats
  Id root = Root({f, trailing, repeated});
  RestoreResult r = Restore(root, Options());
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(ReadFile(target_ + "/sparse"), Concat({head, zeros, zeros, zeros, zeros, tail}));
  EXPECT_EQ(ReadFile(target_ + "/trailing"), Concat({head, zeros}));
  EXPECT_EQ(ReadFile(target_ + "/repeated"), Concat({tail, head, tail, head}));
  struct stat st;
  ASSERT_EQ(::stat((target_ + "/sparse").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), f.size);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, f.size / 2) << "zero blobs should be holes";
  ASSERT_EQ(::stat((target_ + "/trailing").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), trailing.size);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, trailing.size / 2);
}

// Issue 11 item 11: chunks that are mostly zero but not all zero (a VM image, a database file)
// leave a hole wherever a whole file-system block is zero, and --verify reads without filling.
TEST_F(RestorerTest, ZeroBlocksInsideChunksBecomeHoles) {
  std::vector<Bytes> chunks;
  for (uint32_t i = 0; i < 12; ++i) {
    Bytes c((1u << 20) + 777 * i, 0);  // odd lengths: chunks do not start on block boundaries
    Bytes island = RandomBytes(5000, 20 + i);
    std::copy(island.begin(), island.end(), c.begin() + 300000);
    c[c.size() / 2] = 1;
    chunks.push_back(std::move(c));
  }
  chunks.push_back(Bytes(100000, 0));  // a trailing hole
  Node f = File("image", chunks);
  Id root = Root({f});
  RestoreOptions o = Options();
  o.verify = true;
  RestoreResult r = Restore(root, o);
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.verified_files, 1u);
  EXPECT_EQ(ReadFile(target_ + "/image"), Concat(chunks));
  struct stat st;
  ASSERT_EQ(::stat((target_ + "/image").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), f.size);
  // 12 chunks with at most 4 data blocks each, of 4 KiB (64 KiB blocks on some file systems).
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, 12u * 4 * 65536) << "dense restore";
  const blkcnt_t blocks = st.st_blocks;
  auto v = VerifyRestored(*repo_, root, Options());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->verified_files, 1u);
  ASSERT_EQ(::stat((target_ + "/image").c_str(), &st), 0);
  EXPECT_EQ(st.st_blocks, blocks) << "verification must not fill holes";
}

// Issue 11 item 10: one descriptor per level made a 150-level tree fail deep down under
// `ulimit -n 64`. With 11 descriptors to spare (`ulimit -n 16` for a process with 5 open) the
// restore and its verification must complete; directory metadata is applied at every level.
TEST_F(RestorerTest, DeepTreeWithFewDescriptors) {
  // Each level also holds a file hardlinked from the deepest directory: the link is made long
  // after its file was restored, from a directory that is no longer open.
  Bytes shared = RandomBytes(50, 2);
  auto hardlinked = [&](const std::string& name, int i) {
    Node n = File(name, {shared});
    n.links = 2;
    n.device = 1;
    n.inode = static_cast<uint64_t>(i);
    return n;
  };
  std::vector<Node> deepest_children = {File("f", {RandomBytes(3000, 1)})};
  for (int i = 1; i <= 149; ++i) deepest_children.push_back(hardlinked("h" + std::to_string(i), i));
  Node level = Dir("level150", deepest_children, 0750);
  for (int i = 149; i >= 1; --i) {
    Node file = File("f" + std::to_string(i), {RandomBytes(100, static_cast<uint32_t>(i))});
    level = Dir("level" + std::to_string(i), {hardlinked("a", i), level, file, Dir("side", {file})},
                0750);
  }
  Id root = Root({level});
  RestoreOptions o = Options();
  o.verify = true;
  auto r = RestoreWithFewDescriptors(*repo_, root, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(r->dirs, 150u + 149u);  // the levels and their side directories
  EXPECT_EQ(r->verified_files, 1u + 3 * 149u);
  std::string path = target_;
  for (int i = 1; i <= 150; ++i) {
    path += "/level" + std::to_string(i);
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << i;
    EXPECT_EQ(st.st_mode & 07777, 0750u) << i;
    EXPECT_EQ(st.st_mtim.tv_sec, kMtime / 1000000000) << i;
  }
  EXPECT_EQ(ReadFile(path + "/f").size(), 3000u);
  EXPECT_EQ(r->hardlinks, 149u);
  struct stat st;
  ASSERT_EQ(::stat((path + "/h77").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST_F(RestorerTest, ReopenedWindowFilesKeepMetadataAndLinksAndFailAlone) {
  // So few descriptors that no window file keeps its own (DescriptorBudget::window_fds is 0):
  // every file is created and closed by the walk, reopened below the target by the run that
  // writes it, completed (mode, times) through a reopened descriptor, linked from reopened
  // directories, and removed through a reopened directory when its content is damaged.
  auto linked = [](Node n, uint64_t inode) {
    n.links = 2;
    n.device = 9;
    n.inode = inode;
    return n;
  };
  const Bytes a_data = RandomBytes(700, 21), bad_data = RandomBytes(900, 22);
  Node a = linked(File("a", {a_data}, 0640), 1);
  Node bad = linked(File("bad", {bad_data}, 0640), 2);
  std::vector<Node> d1 = {a, bad};
  std::vector<Bytes> contents;
  for (uint32_t i = 0; i < 40; ++i) {
    contents.push_back(RandomBytes(300 + i, 300 + i));
    d1.push_back(File("x" + std::to_string(i), {contents.back()}, 0640));
  }
  Node a_link = a, bad_link = bad;
  a_link.name = "a-link";
  bad_link.name = "bad-link";
  Id root = Root({Dir("d1", d1), Dir("d2", {a_link, bad_link})});
  auto bad_loc = repo_->index().Find(BlobType::kData, bad.content[0]);
  ASSERT_TRUE(bad_loc);
  auto pack = backend_->Load({ObjectType::kPack, bad_loc->pack.Hex()}, 0, 0);
  ASSERT_TRUE(pack.ok());
  (*pack)[bad_loc->offset + 10] ^= 0x01;
  ASSERT_TRUE(backend_->ReplaceForTesting({ObjectType::kPack, bad_loc->pack.Hex()}, *pack).ok());

  auto r = RestoreWithFewDescriptors(*repo_, root, Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files, 41u);
  EXPECT_EQ(r->hardlinks, 1u);
  EXPECT_EQ(r->errors.size(), 2u) << Errors(*r);
  EXPECT_TRUE(HasError(*r, "/d1/bad", bad.content[0].Hex())) << Errors(*r);
  EXPECT_TRUE(HasError(*r, "/d2/bad-link", "its file /d1/bad failed")) << Errors(*r);
  EXPECT_FALSE(fs::exists(target_ + "/d1/bad"));
  EXPECT_FALSE(fs::exists(target_ + "/d2/bad-link"));
  struct stat sa, sl;
  ASSERT_EQ(::stat((target_ + "/d1/a").c_str(), &sa), 0);
  ASSERT_EQ(::stat((target_ + "/d2/a-link").c_str(), &sl), 0);
  EXPECT_EQ(sa.st_ino, sl.st_ino);
  EXPECT_EQ(sa.st_nlink, 2u);
  EXPECT_EQ(ReadFile(target_ + "/d2/a-link"), a_data);
  for (uint32_t i = 0; i < 40; ++i) {
    const std::string path = target_ + "/d1/x" + std::to_string(i);
    ASSERT_EQ(ReadFile(path), contents[i]) << path;
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u) << path;
    EXPECT_EQ(st.st_mtim.tv_sec, kMtime / 1000000000) << path;
    EXPECT_EQ(st.st_mtim.tv_nsec, kMtime % 1000000000) << path;
  }
}

// Before each read of a pack, calls `action` until it returns true (it did what it waited for).
class ActingBackend : public ForwardingBackend {
 public:
  ActingBackend(Backend* inner, std::function<bool()> action)
      : ForwardingBackend(inner), action_(std::move(action)) {}
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    if (h.type == ObjectType::kPack && !done_) done_ = action_();
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return LoadIntoThroughLoad(h, offset, length, out);
  }

 private:
  std::function<bool()> action_;
  std::atomic<bool> done_{false};
};

TEST_F(RestorerTest, AReopenedFileThatWasReplacedIsNeitherWrittenNorRemoved) {
  // A window's file without its own descriptor is reopened by path: if another file took its
  // place meanwhile (here a hardlink to a file outside the target, the classic way to make a
  // privileged restore write elsewhere), the restore must not write it, chmod it or remove it.
  std::vector<Node> files;
  for (uint32_t i = 0; i < 10; ++i)
    files.push_back(File("x" + std::to_string(i), {RandomBytes(400, 40 + i)}, 0640));
  Id root = Root({Dir("d", files)});
  const std::string outside = tmp_ + "/outside";
  const std::string text = "not the restore's";
  const Bytes marker(text.begin(), text.end());
  ASSERT_TRUE(WriteFileDurably(outside, marker, false).ok());
  ASSERT_EQ(::chmod(outside.c_str(), 0600), 0);
  const std::string victim = target_ + "/d/x3";
  // The trees are read first; the files' blobs only once the walk has created all ten (one
  // window): then the outside file takes x3's place.
  bool swapped = false;
  auto backend = std::make_unique<ActingBackend>(backend_, [&] {
    if (!fs::exists(target_ + "/d/x9")) return false;
    const std::string tmp = target_ + "/d/.swap";
    swapped =
        ::link(outside.c_str(), tmp.c_str()) == 0 && ::rename(tmp.c_str(), victim.c_str()) == 0;
    return true;
  });
  std::unique_ptr<Repository> repo = OpenThrough(std::move(backend));
  ASSERT_NE(repo, nullptr);
  auto r = RestoreWithFewDescriptors(*repo, root, Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(swapped) << std::strerror(errno);
  EXPECT_EQ(r->files, 9u);
  ASSERT_EQ(r->errors.size(), 1u) << Errors(*r);
  EXPECT_TRUE(HasError(*r, "/d/x3", "replaced")) << Errors(*r);
  EXPECT_TRUE(HasError(*r, "/d/x3", "another file took its place")) << Errors(*r);
  EXPECT_EQ(ReadFile(outside), marker);
  struct stat st;
  ASSERT_EQ(::stat(outside.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_nlink, 2u);  // the name in the target was left alone too
  for (uint32_t i = 0; i < 10; ++i) {
    if (i == 3) continue;
    EXPECT_EQ(ReadFile(target_ + "/d/x" + std::to_string(i)), RandomBytes(400, 40 + i)) << i;
  }
}

// Sets `cancel` once `after` pack reads have gone through after Arm() (as a Ctrl-C would).
class CancellingBackend : public ForwardingBackend {
 public:
  CancellingBackend(Backend* inner, std::atomic<bool>* cancel, int after)
      : ForwardingBackend(inner), cancel_(cancel), left_(after) {}
  void Arm() { armed_ = true; }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    if (armed_ && h.type == ObjectType::kPack && --left_ == 0) cancel_->store(true);
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return LoadIntoThroughLoad(h, offset, length, out);
  }

 private:
  std::atomic<bool>* cancel_;
  std::atomic<bool> armed_{false};
  std::atomic<int> left_;
};

// Issue 11 item 9: a restore ignored Ctrl-C until it was done. With the cancel flag set after a
// few blobs, it stops (Cancelled), keeps the files it completed, removes the one it was writing,
// and leaves the rest alone.
TEST_F(RestorerTest, CancelStopsPromptlyAndLeavesNoPartialFile) {
  std::vector<Node> files;
  std::vector<std::vector<Bytes>> contents;
  for (uint32_t i = 0; i < 30; ++i) {
    std::vector<Bytes> chunks;
    for (uint32_t k = 0; k < 8; ++k) chunks.push_back(RandomBytes(64 << 10, 1000 * i + k));
    files.push_back(File("file" + std::to_string(i), chunks));
    contents.push_back(std::move(chunks));
  }
  Id root = Root({Dir("d", files)});
  std::atomic<bool> cancel{false};
  // Small files are restored a window at a time, its blobs in runs of up to 4 MiB of a pack, one
  // read each (8 of these files): cancelled at the second read.
  auto backend = std::make_unique<CancellingBackend>(backend_, &cancel, 2);
  CancellingBackend* cancelling = backend.get();
  std::unique_ptr<Repository> repo = OpenThrough(std::move(backend));
  ASSERT_NE(repo, nullptr);
  cancelling->Arm();
  RestoreOptions o = Options();
  o.workers = 2;
  o.verify = true;
  o.context = Context().WithCancel(&cancel);
  auto r = RestoreTree(*repo, root, o);
  ASSERT_FALSE(r.ok()) << "a cancelled restore must not look complete";
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_NE(r.status().message().find("interrupted"), std::string::npos);
  int complete = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string path = target_ + "/d/" + files[i].name;
    if (!fs::exists(path)) continue;
    EXPECT_EQ(ReadFile(path), Concat(contents[i])) << path << " is incomplete";
    complete++;
  }
  EXPECT_LT(complete, 30) << "the restore went on after the cancel";
  EXPECT_LE(complete, 16) << "two reads hold at most two runs of 8 files";
}

// Issue 11 item 5: restored by a user who cannot give files their owner, setuid/setgid files
// would belong to that user with the bits on. They are dropped (as GNU tar does) and one warning
// says how many; a file that the restoring user owns in the snapshot keeps them. Run as root,
// the test restores with the effective ids of nobody (65534), in this process.
TEST_F(RestorerTest, SetidBitsDroppedWhenOwnerCannotBeRestored) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to restore as another user (65534)";
  Bytes data = RandomBytes(100, 3);
  Node suid = File("suid", {data}, 04755);  // uid 1234: cannot be given as nobody
  Node sgid = File("sgid", {data}, 02750);
  Node own = File("own", {data}, 06755);  // nobody's own file: keeps its bits
  own.uid = 65534;
  own.gid = 65534;
  Node plain = File("plain", {data}, 0644);
  Id root = Root({Dir("d", {suid, sgid, own, plain}, 02775)});
  ASSERT_EQ(::chmod(tmp_.c_str(), 0777), 0);
  ASSERT_EQ(::setegid(65534), 0);
  ASSERT_EQ(::seteuid(65534), 0);
  auto r = RestoreTree(*repo_, root, Options());
  ASSERT_EQ(::seteuid(0), 0);
  ASSERT_EQ(::setegid(0), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(r->setid_dropped, 2u);
  int mentions = 0;
  for (const auto& w : r->warnings)
    if (w.message.find("setuid/setgid bits dropped from 2 file(s)") != std::string::npos)
      mentions++;
  EXPECT_EQ(mentions, 1) << "one warning for all files";
  struct Want {
    const char* path;
    uint32_t mode;
  } wants[] = {{"/d/suid", 0755}, {"/d/sgid", 0750}, {"/d/own", 06755}, {"/d/plain", 0644},
               {"/d", 02775}};
  for (const auto& w : wants) {
    struct stat st;
    ASSERT_EQ(::lstat((target_ + w.path).c_str(), &st), 0) << w.path;
    EXPECT_EQ(st.st_uid, 65534u) << w.path;
    EXPECT_EQ(st.st_mode & 07777, w.mode) << w.path;
  }
  // As root the owner is restored, and so are the bits.
  RestoreResult again = Restore(root, Options());
  EXPECT_EQ(again.setid_dropped, 0u);
  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/d/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
}

TEST_F(RestorerTest, HardlinksBecomeOneInode) {
  Bytes data = RandomBytes(5000, 11);
  Node a = File("a", {data});
  a.links = 2;
  a.device = 42;
  a.inode = 7;
  Node b = a;
  b.name = "b";
  Node unrelated = File("c", {data});  // same content, other inode: its own file
  unrelated.links = 2;
  unrelated.device = 42;
  unrelated.inode = 8;
  Id root = Root({a, Dir("sub", {b}), unrelated});
  RestoreResult r = Restore(root, Options());
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.hardlinks, 1u);
  struct stat sa, sb, sc;
  ASSERT_EQ(::stat((target_ + "/a").c_str(), &sa), 0);
  ASSERT_EQ(::stat((target_ + "/sub/b").c_str(), &sb), 0);
  ASSERT_EQ(::stat((target_ + "/c").c_str(), &sc), 0);
  EXPECT_EQ(sa.st_ino, sb.st_ino);
  EXPECT_EQ(sa.st_nlink, 2u);
  EXPECT_NE(sa.st_ino, sc.st_ino);
  EXPECT_EQ(ReadFile(target_ + "/sub/b"), data);
}

TEST_F(RestorerTest, ExtendedAttributes) {
  // Does this file system take user xattrs at all?
  std::string probe = tmp_ + "/probe";
  ASSERT_TRUE(WriteFileDurably(probe, AsBytes("x"), true).ok());
  if (::setxattr(probe.c_str(), "user.probe", "1", 1, 0) != 0)
    GTEST_SKIP() << "file system refuses user xattrs: " << std::strerror(errno);

  Node f = File("f", {RandomBytes(10, 1)});
  f.xattrs = {
      {"trusted.lifeboat", "t"}, {"user.empty", ""}, {"user.lifeboat", std::string("v\0al", 4)}};
  Node d = Dir("d", {});
  d.xattrs = {{"user.dir", "yes"}};
  Id root = Root({f, d});
  RestoreResult r = Restore(root, Options());
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  char buf[64];
  ssize_t n = ::lgetxattr((target_ + "/f").c_str(), "user.lifeboat", buf, sizeof buf);
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::string(buf, 4), std::string("v\0al", 4));
  EXPECT_EQ(::lgetxattr((target_ + "/f").c_str(), "user.empty", buf, sizeof buf), 0);
  n = ::lgetxattr((target_ + "/d").c_str(), "user.dir", buf, sizeof buf);
  ASSERT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, 3), "yes");
  // trusted.* needs root: without it, a warning rather than an error.
  if (::geteuid() == 0) {
    EXPECT_TRUE(r.warnings.empty());
    EXPECT_EQ(::lgetxattr((target_ + "/f").c_str(), "trusted.lifeboat", buf, sizeof buf), 1);
  } else {
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].path, "/f");
    EXPECT_NE(r.warnings[0].message.find("trusted.lifeboat"), std::string::npos);
  }
}

class FilterTest : public RestorerTest {
 protected:
  void SetUp() override {
    RestorerTest::SetUp();
    if (HasFatalFailure()) return;
    root_ = Root({Dir("srv", {Dir("data", {File("a.conf", {RandomBytes(10, 1)}),
                                           File("b.txt", {RandomBytes(10, 2)}),
                                           Dir("sub", {File("c.conf", {RandomBytes(10, 3)}),
                                                       File("d.txt", {RandomBytes(10, 4)})})})}),
                  Dir("etc", {File("x", {RandomBytes(10, 5)})})});
  }
  std::vector<std::string> Listing() {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(target_))
      out.push_back(e.path().string().substr(target_.size()));
    std::sort(out.begin(), out.end());
    return out;
  }
  Id root_;
};

TEST_F(FilterTest, IncludeFilesCreatesOnlyTheirParents) {
  RestoreOptions o = Options();
  o.includes = {"/srv/data/*.conf"};
  RestoreResult r = Restore(root_, o);
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"/srv", "/srv/data", "/srv/data/a.conf"}));
  EXPECT_EQ(r.files, 1u);
  EXPECT_EQ(r.dirs, 2u);
}

TEST_F(FilterTest, IncludedDirectoryBringsItsSubtreeMinusExcludes) {
  RestoreOptions o = Options();
  o.includes = {"/srv/data/sub", "/etc"};
  o.excludes = {"*.txt"};
  Restore(root_, o);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"/etc", "/etc/x", "/srv", "/srv/data",
                                                 "/srv/data/sub", "/srv/data/sub/c.conf"}));
}

TEST_F(FilterTest, ExcludedDirectorySkipsItsSubtree) {
  RestoreOptions o = Options();
  o.excludes = {"/srv/data/sub", "etc"};
  Restore(root_, o);
  EXPECT_EQ(Listing(),
            (std::vector<std::string>{"/srv", "/srv/data", "/srv/data/a.conf", "/srv/data/b.txt"}));
}

TEST_F(FilterTest, SubtreeRestoresThatDirectorysContents) {
  RestoreOptions o = Options();
  o.subtree = "/srv/data";
  o.excludes = {"/srv/data/sub/d.txt"};  // patterns still see full snapshot paths
  Restore(root_, o);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"/a.conf", "/b.txt", "/sub", "/sub/c.conf"}));

  fs::remove_all(target_);
  o.subtree = "/srv/data/sub/c.conf";
  o.excludes.clear();
  Restore(root_, o);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"/c.conf"}));

  o.subtree = "/srv/nope";
  auto r = RestoreTree(*repo_, root_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
}

TEST_F(FilterTest, DryRunWritesNothing) {
  RestoreOptions o = Options();
  o.dry_run = true;
  RestoreResult r = Restore(root_, o);
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_EQ(r.files, 5u);
  EXPECT_EQ(r.dirs, 4u);
  EXPECT_EQ(r.bytes, 50u);
  EXPECT_FALSE(fs::exists(target_));
}

TEST_F(RestorerTest, DamagedBlobFailsOnlyItsFile) {
  Bytes good = RandomBytes(3000, 1);
  Bytes bad = RandomBytes(200000, 2);
  Bytes gone = RandomBytes(100, 3);
  Node ok1 = File("ok1", {good});
  Node ok2 = File("ok2", {RandomBytes(100, 4)});
  Flush();
  // "corrupt" and "deleted" each get a pack of their own.
  Node corrupt = File("corrupt", {good, bad});
  Flush();
  Node deleted = File("deleted", {gone});
  Flush();
  Node unknown = Meta("unknown", NodeType::kFile, 0644);
  Id never_saved = repo_->codec().ComputeId(AsBytes("never saved"));
  unknown.content = {never_saved};
  unknown.size = 11;
  Id root = Root({ok1, Dir("d", {ok2, corrupt, deleted}), unknown});

  auto bad_loc = repo_->index().Find(BlobType::kData, corrupt.content[1]);
  ASSERT_TRUE(bad_loc);
  auto pack = backend_->Load({ObjectType::kPack, bad_loc->pack.Hex()}, 0, 0);
  ASSERT_TRUE(pack.ok());
  (*pack)[bad_loc->offset + bad_loc->stored_length / 2] ^= 0x40;
  ASSERT_TRUE(backend_->ReplaceForTesting({ObjectType::kPack, bad_loc->pack.Hex()}, *pack).ok());
  auto gone_loc = repo_->index().Find(BlobType::kData, deleted.content[0]);
  ASSERT_TRUE(gone_loc);
  ASSERT_NE(gone_loc->pack, bad_loc->pack);
  ASSERT_TRUE(backend_->Remove({ObjectType::kPack, gone_loc->pack.Hex()}).ok());

  RestoreResult r = Restore(root, Options());
  EXPECT_EQ(r.errors.size(), 3u) << Errors(r);
  EXPECT_TRUE(HasError(r, "/d/corrupt", corrupt.content[1].Hex())) << Errors(r);
  EXPECT_TRUE(HasError(r, "/d/deleted", deleted.content[0].Hex())) << Errors(r);
  EXPECT_TRUE(HasError(r, "/unknown", never_saved.Hex())) << Errors(r);
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(ReadFile(target_ + "/ok1"), good);
  EXPECT_EQ(ReadFile(target_ + "/d/ok2").size(), 100u);
  EXPECT_FALSE(fs::exists(target_ + "/d/corrupt"));
  EXPECT_FALSE(fs::exists(target_ + "/d/deleted"));
  EXPECT_FALSE(fs::exists(target_ + "/unknown"));

  // A dry run sees the blob missing from the index, but cannot know about the damaged packs.
  RestoreOptions o = Options();
  o.dry_run = true;
  RestoreResult dry = Restore(root, o);
  EXPECT_EQ(dry.errors.size(), 1u) << Errors(dry);
  EXPECT_TRUE(HasError(dry, "/unknown", never_saved.Hex()));
}

// A remote site pays per request: the blobs of many small files that lie side by side in a pack
// come with one read per batch of files, not one per blob. A damaged blob among them fails its
// own file only, and every other file is still bit-exact.
TEST_F(RestorerTest, SmallFilesShareReadsAndDamageStaysWithItsFile) {
  std::vector<Node> files;
  std::vector<Bytes> contents;
  for (uint32_t i = 0; i < 300; ++i) {
    contents.push_back(RandomBytes(20000 + i, 7000 + i));
    files.push_back(File("f" + std::to_string(i), {contents.back()}));
  }
  Id root = Root({Dir("d", files)});
  auto bad_loc = repo_->index().Find(BlobType::kData, files[150].content[0]);
  ASSERT_TRUE(bad_loc);
  auto pack = backend_->Load({ObjectType::kPack, bad_loc->pack.Hex()}, 0, 0);
  ASSERT_TRUE(pack.ok());
  (*pack)[bad_loc->offset + 10] ^= 0x01;
  ASSERT_TRUE(backend_->ReplaceForTesting({ObjectType::kPack, bad_loc->pack.Hex()}, *pack).ok());

  auto backend = std::make_unique<CountingBackend>(backend_);
  CountingBackend* counting = backend.get();
  std::unique_ptr<Repository> repo = OpenThrough(std::move(backend));
  ASSERT_NE(repo, nullptr);
  counting->pack_reads = 0;
  auto r = RestoreTree(*repo, root, Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files, 299u);
  ASSERT_EQ(r->errors.size(), 1u) << Errors(*r);
  EXPECT_TRUE(HasError(*r, "/d/f150", files[150].content[0].Hex())) << Errors(*r);
  EXPECT_FALSE(fs::exists(target_ + "/d/f150"));
  for (size_t i = 0; i < files.size(); ++i) {
    if (i == 150) continue;
    ASSERT_EQ(ReadFile(target_ + "/d/" + files[i].name), contents[i]) << files[i].name;
  }
  // The two trees, then 6 MiB of files in one window: two runs of up to 4 MiB, one read each,
  // and the damaged blob read twice alone (damage in transit or at rest?). One read per blob
  // would be 300.
  EXPECT_LE(counting->pack_reads.load(), 6);
}

TEST_F(RestorerTest, SmallFilesReadEachPackAboutOnceThoughItsBlobsAreShuffled) {
  // 18,000 files of about 200 random bytes in packs of 1 MiB: about 5,000 files a pack, in
  // shuffled order (repository format, section 6), so every window of files that needs some of
  // a pack reads the whole of it. Windows of at most 4,096 files read each pack two or three
  // times; a window spanning many packs reads each once. A memory backend has no local reads
  // (BackendHints::local_reads), as a remote site: the first window is small (kFirstWindowFiles),
  // the second takes the rest, so the pack the first window needed is read twice and the others
  // once.
  {
    auto backend = std::make_unique<MemoryBackend>();
    backend_ = backend.get();
    InitOptions io;
    io.pack_size = 1u << 20;
    auto made = Repository::Init(std::move(backend), "pw", io);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    repo_ = std::move(*made);
    saver_ = std::make_unique<BlobSaver>(*repo_, BlobSaverOptions{});
  }
  std::vector<Node> dirs;
  std::vector<Bytes> contents;
  for (uint32_t d = 0; d < 36; ++d) {
    std::vector<Node> files;
    for (uint32_t i = 0; i < 500; ++i) {
      const uint32_t n = d * 500 + i;
      contents.push_back(RandomBytes(150 + n % 100, 90000 + n));
      files.push_back(File("f" + std::to_string(i), {contents.back()}));
    }
    // d00 ... d35: the walk (by name) meets the files in the order they were saved.
    dirs.push_back(Dir((d < 10 ? "d0" : "d") + std::to_string(d), std::move(files)));
  }
  Id root = Root(std::move(dirs));
  uint64_t pack_bytes = 0;  // trees' and data packs
  size_t packs = 0;
  ASSERT_TRUE(backend_
                  ->List(ObjectType::kPack, "",
                         [&](const ObjectInfo& info) {
                           pack_bytes += info.size;
                           packs++;
                           return Status::Ok();
                         })
                  .ok());
  ASSERT_GE(packs, 4u);

  auto backend = std::make_unique<CountingBackend>(backend_);
  CountingBackend* counting = backend.get();
  std::unique_ptr<Repository> repo = OpenThrough(std::move(backend));
  ASSERT_NE(repo, nullptr);
  counting->pack_bytes = 0;
  auto r = RestoreTree(*repo, root, Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(r->files, 18000u);
  for (uint32_t n = 0; n < 18000; n += 997) {
    const uint32_t d = n / 500;
    ASSERT_EQ(ReadFile(target_ + (d < 10 ? "/d0" : "/d") + std::to_string(d) + "/f" +
                       std::to_string(n % 500)),
              contents[n])
        << n;
  }
  // Every pack once (the trees' packs too), and one data pack (about 1 MiB) twice.
  EXPECT_LE(counting->pack_bytes.load(), pack_bytes + (5u << 18))
      << packs << " packs of " << pack_bytes << " bytes in all";
}

TEST_F(RestorerTest, NeverWritesThroughSymlinks) {
  std::string outside = tmp_ + "/outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  Node evil_link = Meta("a", NodeType::kSymlink, 0777);
  evil_link.link_target = outside;
  Id first = Root({evil_link});
  const Bytes owned = {'o', 'w', 'n', 'e', 'd'};
  Id second = Root({Dir("a", {File("passwd", {owned})})});

  RestoreResult r1 = Restore(first, Options());
  EXPECT_TRUE(r1.errors.empty()) << Errors(r1);
  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/a").c_str(), &st), 0);
  ASSERT_TRUE(S_ISLNK(st.st_mode));

  // Without overwrite the symlink stays and nothing is written below it.
  RestoreOptions keep = Options();
  keep.overwrite = false;
  RestoreResult r2 = Restore(second, keep);
  EXPECT_EQ(r2.skipped, 1u);
  EXPECT_TRUE(fs::is_empty(outside));
  ASSERT_EQ(::lstat((target_ + "/a").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));

  // With overwrite the symlink is replaced by the directory; still nothing outside.
  RestoreResult r3 = Restore(second, Options());
  EXPECT_TRUE(r3.errors.empty()) << Errors(r3);
  EXPECT_TRUE(fs::is_empty(outside));
  ASSERT_EQ(::lstat((target_ + "/a").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(ReadFile(target_ + "/a/passwd"), (Bytes{'o', 'w', 'n', 'e', 'd'}));

  // A file restored over an existing symlink replaces the link, not the link's target.
  std::string victim = outside + "/victim";
  ASSERT_TRUE(WriteFileDurably(victim, AsBytes("keep"), true).ok());
  ASSERT_EQ(::unlink((target_ + "/a/passwd").c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), (target_ + "/a/passwd").c_str()), 0);
  RestoreResult r4 = Restore(second, Options());
  EXPECT_TRUE(r4.errors.empty()) << Errors(r4);
  EXPECT_EQ(ReadFile(victim), (Bytes{'k', 'e', 'e', 'p'}));
  ASSERT_EQ(::lstat((target_ + "/a/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(RestorerTest, VerifyDetectsChangedFiles) {
  Bytes data = RandomBytes(300000, 5);
  Node link = Meta("l", NodeType::kSymlink, 0777);
  link.link_target = "f";
  Id root = Root({File("f", {data, RandomBytes(1000, 6)}), File("g", {data}), link});
  RestoreResult r = Restore(root, Options());
  ASSERT_TRUE(r.errors.empty()) << Errors(r);

  auto v = VerifyRestored(*repo_, root, Options());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->errors.empty()) << Errors(*v);
  EXPECT_EQ(v->verified_files, 2u);

  {
    FileDescriptor fd(::open((target_ + "/f").c_str(), O_WRONLY));
    ASSERT_TRUE(fd.valid());
    ASSERT_TRUE(PWriteAll(fd.get(), AsBytes("X"), 1234, "f").ok());
  }
  ASSERT_EQ(::truncate((target_ + "/g").c_str(), 10), 0);
  ASSERT_EQ(::unlink((target_ + "/l").c_str()), 0);
  ASSERT_EQ(::symlink("elsewhere", (target_ + "/l").c_str()), 0);
  v = VerifyRestored(*repo_, root, Options());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->verified_files, 0u);
  EXPECT_EQ(v->errors.size(), 3u) << Errors(*v);
  EXPECT_TRUE(HasError(*v, "/f", "differs"));
  EXPECT_TRUE(HasError(*v, "/g", "size"));
  EXPECT_TRUE(HasError(*v, "/l", "elsewhere"));

  RestoreOptions missing = Options();
  missing.target = tmp_ + "/does-not-exist";
  EXPECT_FALSE(VerifyRestored(*repo_, root, missing).ok());
}

TEST_F(RestorerTest, DevicesNeedRoot) {
  Node dev = Meta("null", NodeType::kCharDevice, 0666);
  dev.rdev = makedev(1, 3);
  Id root = Root({dev});
  RestoreResult r = Restore(root, Options());
  if (::geteuid() != 0) {
    EXPECT_TRUE(HasError(r, "/null", "root")) << Errors(r);
    return;
  }
  // Root in a container may still lack CAP_MKNOD; then the node is an error, not a crash.
  struct stat st;
  if (!r.errors.empty()) {
    EXPECT_TRUE(HasError(r, "/null", "not restored")) << Errors(r);
    EXPECT_NE(::lstat((target_ + "/null").c_str(), &st), 0);
    return;
  }
  ASSERT_EQ(::lstat((target_ + "/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(r.other, 1u);
}

TEST_F(RestorerTest, MissingRootTreeStopsEverything) {
  Id bogus = repo_->codec().ComputeId(AsBytes("no such tree"));
  auto r = RestoreTree(*repo_, bogus, Options());
  EXPECT_FALSE(r.ok());
  RestoreOptions o = Options();
  o.includes = {""};
  Id root = Root({});
  EXPECT_EQ(RestoreTree(*repo_, root, o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat
