// The engine on remote sites, end to end, through the library API the CLI uses (engine/open.h,
// RunBackup, RestoreTree, CheckRepository, Forget + Prune, CopySnapshots, AddKey / RemoveKey,
// RunMultiSiteBackup): backup, restore --verify, check --read-data, forget + prune, key changes,
// copy between sites and one backup to several sites, each compared bit-exact with the tree of
// every file kind (tests/tree_builder.h). Each case runs on S3 (Ceph RADOS Gateway), SFTP
// (OpenSSH sshd), REST (rclone serve restic) and, as the control, a local directory; every case
// gets a fresh repository. Run beside the servers (ctest does):
//
//   bash tests/servers/run_with.sh rgw sshd rest -- build/release/tests/remote_engine_test
//
// At the end the binary prints how long each case took on each site.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "archiver/archiver.h"
#include "backend/open_backend.h"
#include "checker/checker.h"
#include "copier/copier.h"
#include "engine/multi_site.h"
#include "engine/open.h"
#include "pruner/pruner.h"
#include "repository/keys.h"
#include "restorer/restorer.h"
#include "retention/forget.h"
#include "tree_builder.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

using testing::BuildEveryKindTree;
using testing::CompareTrees;
using testing::MakeTempDir;
using testing::RandomBytes;
using testing::RemoveTree;
using testing::WriteFile;

constexpr const char* kServerVariables[] = {
    "LIFEBOAT_TEST_S3_ENDPOINT",     "AWS_ACCESS_KEY_ID",          "AWS_SECRET_ACCESS_KEY",
    "LIFEBOAT_TEST_SFTP_HOST",       "LIFEBOAT_TEST_SFTP_PORT",    "LIFEBOAT_TEST_SFTP_USER",
    "LIFEBOAT_TEST_SFTP_IDENTITY",   "LIFEBOAT_TEST_SFTP_KNOWN_HOSTS",
    "LIFEBOAT_TEST_SFTP_ROOT",       "LIFEBOAT_TEST_REST_URL"};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Seconds per case per site, printed when the binary ends.
std::map<std::string, std::map<std::string, double>>& Timings() {
  static auto* timings = new std::map<std::string, std::map<std::string, double>>;
  return *timings;
}

// Fails every test when the servers' variables are missing (never skips), and prints the
// timings at the end.
class RemoteServersEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* v : kServerVariables) {
      ASSERT_FALSE(Env(v).empty())
          << v << " is not set: run this test beside the servers with `bash "
          << "tests/servers/run_with.sh rgw sshd rest -- <this binary>` (ctest does)";
    }
  }
  void TearDown() override {
    if (Timings().empty()) return;
    std::set<std::string> sites;
    for (const auto& [name, row] : Timings())
      for (const auto& [site, seconds] : row) sites.insert(site);
    std::printf("\nremote_engine_test: seconds per case (and its main steps) and site\n%-44s", "case");
    for (const auto& site : sites) std::printf("%10s", site.c_str());
    std::printf("\n");
    for (const auto& [name, row] : Timings()) {
      std::printf("%-44s", name.c_str());
      for (const auto& site : sites) {
        auto it = row.find(site);
        if (it == row.end()) {
          std::printf("%10s", "-");
        } else {
          std::printf("%10.2f", it->second);
        }
      }
      std::printf("\n");
    }
  }
};
::testing::Environment* const kServers =
    ::testing::AddGlobalTestEnvironment(new RemoteServersEnvironment);

enum class SiteKind { kLocal, kS3, kSftp, kRest };

std::string KindName(SiteKind kind) {
  switch (kind) {
    case SiteKind::kLocal: return "local";
    case SiteKind::kS3: return "s3";
    case SiteKind::kSftp: return "sftp";
    case SiteKind::kRest: return "rest";
  }
  return "?";
}

// A repository location no other case (or run) uses, with the -o options it needs.
struct Site {
  SiteKind kind;
  std::string location;
  OpenBackendOptions backend = DefaultOpenBackendOptions();
};

