// Tests for CopySnapshots and replica repositories, on MemoryBackends: verbatim copies between
// replicas, re-encrypting copies between unrelated repositories, selection, idempotence, resuming
// after an interrupted copy, damaged source data, lost locks, and copies of copies.

#include "copier/copier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "backend/forwarding_backend.h"
#include "backend/memory_backend.h"
#include "checker/checker.h"
#include "progress_contract.h"
#include "repository/blob_saver.h"
#include "repository/lock.h"
#include "runlog/incident_records.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

BlobSaverOptions OneWorkerSaver() {
  BlobSaverOptions o;
  o.workers = 1;
  return o;
}

// Init takes DefaultKdfParams(): keep scrypt cheap in every test.
[[maybe_unused]] const bool kFastKdf = [] {
  lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
  return true;
}();

constexpr size_t kChunk = 16 * 1024;  // tests split files into fixed-size blobs of this size

// What a test can do to the backend a Repository owns.
struct BackendControl {
  // >= 0: that many more saves succeed, then every save fails with IOError.
  std::atomic<int64_t> saves_left{-1};
  std::atomic<int> saves{0}, failed_saves{0};
  std::atomic<int> pack_loads{0};
};

// Forwards to a MemoryBackend the test keeps, so several Repository objects can share it and the
// test can inspect or damage it. Counts and fails saves, counts whole-pack loads: SaveParts and
// LoadInto go through Save and Load so that none is missed.
class SharedBackend : public ForwardingBackend {
 public:
  SharedBackend(MemoryBackend* inner, std::shared_ptr<BackendControl> control)
      : ForwardingBackend(inner), control_(std::move(control)) {}
  std::string Location() const override { return "shared:" + ForwardingBackend::Location(); }
  Status Save(const ObjectHandle& h, ByteView data) override {
    // Locks are not what these tests count or break.
    if (h.type != ObjectType::kLock) {
      int64_t left = control_->saves_left.load();
      while (left >= 0) {
        if (left == 0) {
          control_->failed_saves++;
          return Status::IOError("injected: save of " + DescribeObject(h) + " failed");
        }
        if (control_->saves_left.compare_exchange_weak(left, left - 1)) break;
      }
      control_->saves++;
    }
    return ForwardingBackend::Save(h, data);
  }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    return SavePartsThroughSave(h, parts);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    if (h.type == ObjectType::kPack && offset == 0 && length == 0) control_->pack_loads++;
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return LoadIntoThroughLoad(h, offset, length, out);
  }

 private:
  std::shared_ptr<BackendControl> control_;
};

Bytes RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// Relative path ("srv/a/x.bin") -> content.
using Files = std::map<std::string, Bytes>;

// One test repository: its store, the control of its backend, and an open Repository.
struct Repo {
  std::unique_ptr<MemoryBackend> store = std::make_unique<MemoryBackend>();
  std::shared_ptr<BackendControl> control = std::make_shared<BackendControl>();
  std::string password;
  std::unique_ptr<Repository> repo;

  std::unique_ptr<Backend> NewBackend() {
    return std::make_unique<SharedBackend>(store.get(), control);
  }
  // Opens the repository afresh (as a new process would) and loads its index.
  Repository& Reopen() {
    repo.reset();
    auto opened = Repository::Open(NewBackend(), password);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    repo = std::move(*opened);
    Status st = repo->LoadIndex();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return *repo;
  }
  std::map<std::string, Bytes> Objects(ObjectType type) {
    std::map<std::string, Bytes> out;
    Status st = store->List(type, "", [&](const ObjectInfo& info) {
      auto data = store->Load({type, info.name}, 0, 0);
      EXPECT_TRUE(data.ok());
      out[info.name] = *data;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok());
    return out;
  }
  size_t Count(ObjectType type) { return Objects(type).size(); }
};

std::unique_ptr<Repo> MakeRepo(const std::string& password,
                               const Repository* replica_source = nullptr) {
  auto r = std::make_unique<Repo>();
  r->password = password;
  InitOptions options;
  if (replica_source)
    options.replica_of = ReplicaSource{replica_source->config().id, replica_source->master_key(),
                                       replica_source->config().chunker};
  auto repo = Repository::Init(r->NewBackend(), password, options);
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
  r->repo = std::move(*repo);
  return r;
}

Id SaveTreeBlob(BlobSaver& saver, Repository& repo, Tree tree) {
  SortTree(&tree);
  Bytes encoded = EncodeTree(tree);
  Id id = repo.codec().ComputeId(encoded);
  auto saved = saver.Save(BlobType::kTree, id, std::move(encoded));
  EXPECT_TRUE(saved.ok()) << saved.status().ToString();
  return id;
}

// Builds the directory `prefix` ("" for the root) of `files`; each file is flushed into packs of
// its own, so snapshots span several packs.
Id BuildDir(BlobSaver& saver, Repository& repo, const Files& files, const std::string& prefix) {
  Tree tree;
  std::set<std::string> dirs;
  for (const auto& [path, content] : files) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = path.substr(prefix.size());
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
      dirs.insert(rest.substr(0, slash));
      continue;
    }
    Node node;
    node.name = rest;
    node.type = NodeType::kFile;
    node.mode = 0644;
    node.mtime_ns = 1700000000000000000 + static_cast<int64_t>(content.size());
    node.size = content.size();
    for (size_t off = 0; off < content.size(); off += kChunk) {
      Bytes chunk(content.begin() + off,
                  content.begin() + std::min(content.size(), off + kChunk));
      Id id = repo.codec().ComputeId(chunk);
      EXPECT_TRUE(saver.Save(BlobType::kData, id, std::move(chunk)).ok());
      node.content.push_back(id);
    }
    EXPECT_TRUE(saver.Flush().ok());
    tree.nodes.push_back(std::move(node));
  }
  for (const auto& dir : dirs) {
    Node node;
    node.name = dir;
    node.type = NodeType::kDir;
    node.mode = 0755;
    node.subtree = BuildDir(saver, repo, files, prefix + dir + "/");
    tree.nodes.push_back(std::move(node));
  }
  return SaveTreeBlob(saver, repo, std::move(tree));
}

