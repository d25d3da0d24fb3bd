// lifeboat plan validate|show|schema|order|bia|init|install-timer: the DR plan file (doc/plan.md).
// validate prints every error and warning as FILE:LINE:COLUMN with a hint and exits 2 when there
// is an error; show prints the normalised plan (--json: the JSON form); schema prints the file's
// JSON Schema; order prints the recovery waves (doc/drills.md); bia the business impact analysis
// (doc/bia.md, mechanism in dr/bia.h); init creates the sites'
// repositories and install-timer writes the units that call `lifeboat run` (doc/run.md).
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "dr/bia.h"
#include "dr/plan_init.h"
#include "runlog/timer_units.h"
#include "util/file_io.h"
#include "plan/duration.h"
#include "plan/plan_json.h"
#include "plan/validate.h"
#include "recover/waves.h"

namespace lifeboat::cli {

namespace {

std::string Dump(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string Plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int Validate(const GlobalOptions& g, const std::string& flag) {
  Result<std::string> path = plan::FindPlanFile(flag);
  if (!path.ok()) return ReportError(g, path.status());
  Result<plan::LoadedPlan> loaded = plan::CheckPlanFile(*path);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  if (g.json) {
    nlohmann::ordered_json diags = nlohmann::ordered_json::array();
    for (const plan::Diagnostic& d : loaded->diagnostics) {
      diags.push_back({{"severity", d.is_error() ? "error" : "warning"},
                       {"file", d.position.file},
                       {"line", d.position.line},
                       {"column", d.position.column},
                       {"message", d.message},
                       {"hint", d.hint}});
    }
    std::cout << Dump({{"message_type", "plan_validate"},
                       {"file", *path},
                       {"valid", loaded->errors == 0},
                       {"errors", loaded->errors},
                       {"warnings", loaded->warnings},
                       {"diagnostics", diags}},
                      -1)
              << std::endl;
  } else {
    for (const plan::Diagnostic& d : loaded->diagnostics) {
      if (g.quiet && !d.is_error()) continue;
      std::cout << d.ToString() << "\n";
    }
    if (!g.quiet || loaded->errors > 0) {
      std::cout << *path << ": "
                << (loaded->errors == 0 && loaded->warnings == 0
                        ? std::string("valid, no warnings")
                        : Plural(loaded->errors, "error") + ", " + Plural(loaded->warnings, "warning"))
                << std::endl;
    }
  }
  return loaded->errors == 0 ? kExitOk : kExitUsage;
}

std::string Seconds(std::chrono::seconds s) { return plan::FormatPlanDuration(s); }

int Show(const GlobalOptions& g, const std::string& flag) {
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, flag, /*always_print_warnings=*/true);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  const plan::Plan& p = loaded->plan;
  if (g.json) {
    std::cout << Dump(plan::PlanToJson(p), -1) << std::endl;
    return kExitOk;
  }
  Say(g, "plan " + p.file + ": " + Plural(p.sites.size(), "site") + ", " +
             Plural(p.services.size(), "service") + ", " + Plural(p.contacts.size(), "contact") +
             ", " + Plural(p.channels.size(), "channel") + ", " + Plural(p.routes.size(), "route"));
  for (const plan::Site& s : p.sites) {
    Say(g, "site " + s.name + ": " + RedactLocation(s.repository) + " (" +
               std::string(plan::SiteRoleName(s.role)) + ", " + s.media +
               (s.immutable ? ", immutable" : "") + ")");
  }
  for (const plan::Service& s : p.services) {
    std::string sites;
    for (const plan::NameRef& r : s.sites) sites += (sites.empty() ? "" : ", ") + r.name;
    Say(g, "service " + s.name + ": tier " + std::to_string(s.tier) + ", rpo " + Seconds(s.rpo) +
               (s.rto ? ", rto " + Seconds(*s.rto) : "") + (s.mtd ? ", mtd " + Seconds(*s.mtd) : "") +
               ", schedule \"" + s.schedule.cron + "\" " + s.schedule.timezone +
               (s.schedule.derived ? " (derived from the RPO)" : "") + ", sites " + sites + " (" +
               std::string(plan::ReplicationName(s.replication)) + ")");
  }
  return kExitOk;
}

// The recovery waves of the selected services (all when none) with their dependencies.
int Order(const GlobalOptions& g, const std::string& flag,
          const std::vector<std::string>& services) {
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, flag);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  Result<std::vector<recover::Wave>> waves = recover::RecoveryWaves(loaded->plan, services);
  if (!waves.ok()) return ReportError(g, waves.status());
  if (g.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const recover::Wave& w : *waves) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (const recover::WaveService& s : w.services) {
        list.push_back({{"service", s.name},
                        {"tier", s.tier},
                        {"priority_tier", s.priority_tier},
                        {"selected", s.selected},
                        {"depends_on", s.depends_on},
                        {"needed_by", s.needed_by}});
      }
      out.push_back({{"wave", w.number}, {"services", list}});
    }
    std::cout << Dump({{"message_type", "plan_order"}, {"file", loaded->plan.file}, {"waves", out}}, -1)
              << std::endl;
    return kExitOk;
  }
  for (const recover::Wave& w : *waves) {
    Say(g, "wave " + std::to_string(w.number) + ":");
    for (const recover::WaveService& s : w.services) {
      std::string line = "  " + s.name + " (tier " + std::to_string(s.tier);
      if (s.priority_tier != s.tier) {
        line += ", recovered as tier " + std::to_string(s.priority_tier);
      }
      line += ")";
      if (!s.depends_on.empty()) {
        std::string deps;
        for (const std::string& d : s.depends_on) deps += (deps.empty() ? "" : ", ") + d;
        line += " after " + deps;
      }
      if (!s.selected) line += " [needed by the selection]";
      Say(g, line);
    }
  }
  return kExitOk;
}

