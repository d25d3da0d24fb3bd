// RunPlan and InitPlanSites over local sites (doc/run.md): sync and async replication, the due
// rule, retention never on an immutable site, faults (a site down, a failing source command, a
// failing hook, a notification channel down), the run lock, and secrets kept out of everything.
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dr/plan_init.h"
#include "dr/run.h"
#include "engine/open.h"
#include "plan/validate.h"
#include "repository/keys.h"
#include "restorer/restorer.h"
#include "runlog/run_lock.h"
#include "runlog/run_records.h"

namespace lifeboat::dr {
namespace {

namespace fs = std::filesystem;

constexpr char kPassword[] = "pw-9f1c2e-secret";
constexpr char kEnvSecret[] = "envval-77aa31-secret";
constexpr char kPasswordVar[] = "LB_RUN_TEST_SITE_PW";

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KdfParams kdf;
    kdf.n = 1024;
    SetKdfParamsOverrideForTesting(kdf);
    dir_ = fs::temp_directory_path() / ("lifeboat-run-test-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    Write(dir_ / "pw", std::string(kPassword) + "\n");
    Write(dir_ / "envsecret", std::string(kEnvSecret) + "\n");
    Write(dir_ / "data" / "file.txt", "hello\n");
    setenv(kPasswordVar, kPassword, 1);
    MakeDatabase();
  }
  void TearDown() override {
    SetKdfParamsOverrideForTesting(std::nullopt);
    chmod((dir_ / "sites").c_str(), 0700);
    fs::remove_all(dir_);
  }

