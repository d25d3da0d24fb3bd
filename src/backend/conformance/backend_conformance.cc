// The backend conformance suite (see backend_conformance.h): every test here holds on every
// backend.
#include "backend/conformance/backend_conformance.h"

#include <atomic>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <vector>

#include "util/bytes.h"

namespace lifeboat {

void BackendConformanceTest::SetUp() {
  instance_ = GetParam().make();
  ASSERT_NE(instance_.backend, nullptr) << GetParam().name << ": make() returned no backend";
  be_ = instance_.backend.get();
}

void BackendConformanceTest::TearDown() {
  be_ = nullptr;
  instance_.backend.reset();
  instance_.keep_alive.reset();
}

std::string ConformanceTestName(const ::testing::TestParamInfo<ConformanceBackend>& info) {
  return info.param.name;
}

namespace {

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

TEST_P(BackendConformanceTest, SaveThenLoadReturnsSameBytes) {
  const ObjectType types[] = {ObjectType::kKey, ObjectType::kPack, ObjectType::kIndex,
                              ObjectType::kSnapshot, ObjectType::kLock};
  const size_t sizes[] = {0, 1, 4096, 3 << 20};
  int i = 0;
  for (ObjectType type : types) {
    for (size_t size : sizes) {
      ObjectHandle h{type, Id(i)};
      Bytes data = Pattern(size, static_cast<uint64_t>(i));
      ++i;
      ASSERT_TRUE(be_->Save(h, data).ok()) << DescribeObject(h);
      Result<Bytes> loaded = be_->Load(h, 0, 0);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      EXPECT_EQ(*loaded, data) << DescribeObject(h) << " size " << size;
    }
  }
}

TEST_P(BackendConformanceTest, SavePartsStoresTheConcatenation) {
  // Empty parts, one part, and more parts than one writev takes (IOV_MAX is 1024 on Linux).
  const std::vector<size_t> layouts[] = {{}, {0, 0}, {7}, {100000, 0, 1, 3 << 20, 5}};
  int i = 100;
  for (const std::vector<size_t>& layout : layouts) {
    std::vector<Bytes> parts;
    for (size_t size : layout) parts.push_back(Pattern(size, static_cast<uint64_t>(parts.size())));
    ObjectHandle h{ObjectType::kPack, Id(i++)};
    std::vector<ByteView> views(parts.begin(), parts.end());
    ASSERT_TRUE(be_->SaveParts(h, views).ok()) << DescribeObject(h);
    Bytes joined;
    for (const Bytes& part : parts) joined.insert(joined.end(), part.begin(), part.end());
    EXPECT_EQ(*be_->Load(h, 0, 0), joined) << DescribeObject(h);
  }
  std::vector<Bytes> many;
  for (int k = 0; k < 2500; ++k) many.push_back(Pattern(static_cast<size_t>(k % 37), 3));
  std::vector<ByteView> views(many.begin(), many.end());
  Bytes joined;
  for (const Bytes& part : many) joined.insert(joined.end(), part.begin(), part.end());
  ObjectHandle h{ObjectType::kPack, Id(i++)};
  ASSERT_TRUE(be_->SaveParts(h, views).ok());
  EXPECT_EQ(*be_->Load(h, 0, 0), joined);
  // Parts never replace an existing object either.
  Status again = be_->SaveParts(h, views);
  if (!faulty()) {
    EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  }
  EXPECT_EQ(*be_->Load(h, 0, 0), joined);
}

TEST_P(BackendConformanceTest, ConfigHasOneSlotAndIgnoresTheName) {
  EXPECT_FALSE(be_->HasConfig());
  EXPECT_TRUE(be_->Stat({ObjectType::kConfig, ""}).status().IsNotFound());
  ASSERT_TRUE(be_->Save({ObjectType::kConfig, "whatever"}, AsBytes("cfg")).ok());
  EXPECT_TRUE(be_->HasConfig());
  Result<Bytes> loaded = be_->Load({ObjectType::kConfig, ""}, 0, 0);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(AsString(*loaded), "cfg");
  Result<ObjectInfo> info = be_->Stat({ObjectType::kConfig, "other"});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->name, "");
  EXPECT_EQ(info->size, 3u);
  Status again = be_->Save({ObjectType::kConfig, ""}, AsBytes("new"));
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(AsString(*be_->Load({ObjectType::kConfig, ""}, 0, 0)), "cfg");
  EXPECT_EQ(ListNames(*be_, ObjectType::kConfig), std::set<std::string>{""});
  EXPECT_TRUE(ListNames(*be_, ObjectType::kConfig, "c").empty());
}

TEST_P(BackendConformanceTest, RangeLoads) {
  ObjectHandle h = Pack(Id(1));
  Bytes data = Pattern(10000, 3);
  ASSERT_TRUE(be_->Save(h, data).ok());
  struct Case {
    uint64_t offset, length;
  } cases[] = {{0, 1}, {0, 10000}, {1, 9999}, {5000, 17}, {9999, 1}, {4321, 0}, {10000, 0}};
  for (const Case& c : cases) {
    Result<Bytes> r = be_->Load(h, c.offset, c.length);
    ASSERT_TRUE(r.ok()) << c.offset << "+" << c.length << ": " << r.status().ToString();
    uint64_t n = c.length == 0 ? data.size() - c.offset : c.length;
    Bytes want(data.begin() + static_cast<ptrdiff_t>(c.offset),
               data.begin() + static_cast<ptrdiff_t>(c.offset + n));
    EXPECT_EQ(*r, want) << c.offset << "+" << c.length;
  }
}

TEST_P(BackendConformanceTest, OutOfRangeLoadIsCorruptionNamingTheObject) {
  ObjectHandle h = Pack(Id(2));
  ASSERT_TRUE(be_->Save(h, Pattern(100, 4)).ok());
  struct Case {
    uint64_t offset, length;
  } cases[] = {{0, 101}, {100, 1}, {101, 0}, {50, 51}, {UINT64_MAX, 2}, {2, UINT64_MAX}};
  for (const Case& c : cases) {
    Result<Bytes> r = be_->Load(h, c.offset, c.length);
    ASSERT_FALSE(r.ok()) << c.offset << "+" << c.length;
    EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
    EXPECT_NE(r.status().message().find(Id(2)), std::string::npos) << r.status().ToString();
  }
}

TEST_P(BackendConformanceTest, StatReportsSizeAndMissingIsNotFound) {
  ObjectHandle h{ObjectType::kIndex, Id(3)};
  ASSERT_TRUE(be_->Save(h, Pattern(777, 5)).ok());
  Result<ObjectInfo> info = be_->Stat(h);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->name, Id(3));
  EXPECT_EQ(info->size, 777u);
  EXPECT_TRUE(be_->Stat({ObjectType::kIndex, Id(4)}).status().IsNotFound());
  // Same name, other type: a different object.
  EXPECT_TRUE(be_->Stat({ObjectType::kSnapshot, Id(3)}).status().IsNotFound());
}

