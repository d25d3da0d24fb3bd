#include "dr/status.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "backend/forwarding_backend.h"
#include "engine/open.h"
#include "plan/validate.h"
#include "repository/keys.h"
#include "runlog/run_records.h"

namespace lifeboat::dr {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kT0 = 1'796'000'000 * kSec;  // 2026-11-30, a whole minute

// Counts the snapshot and run objects loaded through it.
// Counts the snapshot objects and the key files loaded through every site (one counter each,
// shared by the sites).
class CountingBackend : public ForwardingBackend {
 public:
  CountingBackend(std::unique_ptr<Backend> inner, std::atomic<int>* snapshots,
                  std::atomic<int>* keys = nullptr)
      : ForwardingBackend(std::move(inner)), snapshots_(snapshots), keys_(keys) {}
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    Count(h);
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    Count(h);
    return ForwardingBackend::LoadInto(h, offset, length, out);
  }

 private:
  void Count(const ObjectHandle& h) {
    if (h.type == ObjectType::kSnapshot) ++*snapshots_;
    if (h.type == ObjectType::kKey && keys_ != nullptr) ++*keys_;
  }
  std::atomic<int>* snapshots_;
  std::atomic<int>* keys_;
};

// Blocks every call until released, ignoring any deadline (a hung system call).
class HangingBackend : public ForwardingBackend {
 public:
  HangingBackend(std::unique_ptr<Backend> inner, std::shared_ptr<std::atomic<bool>> release)
      : ForwardingBackend(std::move(inner)), release_(std::move(release)) {}
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    while (!*release_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ForwardingBackend::Load(h, offset, length);
  }
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    while (!*release_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return ForwardingBackend::List(type, prefix, fn);
  }

 private:
  std::shared_ptr<std::atomic<bool>> release_;
};

std::string Dir() {
  char tmpl[] = "/tmp/lifeboat-status-test-XXXXXX";
  EXPECT_NE(mkdtemp(tmpl), nullptr);
  return tmpl;
}

class StatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KdfParams kdf;
    kdf.n = 1024;
    SetKdfParamsOverrideForTesting(kdf);
    dir_ = Dir();
    std::ofstream(dir_ + "/pw") << kPassword << "\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static constexpr const char* kPassword = "correct-horse-s3cr3t";

  // Creates the site repository `name` under dir_.
  std::unique_ptr<Repository> CreateSite(const std::string& name) {
    OpenOptions o;
    o.location = dir_ + "/" + name;
    o.password = PasswordSource::File(dir_ + "/pw");
    InitOptions init;
    init.kdf.n = 1024;
    auto repo = CreateRepository(o, init);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(*repo) : nullptr;
  }

  static Id Snap(Repository& repo, const std::string& service, const std::string& source,
                 int64_t time_ns, bool incomplete = false) {
    Snapshot s;
    s.time_ns = time_ns;
    s.hostname = "h";
    s.paths = {"/srv"};
    s.tree = *Id::FromHex(std::string(64, '1'));
    s.incomplete = incomplete;
    s.service = service;
    if (!source.empty()) {
      s.source = SnapshotSource();
      s.source->name = source;
      s.source->kind = "paths";
      s.source->restore.method = "restore";
    }
    Result<Id> id = repo.SaveSnapshot(s);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : Id();
  }

  // The plan: sites a (local, primary) and b (local, offsite, media usb); service db (tier 0,
  // rpo 1h, sources dump and files, hourly) on [a, b]; service wiki (tier 2, rpo 1d) on [a].
  plan::Plan Plan(const std::string& extra_sites = "", const std::string& db_sites = "[a, b]") {
    const std::string text =
        "version: 1\n"
        "sites:\n"
        "  a: {repository: " + dir_ + "/a, password_file: " + dir_ + "/pw}\n"
        "  b: {repository: " + dir_ + "/b, password_file: " + dir_ + "/pw, role: offsite, media: usb}\n" +
        extra_sites +
        "services:\n"
        "  db:\n"
        "    tier: 0\n"
        "    rpo: 1h\n"
        "    schedule: \"0 * * * *\"\n"
        "    sources:\n"
        "      - {name: dump, command: \"echo hi\"}\n"
        "      - {name: files, paths: [/srv]}\n"
        "    sites: " + db_sites + "\n"
        "  wiki:\n"
        "    tier: 2\n"
        "    rpo: 1d\n"
        "    sources: [{paths: [/srv/wiki]}]\n"
        "    sites: [a]\n";
    plan::LoadedPlan loaded = plan::CheckPlanText(text, dir_ + "/lifeboat.yaml");
    EXPECT_EQ(loaded.errors, 0u) << text;
    for (const plan::Diagnostic& d : loaded.diagnostics)
      if (d.is_error()) ADD_FAILURE() << d.ToString();
    return loaded.plan;
  }

  StatusOptions Options(int64_t now) {
    StatusOptions o;
    o.now_ns = now;
    o.cache_path = dir_ + "/cache/status.sqlite3";
    return o;
  }

  static const ServiceSiteStatus& At(const PlanStatus& st, const std::string& service,
                                     const std::string& site) {
    for (const ServiceStatus& s : st.services)
      if (s.name == service)
        for (const ServiceSiteStatus& ss : s.sites)
          if (ss.site == site) return ss;
    ADD_FAILURE() << "no " << service << " at " << site;
    static ServiceSiteStatus none;
    return none;
  }
  static const ServiceStatus& Service(const PlanStatus& st, const std::string& name) {
    for (const ServiceStatus& s : st.services)
      if (s.name == name) return s;
    ADD_FAILURE() << "no service " << name;
    static ServiceStatus none;
    return none;
  }

  std::string dir_;
};

