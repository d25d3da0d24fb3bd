// RecoverServices over local sites with real child processes (doc/drills.md): an HTTP service (a
// /usr/bin/python3 script restored with it) recovered after the service it depends on; failures
// that name their cause while the other services are still drilled (a failing check, a failed
// dependency, a corrupted pack, a background step that dies or never listens); --at; --keep and
// the clean-up of stale sandboxes; a drill killed with kill -9 leaving no process; secrets kept out
// of the steps' environment; the ProcessGuard.
#include "recover/recover.h"

#include <signal.h>
#include <sys/wait.h>

#include <thread>

#include "engine/open.h"
#include "recover/process_guard.h"
#include "recover/recover_test_util.h"
#include "repository/snapshot.h"
#include "util/subprocess.h"

namespace lifeboat::recover {
namespace {

using testing::ReadFile;
using testing::RecoverFixture;
using testing::WriteFile;
namespace fs = std::filesystem;

constexpr char kServer[] = R"PY(import functools, http.server, os, sys
root = sys.argv[1]
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = ("ok files at " + os.environ.get("LIFEBOAT_RESTORE_DIR_FILES", "?")).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()
    def log_message(self, *args):
        pass
print("serving", root, flush=True)
port = int(os.environ["LIFEBOAT_PORT_HTTP"])
http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                functools.partial(Handler, directory=root)).serve_forever()
)PY";

