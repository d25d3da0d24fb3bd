// Tests of the backend module: the conformance suite (src/backend/conformance) over every
// in-process backend, then the LocalBackend layout, ForwardingBackend, AppendOnlyBackend, RetryBackend, FaultInjectingBackend
// and OpenBackend specifics.
#include "backend/backend.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "backend/append_only_backend.h"
#include "backend/conformance/backend_conformance.h"
#include "backend/fault_backend.h"
#include "backend/forwarding_backend.h"
#include "backend/local_backend.h"
#include "backend/memory_backend.h"
#include "backend/open_backend.h"
#include "backend/retry_backend.h"
#include "util/file_io.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A fresh directory under /tmp, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lb-backend-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Bytes Pattern(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// 64 hex characters; the first characters are `prefix`, the rest derived from i.
std::string Id(int i, std::string_view prefix = "") {
  std::string hex = HexEncode(Pattern(32, 1000 + static_cast<uint64_t>(i)));
  return std::string(prefix) + hex.substr(prefix.size());
}

ObjectHandle Pack(const std::string& name) { return {ObjectType::kPack, name}; }

std::set<std::string> ListNames(Backend& be, ObjectType type, std::string_view prefix = "") {
  std::set<std::string> names;
  Status st = be.List(type, prefix, [&](const ObjectInfo& info) {
    EXPECT_TRUE(names.insert(info.name).second) << "listed twice: " << info.name;
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return names;
}

// ---------------------------------------------------------------------------------------------
// Conformance suite (src/backend/conformance) over the in-process backends and decorators.

// Backoff that takes no real time: every wait moves this clock instead.
ManualClock& NoSleepClock() {
  static ManualClock clock;
  return clock;
}

RetryOptions NoSleepRetry(int attempts) {
  RetryOptions o;
  o.max_attempts = attempts;
  o.context = Context().WithClock(NoSleepClock());
  o.seed = 5;
  return o;
}

FaultOptions TransientFaults(uint64_t seed) {
  FaultOptions f;
  f.seed = seed;
  f.transient_probability = 0.2;
  f.lost_ack_probability = 0.15;
  return f;
}

// A LocalBackend in a fresh temp dir (kept alive by the instance). Its interrupted saves leave
// "<name>.tmp-<random>" files beside the object's path, as WriteFileDurably does.
ConformanceInstance MakeLocal() {
  auto dir = std::make_shared<TempDir>();
  auto local = LocalBackend::Create(dir->path() + "/repo");
  if (!local.ok()) std::abort();
  LocalBackend* raw = local->get();
  ConformanceInstance b{std::move(local).value(), dir};
  b.leave_interrupted_save = [raw](const ObjectHandle& h) {
    return WriteFileDurably(raw->PathOf(h) + ".tmp-0123456789abcdef", AsBytes("partial"),
                            false);
  };
  return b;
}

std::vector<ConformanceBackend> AllBackends() {
  return {
      {"Local", MakeLocal},
      {"Memory", [] { return ConformanceInstance{std::make_unique<MemoryBackend>(), nullptr}; }},
      {"ForwardingOverMemory",
       [] {
         return ConformanceInstance{
             std::make_unique<ForwardingBackend>(std::make_unique<MemoryBackend>()), nullptr};
       }},
      {"RetryOverMemory",
       [] {
         return ConformanceInstance{
             std::make_unique<RetryBackend>(std::make_unique<MemoryBackend>(), NoSleepRetry(3)),
             nullptr};
       }},
      {"RetryOverFaultyMemory",
       [] {
         auto faulty = std::make_unique<FaultInjectingBackend>(std::make_unique<MemoryBackend>(),
                                                               TransientFaults(11));
         return ConformanceInstance{
             std::make_unique<RetryBackend>(std::move(faulty), NoSleepRetry(40)), nullptr};
       },
       /*faulty=*/true},
      {"RetryOverFaultyLocal",
       [] {
         ConformanceInstance b = MakeLocal();
         auto faulty =
             std::make_unique<FaultInjectingBackend>(std::move(b.backend), TransientFaults(12));
         b.backend = std::make_unique<RetryBackend>(std::move(faulty), NoSleepRetry(40));
         return b;
       },
       /*faulty=*/true},
  };
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendConformanceTest, ::testing::ValuesIn(AllBackends()),
                         ConformanceTestName);

// ---------------------------------------------------------------------------------------------
// LocalBackend specifics.

TEST(LocalBackendTest, NamesThatCouldEscapeWriteNothingOutsideTheRepository) {
  TempDir tmp;
  auto created = LocalBackend::Create(tmp.path() + "/repo");
  ASSERT_TRUE(created.ok());
  const std::string bad[] = {
      "", ".", "..", "../x", "a/b", "/etc", "..abcd", "abc.tmp-1", std::string("ab\0cd", 5)};
  for (ObjectType type : {ObjectType::kKey, ObjectType::kPack, ObjectType::kSnapshot}) {
    for (const std::string& name : bad) {
      EXPECT_EQ((*created)->Save({type, name}, AsBytes("x")).code(), StatusCode::kInvalidArgument)
          << name;
    }
  }
  // The only thing in the temp dir is the repository.
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(tmp.path())) entries.push_back(e.path().filename());
  EXPECT_EQ(entries, std::vector<std::string>{"repo"});
}

TEST(LocalBackendTest, CreateMakesTheWholeLayout) {
  TempDir tmp;
  std::string root = tmp.path() + "/nested/repo";
  auto be = LocalBackend::Create(root + "/");
  ASSERT_TRUE(be.ok()) << be.status().ToString();
  EXPECT_EQ((*be)->Location(), "local:" + root);
  for (const char* dir : {"keys", "data", "index", "snapshots", "locks", "runs"}) {
    EXPECT_TRUE(fs::is_directory(root + "/" + dir)) << dir;
  }
  int subdirs = 0;
  for (const auto& e : fs::directory_iterator(root + "/data")) {
    EXPECT_TRUE(e.is_directory());
    EXPECT_EQ(e.path().filename().string().size(), 2u);
    ++subdirs;
  }
  EXPECT_EQ(subdirs, 256);
  EXPECT_TRUE(fs::is_directory(root + "/data/00"));
  EXPECT_TRUE(fs::is_directory(root + "/data/ff"));
  EXPECT_FALSE(fs::exists(root + "/config"));
}

TEST(LocalBackendTest, CreateRefusesAnExistingRepositoryButResumesAPartialOne) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  ASSERT_TRUE(LocalBackend::Create(root).ok());
  ASSERT_TRUE(LocalBackend::Create(root).ok()) << "no config yet: an interrupted init resumes";
  {
    auto be = LocalBackend::Open(root);
    EXPECT_EQ(be.status().code(), StatusCode::kNoRepository);
  }
  auto be = LocalBackend::Create(root);
  ASSERT_TRUE(be.ok());
  ASSERT_TRUE((*be)->Save({ObjectType::kConfig, ""}, AsBytes("config")).ok());
  auto again = LocalBackend::Create(root);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(LocalBackend::Open(root).ok());
}

TEST(LocalBackendTest, CreateFailsWhenAPathComponentIsAFile) {
  TempDir tmp;
  ASSERT_TRUE(WriteFileDurably(tmp.path() + "/file", AsBytes("x"), false).ok());
  EXPECT_FALSE(LocalBackend::Create(tmp.path() + "/file/repo").ok());
  std::string root = tmp.path() + "/repo";
  ASSERT_TRUE(WriteFileDurably(root + "/keys", AsBytes("x"), false).ok());
  EXPECT_EQ(LocalBackend::Create(root).status().code(), StatusCode::kFailedPrecondition);
}