struct SnapshotSpec {
  int64_t time_ns = 1000;
  std::vector<std::string> tags;
  std::optional<Id> parent;
  std::string host = "host1";
};

SnapshotSpec At(int64_t time_ns, std::vector<std::string> tags = {},
                std::optional<Id> parent = std::nullopt, std::string host = "host1") {
  SnapshotSpec spec;
  spec.time_ns = time_ns;
  spec.tags = std::move(tags);
  spec.parent = parent;
  spec.host = std::move(host);
  return spec;
}

Id WriteSnapshot(Repository& repo, const Files& files, const SnapshotSpec& spec) {
  BlobSaver saver(repo, OneWorkerSaver());
  Id root = BuildDir(saver, repo, files, "");
  EXPECT_TRUE(saver.Flush().ok());
  Snapshot s;
  s.time_ns = spec.time_ns;
  s.hostname = spec.host;
  s.username = "tester";
  s.paths = {"/srv"};
  s.tags = spec.tags;
  s.parent = spec.parent;
  s.tree = root;
  s.program_version = "lifeboat test";
  s.summary.files_new = files.size();
  auto id = repo.SaveSnapshot(s);
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return *id;
}

// Every file of a snapshot, read back through the repository (blobs verified on load).
Files ReadAll(Repository& repo, const Id& snapshot_id) {
  Files out;
  auto s = repo.LoadSnapshot(snapshot_id);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return out;
  std::function<void(const Id&, const std::string&)> walk = [&](const Id& tree_id,
                                                                const std::string& prefix) {
    auto tree = repo.LoadTree(tree_id);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    for (const Node& node : tree->nodes) {
      if (node.subtree) {
        walk(*node.subtree, prefix + node.name + "/");
        continue;
      }
      Bytes content;
      for (const Id& blob : node.content) {
        auto data = repo.LoadBlob(BlobType::kData, blob);
        ASSERT_TRUE(data.ok()) << data.status().ToString();
        content.insert(content.end(), data->begin(), data->end());
      }
      EXPECT_EQ(content.size(), node.size) << prefix + node.name;
      out[prefix + node.name] = std::move(content);
    }
  };
  walk(s->tree, "");
  return out;
}

std::vector<std::pair<Id, Snapshot>> ListAll(Repository& repo) {
  auto all = repo.ListSnapshots();
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  return all.ok() ? *all : std::vector<std::pair<Id, Snapshot>>{};
}

void ExpectHealthy(Repository& repo) {
  CheckOptions o;
  o.read_data = true;
  auto r = CheckRepository(repo, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string problems;
  for (const auto& p : r->errors) problems += "error: " + p.kind + " " + p.object + ": " + p.message + "\n";
  for (const auto& p : r->warnings)
    problems += "warning: " + p.kind + " " + p.object + ": " + p.message + "\n";
  EXPECT_TRUE(r->errors.empty() && r->warnings.empty()) << problems;
}

Result<CopyResult> Copy(Repo& from, Repo& to, CopyOptions options = {}) {
  // Like two separate processes: fresh Repository objects with freshly loaded indexes.
  from.Reopen();
  to.Reopen();
  return CopySnapshots(*from.repo, *to.repo, options);
}

class CopierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = MakeRepo("pw-a");
    files1_ = {{"srv/a/one.bin", RandomData(40000, 1)},
               {"srv/a/two.bin", RandomData(20000, 2)},
               {"srv/b/three.bin", RandomData(30000, 3)},
               {"srv/empty.txt", Bytes()},
               {"srv/small.txt", RandomData(100, 4)}};
    snap1_ = WriteSnapshot(*a_->repo, files1_, At(1000, {"daily"}));
    files2_ = files1_;
    files2_["srv/b/three.bin"] = RandomData(30000, 5);  // changed
    files2_["srv/b/four.bin"] = RandomData(25000, 6);   // new
    snap2_ = WriteSnapshot(*a_->repo, files2_, At(2000, {}, snap1_));
  }

  std::unique_ptr<Repo> a_;
  Files files1_, files2_;
  Id snap1_, snap2_;
};