// True once `pid` is gone or a zombie; waits up to `seconds`.
bool ProcessGone(pid_t pid, int seconds = 8) {
  for (int i = 0; i < seconds * 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z')
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// True while `pid` runs (not a zombie).
bool ProcessAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

pid_t WaitForPidFile(const fs::path& p, int seconds = 30) {
  for (int i = 0; i < seconds * 100; ++i) {
    long pid = 0;
    std::ifstream f(p);
    if (f >> pid && pid > 0) return static_cast<pid_t>(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

class RecoverTest : public RecoverFixture {
 protected:
  // files (tier 2): one file, checked bit for bit; web (tier 1, depends on files): a Python
  // server restored with its pages, serving them in the background on its `http` port.
  std::string WebPlan() {
    const fs::path data = dir_ / "data";
    WriteFile(data / "files" / "a.txt", "contents of a\n");
    WriteFile(data / "web" / "serve.py", kServer);
    WriteFile(data / "web" / "www" / "index.html", "<h1>restored page</h1>\n");
    return "version: 1\nsites:\n" + Site("a") +
           "services:\n"
           "  files:\n    tier: 2\n    rpo: 1h\n    rto: 10m\n    sources:\n      - paths: [" +
           (data / "files").string() +
           "]\n    sites: [a]\n    verify:\n      - files: {}\n"
           "  web:\n    tier: 1\n    rpo: 1h\n    rto: 10m\n    depends_on: [files]\n"
           "    sources:\n      - paths: [" +
           (data / "web").string() +
           "]\n    sites: [a]\n    recover:\n"
           "      - command: \"echo preparing; test -d $LIFEBOAT_RESTORE_DIR_FILES\"\n"
           "      - command: \"exec /usr/bin/python3 $LIFEBOAT_RESTORE_DIR" +
           (data / "web" / "serve.py").string() + " $LIFEBOAT_RESTORE_DIR" +
           (data / "web" / "www").string() +
           "\"\n        background: true\n        ports: {http: 8080}\n        timeout: 30s\n"
           "    verify:\n      - tcp: {port: http}\n"
           "      - http: {port: http, path: /health, expect_body: \"ok files at\"}\n"
           "      - http: {port: 8080, path: /index.html, expect_body: \"restored page\"}\n"
           "      - command: {run: \"cat $LIFEBOAT_RESTORE_DIR_FILES" +
           (data / "files" / "a.txt").string() + "\", expect_output: \"contents of a\"}\n";
  }
};

TEST_F(RecoverTest, AnHttpServiceIsRecoveredAfterWhatItDependsOnAndChecked) {
  plan::Plan plan = Load(WebPlan());
  Backup(plan);
  RecoverOptions o = Options();
  o.services = {"web"};
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->passed()) << FormatRecoveryReport(*r) << output_;
  EXPECT_EQ(r->ExitCode(), 0);
  ASSERT_EQ(r->services.size(), 2u);
  EXPECT_EQ(r->services[0].service, "files");  // wave 1, pulled in as web's dependency
  EXPECT_FALSE(r->services[0].selected);
  EXPECT_EQ(r->services[1].service, "web");
  EXPECT_EQ(r->services[1].wave, 2);

  const ServiceRecovery& files = Service(*r, "files");
  const ServiceRecovery& web = Service(*r, "web");
  // web started only once files was verified.
  EXPECT_GE(web.start_ns, files.end_ns);
  // The files check: every restored file read back.
  const StepRecord* check = Step(files, "files");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->state, StepState::kOk);
  EXPECT_EQ(check->output, "1 of 1 files verified");
  EXPECT_EQ(files.sources.at(0).verified_files, 1u);

  // A free port, not the plan's.
  ASSERT_EQ(web.ports.size(), 1u);
  EXPECT_EQ(web.ports[0].first, "http");
  EXPECT_NE(web.ports[0].second, 8080);
  // The timeline: restore, two recover steps, four checks, all ok and timed in order.
  std::vector<std::string> kinds;
  for (const StepRecord& s : web.steps) {
    kinds.push_back(s.phase + "/" + s.kind);
    EXPECT_EQ(s.state, StepState::kOk) << s.name << ": " << s.error;
    EXPECT_GT(s.start_ns, 0);
    EXPECT_GE(s.end_ns, s.start_ns);
    EXPECT_GE(s.seconds, 0);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"restore/restore", "recover/command",
                                             "recover/command", "verify/tcp", "verify/http",
                                             "verify/http", "verify/command"}));
  EXPECT_NE(web.steps[1].output.find("preparing"), std::string::npos);
  EXPECT_NE(web.steps[4].output.find("HTTP 200"), std::string::npos);
  // The health answer names the dependency's restore directory.
  EXPECT_NE(web.steps[4].output.find(files.restore_dir), std::string::npos) << web.steps[4].output;
  // RTO: from the session's start to the service verified; RPO: the snapshot's age.
  ASSERT_TRUE(web.rto_seconds.has_value());
  ASSERT_TRUE(files.rto_seconds.has_value());
  EXPECT_GT(*web.rto_seconds, *files.rto_seconds);
  EXPECT_EQ(web.rto_met(), std::optional<bool>(true));
  ASSERT_TRUE(web.rpo_seconds.has_value());
  EXPECT_GE(*web.rpo_seconds, 0);
  EXPECT_EQ(web.rpo_met(), std::optional<bool>(true));
  EXPECT_EQ(web.files_restored, 2u);
  // Everything stopped, the sandbox removed.
  EXPECT_FALSE(fs::exists(r->sandbox));
  ExpectNothingRunsIn(r->sandbox);

  nlohmann::ordered_json j = RecoveryReportToJson(*r);
  EXPECT_EQ(j["message_type"], "drill");
  EXPECT_EQ(j["exit_status"], 0);
  EXPECT_EQ(j["services"][1]["result"], "passed");
  EXPECT_TRUE(j["services"][1]["rto"]["achieved_seconds"].is_number());
  EXPECT_EQ(j["services"][1]["rto"]["target_seconds"], 600);
  EXPECT_EQ(j["services"][1]["steps"][2]["kind"], "command");
  EXPECT_EQ(j["services"][1]["ports"]["http"], web.ports[0].second);
  EXPECT_EQ(j["waves"][1]["services"][0], "web");
  const std::string text = FormatRecoveryReport(*r);
  EXPECT_NE(text.find("web (tier 1, wave 2) from site a: PASSED"), std::string::npos) << text;
  EXPECT_NE(text.find("RTO "), std::string::npos);
  EXPECT_NE(output_.find("web: recovering (wave 2"), std::string::npos) << output_;
}

TEST_F(RecoverTest, FailuresNameTheirCauseAndTheOtherServicesAreStillDrilled) {
  const fs::path data = dir_ / "data";
  WriteFile(data / "flaky" / "f.txt", "x\n");
  WriteFile(data / "other" / "o.txt", "y\n");
  std::string big(300 * 1024, '\0');  // incompressible: its pack is the largest at site b
  uint64_t x = 88172645463325252ull;
  for (char& c : big) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  WriteFile(data / "broken" / "big.bin", big);
  WriteFile(data / "broken" / "small.txt", "small\n");
  const std::string yaml =
      "version: 1\nsites:\n" + Site("a") + Site("b") +
      "services:\n"
      "  flaky:\n    tier: 1\n    rpo: 1h\n    sources:\n      - paths: [" +
      (data / "flaky").string() +
      "]\n    sites: [a]\n    verify:\n"
      "      - command: {run: \"echo status: degraded\", expect_output: \"all good\"}\n"
      "      - tcp: {port: 9}\n"
      "  app:\n    tier: 1\n    rpo: 1h\n    depends_on: [flaky]\n    sources:\n      - paths: [" +
      (data / "other").string() +
      "]\n    sites: [a]\n    verify:\n      - files: {}\n"
      "  other:\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
      (data / "other").string() +
      "]\n    sites: [a]\n    verify:\n      - files: {}\n"
      "  broken:\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
      (data / "broken").string() + "]\n    sites: [b]\n    verify:\n      - files: {}\n";
  plan::Plan plan = Load(yaml);
  Backup(plan);
  // Damage the data pack at site b (only broken is stored there): one byte in its middle.
  fs::path pack;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "sites" / "b" / "data")) {
    if (e.is_regular_file() && (pack.empty() || e.file_size() > fs::file_size(pack))) {
      pack = e.path();
    }
  }
  ASSERT_FALSE(pack.empty());
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(fs::file_size(pack));
    f.seekg(size / 2);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(size / 2);
    f.write(&c, 1);
  }
  RecoverOptions o = Options();
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->passed());
  EXPECT_EQ(r->ExitCode(), 3);

  const ServiceRecovery& flaky = Service(*r, "flaky");
  EXPECT_EQ(flaky.state, ServiceState::kFailed);
  EXPECT_NE(flaky.failure.find("command 'echo status: degraded'"), std::string::npos)
      << flaky.failure;
  EXPECT_NE(flaky.failure.find("does not contain \"all good\""), std::string::npos);
  EXPECT_NE(flaky.failure_output.find("status: degraded"), std::string::npos);
  EXPECT_FALSE(flaky.rto_seconds.has_value());
  // The check after the failing one was not run, and says why.
  ASSERT_NE(Step(flaky, "tcp"), nullptr);
  EXPECT_EQ(Step(flaky, "tcp")->state, StepState::kNotRun);
  EXPECT_NE(Step(flaky, "tcp")->error.find("not run"), std::string::npos);

  const ServiceRecovery& app = Service(*r, "app");
  EXPECT_EQ(app.state, ServiceState::kSkipped);
  EXPECT_NE(app.failure.find("it depends on flaky, which failed"), std::string::npos)
      << app.failure;
  EXPECT_TRUE(app.steps.empty());

  EXPECT_EQ(Service(*r, "other").state, ServiceState::kPassed);

  const ServiceRecovery& broken = Service(*r, "broken");
  EXPECT_EQ(broken.state, ServiceState::kFailed);
  EXPECT_EQ(broken.site, "b");
  const StepRecord* restore = Step(broken, "restore");
  ASSERT_NE(restore, nullptr);
  EXPECT_EQ(restore->state, StepState::kFailed);
  EXPECT_NE(broken.failure.find("restore source paths"), std::string::npos) << broken.failure;
  // The damaged file is named, with the pack that holds it; the intact one was restored.
  EXPECT_NE(broken.failure.find((data / "broken" / "big.bin").string()), std::string::npos)
      << broken.failure;
  EXPECT_NE(broken.failure.find(pack.filename().string()), std::string::npos) << broken.failure;
  EXPECT_NE(broken.failure_output.find("big.bin"), std::string::npos);

  const std::string text = FormatRecoveryReport(*r);
  EXPECT_NE(text.find("app (tier 1, wave 2) from site a: SKIPPED"), std::string::npos) << text;
  EXPECT_NE(text.find("    | status: degraded"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(r->sandbox));
}

