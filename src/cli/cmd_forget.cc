// lifeboat forget: removes snapshots, either those named on the command line or those a
// retention policy (--keep-* flags or --policy FILE) does not keep. Takes the exclusive lock,
// prints per group what is kept (with the reasons) and what is removed, then removes the snapshot
// objects; --dry-run prints the same and removes nothing. The data the removed snapshots
// referenced stays in the repository (reclaiming it is prune's job). The mechanism is the
// library's (retention/forget.h: PlanForget, ExecuteForget); this verb parses the flags, prints
// and runs prune when asked. On a site with Object Lock the snapshots still locked are named up
// front and kept; the exit code is then 3 (kExitIncomplete), as it is for a prune that kept
// locked objects.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "backend/object_lock.h"
#include "cli/common.h"
#include "cli/prune_flags.h"
#include "retention/forget.h"
#include "retention/retention.h"
#include "util/file_io.h"

namespace lifeboat::cli {
namespace {

using retention::GroupDecisions;
using retention::RetentionPolicy;

struct CountFlag {
  const char* names;  // CLI11 option names
  const char* rule;   // for help: "hourly", ...
  int RetentionPolicy::*field;
  std::string value;
  CLI::Option* option = nullptr;
};

struct DurationFlag {
  const char* names;
  const char* help;
  retention::Duration RetentionPolicy::*field;
  std::string value;
  CLI::Option* option = nullptr;
};

struct ForgetFlags {
  CountFlag counts[6] = {
      {"-l,--keep-last", "the last N snapshots", &RetentionPolicy::keep_last, {}},
      {"-H,--keep-hourly", "the newest snapshot of each of the last N hours",
       &RetentionPolicy::keep_hourly, {}},
      {"-d,--keep-daily", "the newest snapshot of each of the last N days",
       &RetentionPolicy::keep_daily, {}},
      {"-w,--keep-weekly", "the newest snapshot of each of the last N weeks",
       &RetentionPolicy::keep_weekly, {}},
      {"-m,--keep-monthly", "the newest snapshot of each of the last N months",
       &RetentionPolicy::keep_monthly, {}},
      {"-y,--keep-yearly", "the newest snapshot of each of the last N years",
       &RetentionPolicy::keep_yearly, {}},
  };
  DurationFlag durations[6] = {
      {"--keep-within", "every snapshot within D of the newest one",
       &RetentionPolicy::keep_within, {}},
      {"--keep-within-hourly", "one snapshot per hour within D of the newest one",
       &RetentionPolicy::keep_within_hourly, {}},
      {"--keep-within-daily", "one snapshot per day within D of the newest one",
       &RetentionPolicy::keep_within_daily, {}},
      {"--keep-within-weekly", "one snapshot per week within D of the newest one",
       &RetentionPolicy::keep_within_weekly, {}},
      {"--keep-within-monthly", "one snapshot per month within D of the newest one",
       &RetentionPolicy::keep_within_monthly, {}},
      {"--keep-within-yearly", "one snapshot per year within D of the newest one",
       &RetentionPolicy::keep_within_yearly, {}},
  };
  std::vector<std::string> keep_tags;
  CLI::Option* keep_tags_option = nullptr;
  std::string group_by = "host,paths";
  CLI::Option* group_by_option = nullptr;
  std::string policy_file;
  SnapshotFilter filter;
  bool dry_run = false;
  bool prune = false;
  PruneFlags prune_flags;
  std::vector<std::string> ids;
};

const char kRuleFlags[] =
    "--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly "
    "(a count; -1 or 'unlimited' = all), --keep-within, --keep-within-hourly, "
    "--keep-within-daily, --keep-within-weekly, --keep-within-monthly, --keep-within-yearly "
    "(a duration such as 30d or 1y6m; m = months), --keep-tag TAGS, or --policy FILE";

// Long name of a flag for messages: "-d,--keep-daily" -> "--keep-daily".
std::string LongName(const char* names) {
  std::string s = names;
  size_t comma = s.find(',');
  return comma == std::string::npos ? s : s.substr(comma + 1);
}

Result<int> ParseCount(const std::string& flag, const std::string& text) {
  if (text == "unlimited") return retention::kUnlimited;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < retention::kUnlimited || v > INT_MAX)
    return Status::InvalidArgument(flag + " takes a count: a positive number, or -1 / 'unlimited' "
                                          "to keep all; got '" + text + "'");
  return static_cast<int>(v);
}

bool AnyRuleFlag(const ForgetFlags& f) {
  for (const auto& c : f.counts)
    if (c.option->count() > 0) return true;
  for (const auto& d : f.durations)
    if (d.option->count() > 0) return true;
  return f.keep_tags_option->count() > 0;
}

// The policy from --policy FILE or from the flags.
Result<RetentionPolicy> PolicyFromFlags(const ForgetFlags& f) {
  if (!f.policy_file.empty()) {
    if (AnyRuleFlag(f) || f.group_by_option->count() > 0)
      return Status::InvalidArgument(
          "--policy cannot be combined with --keep-* or --group-by flags: put every rule (and "
          "group_by) in the policy file, or leave --policy out");
    auto data = ReadWholeFile(f.policy_file);
    if (data.status().IsNotFound())  // a wrong file name is a bad argument, not a failure
      return Status::InvalidArgument("--policy " + f.policy_file + ": " +
                                     data.status().message());
    if (!data.ok()) return data.status().WithContext("reading --policy " + f.policy_file);
    auto p = retention::ParsePolicyJson(std::string_view(
        reinterpret_cast<const char*>(data->data()), data->size()));
    if (!p.ok()) return Status::InvalidArgument("--policy " + f.policy_file + ": " +
                                                p.status().message());
    return p;
  }
  RetentionPolicy p;
  for (const auto& c : f.counts) {
    if (c.option->count() == 0) continue;
    LB_ASSIGN_OR_RETURN(p.*c.field, ParseCount(LongName(c.names), c.value));
  }
  for (const auto& d : f.durations) {
    if (d.option->count() == 0) continue;
    auto parsed = retention::ParseCalendarDuration(d.value);
    if (!parsed.ok()) return parsed.status().WithContext(LongName(d.names));
    p.*d.field = *parsed;
  }
  for (const std::string& t : f.keep_tags) {
    auto set = retention::ParseTagSet(t);
    if (!set.ok()) return set.status().WithContext("--keep-tag");
    p.keep_tags.push_back(std::move(*set));
  }
  auto by = retention::ParseGroupBy(f.group_by);
  if (!by.ok()) return by.status().WithContext("--group-by");
  p.group_by = *by;
  LB_RETURN_IF_ERROR(p.Validate());
  return p;
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

void PrintTable(const std::vector<const retention::Decision*>& rows, bool with_reasons) {
  char line[1024];
  if (with_reasons)
    snprintf(line, sizeof line, "%-9s %-19s %-16s %-16s %-28s %s", "ID", "Time", "Host", "Tags",
             "Reasons", "Paths");
  else
    snprintf(line, sizeof line, "%-9s %-19s %-16s %-16s %s", "ID", "Time", "Host", "Tags",
             "Paths");
  std::cout << line << "\n" << std::string(with_reasons ? 100 : 80, '-') << "\n";
  for (const retention::Decision* d : rows) {
    const Snapshot& s = d->snapshot;
    if (with_reasons)
      snprintf(line, sizeof line, "%-9s %-19s %-16s %-16s %-28s %s", d->id.Short().c_str(),
               FormatLocalTime(s.time_ns).c_str(), s.hostname.c_str(), Join(s.tags, ",").c_str(),
               Join(d->reasons, ", ").c_str(), Join(s.paths, " ").c_str());
    else
      snprintf(line, sizeof line, "%-9s %-19s %-16s %-16s %s", d->id.Short().c_str(),
               FormatLocalTime(s.time_ns).c_str(), s.hostname.c_str(), Join(s.tags, ",").c_str(),
               Join(s.paths, " ").c_str());
    std::cout << line << "\n";
  }
  std::cout << std::string(with_reasons ? 100 : 80, '-') << "\n";
}

std::string Plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void PrintGroup(const GroupDecisions& g, bool show_keep, const retention::ForgetPlan& plan) {
  std::vector<const retention::Decision*> keep, remove;
  for (const auto& d : g.snapshots) (d.keep ? keep : remove).push_back(&d);
  const retention::GroupBy& by = g.key.by;
  if (by.host || by.paths || by.tags)
    std::cout << "snapshots for " << g.key.ToString() << ":\n";
  else
    std::cout << "all snapshots (not grouped):\n";
  if (show_keep) {
    std::cout << "keep " << Plural(keep.size(), "snapshot") << ":\n";
    if (!keep.empty()) PrintTable(keep, true);
  }
  std::cout << "remove " << Plural(remove.size(), "snapshot") << ":\n";
  if (!remove.empty()) PrintTable(remove, false);
  for (const retention::Decision* d : remove)
    for (const auto& [id, until] : plan.locked)
      if (id == d->id)
        std::cout << "snapshot " << id.Short() << " is locked (Object Lock) until "
                  << FormatLockTime(until) << ": it stays until a forget after that date\n";
  std::cout << "\n";
}

// Per-snapshot outcome of a removal, as it happens: a failure on stderr (a JSON line with
// --json), a success with -v.
void ReportRemoval(const GlobalOptions& g, const Id& id, const Status& st) {
  if (st.ok()) {
    if (!g.json && g.verbose > 0) Say(g, "removed snapshot " + id.Short());
    return;
  }
  if (g.json)
    std::cerr << DumpJson({{"message_type", "error"},
                           {"code", std::string(StatusCodeName(st.code()))},
                           {"snapshot", id.Hex()},
                           {"message", "removing snapshot " + id.Short() + ": " + st.message()}})
              << std::endl;
  else
    std::cerr << "lifeboat: error: removing snapshot " << id.Short() << ": " << st.message()
              << std::endl;
}

void PrintResult(const GlobalOptions& g, const retention::ForgetResult& r,
                 const Backend& backend) {
  const retention::ForgetPlan& plan = r.plan;
  if (g.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& gd : plan.groups) {
      nlohmann::json j = retention::GroupDecisionsToJson(gd);
      for (auto& e : j["remove"]) {
        std::optional<Id> id = Id::FromHex(e["id"].get<std::string>());
        e["removed"] = id && r.WasRemoved(*id);
        if (const Status* failed = id ? r.FailureOf(*id) : nullptr)
          e["error"] = failed->message();
        if (const int64_t until = id ? r.LockEndOf(*id) : 0) e["locked_until"] = FormatLockTime(until);
      }
      out.push_back(std::move(j));
    }
    PrintJson(out);
    // Then one summary line (doc/retention.md), as every long operation ends with.
    PrintJson({{"message_type", "summary"},
               {"dry_run", plan.dry_run},
               {"kept", plan.kept()},
               {"to_remove", plan.to_remove()},
               {"removed", r.removed.size()},
               {"failed", r.failed.size()},
               {"object_lock", ObjectLockJson(backend)},
               {"locked", plan.dry_run ? plan.locked.size() : r.locked.size()},
               {"locked_until", r.LatestLockEnd() ? nlohmann::json(FormatLockTime(r.LatestLockEnd()))
                                                  : nlohmann::json(nullptr)},
               {"phases", PhasesJson(r.phases)}});
  } else if (!g.quiet) {
    std::string kept = plan.by_ids ? "" : ", " + std::to_string(plan.kept()) + " kept";
    const size_t locked = plan.dry_run ? plan.locked.size() : r.locked.size();
    const std::string locked_text =
        locked == 0 ? ""
                    : ", " + std::to_string(locked) + " locked until " +
                          FormatLockTime(r.LatestLockEnd()) + (plan.dry_run ? " (would stay)" : " (kept)");
    if (plan.dry_run)
      std::cout << "dry run: would remove " << Plural(plan.to_remove() - locked, "snapshot") << kept
                << locked_text << "; nothing was removed" << std::endl;
    else
      std::cout << "removed " << Plural(r.removed.size(), "snapshot") << kept << locked_text
                << (r.failed.empty() ? "" : ", " + std::to_string(r.failed.size()) + " failed")
                << std::endl;
  }
}

int RunForget(const GlobalOptions& g, const ForgetFlags& f) {
  // Everything about the command line is checked before the repository is opened.
  auto policy = PolicyFromFlags(f);
  if (!policy.ok()) return ReportError(g, policy.status());
  const bool by_ids = !f.ids.empty();
  if (by_ids && (!policy->empty() || !f.policy_file.empty() || f.group_by_option->count() > 0))
    return ReportError(g, Status::InvalidArgument(
                              "give either snapshot ids to remove or retention rules "
                              "(--keep-*, --policy, --group-by), not both"));
  if (!by_ids && policy->empty())
    return ReportError(
        g, Status::InvalidArgument(
               std::string(f.policy_file.empty() ? "no retention rule given"
                                                 : "the policy file " + f.policy_file +
                                                       " has no retention rule") +
               ", and a policy without rules would remove every snapshot; use at least one of " +
               kRuleFlags + " (or name the snapshots to remove)"));
  if (g.no_lock && !f.dry_run)
    return ReportError(g, Status::InvalidArgument(
                              "forget removes snapshots and needs the exclusive lock; --no-lock "
                              "is only allowed with --dry-run"));

  auto repo = OpenRepository(g);
  if (!repo.ok()) return ReportError(g, repo.status());
  // Refused before the lock is taken, as the library would refuse it after.
  if (!f.dry_run)
    if (Status st = (*repo)->CheckNotAppendOnly("forget"); !st.ok()) return ReportError(g, st);
  auto lock = LockRepository(g, **repo, LockKind::kExclusive);  // released by its destructor
  if (!lock.ok()) return ReportError(g, lock.status());

  retention::ForgetRequest request;
  request.filter = f.filter;
  request.ids = f.ids;
  if (!by_ids) request.policy = *policy;
  request.now_ns = NowNs();
  request.dry_run = f.dry_run;
  std::vector<DamagedSnapshot> damaged;
  const Context ctx = CliContext();
  auto plan = retention::PlanForget(**repo, lock->get(), request, &damaged, ctx);
  WarnDamagedSnapshots(g, damaged);
  if (!plan.ok()) return ReportError(g, plan.status());

  AnnounceObjectLock(g, (*repo)->backend(), "forget");
  if (!g.json && !g.quiet) {
    if (!by_ids) std::cout << "Applying policy: " << policy->Describe() << "\n";
    if (plan->groups.empty())
      std::cout << "no snapshots"
                << (f.filter.empty()
                        ? ""
                        : " match the filters")
                << "\n";
    for (const auto& gd : plan->groups) PrintGroup(gd, !by_ids, *plan);
    std::cout << std::flush;
  }

  // Remove. A failure is reported and the others continue; a lost lock or an interrupt stops.
  retention::ForgetOptions options;
  options.ctx = ctx;
  options.on_removal = [&g](const Id& id, const Status& st) { ReportRemoval(g, id, st); };
  retention::ForgetResult result =
      retention::ExecuteForget(**repo, lock->get(), std::move(*plan), options);
  PrintResult(g, result, (*repo)->backend());
  if (!result.stopped.ok()) return ReportError(g, result.stopped);
  if (!result.failed.empty())
    return ReportError(g, Status::IOError(Plural(result.failed.size(), "snapshot") +
                                          " could not be removed (see above); run forget again" +
                                          (f.prune ? " (prune was not run)" : "")));
  // Snapshots the lock keeps are no failure: prune still runs (their data stays in use).
  int exit_code = kExitOk;
  if (!result.locked.empty()) {
    exit_code = kExitIncomplete;
    if (!g.json)
      std::cerr << "lifeboat: warning: " << Plural(result.locked.size(), "snapshot")
                << " the policy removes " << (result.locked.size() == 1 ? "is" : "are")
                << " locked (Object Lock) until " << FormatLockTime(result.LatestLockEnd())
                << " and " << (result.locked.size() == 1 ? "was" : "were")
                << " kept: a forget after that date removes them" << std::endl;
  }
  if (!f.prune) return exit_code;
  // Prune under the same exclusive lock. A dry run removed nothing, so prune plans as if the
  // snapshots forget would remove were gone.
  if (Status st = (*repo)->LoadIndex(); !st.ok()) return ReportError(g, st);
  OpenedRepository opened{std::move(*repo), std::move(*lock)};
  std::vector<Id> would_remove;
  if (f.dry_run)
    for (const auto& gd : result.plan.groups)
      for (const auto& d : gd.snapshots)
        if (!d.keep) would_remove.push_back(d.id);
  const int pruned = RunPrune(g, opened, f.prune_flags, f.dry_run, std::move(would_remove));
  return pruned == kExitOk ? exit_code : pruned;
}

}  // namespace

