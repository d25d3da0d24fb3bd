#include "runlog/cache.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "backend/forwarding_backend.h"
#include "small_repo_fixture.h"

namespace lifeboat {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// Counts the run and snapshot objects loaded through it.
class CountingBackend : public ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    Count(h);
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    Count(h);
    return ForwardingBackend::LoadInto(h, offset, length, out);
  }
  std::atomic<int> runs{0}, snapshots{0};

 private:
  void Count(const ObjectHandle& h) {
    if (h.type == ObjectType::kRun) runs++;
    if (h.type == ObjectType::kSnapshot) snapshots++;
  }
};

RunRecord Record(const std::string& service, int64_t start_ns) {
  RunRecord r;
  r.id = NewRunRecordId();
  r.run_id = NewRunId();
  r.service = service;
  r.site = "primary";
  r.start_ns = start_ns;
  r.end_ns = start_ns + kSecond;
  r.host = "h";
  r.program_version = "lifeboat test";
  return r;
}

class StatusCacheTest : public testing::SmallRepoFixture {
 protected:
  void SetUp() override {
    SmallRepoFixture::SetUp();
    char tmpl[] = "/tmp/lifeboat-cache-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sub/status.sqlite3";
    auto counting = std::make_unique<CountingBackend>(&mem_);
    counting_ = counting.get();
    auto repo = Repository::Open(std::move(counting), "pw");
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<StatusCache> OpenCache() {
    auto c = StatusCache::Open(path_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::string dir_, path_;
  CountingBackend* counting_ = nullptr;
  std::unique_ptr<Repository> repo_;
};

TEST_F(StatusCacheTest, RunRecordsAreReadOnceThenServedFromTheCache) {
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("a", kSecond), Record("b", 2 * kSecond)}, Context())
                  .ok());
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("a", 3 * kSecond)}, Context()).ok());
  auto cache = OpenCache();
  ASSERT_NE(cache, nullptr);
  auto first = ListRunRecordsCached(*repo_, *cache, {}, Context());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->records.size(), 3u);
  EXPECT_EQ(counting_->runs.load(), 2);

  // Warm: nothing is read again, even by another process's cache object.
  auto second_cache = OpenCache();
  auto second = ListRunRecordsCached(*repo_, *second_cache, {.services = {"a"}}, Context());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->records.size(), 2u);
  EXPECT_EQ(counting_->runs.load(), 2);

  // A new object is read, alone; after a compaction the merged object is read and the two
  // compacted ones are forgotten.
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("c", 4 * kSecond)}, Context()).ok());
  auto third = ListRunRecordsCached(*repo_, *cache, {}, Context());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->records.size(), 4u);
  EXPECT_EQ(counting_->runs.load(), 3);
  ASSERT_TRUE(CompactRunRecords(*writer_, Context(), {.min_objects = 2}).ok());
  auto fourth = ListRunRecordsCached(*repo_, *cache, {}, Context());
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->records.size(), 4u);
  EXPECT_EQ(fourth->objects.size(), 1u);
  EXPECT_EQ(counting_->runs.load(), 4);
  // The same answer as the uncached listing.
  auto direct = ListRunRecords(*writer_, {}, Context());
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(direct->records.size(), fourth->records.size());
  for (size_t i = 0; i < direct->records.size(); ++i)
    EXPECT_EQ(direct->records[i].id, fourth->records[i].id);
}

TEST_F(StatusCacheTest, DamagedObjectsAreReportedAndNeverCached) {
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("a", kSecond)}, Context()).ok());
  std::vector<std::string> names = Names(ObjectType::kRun);
  Bytes bytes = LoadObject(ObjectType::kRun, names[0]);
  bytes[3] ^= 1;
  Replace(ObjectType::kRun, names[0], bytes);
  auto cache = OpenCache();
  for (int i = 0; i < 2; ++i) {
    auto l = ListRunRecordsCached(*repo_, *cache, {}, Context());
    ASSERT_TRUE(l.ok());
    EXPECT_TRUE(l->records.empty());
    ASSERT_EQ(l->unreadable.size(), 1u);
    EXPECT_TRUE(l->unreadable[0].status.IsCorruption());
  }
  EXPECT_GE(counting_->runs.load(), 2);  // tried each time
}

TEST_F(StatusCacheTest, SnapshotsAreDescribedOnceAndForgottenWhenGone) {
  auto cache = OpenCache();
  int described = 0;
  auto describe = [&](const Id&, const Snapshot& s) {
    described++;
    return CachedSnapshot{"", "svc-" + s.hostname, "paths", s.time_ns, s.incomplete};
  };
  auto first = ListSnapshotsCached(*repo_, *cache, describe, Context());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 2u);
  EXPECT_EQ(described, 2);
  const int loads = counting_->snapshots.load();
  auto second = ListSnapshotsCached(*repo_, *cache, describe, Context());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->size(), 2u);
  EXPECT_EQ(described, 2);
  EXPECT_EQ(counting_->snapshots.load(), loads);
  EXPECT_EQ((*second)[0].service, "svc-host");
  // A forgotten snapshot disappears from the answer.
  ASSERT_TRUE(mem_.Remove({ObjectType::kSnapshot, snap1_.Hex()}).ok());
  auto third = ListSnapshotsCached(*repo_, *cache, describe, Context());
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(third->size(), 1u);
  EXPECT_EQ((*third)[0].name, snap2_.Hex());
}