TEST(RpoStateTest, Thresholds) {
  const std::chrono::seconds rpo{3600};
  EXPECT_EQ(RpoStateForAge(0, rpo), RpoState::kOk);
  EXPECT_EQ(RpoStateForAge(-5 * kSec, rpo), RpoState::kOk);
  EXPECT_EQ(RpoStateForAge(48 * kMin, rpo), RpoState::kOk);  // exactly 80%: still ok
  EXPECT_EQ(RpoStateForAge(48 * kMin + 1, rpo), RpoState::kAtRisk);
  EXPECT_EQ(RpoStateForAge(60 * kMin, rpo), RpoState::kAtRisk);  // exactly the RPO holds
  EXPECT_EQ(RpoStateForAge(60 * kMin + 1, rpo), RpoState::kViolated);
  EXPECT_TRUE(RpoHolds(RpoState::kAtRisk));
  EXPECT_FALSE(RpoHolds(RpoState::kMissing));
  EXPECT_FALSE(RpoHolds(RpoState::kUnreachable));
}

TEST_F(StatusTest, OkThenAtRiskThenViolatedAsTimePasses) {
  auto a = CreateSite("a");
  auto b = CreateSite("b");
  Snap(*a, "db", "dump", kT0);
  Snap(*a, "db", "files", kT0);
  Snap(*b, "db", "dump", kT0);
  Snap(*b, "db", "files", kT0);
  Snap(*a, "wiki", "paths", kT0);
  const plan::Plan plan = Plan();

  struct Step {
    int64_t now;
    RpoState db;
  } steps[] = {{kT0 + 10 * kMin, RpoState::kOk},
               {kT0 + 49 * kMin, RpoState::kAtRisk},
               {kT0 + 61 * kMin, RpoState::kViolated}};
  for (const Step& step : steps) {
    Result<PlanStatus> st = ComputePlanStatus(plan, Options(step.now));
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(At(*st, "db", "a").state, step.db);
    EXPECT_EQ(At(*st, "db", "b").state, step.db);
    EXPECT_EQ(At(*st, "wiki", "a").state, RpoState::kOk);
    EXPECT_EQ(At(*st, "db", "a").newest->age_ns, step.now - kT0);
    EXPECT_EQ(st->holds, RpoHolds(step.db));
  }
}