void RegisterForget(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "forget",
      "remove snapshots: those named, or those a retention policy does not keep (the data "
      "stays in the repository until it is pruned)");
  auto f = std::make_shared<ForgetFlags>();
  for (auto& c : f->counts)
    c.option = cmd->add_option(c.names, c.value,
                               std::string("keep ") + c.rule + " (-1 or 'unlimited': all)")
                   ->type_name("N");
  for (auto& d : f->durations)
    d.option = cmd->add_option(d.names, d.value,
                               std::string("keep ") + d.help +
                                   " (D: y, m, d, h as in restic, m = MONTHS; e.g. 30d, 1y6m, "
                                   "2d12h; doc/units.md)")
                   ->type_name("D");
  f->keep_tags_option =
      cmd->add_option("--keep-tag", f->keep_tags,
                      "keep snapshots with all of these tags, \"a,b\" (repeatable: any set)")
          ->type_name("TAGS");
  f->group_by_option = cmd->add_option(
      "--group-by", f->group_by,
      "apply the rules per group of snapshots with equal host, paths and/or tags "
      "(default host,paths; \"\" = one group)");
  cmd->add_option("--policy", f->policy_file,
                  "read the rules from this JSON file (see doc/retention.md); not combinable "
                  "with --keep-* or --group-by");
  AddSnapshotFilterOptions(cmd, &f->filter);
  cmd->add_flag("-n,--dry-run", f->dry_run, "print what would be kept and removed, remove nothing");
  cmd->add_flag("--prune", f->prune,
                "run prune afterwards, under the same lock (with --json: a second JSON line)");
  AddPruneFlags(cmd, &f->prune_flags);
  cmd->add_option("snapshots", f->ids,
                  "snapshot ids (or unique prefixes, or 'latest') to remove; not combinable with "
                  "retention rules");
  cmd->callback([&g, runner, f] { *runner = [&g, f] { return RunForget(g, *f); }; });
}

}  // namespace lifeboat::cli
