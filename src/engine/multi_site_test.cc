#include "engine/multi_site.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "backend/forwarding_backend.h"
#include "checker/checker.h"
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

}  // namespace
}  // namespace lifeboat
