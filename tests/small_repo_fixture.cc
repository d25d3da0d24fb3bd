#include "small_repo_fixture.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <utility>

#include "util/status.h"

namespace lifeboat::testing {

Status SharedBackend::Remove(const ObjectHandle& h) {
  if (on_remove_ && *on_remove_) LB_RETURN_IF_ERROR((*on_remove_)(h));
  return ForwardingBackend::Remove(h);
}

void SmallRepoFixture::SetUp() {
  lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
  InitOptions options;  // after the override: its default KDF takes it
  auto repo = Repository::Init(NewBackend(), "pw", options);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  writer_ = std::move(*repo);

  // Each Flush closes the open pack, so each group of blobs lands in a pack of its own.
  BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
  a_ = {SaveBlob(saver, RandomData(3000, 1)), SaveBlob(saver, RandomData(2000, 2))};
  ASSERT_TRUE(saver.Flush().ok());
  b_ = SaveBlob(saver, RandomData(1500, 3));
  ASSERT_TRUE(saver.Flush().ok());
  c_ = SaveBlob(saver, RandomData(1200, 4));
  d_ = SaveBlob(saver, RandomData(900, 5));
  ASSERT_TRUE(saver.Flush().ok());

  alice_ = SaveTree(saver, {File("a.txt", a_), File("b.txt", {b_})});
  bob_ = SaveTree(saver, {File("c.txt", {c_})});
  Id home = SaveTree(saver, {Dir("alice", alice_), Dir("bob", bob_)});
  Id root = SaveTree(saver, {Dir("home", home)});
  Id home2 = SaveTree(saver, {Dir("bob", bob_), File("d.txt", {d_})});
  Id root2 = SaveTree(saver, {Dir("home", home2)});
  ASSERT_TRUE(saver.Flush().ok());

  pack_a_ = PackOf(a_[0]);
  pack_b_ = PackOf(b_);
  pack_c_ = PackOf(c_);
  pack_t_ = writer_->index().Find(BlobType::kTree, root)->pack;
  ASSERT_EQ(PackOf(a_[1]), pack_a_);
  std::set<Id> distinct{pack_a_, pack_b_, pack_c_, pack_t_};
  ASSERT_EQ(distinct.size(), 4u);

  Snapshot s1;
  s1.time_ns = 1000;
  s1.hostname = "host";
  s1.paths = {"/home"};
  s1.tags = {"nightly"};
  s1.tree = root;
  auto id1 = writer_->SaveSnapshot(s1);
  ASSERT_TRUE(id1.ok()) << id1.status().ToString();
  snap1_ = *id1;
  Snapshot s2 = s1;
  s2.time_ns = 2000;
  s2.tree = root2;
  auto id2 = writer_->SaveSnapshot(s2);
  ASSERT_TRUE(id2.ok()) << id2.status().ToString();
  snap2_ = *id2;
}

Bytes SmallRepoFixture::RandomData(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::string SmallRepoFixture::Describe(const std::vector<CheckProblem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += p.kind + " " + p.object + ": " + p.message + "\n";
    for (const auto& a : p.affected) out += "    " + a + "\n";
  }
  return out;
}

const CheckProblem* SmallRepoFixture::FindProblem(const std::vector<CheckProblem>& problems,
                                                  const std::string& kind,
                                                  const std::string& object) {
  for (const auto& p : problems)
    if (p.kind == kind && p.object == object) return &p;
  return nullptr;
}

Node SmallRepoFixture::File(const std::string& name, std::vector<Id> content) {
  Node n;
  n.name = name;
  n.type = NodeType::kFile;
  n.mode = 0644;
  n.content = std::move(content);
  return n;
}

Node SmallRepoFixture::Dir(const std::string& name, const Id& subtree) {
  Node n;
  n.name = name;
  n.type = NodeType::kDir;
  n.mode = 0755;
  n.subtree = subtree;
  return n;
}

Id SmallRepoFixture::SaveBlob(BlobSaver& saver, Bytes data) {
  Id id = writer_->codec().ComputeId(data);
  auto added = saver.Save(BlobType::kData, id, std::move(data));
  EXPECT_TRUE(added.ok()) << added.status().ToString();
  return id;
}

Id SmallRepoFixture::SaveTree(BlobSaver& saver, std::vector<Node> nodes) {
  Tree t;
  t.nodes = std::move(nodes);
  SortTree(&t);
  Bytes b = EncodeTree(t);
  Id id = writer_->codec().ComputeId(b);
  auto added = saver.Save(BlobType::kTree, id, std::move(b));
  EXPECT_TRUE(added.ok()) << added.status().ToString();
  return id;
}

Id SmallRepoFixture::PackOf(const Id& data_blob) {
  return writer_->index().Find(BlobType::kData, data_blob)->pack;
}

std::string SmallRepoFixture::In1(const std::string& path) const {
  return "snapshot " + snap1_.Short() + ": " + path;
}

Bytes SmallRepoFixture::LoadObject(ObjectType type, const std::string& name) {
  auto b = mem_.Load({type, name}, 0, 0);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? *b : Bytes();
}

void SmallRepoFixture::Replace(ObjectType type, const std::string& name, ByteView data) {
  ASSERT_TRUE(mem_.ReplaceForTesting({type, name}, data).ok());
}

std::vector<std::string> SmallRepoFixture::Names(ObjectType type) {
  std::vector<std::string> names;
  EXPECT_TRUE(mem_.List(type, "",
                        [&](const ObjectInfo& i) {
                          names.push_back(i.name);
                          return Status::Ok();
                        })
                  .ok());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace lifeboat::testing