TEST_F(RecoverTest, BackgroundAndForegroundStepsThatFail) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  auto service = [&](const std::string& name, const std::string& step) {
    return "  " + name + ":\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
           (dir_ / "data").string() + "]\n    sites: [a]\n    recover:\n" + step +
           "    verify:\n      - files: {}\n";
  };
  const std::string yaml =
      "version: 1\nsites:\n" + Site("a") + "services:\n" +
      service("dies",
              "      - command: \"echo starting up; exit 7\"\n        background: true\n"
              "        ports: {http: 8080}\n        timeout: 20s\n") +
      service("silent",
              "      - command: \"sleep 30\"\n        background: true\n"
              "        ports: {http: 8080}\n        timeout: 1s\n") +
      service("stderr", "      - command: \"echo oops >&2; exit 3\"\n") +
      service("slow", "      - command: \"sleep 30\"\n        timeout: 1s\n");
  plan::Plan plan = Load(yaml);
  Backup(plan);
  RecoverOptions o = Options();
  const auto start = std::chrono::steady_clock::now();
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  const ServiceRecovery& dies = Service(*r, "dies");
  EXPECT_EQ(dies.state, ServiceState::kFailed);
  EXPECT_NE(dies.failure.find("it exited before port http"), std::string::npos) << dies.failure;
  EXPECT_NE(dies.failure.find("exit status 7"), std::string::npos) << dies.failure;
  EXPECT_NE(dies.failure_output.find("starting up"), std::string::npos);
  const ServiceRecovery& silent = Service(*r, "silent");
  EXPECT_EQ(silent.state, ServiceState::kFailed);
  EXPECT_NE(silent.failure.find("accepted no connection within the step's timeout (1s)"),
            std::string::npos)
      << silent.failure;
  const ServiceRecovery& err = Service(*r, "stderr");
  EXPECT_EQ(err.state, ServiceState::kFailed);
  EXPECT_NE(err.failure.find("failed with exit status 3"), std::string::npos) << err.failure;
  EXPECT_NE(err.failure_output.find("oops"), std::string::npos);  // stderr is in the output
  const ServiceRecovery& slow = Service(*r, "slow");
  EXPECT_EQ(slow.state, ServiceState::kFailed);
  EXPECT_NE(slow.failure.find("did not finish within 1 s"), std::string::npos) << slow.failure;
  // The files checks of the failed services were not run (they are after the steps).
  EXPECT_FALSE(fs::exists(r->sandbox));
  ExpectNothingRunsIn(r->sandbox);
}