TEST_F(CopierTest, ReplicaInitSharesKeyMaterialButNotIdentity) {
  auto b = MakeRepo("pw-b", a_->repo.get());
  auto c = MakeRepo("pw-c");
  EXPECT_TRUE(SharesKeyMaterial(*a_->repo, *b->repo));
  EXPECT_FALSE(SharesKeyMaterial(*a_->repo, *c->repo));
  EXPECT_NE(b->repo->config().id, a_->repo->config().id);
  ASSERT_TRUE(b->repo->config().replica_of.has_value());
  EXPECT_EQ(*b->repo->config().replica_of, a_->repo->config().id);
  EXPECT_FALSE(a_->repo->config().replica_of.has_value());
  EXPECT_EQ(b->repo->config().chunker.avg_size, a_->repo->config().chunker.avg_size);
  // Its own key file: the replica opens with its password only, and the field survives reopening.
  EXPECT_NE(b->repo->key_name(), a_->repo->key_name());
  Repository& reopened = b->Reopen();
  ASSERT_TRUE(reopened.config().replica_of.has_value());
  EXPECT_EQ(*reopened.config().replica_of, a_->repo->config().id);
  auto wrong = Repository::Open(b->NewBackend(), "pw-a");
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(ConfigToJson(reopened.config()).find("\"replica_of\":\"" + a_->repo->config().id.Hex()),
            std::string::npos);
  EXPECT_EQ(ConfigToJson(a_->repo->config()).find("replica_of"), std::string::npos);
}

TEST_F(CopierTest, ReplicaCopyIsVerbatimAndIdempotent) {
  auto b = MakeRepo("pw-b", a_->repo.get());
  std::vector<Id> committed;
  CopyOptions options;
  options.on_copied = [&](const CopiedSnapshot& c) { committed.push_back(c.target_id); };
  auto r = Copy(*a_, *b, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->replica);
  ASSERT_EQ(r->copied.size(), 2u);
  EXPECT_EQ(r->copied[0].source_id, snap1_);  // oldest first
  EXPECT_EQ(r->copied[0].target_id, snap1_);  // verbatim: same bytes, same id
  EXPECT_EQ(r->copied[1].target_id, snap2_);
  EXPECT_EQ(committed, (std::vector<Id>{snap1_, snap2_}));
  EXPECT_EQ(r->stats.blobs_loaded, 0u);
  EXPECT_EQ(r->stats.blobs_reencrypted, 0u);

  // Every pack of the source is in the target, byte for byte, under the same name.
  auto source_packs = a_->Objects(ObjectType::kPack);
  auto target_packs = b->Objects(ObjectType::kPack);
  EXPECT_EQ(source_packs, target_packs);
  EXPECT_EQ(r->stats.packs_copied, source_packs.size());
  uint64_t bytes = 0;
  for (const auto& [name, data] : source_packs) bytes += data.size();
  EXPECT_EQ(r->stats.pack_bytes_copied, bytes);
  // The snapshot objects too.
  EXPECT_EQ(a_->Objects(ObjectType::kSnapshot), b->Objects(ObjectType::kSnapshot));

  Repository& target = b->Reopen();
  EXPECT_EQ(ReadAll(target, snap1_), files1_);
  EXPECT_EQ(ReadAll(target, snap2_), files2_);
  auto listed = ListAll(target);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].second.parent, snap1_);
  EXPECT_FALSE(listed[1].second.original.has_value());
  ExpectHealthy(target);

  // A second run copies nothing and writes nothing.
  size_t objects = b->store->ObjectCount();
  int saves = b->control->saves;
  auto again = Copy(*a_, *b);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->copied.empty());
  EXPECT_EQ(again->stats.snapshots_skipped, 2u);
  ASSERT_EQ(again->skipped.size(), 2u);
  EXPECT_EQ(again->skipped[0], std::make_pair(snap1_, snap1_));
  EXPECT_EQ(again->stats.packs_copied + again->stats.packs_reused, 0u);
  EXPECT_EQ(b->store->ObjectCount(), objects);
  EXPECT_EQ(b->control->saves, saves);
}

