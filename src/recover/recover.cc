// RecoverServices: the waves, the session, and the scheduler that recovers a service once
// everything it depends on is verified, at most `parallel` at a time. One service's work is
// service.cc's; the report's forms are report.cc's.
#include "recover/recover.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <thread>

#include "recover/session.h"
#include "repository/keys.h"
#include "util/subprocess.h"
#include "util/thread_start.h"

namespace lifeboat::recover {

std::string_view RecoveryModeName(RecoveryMode mode) {
  return mode == RecoveryMode::kFailover ? "failover" : "drill";
}

std::string_view StepStateName(StepState state) {
  switch (state) {
    case StepState::kOk:
      return "ok";
    case StepState::kFailed:
      return "failed";
    case StepState::kNotRun:
      return "not_run";
  }
  return "unknown";
}

std::string_view ServiceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kPassed:
      return "passed";
    case ServiceState::kFailed:
      return "failed";
    case ServiceState::kSkipped:
      return "skipped";
    case ServiceState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<bool> ServiceRecovery::rto_met() const {
  if (!rto_seconds || !rto_target) return std::nullopt;
  return *rto_seconds <= static_cast<double>(rto_target->count());
}

std::optional<bool> ServiceRecovery::rpo_met() const {
  if (!rpo_seconds || rpo_target.count() <= 0) return std::nullopt;
  return *rpo_seconds <= static_cast<double>(rpo_target.count());
}

bool RecoveryReport::passed() const {
  if (cancelled) return false;
  for (const ServiceRecovery& s : services) {
    if (!s.passed()) return false;
  }
  return true;
}

int RecoveryReport::ExitCode() const {
  if (cancelled) return 130;
  return passed() ? 0 : 3;
}

const ServiceRecovery* RecoveryReport::Find(std::string_view service) const {
  for (const ServiceRecovery& s : services) {
    if (s.service == service) return &s;
  }
  return nullptr;
}

namespace internal {

std::vector<std::string> SitesUsed(const plan::Plan& plan, const std::vector<Wave>& waves,
                                   const std::string& site) {
  if (!site.empty()) return {site};
  std::vector<std::string> out;
  for (const Wave& w : waves) {
    for (const WaveService& s : w.services) {
      const std::string& first = plan.services[s.plan_index].sites.front().name;
      if (std::find(out.begin(), out.end(), first) == out.end()) out.push_back(first);
    }
  }
  return out;
}

// --at: a time, or a snapshot id prefix resolved among the recovered services' snapshots.
Status ResolveAt(Session& session, const std::vector<Wave>& waves,
                 const std::vector<std::string>& sites) {
  const std::string& at = session.options().at;
  if (at.empty()) return Status::Ok();
  if (Result<int64_t> t = ParseTime(at); t.ok()) {
    session.at_time_ns = *t;
    return Status::Ok();
  }
  std::string prefix;
  for (char c : at) prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (prefix.empty() || prefix.size() > 64 ||
      !std::all_of(prefix.begin(), prefix.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return Status::InvalidArgument("--at \"" + at +
                                   "\" is neither a snapshot id (hex, a unique "
                                   "prefix) nor a time such as 2026-05-01T12:00:00Z (UTC)");
  }
  std::set<std::string> services;
  for (const Wave& w : waves) {
    for (const WaveService& s : w.services) services.insert(s.name);
  }
  std::vector<internal::PinnedSnapshot> found;
  for (const std::string& name : sites) {
    internal::OpenedSite& site = session.Site(name);
    if (!site.status.ok()) continue;  // its services fail with the site's error
    for (const auto& entry : site.snapshots) {
      if (!entry.first.Hex().starts_with(prefix)) continue;
      if (!services.count(entry.second.service) || !entry.second.source) continue;
      found.push_back({name, entry.first, entry.second});
    }
  }
  if (found.empty()) {
    std::string list;
    for (const std::string& s : sites) list += (list.empty() ? "" : ", ") + s;
    return Status::NotFound("no snapshot " + at + " of the services to recover at site " + list +
                            " (lifeboat snapshots --service NAME lists them)");
  }
  for (const internal::PinnedSnapshot& p : found) {
    if (p.id != found[0].id) {
      return Status::InvalidArgument("--at " + at + " is ambiguous: snapshots " +
                                     found[0].id.Short() + " and " + p.id.Short() +
                                     " both start with it; give more digits");
    }
  }
  session.pin = found[0];
  session.at_time_ns = found[0].snapshot.time_ns;
  return Status::Ok();
}

}  // namespace internal

namespace {

// Why `dep`'s outcome keeps a service that depends on it from being recovered.
std::string DependencyProblem(const ServiceRecovery& dep) {
  switch (dep.state) {
    case ServiceState::kFailed:
      return "it depends on " + dep.service + ", which failed (" + dep.failure + ")";
    case ServiceState::kSkipped:
      return "it depends on " + dep.service + ", which was skipped";
    case ServiceState::kCancelled:
      return "it depends on " + dep.service + ", which was interrupted";
    case ServiceState::kPassed:
      break;
  }
  return "";
}

// The first line of `path --version` ("pg_restore (PostgreSQL) 15.6"); "" when it cannot be run.
std::string ProgramVersionOf(const std::string& path, const Context& ctx) {
  SubprocessOptions o;
  o.argv = {path, "--version"};
  o.description = path + " --version";
  o.timeout = std::chrono::seconds(10);
  o.cancel = ctx.cancel_flag();
  Result<std::string> out = RunAndCapture(o);
  if (!out.ok()) return "";
  std::string line = out->substr(0, out->find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

struct Slot {
  const WaveService* ws = nullptr;
  int wave = 1;
  bool up = false;  // RecoverOptions::already_up: passed without being run
  enum { kPending, kRunning, kDone } phase = kPending;
  ServiceRecovery result;
};

}  // namespace

Result<RecoveryReport> RecoverServices(const plan::Plan& plan, const RecoverOptions& options) {
  LB_ASSIGN_OR_RETURN(std::vector<Wave> waves, RecoveryWaves(plan, options.services));
  if (!options.site.empty() && plan.FindSite(options.site) == nullptr) {
    std::string names;
    for (const plan::Site& s : plan.sites) names += (names.empty() ? "" : ", ") + s.name;
    return Status::InvalidArgument("no site named \"" + options.site + "\" in the plan " +
                                   plan.file + " (its sites: " + names + ")");
  }
  RecoveryReport report;
  report.mode = options.mode;
  report.plan_file = plan.file;
  report.site = options.site;
  report.at = options.at;
  report.parallel = std::max(1, options.parallel);
  report.waves = waves;

  internal::Session session(plan, options);
  LB_RETURN_IF_ERROR(session.Open(&report));
  report.start_ns = session.start_wall_ns();
  report.sandbox = session.sandbox();
  if (Status st =
          internal::ResolveAt(session, waves, internal::SitesUsed(plan, waves, options.site));
      !st.ok()) {
    session.CloseSandbox(/*keep=*/false).IgnoreError();  // nothing was recovered: nothing to keep
    return st;
  }
  session.Line(std::string(RecoveryModeName(options.mode)) + " in " +
               (options.mode == RecoveryMode::kFailover ? report.recovery_root : report.sandbox));

  // Services up at the recovery site already (RecoverOptions::already_up): settled as passed
  // before anything starts, reached at the endpoints a failover left them at.
  auto up = [&](const std::string& name) {
    return options.mode == RecoveryMode::kFailover && options.already_up.count(name) != 0;
  };
  std::map<std::string, internal::RecoveredEndpoints> ends;  // guarded by mu (below)
  std::vector<Slot> slots;
  for (const Wave& w : waves) {
    for (const WaveService& s : w.services) {
      Slot slot;
      slot.ws = &s;
      slot.wave = w.number;
      if (up(s.name)) {
        slot.up = true;
        slot.phase = Slot::kDone;
        slot.result.state = ServiceState::kPassed;
        ends[s.name] = internal::RunningEndpoints(session, plan.services[s.plan_index]);
        session.Line(s.name + ": active at site " + options.site + " already: not recovered again");
      }
      slots.push_back(std::move(slot));
    }
  }
  report.waves.clear();
  for (const Wave& w : waves) {
    Wave left{w.number, {}};
    for (const WaveService& s : w.services) {
      if (!up(s.name)) left.services.push_back(s);
    }
    if (!left.services.empty()) report.waves.push_back(std::move(left));
  }
  auto index_of = [&](const std::string& name) -> size_t {
    for (size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].ws->name == name) return i;
    }
    return slots.size();
  };