std::string UniqueName(const std::string& tag) {
  static int counter = 0;
  static const std::string run = std::to_string(::getpid());
  return tag + "-" + run + "-" + std::to_string(++counter);
}

// local_root: a local directory of the case, for kLocal.
Site FreshSite(SiteKind kind, const std::string& tag, const std::string& local_root) {
  Site s{kind, "", DefaultOpenBackendOptions()};
  const std::string name = UniqueName(tag);
  switch (kind) {
    case SiteKind::kLocal:
      s.location = local_root + "/" + name;
      break;
    case SiteKind::kS3:
      // One bucket per run (created by the first init), one prefix per repository.
      s.location = "s3:" + Env("LIFEBOAT_TEST_S3_ENDPOINT") + "/lb-remote-engine-" +
                   std::to_string(::getpid()) + "/" + name;
      break;
    case SiteKind::kSftp:
      s.location = "sftp://" + Env("LIFEBOAT_TEST_SFTP_USER") + "@" +
                   Env("LIFEBOAT_TEST_SFTP_HOST") + ":" + Env("LIFEBOAT_TEST_SFTP_PORT") + "/" +
                   Env("LIFEBOAT_TEST_SFTP_ROOT") + "/" + name;
      s.backend.options.Set("sftp.identity", Env("LIFEBOAT_TEST_SFTP_IDENTITY"));
      s.backend.options.Set("sftp.known-hosts", Env("LIFEBOAT_TEST_SFTP_KNOWN_HOSTS"));
      break;
    case SiteKind::kRest:
      s.location = "rest:" + Env("LIFEBOAT_TEST_REST_URL") + "/" + name;
      break;
  }
  return s;
}

OpenOptions OptionsFor(const Site& site, const std::string& password,
                       std::optional<LockKind> lock = LockKind::kShared) {
  OpenOptions o;
  o.location = site.location;
  o.password = PasswordSource::Value(password);
  o.lock = lock;
  o.backend = site.backend;
  return o;
}

InitOptions SmallPacks() {
  InitOptions init;  // kdf: the cheap parameters the fixture set
  init.pack_size = 1u << 20;
  return init;
}

// Creates the repository at `site` (1 MiB packs unless `init` says otherwise).
void Create(const Site& site, const std::string& password, const InitOptions& init = SmallPacks()) {
  auto repo = CreateRepository(OptionsFor(site, password), init);
  ASSERT_TRUE(repo.ok()) << site.location << ": " << repo.status().ToString();
}

// Releases the lock before the repository it belongs to is closed.
void Close(OpenedRepository& opened) {
  opened.lock.reset();
  opened.repo.reset();
}

OpenedRepository Open(const Site& site, const std::string& password,
                      std::optional<LockKind> lock = LockKind::kShared) {
  auto opened = OpenRepository(OptionsFor(site, password, lock));
  EXPECT_TRUE(opened.ok()) << site.location << ": " << opened.status().ToString();
  return opened.ok() ? std::move(*opened) : OpenedRepository{};
}