TEST_F(CopierTest, ReplicaCopyMovesOnlyWhatTheTargetLacks) {
  auto b = MakeRepo("pw-b", a_->repo.get());
  CopyOptions first;
  first.snapshots = {snap1_.Hex().substr(0, 10)};
  auto r1 = Copy(*a_, *b, first);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_EQ(r1->copied.size(), 1u);
  EXPECT_EQ(r1->copied[0].source_id, snap1_);
  size_t packs_after_first = b->Count(ObjectType::kPack);
  EXPECT_LT(packs_after_first, a_->Count(ObjectType::kPack));

  a_->control->pack_loads = 0;
  auto r2 = Copy(*a_, *b);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_EQ(r2->copied.size(), 1u);
  EXPECT_EQ(r2->copied[0].source_id, snap2_);
  EXPECT_EQ(r2->stats.snapshots_skipped, 1u);
  // Only the packs of the changed and new files, and of the changed trees, moved.
  EXPECT_EQ(r2->stats.packs_copied, a_->Count(ObjectType::kPack) - packs_after_first);
  EXPECT_EQ(a_->control->pack_loads, static_cast<int>(r2->stats.packs_copied));
  EXPECT_EQ(ReadAll(b->Reopen(), snap2_), files2_);
}

TEST_F(CopierTest, SelectionByFilterAndLatest) {
  Id other = WriteSnapshot(*a_->repo, {{"srv/x.txt", RandomData(500, 9)}},
                           At(3000, {"weekly"}, std::nullopt, "host2"));
  auto b = MakeRepo("pw-b", a_->repo.get());
  CopyOptions by_host;
  by_host.filter.hosts = {"host2"};
  auto r = Copy(*a_, *b, by_host);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->copied.size(), 1u);
  EXPECT_EQ(r->copied[0].source_id, other);
  EXPECT_EQ(r->stats.snapshots_selected, 1u);

  CopyOptions latest;
  latest.snapshots = {"latest"};
  latest.filter.hosts = {"host1"};
  r = Copy(*a_, *b, latest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->copied.size(), 1u);
  EXPECT_EQ(r->copied[0].source_id, snap2_);

  CopyOptions by_tag;
  by_tag.filter.tags = {"daily"};
  r = Copy(*a_, *b, by_tag);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->copied.size(), 1u);
  EXPECT_EQ(r->copied[0].source_id, snap1_);

  CopyOptions unknown;
  unknown.snapshots = {"deadbeef"};
  r = Copy(*a_, *b, unknown);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_EQ(ListAll(b->Reopen()).size(), 3u);
}

// Copies with saves failing after n = 0, 1, 2, ... successful saves: each interrupted copy writes
// no snapshot, and a second run finishes, reusing whatever was stored.
void InterruptAndResume(Repo& source, const Files& f1, const Files& f2, const Id& s1,
                        const Id& s2, bool replica) {
  CopyOptions options;
  options.packs_per_index = 1;  // an index file after every pack: many interruption points
  options.pack_workers = 1;
  options.save_workers = 1;
  int total_saves = 0;
  {
    auto probe = replica ? MakeRepo("pw-t", source.repo.get()) : MakeRepo("pw-t");
    int init_saves = probe->control->saves;  // key and config
    auto r = Copy(source, *probe, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    total_saves = probe->control->saves - init_saves;
  }
  ASSERT_GT(total_saves, 4);
  for (int n = 0; n < total_saves; ++n) {
    SCOPED_TRACE("saves allowed: " + std::to_string(n));
    auto t = replica ? MakeRepo("pw-t", source.repo.get()) : MakeRepo("pw-t");
    t->control->saves_left = n;
    auto failed = Copy(source, *t, options);
    t->control->saves_left = -1;
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), StatusCode::kIOError) << failed.status().ToString();
    // The first snapshot may have been committed before the failure, the second never.
    auto listed = ListAll(t->Reopen());
    ASSERT_LE(listed.size(), 1u);
    auto resumed = Copy(source, *t, options);
    ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
    EXPECT_EQ(resumed->copied.size() + listed.size(), 2u);
    if (replica) {
      // Nothing moved twice: the packs of the failed run were reused, not transferred again.
      EXPECT_EQ(t->Objects(ObjectType::kPack), source.Objects(ObjectType::kPack));
    }
    Repository& target = t->Reopen();
    auto all = ListAll(target);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(ReadAll(target, all[0].first), f1);
    EXPECT_EQ(ReadAll(target, all[1].first), f2);
    EXPECT_EQ(all[0].second.Identity(all[0].first), s1);
    EXPECT_EQ(all[1].second.Identity(all[1].first), s2);
    CheckOptions o;
    o.read_data = true;
    auto check = CheckRepository(target, o);
    ASSERT_TRUE(check.ok());
    EXPECT_TRUE(check->errors.empty());
    if (replica) {
      EXPECT_TRUE(check->warnings.empty());  // every stored pack got indexed
    }
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_F(CopierTest, InterruptedReplicaCopyResumes) {
  InterruptAndResume(*a_, files1_, files2_, snap1_, snap2_, /*replica=*/true);
}

TEST_F(CopierTest, InterruptedReencryptingCopyResumes) {
  InterruptAndResume(*a_, files1_, files2_, snap1_, snap2_, /*replica=*/false);
}

TEST_F(CopierTest, ResumedReplicaCopyReusesStoredPacks) {
  auto b = MakeRepo("pw-b", a_->repo.get());
  CopyOptions options;
  options.pack_workers = 1;
  options.packs_per_index = 100;  // no index file before the failure
  b->control->saves_left = 3;     // three packs land, then saving fails
  auto failed = Copy(*a_, *b, options);
  ASSERT_FALSE(failed.ok());
  b->control->saves_left = -1;
  EXPECT_EQ(b->Count(ObjectType::kPack), 3u);
  EXPECT_EQ(b->Count(ObjectType::kIndex), 0u);
  EXPECT_EQ(b->Count(ObjectType::kSnapshot), 0u);
  // A leftover pack damaged in the target is noticed before it is indexed.
  auto leftovers = b->Objects(ObjectType::kPack);
  const auto& [victim, bytes] = *leftovers.begin();
  Bytes damaged = bytes;
  damaged[damaged.size() / 2] ^= 1;
  ASSERT_TRUE(b->store->ReplaceForTesting({ObjectType::kPack, victim}, damaged).ok());
  auto refused = Copy(*a_, *b, options);
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find(victim), std::string::npos);
  EXPECT_EQ(b->Count(ObjectType::kSnapshot), 0u);
  ASSERT_TRUE(b->store->ReplaceForTesting({ObjectType::kPack, victim}, bytes).ok());

  auto r = Copy(*a_, *b, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.packs_reused, 3u);
  EXPECT_EQ(r->stats.packs_copied + 3, a_->Count(ObjectType::kPack));
  ExpectHealthy(b->Reopen());
}