  Mutex mu;
  CondVar cv;
  int running = 0;  // guarded by mu
  std::vector<std::thread> threads;

  auto recover_one = [&](size_t i) {
    std::map<std::string, internal::RecoveredEndpoints> deps;
    {
      MutexLock lock(&mu);
      for (const std::string& d : slots[i].ws->depends_on) deps[d] = ends[d];
    }
    internal::RecoveredEndpoints mine;
    ServiceRecovery result;
    try {
      result = internal::RecoverOneService(session, *slots[i].ws, deps, &mine);
    } catch (...) {
      result.service = slots[i].ws->name;
      result.state = ServiceState::kFailed;
      result.failure = StatusFromCurrentException("recovering " + slots[i].ws->name).message();
    }
    MutexLock lock(&mu);
    slots[i].result = std::move(result);
    slots[i].phase = Slot::kDone;
    if (slots[i].result.passed()) ends[slots[i].ws->name] = mine;
    --running;
    cv.NotifyAll();
  };

  {
    MutexLock lock(&mu);
    for (;;) {
      bool all_done = true, changed = false;
      for (size_t i = 0; i < slots.size(); ++i) {
        Slot& slot = slots[i];
        if (slot.phase != Slot::kPending) {
          all_done = all_done && slot.phase == Slot::kDone;
          continue;
        }
        all_done = false;
        ServiceRecovery& r = slot.result;
        std::string problem;
        bool waiting = false;
        for (const std::string& d : slot.ws->depends_on) {
          const size_t j = index_of(d);
          if (j == slots.size()) continue;
          if (slots[j].phase != Slot::kDone) {
            waiting = true;
          } else if (!slots[j].result.passed() && problem.empty()) {
            problem = DependencyProblem(slots[j].result);
          }
        }
        if (options.context.cancelled() || !problem.empty()) {
          r.service = slot.ws->name;
          r.state = problem.empty() ? ServiceState::kCancelled : ServiceState::kSkipped;
          r.failure =
              problem.empty() ? "interrupted before it started" : "not recovered: " + problem;
          slot.phase = Slot::kDone;
          changed = true;
          session.Line(r.service + ": " +
                       (problem.empty() ? "not started: interrupted" : "SKIPPED: " + r.failure));
          continue;
        }
        if (waiting || running >= report.parallel) continue;
        slot.phase = Slot::kRunning;
        ++running;
        session.Line(slot.ws->name + ": recovering (wave " + std::to_string(slot.wave) + ", tier " +
                     std::to_string(slot.ws->tier) + ")");
        try {
          threads.emplace_back(recover_one, i);
        } catch (...) {  // no thread to be had: do it on this one
          lock.Unlock();
          recover_one(i);
          lock.Lock();
        }
      }
      if (all_done) break;
      if (changed) continue;  // a skipped service may settle others at once
      // Also wakes up now and then to notice a Ctrl-C while services wait for a free slot.
      cv.WaitFor(&mu, std::chrono::milliseconds(200));
    }
  }
  for (std::thread& t : threads) t.join();