// The pack names at `site`, listed by a backend of its own (not the repository's view).
std::set<std::string> ListPacks(const Site& site) {
  std::set<std::string> names;
  auto be = OpenBackend(site.location, /*create=*/false, site.backend);
  EXPECT_TRUE(be.ok()) << be.status().ToString();
  if (!be.ok()) return names;
  Status st = (*be)->List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
    names.insert(info.name);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return names;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class RemoteEngineBase {
 protected:
  // Adds the time of its scope to the case's row for `step` (several scopes of a step add up).
  class StepTimer {
   public:
    // `column`: the site's column (empty: the case's).
    StepTimer(RemoteEngineBase* test, std::string step, std::string column = "")
        : test_(test),
          step_(std::move(step)),
          column_(column.empty() ? test->site_ : std::move(column)),
          start_(std::chrono::steady_clock::now()) {}
    ~StepTimer() { Timings()[test_->case_ + "  " + step_][column_] += SecondsSince(start_); }

   private:
    RemoteEngineBase* test_;
    std::string step_, column_;
    std::chrono::steady_clock::time_point start_;
  };

  // `case_name` and `site` name the case's row and column in the timings.
  void SetUpWork(const std::string& case_name, const std::string& site) {
    case_ = case_name.substr(0, case_name.find('/'));
    site_ = site;
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 1});
    work_ = MakeTempDir("remote-engine");
    src_ = work_ + "/src";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
    start_ = std::chrono::steady_clock::now();
  }
  void TearDownWork() {
    Timings()[case_][site_] = SecondsSince(start_);
    RemoveTree(work_);
    SetKdfParamsOverrideForTesting(std::nullopt);
  }

  // check --read-data on a fresh opening of `site`: no error, no warning, every pack read.
  void ExpectCheckClean(const Site& site, const std::string& password) {
    StepTimer timer(this, "check --read-data", KindName(site.kind));
    OpenOptions o = OptionsFor(site, password, LockKind::kExclusive);
    o.load_index = false;  // the check loads every index file itself
    auto opened = OpenRepository(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    CheckOptions c;
    c.read_data = true;
    auto r = CheckRepository(*opened->repo, c);
    ASSERT_TRUE(r.ok()) << site.location << ": " << r.status().ToString();
    for (const auto& p : r->errors)
      ADD_FAILURE() << site.location << ": check error " << p.kind << " " << p.object << ": "
                    << p.message;
    for (const auto& p : r->warnings)
      ADD_FAILURE() << site.location << ": check warning " << p.kind << " " << p.object << ": "
                    << p.message;
    EXPECT_GT(r->packs, 0u);
    EXPECT_EQ(r->packs_read, r->packs);
    EXPECT_EQ(r->packs, ListPacks(site).size()) << site.location;
  }

  // `column`: the site's column in the timings (empty: the case's).
  BackupResult Backup(OpenedRepository& opened, const std::string& column = "") {
    StepTimer timer(this, "backup", column);
    BackupOptions b;
    b.paths = {src_};
    b.lock = opened.lock.get();
    auto r = RunBackup(*opened.repo, b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    for (const auto& e : r->errors) ADD_FAILURE() << "backup error " << e.path << ": " << e.message;
    for (const auto& w : r->warnings)
      ADD_FAILURE() << "backup warning " << w.path << ": " << w.message;
    EXPECT_TRUE(r->snapshot_id.has_value());
    return *r;
  }

  // The id of a new snapshot of src_ (a zero id, and a failure, when there is none).
  Id BackupId(OpenedRepository& opened, const std::string& column = "") {
    std::optional<Id> id = Backup(opened, column).snapshot_id;
    return id.value_or(Id{});
  }

  // Restores `snapshot` from a fresh opening of `site` with --verify and compares it with src_
  // as it is now: content, kinds, modes, owners, times, xattrs, hardlinks, sparseness.
  void ExpectRestoresExactly(const Site& site, const std::string& password, const Id& snapshot) {
    StepTimer timer(this, "restore --verify", KindName(site.kind));
    OpenedRepository opened = Open(site, password);
    ASSERT_NE(opened.repo, nullptr);
    auto snap = opened.repo->LoadSnapshot(snapshot);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    RestoreOptions o;
    o.target = work_ + "/restore-" + std::to_string(++restores_);
    o.verify = true;
    auto r = RestoreTree(*opened.repo, snap->tree, o);
    ASSERT_TRUE(r.ok()) << site.location << ": " << r.status().ToString();
    for (const auto& e : r->errors)
      ADD_FAILURE() << site.location << ": restore error " << e.path << ": " << e.message;
    EXPECT_GT(r->verified_files, 0u);
    EXPECT_EQ(r->verified_files, r->files);
    const std::string restored = o.target + src_;
    for (const auto& d : CompareTrees(src_, restored, {}))
      ADD_FAILURE() << site.location << ": " << d;
    // The sparse file came back with its holes.
    struct stat st;
    ASSERT_EQ(lstat((restored + "/sparse.img").c_str(), &st), 0);
    EXPECT_LT(st.st_blocks * 512, st.st_size / 2);
  }

  std::string case_, site_;
  std::string work_, src_;
  int restores_ = 0;
  std::chrono::steady_clock::time_point start_;
};

class RemoteEngineTest : public RemoteEngineBase, public ::testing::TestWithParam<SiteKind> {
 protected:
  void SetUp() override {
    SetUpWork(::testing::UnitTest::GetInstance()->current_test_info()->name(),
              KindName(GetParam()));
    BuildEveryKindTree(src_);
  }
  void TearDown() override { TearDownWork(); }
  Site Fresh(const std::string& tag) { return FreshSite(GetParam(), tag, work_); }
};

// The data blobs of the file at `path` (absolute, as backed up) in snapshot `id`.
std::vector<Id> FileBlobs(Repository& repo, const Id& id, const std::string& path) {
  auto snap = repo.LoadSnapshot(id);
  EXPECT_TRUE(snap.ok());
  if (!snap.ok()) return {};
  Id tree = snap->tree;
  std::vector<std::string> parts;
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    auto t = repo.LoadTree(tree);
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return {};
    const Node* found = nullptr;
    for (const Node& n : t->nodes)
      if (n.name == parts[i]) found = &n;
    EXPECT_NE(found, nullptr) << parts[i] << " of " << path;
    if (found == nullptr) return {};
    if (i + 1 == parts.size()) return found->content;
    EXPECT_TRUE(found->subtree.has_value());
    if (!found->subtree) return {};
    tree = *found->subtree;
  }
  return {};
}