TEST_F(RecoverTest, AtChoosesTheSnapshotsByTimeOrId) {
  const fs::path file = dir_ / "data" / "f.txt";
  WriteFile(file, "one\n");
  const std::string yaml = "version: 1\nsites:\n" + Site("a") +
                           "services:\n  svc:\n    tier: 2\n    rpo: 1h\n    sources:\n"
                           "      - paths: [" +
                           (dir_ / "data").string() +
                           "]\n    sites: [a]\n    verify:\n      - files: {}\n";
  plan::Plan plan = Load(yaml);
  Backup(plan);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  WriteFile(file, "two\n");
  dr::RunOptions again;
  again.now = true;
  again.state_dir = (dir_ / "state").string();
  ASSERT_TRUE(dr::RunPlan(plan, again).ok());

  OpenOptions open;
  open.location = (dir_ / "sites" / "a").string();
  open.password = PasswordSource::Value("site-pw-31c9e7");
  open.lock = std::nullopt;
  Result<OpenedRepository> repo = OpenRepository(open);
  ASSERT_TRUE(repo.ok());
  auto list = repo->repo->ListSnapshots();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  const auto& first =
      (*list)[0].second.time_ns < (*list)[1].second.time_ns ? (*list)[0] : (*list)[1];

  auto restored = [&](const std::string& at, RecoveryReport* out) -> std::string {
    RecoverOptions o = Options();
    o.at = at;
    o.keep = true;
    Result<RecoveryReport> r = RecoverServices(plan, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    *out = *r;
    const std::string content = ReadFile(r->services[0].restore_dir + file.string());
    RemoveTree(r->sandbox).IgnoreError();
    return content;
  };
  RecoveryReport r;
  EXPECT_EQ(restored("", &r), "two\n");
  EXPECT_EQ(restored(FormatTime(first.second.time_ns), &r), "one\n");
  EXPECT_EQ(r.services[0].sources[0].snapshot, first.first.Hex());
  EXPECT_EQ(restored(first.first.Short(), &r), "one\n");
  EXPECT_EQ(r.services[0].sources[0].snapshot, first.first.Hex());
  // The RPO is the restored point's age.
  EXPECT_GE(*r.services[0].rpo_seconds,
            static_cast<double>(r.start_ns - first.second.time_ns) / 1e9 - 0.001);

  RecoverOptions o = Options();
  o.at = "2001-01-01T00:00:00Z";
  Result<RecoveryReport> none = RecoverServices(plan, o);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->services[0].state, ServiceState::kFailed);
  EXPECT_NE(none->services[0].failure.find("no complete snapshot of source paths of service svc "
                                           "at site a taken at or before 2001-01-01"),
            std::string::npos)
      << none->services[0].failure;
  o.at = "not-a-snapshot";
  Result<RecoveryReport> bad = RecoverServices(plan, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  o.at = "ffffffffffff";
  Result<RecoveryReport> missing = RecoverServices(plan, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(RecoverTest, RequestsThatCannotStart) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  const std::string yaml = "version: 1\nsites:\n" + Site("a") + Site("b") +
                           "services:\n  svc:\n    tier: 2\n    rpo: 1h\n    sources:\n"
                           "      - paths: [" +
                           (dir_ / "data").string() + "]\n    sites: [a]\n";
  plan::Plan plan = Load(yaml);
  RecoverOptions o = Options();
  o.services = {"nope"};
  Result<RecoveryReport> unknown = RecoverServices(plan, o);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  o.services = {};
  o.site = "c";
  Result<RecoveryReport> site = RecoverServices(plan, o);
  ASSERT_FALSE(site.ok());
  EXPECT_NE(site.status().message().find("its sites: a, b"), std::string::npos);
  // A service that is not stored at the site asked for fails, naming its sites.
  Backup(plan);
  o.site = "b";
  Result<RecoveryReport> elsewhere = RecoverServices(plan, o);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->services[0].state, ServiceState::kFailed);
  EXPECT_NE(elsewhere->services[0].failure.find("is not backed up to site b (its sites: a)"),
            std::string::npos)
      << elsewhere->services[0].failure;
  // With no verify checks, a service passes with a note saying nothing proved it.
  o.site = "";
  Result<RecoveryReport> plain = RecoverServices(plan, o);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->passed());
  ASSERT_EQ(plain->services[0].notes.size(), 1u);
  EXPECT_NE(plain->services[0].notes[0].find("no verify checks"), std::string::npos);
}