TEST_F(CopierTest, DamagedSourcePackIsNotCopied) {
  // Flip one byte in the pack holding a blob of one.bin.
  Repository& source = a_->Reopen();
  auto tree = source.LoadTree(ListAll(source)[0].second.tree);
  ASSERT_TRUE(tree.ok());
  auto srv = source.LoadTree(*tree->nodes[0].subtree);
  ASSERT_TRUE(srv.ok());
  auto dir_a = source.LoadTree(*srv->nodes[0].subtree);  // "a"
  ASSERT_TRUE(dir_a.ok());
  ASSERT_EQ(dir_a->nodes[0].name, "one.bin");
  Id pack = source.index().Find(BlobType::kData, dir_a->nodes[0].content[0])->pack;
  auto data = a_->store->Load({ObjectType::kPack, pack.Hex()}, 0, 0);
  ASSERT_TRUE(data.ok());
  (*data)[data->size() / 3] ^= 0x10;
  ASSERT_TRUE(a_->store->ReplaceForTesting({ObjectType::kPack, pack.Hex()}, *data).ok());

  auto b = MakeRepo("pw-b", a_->repo.get());
  auto r = Copy(*a_, *b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(pack.Hex()), std::string::npos) << r.status().message();
  EXPECT_EQ(b->Count(ObjectType::kSnapshot), 0u);
  EXPECT_FALSE(b->store->Stat({ObjectType::kPack, pack.Hex()}).ok());

  // Re-encrypting reads every blob, so it notices too, and writes no snapshot.
  auto c = MakeRepo("pw-c");
  r = Copy(*a_, *c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find(pack.Hex()), std::string::npos) << r.status().message();
  EXPECT_EQ(c->Count(ObjectType::kSnapshot), 0u);
}

TEST_F(CopierTest, ReencryptingCopyKeepsContentAndMarksOriginal) {
  auto c = MakeRepo("pw-c");
  auto r = Copy(*a_, *c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->replica);
  ASSERT_EQ(r->copied.size(), 2u);
  EXPECT_EQ(r->stats.packs_copied, 0u);
  EXPECT_GT(r->stats.blobs_reencrypted, 0u);
  EXPECT_GT(r->stats.bytes_reencrypted, 0u);
  EXPECT_GT(r->stats.index_files, 0u);
  // No pack or snapshot object is shared: everything was sealed anew under the target's keys.
  for (const auto& [name, data] : a_->Objects(ObjectType::kPack))
    EXPECT_FALSE(c->store->Stat({ObjectType::kPack, name}).ok());

  Repository& target = c->Reopen();
  auto listed = ListAll(target);
  ASSERT_EQ(listed.size(), 2u);
  const auto& [c1, s1] = listed[0];
  const auto& [c2, s2] = listed[1];
  EXPECT_NE(c1, snap1_);
  EXPECT_EQ(s1.original, snap1_);
  EXPECT_EQ(s2.original, snap2_);
  EXPECT_EQ(s1.Identity(c1), snap1_);
  EXPECT_FALSE(s1.parent.has_value());
  EXPECT_EQ(s2.parent, c1);  // mapped to the copy of the source parent
  EXPECT_EQ(s1.time_ns, 1000);
  EXPECT_EQ(s1.hostname, "host1");
  EXPECT_EQ(s1.username, "tester");
  EXPECT_EQ(s1.paths, std::vector<std::string>{"/srv"});
  EXPECT_EQ(s1.tags, std::vector<std::string>{"daily"});
  EXPECT_EQ(s1.program_version, "lifeboat test");
  EXPECT_EQ(s1.summary.files_new, files1_.size());
  EXPECT_EQ(ReadAll(target, c1), files1_);
  EXPECT_EQ(ReadAll(target, c2), files2_);
  ExpectHealthy(target);

  size_t objects = c->store->ObjectCount();
  auto again = Copy(*a_, *c);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->copied.empty());
  EXPECT_EQ(again->stats.snapshots_skipped, 2u);
  EXPECT_EQ(again->stats.blobs_loaded, 0u);
  EXPECT_EQ(c->store->ObjectCount(), objects);
}