TEST_P(BackendConformanceTest, LoadOfMissingObjectIsNotFound) {
  EXPECT_TRUE(be_->Load(Pack(Id(5)), 0, 0).status().IsNotFound());
  EXPECT_TRUE(be_->Load(Pack(Id(5)), 10, 10).status().IsNotFound());
  EXPECT_TRUE(be_->Load({ObjectType::kConfig, ""}, 0, 0).status().IsNotFound());
}

TEST_P(BackendConformanceTest, SaveRefusesOverwriteAndKeepsOldContent) {
  ObjectHandle h{ObjectType::kSnapshot, Id(6)};
  ASSERT_TRUE(be_->Save(h, AsBytes("original")).ok());
  Status st = be_->Save(h, AsBytes("replacement"));
  if (faulty()) {
    EXPECT_TRUE(st.code() == StatusCode::kAlreadyExists || st.IsCorruption()) << st.ToString();
  } else {
    EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  }
  EXPECT_EQ(AsString(*be_->Load(h, 0, 0)), "original");
  // Saving the same bytes again is refused too (or, after a lost attempt, verified as equal).
  Status same = be_->Save(h, AsBytes("original"));
  if (!faulty()) {
    EXPECT_EQ(same.code(), StatusCode::kAlreadyExists);
  }
  EXPECT_EQ(AsString(*be_->Load(h, 0, 0)), "original");
}