TEST_F(StatusTest, MissingWhenNoSnapshotOrOneSourceHasNone) {
  auto a = CreateSite("a");
  auto b = CreateSite("b");
  Snap(*a, "db", "dump", kT0);  // files never backed up at a
  Snap(*a, "wiki", "paths", kT0);
  // At b: only an incomplete snapshot, and snapshots of other services and of no service.
  Snap(*b, "db", "dump", kT0, /*incomplete=*/true);
  Snap(*b, "db", "files", kT0, /*incomplete=*/true);
  Snap(*b, "wiki", "paths", kT0);
  Snap(*b, "", "", kT0);
  Result<PlanStatus> st = ComputePlanStatus(Plan(), Options(kT0 + kMin));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const ServiceSiteStatus& at_a = At(*st, "db", "a");
  EXPECT_EQ(at_a.state, RpoState::kMissing);
  ASSERT_EQ(at_a.sources.size(), 2u);
  EXPECT_EQ(at_a.sources[0].state, RpoState::kOk);
  EXPECT_EQ(at_a.sources[1].state, RpoState::kMissing);
  EXPECT_EQ(At(*st, "db", "b").state, RpoState::kMissing);
  EXPECT_FALSE(st->holds);
  EXPECT_NE(HumanStatus(*st, false).find("db at a: no complete snapshot of source files"),
            std::string::npos)
      << HumanStatus(*st, false);
}

TEST_F(StatusTest, TheOldestSourceDecides) {
  auto a = CreateSite("a");
  CreateSite("b");
  Snap(*a, "db", "dump", kT0 - 120 * kMin);
  const Id fresh_dump = Snap(*a, "db", "dump", kT0);
  const Id old_files = Snap(*a, "db", "files", kT0 - 50 * kMin);
  Result<PlanStatus> st = ComputePlanStatus(Plan(), Options(kT0 + kMin));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const ServiceSiteStatus& ss = At(*st, "db", "a");
  // dump is 1 minute old, files 51 minutes: past 80% of 1h.
  EXPECT_EQ(ss.sources[0].newest->id, fresh_dump.Hex());
  EXPECT_EQ(ss.sources[0].state, RpoState::kOk);
  EXPECT_EQ(ss.sources[1].state, RpoState::kAtRisk);
  EXPECT_EQ(ss.newest->id, old_files.Hex());
  EXPECT_EQ(ss.state, RpoState::kAtRisk);
}

TEST_F(StatusTest, LastRunAndNextRunFromRunRecords) {
  auto a = CreateSite("a");
  CreateSite("b");
  auto record = [](const std::string& run_id, const std::string& source, int64_t start,
                   RunResult result, const std::string& error) {
    RunRecord r;
    r.id = NewRunRecordId();
    r.run_id = run_id;
    r.service = "db";
    r.site = "a";
    r.source = RunSource{source, "paths"};
    r.start_ns = start;
    r.end_ns = start + 42 * kSec;
    r.result = result;
    r.error = error;
    r.host = "h";
    r.program_version = "lifeboat test";
    return r;
  };
  const std::string old_run = NewRunId(), new_run = NewRunId();
  ASSERT_TRUE(WriteRunRecords(*a,
                              {record(old_run, "dump", kT0 - 120 * kMin, RunResult::kOk, ""),
                               record(old_run, "files", kT0 - 120 * kMin, RunResult::kOk, "")},
                              {})
                  .ok());
  ASSERT_TRUE(
      WriteRunRecords(*a,
                      {record(new_run, "dump", kT0 - 30 * kMin + 5 * kSec, RunResult::kOk, ""),
                       record(new_run, "files", kT0 - 30 * kMin + 5 * kSec, RunResult::kFailed,
                              "paths /srv: permission denied")},
                      {})
          .ok());
  Result<PlanStatus> st = ComputePlanStatus(Plan(), Options(kT0));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const ServiceSiteStatus& ss = At(*st, "db", "a");
  ASSERT_TRUE(ss.last_run.has_value());
  EXPECT_EQ(ss.last_run->run_id, new_run);
  EXPECT_EQ(ss.last_run->result, RunResult::kFailed);
  EXPECT_EQ(ss.last_run->error, "paths /srv: permission denied");
  EXPECT_EQ(ss.last_run->end_ns - ss.last_run->start_ns, 42 * kSec);
  EXPECT_FALSE(At(*st, "db", "b").last_run.has_value());
  const ServiceStatus& db = Service(*st, "db");
  // "0 * * * *" after kT0 - 29m55s: the top of the hour after it.
  const int64_t last_start_s = (kT0 - 30 * kMin + 5 * kSec) / kSec;
  EXPECT_EQ(*db.next_run_ns, (last_start_s / 3600 + 1) * 3600 * kSec);
  EXPECT_EQ(db.due, *db.next_run_ns <= kT0);
  // wiki has no run: due now.
  EXPECT_EQ(*Service(*st, "wiki").next_run_ns, kT0);
  EXPECT_TRUE(Service(*st, "wiki").due);
}