// Without the key: answered from the cache only when the config object is known and every
// listed name is cached; otherwise nullopt, so that the caller opens the repository.
TEST_F(StatusCacheTest, WithoutTheKeyOnlyWhatIsCachedIsAnswered) {
  auto cache = OpenCache();
  auto describe = [](const Id&, const Snapshot& s) {
    return CachedSnapshot{"", "svc", "paths", s.time_ns, s.incomplete};
  };
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("a", kSecond)}, Context()).ok());
  // No repository at all: no answer (the caller's open says NoRepository).
  MemoryBackend empty;
  auto nothing = ListCachedWithoutKey(empty, *cache, {}, Context());
  ASSERT_TRUE(nothing.ok()) << nothing.status().ToString();
  EXPECT_FALSE(nothing->has_value());
  // Nothing seen yet: no answer.
  auto none = ListCachedWithoutKey(mem_, *cache, {}, Context());
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(ListSnapshotsCached(*repo_, *cache, describe, Context()).ok());
  ASSERT_TRUE(ListRunRecordsCached(*repo_, *cache, {}, Context()).ok());
  auto warm = ListCachedWithoutKey(mem_, *cache, {}, Context());
  ASSERT_TRUE(warm.ok()) << warm.status().ToString();
  ASSERT_TRUE(warm->has_value());
  EXPECT_EQ((*warm)->config.repo_id, repo_->config().id.Hex());
  EXPECT_EQ((*warm)->snapshots.size(), 2u);
  ASSERT_EQ((*warm)->runs.records.size(), 1u);
  EXPECT_EQ((*warm)->runs.records[0].service, "a");

  // A run object not cached yet: the key is needed.
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("b", 2 * kSecond)}, Context()).ok());
  auto stale = ListCachedWithoutKey(mem_, *cache, {}, Context());
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->has_value());
  ASSERT_TRUE(ListRunRecordsCached(*repo_, *cache, {}, Context()).ok());
  // A forgotten snapshot is dropped without the key.
  ASSERT_TRUE(mem_.Remove({ObjectType::kSnapshot, snap1_.Hex()}).ok());
  auto after = ListCachedWithoutKey(mem_, *cache, {.services = {"b"}}, Context());
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(after->has_value());
  ASSERT_EQ((*after)->snapshots.size(), 1u);
  EXPECT_EQ((*after)->snapshots[0].name, snap2_.Hex());
  ASSERT_EQ((*after)->runs.records.size(), 1u);  // the filter applies
  EXPECT_EQ((*after)->runs.records[0].service, "b");

  // Another config object at the same place (a repository made anew): not answered.
  auto config = mem_.Load({ObjectType::kConfig, ""}, 0, 0);
  ASSERT_TRUE(config.ok());
  (*config)[config->size() - 1] ^= 0x01;
  ASSERT_TRUE(mem_.ReplaceForTesting({ObjectType::kConfig, ""}, *config).ok());
  auto other = ListCachedWithoutKey(mem_, *cache, {}, Context());
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_F(StatusCacheTest, ADamagedCacheFileIsRebuilt) {
  std::filesystem::create_directories(dir_ + "/sub");
  {
    std::ofstream f(path_, std::ios::binary);
    f << std::string(8192, 'x');  // not a database
  }
  auto cache = OpenCache();
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(WriteRunRecords(*writer_, {Record("a", kSecond)}, Context()).ok());
  auto l = ListRunRecordsCached(*repo_, *cache, {}, Context());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->records.size(), 1u);
}

TEST_F(StatusCacheTest, ACacheOfAnotherSchemaVersionIsRebuilt) {
  {
    auto cache = OpenCache();
    ASSERT_TRUE(WriteRunRecords(*writer_, {Record("a", kSecond)}, Context()).ok());
    ASSERT_TRUE(ListRunRecordsCached(*repo_, *cache, {}, Context()).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const int before = counting_->runs.load();
  auto cache = OpenCache();
  auto l = ListRunRecordsCached(*repo_, *cache, {}, Context());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->records.size(), 1u);
  EXPECT_EQ(counting_->runs.load(), before + 1);  // read again: the old cache was dropped
}

TEST_F(StatusCacheTest, KeyProofsAreKeptPerLocationAndReplaced) {
  auto cache = OpenCache();
  ASSERT_NE(cache, nullptr);
  auto none = cache->FindKeyProof("/srv/b");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(cache->RememberKeyProof("/srv/b", {"id1", "key1", "proof1"}).ok());
  ASSERT_TRUE(cache->RememberKeyProof("/srv/c", {"id2", "key2", "proof2"}).ok());
  ASSERT_TRUE(cache->RememberKeyProof("/srv/b", {"id3", "key3", "proof3"}).ok());
  cache.reset();
  cache = OpenCache();  // kept in the file
  auto b = cache->FindKeyProof("/srv/b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->repo_id, "id3");
  EXPECT_EQ((*b)->key_name, "key3");
  EXPECT_EQ((*b)->proof, "proof3");
  auto c = cache->FindKeyProof("/srv/c");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->proof, "proof2");
}

TEST(StatusCachePath, FollowsXdgCacheHome) {
  const char* old = getenv("XDG_CACHE_HOME");
  std::string saved = old ? old : "";
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(*DefaultStatusCachePath(), "/x/cache/lifeboat/status.sqlite3");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", getenv("HOME") ? getenv("HOME") : "/root", 1);
  EXPECT_EQ(*DefaultStatusCachePath(), std::string(getenv("HOME")) + "/.cache/lifeboat/status.sqlite3");
  if (old) setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace lifeboat
