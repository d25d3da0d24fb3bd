// cli::Main: the command line. Parses global options, dispatches to one verb. The executables
// are src/cli/lifeboat_main.cc (release) and tests/lifeboat_testing_main.cc (tests only).
#include <malloc.h>

#include <iostream>

#include "cli/common.h"
#include "util/thread_start.h"
#include "util/units.h"

namespace lifeboat::cli {

static const char kExitCodesHelp[] = R"(Exit codes:
  0    success
  1    the command failed
  2    bad command line or invalid argument
  3    finished, but incomplete: files could not be read or written, a site of
       --also-to did not get the snapshot, or Object Lock kept objects forget/prune would remove
  4    check found damage in the repository
  10   no Lifeboat repository at the location
  11   the repository lock could not be taken, or was lost
  12   no key matches the password
  130  interrupted (Ctrl-C or SIGTERM)

Environment: LIFEBOAT_REPOSITORY, LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE,
LIFEBOAT_PASSWORD_COMMAND; for the source of `copy` and `init --replica-of`:
LIFEBOAT_FROM_REPOSITORY (copy only), LIFEBOAT_FROM_PASSWORD, LIFEBOAT_FROM_PASSWORD_FILE,
LIFEBOAT_FROM_PASSWORD_COMMAND. See doc/ for the repository format.)";

int Main(int argc, char** argv) {
  // Pack-sized buffers (MiBs) come from mmap and go back to the system when freed, instead of
  // lingering in per-thread malloc arenas: keeps peak memory close to what is really in use.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  // Smaller blocks (stored blobs waiting in a pack, file buffers) are freed by the thousand and
  // allocated again at once: keep up to 4 MiB of free heap top per arena instead of returning
  // every 128 KiB to the system and faulting it back in. Backup of the kernel tree: 165k -> 70k
  // page faults, 0.2-0.3 s less system time; peak RSS within noise (16 MiB saved a few more
  // faults but cost the 1 GiB image backup ~18 MiB of peak RSS: one kept top per thread arena).
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  CLI::App app{"Lifeboat: deduplicating, encrypted backup and disaster recovery", "lifeboat"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", "lifeboat 0.1.0");
  GlobalOptions g;
  app.add_option("-r,--repo", g.repo, "repository location (env LIFEBOAT_REPOSITORY)");
  app.add_option("-p,--password-file", g.password_file, "read the password from this file");
  app.add_option("--password-command", g.password_command,
                 "run this through /bin/sh to get the password (first output line; stopped "
                 "after 60 s; it gets no LIFEBOAT_*PASSWORD* variable)");
  app.add_flag("--json", g.json, "machine-readable JSON output");
  app.add_flag("-q,--quiet", g.quiet, "print only errors");
  app.add_flag("-v,--verbose", g.verbose, "more output (repeatable)");
  app.add_flag("--no-lock", g.no_lock, "do not lock the repository (read-only commands only)");
  app.add_option("--retry-lock", g.retry_lock,
                 "when the repository is locked, keep retrying for DURATION (m = minutes; e.g. "
                 "30s, 10m, 1h30m; doc/units.md)")
      ->type_name("DURATION");
  app.add_option("-o,--option", g.backend_options,
                 "a backend option KEY=VALUE for every repository of the command (repeatable; "
                 "e.g. s3.region=eu-west-1; doc/remote-sites.md lists them)")
      ->type_name("KEY=VALUE");
  app.add_option("--limit-upload", g.limit_upload_kib,
                 "limit what is stored at each site to KiB/s, shared by all transfers (default: "
                 "no limit)")
      ->type_name("KiB/s")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 40));
  app.add_option("--limit-download", g.limit_download_kib,
                 "limit what is loaded from each site to KiB/s, shared by all transfers "
                 "(default: no limit)")
      ->type_name("KiB/s")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 40));
  app.fallthrough();

  Runner runner;
  RegisterInit(app, g, &runner);
  RegisterBackup(app, g, &runner);
  RegisterRestore(app, g, &runner);
  RegisterSnapshots(app, g, &runner);
  RegisterLs(app, g, &runner);
  RegisterDiff(app, g, &runner);
  RegisterCheck(app, g, &runner);
  RegisterCopy(app, g, &runner);
  RegisterRepair(app, g, &runner);
  RegisterStats(app, g, &runner);
  RegisterCat(app, g, &runner);
  RegisterKey(app, g, &runner);
  RegisterUnlock(app, g, &runner);
  RegisterPrune(app, g, &runner);
  RegisterForget(app, g, &runner);
  RegisterPlan(app, g, &runner);
  RegisterRun(app, g, &runner);
  RegisterStatus(app, g, &runner);
  RegisterDrill(app, g, &runner);
  RegisterDrillHistory(app, g, &runner);  // last: joins the `drill` verb
  RegisterFailover(app, g, &runner);
  RegisterFailoverHistory(app, g, &runner);  // joins the `failover` verb
  RegisterFailback(app, g, &runner);
  RegisterRunbook(app, g, &runner);
  RegisterDaemon(app, g, &runner);

  // A repeatable option takes exactly one value per occurrence: `--tag a /path` must leave
  // /path to the positional arguments.
  std::function<void(CLI::App*)> one_value_each = [&](CLI::App* a) {
    for (CLI::Option* o : a->get_options())
      if (!o->get_positional()) o->allow_extra_args(false);
    for (CLI::App* sub : a->get_subcommands({})) one_value_each(sub);
  };
  one_value_each(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!runner) return kExitUsage;
  // A bad --retry-lock is a usage error before any repository is opened (LockRepository reads it).
  if (!g.retry_lock.empty())
    if (auto wait = ParseDuration(g.retry_lock); !wait.ok())
      return ReportError(g, wait.status().WithContext("--retry-lock"));
  InstallSignalHandlers();
  // Last line of defence: catching what escapes a command unwinds it (its lock is released by
  // RAII) and ends with exit 1 instead of an abort. Out of memory (std::bad_alloc on this thread,
  // under ulimit -v) is said as such; anything else is a bug, an internal error.
  try {
    return runner();
  } catch (...) {
    return ReportError(g, StatusFromCurrentException("lifeboat"));
  }
}

}  // namespace lifeboat::cli