// (1) init, backup, restore --verify bit-exact, check --read-data clean; then an incremental
// backup reads only what changed, and restores bit-exact too.
TEST_P(RemoteEngineTest, BackupRestoreIncremental) {
  const Site site = Fresh("backup");
  Create(site, "pw");
  BackupResult first;
  {
    OpenedRepository opened = Open(site, "pw");
    ASSERT_NE(opened.repo, nullptr);
    first = Backup(opened);
  }
  ASSERT_TRUE(first.snapshot_id.has_value());
  const SnapshotSummary& s1 = first.snapshot.summary;
  EXPECT_GT(s1.files_new, 10u);
  EXPECT_EQ(s1.files_changed + s1.files_unmodified, 0u);
  EXPECT_GT(s1.data_added, 10u << 20);
  ExpectRestoresExactly(site, "pw", *first.snapshot_id);
  ExpectCheckClean(site, "pw");

  // Change one file, add one, delete one.
  const std::string changed = "hello again, lifeboat: a longer line\n";
  const std::string added = RandomBytes(300000, 77);
  WriteFile(src_ + "/dir/small.txt", changed);
  WriteFile(src_ + "/added.bin", added);
  ASSERT_EQ(unlink((src_ + "/one.txt").c_str()), 0);
  BackupResult second;
  {
    OpenedRepository opened = Open(site, "pw");
    ASSERT_NE(opened.repo, nullptr);
    second = Backup(opened);
  }
  ASSERT_TRUE(second.snapshot_id.has_value());
  EXPECT_EQ(second.parent_id, first.snapshot_id);
  const SnapshotSummary& s2 = second.snapshot.summary;
  EXPECT_EQ(s2.files_changed, 1u);
  EXPECT_EQ(s2.files_new, 1u);
  EXPECT_EQ(s2.files_unmodified, s1.files_new - 2);
  EXPECT_EQ(s2.bytes_read, changed.size() + added.size());
  EXPECT_LT(s2.data_added, added.size() + 16384);  // the file and the new trees
  ExpectRestoresExactly(site, "pw", *second.snapshot_id);
  ExpectCheckClean(site, "pw");
}