TEST(LocalBackendTest, OpenWithoutRepositoryIsNoRepositoryWithAHint) {
  TempDir tmp;
  for (const std::string& root : {tmp.path() + "/missing", tmp.path()}) {
    auto be = LocalBackend::Open(root);
    ASSERT_EQ(be.status().code(), StatusCode::kNoRepository) << be.status().ToString();
    EXPECT_EQ(be.status().message(),
              root + " is not a Lifeboat repository (no config); run `lifeboat init` first");
  }
  EXPECT_EQ(LocalBackend::Open("").status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalBackendTest, ObjectsLandAtDocumentedPaths) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  auto created = LocalBackend::Create(root);
  ASSERT_TRUE(created.ok());
  LocalBackend& be = **created;
  const std::string id = Id(1, "3f");
  struct Case {
    ObjectType type;
    std::string path;
  } cases[] = {{ObjectType::kConfig, root + "/config"},
               {ObjectType::kKey, root + "/keys/" + id},
               {ObjectType::kPack, root + "/data/3f/" + id},
               {ObjectType::kIndex, root + "/index/" + id},
               {ObjectType::kSnapshot, root + "/snapshots/" + id},
               {ObjectType::kLock, root + "/locks/" + id}};
  for (const Case& c : cases) {
    ObjectHandle h{c.type, id};
    EXPECT_EQ(be.PathOf(h), c.path);
    ASSERT_TRUE(be.Save(h, AsBytes(c.path)).ok());
    Result<Bytes> on_disk = ReadWholeFile(c.path);
    ASSERT_TRUE(on_disk.ok()) << c.path;
    EXPECT_EQ(AsString(*on_disk), c.path);
  }
  // No temporary files are left behind.
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
  // Reopening sees the same objects.
  auto reopened = LocalBackend::Open(root);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(ListNames(**reopened, ObjectType::kPack), std::set<std::string>{id});
}

TEST(LocalBackendTest, ListSkipsTemporaryAndForeignEntries) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  auto created = LocalBackend::Create(root);
  ASSERT_TRUE(created.ok());
  LocalBackend& be = **created;
  const std::string id = Id(1, "ab");
  ASSERT_TRUE(be.Save(Pack(id), AsBytes("pack")).ok());
  ASSERT_TRUE(be.Save({ObjectType::kKey, Id(2)}, AsBytes("key")).ok());
  // Leftovers of interrupted writes and foreign files, written without the backend.
  for (const std::string& path :
       {root + "/data/ab/" + id + ".tmp-0123456789abcdef", root + "/data/ab/.hidden",
        root + "/data/ab/cd" + id.substr(2), root + "/data/stray-file",
        root + "/keys/" + Id(3) + ".tmp-00", root + "/keys/.DS_Store"}) {
    ASSERT_TRUE(WriteFileDurably(path, AsBytes("junk"), false).ok()) << path;
  }
  ASSERT_TRUE(CreateDirectories(root + "/keys/" + Id(4)).ok());  // a directory, not an object
  ASSERT_TRUE(CreateDirectories(root + "/data/zz").ok());        // an empty foreign fan-out dir
  EXPECT_EQ(ListNames(be, ObjectType::kPack), std::set<std::string>{id});
  EXPECT_EQ(ListNames(be, ObjectType::kPack, "ab"), std::set<std::string>{id});
  EXPECT_TRUE(ListNames(be, ObjectType::kPack, "cd").empty());  // misplaced file is not loadable
  EXPECT_EQ(ListNames(be, ObjectType::kKey), std::set<std::string>{Id(2)});
}

TEST(LocalBackendTest, ListOfMissingTypeDirectoryIsEmpty) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  auto created = LocalBackend::Create(root);
  ASSERT_TRUE(created.ok());
  fs::remove_all(root + "/locks");
  fs::remove_all(root + "/data");
  EXPECT_TRUE(ListNames(**created, ObjectType::kLock).empty());
  EXPECT_TRUE(ListNames(**created, ObjectType::kPack).empty());
  EXPECT_TRUE(ListNames(**created, ObjectType::kPack, "ab").empty());
  // Saving recreates what is missing.
  ASSERT_TRUE((*created)->Save({ObjectType::kLock, Id(1)}, AsBytes("l")).ok());
  ASSERT_TRUE((*created)->Save(Pack(Id(2)), AsBytes("p")).ok());
  EXPECT_EQ(ListNames(**created, ObjectType::kPack).size(), 1u);
}

TEST(LocalBackendTest, TruncatedFileIsCorruptionNamingTheObject) {
  TempDir tmp;
  auto created = LocalBackend::Create(tmp.path() + "/repo");
  ASSERT_TRUE(created.ok());
  LocalBackend& be = **created;
  const std::string id = Id(8);
  ASSERT_TRUE(be.Save(Pack(id), Pattern(1000, 1)).ok());
  ASSERT_EQ(::truncate(be.PathOf(Pack(id)).c_str(), 500), 0);
  Result<Bytes> r = be.Load(Pack(id), 400, 200);
  ASSERT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("pack " + id), std::string::npos);
  EXPECT_EQ(be.Load(Pack(id), 400, 100)->size(), 100u);
}

TEST(LocalBackendTest, ListsManyPacksQuickly) {
  // Creates the files directly (no fsync) to keep the test fast; lists them back.
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  auto created = LocalBackend::Create(root);
  ASSERT_TRUE(created.ok());
  constexpr int kPacks = 20000;
  std::set<std::string> want, want_ab;
  for (int i = 0; i < kPacks; ++i) {
    std::string name = Id(i);
    std::string path = (*created)->PathOf(Pack(name));
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr) << path;
    std::fputs("x", f);
    std::fclose(f);
    want.insert(name);
    if (name.starts_with("ab")) want_ab.insert(name);
  }
  auto start = std::chrono::steady_clock::now();
  std::set<std::string> all = ListNames(**created, ObjectType::kPack);
  auto full = std::chrono::steady_clock::now() - start;
  start = std::chrono::steady_clock::now();
  std::set<std::string> ab = ListNames(**created, ObjectType::kPack, "ab");
  auto one_dir = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(all, want);
  EXPECT_EQ(ab, want_ab);
  EXPECT_LT(one_dir, full);
  std::printf(
      "listed %d packs in %lld ms; prefix \"ab\" (%zu) in %lld us\n", kPacks,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(full).count()),
      ab.size(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::microseconds>(one_dir).count()));
}

// ---------------------------------------------------------------------------------------------
// ForwardingBackend and AppendOnlyBackend.

// A MemoryBackend that records which of its methods ran, so that a test can tell a forwarded
// SaveParts from a SaveParts that a forwarder turned into Save. Sets *destroyed (when given) in
// its destructor. Not thread-safe.
class RecordingBackend : public MemoryBackend {
 public:
  explicit RecordingBackend(bool* destroyed = nullptr) : destroyed_(destroyed) {}
  ~RecordingBackend() override {
    if (destroyed_ != nullptr) *destroyed_ = true;
  }

  std::string Location() const override {
    calls_.push_back("location");
    return "recording:";
  }
  Status Save(const ObjectHandle& h, ByteView data) override {
    calls_.push_back("save");
    return MemoryBackend::Save(h, data);
  }
  // Joins the parts itself: MemoryBackend's SaveParts would call Save, which records "save".
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    calls_.push_back("save_parts");
    Bytes joined;
    for (ByteView part : parts) joined.insert(joined.end(), part.begin(), part.end());
    return MemoryBackend::Save(h, joined);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    calls_.push_back("load");
    return MemoryBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    calls_.push_back("load_into");
    LB_ASSIGN_OR_RETURN(*out, MemoryBackend::Load(h, offset, length));
    return Status::Ok();
  }
  Result<ObjectInfo> Stat(const ObjectHandle& h) override {
    calls_.push_back("stat");
    return MemoryBackend::Stat(h);
  }
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    calls_.push_back("list");
    return MemoryBackend::List(type, prefix, fn);
  }
  Status Remove(const ObjectHandle& h) override {
    calls_.push_back("remove");
    return MemoryBackend::Remove(h);
  }

  // The methods that ran since the last TakeCalls, oldest first.
  std::vector<std::string> TakeCalls() { return std::exchange(calls_, {}); }

 private:
  bool* const destroyed_;
  mutable std::vector<std::string> calls_;
};