TEST_F(RecoverTest, StepsGetTheirEnvironmentAndNoSecret) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  ::setenv("LB_RECOVER_TEST_PW", "site-pw-31c9e7", 1);
  ::setenv("LIFEBOAT_PASSWORD", "lifeboat-own-secret-77", 1);
  const std::string yaml =
      "version: 1\nsites:\n  a:\n    repository: " + (dir_ / "sites" / "a").string() +
      "\n    password_env: LB_RECOVER_TEST_PW\n"
      "services:\n  my-svc.1:\n    tier: 2\n    rpo: 1h\n    sources:\n"
      "      - name: stuff\n        paths: [" +
      (dir_ / "data").string() +
      "]\n    sites: [a]\n    recover:\n"
      "      - command: \"env | sort\"\n        ports: {web_ui: 8080, api: 9090}\n"
      "    verify:\n      - command: {run: \"pwd\"}\n";
  plan::Plan plan = Load(yaml);
  Backup(plan);
  RecoverOptions o = Options();
  // A relative sandbox directory: steps still get absolute paths (they run elsewhere).
  o.sandbox_base = fs::relative(dir_ / "drills").string() + "/";
  ASSERT_NE(o.sandbox_base[0], '/');
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ::unsetenv("LIFEBOAT_PASSWORD");
  ::unsetenv("LB_RECOVER_TEST_PW");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ServiceRecovery& s = r->services[0];
  ASSERT_TRUE(s.passed()) << s.failure;
  const std::string env = s.steps[1].output;
  EXPECT_EQ(env.find("site-pw-31c9e7"), std::string::npos) << env;
  EXPECT_EQ(env.find("lifeboat-own-secret-77"), std::string::npos) << env;
  EXPECT_NE(env.find("\nLB_RECOVER_TEST_PW=\n"), std::string::npos) << env;  // emptied
  EXPECT_NE(env.find("LIFEBOAT_SERVICE=my-svc.1\n"), std::string::npos);
  EXPECT_NE(env.find("LIFEBOAT_RESTORE_DIR=" + s.restore_dir + "\n"), std::string::npos);
  EXPECT_EQ(s.restore_dir,
            (dir_ / "drills").string() + s.restore_dir.substr(s.restore_dir.find("/drill-")));
  EXPECT_NE(env.find("LIFEBOAT_SNAPSHOT=" + s.sources[0].snapshot + "\n"), std::string::npos);
  EXPECT_NE(env.find("LIFEBOAT_SNAPSHOT_STUFF=" + s.sources[0].snapshot + "\n"), std::string::npos);
  EXPECT_NE(env.find("LIFEBOAT_RECOVERY=drill\n"), std::string::npos);
  EXPECT_NE(env.find("LIFEBOAT_PORT_WEB_UI="), std::string::npos);
  EXPECT_NE(env.find("LIFEBOAT_PORT_API="), std::string::npos);
  EXPECT_EQ(env.find("LIFEBOAT_PORT_API=9090"), std::string::npos);
  // Steps run in the restore directory.
  char real[PATH_MAX];
  ASSERT_NE(::realpath(dir_.c_str(), real), nullptr);
  EXPECT_NE(s.steps[2].output.find("/services/my-svc.1"), std::string::npos) << s.steps[2].output;
}