// (2) three snapshots, forget all but the last, prune: check is clean, the kept snapshot
// restores bit-exact, and the data only the forgotten snapshots held is gone from the site.
TEST_P(RemoteEngineTest, ForgetPrune) {
  const Site site = Fresh("prune");
  Create(site, "pw");
  std::vector<Id> snapshots;
  const std::string gone1 = src_ + "/gone-1.bin", gone2 = src_ + "/gone-2.bin";
  {
    OpenedRepository opened = Open(site, "pw");
    ASSERT_NE(opened.repo, nullptr);
    WriteFile(gone1, RandomBytes(5u << 19, 501));  // 2.5 MiB: in no later snapshot
    snapshots.push_back(BackupId(opened));
    ASSERT_EQ(unlink(gone1.c_str()), 0);
    WriteFile(gone2, RandomBytes(3u << 19, 502));
    snapshots.push_back(BackupId(opened));
    ASSERT_EQ(unlink(gone2.c_str()), 0);
    WriteFile(src_ + "/last.bin", RandomBytes(200000, 503));
    snapshots.push_back(BackupId(opened));
  }
  ASSERT_EQ(snapshots.size(), 3u);

  OpenedRepository opened = Open(site, "pw", LockKind::kExclusive);
  ASSERT_NE(opened.repo, nullptr);
  Repository& repo = *opened.repo;
  // Where the forgotten files' data is stored now.
  std::vector<Id> gone_blobs = FileBlobs(repo, snapshots[0], gone1);
  for (const Id& b : FileBlobs(repo, snapshots[1], gone2)) gone_blobs.push_back(b);
  ASSERT_GE(gone_blobs.size(), 2u);
  std::set<std::string> gone_packs;
  for (const Id& b : gone_blobs) {
    auto loc = repo.index().Find(BlobType::kData, b);
    ASSERT_TRUE(loc.has_value());
    gone_packs.insert(loc->pack.Hex());
  }
  const std::set<std::string> packs_before = ListPacks(site);
  for (const auto& p : gone_packs) EXPECT_TRUE(packs_before.count(p)) << p;

  std::optional<StepTimer> timer;
  timer.emplace(this, "forget");
  retention::ForgetRequest request;
  request.policy.keep_last = 1;
  request.now_ns = NowNs();
  auto forgot = retention::Forget(repo, opened.lock.get(), request, {});
  ASSERT_TRUE(forgot.ok()) << forgot.status().ToString();
  ASSERT_TRUE(forgot->stopped.ok()) << forgot->stopped.ToString();
  EXPECT_TRUE(forgot->failed.empty());
  EXPECT_EQ(forgot->removed.size(), 2u);
  EXPECT_TRUE(forgot->WasRemoved(snapshots[0]));
  EXPECT_TRUE(forgot->WasRemoved(snapshots[1]));

  timer.emplace(this, "prune");
  PruneOptions p;
  p.lock = opened.lock.get();
  p.max_unused_percent = 0;  // --max-unused 0: nothing unused may stay, even in partly used packs
  auto pruned = Prune(repo, p);
  ASSERT_TRUE(pruned.ok()) << pruned.status().ToString();
  EXPECT_GT(pruned->delete_packs + pruned->repack_packs, 0u);
  EXPECT_GE(pruned->unused_bytes, 4u << 20);  // both forgotten files, stored
  Close(opened);
  timer.reset();

  // Gone from the site: the packs that held the forgotten data are not listed, and no blob of
  // it is indexed; every pack left is indexed and every indexed pack is there.
  const std::set<std::string> packs_after = ListPacks(site);
  EXPECT_LT(packs_after.size(), packs_before.size());
  for (const auto& pack : gone_packs) EXPECT_FALSE(packs_after.count(pack)) << pack;
  {
    auto be = OpenBackend(site.location, false, site.backend);
    ASSERT_TRUE(be.ok());
    for (const auto& pack : gone_packs) {
      auto st = (*be)->Stat({ObjectType::kPack, pack});
      EXPECT_EQ(st.status().code(), StatusCode::kNotFound) << pack << ": " << st.status().ToString();
    }
  }
  OpenedRepository after = Open(site, "pw");
  ASSERT_NE(after.repo, nullptr);
  for (const Id& b : gone_blobs) EXPECT_FALSE(after.repo->index().Has(BlobType::kData, b));
  auto inventory = after.repo->TakePackInventory();
  ASSERT_TRUE(inventory.ok());
  EXPECT_TRUE(inventory->unindexed.empty());
  EXPECT_TRUE(inventory->missing.empty());
  auto list = after.repo->ListSnapshots();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().first, snapshots[2]);
  Close(after);

  ExpectCheckClean(site, "pw");
  ExpectRestoresExactly(site, "pw", snapshots[2]);
}