using Calls = std::vector<std::string>;

// Makes each Backend call once through `be`, which forwards to `inner`, and checks that the
// method of the same name, and only that one, ran in `inner`, and that arguments, results and
// errors passed through unchanged.
void ExpectForwardsEachCall(Backend& be, RecordingBackend& inner) {
  inner.TakeCalls();
  EXPECT_EQ(be.Location(), "recording:");
  EXPECT_EQ(inner.TakeCalls(), Calls{"location"});

  const ObjectHandle snap{ObjectType::kSnapshot, Id(1)};
  ASSERT_TRUE(be.Save(snap, AsBytes("snapshot")).ok());
  EXPECT_EQ(inner.TakeCalls(), Calls{"save"});
  EXPECT_EQ(be.Save(snap, AsBytes("other")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(inner.TakeCalls(), Calls{"save"});

  const ObjectHandle pack = Pack(Id(2));
  const ByteView parts[] = {AsBytes("blobs"), AsBytes("header")};
  ASSERT_TRUE(be.SaveParts(pack, parts).ok());
  EXPECT_EQ(inner.TakeCalls(), Calls{"save_parts"});

  Result<Bytes> loaded = be.Load(snap, 0, 0);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(AsString(*loaded), "snapshot");
  EXPECT_EQ(inner.TakeCalls(), Calls{"load"});

  Bytes out = Pattern(100, 1);  // replaced, not appended to
  ASSERT_TRUE(be.LoadInto(pack, 3, 5, &out).ok());
  EXPECT_EQ(AsString(out), "bshea");  // "blobsheader"[3, 8)
  EXPECT_EQ(inner.TakeCalls(), Calls{"load_into"});

  Result<ObjectInfo> info = be.Stat(pack);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->name, pack.name);
  EXPECT_EQ(info->size, 11u);
  EXPECT_EQ(inner.TakeCalls(), Calls{"stat"});

  std::vector<std::string> listed;
  Status st = be.List(ObjectType::kPack, "", [&](const ObjectInfo& i) {
    listed.push_back(i.name);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(listed, std::vector<std::string>{pack.name});
  EXPECT_EQ(inner.TakeCalls(), Calls{"list"});
  st = be.List(ObjectType::kPack, "", [](const ObjectInfo&) { return Status::Cancelled("stop"); });
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_EQ(inner.TakeCalls(), Calls{"list"});

  ASSERT_TRUE(be.Remove(snap).ok());
  EXPECT_EQ(inner.TakeCalls(), Calls{"remove"});
  EXPECT_TRUE(be.Remove(snap).IsNotFound());
  EXPECT_TRUE(be.Stat(snap).status().IsNotFound());
  EXPECT_TRUE(be.Load(snap, 0, 0).status().IsNotFound());
}

TEST(ForwardingBackendTest, OwningForwardsEachCallAndDeletesTheInnerBackend) {
  bool destroyed = false;
  auto owned = std::make_unique<RecordingBackend>(&destroyed);
  RecordingBackend* inner = owned.get();
  auto be = std::make_unique<ForwardingBackend>(std::move(owned));
  EXPECT_EQ(be->inner(), inner);
  ExpectForwardsEachCall(*be, *inner);
  EXPECT_FALSE(destroyed);
  be.reset();
  EXPECT_TRUE(destroyed);
}

TEST(ForwardingBackendTest, BorrowingForwardsEachCallAndLeavesTheInnerBackendAlive) {
  bool destroyed = false;
  RecordingBackend inner(&destroyed);
  {
    ForwardingBackend be(&inner);
    EXPECT_EQ(be.inner(), &inner);
    ExpectForwardsEachCall(be, inner);
  }
  EXPECT_FALSE(destroyed);
  EXPECT_EQ(ListNames(inner, ObjectType::kPack), std::set<std::string>{Id(2)});
}

// Changes Location and Remove; everything else is ForwardingBackend's.
class NoRemoveBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  std::string Location() const override { return "no-remove:" + ForwardingBackend::Location(); }
  Status Remove(const ObjectHandle& h) override {
    return Status::PermissionDenied("not removing " + DescribeObject(h));
  }
};

TEST(ForwardingBackendTest, OverridesInASubclassTakeEffectAndTheRestIsForwarded) {
  RecordingBackend inner;
  NoRemoveBackend no_remove(&inner);
  Backend& be = no_remove;
  const ObjectHandle snap{ObjectType::kSnapshot, Id(1)};
  ASSERT_TRUE(be.Save(snap, AsBytes("snapshot")).ok());
  EXPECT_EQ(be.Location(), "no-remove:recording:");
  EXPECT_EQ(be.Remove(snap).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(inner.TakeCalls(), (Calls{"save", "location"}));
  EXPECT_TRUE(be.Stat(snap).ok());
  EXPECT_EQ(inner.TakeCalls(), Calls{"stat"});
}

// Counts Save and Load calls, and routes SaveParts and LoadInto through them, as the test doubles
// that count or fail saves do.
class CountingBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Status Save(const ObjectHandle& h, ByteView data) override {
    saved.emplace_back(AsString(data));
    return ForwardingBackend::Save(h, data);
  }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    return SavePartsThroughSave(h, parts);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    ++loads;
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return LoadIntoThroughLoad(h, offset, length, out);
  }

  std::vector<std::string> saved;  // what Save was given, in order
  int loads = 0;
};

TEST(ForwardingBackendTest, ThroughSaveAndLoadHelpersLetASubclassSeeEverySaveAndLoad) {
  RecordingBackend inner;
  CountingBackend counting(&inner);
  Backend& be = counting;
  const ObjectHandle pack = Pack(Id(2));
  const ByteView parts[] = {AsBytes("blobs"), AsBytes("header")};
  ASSERT_TRUE(be.SaveParts(pack, parts).ok());
  EXPECT_EQ(counting.saved, std::vector<std::string>{"blobsheader"});
  EXPECT_EQ(inner.TakeCalls(), Calls{"save"});

  Bytes out;
  ASSERT_TRUE(be.LoadInto(pack, 5, 0, &out).ok());
  EXPECT_EQ(AsString(out), "header");
  EXPECT_EQ(counting.loads, 1);
  EXPECT_EQ(inner.TakeCalls(), Calls{"load"});
}

// AppendOnlyBackend sits on the production path: packs must reach the inner backend's SaveParts
// (written without joining them) and blobs its LoadInto; only Remove is changed.
TEST(AppendOnlyBackendTest, ForwardsAllButRemoveAndRemovesOnlyLocks) {
  auto owned = std::make_unique<RecordingBackend>();
  RecordingBackend* inner = owned.get();
  AppendOnlyBackend be(std::move(owned), "the key is append-only");
  const ObjectHandle pack = Pack(Id(2));
  const ByteView parts[] = {AsBytes("blobs"), AsBytes("header")};
  ASSERT_TRUE(be.SaveParts(pack, parts).ok());
  Bytes out;
  ASSERT_TRUE(be.LoadInto(pack, 0, 5, &out).ok());
  EXPECT_EQ(AsString(out), "blobs");
  EXPECT_EQ(inner->TakeCalls(), (Calls{"save_parts", "load_into"}));

  Status refused = be.Remove(pack);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.ToString().find("the key is append-only"), std::string::npos)
      << refused.ToString();
  EXPECT_EQ(inner->TakeCalls(), Calls{});
  EXPECT_TRUE(be.Stat(pack).ok());

  const ObjectHandle lock{ObjectType::kLock, Id(3)};
  ASSERT_TRUE(be.Save(lock, AsBytes("lock")).ok());
  EXPECT_TRUE(be.Remove(lock).ok());
  EXPECT_TRUE(be.Stat(lock).status().IsNotFound());
}

