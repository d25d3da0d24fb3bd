#include "engine/multi_site.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "backend/forwarding_backend.h"
#include "checker/checker.h"
#include "copier/copier.h"
#include "repair/repair.h"
#include "restorer/restorer.h"
#include "repository/keys.h"

namespace lifeboat {
namespace {

// Fails every save of a pack after the first `allowed` with a permanent error: a site that dies
// in the middle of a backup.
class DyingBackend : public ForwardingBackend {
 public:
  DyingBackend(std::unique_ptr<Backend> inner, int allowed)
      : ForwardingBackend(std::move(inner)), allowed_(allowed) {}
  Status Save(const ObjectHandle& h, ByteView data) override {
    LB_RETURN_IF_ERROR(MaybeDie(h));
    return ForwardingBackend::Save(h, data);
  }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    LB_RETURN_IF_ERROR(MaybeDie(h));
    return ForwardingBackend::SaveParts(h, parts);
  }

 private:
  Status MaybeDie(const ObjectHandle& h) {
    if (h.type != ObjectType::kPack) return Status::Ok();
    if (allowed_.fetch_sub(1) > 0) return Status::Ok();
    return Status::IOError("site died (test)");
  }
  std::atomic<int> allowed_;
};

class MultiSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 1});
    char tmpl[] = "/tmp/lb_multi_site_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    a_ = dir_ + "/a";
    b_ = dir_ + "/b";
    c_ = dir_ + "/c";
    auto backend = OpenBackend(a_, true);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    InitOptions init;
    init.pack_size = 1 << 20;  // the smallest: several packs from a few files
    auto primary = Repository::Init(std::move(*backend), "secret", init);
    ASSERT_TRUE(primary.ok()) << primary.status().ToString();
    for (const std::string& replica : {b_, c_}) MakeReplica(**primary, replica);
    data_ = dir_ + "/data";
    std::filesystem::create_directories(data_);
    WriteData(1, 8);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    SetKdfParamsOverrideForTesting(std::nullopt);
  }

  static void MakeReplica(const Repository& source, const std::string& location) {
    auto backend = OpenBackend(location, true);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    InitOptions init;
    init.pack_size = source.config().pack_size;
    init.replica_of = ReplicaSource{source.config().id, source.master_key(),
                                    source.config().chunker};
    auto replica = Repository::Init(std::move(*backend), "other-password", init);
    ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  }

  // Files of distinct pseudo-random content, 600 KiB each, named by seed.
  void WriteData(int first_seed, int count) {
    for (int seed = first_seed; seed < first_seed + count; ++seed) {
      std::string content(600 * 1024, '\0');
      uint64_t x = static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ull;
      for (char& ch : content) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ch = static_cast<char>(x);
      }
      std::ofstream(data_ + "/file" + std::to_string(seed), std::ios::binary) << content;
    }
  }

  MultiSiteOptions Options() const {
    MultiSiteOptions o;
    o.primary.location = a_;
    o.primary.password = PasswordSource::Value("secret");
    o.replicas = {{"b", b_, DefaultOpenBackendOptions(), {}}, {"c", c_, DefaultOpenBackendOptions(), {}}};
    return o;
  }

  SiteBackupFn Backup() const {
    return [this](Repository& repo, RepositoryLock* lock) {
      BackupOptions b;
      b.paths = {data_};
      b.lock = lock;
      return RunBackup(repo, b);
    };
  }

  // The snapshots at `location` (opened with its own password when it is a replica).
  static std::vector<Id> Snapshots(const std::string& location, const std::string& password) {
    auto backend = OpenBackend(location, false);
    EXPECT_TRUE(backend.ok());
    auto repo = Repository::Open(std::move(*backend), password);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    std::vector<Id> ids;
    auto list = (*repo)->ListSnapshots();
    EXPECT_TRUE(list.ok());
    for (const auto& [id, snapshot] : *list) ids.push_back(id);
    return ids;
  }

  // Runs check --read-data at `location`; returns the errors' count (-1 if check failed).
  static int Problems(const std::string& location, const std::string& password) {
    auto backend = OpenBackend(location, false);
    auto repo = Repository::Open(std::move(*backend), password);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    CheckOptions o;
    o.read_data = true;
    auto result = CheckRepository(**repo, o);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok()) return -1;
    return static_cast<int>(result->errors.size());
  }

  static const SiteReport* Site(const MultiSiteResult& r, const std::string& name) {
    for (const SiteReport& s : r.sites) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

  std::string dir_, a_, b_, c_, data_;
};