// (3) add a key with a new password, open with it, remove the original key: the old password no
// longer opens the repository, the new one opens everything.
TEST_P(RemoteEngineTest, KeyChange) {
  const Site site = Fresh("keys");
  Create(site, "old password");
  Id snapshot;
  {
    OpenedRepository opened = Open(site, "old password");
    ASSERT_NE(opened.repo, nullptr);
    snapshot = BackupId(opened);
  }
  std::string old_key, new_key;
  std::optional<StepTimer> timer;
  timer.emplace(this, "key add, open, remove");
  {
    auto repo = OpenRepositoryUnlocked(OptionsFor(site, "old password"));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    old_key = (*repo)->key_name();
    auto added = (*repo)->AddKey("new password", DefaultKdfParams());
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    new_key = *added;
  }
  {
    auto repo = OpenRepositoryUnlocked(OptionsFor(site, "new password"));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    EXPECT_EQ((*repo)->key_name(), new_key);
    Status removed = (*repo)->RemoveKey(old_key);
    ASSERT_TRUE(removed.ok()) << removed.ToString();
  }
  timer.reset();
  auto old = OpenRepositoryUnlocked(OptionsFor(site, "old password"));
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kUnauthenticated) << old.status().ToString();
  {
    auto be = OpenBackend(site.location, false, site.backend);
    ASSERT_TRUE(be.ok());
    auto keys = ListKeys(**be);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    ASSERT_EQ(keys->size(), 1u);
    EXPECT_EQ(keys->front().first, new_key);
  }
  ExpectRestoresExactly(site, "new password", snapshot);
  ExpectCheckClean(site, "new password");
}

// Not a check of the engine but a measurement beside it: what single backend operations cost on
// each site (milliseconds, printed), one after the other on one thread, so that a site whose
// requests stall shows here before it slows every case above.
TEST_P(RemoteEngineTest, OperationLatencies) {
  const Site site = Fresh("latency");
  auto opened = OpenBackend(site.location, /*create=*/true, site.backend);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Backend& be = **opened;
  auto name = [](int i) {
    char buf[65];
    std::snprintf(buf, sizeof buf, "%064x", 0x1234 + i * 0x10001);
    return std::string(buf);
  };
  const Bytes small(300, 7), pack(1u << 20, 9);
  std::map<std::string, double> ms;
  auto measure = [&](const std::string& what, int times, const std::function<Status(int)>& op) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < times; ++i) {
      Status st = op(i);
      ASSERT_TRUE(st.ok()) << what << ": " << st.ToString();
    }
    ms[what] = SecondsSince(start) * 1000 / times;
  };
  measure("save 300 B", 10, [&](int i) { return be.Save({ObjectType::kSnapshot, name(i)}, small); });
  measure("load 300 B", 10, [&](int i) {
    return be.Load({ObjectType::kSnapshot, name(i)}, 0, 0).status();
  });
  measure("stat", 10, [&](int i) { return be.Stat({ObjectType::kSnapshot, name(i)}).status(); });
  measure("save 1 MiB", 4, [&](int i) { return be.Save({ObjectType::kPack, name(i)}, pack); });
  measure("load 1 MiB", 4, [&](int i) { return be.Load({ObjectType::kPack, name(i)}, 0, 0).status(); });
  measure("load 200 B of a pack", 10, [&](int i) {
    return be.Load({ObjectType::kPack, name(i % 4)}, 1000, 200).status();
  });
  measure("list packs", 3, [&](int) {
    return be.List(ObjectType::kPack, "", [](const ObjectInfo&) { return Status::Ok(); });
  });
  std::printf("latency %-5s", KindName(GetParam()).c_str());
  for (const auto& [what, value] : ms) std::printf("  %s %.1f ms", what.c_str(), value);
  std::printf("\n");
}

