// Test support: a small encrypted repository in memory with a known pack layout, for tests that
// damage objects behind the repository's back and then check or repair it (checker_test,
// repair_test).
//
//   class MyTest : public lifeboat::testing::SmallRepoFixture {};
//   TEST_F(MyTest, X) { ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_a_.Hex()}).ok()); ... }
//
// The layout SetUp builds (password "pw"; scrypt N=1024 so that opening is fast). One pack
// per group, so that damage to one pack hits known files only:
//   pack_a_: a_[0], a_[1] (3000, 2000 bytes; RandomData seeds 1, 2)  /home/alice/a.txt
//   pack_b_: b_ (1500 bytes, seed 3)                                   /home/alice/b.txt
//   pack_c_: c_ (1200 bytes, seed 4), d_ (900 bytes, seed 5)           /home/bob/c.txt, /home/d.txt
//   pack_t_: all six trees: root, home, alice_, bob_ (snapshot 1), root2, home2 (snapshot 2)
//            (BlobSaver never puts tree and data blobs in one pack)
//   snap1_:  time_ns 1000, host "host", paths {"/home"}, tags {"nightly"},
//            tree /home/{alice/{a.txt, b.txt}, bob/c.txt}
//   snap2_:  the same but time_ns 2000, tree /home/{bob/c.txt, d.txt} (the bob tree is shared)
// So: 4 packs, 5 data blobs, 6 trees, 2 snapshots, 1 key, and the index files BlobSaver wrote.
// SetUp fails the test (ASSERT) if a step fails, if a_[1] is not in pack_a_, or if the four packs
// are not distinct.
//
// Not thread-safe: the helpers are for the test's thread; the repository under test may call
// the backends from its own threads (MemoryBackend is thread-safe).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/forwarding_backend.h"
#include "backend/memory_backend.h"
#include "checker/checker.h"
#include "repository/blob_saver.h"
#include "repository/repository.h"

namespace lifeboat::testing {

// Called before each Remove; a non-OK status is returned instead of removing (e.g. to simulate
// a crash before the removals). An empty function removes normally.
using RemoveHook = std::function<Status(const ObjectHandle&)>;

// A Backend forwarding to a MemoryBackend the test keeps, so the test can damage objects behind
// the repository's back and open the repository afresh (with an empty index), as the CLI does.
// Only Remove is changed (it calls the hook first); every other call, SaveParts and LoadInto
// included, goes straight to `inner`.
// Does not own `inner` or `on_remove`; both must outlive it. `on_remove` may be null (no hook).
// Thread-safe as far as `inner` is, provided the hook is not changed while a call runs.
class SharedBackend : public ForwardingBackend {
 public:
  explicit SharedBackend(MemoryBackend* inner, const RemoveHook* on_remove = nullptr)
      : ForwardingBackend(inner), on_remove_(on_remove) {}
  Status Remove(const ObjectHandle& h) override;

 private:
  const RemoveHook* on_remove_;
};

class SmallRepoFixture : public ::testing::Test {
 protected:
  // Builds the layout above in mem_ through writer_.
  void SetUp() override;

  // Deterministic pseudo-random bytes: the same (n, seed) always gives the same data.
  static Bytes RandomData(size_t n, uint32_t seed);
  // One line per problem ("kind object: message") and one per affected path, for failure output.
  static std::string Describe(const std::vector<CheckProblem>& problems);
  // The first problem of `kind` about `object` (a hex id or a name), or null if there is none.
  static const CheckProblem* FindProblem(const std::vector<CheckProblem>& problems,
                                         const std::string& kind, const std::string& object);
  // Tree nodes: a regular file (mode 0644) made of `content`, a directory (0755) with `subtree`.
  static Node File(const std::string& name, std::vector<Id> content);
  static Node Dir(const std::string& name, const Id& subtree);

  // A new backend over mem_ that calls on_remove_ before each removal; for Repository::Open.
  std::unique_ptr<lifeboat::Backend> NewBackend() {
    return std::make_unique<SharedBackend>(&mem_, &on_remove_);
  }
  // The repository opened over NewBackend() with its index loaded; a failure fails the test
  // (EXPECT) and gives null.
  std::unique_ptr<Repository> OpenWithIndex() {
    auto repo = Repository::Open(NewBackend(), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    if (!repo.ok()) return nullptr;
    EXPECT_TRUE((*repo)->LoadIndex().ok());
    return std::move(*repo);
  }
  // Saves a data blob / a tree (sorted first) through `saver` into writer_ and returns its id;
  // a failed save fails the test (EXPECT). The blob is stored only at saver.Flush().
  Id SaveBlob(BlobSaver& saver, Bytes data);
  Id SaveTree(BlobSaver& saver, std::vector<Node> nodes);
  // The pack holding `data_blob` in writer_'s index. REQUIRES: the blob was flushed.
  Id PackOf(const Id& data_blob);
  // How the checker names `path` in snapshot 1: "snapshot <short id>: <path>".
  std::string In1(const std::string& path) const;

  // Raw access to mem_, bypassing the repository. LoadObject fails the test (EXPECT) and returns
  // nothing if the object is missing; Replace overwrites (ASSERT) even an existing object.
  Bytes LoadObject(ObjectType type, const std::string& name);
  void Replace(ObjectType type, const std::string& name, ByteView data);
  // The names of every object of `type` in mem_, sorted.
  std::vector<std::string> Names(ObjectType type);

  MemoryBackend mem_;
  RemoveHook on_remove_;                // empty: removals go through
  std::unique_ptr<Repository> writer_;  // SetUp wrote through it; its index knows every blob
  std::vector<Id> a_;                   // the two blobs of /home/alice/a.txt
  Id b_, c_, d_;                        // the blobs of b.txt, c.txt, d.txt
  Id alice_, bob_;                      // the trees of /home/alice and /home/bob
  Id pack_a_, pack_b_, pack_c_, pack_t_;
  Id snap1_, snap2_;
};

}  // namespace lifeboat::testing