TEST_F(StatusTest, CopiesAgainstThreeTwoOne) {
  auto a = CreateSite("a");
  auto b = CreateSite("b");
  for (auto* r : {a.get(), b.get()}) {
    Snap(*r, "db", "dump", kT0);
    Snap(*r, "db", "files", kT0);
  }
  Snap(*b, "db", "files", kT0 - 300 * kMin);
  Result<PlanStatus> st = ComputePlanStatus(Plan(), Options(kT0 + kMin));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const CopiesStatus& c = Service(*st, "db").copies;
  EXPECT_EQ(c.copies, 3);
  EXPECT_EQ(c.media, (std::vector<std::string>{"disk", "usb"}));
  EXPECT_TRUE(c.offsite);
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();

  // b (offsite, usb) goes stale: 2 copies, one media kind, no offsite copy; a warning each,
  // and the exit code is about the RPO only.
  st = ComputePlanStatus(Plan(), Options(kT0 + 90 * kMin));
  ASSERT_TRUE(st.ok());
  const CopiesStatus& stale = Service(*st, "db").copies;
  EXPECT_EQ(stale.copies, 1);  // both violated now
  Snap(*a, "db", "dump", kT0 + 89 * kMin);
  Snap(*a, "db", "files", kT0 + 89 * kMin);
  st = ComputePlanStatus(Plan(), Options(kT0 + 90 * kMin));
  ASSERT_TRUE(st.ok());
  const CopiesStatus& two = Service(*st, "db").copies;
  EXPECT_EQ(two.copies, 2);
  EXPECT_EQ(two.media, std::vector<std::string>{"disk"});
  EXPECT_FALSE(two.offsite);
  EXPECT_EQ(two.warnings.size(), 3u);
  // wiki: the live data and one site: a shortfall, yet its RPO holds.
  EXPECT_TRUE(Service(*st, "wiki").holds || At(*st, "wiki", "a").state == RpoState::kMissing);
}