TEST_F(MultiSiteTest, OneBackupLandsOnEverySiteAndEachChecksClean) {
  auto result = RunMultiSiteBackup(Options(), Backup());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->backup.snapshot_id);
  EXPECT_FALSE(result->incomplete());
  ASSERT_EQ(result->sites.size(), 3u);
  EXPECT_TRUE(result->sites[0].primary);
  for (const SiteReport& s : result->sites) {
    EXPECT_TRUE(s.error.ok()) << s.name << ": " << s.error.ToString();
    EXPECT_TRUE(s.snapshot_landed) << s.name;
    EXPECT_GT(s.bytes_sent, 8u * 600 * 1024 / 2) << s.name;
    // Every site got the same objects: the packs were encoded once.
    EXPECT_EQ(s.bytes_sent, result->sites[0].bytes_sent) << s.name;
  }
  const std::vector<Id> expected{*result->backup.snapshot_id};
  EXPECT_EQ(Snapshots(a_, "secret"), expected);
  EXPECT_EQ(Snapshots(b_, "other-password"), expected);
  EXPECT_EQ(Snapshots(c_, "other-password"), expected);
  EXPECT_EQ(Problems(a_, "secret"), 0);
  EXPECT_EQ(Problems(b_, "other-password"), 0);
  EXPECT_EQ(Problems(c_, "other-password"), 0);
}

TEST_F(MultiSiteTest, AReplicaThatDiesMidWayIsNamedAndTheNextBackupCatchesItUp) {
  MultiSiteOptions o = Options();
  o.replicas[1].decorate_backend = [](std::unique_ptr<Backend> b) -> std::unique_ptr<Backend> {
    return std::make_unique<DyingBackend>(std::move(b), 2);
  };
  auto first = RunMultiSiteBackup(o, Backup());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->backup.snapshot_id);
  EXPECT_TRUE(first->incomplete());
  const SiteReport* c = Site(*first, "c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->error.code(), StatusCode::kIOError) << c->error.ToString();
  EXPECT_NE(c->error.message().find("site died"), std::string::npos);
  EXPECT_FALSE(c->snapshot_landed);
  EXPECT_TRUE(Site(*first, "b")->snapshot_landed);
  EXPECT_TRUE(Snapshots(c_, "other-password").empty());
  EXPECT_EQ(Snapshots(b_, "other-password").size(), 1u);
  // What the dead site holds is consistent (packs without a snapshot are not damage).
  EXPECT_EQ(Problems(c_, "other-password"), 0);

  // The site is back: the next backup first sends it the snapshot it missed, reusing the packs
  // it already got, then writes the new snapshot everywhere.
  WriteData(100, 2);
  std::vector<CopyResult> catch_ups;
  MultiSiteOptions again = Options();
  again.on_caught_up = [&](const std::string& site, const CopyResult& r) {
    if (site == "c") catch_ups.push_back(r);
  };
  auto second = RunMultiSiteBackup(again, Backup());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->incomplete());
  ASSERT_EQ(catch_ups.size(), 1u);
  EXPECT_EQ(catch_ups[0].copied.size(), 1u);
  EXPECT_EQ(catch_ups[0].copied[0].source_id, *first->backup.snapshot_id);
  // The two packs that arrived before the site died were not sent again.
  EXPECT_GE(catch_ups[0].stats.packs_reused, 1u);
  const std::vector<Id> a = Snapshots(a_, "secret");
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(Snapshots(b_, "other-password"), a);
  EXPECT_EQ(Snapshots(c_, "other-password"), a);
  EXPECT_EQ(Problems(c_, "other-password"), 0);
}

