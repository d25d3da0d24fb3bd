// lifeboat plan validate|show|schema: the DR plan file (doc/plan.md). validate prints every
// error and warning as FILE:LINE:COLUMN with a hint and exits 2 when there is an error; show
// prints the normalised plan (--json: the JSON form); schema prints the file's JSON Schema.
#include <iostream>

#include "cli/common.h"
#include "plan/duration.h"
#include "plan/plan_json.h"
#include "plan/validate.h"

namespace lifeboat::cli {

namespace {

std::string Dump(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void AddPlanOption(CLI::App* cmd, std::string* plan) {
  cmd->add_option("--plan", *plan,
                  "the plan file (default: $LIFEBOAT_PLAN, else ./lifeboat.yaml, else "
                  "/etc/lifeboat/lifeboat.yaml)")
      ->type_name("FILE");
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
  Result<std::string> path = plan::FindPlanFile(flag);
  if (!path.ok()) return ReportError(g, path.status());
  Result<plan::LoadedPlan> loaded = plan::LoadPlan(*path);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  for (const plan::Diagnostic& d : loaded->diagnostics) std::cerr << d.ToString() << "\n";
  const plan::Plan& p = loaded->plan;
  if (g.json) {
    std::cout << Dump(plan::PlanToJson(p), -1) << std::endl;
    return kExitOk;
  }
  Say(g, "plan " + *path + ": " + Plural(p.sites.size(), "site") + ", " +
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
}

}  // namespace lifeboat::cli