TEST_F(CopierTest, ReencryptingCopyIsIncrementalAcrossRuns) {
  auto c = MakeRepo("pw-c");
  CopyOptions first;
  first.snapshots = {snap1_.Hex()};
  auto r1 = Copy(*a_, *c, first);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  size_t blobs1 = 0;
  for (const auto& [path, content] : files1_) blobs1 += (content.size() + kChunk - 1) / kChunk;
  EXPECT_EQ(r1->stats.blobs_loaded, blobs1);

  // A new run (no memory of the first) copies snapshot 2: only the blobs of the changed and the
  // new file are read; the unchanged directory "a" maps to the earlier copy without being read.
  auto r2 = Copy(*a_, *c);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_EQ(r2->copied.size(), 1u);
  size_t changed = (files2_["srv/b/three.bin"].size() + kChunk - 1) / kChunk +
                   (files2_["srv/b/four.bin"].size() + kChunk - 1) / kChunk;
  EXPECT_EQ(r2->stats.blobs_loaded, changed);
  EXPECT_GE(r2->stats.trees_reused, 1u);
  Repository& target = c->Reopen();
  EXPECT_EQ(ReadAll(target, r2->copied[0].target_id), files2_);
  ExpectHealthy(target);
}

TEST_F(CopierTest, ReencryptingCopyReusesUnchangedChunksOfChangedFiles) {
  auto c = MakeRepo("pw-c");
  ASSERT_TRUE(Copy(*a_, *c).ok());
  Files files3 = files2_;
  Bytes& grown = files3["srv/a/one.bin"];
  Bytes tail = RandomData(kChunk, 11);
  grown.insert(grown.end(), tail.begin(), tail.end());  // one new blob at the end
  Id snap3 = WriteSnapshot(*a_->repo, files3, At(3000, {}, snap2_));
  auto r = Copy(*a_, *c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->copied.size(), 1u);
  EXPECT_EQ(r->copied[0].source_id, snap3);
  // one.bin's old last blob was partial, so two of its blobs are new: only those are read.
  EXPECT_EQ(r->stats.blobs_loaded, 2u);
  EXPECT_EQ(ReadAll(c->Reopen(), r->copied[0].target_id), files3);
}

TEST_F(CopierTest, CopiesOfCopiesKeepTheirIdentity) {
  // A -> B (replica, verbatim) -> C (re-encrypted) -> D (replica of C, verbatim) -> E (re-encrypted).
  auto b = MakeRepo("pw-b", a_->repo.get());
  auto c = MakeRepo("pw-c");
  auto d = MakeRepo("pw-d", c->repo.get());
  auto e = MakeRepo("pw-e");
  ASSERT_TRUE(Copy(*a_, *b).ok());
  auto bc = Copy(*b, *c);
  ASSERT_TRUE(bc.ok()) << bc.status().ToString();
  EXPECT_FALSE(bc->replica);
  auto cd = Copy(*c, *d);
  ASSERT_TRUE(cd.ok()) << cd.status().ToString();
  EXPECT_TRUE(cd->replica);
  auto de = Copy(*d, *e);
  ASSERT_TRUE(de.ok()) << de.status().ToString();
  EXPECT_FALSE(de->replica);
  for (Repo* repo : {b.get(), c.get(), d.get(), e.get()}) {
    auto listed = ListAll(repo->Reopen());
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].second.Identity(listed[0].first), snap1_);
    EXPECT_EQ(listed[1].second.Identity(listed[1].first), snap2_);
  }
  Repository& last = e->Reopen();
  EXPECT_EQ(ReadAll(last, ListAll(last)[1].first), files2_);
  // Copying the original straight to the end of the chain finds both already there.
  for (Repo* repo : {c.get(), d.get(), e.get()}) {
    auto r = Copy(*a_, *repo);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->copied.empty());
    EXPECT_EQ(r->stats.snapshots_skipped, 2u);
  }
  // And copying back from the end of the chain into the source writes nothing either.
  auto back = Copy(*e, *a_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->copied.empty());
}