TEST_P(BackendConformanceTest, ListFiltersByTypeAndPrefix) {
  std::set<std::string> ab, abc, cd, all;
  for (int i = 0; i < 5; ++i) ab.insert(Id(i, "ab"));
  for (int i = 5; i < 8; ++i) abc.insert(Id(i, "abc"));
  for (int i = 8; i < 12; ++i) cd.insert(Id(i, "cd"));
  for (const auto* group : {&ab, &abc, &cd}) {
    for (const std::string& name : *group) {
      ASSERT_TRUE(be_->Save(Pack(name), AsBytes(name)).ok());
      all.insert(name);
    }
  }
  ASSERT_TRUE(be_->Save({ObjectType::kIndex, Id(20, "ab")}, AsBytes("i")).ok());
  ASSERT_TRUE(be_->Save({ObjectType::kConfig, ""}, AsBytes("c")).ok());

  EXPECT_EQ(ListNames(*be_, ObjectType::kPack), all);
  std::set<std::string> ab_all = ab;
  ab_all.insert(abc.begin(), abc.end());
  EXPECT_EQ(ListNames(*be_, ObjectType::kPack, "a"), ab_all);
  EXPECT_EQ(ListNames(*be_, ObjectType::kPack, "ab"), ab_all);
  EXPECT_EQ(ListNames(*be_, ObjectType::kPack, "abc"), abc);
  EXPECT_EQ(ListNames(*be_, ObjectType::kPack, "cd"), cd);
  EXPECT_EQ(ListNames(*be_, ObjectType::kPack, *cd.begin()), std::set<std::string>{*cd.begin()});
  EXPECT_TRUE(ListNames(*be_, ObjectType::kPack, "ff").empty());
  EXPECT_TRUE(ListNames(*be_, ObjectType::kPack, "../").empty());
  EXPECT_EQ(ListNames(*be_, ObjectType::kIndex), std::set<std::string>{Id(20, "ab")});
  EXPECT_TRUE(ListNames(*be_, ObjectType::kSnapshot).empty());
  EXPECT_TRUE(ListNames(*be_, ObjectType::kLock).empty());

  // Sizes are reported.
  Status st = be_->List(ObjectType::kPack, "cd", [&](const ObjectInfo& info) {
    EXPECT_EQ(info.size, info.name.size());
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
}

TEST_P(BackendConformanceTest, ListStopsAtCallbackErrorAndReturnsIt) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(be_->Save({ObjectType::kKey, Id(i)}, AsBytes("k")).ok());
  int calls = 0;
  Status st = be_->List(ObjectType::kKey, "", [&](const ObjectInfo&) {
    return ++calls == 3 ? Status::Cancelled("enough") : Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(st.message(), "enough");
  EXPECT_EQ(calls, 3);
  // A retryable error from the callback is returned too, not retried.
  calls = 0;
  st = be_->List(ObjectType::kKey, "", [&](const ObjectInfo&) {
    ++calls;
    return Status::Unavailable("callback busy");
  });
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
}

TEST_P(BackendConformanceTest, ListCallbackMayUseTheBackend) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(be_->Save(Pack(Id(i)), Pattern(10, i)).ok());
  int loaded = 0;
  Status st = be_->List(ObjectType::kPack, "", [&](const ObjectInfo& info) -> Status {
    LB_ASSIGN_OR_RETURN(Bytes b, be_->Load(Pack(info.name), 0, 0));
    if (b.size() != info.size) return Status::Internal("size mismatch");
    ++loaded;
    return be_->Remove(Pack(info.name));
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(loaded, 4);
  EXPECT_TRUE(ListNames(*be_, ObjectType::kPack).empty());
}

TEST_P(BackendConformanceTest, RemoveDeletesAndMissingIsNotFound) {
  ObjectHandle h{ObjectType::kLock, Id(7)};
  ASSERT_TRUE(be_->Save(h, AsBytes("lock")).ok());
  ASSERT_TRUE(be_->Remove(h).ok());
  EXPECT_TRUE(be_->Stat(h).status().IsNotFound());
  EXPECT_TRUE(be_->Load(h, 0, 0).status().IsNotFound());
  EXPECT_TRUE(ListNames(*be_, ObjectType::kLock).empty());
  Status again = be_->Remove(h);
  if (faulty()) {
    EXPECT_TRUE(again.ok() || again.IsNotFound()) << again.ToString();
  } else {
    EXPECT_TRUE(again.IsNotFound()) << again.ToString();
  }
  // The name is free again.
  ASSERT_TRUE(be_->Save(h, AsBytes("lock2")).ok());
  EXPECT_EQ(AsString(*be_->Load(h, 0, 0)), "lock2");
}

TEST_P(BackendConformanceTest, ConcurrentSavesFromEightThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  const ObjectHandle contested = Pack(Id(9999, "ee"));
  std::vector<Status> contested_status(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        if (!be_->Save(Pack(Id(n)), Pattern(100 + n, n)).ok()) ++failures;
        if (i == kPerThread / 2) contested_status[t] = be_->Save(contested, Pattern(50, 100 + t));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  int winners = 0, winner = -1;
  for (int t = 0; t < kThreads; ++t) {
    if (contested_status[t].ok()) {
      ++winners;
      winner = t;
    }
  }
  ASSERT_EQ(winners, 1);
  EXPECT_EQ(*be_->Load(contested, 0, 0), Pattern(50, 100 + winner));
  std::set<std::string> names = ListNames(*be_, ObjectType::kPack);
  EXPECT_EQ(names.size(), static_cast<size_t>(kThreads * kPerThread + 1));
  for (int n = 0; n < kThreads * kPerThread; ++n) {
    Result<Bytes> r = be_->Load(Pack(Id(n)), 0, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, Pattern(100 + n, n));
  }
}

TEST_P(BackendConformanceTest, RejectsNamesThatCouldEscape) {
  const std::string bad[] = {
      "", ".", "..", "../x", "a/b", "/etc", "..abcd", "abc.tmp-1", std::string("ab\0cd", 5)};
  for (ObjectType type : {ObjectType::kKey, ObjectType::kPack, ObjectType::kSnapshot}) {
    for (const std::string& name : bad) {
      ObjectHandle h{type, name};
      EXPECT_EQ(be_->Save(h, AsBytes("x")).code(), StatusCode::kInvalidArgument) << name;
      EXPECT_EQ(be_->Load(h, 0, 0).status().code(), StatusCode::kInvalidArgument) << name;
      EXPECT_EQ(be_->Stat(h).status().code(), StatusCode::kInvalidArgument) << name;
      EXPECT_EQ(be_->Remove(h).code(), StatusCode::kInvalidArgument) << name;
    }
  }
  EXPECT_EQ(be_->Save(Pack("a"), AsBytes("x")).code(), StatusCode::kInvalidArgument);
  // Nothing was stored.
  EXPECT_TRUE(ListNames(*be_, ObjectType::kKey).empty());
  EXPECT_TRUE(ListNames(*be_, ObjectType::kPack).empty());
  EXPECT_TRUE(ListNames(*be_, ObjectType::kSnapshot).empty());
}

}  // namespace
}  // namespace lifeboat