TEST_F(StatusTest, SecondStatusReadsNoSnapshotObjects) {
  auto a = CreateSite("a");
  auto b = CreateSite("b");
  for (int i = 0; i < 20; ++i) {
    Snap(*a, "db", i % 2 ? "dump" : "files", kT0 - i * kMin);
    Snap(*b, "db", i % 2 ? "dump" : "files", kT0 - i * kMin);
  }
  std::atomic<int> loads{0}, keys{0};
  StatusOptions o = Options(kT0 + kMin);
  o.decorate_backend = [&loads, &keys](const std::string&, std::unique_ptr<Backend> b) {
    return std::make_unique<CountingBackend>(std::move(b), &loads, &keys);
  };
  Result<PlanStatus> cold = ComputePlanStatus(Plan(), o);
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ(loads.load(), 40);
  EXPECT_GE(keys.load(), 2);  // each site's key opened
  loads = 0;
  keys = 0;
  Result<PlanStatus> warm = ComputePlanStatus(Plan(), o);
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ(loads.load(), 0);
  EXPECT_EQ(keys.load(), 0);  // answered from the cache: no key derived (runlog/cache.h)
  EXPECT_EQ(HumanStatus(*cold, false), HumanStatus(*warm, false));
  // A new snapshot is read, and only it: its site's key is opened for it, the other's is not.
  Snap(*a, "db", "dump", kT0 + kMin);
  loads = 0;
  keys = 0;
  Result<PlanStatus> newer = ComputePlanStatus(Plan(), o);
  ASSERT_TRUE(newer.ok());
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(keys.load(), 1);
  bool seen = false;
  for (const SourceStatus& so : At(*newer, "db", "a").sources) {
    if (so.name != "dump") continue;
    seen = true;
    ASSERT_TRUE(so.newest.has_value());
    EXPECT_EQ(so.newest->time_ns, kT0 + kMin);
  }
  EXPECT_TRUE(seen);
  // Without a cache every object is read each time.
  o.cache_path.clear();
  loads = 0;
  ASSERT_TRUE(ComputePlanStatus(Plan(), o).ok());
  EXPECT_EQ(loads.load(), 41);
}

// A TCP port on 127.0.0.1 that accepts connections (the kernel completes the handshake) but
// whose server never reads or answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(StatusTest, UnreachableSitesAreBoundedInTime) {
  auto a = CreateSite("a");
  Snap(*a, "db", "dump", kT0);
  Snap(*a, "db", "files", kT0);
  SilentServer silent;
  SilentServer closed;
  const int closed_port = closed.port();
  closed.Close();  // nothing listens there now: connection refused, retried until the deadline
  const std::string sites =
      "  silent: {repository: \"rest:http://127.0.0.1:" + std::to_string(silent.port()) +
      "/repo\", password_file: " + dir_ + "/pw}\n"
      "  closed: {repository: \"rest:http://127.0.0.1:" + std::to_string(closed_port) +
      "/repo\", password_file: " + dir_ + "/pw}\n";
  StatusOptions o = Options(kT0 + kMin);
  o.site_time_limit = std::chrono::milliseconds(1500);
  const auto start = std::chrono::steady_clock::now();
  Result<PlanStatus> st = ComputePlanStatus(Plan(sites, "[a, silent, closed]"), o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  // The deadline itself ends both (not the abandon guard, which would be 1.5 s + 2 s).
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500 + 1500));
  EXPECT_EQ(At(*st, "db", "a").state, RpoState::kOk);
  for (const char* site : {"silent", "closed"}) {
    const ServiceSiteStatus& ss = At(*st, "db", site);
    EXPECT_EQ(ss.state, RpoState::kUnreachable) << site;
    EXPECT_FALSE(ss.error.empty()) << site;
    EXPECT_EQ(ss.error.find("no answer within"), std::string::npos) << ss.error;
  }
  EXPECT_FALSE(st->holds);
  EXPECT_NE(HumanStatus(*st, false).find("site silent: unreachable: "), std::string::npos);
}