TEST_F(CopierTest, CancelWritesNoSnapshot) {
  std::atomic<bool> cancel{true};
  for (bool replica : {true, false}) {
    auto t = replica ? MakeRepo("pw-t", a_->repo.get()) : MakeRepo("pw-t");
    CopyOptions options;
    options.context = Context().WithCancel(&cancel);
    auto r = Copy(*a_, *t, options);
    EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
    EXPECT_EQ(t->Count(ObjectType::kSnapshot), 0u);
  }
}

TEST_F(CopierTest, LostTargetLockStopsBeforeTheSnapshot) {
  for (bool replica : {true, false}) {
    auto t = replica ? MakeRepo("pw-t", a_->repo.get()) : MakeRepo("pw-t");
    a_->Reopen();
    Repository& target = t->Reopen();
    ManualClock clock(1'000'000'000'000, /*auto_advance=*/false);
    LockOptions lo;
    lo.clock = &clock;
    lo.refresh_interval_ns = 3600LL * 1000000000;  // no refresh during the test
    auto lock = RepositoryLock::Acquire(target, LockKind::kShared, lo);
    ASSERT_TRUE(lock.ok()) << lock.status().ToString();
    clock.Advance(lo.lost_after_ns + 1);
    CopyOptions options;
    options.target_lock = lock->get();
    auto r = CopySnapshots(*a_->repo, target, options);
    EXPECT_EQ(r.status().code(), StatusCode::kLocked) << r.status().ToString();
    EXPECT_EQ(t->Count(ObjectType::kSnapshot), 0u);
  }
}

TEST_F(CopierTest, ProgressIsReported) {
  auto b = MakeRepo("pw-b", a_->repo.get());
  std::vector<CopyProgress> seen;
  CopyOptions options;
  options.progress = [&](const CopyProgress& p) { seen.push_back(p); };
  auto r = Copy(*a_, *b, options);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().snapshots_total, 2u);
  EXPECT_EQ(seen.back().snapshots_done, 2u);
  EXPECT_EQ(seen.back().stats.packs_copied, r->stats.packs_copied);
}

// Opens `r` afresh over a backend that moves `clock` one second per call.
std::unique_ptr<Repository> OpenTicking(Repo& r, ManualClock* clock) {
  auto opened = Repository::Open(std::make_unique<testing::TickingBackend>(r.NewBackend(), clock),
                                 r.password);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return nullptr;
  EXPECT_TRUE((*opened)->LoadIndex().ok());
  return std::move(*opened);
}

// Both modes: the phases in order on the context's clock (each one talks to a backend that moves
// the clock, so each took time), and progress on one reporter thread ending with one final report
// that names a phase of the result.
TEST_F(CopierTest, PhasesInOrderOnTheContextClockAndProgressOnOneReporterThread) {
  struct Mode {
    const char* name;
    std::unique_ptr<Repo> target;
    std::vector<std::string> phases;
  };
  Mode modes[] = {
      {"replica",
       MakeRepo("pw-b", a_->repo.get()),
       {"select", "walk", "transfer", "index", "commit"}},
      {"re-encrypt", MakeRepo("pw-c"), {"select", "transfer", "commit"}},
  };
  for (Mode& mode : modes) {
    SCOPED_TRACE(mode.name);
    ManualClock clock(NowNs(), /*auto_advance=*/false);
    auto source = OpenTicking(*a_, &clock);
    auto target = OpenTicking(*mode.target, &clock);
    ASSERT_TRUE(source && target);
    testing::ProgressLog log;
    std::vector<CopyProgress> finals;
    CopyOptions options;
    options.context = Context().WithClock(clock);
    options.progress_interval_ms = 1;
    options.progress = [&](const CopyProgress& p) {
      log.Record(p);
      if (p.final) finals.push_back(p);
    };
    const int64_t start_ns = clock.MonotonicNs();
    auto r = CopySnapshots(*source, *target, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->copied.size(), 2u);
    EXPECT_EQ(testing::PhaseNames(r->phases), mode.phases);
    for (const PhaseTime& p : r->phases) EXPECT_GE(p.seconds, 1.0) << p.phase;
    EXPECT_LE(TotalSeconds(r->phases), static_cast<double>(clock.MonotonicNs() - start_ns) / 1e9);
    log.ExpectContract(std::this_thread::get_id(), r->phases);
    ASSERT_EQ(finals.size(), 1u);
    EXPECT_EQ(finals[0].phase, "commit");
    EXPECT_EQ(finals[0].snapshots_done, 2u);
    EXPECT_EQ(finals[0].stats.snapshots_copied, 2u);

    // Nothing left to copy: the selection alone.
    auto again = CopySnapshots(*source, *target, CopyOptions{});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(testing::PhaseNames(again->phases), (std::vector<std::string>{"select"}));
  }
}