  static void Write(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void MakeDatabase() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "app.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "create table t(x); insert into t values (1),(2),(3);", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }

  std::string Site(const std::string& name, bool immutable = false) const {
    return "  " + name + ":\n    repository: " + (dir_ / "sites" / name).string() +
           "\n    password_file: " + (dir_ / "pw").string() +
           "\n    env:\n      SOME_TOKEN_file: " + (dir_ / "envsecret").string() + "\n" +
           (immutable ? "    immutable: true\n" : "");
  }

  plan::Plan Load(const std::string& yaml) {
    plan::LoadedPlan loaded = plan::CheckPlanText(yaml, (dir_ / "lifeboat.yaml").string());
    for (const plan::Diagnostic& d : loaded.diagnostics) {
      EXPECT_FALSE(d.is_error()) << d.ToString();
    }
    return loaded.plan;
  }

  RunOptions Options() {
    RunOptions o;
    o.state_dir = (dir_ / "state").string();
    o.cache_path = (dir_ / "cache" / "status.sqlite3").string();
    o.host = "testhost";
    o.notify_retry.max_attempts = 2;
    o.notify_retry.base_delay = std::chrono::milliseconds(10);
    o.notify_retry.max_delay = std::chrono::milliseconds(20);
    o.notify_retry.budget = std::chrono::milliseconds(3000);
    o.retention_lock_wait = std::chrono::seconds(0);
    o.on_line = [this](const std::string& line) { output_ += line + "\n"; };
    return o;
  }

  OpenedRepository Open(const std::string& site) {
    OpenOptions o;
    o.location = (dir_ / "sites" / site).string();
    o.password = PasswordSource::Value(kPassword);
    o.lock = std::nullopt;
    Result<OpenedRepository> r = OpenRepository(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(*r);
  }

  std::vector<std::pair<Id, Snapshot>> Snapshots(const std::string& site,
                                                 const std::string& service) {
    OpenedRepository r = Open(site);
    auto list = r.repo->ListSnapshots();
    EXPECT_TRUE(list.ok());
    std::vector<std::pair<Id, Snapshot>> out;
    for (auto& [id, s] : *list) {
      if (s.service == service) out.emplace_back(id, s);
    }
    return out;
  }

  std::vector<RunRecord> Records(const std::string& site) {
    OpenedRepository r = Open(site);
    auto l = ListRunRecords(*r.repo, {}, {});
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->records : std::vector<RunRecord>{};
  }

  static const ServiceReport* Find(const RunReport& r, const std::string& name) {
    for (const ServiceReport& s : r.services) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

  fs::path dir_;
  std::string output_;
};

TEST_F(RunTest, SyncTwoServicesTwoSitesThenNothingDue) {
  plan::Plan p = Load("version: 1\nsites:\n" + Site("a") + Site("b") +
                      "services:\n"
                      "  files:\n    tier: 1\n    rpo: 2d\n    depends_on: [db]\n"
                      "    schedule: '@daily'\n    sites: [a, b]\n    replication: sync\n"
                      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
                      "  db:\n    tier: 1\n    rpo: 2d\n    schedule: '@daily'\n"
                      "    sites: [a, b]\n    replication: sync\n"
                      "    sources:\n      - sqlite: {path: " + (dir_ / "app.db").string() + "}\n");
  Result<PlanInitReport> init = InitPlanSites(p, {});
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  ASSERT_EQ(init->sites.size(), 2u);
  EXPECT_EQ(init->sites[0].action, SiteInitAction::kCreated);
  EXPECT_EQ(init->sites[1].action, SiteInitAction::kCreatedReplica);
  // Again: nothing created.
  Result<PlanInitReport> again = InitPlanSites(p, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sites[1].action, SiteInitAction::kExists);

  RunOptions o = Options();
  o.now = true;
  Result<RunReport> r = RunPlan(p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 0) << output_;
  // Order: db first (files depends on it), although files comes first in the plan.
  ASSERT_EQ(r->services.size(), 2u);
  EXPECT_EQ(r->services[0].name, "db");
  EXPECT_EQ(r->services[1].name, "files");
  for (const std::string site : {"a", "b"}) {
    EXPECT_EQ(Snapshots(site, "db").size(), 1u) << site;
    EXPECT_EQ(Snapshots(site, "files").size(), 1u) << site;
    std::vector<RunRecord> records = Records(site);
    ASSERT_EQ(records.size(), 2u) << site;
    for (const RunRecord& rec : records) {
      EXPECT_EQ(rec.site, site);
      EXPECT_EQ(rec.result, RunResult::kOk);
      EXPECT_TRUE(rec.snapshot.has_value());
      EXPECT_EQ(rec.run_id, r->run_id);
    }
  }
  // The sqlite snapshot restores from the second site into a database with the rows.
  auto db_snaps = Snapshots("b", "db");
  ASSERT_EQ(db_snaps.size(), 1u);
  OpenedRepository b = Open("b");
  ASSERT_TRUE(b.repo->LoadIndex().ok());
  RestoreOptions ro;
  ro.target = (dir_ / "restored").string();
  ASSERT_TRUE(RestoreTree(*b.repo, db_snaps[0].second.tree, ro).ok());
  std::string restored = (dir_ / "restored").string() + (dir_ / "app.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(restored.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "select count(*) from t", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 3);
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  // Immediately again without --now: nothing is due, nothing is written.
  RunOptions o2 = Options();
  Result<RunReport> r2 = RunPlan(p, o2);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->ExitCode(), 0);
  for (const ServiceReport& s : r2->services) {
    EXPECT_EQ(s.state, ServiceState::kNotDue) << s.name;
    EXPECT_GT(s.next_due_ns, s.last_start_ns);
  }
  EXPECT_TRUE(r2->record_writes.empty());
  EXPECT_EQ(Snapshots("a", "db").size(), 1u);
  EXPECT_EQ(Records("a").size(), 2u);
}

// A second site (a replica) is opened with the password proof the status cache keeps once the
// password opened it: the next run derives the first site's key only. A wrong password for the
// second site is still found out, and an append-only key there still refuses retention.
// A service backed up as it runs at a recovery site (RunOptions::read_roots, a failback's final
// backup): its SQLite database is read below the root, as its paths are, and recorded at its
// original path. The stale database still at the original path (the primary's, from before the
// failover) is not what is backed up: the orders written at the recovery site are.
TEST_F(RunTest, AReadRootReadsTheSqliteDatabaseAndThePathsBelowIt) {
  const fs::path root = dir_ / "dr-root";
  const fs::path below = root / dir_.relative_path();
  fs::create_directories(below / "data");
  Write(below / "data" / "file.txt", "written at the recovery site\n");
  fs::copy_file(dir_ / "app.db", below / "app.db");
  sqlite3* live = nullptr;
  ASSERT_EQ(sqlite3_open((below / "app.db").c_str(), &live), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(live, "insert into t values (4),(5);", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(live);
  plan::Plan p = Load("version: 1\nsites:\n" + Site("a") +
                      "services:\n"
                      "  db:\n    tier: 1\n    rpo: 2d\n    sites: [a]\n"
                      "    sources:\n      - sqlite: {path: " +
                      (dir_ / "app.db").string() +
                      "}\n"
                      "  files:\n    tier: 1\n    rpo: 2d\n    sites: [a]\n"
                      "    sources:\n      - paths: [" +
                      (dir_ / "data").string() + "]\n");
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  RunOptions o = Options();
  o.now = true;
  o.read_roots = {{"db", root.string()}, {"files", root.string()}};
  Result<RunReport> r = RunPlan(p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->ExitCode(), 0) << output_;

  auto db_snaps = Snapshots("a", "db");
  ASSERT_EQ(db_snaps.size(), 1u);
  EXPECT_EQ(db_snaps[0].second.paths, std::vector<std::string>{(dir_ / "app.db").string()});
  auto file_snaps = Snapshots("a", "files");
  ASSERT_EQ(file_snaps.size(), 1u);
  OpenedRepository a = Open("a");
  ASSERT_TRUE(a.repo->LoadIndex().ok());
  RestoreOptions ro;
  ro.target = (dir_ / "restored").string();
  ASSERT_TRUE(RestoreTree(*a.repo, db_snaps[0].second.tree, ro).ok());
  ASSERT_TRUE(RestoreTree(*a.repo, file_snaps[0].second.tree, ro).ok());
  EXPECT_EQ(Read((dir_ / "restored").string() + (dir_ / "data" / "file.txt").string()),
            "written at the recovery site\n");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(((dir_ / "restored").string() + (dir_ / "app.db").string()).c_str(), &db),
            SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "select count(*) from t", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 5) << "the stale database at the original path was read";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// Below a read root no symbolic link is followed to the database (one written at the recovery
// site could point out of the root): the source fails and names it, nothing is stored.
TEST_F(RunTest, AReadRootDoesNotFollowASymlinkToTheSqliteDatabase) {
  const fs::path root = dir_ / "dr-root";
  fs::create_directories(root / dir_.relative_path());
  fs::create_symlink(dir_ / "app.db", root / dir_.relative_path() / "app.db");
  plan::Plan p = Load("version: 1\nsites:\n" + Site("a") +
                      "services:\n"
                      "  db:\n    tier: 1\n    rpo: 2d\n    sites: [a]\n"
                      "    sources:\n      - sqlite: {path: " +
                      (dir_ / "app.db").string() + "}\n");
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  RunOptions o = Options();
  o.now = true;
  o.read_roots = {{"db", root.string()}};
  Result<RunReport> r = RunPlan(p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->ExitCode(), 0);
  EXPECT_NE(output_.find("is a symbolic link below the read root"), std::string::npos) << output_;
  EXPECT_TRUE(Snapshots("a", "db").empty());
}

TEST_F(RunTest, TheSecondSiteIsOpenedByItsPasswordProof) {
  const std::string plan_text = "version: 1\nsites:\n" + Site("a") + Site("b") +
                                "services:\n"
                                "  files:\n    tier: 2\n    rpo: 2d\n    schedule: '@daily'\n"
                                "    sites: [a, b]\n    replication: sync\n"
                                "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n";
  plan::Plan p = Load(plan_text);
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  RunOptions o = Options();
  o.now = true;
  o.cache_path = (dir_ / "cache.sqlite3").string();
  uint64_t before = KeyDerivationCount();
  Result<RunReport> first = RunPlan(p, o);
  ASSERT_TRUE(first.ok() && first->ExitCode() == 0) << output_;
  EXPECT_EQ(KeyDerivationCount() - before, 2u);  // a and b: no proof kept yet
  const size_t records_b = Records("b").size();
  ASSERT_GT(records_b, 0u);

  before = KeyDerivationCount();
  Result<RunReport> second = RunPlan(p, o);
  ASSERT_TRUE(second.ok() && second->ExitCode() == 0) << output_;
  EXPECT_EQ(KeyDerivationCount() - before, 1u);  // a only: b by its proof
  EXPECT_EQ(Snapshots("b", "files").size(), 2u);
  EXPECT_GT(Records("b").size(), records_b);  // the run's records were written at b

  // b's password in the plan is wrong now: the proof does not hold, the password is tried, the
  // run names b's failure (a still got its backup).
  const std::string pw_file = (dir_ / "wrong-password").string();
  {
    std::ofstream f(pw_file);
    f << "not-the-password";
  }
  std::string wrong_text = plan_text;
  const std::string b_site = Site("b");
  std::string b_wrong = b_site;
  const std::string right_file = (dir_ / "pw").string();
  b_wrong.replace(b_wrong.find(right_file), right_file.size(), pw_file);
  wrong_text.replace(wrong_text.find(b_site), b_site.size(), b_wrong);
  plan::Plan wrong = Load(wrong_text);
  Result<RunReport> third = RunPlan(wrong, o);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(third->ExitCode(), 0) << output_;
  EXPECT_NE(output_.find("matches the password"), std::string::npos) << output_;
}

TEST_F(RunTest, AsyncCopiesAndRetentionSparesTheImmutableSite) {
  plan::Plan p = Load("version: 1\nsites:\n" + Site("a") + Site("b", true) +
                      "services:\n"
                      "  files:\n    tier: 2\n    rpo: 2d\n    schedule: '@daily'\n"
                      "    sites: [a, b]\n    replication: async\n"
                      "    retention: {keep_last: 1}\n"
                      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n");
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  for (int i = 0; i < 2; ++i) {
    Write(dir_ / "data" / "file.txt", "version " + std::to_string(i) + "\n");
    RunOptions o = Options();
    o.now = true;
    Result<RunReport> r = RunPlan(p, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->ExitCode(), 0) << output_;
    ASSERT_EQ(r->services[0].retention_notes.size(), 1u);
    EXPECT_EQ(r->services[0].retention_notes[0],
              "retention not run at b: the site is immutable");
  }
  EXPECT_EQ(Snapshots("a", "files").size(), 1u);  // keep_last 1
  EXPECT_EQ(Snapshots("b", "files").size(), 2u);  // immutable: never forgotten
  // b's copy records name the copied snapshot.
  size_t copies = 0;
  for (const RunRecord& rec : Records("b")) {
    if (rec.source) {
      ++copies;
      EXPECT_EQ(rec.result, RunResult::kOk);
      EXPECT_TRUE(rec.snapshot.has_value());
    }
  }
  EXPECT_EQ(copies, 2u);
  EXPECT_NE(output_.find("retention not run at b: the site is immutable"), std::string::npos);
}

TEST_F(RunTest, FaultsAreNamedAndOtherServicesAreStillBackedUp) {
  const std::string events = (dir_ / "events.jsonl").string();
  plan::Plan p = Load(
      "version: 1\nsites:\n" + Site("a") + Site("gone") +
      "  envsite:\n    repository: " + (dir_ / "sites" / "envsite").string() +
      "\n    password_env: " + kPasswordVar + "\n"
      "services:\n"
      "  good:\n    tier: 0\n    rpo: 1d\n    sites: [a]\n"
      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
      "    hooks:\n      after: [\"echo after-pw=$" + kPasswordVar + " svc=$LIFEBOAT_SERVICE\"]\n"
      "  badcmd:\n    tier: 1\n    rpo: 1d\n    sites: [a]\n"
      "    sources:\n      - command: \"echo partial; exit 3\"\n"
      "    hooks:\n      on_error: [\"echo \\\"$LIFEBOAT_ERROR\\\" > " + (dir_ / "onerror.txt").string() + "\"]\n"
      "  badhook:\n    tier: 1\n    rpo: 1d\n    sites: [a]\n"
      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
      "    hooks:\n      before: [\"exit 4 # " + kPassword + "\"]\n"
      "  down:\n    tier: 2\n    rpo: 1d\n    sites: [gone, a]\n    replication: async\n"
      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
      "  envsvc:\n    tier: 3\n    rpo: 1d\n    sites: [envsite]\n"
      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
      "notifications:\n  channels:\n"
      "    closed:\n      type: webhook\n      url: http://127.0.0.1:9/hook\n      timeout: 1s\n"
      "    log:\n      type: command\n      command: \"cat >> " + events + "; echo >> " + events + "\"\n"
      "  routes:\n    - channels: [closed, log]\n");
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  fs::remove_all(dir_ / "sites" / "gone");  // the site is down

  RunOptions o = Options();
  o.now = true;
  Result<RunReport> r = RunPlan(p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 3);

  const ServiceReport* good = Find(*r, "good");
  ASSERT_NE(good, nullptr);
  EXPECT_FALSE(good->failed()) << output_;
  EXPECT_EQ(Snapshots("a", "good").size(), 1u);
  EXPECT_EQ(Snapshots("envsite", "envsvc").size(), 1u);
  EXPECT_NE(output_.find("after-pw= svc=good"), std::string::npos) << output_;

  const ServiceReport* badcmd = Find(*r, "badcmd");
  ASSERT_TRUE(badcmd != nullptr && badcmd->failed());
  EXPECT_EQ(Snapshots("a", "badcmd").size(), 0u);
  EXPECT_NE(Read(dir_ / "onerror.txt").find("source command at a:"), std::string::npos);

  const ServiceReport* badhook = Find(*r, "badhook");
  ASSERT_TRUE(badhook != nullptr && badhook->failed());
  ASSERT_FALSE(badhook->outcomes.empty());
  EXPECT_NE(badhook->outcomes[0].error.find("hook before"), std::string::npos);
  EXPECT_NE(badhook->outcomes[0].error.find("***"), std::string::npos);
  EXPECT_EQ(Snapshots("a", "badhook").size(), 0u);

  const ServiceReport* down = Find(*r, "down");
  ASSERT_TRUE(down != nullptr && down->failed());
  EXPECT_EQ(Snapshots("a", "down").size(), 0u);  // async: nothing to copy

  // Records: site a holds its own and those of the site that is down.
  std::vector<RunRecord> records = Records("a");
  bool gone_record = false, badcmd_failed = false;
  for (const RunRecord& rec : records) {
    if (rec.site == "gone") gone_record = true;
    if (rec.service == "badcmd" && rec.result == RunResult::kFailed) badcmd_failed = true;
  }
  EXPECT_TRUE(gone_record);
  EXPECT_TRUE(badcmd_failed);

  // Notifications: the closed channel failed (the run went on), the command channel got the
  // failures and the summary.
  bool closed_failed = false;
  for (const notify::DeliveryOutcome& n : r->notifications) {
    if (n.channel == "closed" && n.result == notify::OutcomeResult::kFailed) closed_failed = true;
  }
  EXPECT_TRUE(closed_failed);
  const std::string sent = Read(events);
  EXPECT_NE(sent.find("\"backup_failed\""), std::string::npos);
  EXPECT_NE(sent.find("\"service\":\"badcmd\""), std::string::npos);
  EXPECT_NE(sent.find("\"site_unreachable\""), std::string::npos);
  EXPECT_NE(sent.find("\"run_summary\""), std::string::npos);
  // run_started went out before the first backup's news; the RPO of a service without any
  // snapshot was observed after the backups (the status of the run's services).
  const size_t started = sent.find("\"run_started\"");
  ASSERT_NE(started, std::string::npos) << sent;
  EXPECT_LT(started, sent.find("\"backup_failed\""));
  std::set<std::string> rpo_violated;
  std::istringstream lines(sent);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    nlohmann::json e = nlohmann::json::parse(line);
    if (e["event"] == "rpo_violated") rpo_violated.insert(e.value("service", ""));
  }
  // badcmd has no snapshot anywhere; good was just backed up at a.
  EXPECT_TRUE(rpo_violated.count("badcmd")) << sent;
  EXPECT_FALSE(rpo_violated.count("good")) << sent;

  // No secret anywhere: output, records, notifications, the hooks' files.
  std::string everything = output_ + sent + Read(dir_ / "onerror.txt");
  for (const RunRecord& rec : records) everything += RunRecordJson(rec);
  for (const ServiceReport& s : r->services) {
    for (const SiteOutcome& oc : s.outcomes) everything += oc.error;
    for (const std::string& h : s.hook_errors) everything += h;
  }
  for (const std::string& w : r->warnings) everything += w;
  for (const notify::DeliveryOutcome& n : r->notifications) everything += n.error;
  EXPECT_EQ(everything.find(kPassword), std::string::npos);
  EXPECT_EQ(everything.find(kEnvSecret), std::string::npos);
}

TEST_F(RunTest, AServiceHeldByAnotherRunIsSkippedAndNamed) {
  plan::Plan p = Load("version: 1\nsites:\n" + Site("a") +
                      "services:\n"
                      "  one:\n    tier: 0\n    rpo: 1d\n    sites: [a]\n"
                      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
                      "  two:\n    tier: 1\n    rpo: 1d\n    sites: [a]\n"
                      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n");
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  RunOptions o = Options();
  o.now = true;
  Result<RunLock> held = RunLock::TryAcquire(o.state_dir, fs::absolute(p.file).string(), "one");
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  Result<RunReport> r = RunPlan(p, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 0);
  const ServiceReport* one = Find(*r, "one");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->state, ServiceState::kLocked);
  EXPECT_NE(one->note.find("pid " + std::to_string(getpid())), std::string::npos) << one->note;
  EXPECT_EQ(Snapshots("a", "one").size(), 0u);
  EXPECT_EQ(Snapshots("a", "two").size(), 1u);
  bool skipped = false;
  for (const RunRecord& rec : Records("a")) {
    if (rec.service == "one" && rec.result == RunResult::kSkipped) skipped = true;
  }
  EXPECT_TRUE(skipped);
}

TEST_F(RunTest, InitRefusesAnUnrelatedSiteUsedWithSync) {
  plan::Plan p = Load("version: 1\nsites:\n" + Site("a") + Site("b") +
                      "services:\n"
                      "  s:\n    tier: 3\n    rpo: 1d\n    sites: [a, b]\n    replication: sync\n"
                      "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n");
  // b exists first, on its own key.
  OpenOptions ob;
  ob.location = (dir_ / "sites" / "b").string();
  ob.password = PasswordSource::Value(kPassword);
  ASSERT_TRUE(CreateRepository(ob, InitOptions{}).ok());
  Result<PlanInitReport> init = InitPlanSites(p, {});
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->sites[0].action, SiteInitAction::kCreated);
  EXPECT_EQ(init->sites[1].action, SiteInitAction::kRefused);
  EXPECT_NE(init->sites[1].message.find("replication: async"), std::string::npos);
  EXPECT_FALSE(init->ok());
}

TEST(ServiceOrderTest, TierThenPlanOrderDependenciesFirst) {
  plan::Plan p;
  auto add = [&](std::string name, int tier, std::vector<std::string> deps) {
    plan::Service s;
    s.name = std::move(name);
    s.tier = tier;
    for (std::string& d : deps) s.depends_on.push_back({d, {}});
    p.services.push_back(s);
  };
  add("c", 2, {});
  add("a", 0, {"z"});
  add("b", 0, {});
  add("z", 3, {});
  std::vector<size_t> order = ServiceOrder(p);
  std::vector<std::string> names;
  for (size_t i : order) names.push_back(p.services[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"b", "z", "a", "c"}));
}

TEST(RedactTest, LongestFirst) {
  EXPECT_EQ(RedactSecrets("x abcdef y abc", {"abc", "abcdef", ""}), "x *** y ***");
}

}  // namespace
}  // namespace lifeboat::dr

namespace lifeboat::dr {
namespace {

// A service's drill_schedule (doc/run.md, "Scheduled drills"): due when never drilled, drilled
// after the run's backups through PerformDrill (a record at the site, a drill_passed through the
// routes), then not due until the schedule fires again; a dry run only says it would drill; a
// failing drill fails the run.
TEST_F(RunTest, ScheduledDrillsRunAfterTheBackupsWhenDue) {
  const std::string events = (dir_ / "events.jsonl").string();
  auto yaml = [&](const std::string& name, const std::string& check) {
    return "version: 1\nsites:\n" + Site("a") +
           "services:\n"
           "  " + name + ":\n    tier: 1\n    rpo: 1d\n    sites: [a]\n"
           "    drill_schedule: \"0 0 1 1 *\"\n"  // yearly: never due twice in one test
           "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
           "    verify:\n      - files: {}\n" + check +
           "  plain:\n    tier: 2\n    rpo: 1d\n    sites: [a]\n"
           "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
           "notifications:\n  channels:\n"
           "    log:\n      type: command\n      command: \"cat >> " + events + "; echo >> " +
           events + "\"\n"
           "  routes:\n    - events: [drill_passed, drill_failed]\n      channels: [log]\n";
  };
  const plan::Plan p = Load(yaml("app", ""));
  ASSERT_TRUE(InitPlanSites(p, {}).ok());
  RunOptions o = Options();
  o.drill_sandbox = (dir_ / "drills").string();

  // A dry run decides but drills nothing.
  o.dry_run = true;
  Result<RunReport> dry = RunPlan(p, o);
  ASSERT_TRUE(dry.ok());
  EXPECT_FALSE(dry->drill.has_value());
  ASSERT_TRUE(Find(*dry, "app")->drill.has_value());
  EXPECT_TRUE(Find(*dry, "app")->drill->due);
  EXPECT_FALSE(Find(*dry, "plain")->drill.has_value());  // no drill_schedule
  EXPECT_NE(output_.find("drill due for app: would drill"), std::string::npos) << output_;
  o.dry_run = false;

  Result<RunReport> r = RunPlan(p, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 0) << output_;
  ASSERT_TRUE(r->drill.has_value()) << output_;
  EXPECT_TRUE(Find(*r, "app")->drill->due);
  EXPECT_EQ(Find(*r, "app")->drill->note, "never drilled");
  ASSERT_EQ(r->drill->drills.size(), 1u);  // only the service with a drill_schedule
  const DrillRecord& rec = r->drill->drills[0].record;
  EXPECT_EQ(rec.service, "app");
  EXPECT_EQ(rec.result, DrillResult::kPassed);
  EXPECT_TRUE(r->drill->recorded());
  // It restored what this run had just backed up.
  ASSERT_EQ(rec.snapshots.size(), 1u);
  EXPECT_EQ(rec.snapshots[0].snapshot, *Find(*r, "app")->outcomes.at(0).snapshot);
  OpenedRepository site = Open("a");
  Result<DrillRecordListing> l = ListDrillRecords(*site.repo, {}, Context());
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->records.size(), 1u);
  EXPECT_EQ(l->records[0].id, rec.id);
  EXPECT_NE(Read(events).find("\"event\":\"drill_passed\""), std::string::npos);