TEST_F(RecoverTest, KeepLeavesTheSandboxAndTheCleanUpLeavesItToo) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  const std::string yaml = "version: 1\nsites:\n" + Site("a") +
                           "services:\n  svc:\n    tier: 2\n    rpo: 1h\n    sources:\n"
                           "      - paths: [" +
                           (dir_ / "data").string() +
                           "]\n    sites: [a]\n    recover:\n"
                           "      - command: \"sleep 300\"\n        background: true\n";
  plan::Plan plan = Load(yaml);
  Backup(plan);
  RecoverOptions o = Options();
  o.keep = true;
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kept);
  EXPECT_TRUE(fs::exists(r->services[0].restore_dir + (dir_ / "data" / "x.txt").string()));
  ExpectNothingRunsIn(r->sandbox);  // processes are stopped even when the data is kept
  const std::string marker = ReadFile(r->sandbox + "/.lifeboat-sandbox");
  EXPECT_NE(marker.find("\"kept\":true"), std::string::npos) << marker;
  EXPECT_TRUE(CleanStaleSandboxes(o.sandbox_base).empty());
  EXPECT_TRUE(fs::exists(r->sandbox));
}

TEST_F(RecoverTest, TimesComeFromTheContextsClock) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  const std::string yaml = "version: 1\nsites:\n" + Site("a") +
                           "services:\n  svc:\n    tier: 2\n    rpo: 30m\n    rto: 1h\n"
                           "    sources:\n      - paths: [" +
                           (dir_ / "data").string() +
                           "]\n    sites: [a]\n    recover:\n      - command: \"true\"\n"
                           "    verify:\n      - command: {run: \"true\"}\n";
  plan::Plan plan = Load(yaml);
  Backup(plan);
  RecoverOptions o = Options();
  // One hour after the snapshot was taken, and time stands still during the drill.
  Result<RecoveryReport> first = RecoverServices(plan, o);
  ASSERT_TRUE(first.ok());
  const int64_t snapshot_ns = first->services[0].sources[0].snapshot_time_ns;
  ManualClock clock(snapshot_ns + int64_t{3600} * 1'000'000'000, /*auto_advance=*/false);
  o.context = Context().WithClock(clock);
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ServiceRecovery& s = r->services[0];
  ASSERT_TRUE(s.passed()) << s.failure;
  EXPECT_EQ(r->start_ns, clock.WallNs());
  for (const StepRecord& st : s.steps) {
    EXPECT_EQ(st.start_ns, clock.WallNs()) << st.name;
    EXPECT_EQ(st.end_ns, clock.WallNs()) << st.name;
    EXPECT_EQ(st.seconds, 0) << st.name;
  }
  EXPECT_EQ(*s.rpo_seconds, 3600);
  EXPECT_EQ(s.rpo_met(), std::optional<bool>(false));  // rpo 30m
  EXPECT_EQ(*s.rto_seconds, 0);
  EXPECT_EQ(s.rto_met(), std::optional<bool>(true));
}

TEST_F(RecoverTest, ParallelBoundsHowManyServicesRunAtOnce) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  std::string yaml = "version: 1\nsites:\n" + Site("a") + "services:\n";
  for (const char* name : {"s1", "s2", "s3"}) {
    yaml += std::string("  ") + name +
            ":\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
            (dir_ / "data").string() +
            "]\n    sites: [a]\n    recover:\n"
            "      - command: \"sleep 0.4\"\n";
  }
  plan::Plan plan = Load(yaml);
  Backup(plan);
  auto overlaps = [](const RecoveryReport& r) {
    int n = 0;
    for (size_t i = 0; i < r.services.size(); ++i) {
      for (size_t j = i + 1; j < r.services.size(); ++j) {
        const ServiceRecovery &a = r.services[i], &b = r.services[j];
        if (a.start_ns < b.end_ns && b.start_ns < a.end_ns) ++n;
      }
    }
    return n;
  };
  RecoverOptions o = Options();
  o.parallel = 1;
  Result<RecoveryReport> one = RecoverServices(plan, o);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->passed());
  EXPECT_EQ(overlaps(*one), 0);
  o.parallel = 3;
  Result<RecoveryReport> three = RecoverServices(plan, o);
  ASSERT_TRUE(three.ok());
  EXPECT_TRUE(three->passed());
  EXPECT_EQ(overlaps(*three), 3);
}

