// lifeboat daemon: the plan's schedules without cron, health checks against production, the
// failover (dr::PerformFailover) of a service the daemon declares failed, failover.commit_after,
// and the dashboard and API (doc/daemon.md). The work is daemon::Daemon's; this verb loads the
// options and the fence, turns SIGHUP/SIGTERM/SIGINT into Reload()/Stop() through a self-pipe,
// and prints the daemon's lines with a timestamp.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/common.h"
#include "daemon/daemon.h"
#include "daemon/failover_job.h"
#include "fence/fence.h"
#include "notify/event.h"
#include "plan/validate.h"
#include "runlog/cache.h"
#include "runlog/run_lock.h"

namespace lifeboat::cli {

namespace {

struct DaemonFlags {
  std::string plan;
  std::vector<std::string> sites;
  std::string state_dir;
  std::string listen;
  bool once = false;
};

// The self-pipe: the handler writes the signal's number, the signal thread reads it.
int g_signal_pipe[2] = {-1, -1};

void OnDaemonSignal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  ssize_t n = ::write(g_signal_pipe[1], &b, 1);
  (void)n;
  if (sig != SIGHUP) g_interrupted = true;
  errno = saved;
}

// Installs the handlers and runs the thread that turns signals into Reload()/Stop() until
// Close(). Handlers are reset to their defaults in every child (execve), so hooks and dump
// commands see signals as usual.
class SignalBridge {
 public:
  Status Open(daemon::Daemon* d) {
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      return Status::IOError(std::string("cannot create the signal pipe: ") + std::strerror(errno));
    }
    struct sigaction sa = {};
    sa.sa_handler = OnDaemonSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGHUP, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
    thread_ = std::thread([d] { Loop(d); });
    return Status::Ok();
  }
  void Close() {
    if (!thread_.joinable()) return;
    const unsigned char quit = 0;
    ssize_t n = ::write(g_signal_pipe[1], &quit, 1);
    (void)n;
    thread_.join();
    struct sigaction sa = {};
    sa.sa_handler = SIG_DFL;
    sigaction(SIGHUP, &sa, nullptr);
    InstallSignalHandlers();  // SIGINT/SIGTERM back to the CLI's
    ::close(g_signal_pipe[0]);
    ::close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  }
  ~SignalBridge() { Close(); }

 private:
  static void Loop(daemon::Daemon* d) {
    for (;;) {
      pollfd p{g_signal_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return;
      unsigned char b = 0;
      while (::read(g_signal_pipe[0], &b, 1) == 1) {
        if (b == 0) return;
        if (b == SIGHUP) {
          d->Reload();
        } else {
          d->Stop();
        }
      }
    }
  }
  std::thread thread_;
};

// From the loop, the worker (failover jobs), the fence's keep-alive and the dashboard's threads.
void PrintLine(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::cout << notify::FormatRfc3339Utc(SystemClock().WallNs()) << " " << line << std::endl;
}

int RunDaemon(const GlobalOptions& g, const DaemonFlags& flags) {
  Result<std::string> path = plan::FindPlanFile(flags.plan);
  if (!path.ok()) return ReportError(g, path.status());
  daemon::DaemonOptions o;
  o.plan_path = *path;
  o.sites = flags.sites;
  o.listen = flags.listen;
  if (flags.state_dir.empty()) {
    Result<std::string> state = DefaultRunStateDirectory();
    if (!state.ok()) return ReportError(g, state.status());
    o.state_dir = *state;
  } else {
    o.state_dir = flags.state_dir;
  }
  Result<std::string> cache = DefaultStatusCachePath();
  if (cache.ok()) o.cache_path = *cache;
  o.on_line = PrintLine;
  // The plan's fence (doc/daemon.md, "Fencing"): etcd when daemon.fencing.etcd is set, else the
  // lock file of the state directory. Its settings are read once: a reload that changes them
  // takes effect when the daemon is restarted.
  Result<plan::LoadedPlan> loaded = plan::LoadPlan(*path);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  fence::FenceOptions fence_options;
  fence_options.log = [](const std::string& line) { PrintLine("fence: " + line); };
  o.actor = fence::ActorIdentity();
  Result<std::unique_ptr<fence::Fence>> fence =
      fence::OpenFence(loaded->plan.daemon, o.state_dir, o.actor, Context(), fence_options);
  if (!fence.ok()) return ReportError(g, fence.status());
  o.fence = fence->get();
  // A declared failure the failover rule allows is failed over by dr::PerformFailover
  // (doc/daemon.md, "Sites and active sites").
  daemon::IncidentJobOptions jobs;
  jobs.fence = o.fence;
  jobs.state_dir = o.state_dir;
  jobs.on_line = PrintLine;
  o.failover = daemon::DrFailoverCallback(std::move(jobs));
  // The dashboard and API (doc/daemon.md, "Dashboard and API"); not for one iteration.
  o.serve_dashboard = !flags.once;
  Result<std::unique_ptr<daemon::Daemon>> d = daemon::Daemon::Create(std::move(o));
  if (!d.ok()) return ReportError(g, d.status());
  SignalBridge signals;  // also for --once: SIGTERM/SIGINT cancel its run
  Status opened = signals.Open(d->get());
  if (!opened.ok()) return ReportError(g, opened);
  if (flags.once) {
    Status st = (*d)->Start();
    if (!st.ok()) return ReportError(g, st);
    (*d)->Tick();
    (*d)->WaitIdle();
    (*d)->Shutdown();
    signals.Close();
    return (*d)->Snapshot().last_run_exit;
  }
  Status st = (*d)->Run();
  signals.Close();
  if (!st.ok()) return ReportError(g, st);
  return kExitOk;
}

}  // namespace

void RegisterDaemon(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "daemon",
      "keep the plan running: its due schedules as `lifeboat run` would, health checks "
      "of the services with a failover policy and their automatic failover, the dashboard and "
      "API; SIGHUP reloads the plan, SIGTERM stops (doc/daemon.md)");
  auto flags = std::make_shared<DaemonFlags>();
  AddPlanOption(cmd, &flags->plan);
  cmd->add_option("--site", flags->sites,
                  "act for this site of the plan (repeatable; default: every site)")
      ->type_name("SITE");
  cmd->add_option("--state-dir", flags->state_dir,
                  "run locks, notification state and the daemon's run journal (default "
                  "/var/lib/lifeboat as root, else $XDG_STATE_HOME/lifeboat or "
                  "~/.local/state/lifeboat)")
      ->type_name("DIR");
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT of the dashboard and API (default: the plan's daemon.listen)")
      ->type_name("HOST:PORT");
  cmd->add_flag("--once", flags->once,
                "one iteration (schedules, health checks), wait for its run, then exit with the "
                "run's exit status (no dashboard)");
  cmd->callback([&g, runner, flags] { *runner = [&g, flags] { return RunDaemon(g, *flags); }; });
}

}  // namespace lifeboat::cli