  // Stop everything before the report is final: the notes say what had died on its own.
  std::vector<std::pair<std::string, std::string>> notes;
  if (options.mode == RecoveryMode::kFailover) {
    std::set<std::string> passed;
    for (const Slot& slot : slots) {
      if (slot.result.passed() && !slot.up) passed.insert(slot.ws->name);
    }
    report.left_running = session.SettleLeftRunning(passed, &notes);
  }
  session.StopAll(&notes);
  for (Slot& slot : slots) {
    if (slot.up) continue;
    ServiceRecovery& r = slot.result;
    const plan::Service& svc = plan.services[slot.ws->plan_index];
    r.service = slot.ws->name;
    r.tier = slot.ws->tier;
    r.priority_tier = slot.ws->priority_tier;
    r.wave = slot.wave;
    r.selected = slot.ws->selected;
    r.depends_on = slot.ws->depends_on;
    r.rto_target = svc.rto;
    r.rpo_target = svc.rpo;
    if (r.site.empty()) r.site = options.site.empty() ? svc.sites.front().name : options.site;
    for (const auto& n : notes) {
      if (n.first == r.service) r.notes.push_back(n.second);
    }
    report.services.push_back(std::move(r));
  }
  report.cancelled = options.context.cancelled();
  report.end_ns = options.context.clock().WallNs();
  // The versions of the programs the steps ran, asked once the recovery is over (not part of
  // any RTO), once per program.
  std::map<std::string, std::string> versions;
  for (ServiceRecovery& r : report.services) {
    for (ToolUsed& t : r.tools) {
      if (!versions.count(t.path)) versions[t.path] = ProgramVersionOf(t.path, options.context);
      t.version = versions[t.path];
    }
  }
  report.kept = options.keep;
  if (Status st = session.CloseSandbox(options.keep); !st.ok()) {
    report.warnings.push_back(st.message());
  }
  return report;
}

}  // namespace lifeboat::recover