TEST_F(StatusTest, ASiteThatIgnoresItsDeadlineIsGivenUp) {
  auto a = CreateSite("a");
  CreateSite("b");
  Snap(*a, "db", "dump", kT0);
  Snap(*a, "db", "files", kT0);
  auto release = std::make_shared<std::atomic<bool>>(false);
  StatusOptions o = Options(kT0 + kMin);
  o.site_time_limit = std::chrono::milliseconds(300);
  o.cache_path.clear();  // the abandoned thread may outlive dir_
  o.decorate_backend = [release](const std::string& site, std::unique_ptr<Backend> b) {
    if (site != "b") return b;
    return std::unique_ptr<Backend>(std::make_unique<HangingBackend>(std::move(b), release));
  };
  const auto start = std::chrono::steady_clock::now();
  Result<PlanStatus> st = ComputePlanStatus(Plan(), o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  *release = true;  // let the abandoned thread end
  ASSERT_TRUE(st.ok());
  EXPECT_LT(elapsed, std::chrono::milliseconds(300) + kAbandonGrace + std::chrono::seconds(1));
  EXPECT_EQ(At(*st, "db", "a").state, RpoState::kOk);
  EXPECT_EQ(At(*st, "db", "b").state, RpoState::kUnreachable);
  EXPECT_NE(At(*st, "db", "b").error.find("no answer within 1s"), std::string::npos)
      << At(*st, "db", "b").error;
}

TEST_F(StatusTest, UnknownServiceIsAnError) {
  CreateSite("a");
  StatusOptions o = Options(kT0);
  o.services = {"nope"};
  Result<PlanStatus> st = ComputePlanStatus(Plan(), o);
  EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
  // --service: only the sites the selected services use are opened.
  o.services = {"wiki"};
  st = ComputePlanStatus(Plan(), o);  // b does not exist: it must not be opened
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->sites.size(), 1u);
  EXPECT_EQ(st->sites[0].name, "a");
}

// A minimal parser of the text exposition format: every sample's metric has # HELP and # TYPE
// before it; labels are read back with their escapes.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
std::vector<Sample> ParsePrometheus(const std::string& text, std::string* error) {
  std::vector<Sample> out;
  std::map<std::string, int> seen;  // 1: help, 2: help+type
  std::istringstream in(text);
  std::string line;
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      seen[m[1]] = 1;
      continue;
    }
    if (std::regex_match(line, m, type)) {
      if (seen[m[1]] != 1) *error += "TYPE before HELP: " + line + "\n";
      seen[m[1]] = 2;
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && (isalnum(line[i]) || line[i] == '_' || line[i] == ':')) s.name += line[i++];
    if (seen[s.name] != 2) *error += "sample without HELP and TYPE: " + line + "\n";
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key, value;
        while (i < line.size() && line[i] != '=') key += line[i++];
        if (line.compare(i, 2, "=\"") != 0) {
          *error += "bad label: " + line + "\n";
          return out;
        }
        i += 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            const char c = line[++i];
            value += c == 'n' ? '\n' : c;
            ++i;
          } else {
            value += line[i++];
          }
        }
        ++i;  // the closing quote
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      *error += "no value: " + line + "\n";
      continue;
    }
    s.value = std::stod(line.substr(i + 1));
    out.push_back(std::move(s));
  }
  return out;
}