INSTANTIATE_TEST_SUITE_P(Sites, RemoteEngineTest,
                         ::testing::Values(SiteKind::kLocal, SiteKind::kS3, SiteKind::kSftp,
                                           SiteKind::kRest),
                         [](const ::testing::TestParamInfo<SiteKind>& info) {
                           return KindName(info.param);
                         });

// The cases that span several sites.
class RemoteSitesTest : public RemoteEngineBase, public ::testing::Test {
 protected:
  void SetUp() override {
    SetUpWork(::testing::UnitTest::GetInstance()->current_test_info()->name(), "sites");
    BuildEveryKindTree(src_);
  }
  void TearDown() override { TearDownWork(); }
  Site Fresh(SiteKind kind, const std::string& tag) { return FreshSite(kind, tag, work_); }

  // Creates a replica of the repository at `source` at `site` (init --replica-of).
  void CreateReplica(const Site& source, const std::string& source_password, const Site& site,
                     const std::string& password) {
    auto src = OpenRepositoryUnlocked(OptionsFor(source, source_password));
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    InitOptions init = SmallPacks();
    init.pack_size = (*src)->config().pack_size;
    init.replica_of =
        ReplicaSource{(*src)->config().id, (*src)->master_key(), (*src)->config().chunker};
    Create(site, password, init);
  }

  // Reads every pack at `site` whole, by name.
  static std::map<std::string, Bytes> LoadPacks(const Site& site) {
    std::map<std::string, Bytes> packs;
    auto be = OpenBackend(site.location, false, site.backend);
    EXPECT_TRUE(be.ok());
    if (!be.ok()) return packs;
    for (const std::string& name : ListPacks(site)) {
      auto data = (*be)->Load({ObjectType::kPack, name}, 0, 0);
      EXPECT_TRUE(data.ok()) << name << ": " << data.status().ToString();
      if (data.ok()) packs[name] = std::move(*data);
    }
    return packs;
  }
};

// (4) copy S3 -> SFTP as a replica (packs verbatim), then SFTP -> REST re-encrypting into an
// independent repository; both targets check clean and restore bit-exact.
TEST_F(RemoteSitesTest, CopyBetweenSites) {
  const Site s3 = Fresh(SiteKind::kS3, "copy-src");
  const Site sftp = Fresh(SiteKind::kSftp, "copy-replica");
  const Site rest = Fresh(SiteKind::kRest, "copy-reencrypted");
  Create(s3, "pw-s3");
  Id snapshot;
  {
    OpenedRepository opened = Open(s3, "pw-s3");
    ASSERT_NE(opened.repo, nullptr);
    snapshot = BackupId(opened, "s3");
  }
  CreateReplica(s3, "pw-s3", sftp, "pw-sftp");
  Create(rest, "pw-rest");

  {
    StepTimer timer(this, "copy s3 -> sftp (replica)", "sftp");
    OpenedRepository source = Open(s3, "pw-s3");
    OpenedRepository target = Open(sftp, "pw-sftp");
    ASSERT_NE(source.repo, nullptr);
    ASSERT_NE(target.repo, nullptr);
    CopyOptions o;
    o.source_lock = source.lock.get();
    o.target_lock = target.lock.get();
    auto r = CopySnapshots(*source.repo, *target.repo, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->replica);
    ASSERT_EQ(r->copied.size(), 1u);
    EXPECT_EQ(r->copied[0].target_id, snapshot);
    EXPECT_EQ(r->stats.packs_copied, ListPacks(s3).size());
    // A second run finds everything there.
    auto again = CopySnapshots(*source.repo, *target.repo, o);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_TRUE(again->copied.empty());
    EXPECT_EQ(again->stats.snapshots_skipped, 1u);
  }
  // Replica mode moved the packs byte for byte under their names.
  {
    std::map<std::string, Bytes> a = LoadPacks(s3), b = LoadPacks(sftp);
    EXPECT_GT(a.size(), 0u);
    EXPECT_TRUE(a == b) << a.size() << " packs at the source, " << b.size() << " at the replica";
  }

  Id reencrypted;
  {
    StepTimer timer(this, "copy sftp -> rest (re-encrypt)", "rest");
    OpenedRepository source = Open(sftp, "pw-sftp");
    OpenedRepository target = Open(rest, "pw-rest");
    ASSERT_NE(source.repo, nullptr);
    ASSERT_NE(target.repo, nullptr);
    CopyOptions o;
    o.source_lock = source.lock.get();
    o.target_lock = target.lock.get();
    auto r = CopySnapshots(*source.repo, *target.repo, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->replica);
    ASSERT_EQ(r->copied.size(), 1u);
    EXPECT_NE(r->copied[0].target_id, snapshot);
    EXPECT_GT(r->stats.blobs_reencrypted, 10u);
    reencrypted = r->copied[0].target_id;
  }
  // No pack of the independent repository is one of the source's.
  for (const auto& name : ListPacks(rest)) EXPECT_FALSE(ListPacks(sftp).count(name)) << name;

  ExpectCheckClean(sftp, "pw-sftp");
  ExpectRestoresExactly(sftp, "pw-sftp", snapshot);
  ExpectCheckClean(rest, "pw-rest");
  ExpectRestoresExactly(rest, "pw-rest", reencrypted);
}