  // Again: the drill is not due until next 1 January.
  output_.clear();
  o.now = true;  // --now makes backups due, not drills
  Result<RunReport> again = RunPlan(p, o);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->drill.has_value()) << output_;
  ASSERT_TRUE(Find(*again, "app")->drill.has_value());
  EXPECT_FALSE(Find(*again, "app")->drill->due);
  EXPECT_EQ(Find(*again, "app")->drill->last_start_ns, rec.start_ns);
  EXPECT_GT(Find(*again, "app")->drill->next_due_ns, rec.start_ns);

  // A failing drill (of a service never drilled) fails the run and opens a drill problem in the
  // run's own notification state.
  const plan::Plan failing = Load(yaml("broken", "      - command: {run: \"echo broken; exit 1\"}\n"));
  Result<RunReport> bad = RunPlan(failing, o);
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad->drill.has_value()) << output_;
  EXPECT_EQ(bad->drill->drills.at(0).record.service, "broken");
  EXPECT_EQ(bad->drill->drills.at(0).record.result, DrillResult::kFailed);
  EXPECT_EQ(bad->ExitCode(), 3);
  EXPECT_NE(Read(events).find("\"event\":\"drill_failed\""), std::string::npos);
  EXPECT_NE(Read(dir_ / "state" / "notify-state.json").find("lifeboat:drill:broken:a"),
            std::string::npos);
}

}  // namespace
}  // namespace lifeboat::dr