// Run records (format §12) travel with copy: those the target lacks, once, in a phase of their
// own; a snapshot selection does not limit them, and run_records = false leaves them.
TEST_F(CopierTest, RunRecordsAreCarriedOnceByIdentity) {
  std::vector<RunRecord> records;
  for (int i = 0; i < 3; ++i) {
    RunRecord r;
    r.id = NewRunRecordId();
    r.run_id = NewRunId();
    r.service = "svc" + std::to_string(i);
    r.site = "primary";
    r.start_ns = (i + 1) * 1'000'000'000LL;
    r.end_ns = r.start_ns + 1;
    r.host = "h";
    r.program_version = "lifeboat test";
    ASSERT_TRUE(WriteRunRecords(*a_->repo, {r}, Context()).ok());
    records.push_back(r);
  }
  for (bool replica : {true, false}) {
    SCOPED_TRACE(replica ? "replica" : "re-encrypt");
    auto b = replica ? MakeRepo("pw-b", a_->repo.get()) : MakeRepo("pw-b");
    CopyOptions off;
    off.run_records = false;
    off.snapshots = {snap1_.Hex()};
    auto none = CopySnapshots(*a_->repo, *b->repo, off);
    ASSERT_TRUE(none.ok()) << none.status().ToString();
    EXPECT_EQ(b->Count(ObjectType::kRun), 0u);

    CopyOptions options;
    options.snapshots = {snap1_.Hex()};  // the records are not selected by snapshot
    auto r = CopySnapshots(*a_->repo, *b->repo, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->run_records_copied, 3u);
    EXPECT_EQ(testing::PhaseNames(r->phases).back(), "runs");
    auto listed = ListRunRecords(*b->repo, {}, Context());
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->records.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(listed->records[i].id, records[i].id);

    auto again = CopySnapshots(*a_->repo, *b->repo, CopyOptions{});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->run_records_copied, 0u);
    EXPECT_EQ(again->run_records_present, 3u);
    EXPECT_EQ(b->Count(ObjectType::kRun), 1u);
  }
}

// Incident records (format §12.2) travel with copy like run records: every state of every
// incident the target lacks, once; the target's reader then sees the same newest state.
TEST_F(CopierTest, IncidentRecordsAreCarriedWithEveryState) {
  IncidentRecord r;
  r.id = NewIncidentId();
  r.sequence = 1;
  r.declared_by = "operator root@dr1";
  r.from_site = "main";
  r.to_site = "dr-site";
  r.host = "dr1";
  r.version = "lifeboat test";
  r.start_ns = 5'000'000'000LL;
  r.services = {{"shop",
                 1,
                 0,
                 "running",
                 "",
                 {{"files", std::string(64, 'c')}},
                 0,
                 {},
                 {},
                 {},
                 0,
                 {},
                 {},
                 ""}};
  ASSERT_TRUE(WriteIncidentRecord(*a_->repo, r, Context()).ok());
  r.sequence = 2;
  r.state = IncidentState::kCommitted;
  r.services[0].result = "recovered";
  ASSERT_TRUE(WriteIncidentRecord(*a_->repo, r, Context()).ok());
  for (bool replica : {true, false}) {
    SCOPED_TRACE(replica ? "replica" : "re-encrypt");
    auto b = replica ? MakeRepo("pw-b", a_->repo.get()) : MakeRepo("pw-b");
    CopyOptions options;
    options.snapshots = {snap1_.Hex()};
    auto copied = CopySnapshots(*a_->repo, *b->repo, options);
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
    EXPECT_EQ(copied->incident_records_copied, 2u);
    auto listed = ListIncidents(*b->repo, Context());
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    ASSERT_EQ(listed->incidents.size(), 1u);
    EXPECT_EQ(listed->incidents[0].sequence, 2u);
    EXPECT_EQ(listed->incidents[0].state, IncidentState::kCommitted);
    EXPECT_EQ(listed->superseded, 1u);
    auto again = CopySnapshots(*a_->repo, *b->repo, CopyOptions{});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->incident_records_copied, 0u);
    EXPECT_EQ(again->incident_records_present, 2u);
  }
}

// on_copied runs on the caller's thread, progress never does, and a copy that fails makes no
// final report.
TEST_F(CopierTest, OnCopiedOnTheCallersThreadAndNoFinalReportAfterAFailure) {
  auto b = MakeRepo("pw-b", a_->repo.get());
  std::vector<std::thread::id> copied_on;
  testing::ProgressLog log;
  CopyOptions options;
  options.progress_interval_ms = 1;
  options.progress = [&](const CopyProgress& p) { log.Record(p); };
  options.on_copied = [&](const CopiedSnapshot&) {
    copied_on.push_back(std::this_thread::get_id());
  };
  b->control->saves_left = 0;  // every save into the target fails
  auto r = Copy(*a_, *b, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(log.finals(), 0u);
  EXPECT_TRUE(copied_on.empty());

  b->control->saves_left = -1;
  auto ok = Copy(*a_, *b, options);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(copied_on.size(), 2u);
  for (const auto& t : copied_on) EXPECT_EQ(t, std::this_thread::get_id());
  EXPECT_EQ(log.finals(), 1u);
  for (const auto& e : log.records()) EXPECT_NE(e.thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace lifeboat