// `lifeboat drill` from the outside: the text report, --json, and the exit codes.
TEST_F(RecoverTest, TheDrillCommand) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  const std::string yaml =
      "version: 1\nsites:\n" + Site("a") + "services:\n" +
      "  good:\n    tier: 2\n    rpo: 1h\n    rto: 1h\n    sources:\n      - paths: [" +
      (dir_ / "data").string() + "]\n    sites: [a]\n    verify:\n      - files: {}\n" +
      "  bad:\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
      (dir_ / "data").string() + "]\n    sites: [a]\n    verify:\n" +
      "      - command: {run: \"echo nope; exit 1\"}\n";
  WriteFile(dir_ / "lifeboat.yaml", yaml);
  Backup(Load(yaml));
  auto run = [&](const std::string& args, std::string* out) {
    SubprocessOptions o;
    o.argv = ShellCommand(std::string(LIFEBOAT_CLI) + " " + args + " --plan " +
                          (dir_ / "lifeboat.yaml").string() + " --sandbox " +
                          (dir_ / "drills").string() + " 2>&1; echo \"exit=$?\"");
    Result<std::string> r = RunAndCapture(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    *out = r.ok() ? *r : "";
    const size_t at = out->rfind("exit=");
    return at == std::string::npos ? -1 : std::atoi(out->c_str() + at + 5);
  };
  std::string out;
  EXPECT_EQ(run("drill good", &out), 0) << out;
  EXPECT_NE(out.find("good (tier 2, wave 1) from site a: PASSED"), std::string::npos) << out;
  EXPECT_NE(out.find("drill: 1 passed, 0 failed, 0 skipped"), std::string::npos) << out;
  EXPECT_EQ(run("drill --all", &out), 3) << out;
  EXPECT_NE(out.find("bad (tier 2, wave 1) from site a: FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("    | nope"), std::string::npos) << out;
  EXPECT_EQ(run("--json drill --all", &out), 3) << out;
  const nlohmann::json j = nlohmann::json::parse(out.substr(0, out.rfind("exit=")), nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["message_type"], "drill");
  EXPECT_EQ(j["exit_status"], 3);
  ASSERT_EQ(j["services"].size(), 2u);
  EXPECT_EQ(j["services"][0]["service"], "good");  // one wave, equal tiers: plan order
  EXPECT_EQ(j["services"][0]["result"], "passed");
  EXPECT_EQ(j["services"][1]["result"], "failed");
  EXPECT_NE(j["services"][1]["failure_output"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_EQ(run("drill", &out), 2) << out;  // neither services nor --all
  EXPECT_NE(out.find("name the services to drill, or give --all"), std::string::npos) << out;
  EXPECT_EQ(run("drill nope", &out), 2) << out;
  EXPECT_EQ(run("drill good --at zz", &out), 2) << out;
}

class ProcessGuardTest : public ::testing::Test {};

TEST_F(ProcessGuardTest, TheWatcherStopsTheGroupsStillWatchedWhenTheSessionEnds) {
  Result<std::unique_ptr<ProcessGuard>> guard = ProcessGuard::Start();
  ASSERT_TRUE(guard.ok()) << guard.status().ToString();
  SubprocessOptions o;
  o.argv = ShellCommand("sleep 300 & sleep 300; wait");
  o.kill_grace = std::chrono::milliseconds(200);
  Result<std::unique_ptr<Subprocess>> child = Subprocess::Start(o);
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE((*guard)->Watch((*child)->pid()).ok());
  SubprocessOptions other = o;
  Result<std::unique_ptr<Subprocess>> forgotten = Subprocess::Start(other);
  ASSERT_TRUE(forgotten.ok());
  ASSERT_TRUE((*guard)->Watch((*forgotten)->pid()).ok());
  (*guard)->Forget((*forgotten)->pid());
  const pid_t watcher = (*guard)->watcher_pid();
  guard->reset();  // as if the session died: the watcher stops what is still watched
  Status how = (*child)->Wait();
  EXPECT_NE(how.message().find("killed by signal 15"), std::string::npos) << how.ToString();
  EXPECT_TRUE(ProcessGone(watcher));
  // The forgotten group is left alone (its owner stops it).
  EXPECT_TRUE(ProcessAlive((*forgotten)->pid()));
  (*forgotten)->Stop(Status::Cancelled("test"));
  (*forgotten)->Wait().IgnoreError();
}

// The release binary, killed with SIGKILL in the middle of a check: the guard stops every process
// the drill started, and the next drill removes the sandbox left behind.
TEST_F(RecoverTest, AKilledDrillLeavesNoProcessAndTheNextOneRemovesItsSandbox) {
  WriteFile(dir_ / "data" / "x.txt", "x\n");
  const std::string bg = (dir_ / "bg.pid").string(), check = (dir_ / "check.pid").string();
  const std::string yaml =
      "version: 1\nsites:\n" + Site("a") +
      "services:\n  svc:\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
      (dir_ / "data").string() +
      "]\n    sites: [a]\n    recover:\n"
      "      - command: \"echo $$ > " +
      bg +
      "; exec sleep 300\"\n        background: true\n"
      "    verify:\n      - command: {run: \"echo $$ > " +
      check +
      "; exec sleep 300\"}\n"
      "        timeout: 10m\n";
  WriteFile(dir_ / "lifeboat.yaml", yaml);
  plan::Plan plan = Load(yaml);
  Backup(plan);
  for (bool kill_guard_too : {false, true}) {
    fs::remove(bg);
    fs::remove(check);
    SubprocessOptions o;
    o.argv = {LIFEBOAT_CLI,
              "drill",
              "svc",
              "--plan",
              (dir_ / "lifeboat.yaml").string(),
              "--sandbox",
              (dir_ / "drills").string()};
    Result<std::unique_ptr<Subprocess>> cli = Subprocess::Start(o);
    ASSERT_TRUE(cli.ok()) << cli.status().ToString();
    const pid_t bg_pid = WaitForPidFile(bg), check_pid = WaitForPidFile(check);
    ASSERT_GT(bg_pid, 0);
    ASSERT_GT(check_pid, 0);
    if (kill_guard_too) {  // the watcher is the child of the drill named like it
      for (const auto& task :
           fs::directory_iterator("/proc/" + std::to_string((*cli)->pid()) + "/task")) {
        std::ifstream children(task.path() / "children");
        for (long pid; children >> pid;) {
          if (ReadFile("/proc/" + std::to_string(pid) + "/comm") == "lifeboat\n") {
            ::kill(static_cast<pid_t>(pid), SIGKILL);
          }
        }
      }
    }
    ::kill((*cli)->pid(), SIGKILL);
    (*cli)->Wait().IgnoreError();
    if (!kill_guard_too) {
      EXPECT_TRUE(ProcessGone(bg_pid)) << "the background step survived the drill";
      EXPECT_TRUE(ProcessGone(check_pid)) << "the check survived the drill";
    } else {
      EXPECT_TRUE(ProcessAlive(bg_pid));  // nobody left to stop them: the next drill does
    }
    // The next drill finds the sandbox, stops what still runs in it, removes it.
    plan::Plan quiet = Load("version: 1\nsites:\n" + Site("a") +
                            "services:\n  svc:\n    tier: 2\n    rpo: 1h\n    sources:\n"
                            "      - paths: [" +
                            (dir_ / "data").string() + "]\n    sites: [a]\n");
    Result<RecoveryReport> next = RecoverServices(quiet, Options());
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    ASSERT_EQ(next->stale_sandboxes.size(), 1u) << output_;
    EXPECT_NE(next->stale_sandboxes[0].find("of an earlier session that did not end"),
              std::string::npos);
    if (kill_guard_too) {
      EXPECT_NE(next->stale_sandboxes[0].find("stopped 2 processes still running in it"),
                std::string::npos)
          << next->stale_sandboxes[0];
    }
    EXPECT_TRUE(ProcessGone(bg_pid));
    EXPECT_TRUE(ProcessGone(check_pid));
    size_t left = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "drills")) left += e.is_directory();
    EXPECT_EQ(left, 0u);
  }
}

}  // namespace
}  // namespace lifeboat::recover