int Init(const GlobalOptions& g, const std::string& flag) {
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, flag);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  dr::PlanInitOptions o;
  o.context = CliContext();
  Result<dr::PlanInitReport> report = dr::InitPlanSites(loaded->plan, o);
  if (!report.ok()) return ReportError(g, report.status());
  if (g.json) {
    nlohmann::ordered_json sites = nlohmann::ordered_json::array();
    for (const dr::SiteInitOutcome& s : report->sites) {
      sites.push_back({{"site", s.site},
                       {"repository", RedactLocation(s.location)},
                       {"action", std::string(dr::SiteInitActionName(s.action))},
                       {"origin", s.origin},
                       {"id", s.repository_id},
                       {"message", s.message}});
    }
    std::cout << Dump({{"message_type", "plan_init"},
                       {"origin", report->origin},
                       {"ok", report->ok()},
                       {"sites", sites}},
                      -1)
              << std::endl;
  } else {
    for (const dr::SiteInitOutcome& s : report->sites) {
      const bool bad = s.action == dr::SiteInitAction::kRefused ||
                       s.action == dr::SiteInitAction::kFailed;
      std::string line = "site " + s.site + " (" + RedactLocation(s.location) + "): " +
                         (bad ? std::string(dr::SiteInitActionName(s.action)) + ": " : "") +
                         s.message;
      if (bad) {
        std::cerr << "lifeboat: " << line << "\n";
      } else {
        Say(g, line);
      }
    }
  }
  return report->ok() ? kExitOk : kExitError;
}

struct TimerFlags {
  bool user = false, system = false, crontab = false, force = false, daemon = false;
  std::string dir, unit_name = "lifeboat-run", cron_user;
};

Result<std::string> SelfPath() {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::IOError("cannot find this program's path (/proc/self/exe): " + ec.message());
  return p.string();
}

// Writes `text` to dir/name unless a different file is there (then refused without --force).
Status WriteUnit(const GlobalOptions& g, const std::string& dir, const std::string& name,
                 const std::string& text, bool force) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  Result<Bytes> existing = ReadWholeFile(path);
  if (existing.ok()) {
    if (std::string(existing->begin(), existing->end()) == text) {
      Say(g, path + ": unchanged");
      return Status::Ok();
    }
    if (!force) {
      return Status::AlreadyExists(path + " exists with other content; not overwritten (compare "
                                   "it, then use --force to replace it)");
    }
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  LB_RETURN_IF_ERROR(CreateDirectories(dir));
  LB_RETURN_IF_ERROR(WriteFileDurably(
      path, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()), true));
  Say(g, path + ": " + (existing.ok() ? "replaced" : "written"));
  return Status::Ok();
}