// ---------------------------------------------------------------------------------------------
// RetryBackend.

// A MemoryBackend whose calls follow a script: each call takes the next action (kPass when the
// script is empty). Failures carry the call number so tests can tell which error came back.
class ScriptedBackend : public Backend {
 public:
  enum class Action {
    kPass,
    kUnavailable,             // fail transiently without doing anything
    kIOError,                 // fail permanently without doing anything
    kPerformThenUnavailable,  // do it, then report a transient failure (lost acknowledgement)
    kShortRead,               // Load: return half the data
    kListPartly,              // List: pass 3 entries to fn, then fail transiently
  };

  std::string Location() const override { return "scripted:"; }
  Status Save(const ObjectHandle& h, ByteView data) override {
    Action a = Next("save");
    if (Status st = Before(a); !st.ok()) return st;
    Status st = memory.Save(h, data);
    return After(a, st);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    Action a = Next("load");
    if (Status st = Before(a); !st.ok()) return st;
    Result<Bytes> r = memory.Load(h, offset, length);
    if (r.ok() && a == Action::kShortRead) r->resize(r->size() / 2);
    return r;
  }
  Result<ObjectInfo> Stat(const ObjectHandle& h) override {
    Action a = Next("stat");
    if (Status st = Before(a); !st.ok()) return st;
    return memory.Stat(h);
  }
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    Action a = Next("list");
    if (Status st = Before(a); !st.ok()) return st;
    if (a != Action::kListPartly) return memory.List(type, prefix, fn);
    int passed = 0;
    bool cut = false;
    Status st = memory.List(type, prefix, [&](const ObjectInfo& info) -> Status {
      if (passed == 3) {
        cut = true;
        return Status::Unavailable("connection reset while listing");
      }
      ++passed;
      return fn(info);
    });
    return cut ? Status::Unavailable("connection reset while listing") : st;
  }
  Status Remove(const ObjectHandle& h) override {
    Action a = Next("remove");
    if (Status st = Before(a); !st.ok()) return st;
    return After(a, memory.Remove(h));
  }

  MemoryBackend memory;
  std::deque<Action> script;
  std::vector<std::string> calls;

 private:
  Action Next(const char* op) {
    calls.push_back(op);
    if (script.empty()) return Action::kPass;
    Action a = script.front();
    script.pop_front();
    return a;
  }
  Status Before(Action a) const {
    std::string call = "call " + std::to_string(calls.size());
    if (a == Action::kUnavailable) return Status::Unavailable("busy at " + call);
    if (a == Action::kIOError) return Status::IOError("disk on fire at " + call);
    return Status::Ok();
  }
  Status After(Action a, Status st) const {
    if (st.ok() && a == Action::kPerformThenUnavailable) {
      return Status::Unavailable("ack lost at call " + std::to_string(calls.size()));
    }
    return st;
  }
};

using Action = ScriptedBackend::Action;

class RetryBackendTest : public ::testing::Test {
 protected:
  void Make(RetryOptions opts) {
    opts.context = opts.context.WithClock(clock_);
    mark_ = clock_.sleeps().size();
    auto scripted = std::make_unique<ScriptedBackend>();
    inner_ = scripted.get();
    retry_ = std::make_unique<RetryBackend>(std::move(scripted), std::move(opts));
  }
  void Make() {
    RetryOptions opts;
    opts.max_attempts = 5;
    opts.initial_delay = milliseconds(100);
    opts.max_delay = milliseconds(250);
    opts.jitter = 0;
    Make(opts);
  }

  // The backoff waits since the last Make, as the clock recorded them.
  std::vector<milliseconds> delays() const {
    std::vector<int64_t> all = clock_.sleeps();
    std::vector<milliseconds> out;
    for (size_t i = mark_; i < all.size(); ++i) out.push_back(milliseconds(all[i] / 1'000'000));
    return out;
  }

  ManualClock clock_;
  size_t mark_ = 0;
  ScriptedBackend* inner_ = nullptr;
  std::unique_ptr<RetryBackend> retry_;
};

TEST_F(RetryBackendTest, RetriesTransientFailuresWithExponentialBackoff) {
  Make();
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(1)), AsBytes("data")).ok());
  inner_->script = {Action::kUnavailable, Action::kUnavailable, Action::kUnavailable};
  Result<ObjectInfo> info = retry_->Stat(Pack(Id(1)));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 4u);
  EXPECT_EQ(inner_->calls.size(), 4u);
  EXPECT_EQ(delays(),
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(250)}));
}

TEST_F(RetryBackendTest, JitterStaysWithinBoundsAndFollowsTheSeed) {
  auto run = [&](uint64_t seed) {
    RetryOptions opts;
    opts.max_attempts = 7;
    opts.initial_delay = milliseconds(1000);
    opts.max_delay = milliseconds(60000);
    opts.jitter = 0.5;
    opts.seed = seed;
    Make(opts);
    inner_->script.assign(6, Action::kUnavailable);
    EXPECT_TRUE(retry_->Stat(Pack(Id(1))).status().IsNotFound());
    return delays();
  };
  std::vector<milliseconds> a = run(9);
  ASSERT_EQ(a.size(), 6u);
  bool any_jittered = false;
  for (size_t i = 0; i < a.size(); ++i) {
    int64_t base = 1000LL << i;
    EXPECT_GE(a[i].count(), base / 2) << i;
    EXPECT_LE(a[i].count(), base) << i;
    if (a[i].count() != base) any_jittered = true;
  }
  EXPECT_TRUE(any_jittered);
  EXPECT_EQ(run(9), a);
  EXPECT_NE(run(10), a);
}

TEST_F(RetryBackendTest, PermanentErrorsAreNotRetried) {
  Make();
  inner_->script = {Action::kIOError};
  Status st = retry_->Save(Pack(Id(1)), AsBytes("x"));
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(inner_->calls.size(), 1u);
  EXPECT_TRUE(delays().empty());
  // NotFound, Corruption and InvalidArgument are permanent too.
  inner_->calls.clear();
  EXPECT_TRUE(retry_->Load(Pack(Id(2)), 0, 0).status().IsNotFound());
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(3)), AsBytes("abc")).ok());
  EXPECT_TRUE(retry_->Load(Pack(Id(3)), 0, 10).status().IsCorruption());
  EXPECT_EQ(retry_->Stat(Pack("../x")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(inner_->calls.size(), 3u);
  EXPECT_TRUE(delays().empty());
}

TEST_F(RetryBackendTest, ExhaustedAttemptsReturnTheLastError) {
  Make();
  inner_->script.assign(10, Action::kUnavailable);
  Result<Bytes> r = retry_->Load(Pack(Id(1)), 0, 0);
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("busy at call 5"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("giving up after 5 attempts"), std::string::npos);
  EXPECT_EQ(inner_->calls.size(), 5u);
  EXPECT_EQ(delays().size(), 4u);
}

TEST_F(RetryBackendTest, MaxAttemptsOfOneMeansNoRetry) {
  RetryOptions opts;
  opts.max_attempts = 1;
  Make(opts);
  inner_->script = {Action::kUnavailable};
  EXPECT_EQ(retry_->Remove(Pack(Id(1))).code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->calls.size(), 1u);
  EXPECT_TRUE(delays().empty());
}

TEST_F(RetryBackendTest, SaveWhoseAcknowledgementWasLostSucceeds) {
  Make();
  inner_->script = {Action::kPerformThenUnavailable};
  Bytes data = Pattern(5000, 1);
  Status st = retry_->Save(Pack(Id(1)), data);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(*inner_->memory.Load(Pack(Id(1)), 0, 0), data);
  EXPECT_EQ(inner_->calls, (std::vector<std::string>{"save", "save", "stat", "load"}));
}

TEST_F(RetryBackendTest, VerificationFailuresAreRetriedToo) {
  Make();
  inner_->script = {Action::kPerformThenUnavailable, Action::kPass, Action::kPass,
                    Action::kShortRead};
  Bytes data = Pattern(5000, 1);
  EXPECT_TRUE(retry_->Save(Pack(Id(1)), data).ok());
  EXPECT_EQ(inner_->calls,
            (std::vector<std::string>{"save", "save", "stat", "load", "save", "stat", "load"}));
}

TEST_F(RetryBackendTest, RetriedSaveFindingOtherContentIsCorruption) {
  Make();
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(1)), AsBytes("someone else's")).ok());
  inner_->script = {Action::kUnavailable};
  Status st = retry_->Save(Pack(Id(1)), AsBytes("mine, not theirs"));
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find(Id(1)), std::string::npos);
  // Same size, different bytes: still detected.
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(2)), AsBytes("aaaa")).ok());
  inner_->script = {Action::kUnavailable};
  EXPECT_TRUE(retry_->Save(Pack(Id(2)), AsBytes("aaab")).IsCorruption());
  EXPECT_EQ(AsString(*inner_->memory.Load(Pack(Id(2)), 0, 0)), "aaaa");
}