TEST(PrometheusTest, LabelEscaping) {
  EXPECT_EQ(EscapePrometheusLabel("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  std::string error;
  std::vector<Sample> s = ParsePrometheus(
      "# HELP x h\n# TYPE x gauge\nx{l=\"" + EscapePrometheusLabel("a\\b\"c\nd,e=}") + "\"} 1\n",
      &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].labels["l"], "a\\b\"c\nd,e=}");
}

TEST_F(StatusTest, PrometheusTextParsesBack) {
  auto a = CreateSite("a");
  auto b = CreateSite("b");
  Snap(*a, "db", "dump", kT0);
  Snap(*a, "db", "files", kT0 - 10 * kMin);
  Snap(*a, "wiki", "paths", kT0);
  Result<PlanStatus> st = ComputePlanStatus(Plan(), Options(kT0 + 20 * kMin));
  ASSERT_TRUE(st.ok());
  const std::string text = PrometheusText(*st);
  std::string error;
  std::vector<Sample> samples = ParsePrometheus(text, &error);
  EXPECT_EQ(error, "") << text;
  auto find = [&](const std::string& name, std::map<std::string, std::string> labels) {
    for (const Sample& s : samples)
      if (s.name == name && s.labels == labels) return std::optional<double>(s.value);
    return std::optional<double>();
  };
  const std::map<std::string, std::string> db_a{{"service", "db"}, {"site", "a"}, {"tier", "0"}};
  const std::map<std::string, std::string> db_b{{"service", "db"}, {"site", "b"}, {"tier", "0"}};
  EXPECT_EQ(find("lifeboat_rpo_seconds", db_a), 3600);
  EXPECT_EQ(find("lifeboat_last_snapshot_timestamp_seconds", db_a),
            static_cast<double>((kT0 - 10 * kMin) / kSec));
  EXPECT_EQ(find("lifeboat_snapshot_age_seconds", db_a), 30 * 60);
  EXPECT_EQ(find("lifeboat_rpo_holds", db_a), 1);
  EXPECT_EQ(find("lifeboat_rpo_holds", db_b), 0);
  EXPECT_FALSE(find("lifeboat_last_snapshot_timestamp_seconds", db_b).has_value());
  auto with_state = [](std::map<std::string, std::string> l, const char* state) {
    l["state"] = state;
    return l;
  };
  EXPECT_EQ(find("lifeboat_rpo_state", with_state(db_a, "ok")), 1);
  EXPECT_EQ(find("lifeboat_rpo_state", with_state(db_a, "at_risk")), 0);
  EXPECT_EQ(find("lifeboat_rpo_state", with_state(db_b, "missing")), 1);
  EXPECT_EQ(find("lifeboat_copies", {{"service", "db"}, {"tier", "0"}}), 2);
  EXPECT_EQ(find("lifeboat_site_up", {{"site", "b"}}), 1);
  EXPECT_EQ(find("lifeboat_status_rpo_holds", {}), 0);
  EXPECT_EQ(find("lifeboat_status_timestamp_seconds", {}), static_cast<double>((kT0 + 20 * kMin) / kSec));
}

TEST_F(StatusTest, ObservationsForNotify) {
  auto a = CreateSite("a");
  Snap(*a, "db", "dump", kT0);
  Snap(*a, "db", "files", kT0);
  Snap(*a, "wiki", "paths", kT0 - 1000 * kMin);
  // b does not exist: unreachable (NoRepository).
  Result<PlanStatus> st = ComputePlanStatus(Plan(), Options(kT0 + 50 * kMin));
  ASSERT_TRUE(st.ok());
  std::vector<notify::Observation> obs = ObservationsFromStatus(*st);
  std::map<std::string, notify::Observation> by;
  for (const notify::Observation& o : obs) {
    const char* kind = o.condition == notify::Condition::kSite ? "site" : "rpo";
    by[std::string(kind) + ":" + o.service + ":" + o.site] = o;
  }
  ASSERT_EQ(by.size(), 4u);  // sites a, b; db at a; wiki at a (nothing for db at b)
  EXPECT_EQ(by["site::a"].state, notify::Observed::kOk);
  EXPECT_EQ(by["site::b"].state, notify::Observed::kFailed);
  EXPECT_EQ(by["site::b"].tier, 0);
  EXPECT_FALSE(by["site::b"].details["error"].get<std::string>().empty());
  EXPECT_EQ(by["rpo:db:a"].state, notify::Observed::kAtRisk);
  EXPECT_EQ(by["rpo:db:a"].details["rpo_seconds"], 3600);
  EXPECT_EQ(by["rpo:db:a"].details["age_seconds"], 3000);
  EXPECT_EQ(by["rpo:wiki:a"].state, notify::Observed::kOk);
  EXPECT_EQ(by["rpo:wiki:a"].tier, 2);
}

TEST_F(StatusTest, ImmutableSiteThatIsNotIsAWarning) {
  auto a = CreateSite("a");
  const std::string sites = "  c: {repository: " + dir_ + "/a, password_file: " + dir_ +
                            "/pw, immutable: true, role: offsite}\n";
  Result<PlanStatus> st = ComputePlanStatus(Plan(sites, "[c]"), Options(kT0));
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->sites.size(), 2u);  // a (wiki) and c (db)
  EXPECT_EQ(st->sites[1].warnings.size(), 1u);
  EXPECT_NE(st->sites[1].warnings[0].find("neither append-only nor object-locked"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::dr