TEST_F(MultiSiteTest, ARepositoryThatIsNotAReplicaIsRefusedAndTheOthersGetTheSnapshot) {
  const std::string stranger = dir_ + "/stranger";
  auto backend = OpenBackend(stranger, true);
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE(Repository::Init(std::move(*backend), "secret", InitOptions{}).ok());
  MultiSiteOptions o = Options();
  o.replicas.push_back({"stranger", stranger, DefaultOpenBackendOptions(), {}});
  auto result = RunMultiSiteBackup(o, Backup());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->incomplete());
  const SiteReport* s = Site(*result, "stranger");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->error.code(), StatusCode::kFailedPrecondition) << s->error.ToString();
  EXPECT_NE(s->error.message().find("is not a replica of"), std::string::npos);
  EXPECT_NE(s->error.message().find("init --replica-of"), std::string::npos);
  EXPECT_EQ(s->objects_sent, 0u);
  EXPECT_TRUE(Snapshots(stranger, "secret").empty());
  EXPECT_TRUE(Site(*result, "b")->snapshot_landed);
  EXPECT_TRUE(Site(*result, "c")->snapshot_landed);
}

TEST_F(MultiSiteTest, AnUnreachableReplicaIsNamedAndAMissingPrimaryWritesNothing) {
  MultiSiteOptions o = Options();
  o.replicas[0].location = dir_ + "/nowhere";
  auto result = RunMultiSiteBackup(o, Backup());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->sites[1].error.code(), StatusCode::kNoRepository);
  EXPECT_TRUE(result->sites[2].snapshot_landed);

  MultiSiteOptions no_primary = Options();
  no_primary.primary.location = dir_ + "/gone";
  EXPECT_EQ(RunMultiSiteBackup(no_primary, Backup()).status().code(), StatusCode::kNoRepository);
  EXPECT_EQ(Snapshots(b_, "other-password").size(), 0u);
}

TEST_F(MultiSiteTest, ASiteNamedTwiceIsRefusedBeforeAnythingIsWritten) {
  MultiSiteOptions o = Options();
  o.replicas[1].location = "local:" + b_ + "/";
  EXPECT_EQ(RunMultiSiteBackup(o, Backup()).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.replicas[0].location = a_;
  EXPECT_EQ(RunMultiSiteBackup(o, Backup()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Snapshots(a_, "secret").empty());
}

// --- replicas covering for damage (--fallback, repair packs --from) ---

class FallbackTest : public MultiSiteTest {
 protected:
  void SetUp() override {
    MultiSiteTest::SetUp();
    MultiSiteOptions o = Options();
    o.replicas.pop_back();  // A and its replica B
    auto r = RunMultiSiteBackup(o, Backup());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->incomplete());
    snapshot_ = *r->backup.snapshot_id;
  }

  // A opened with its password and index, and B as its fallback.
  void OpenBoth() {
    auto a = Repository::Open(*OpenBackend(a_, false), "secret");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    a_repo_ = std::move(*a);
    ASSERT_TRUE(a_repo_->LoadIndex().ok());
    auto b = Repository::OpenReplica(*OpenBackend(b_, false), *a_repo_);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    b_repo_ = std::move(*b);
    ASSERT_TRUE(b_repo_->LoadIndex().ok());
    a_repo_->SetFallbacks({b_repo_.get()}, [this](const FallbackEvent& e) {
      std::lock_guard lock(events_mu_);
      events_.push_back(e);
    });
  }

  // The packs at A holding data blobs, sorted.
  std::vector<std::string> DataPacks() {
    auto a = Repository::Open(*OpenBackend(a_, false), "secret");
    EXPECT_TRUE(a.ok());
    EXPECT_TRUE((*a)->LoadIndex().ok());
    std::set<std::string> packs;
    (*a)->index().ForEach([&](const Id& pack, const PackedBlob& blob) {
      if (blob.type == BlobType::kData) packs.insert(pack.Hex());
    });
    return {packs.begin(), packs.end()};
  }

  // Flips one byte in the middle of a pack file at A (damage at rest).
  void Damage(const std::string& pack) {
    const std::string path = a_ + "/data/" + pack.substr(0, 2) + "/" + pack;
    std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.good()) << path;
    file.seekg(100);
    char c = 0;
    file.read(&c, 1);
    c ^= 0x40;
    file.seekp(100);
    file.write(&c, 1);
  }

  void RemovePack(const std::string& pack) {
    ASSERT_TRUE(std::filesystem::remove(a_ + "/data/" + pack.substr(0, 2) + "/" + pack));
  }

  Id snapshot_;
  std::unique_ptr<Repository> a_repo_, b_repo_;
  std::mutex events_mu_;
  std::vector<FallbackEvent> events_;
};