TEST_F(RetryBackendTest, RetriedSavePartsIsVerifiedPartByPart) {
  Make();
  Bytes a = Pattern(3000, 1), b = Pattern(2000, 2);
  std::vector<ByteView> parts = {a, b};
  inner_->script = {Action::kPerformThenUnavailable};
  EXPECT_TRUE(retry_->SaveParts(Pack(Id(1)), parts).ok());
  Bytes joined = a;
  joined.insert(joined.end(), b.begin(), b.end());
  EXPECT_EQ(*inner_->memory.Load(Pack(Id(1)), 0, 0), joined);
  // Another object with the same size but a different second part: Corruption.
  Bytes other = joined;
  other.back() ^= 1;
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(2)), other).ok());
  inner_->script = {Action::kUnavailable};
  EXPECT_TRUE(retry_->SaveParts(Pack(Id(2)), parts).IsCorruption());
}

TEST_F(RetryBackendTest, FirstAttemptAlreadyExistsIsReturnedUnchecked) {
  Make();
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(1)), AsBytes("x")).ok());
  EXPECT_EQ(retry_->Save(Pack(Id(1)), AsBytes("x")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(inner_->calls, std::vector<std::string>{"save"});
}

TEST_F(RetryBackendTest, ShortReadsAreRetried) {
  Make();
  Bytes data = Pattern(1000, 2);
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(1)), data).ok());
  inner_->script = {Action::kShortRead, Action::kShortRead};
  Result<Bytes> r = retry_->Load(Pack(Id(1)), 100, 800);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Bytes(data.begin() + 100, data.begin() + 900));
  EXPECT_EQ(inner_->calls.size(), 3u);
  EXPECT_EQ(delays().size(), 2u);
  // Persistent short reads end as Unavailable naming the object.
  inner_->script.assign(5, Action::kShortRead);
  r = retry_->Load(Pack(Id(1)), 0, 1000);
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("short read of pack " + Id(1)), std::string::npos);
}

// A backend that serves many requests at once, as a remote store would.
class ManyRequestsBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  BackendHints Hints() const override { return {.concurrent_requests = 48}; }
};

TEST(BackendHintsTest, WorkerCountsComeFromTheBackend) {
  MemoryBackend memory;
  const int cores = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  EXPECT_EQ(WorkersFor(memory, 0), std::max(cores, 2));
  EXPECT_EQ(WorkersFor(memory, 3), 3);  // an explicit request wins
  auto remote = std::make_unique<ManyRequestsBackend>(&memory);
  EXPECT_EQ(WorkersFor(*remote, 0), std::max(cores, 48));
  // Decorators pass the hint through.
  RetryBackend retry(std::make_unique<FaultInjectingBackend>(std::move(remote), FaultOptions{}),
                     RetryOptions{});
  EXPECT_EQ(retry.Hints().concurrent_requests, 48);
  EXPECT_EQ(WorkersFor(retry, 0), std::max(cores, 48));
}