// (5) one backup to three sites: primary on S3, replicas on SFTP and REST (`backup --also-to`).
TEST_F(RemoteSitesTest, MultiSiteBackup) {
  const Site s3 = Fresh(SiteKind::kS3, "multi-primary");
  const Site sftp = Fresh(SiteKind::kSftp, "multi-b");
  const Site rest = Fresh(SiteKind::kRest, "multi-c");
  Create(s3, "pw-a");
  CreateReplica(s3, "pw-a", sftp, "pw-b");
  CreateReplica(s3, "pw-a", rest, "pw-c");

  MultiSiteOptions o;
  o.primary = OptionsFor(s3, "pw-a");
  o.primary_name = "s3";
  o.replicas = {{"sftp", sftp.location, sftp.backend, {}}, {"rest", rest.location, rest.backend, {}}};
  std::optional<StepTimer> timer;
  timer.emplace(this, "backup to s3+sftp+rest", "s3");
  auto r = RunMultiSiteBackup(o, [this](Repository& repo, RepositoryLock* lock) {
    BackupOptions b;
    b.paths = {src_};
    b.lock = lock;
    return RunBackup(repo, b);
  });
  timer.reset();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->incomplete());
  EXPECT_FALSE(r->backup.incomplete);
  ASSERT_TRUE(r->backup.snapshot_id.has_value());
  const Id snapshot = *r->backup.snapshot_id;
  ASSERT_EQ(r->sites.size(), 3u);
  for (const SiteReport& s : r->sites) {
    EXPECT_TRUE(s.snapshot_landed) << s.name;
    EXPECT_TRUE(s.error.ok()) << s.name << ": " << s.error.ToString();
    EXPECT_GT(s.bytes_sent, 10u << 20) << s.name;
  }

  const std::set<std::string> packs = ListPacks(s3);
  EXPECT_EQ(ListPacks(sftp), packs);
  EXPECT_EQ(ListPacks(rest), packs);
  for (const auto& [site, password] :
       std::vector<std::pair<Site, std::string>>{{s3, "pw-a"}, {sftp, "pw-b"}, {rest, "pw-c"}}) {
    {
      OpenedRepository opened = Open(site, password);
      ASSERT_NE(opened.repo, nullptr);
      auto list = opened.repo->ListSnapshots();
      ASSERT_TRUE(list.ok()) << list.status().ToString();
      ASSERT_EQ(list->size(), 1u) << site.location;
      EXPECT_EQ(list->front().first, snapshot) << site.location;
    }
    ExpectCheckClean(site, password);
    ExpectRestoresExactly(site, password, snapshot);
  }
}

}  // namespace
}  // namespace lifeboat