TEST_F(FallbackTest, ARestoreFromADamagedSiteIsBitExactAndNamesWhatWasWrong) {
  const std::vector<std::string> packs = DataPacks();
  ASSERT_GE(packs.size(), 2u);
  Damage(packs[0]);
  RemovePack(packs[1]);
  OpenBoth();
  auto snapshot = a_repo_->LoadSnapshot(snapshot_);
  ASSERT_TRUE(snapshot.ok());
  RestoreOptions o;
  o.target = dir_ + "/restored";
  o.verify = true;
  auto r = RestoreTree(*a_repo_, snapshot->tree, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty());
  for (const auto& entry : std::filesystem::directory_iterator(data_)) {
    const std::string name = entry.path().filename();
    std::ifstream want(entry.path(), std::ios::binary), got(o.target + data_ + "/" + name,
                                                            std::ios::binary);
    std::string w((std::istreambuf_iterator<char>(want)), {}), g((std::istreambuf_iterator<char>(got)), {});
    EXPECT_EQ(w, g) << name;
  }
  std::set<std::string> damaged_packs;
  for (const FallbackEvent& e : events_) {
    EXPECT_NE(e.damaged_at.find(a_), std::string::npos) << e.damaged_at;
    EXPECT_NE(e.served_by.find(b_), std::string::npos) << e.served_by;
    EXPECT_TRUE(e.damage.IsCorruption() || e.damage.IsNotFound()) << e.damage.ToString();
    for (const std::string& p : {packs[0], packs[1]}) {
      if (e.object.find(p) != std::string::npos) damaged_packs.insert(p);
    }
  }
  EXPECT_EQ(damaged_packs, (std::set<std::string>{packs[0], packs[1]}));

  // Without the replica the same restore fails on the damage.
  a_repo_->SetFallbacks({}, nullptr);
  RestoreOptions alone = o;
  alone.target = dir_ + "/restored-alone";
  auto failed = RestoreTree(*a_repo_, snapshot->tree, alone);
  EXPECT_TRUE(!failed.ok() || !failed->errors.empty());
}

TEST_F(FallbackTest, CopyFromADamagedSiteTakesThePackFromTheReplica) {
  const std::vector<std::string> packs = DataPacks();
  Damage(packs[0]);
  OpenBoth();
  // C is a replica too: a replica-mode copy moves packs verbatim.
  auto c = Repository::OpenReplica(*OpenBackend(c_, false), *a_repo_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->LoadIndex().ok());
  auto copied = CopySnapshots(*a_repo_, **c, CopyOptions{});
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->copied.size(), 1u);
  EXPECT_EQ(Problems(c_, "other-password"), 0);
  bool named = false;
  for (const FallbackEvent& e : events_) named |= e.object == "pack " + packs[0];
  EXPECT_TRUE(named);
}

TEST_F(FallbackTest, RepairPacksFromAReplicaPutsBackTheOriginalBytes) {
  const std::vector<std::string> packs = DataPacks();
  const std::string path = a_ + "/data/" + packs[0].substr(0, 2) + "/" + packs[0];
  std::ifstream original_file(path, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(original_file)), {});
  Damage(packs[0]);
  RemovePack(packs[1]);
  EXPECT_GT(Problems(a_, "secret"), 0);
  OpenBoth();
  RepairPacksOptions o;
  o.find_damaged = true;
  auto lock = RepositoryLock::Acquire(*a_repo_, LockKind::kExclusive, DefaultLockOptions());
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  auto r = RepairPacks(*a_repo_, lock->get(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->healed.size(), 2u);
  EXPECT_TRUE(r->packs.empty());  // nothing left to salvage: no blob lost
  EXPECT_EQ(r->blobs_lost, 0u);
  ASSERT_TRUE((*lock)->Release().ok());
  std::ifstream healed_file(path, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(healed_file)), {}), original);
  EXPECT_EQ(Problems(a_, "secret"), 0);
}

}  // namespace
}  // namespace lifeboat