int InstallTimer(const GlobalOptions& g, const std::string& flag, const TimerFlags& f) {
  if (f.user && f.system) {
    return ReportError(g, Status::InvalidArgument("--user and --system exclude each other"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, flag);  // never install a broken plan
  if (!loaded.ok()) return ReportError(g, loaded.status());
  Result<std::string> self = SelfPath();
  if (!self.ok()) return ReportError(g, self.status());
  std::error_code ec;
  TimerUnitOptions o;
  o.lifeboat_binary = *self;
  o.plan_path = std::filesystem::absolute(loaded->plan.file, ec).lexically_normal().string();
  o.unit_name = f.unit_name;
  if (f.daemon) {
    if (f.crontab) {
      return ReportError(g, Status::InvalidArgument(
                                "--daemon and --crontab exclude each other: cron cannot keep a "
                                "daemon running"));
    }
    if (f.unit_name == "lifeboat-run") o.unit_name = "lifeboat-daemon";
  }
  if (f.crontab) {
    o.user = f.cron_user;
    Result<std::string> line = MakeCrontabLine(o);
    if (!line.ok()) return ReportError(g, line.status());
    std::cout << *line;
    if (!g.quiet) {
      std::cerr << (f.cron_user.empty() ? "add this line with `crontab -e`"
                                        : "put this line in a file under /etc/cron.d/")
                << "; nothing was installed\n";
    }
    return kExitOk;
  }
  o.system = f.system || (!f.user && geteuid() == 0);
  std::string dir = f.dir;
  if (dir.empty()) {
    if (o.system) {
      dir = "/etc/systemd/system";
    } else {
      const char* xdg = getenv("XDG_CONFIG_HOME");
      const char* home = getenv("HOME");
      if (xdg != nullptr && xdg[0] == '/') {
        dir = std::string(xdg) + "/systemd/user";
      } else if (home != nullptr && home[0] != '\0') {
        dir = std::string(home) + "/.config/systemd/user";
      } else {
        return ReportError(g, Status::InvalidArgument(
                                  "neither XDG_CONFIG_HOME nor HOME is set: give --dir"));
      }
    }
  }
  const std::string ctl = o.system ? "systemctl" : "systemctl --user";
  if (f.daemon) {
    Result<DaemonUnit> unit = MakeDaemonUnit(o);
    if (!unit.ok()) return ReportError(g, unit.status());
    Status st = WriteUnit(g, dir, unit->service_name, unit->service_text, f.force);
    if (!st.ok()) return ReportError(g, st);
    Say(g,
        "Nothing was enabled. To start `lifeboat daemon` (instead of a timer calling "
        "`lifeboat run`), run:");
    Say(g, "  " + ctl + " daemon-reload");
    Say(g, "  " + ctl + " enable --now " + unit->service_name);
    Say(g, "Reload the plan with `" + ctl + " reload " + unit->service_name + "` (SIGHUP).");
    return kExitOk;
  }
  Result<SystemdUnits> units = MakeSystemdUnits(o);
  if (!units.ok()) return ReportError(g, units.status());
  for (const auto& [name, text] : {std::pair{units->service_name, units->service_text},
                                   std::pair{units->timer_name, units->timer_text}}) {
    Status st = WriteUnit(g, dir, name, text, f.force);
    if (!st.ok()) return ReportError(g, st);
  }
  Say(g, "Nothing was enabled. To start calling `lifeboat run` every minute, run:");
  Say(g, "  " + ctl + " daemon-reload");
  Say(g, "  " + ctl + " enable --now " + units->timer_name);
  return kExitOk;
}

struct BiaFlags {
  std::string format = "md";
  std::string out;
  bool offline = false;
};

// The business impact analysis of the plan, from its sites (or the plan alone with --offline).
int Bia(const GlobalOptions& g, const std::string& flag, const BiaFlags& f) {
  if (g.json && f.format != "md" && f.format != "json") {
    return ReportError(g, Status::InvalidArgument("--json and --format " + f.format +
                                                  " exclude each other: choose one"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, flag);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  dr::BiaOptions o;
  o.context = CliContext();
  o.offline = f.offline;
  Result<dr::Bia> bia = dr::ComputeBia(loaded->plan, o);
  if (!bia.ok()) return ReportError(g, bia.status());
  std::string text;
  if (g.json || f.format == "json") {
    text = Dump(dr::BiaJson(*bia), -1) + "\n";
  } else if (f.format == "html") {
    text = dr::BiaHtml(*bia);
  } else {
    text = dr::BiaMarkdown(*bia);
  }
  // Warnings on stderr too: a site that could not be read must not pass unnoticed.
  if (!g.quiet)
    for (const std::string& w : bia->warnings) std::cerr << "lifeboat: warning: " << w << "\n";
  if (!f.out.empty()) {
    Status st = WriteFileDurably(f.out, AsBytes(text), /*overwrite=*/true);
    if (!st.ok()) return ReportError(g, st.WithContext("--out " + f.out));
    if (!g.json) Say(g, "business impact analysis written to " + f.out);
    return kExitOk;
  }
  std::cout << text << std::flush;
  return kExitOk;
}

}  // namespace

void RegisterPlan(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("plan", "check and show the DR plan file (doc/plan.md)");
  cmd->require_subcommand(1);
  auto plan_file = std::make_shared<std::string>();

  auto* validate = cmd->add_subcommand(
      "validate", "check the plan: every error and warning as FILE:LINE:COLUMN (exit 2 on errors)");
  AddPlanOption(validate, plan_file.get());
  validate->callback([&g, runner, plan_file] {
    *runner = [&g, plan_file] { return Validate(g, *plan_file); };
  });

  auto* show = cmd->add_subcommand(
      "show", "print the normalised plan (--json: defaults filled, durations in seconds)");
  AddPlanOption(show, plan_file.get());
  show->callback([&g, runner, plan_file] {
    *runner = [&g, plan_file] { return Show(g, *plan_file); };
  });

  auto* schema = cmd->add_subcommand("schema", "print the JSON Schema of the plan file");
  schema->callback([runner] {
    *runner = [] {
      std::cout << Dump(plan::PlanSchema(), 2) << std::endl;
      return kExitOk;
    };
  });
  auto order_services = std::make_shared<std::vector<std::string>>();
  auto* order = cmd->add_subcommand(
      "order", "print the recovery order: services in waves, each after everything it depends "
               "on, the most critical first within a wave (doc/drills.md)");
  AddPlanOption(order, plan_file.get());
  order->add_option("service", *order_services,
                    "only these services and what they depend on (default: every service)");
  order->callback([&g, runner, plan_file, order_services] {
    *runner = [&g, plan_file, order_services] { return Order(g, *plan_file, *order_services); };
  });

  auto bia = std::make_shared<BiaFlags>();
  auto* bia_cmd = cmd->add_subcommand(
      "bia", "the business impact analysis (NIST SP 800-34): criticality, outage costs, "
             "critical-path RTO against MTD, resources and stored bytes per site with their "
             "monthly cost, recovery order, exposure and the last drills; over- and "
             "under-protected services flagged (doc/bia.md)");
  AddPlanOption(bia_cmd, plan_file.get());
  bia_cmd->add_option("--format", bia->format,
                      "md (Markdown, the default), html (one self-contained page with charts) "
                      "or json (as --json; doc/bia.md, \"JSON\")")
      ->check(CLI::IsMember({"md", "html", "json"}));
  bia_cmd->add_option("--out", bia->out, "write to FILE (atomically) instead of standard output")
      ->type_name("FILE");
  bia_cmd->add_flag("--offline", bia->offline,
                    "from the plan alone: open no site (stored bytes, costs of protection, "
                    "copies held and drills are then unknown)");
  bia_cmd->callback([&g, runner, plan_file, bia] {
    *runner = [&g, plan_file, bia] { return Bia(g, *plan_file, *bia); };
  });

  auto* init = cmd->add_subcommand(
      "init", "create the plan's site repositories that do not exist (the others as replicas of "
              "the first)");
  AddPlanOption(init, plan_file.get());
  init->callback([&g, runner, plan_file] {
    *runner = [&g, plan_file] { return Init(g, *plan_file); };
  });

  auto timer = std::make_shared<TimerFlags>();
  auto* install =
      cmd->add_subcommand("install-timer",
                          "write systemd units (or print a crontab line) calling `lifeboat run` "
                          "every minute, or with --daemon the service running `lifeboat daemon`; "
                          "enables nothing");
  AddPlanOption(install, plan_file.get());
  install->add_flag("--user", timer->user, "user units (systemctl --user; default unless root)");
  install->add_flag("--system", timer->system, "system units (default as root)");
  install->add_flag("--crontab", timer->crontab, "print a crontab line instead; write nothing");
  install->add_option("--cron-user", timer->cron_user,
                      "with --crontab: the user field of an /etc/cron.d line");
  install->add_option("--dir", timer->dir,
                      "where to write the units (default /etc/systemd/system or "
                      "~/.config/systemd/user)");
  install->add_option("--unit-name", timer->unit_name,
                      "the units' base name (lifeboat-run; with --daemon lifeboat-daemon)");
  install->add_flag("--daemon", timer->daemon,
                    "write the service lifeboat-daemon.service running `lifeboat daemon` "
                    "(doc/daemon.md) instead of the timer calling `lifeboat run`");
  install->add_flag("--force", timer->force, "replace unit files that differ");
  install->callback([&g, runner, plan_file, timer] {
    *runner = [&g, plan_file, timer] { return InstallTimer(g, *plan_file, *timer); };
  });
}

}  // namespace lifeboat::cli