TEST_F(RetryBackendTest, ARetrySleepingUnderACancelledContextReturnsAtOnce) {
  // The real clock and the default 500 ms..30 s backoff: without the context this call would
  // sleep about a minute over its 10 attempts.
  std::atomic<bool> cancel{false};
  RetryOptions opts;
  opts.context = Context().WithCancel(&cancel);
  auto scripted = std::make_unique<ScriptedBackend>();
  ScriptedBackend* inner = scripted.get();
  RetryBackend retry(std::move(scripted), opts);
  inner->script.assign(10, Action::kUnavailable);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  Result<ObjectInfo> r = retry.Stat(Pack(Id(1)));
  const auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stat pack " + Id(1)), std::string::npos);
  EXPECT_NE(r.status().message().find("attempt 1 failed"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(inner->calls.size(), 1u);  // no attempt after the cancel

  // Already cancelled: the first attempt runs, no retry and no wait.
  inner->calls.clear();
  inner->script.assign(10, Action::kUnavailable);
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(retry.Stat(Pack(Id(1))).status().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::seconds(1));
  EXPECT_EQ(inner->calls.size(), 1u);
}

TEST_F(RetryBackendTest, TheDeadlineEndsTheBackoff) {
  RetryOptions opts;
  opts.max_attempts = 10;
  opts.initial_delay = milliseconds(1000);
  opts.jitter = 0;
  opts.context = Context().WithClock(clock_).WithTimeout(std::chrono::milliseconds(2500));
  Make(opts);
  inner_->script.assign(10, Action::kUnavailable);
  Status st = retry_->Stat(Pack(Id(1))).status();
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.ToString();
  // 1 s, then 2 s cut to the 1.5 s left: two attempts, then the deadline.
  EXPECT_EQ(delays(), (std::vector<milliseconds>{milliseconds(1000), milliseconds(1500)}));
  EXPECT_EQ(inner_->calls.size(), 2u);
}

TEST_F(RetryBackendTest, RemoveWhoseAcknowledgementWasLostSucceeds) {
  Make();
  ASSERT_TRUE(inner_->memory.Save(Pack(Id(1)), AsBytes("x")).ok());
  inner_->script = {Action::kPerformThenUnavailable};
  EXPECT_TRUE(retry_->Remove(Pack(Id(1))).ok());
  EXPECT_EQ(inner_->memory.ObjectCount(), 0u);
  // But a first-attempt NotFound is reported.
  EXPECT_TRUE(retry_->Remove(Pack(Id(1))).IsNotFound());
}

TEST_F(RetryBackendTest, ListRestartsWithoutRepeatingNames) {
  Make();
  std::set<std::string> want;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(inner_->memory.Save(Pack(Id(i)), AsBytes("p")).ok());
    want.insert(Id(i));
  }
  inner_->script = {Action::kListPartly, Action::kUnavailable, Action::kListPartly};
  std::vector<std::string> seen;
  Status st = retry_->List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
    seen.push_back(info.name);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen.size(), want.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
  EXPECT_EQ(inner_->calls.size(), 4u);
}

TEST_F(RetryBackendTest, OnRetryIsToldAboutEachRetry) {
  RetryOptions opts;
  opts.max_attempts = 3;
  opts.jitter = 0;
  opts.initial_delay = milliseconds(7);
  std::vector<std::string> log;
  opts.on_retry = [&](std::string_view what, int attempt, const Status& error, milliseconds d) {
    log.push_back(std::string(what) + "#" + std::to_string(attempt) + ":" +
                  std::string(StatusCodeName(error.code())) + ":" + std::to_string(d.count()));
  };
  Make(opts);
  inner_->script = {Action::kUnavailable, Action::kUnavailable};
  EXPECT_TRUE(retry_->Stat(Pack(Id(1))).status().IsNotFound());
  EXPECT_EQ(log, (std::vector<std::string>{"stat pack " + Id(1) + "#1:UNAVAILABLE:7",
                                           "stat pack " + Id(1) + "#2:UNAVAILABLE:14"}));
}

TEST_F(RetryBackendTest, AfterACallGaveUpTheSiteCountsAsDownAndCallsFailAtOnce) {
  Make();  // 5 attempts
  inner_->script.assign(5, Action::kUnavailable);
  EXPECT_EQ(retry_->Save(Pack(Id(1)), AsBytes("x")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(delays().size(), 4u);
  // The site is down: the next calls (a queued pack, the lock's removal) do not pay the whole
  // budget again.
  inner_->calls.clear();
  inner_->script = {Action::kUnavailable, Action::kUnavailable};
  Status st = retry_->Remove(Pack(Id(2)));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("giving up after 1 attempt(s): an earlier call already gave up on "
                              "scripted:"),
            std::string::npos)
      << st.message();
  Result<ObjectInfo> info = retry_->Stat(Pack(Id(3)));
  EXPECT_EQ(info.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_->calls.size(), 2u);
  EXPECT_EQ(delays().size(), 4u);  // no new waits
}

TEST_F(RetryBackendTest, AnAnswerFromTheSiteEndsItsDownState) {
  Make();
  inner_->script.assign(5, Action::kUnavailable);
  EXPECT_EQ(retry_->Stat(Pack(Id(1))).status().code(), StatusCode::kUnavailable);
  // A permanent error is an answer too: the server is reachable again.
  inner_->script = {Action::kIOError};
  EXPECT_EQ(retry_->Stat(Pack(Id(1))).status().code(), StatusCode::kIOError);
  inner_->calls.clear();
  inner_->script = {Action::kUnavailable, Action::kUnavailable};
  ASSERT_TRUE(retry_->Save(Pack(Id(2)), AsBytes("x")).ok());
  EXPECT_EQ(inner_->calls.size(), 3u);  // retried as usual
  EXPECT_EQ(delays().size(), 6u);
}

TEST(RetryTransientFailuresTest, RetriesWithTheBackoffOfRetryBackend) {
  ManualClock clock;
  RetryOptions opts;
  opts.max_attempts = 4;
  opts.initial_delay = milliseconds(100);
  opts.jitter = 0;
  opts.context = opts.context.WithClock(clock);
  int calls = 0;
  Status st = RetryTransientFailures(opts, "open s3:x", [&](int attempt) -> Status {
    EXPECT_EQ(attempt, ++calls);
    return calls < 3 ? Status::Unavailable("503 SlowDown") : Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(clock.sleeps(), (std::vector<int64_t>{100'000'000, 200'000'000}));

  calls = 0;
  st = RetryTransientFailures(opts, "open s3:x", [&](int) -> Status {
    ++calls;
    return Status::Unavailable("connection refused");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("open s3:x: giving up after 4 attempts"), std::string::npos)
      << st.message();
  EXPECT_EQ(calls, 4);

  calls = 0;
  st = RetryTransientFailures(opts, "open s3:x", [&](int) -> Status {
    ++calls;
    return Status::PermissionDenied("the S3 credentials were refused");
  });
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(calls, 1);
}

// ---------------------------------------------------------------------------------------------
// FaultInjectingBackend.

// Runs a fixed sequence of calls and records every outcome.
std::string RunWorkload(Backend& be) {
  std::string trace;
  for (int i = 0; i < 60; ++i) {
    Status st = be.Save(Pack(Id(i)), Pattern(64, i));
    trace += std::string(StatusCodeName(st.code())) + ";";
    Result<Bytes> r = be.Load(Pack(Id(i)), 0, 0);
    trace += r.ok() ? HexEncode(*r) : std::string(StatusCodeName(r.status().code()));
    trace += ";";
    trace += std::string(StatusCodeName(be.Stat(Pack(Id(i))).status().code())) + ";";
    int listed = 0;
    st = be.List(ObjectType::kPack, "", [&](const ObjectInfo&) {
      ++listed;
      return Status::Ok();
    });
    trace += std::string(StatusCodeName(st.code())) + std::to_string(listed) + ";";
    if (i % 3 == 0) trace += std::string(StatusCodeName(be.Remove(Pack(Id(i))).code())) + ";";
  }
  return trace;
}

FaultOptions EverythingFaults(uint64_t seed) {
  FaultOptions f;
  f.seed = seed;
  f.transient_probability = 0.2;
  f.permanent_probability = 0.1;
  f.lost_ack_probability = 0.2;
  f.short_read_probability = 0.2;
  f.bit_flip_probability = 0.2;
  return f;
}

TEST(FaultInjectingBackendTest, SameSeedSameFaults) {
  FaultInjectingBackend a(std::make_unique<MemoryBackend>(), EverythingFaults(42));
  FaultInjectingBackend b(std::make_unique<MemoryBackend>(), EverythingFaults(42));
  FaultInjectingBackend c(std::make_unique<MemoryBackend>(), EverythingFaults(43));
  std::string ta = RunWorkload(a);
  EXPECT_EQ(ta, RunWorkload(b));
  EXPECT_NE(ta, RunWorkload(c));
  FaultStats s = a.stats();
  EXPECT_GT(s.transient, 0u);
  EXPECT_GT(s.permanent, 0u);
  EXPECT_GT(s.lost_acks, 0u);
  EXPECT_GT(s.short_reads, 0u);
  EXPECT_GT(s.bit_flips, 0u);
  EXPECT_EQ(s.mutating_ops, 80u);
}

TEST(FaultInjectingBackendTest, NoFaultsConfiguredPassesEverythingThrough) {
  FaultOptions none;
  EXPECT_FALSE(none.enabled());
  FaultInjectingBackend plain(std::make_unique<MemoryBackend>(), none);
  MemoryBackend reference;
  EXPECT_EQ(RunWorkload(plain), RunWorkload(reference));
}

TEST(FaultInjectingBackendTest, CertainFailuresTouchNothing) {
  FaultOptions transient;
  transient.transient_probability = 1;
  auto* mem = new MemoryBackend;
  FaultInjectingBackend t(std::unique_ptr<Backend>(mem), transient);
  ASSERT_TRUE(mem->Save(Pack(Id(1)), AsBytes("x")).ok());
  EXPECT_EQ(t.Save(Pack(Id(2)), AsBytes("y")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(t.Remove(Pack(Id(1))).code(), StatusCode::kUnavailable);
  EXPECT_EQ(t.Load(Pack(Id(1)), 0, 0).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(t.Stat(Pack(Id(1))).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(t.List(ObjectType::kPack, "", [](const ObjectInfo&) { return Status::Ok(); }).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(mem->ObjectCount(), 1u);

  FaultOptions permanent;
  permanent.permanent_probability = 1;
  auto* mem2 = new MemoryBackend;
  FaultInjectingBackend p(std::unique_ptr<Backend>(mem2), permanent);
  EXPECT_EQ(p.Save(Pack(Id(2)), AsBytes("y")).code(), StatusCode::kIOError);
  EXPECT_EQ(p.Stat(Pack(Id(2))).status().code(), StatusCode::kIOError);
  EXPECT_EQ(mem2->ObjectCount(), 0u);
}

TEST(FaultInjectingBackendTest, LostAckStoresButReportsUnavailable) {
  FaultOptions f;
  f.lost_ack_probability = 1;
  auto* mem = new MemoryBackend;
  FaultInjectingBackend be(std::unique_ptr<Backend>(mem), f);
  EXPECT_EQ(be.Save(Pack(Id(1)), AsBytes("x")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(mem->ObjectCount(), 1u);
  // A refused save is refused honestly (nothing happened, so there is no ack to lose).
  EXPECT_EQ(be.Save(Pack(Id(1)), AsBytes("x")).code(), StatusCode::kAlreadyExists);
  // Retry on top turns the lost ack into success.
  RetryBackend retry(std::make_unique<FaultInjectingBackend>(std::make_unique<MemoryBackend>(), f),
                     NoSleepRetry(3));
  EXPECT_TRUE(retry.Save(Pack(Id(2)), AsBytes("y")).ok());
  EXPECT_TRUE(retry.Remove(Pack(Id(2))).ok());
}

TEST(FaultInjectingBackendTest, BitFlipChangesExactlyOneBitOfTheCopy) {
  FaultOptions f;
  f.bit_flip_probability = 1;
  auto* mem = new MemoryBackend;
  FaultInjectingBackend be(std::unique_ptr<Backend>(mem), f);
  Bytes data = Pattern(4096, 3);
  ASSERT_TRUE(mem->Save(Pack(Id(1)), data).ok());
  std::set<size_t> flipped_positions;
  for (int round = 0; round < 20; ++round) {
    Result<Bytes> r = be.Load(Pack(Id(1)), 0, 0);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), data.size());
    int bits = 0;
    for (size_t i = 0; i < data.size(); ++i) {
      int diff = std::popcount(static_cast<unsigned>(data[i] ^ (*r)[i]));
      if (diff) flipped_positions.insert(i);
      bits += diff;
    }
    EXPECT_EQ(bits, 1);
  }
  EXPECT_GT(flipped_positions.size(), 1u) << "the flipped bit should vary";
  EXPECT_EQ(*mem->Load(Pack(Id(1)), 0, 0), data) << "the stored object is untouched";
  EXPECT_EQ(be.stats().bit_flips, 20u);
  // Ranged loads are flipped within the range.
  Result<Bytes> r = be.Load(Pack(Id(1)), 10, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::popcount(static_cast<unsigned>((*r)[0] ^ data[10])), 1);
}

TEST(FaultInjectingBackendTest, ShortReadReturnsAProperPrefix) {
  FaultOptions f;
  f.short_read_probability = 1;
  auto* mem = new MemoryBackend;
  FaultInjectingBackend be(std::unique_ptr<Backend>(mem), f);
  Bytes data = Pattern(1000, 4);
  ASSERT_TRUE(mem->Save(Pack(Id(1)), data).ok());
  for (int round = 0; round < 10; ++round) {
    Result<Bytes> r = be.Load(Pack(Id(1)), 0, 1000);
    ASSERT_TRUE(r.ok());
    ASSERT_LT(r->size(), data.size());
    EXPECT_TRUE(std::equal(r->begin(), r->end(), data.begin()));
  }
  // Retry detects the short reads but cannot outlast a certain fault.
  RetryBackend retry(std::make_unique<FaultInjectingBackend>(std::make_unique<MemoryBackend>(), f),
                     NoSleepRetry(3));
  ASSERT_TRUE(retry.Save(Pack(Id(1)), data).ok());
  EXPECT_EQ(retry.Load(Pack(Id(1)), 0, 1000).status().code(), StatusCode::kUnavailable);
}

TEST(FaultInjectingBackendTest, TransientListFailuresHappenPartWay) {
  FaultOptions f;
  f.seed = 3;
  f.transient_probability = 1;
  auto* mem = new MemoryBackend;
  FaultInjectingBackend be(std::unique_ptr<Backend>(mem), f);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(mem->Save(Pack(Id(i)), AsBytes("p")).ok());
  std::set<int> counts;
  for (int round = 0; round < 30; ++round) {
    int listed = 0;
    Status st = be.List(ObjectType::kPack, "", [&](const ObjectInfo&) {
      ++listed;
      return Status::Ok();
    });
    EXPECT_EQ(st.code(), StatusCode::kUnavailable);
    EXPECT_LT(listed, 8);
    counts.insert(listed);
  }
  EXPECT_GT(counts.size(), 1u);
}

TEST(FaultInjectingBackendTest, RetryOnTopHidesTransientFaults) {
  FaultOptions f = TransientFaults(21);
  f.short_read_probability = 0.2;  // detected by Retry because every load names its length
  auto faulty = std::make_unique<FaultInjectingBackend>(std::make_unique<MemoryBackend>(), f);
  FaultInjectingBackend* faults = faulty.get();
  RetryBackend be(std::move(faulty), NoSleepRetry(40));
  for (int i = 0; i < 100; ++i) {
    Bytes data = Pattern(200 + i, i);
    ASSERT_TRUE(be.Save(Pack(Id(i)), data).ok()) << i;
    Result<Bytes> r = be.Load(Pack(Id(i)), 0, data.size());
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(*r, data);
  }
  EXPECT_EQ(ListNames(be, ObjectType::kPack).size(), 100u);
  FaultStats s = faults->stats();
  EXPECT_GT(s.transient, 10u);
  EXPECT_GT(s.lost_acks, 5u);
  EXPECT_GT(s.short_reads, 5u);
}

// Forks a child that saves 5 packs through a FaultInjectingBackend over a LocalBackend in `root`
// with the kill switch at op 3; returns the child's wait status.
int RunChildThatGetsKilled(const std::string& root, FaultOptions::KillWhen when) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto local = LocalBackend::Open(root);
    if (!local.ok()) ::_exit(3);
    FaultOptions f;
    f.kill_after_ops = 3;
    f.kill_when = when;
    FaultInjectingBackend be(std::move(local).value(), f);
    for (int i = 0; i < 5; ++i) {
      if (!be.Save(Pack(Id(i)), Pattern(1000, i)).ok()) ::_exit(2);
    }
    ::_exit(0);
  }
  int wstatus = 0;
  if (pid < 0 || ::waitpid(pid, &wstatus, 0) != pid) return -1;
  return wstatus;
}

void ExpectKilledWithSaved(FaultOptions::KillWhen when, size_t want_saved) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  auto created = LocalBackend::Create(root);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE((*created)->Save({ObjectType::kConfig, ""}, AsBytes("cfg")).ok());
  int wstatus = RunChildThatGetsKilled(root, when);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with status " << wstatus;
  EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);
  std::set<std::string> saved = ListNames(**created, ObjectType::kPack);
  EXPECT_EQ(saved.size(), want_saved);
  for (size_t i = 0; i < want_saved; ++i) {
    EXPECT_TRUE(saved.count(Id(static_cast<int>(i)))) << i;
    EXPECT_EQ(*(*created)->Load(Pack(Id(static_cast<int>(i))), 0, 0),
              Pattern(1000, static_cast<uint64_t>(i)));
  }
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST(FaultInjectingBackendTest, KillBeforeTheNthMutation) {
  ExpectKilledWithSaved(FaultOptions::KillWhen::kBefore, 2);
}

TEST(FaultInjectingBackendTest, KillAfterTheNthMutation) {
  ExpectKilledWithSaved(FaultOptions::KillWhen::kAfter, 3);
}

TEST(FaultInjectingBackendTest, OptionsFromEnvironment) {
  auto from = [](std::map<std::string, std::string> env) {
    return FaultOptions::FromEnvironment([env](const char* name) -> const char* {
      static thread_local std::string value;
      auto it = env.find(name);
      if (it == env.end()) return nullptr;
      value = it->second;
      return value.c_str();
    });
  };
  auto none = from({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto empty = from({{"LIFEBOAT_FAULT_TRANSIENT", ""}});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());

  auto full = from({{"LIFEBOAT_FAULT_KILL_AFTER_OPS", "17"},
                    {"LIFEBOAT_FAULT_KILL_WHEN", "after"},
                    {"LIFEBOAT_FAULT_SEED", "99"},
                    {"LIFEBOAT_FAULT_TRANSIENT", "0.25"},
                    {"LIFEBOAT_FAULT_PERMANENT", "0.01"},
                    {"LIFEBOAT_FAULT_LOST_ACK", "0.5"},
                    {"LIFEBOAT_FAULT_SHORT_READ", "1"},
                    {"LIFEBOAT_FAULT_BITFLIP", "0"}});
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  ASSERT_TRUE(full->has_value());
  const FaultOptions& o = **full;
  EXPECT_EQ(o.kill_after_ops, 17u);
  EXPECT_EQ(o.kill_when, FaultOptions::KillWhen::kAfter);
  EXPECT_EQ(o.seed, 99u);
  EXPECT_DOUBLE_EQ(o.transient_probability, 0.25);
  EXPECT_DOUBLE_EQ(o.permanent_probability, 0.01);
  EXPECT_DOUBLE_EQ(o.lost_ack_probability, 0.5);
  EXPECT_DOUBLE_EQ(o.short_read_probability, 1.0);
  EXPECT_DOUBLE_EQ(o.bit_flip_probability, 0.0);
  EXPECT_TRUE(o.enabled());

  auto kill_only = from({{"LIFEBOAT_FAULT_KILL_AFTER_OPS", "4"}});
  ASSERT_TRUE(kill_only.ok() && kill_only->has_value());
  EXPECT_EQ((*kill_only)->kill_when, FaultOptions::KillWhen::kBefore);

  for (auto bad :
       std::vector<std::pair<std::string, std::string>>{{"LIFEBOAT_FAULT_KILL_AFTER_OPS", "three"},
                                                        {"LIFEBOAT_FAULT_KILL_AFTER_OPS", "-1"},
                                                        {"LIFEBOAT_FAULT_KILL_WHEN", "during"},
                                                        {"LIFEBOAT_FAULT_SEED", "1x"},
                                                        {"LIFEBOAT_FAULT_TRANSIENT", "1.5"},
                                                        {"LIFEBOAT_FAULT_PERMANENT", "-0.1"},
                                                        {"LIFEBOAT_FAULT_BITFLIP", "nan"},
                                                        {"LIFEBOAT_FAULT_SHORT_READ", "5%"}}) {
    auto r = from({bad});
    ASSERT_FALSE(r.ok()) << bad.first << "=" << bad.second;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(bad.first), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// OpenBackend.

TEST(OpenBackendTest, PlainPathsAndLocalScheme) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  auto missing = OpenBackend(root, /*create=*/false);
  ASSERT_EQ(missing.status().code(), StatusCode::kNoRepository);
  EXPECT_NE(missing.status().message().find("lifeboat init"), std::string::npos);

  auto created = OpenBackend(root, /*create=*/true);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)->Location(), "local:" + root);
  ASSERT_TRUE((*created)->Save({ObjectType::kConfig, ""}, AsBytes("cfg")).ok());
  ASSERT_TRUE((*created)->Save(Pack(Id(1)), AsBytes("pack")).ok());
  EXPECT_NE(dynamic_cast<RetryBackend*>(created->get()), nullptr) << "retry is outermost";

  auto opened = OpenBackend("local:" + root, /*create=*/false);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE((*opened)->HasConfig());
  EXPECT_EQ(AsString(*(*opened)->Load(Pack(Id(1)), 0, 0)), "pack");
  EXPECT_EQ(OpenBackend(root, /*create=*/true).status().code(), StatusCode::kAlreadyExists);
}

TEST(OpenBackendTest, UnsupportedSchemesAndEmptyLocations) {
  for (const char* location : {"b2:bucket", "azure:container", "gs:bucket", "rclone:remote:x"}) {
    auto r = OpenBackend(location, false);
    ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << location;
    EXPECT_NE(r.status().message().find("not supported"), std::string::npos);
  }
  EXPECT_EQ(OpenBackend("", false).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenBackend("local:", false).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpenBackendTest, AUrlWithoutABackendIsRefusedNotMadeADirectory) {
  TempDir tmp;
  ASSERT_EQ(chdir(tmp.path().c_str()), 0);
  auto r = OpenBackend("http://alice:secret@127.0.0.1:8000/repo", true);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("rest:http://alice:***@127.0.0.1:8000/repo"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.path() + "/http:"));
  ASSERT_EQ(chdir("/"), 0);
}

TEST(OpenBackendTest, OptionsAreCheckedAgainstTheScheme) {
  TempDir tmp;
  OpenBackendOptions options;
  options.options.Set("bogus", "1");
  auto r = OpenBackend(tmp.path() + "/repo", true, options);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unknown option \"bogus\""), std::string::npos);
  // Keys of other schemes are left to them (-o applies to --repo and --from alike).
  options.options = *BackendOptions::Parse({"s3.region=x", "sftp.identity=/k"});
  EXPECT_TRUE(OpenBackend(tmp.path() + "/repo", true, options).ok());
  // A misspelt key of the location's scheme names the nearest one.
  options.options = *BackendOptions::Parse({"s3.regoin=x"});
  r = OpenBackend("s3:http://127.0.0.1:1/bucket", false, options);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("did you mean s3.region?"), std::string::npos)
      << r.status().ToString();
}

TEST(OpenBackendTest, ALocalSiteWithConnectionsIsCapped) {
  TempDir tmp;
  OpenBackendOptions options;
  options.options.Set("connections", "3");
  auto r = OpenBackend(tmp.path() + "/repo", true, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->Hints().concurrent_requests, 2);  // min(local's 2, 3)
  options.options.Set("connections", "1");
  r = OpenBackend(tmp.path() + "/repo2", true, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->Hints().concurrent_requests, 1);
}

TEST(OpenBackendTest, TestFaultsSitUnderRetryAndTheEnvironmentCannotTurnThemOn) {
  TempDir tmp;
  std::string root = tmp.path() + "/repo";
  FaultOptions permanent;
  permanent.permanent_probability = 1;
  OpenBackendOptions with_faults;
  with_faults.faults = permanent;
  auto be = OpenBackend(root, /*create=*/true, with_faults);
  ASSERT_TRUE(be.ok()) << be.status().ToString();
  auto* retry = dynamic_cast<RetryBackend*>(be->get());
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(dynamic_cast<FaultInjectingBackend*>(retry->inner()), nullptr);
  EXPECT_EQ((*be)->Save(Pack(Id(1)), AsBytes("x")).code(), StatusCode::kIOError);

  // Issue 11, item 19: LIFEBOAT_FAULT_* once turned faults on in the release binary.
  ASSERT_EQ(::setenv("LIFEBOAT_FAULT_PERMANENT", "1", 1), 0);
  auto plain = OpenBackend(root, /*create=*/true);
  ASSERT_EQ(::unsetenv("LIFEBOAT_FAULT_PERMANENT"), 0);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  auto* plain_retry = dynamic_cast<RetryBackend*>(plain->get());
  ASSERT_NE(plain_retry, nullptr);
  EXPECT_NE(dynamic_cast<LocalBackend*>(plain_retry->inner()), nullptr);

  // The process-wide test setting reaches the two-argument form, until it is cleared.
  SetFaultOptionsForTesting(permanent);
  auto hooked = OpenBackend(root, /*create=*/true);
  SetFaultOptionsForTesting(std::nullopt);
  ASSERT_TRUE(hooked.ok());
  EXPECT_NE(dynamic_cast<FaultInjectingBackend*>(
                dynamic_cast<RetryBackend*>(hooked->get())->inner()),
            nullptr);
  auto after = OpenBackend(root, /*create=*/true);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(dynamic_cast<LocalBackend*>(dynamic_cast<RetryBackend*>(after->get())->inner()),
            nullptr);
}

}  // namespace
}  // namespace lifeboat
