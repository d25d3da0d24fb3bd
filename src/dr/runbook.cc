// BuildRunbook and ReadRunbook (runbook.h): the document, section by section, in the order of
// NIST SP 800-34's contingency plan. The commands come from runbook_commands.cc.
#include "dr/runbook.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "dr/drill_history_internal.h"
#include "dr/runbook_internal.h"
#include "plan/duration.h"
#include "recover/waves.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace lifeboat::dr {

namespace {

using namespace runbook_internal;

std::string Duration(const std::optional<std::chrono::seconds>& d) {
  return d ? plan::FormatPlanDuration(*d) : std::string("-");
}

std::string Names(const std::vector<plan::NameRef>& refs) {
  std::vector<std::string> v;
  for (const plan::NameRef& r : refs) v.push_back(r.name);
  return v.empty() ? std::string("-") : JoinStrings(v, ", ");
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Builder {
 public:
  explicit Builder(Runbook* book) : book_(book) {}
  void Heading(int level, std::string text) {
    RunbookBlock b;
    b.kind = RunbookBlock::Kind::kHeading;
    b.level = level;
    b.text = std::move(text);
    book_->blocks.push_back(std::move(b));
  }
  void Paragraph(std::string text) {
    RunbookBlock b;
    b.kind = RunbookBlock::Kind::kParagraph;
    b.text = std::move(text);
    book_->blocks.push_back(std::move(b));
  }
  void List(std::vector<std::string> items) {
    if (items.empty()) return;
    RunbookBlock b;
    b.kind = RunbookBlock::Kind::kList;
    b.items = std::move(items);
    book_->blocks.push_back(std::move(b));
  }
  void Table(std::vector<std::string> headers, std::vector<std::vector<std::string>> rows) {
    RunbookBlock b;
    b.kind = RunbookBlock::Kind::kTable;
    b.headers = std::move(headers);
    b.rows = std::move(rows);
    book_->blocks.push_back(std::move(b));
  }
  void Commands(std::string marker, std::string text) {
    if (text.empty()) return;
    RunbookBlock b;
    b.kind = RunbookBlock::Kind::kCommands;
    b.marker = std::move(marker);
    b.text = std::move(text);
    book_->blocks.push_back(std::move(b));
  }

 private:
  Runbook* book_;
};

// Who declares a disaster (doc/runbook.md, "Who declares"): the contacts whose role names
// coordination of an incident or a disaster; else the owners of the most critical services.
struct Declarers {
  std::vector<std::string> lines;  // for people
  std::string rule;                // how they were chosen
};

Declarers FindDeclarers(const plan::Plan& plan) {
  Declarers d;
  for (const plan::Contact& c : plan.contacts) {
    const std::string role = Lower(c.role);
    if (role.find("coordinator") != std::string::npos ||
        role.find("incident") != std::string::npos || role.find("declar") != std::string::npos) {
      std::string line = c.name + " (" + c.role + ")";
      if (!c.phone.empty()) line += ", phone " + c.phone;
      if (!c.email.empty()) line += ", e-mail " + c.email;
      d.lines.push_back(line);
    }
  }
  if (!d.lines.empty()) {
    d.rule = "the contacts whose role names a coordinator, an incident or declaring";
    return d;
  }
  int best = 4;
  for (const plan::Service& s : plan.services) best = std::min(best, s.tier);
  std::vector<std::string> owners;
  for (const plan::Service& s : plan.services) {
    if (s.tier != best || s.owner.empty()) continue;
    if (std::find(owners.begin(), owners.end(), s.owner) == owners.end()) owners.push_back(s.owner);
  }
  for (const std::string& o : owners) {
    std::string line = o + " (owner of tier-" + std::to_string(best) + " services)";
    if (const plan::Contact* c = plan.FindContact(o)) {
      if (!c->phone.empty()) line += ", phone " + c->phone;
      if (!c->email.empty()) line += ", e-mail " + c->email;
    }
    d.lines.push_back(line);
  }
  d.rule = owners.empty()
               ? "nobody: the plan names no contact with such a role and its most critical "
                 "services have no owner; add a contact with role \"DR coordinator\""
               : "no contact's role names a coordinator, so the owners of the most critical "
                 "(tier-" + std::to_string(best) + ") services";
  return d;
}

std::string ChannelDestination(const plan::Channel& c) {
  auto origin = [](const std::optional<plan::SecretRef>& s) {
    return s ? "secret from " + SecretOrigin(*s) : std::string("-");
  };
  switch (c.type) {
    case plan::ChannelType::kWebhook: {
      std::string out = "POST " + c.url;
      for (const plan::EnvEntry& h : c.headers)
        out += "; header " + h.name + " from " + SecretOrigin(h.secret);
      return out;
    }
    case plan::ChannelType::kSlack: return "Slack webhook URL: " + origin(c.webhook_url);
    case plan::ChannelType::kNtfy:
      return c.url + (c.token ? "; token: " + origin(c.token) : std::string());
    case plan::ChannelType::kPagerDuty:
      return c.url + "; routing key: " + origin(c.routing_key);
    case plan::ChannelType::kHealthchecks: return "ping URL: " + origin(c.ping_url);
    case plan::ChannelType::kEmail: {
      std::string out = "to " + JoinStrings(c.to, ", ") + " via " + c.smtp_url;
      if (c.password) out += "; SMTP password: " + origin(c.password);
      return out;
    }
    case plan::ChannelType::kCommand: return "runs " + c.command.Display();
  }
  return "";
}

void SupportingInformation(const plan::Plan& plan, const std::string& plan_path, Builder& b) {
  b.Heading(2, "1. Supporting information");
  b.Paragraph(
      "This runbook recovers the " + std::to_string(plan.services.size()) +
      " services of the plan " + plan_path + " from its " + std::to_string(plan.sites.size()) +
      " sites. It is generated by `lifeboat runbook` from the plan and from the drill records "
      "kept in the sites' repositories: regenerate it after every change to the plan and after "
      "every drill, and keep a printed or offline copy outside the systems it recovers. Its "
      "commands assume a fresh Debian machine with the lifeboat binary in PATH, bash, coreutils, "
      "curl (for http checks) and the PostgreSQL client programs (for PostgreSQL sources).");
  b.Heading(3, "1.1 Sites (where the backups are)");
  std::vector<std::vector<std::string>> rows;
  for (const plan::Site& s : plan.sites) {
    std::vector<std::string> credentials;
    for (const plan::EnvEntry& e : s.env) credentials.push_back(e.name + ": " + SecretOrigin(e.secret));
    rows.push_back({s.name, std::string(plan::SiteRoleName(s.role)),
                    s.location.empty() ? "-" : s.location, s.repository, s.media,
                    s.immutable ? "yes" : "no", SecretOrigin(s.password),
                    credentials.empty() ? "-" : JoinStrings(credentials, "; ")});
  }
  b.Table({"site", "role", "location", "repository", "media", "immutable", "password from",
           "storage credentials from"},
          rows);
  b.Heading(3, "1.2 Services, objectives and dependencies");
  rows.clear();
  for (const plan::Service& s : plan.services) {
    std::vector<std::string> sources;
    for (const plan::Source& src : s.sources)
      sources.push_back(src.name + " (" + std::string(plan::SourceKindName(src.kind)) + ")");
    rows.push_back({s.name, std::to_string(s.tier), s.owner.empty() ? "-" : s.owner,
                    plan::FormatPlanDuration(s.rpo), Duration(s.rto), Duration(s.mtd),
                    Names(s.depends_on), Names(s.sites), JoinStrings(sources, ", ")});
  }
  b.Table({"service", "tier", "owner", "RPO", "RTO", "MTD", "depends on", "sites (in order)",
           "sources"},
          rows);
  b.Heading(3, "1.3 Roles and responsibilities");
  if (plan.contacts.empty()) {
    b.Paragraph("The plan names no contacts (add them under `contacts:`, doc/plan.md).");
  } else {
    rows.clear();
    for (const plan::Contact& c : plan.contacts)
      rows.push_back({c.name, c.role.empty() ? "-" : c.role, c.phone.empty() ? "-" : c.phone,
                      c.email.empty() ? "-" : c.email, Names(c.channels)});
    b.Table({"contact", "role", "phone", "e-mail", "notification channels"}, rows);
  }
  std::vector<std::string> owners;
  for (const plan::Service& s : plan.services)
    owners.push_back(s.name + ": " + (s.owner.empty() ? "no owner in the plan" : s.owner));
  b.Paragraph("Service owners answer for their service's recovery and validation:");
  b.List(owners);
}

void ActivationAndNotification(const plan::Plan& plan, const std::vector<recover::Wave>& waves,
                               const std::string& plan_path, Builder& b) {
  b.Heading(2, "2. Activation and notification");
  b.Heading(3, "2.1 Activation criteria and who declares a disaster");
  std::vector<std::string> criteria;
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      const plan::Service* s = plan.FindService(ws.name);
      std::string line = ws.name + " (tier " + std::to_string(s->tier) + "): an outage expected "
                         "to last longer than its RTO (" + Duration(s->rto) + ")";
      if (s->mtd) line += "; its maximum tolerable downtime is " + Duration(s->mtd);
      line += ", or its data lost or corrupted (it may lose at most " +
              plan::FormatPlanDuration(s->rpo) + " of data)";
      criteria.push_back(line);
    }
  }
  b.Paragraph("Activate this plan when any of the following holds and cannot be repaired in place "
              "within the time given:");
  b.List(criteria);
  b.List({"the machines or the data centre that run the services are lost or unusable",
          "the data is suspected to be tampered with (ransomware, an intruder): recover from an "
          "immutable site, from a snapshot taken before the intrusion"});
  const Declarers d = FindDeclarers(plan);
  b.Paragraph("Who declares the disaster: " + d.rule + ":");
  if (d.lines.empty()) b.Paragraph("(nobody named)");
  b.List(d.lines);

  b.Heading(3, "2.2 Notification procedures");
  std::vector<std::string> tree;
  for (const std::string& l : d.lines) tree.push_back("1. " + l + ": declares, leads the recovery");
  for (const plan::Contact& c : plan.contacts) {
    std::string line = "2. " + c.name + (c.role.empty() ? "" : " (" + c.role + ")");
    if (!c.phone.empty()) line += ", phone " + c.phone;
    if (!c.email.empty()) line += ", e-mail " + c.email;
    if (!c.channels.empty()) line += ", reached through " + Names(c.channels);
    tree.push_back(line);
  }
  std::map<int, std::vector<std::string>> by_tier;
  for (const plan::Service& s : plan.services)
    by_tier[s.tier].push_back(s.name + " (" + (s.owner.empty() ? "no owner" : s.owner) + ")");
  for (const auto& [tier, list] : by_tier)
    tree.push_back("3. owners of tier-" + std::to_string(tier) +
                   " services: " + JoinStrings(list, ", "));
  b.Paragraph("The call tree, in order (the declaring contact, the plan's contacts, then the "
              "owners of the services by tier):");
  b.List(tree);
  if (!plan.routes.empty()) {
    b.Paragraph("Automatic notifications Lifeboat sends (the plan's routes):");
    std::vector<std::vector<std::string>> rows;
    for (const plan::Route& r : plan.routes) {
      std::vector<std::string> events, tiers;
      for (plan::Event e : r.events) events.push_back(std::string(plan::EventName(e)));
      for (int t : r.tiers) tiers.push_back(std::to_string(t));
      std::string escalate = "-";
      if (r.escalate_after)
        escalate = "after " + Duration(r.escalate_after) + " to " + Names(r.escalate_to);
      rows.push_back(
          {JoinStrings(events, ", "), JoinStrings(tiers, ", "), Names(r.channels), escalate});
    }
    b.Table({"events", "tiers", "channels", "escalation"}, rows);
  }
  if (!plan.channels.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const plan::Channel& c : plan.channels)
      rows.push_back({c.name, std::string(plan::ChannelTypeName(c.type)), ChannelDestination(c)});
    b.Paragraph("The channels (secrets are never shown, only where they come from):");
    b.Table({"channel", "type", "destination"}, rows);
  }

  b.Heading(3, "2.3 Outage assessment");
  b.Paragraph("Find out what is lost and which site to recover from. For each service, use the "
              "first of its sites (in the order of 1.2) that is reachable and holds a recent "
              "snapshot; when tampering is suspected, an immutable site. Where the plan and "
              "Lifeboat still run, `lifeboat status` answers for every site at once:");
  b.Commands("part=assess", "lifeboat status --plan " + ShellQuote(plan_path) + "\n");
  b.Paragraph("On a fresh machine, each site's preparation block in 3.2 lists the site's "
              "snapshots: a site that cannot be opened or read is not the one to recover from.");
}

void Recovery(const plan::Plan& plan, const std::vector<recover::Wave>& waves,
              const RunbookOptions& options, Builder& b) {
  b.Heading(2, "3. Recovery");
  b.Heading(3, "3.1 Sequence of recovery activities");
  b.Paragraph("Services are recovered in waves: a service starts only after everything it "
              "depends on is verified; within a wave the most critical come first, and services "
              "of one wave that do not depend on each other may be recovered in parallel by "
              "different people (the same order as `lifeboat plan order` and drills).");
  std::vector<std::vector<std::string>> rows;
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      const plan::Service* s = plan.FindService(ws.name);
      rows.push_back({std::to_string(w.number), ws.name, std::to_string(ws.tier),
                      std::to_string(ws.priority_tier),
                      ws.depends_on.empty() ? "-" : JoinStrings(ws.depends_on, ", "),
                      Duration(s->rto)});
    }
  }
  b.Table({"wave", "service", "tier", "priority tier", "after", "RTO"}, rows);

  b.Heading(3, "3.2 Prepare the recovery machine");
  b.Paragraph("Install Lifeboat (the `lifeboat` binary in PATH), bash, coreutils and curl, and "
              "the PostgreSQL client programs for PostgreSQL sources. Make the password (and the "
              "storage credentials) of the site you recover from available where the site's block "
              "reads them. Then run, in one bash shell, the block of that site; every later block "
              "runs in the same shell. Set RECOVERY_DIR first to restore elsewhere than " +
              options.recovery_dir + ".");
  for (const plan::Site& site : plan.sites) {
    b.Heading(4, "Site " + site.name + (site.location.empty() ? "" : " (" + site.location + ")"));
    b.Commands("site=" + site.name + " part=prepare",
               SitePrepareCommands(site, options.recovery_dir));
  }

  b.Heading(3, "3.3 Recovery procedures");
  b.Paragraph("For each service, in this order: its environment block, the restore block of the "
              "site chosen in 2.3, its start block (the plan's recover steps) and its verify "
              "block (the plan's checks). Each command must succeed (exit status 0) before the "
              "next; a failing command stops the service's recovery: fix the cause or switch to "
              "its next site. Services restore below $RECOVERY_DIR/services/<service>, each source "
              "at its original absolute path, as a drill restores them; `latest` is the newest "
              "snapshot of each source at the site.");
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      const plan::Service& s = *plan.FindService(ws.name);
      std::string head = "Wave " + std::to_string(w.number) + ": " + s.name + " (tier " +
                         std::to_string(s.tier) + ", RTO " + Duration(s.rto) + ")";
      b.Heading(4, head);
      std::string intro = "Owner: " + (s.owner.empty() ? std::string("none named") : s.owner) +
                          ". ";
      intro += ws.depends_on.empty()
                   ? "It depends on nothing."
                   : "Start only when " + JoinStrings(ws.depends_on, ", ") +
                         (ws.depends_on.size() > 1 ? " are" : " is") + " verified.";
      b.Paragraph(intro);
      const std::string m = "service=" + s.name;
      b.Commands(m + " part=env", ServiceEnvironmentCommands(plan, s, ws));
      for (size_t i = 0; i < s.sites.size(); ++i) {
        const plan::Site* site = plan.FindSite(s.sites[i].name);
        if (site == nullptr) continue;
        b.Paragraph("Restore from site " + site->name +
                    (i == 0 ? " (where backups are written first)"
                            : " (when the sites before it are lost)") +
                    ":");
        b.Commands(m + " site=" + site->name + " part=restore", ServiceRestoreCommands(*site, s));
      }
      for (const plan::Source& src : s.sources) {
        if (src.kind == plan::SourceKind::kSqlite) {
          b.Paragraph("Source " + src.name + " is a SQLite database: the restored copy is "
                      "$LIFEBOAT_RESTORE_DIR" + src.sqlite.path + ". To put it back at " +
                      src.sqlite.path + ", stop the application, remove " + src.sqlite.path +
                      "-wal, -shm and -journal of the old database, then copy the file.");
        } else if (src.kind == plan::SourceKind::kCommand) {
          b.Paragraph("Source " + src.name + " is the output of `" + src.command.command.Display() +
                      "`, restored as one file below $LIFEBOAT_RESTORE_DIR.");
        }
      }
      if (s.recover.empty()) {
        b.Paragraph("The plan has no recover steps for " + s.name +
                    ": bring it up from the restored files by hand.");
      } else {
        b.Paragraph("Bring it up (the plan's recover steps, without the repository's secrets in "
                    "their environment):");
        b.Commands(m + " part=start", ServiceStartCommands(plan, s));
      }
      if (s.verify.empty()) {
        b.Paragraph("The plan has no verify checks for " + s.name +
                    ": nobody can tell from this runbook whether it works; add some.");
      } else {
        b.Paragraph("Verify it (the plan's checks; each must pass):");
        b.Commands(m + " part=verify", ServiceVerifyCommands(plan, s));
      }
    }
  }
}

void Reconstitution(const plan::Plan& plan, const std::string& plan_path, Builder& b) {
  b.Heading(2, "4. Reconstitution");
  b.Heading(3, "4.1 Validation data testing");
  std::vector<std::vector<std::string>> data, function;
  for (const plan::Service& s : plan.services) {
    for (const plan::VerifyCheck& c : s.verify) {
      std::string what;
      switch (c.kind) {
        case plan::VerifyCheck::Kind::kFiles:
          data.push_back({s.name, "files", "every restored file matches its snapshot"});
          break;
        case plan::VerifyCheck::Kind::kSql:
          data.push_back({s.name, "sql", c.query + (c.expect ? " = " + *c.expect : "")});
          break;
        case plan::VerifyCheck::Kind::kCommand:
          function.push_back({s.name, "command", c.run.Display() +
                                                     (c.expect_output ? ", prints " +
                                                                            *c.expect_output
                                                                      : "")});
          break;
        case plan::VerifyCheck::Kind::kTcp:
          function.push_back({s.name, "tcp", c.host + ":" + (c.port.name.empty()
                                                                  ? std::to_string(c.port.number)
                                                                  : c.port.name)});
          break;
        case plan::VerifyCheck::Kind::kHttp:
          function.push_back({s.name, "http", "GET " + c.path + " -> " +
                                                  std::to_string(c.expect_status) +
                                                  (c.expect_body ? ", body has " + *c.expect_body
                                                                 : "")});
          break;
      }
    }
  }
  b.Paragraph("The data is complete and consistent when these checks of the verify blocks "
              "passed:");
  if (data.empty()) b.Paragraph("(the plan has no data checks)");
  else b.Table({"service", "check", "what"}, data);
  b.Heading(3, "4.2 Validation functionality testing");
  b.Paragraph("The services work when these checks passed; then let the owners test them as "
              "their users would:");
  if (function.empty()) b.Paragraph("(the plan has no functional checks)");
  else b.Table({"service", "check", "what"}, function);
  b.Heading(3, "4.3 Recovery declaration");
  b.Paragraph("When every service's verify block passed and the owners agree, the declaring "
              "contact (2.1) declares the recovery complete and notes the time: the achieved RTO "
              "of each service is that time minus the time the disaster was declared.");
  b.Heading(3, "4.4 Notifications");
  b.Paragraph("Tell everyone of the call tree (2.2) that the services are back, with what data "
              "was lost (the age of the restored snapshots, from `lifeboat snapshots`).");
  b.Heading(3, "4.5 Cleanup");
  b.Paragraph("Once the services run under their normal supervisor, at their production paths, "
              "stop what the recovery started in the background and remove the recovery "
              "directory:");
  b.Commands("part=cleanup",
             "for pid in \"$RECOVERY_DIR\"/logs/*.pid; do [ -e \"$pid\" ] && kill \"$(cat \"$pid\")\"; "
             "done\nrm -rf \"$RECOVERY_DIR\"\n");
  b.Heading(3, "4.6 Backup of the restored system");
  b.Paragraph("Back up the recovered services at once, check that every RPO holds again, and "
              "re-enable the schedule (the plan, its password files and credentials must be on "
              "the new machine):");
  const std::string p = ShellQuote(plan_path);
  b.Commands("part=reconstitute", "lifeboat plan validate --plan " + p +
                                      "\nlifeboat run --plan " + p + " --now\nlifeboat status --plan " +
                                      p + "\nlifeboat plan install-timer --plan " + p + "\n");
  b.Heading(3, "4.7 Event documentation");
  b.List({"when the outage began, was detected, and when the disaster was declared, by whom",
          "which site each service was recovered from, and the snapshot ids restored",
          "when each service was verified: its achieved RTO against the plan's",
          "the data lost: the age of each restored snapshot at the outage, against the RPO",
          "every command that failed and what was done about it",
          "what to change in the plan; then run `lifeboat drill --all` and regenerate this "
          "runbook"});
}

void Appendices(const plan::Plan& plan, const DrillHistory& history, Builder& b) {
  b.Heading(2, "Appendix A. Drill results");
  std::string from = history.sites_read.empty()
                         ? std::string("no site")
                         : "the sites " + JoinStrings(history.sites_read, ", ");
  b.Paragraph("The newest drill of each service, as recorded in " + from + ", at " +
              internal::DrillTimeUtc(history.now_ns) + " UTC (`lifeboat drill history` has "
              "every drill).");
  std::vector<std::vector<std::string>> rows;
  for (const ServiceDrills& s : history.services) {
    const ServiceAssessment& a = s.assessment;
    std::vector<std::string> findings;
    for (const DrillFinding& f : a.findings) findings.push_back(f.message);
    if (!a.newest) {
      rows.push_back({s.service, std::to_string(s.tier), "0", "never drilled", "-",
                      internal::AchievedAgainstTarget(std::nullopt, s.rto_ns),
                      internal::AchievedAgainstTarget(std::nullopt, s.rpo_ns), "-",
                      findings.empty() ? "-" : JoinStrings(findings, "; ")});
      continue;
    }
    const DrillRecord& r = *a.newest;
    rows.push_back(
        {s.service, std::to_string(s.tier), std::to_string(a.drills),
         internal::DrillTimeUtc(r.start_ns) + " from " + r.site,
         std::string(DrillResultName(r.result)) + (r.error.empty() ? "" : ": " + r.error),
         internal::AchievedAgainstTarget(r.achieved_rto_ns, r.rto_target_ns),
         internal::AchievedAgainstTarget(r.achieved_rpo_ns, r.rpo_target_ns),
         a.newest_passed ? internal::DrillTimeUtc(a.newest_passed->start_ns) : "none",
         findings.empty() ? "-" : JoinStrings(findings, "; ")});
  }
  b.Table({"service", "tier", "drills", "newest drill (UTC)", "result", "achieved RTO / target",
           "achieved RPO / target", "newest passed", "findings"},
          rows);
  if (!history.warnings.empty()) {
    b.Paragraph("Not read (their drill records are missing above):");
    b.List(history.warnings);
  }
  b.Heading(2, "Appendix B. Where every secret comes from");
  b.Paragraph("This runbook never holds a secret; these are the references the plan gives.");
  std::vector<std::vector<std::string>> secrets;
  for (const plan::Site& s : plan.sites) {
    secrets.push_back({"site " + s.name, "repository password", SecretOrigin(s.password)});
    for (const plan::EnvEntry& e : s.env)
      secrets.push_back({"site " + s.name, e.name, SecretOrigin(e.secret)});
  }
  for (const plan::Service& s : plan.services)
    for (const plan::Source& src : s.sources)
      if (src.kind == plan::SourceKind::kPostgres && src.postgres.password)
        secrets.push_back({"service " + s.name + ", source " + src.name, "database password",
                           SecretOrigin(*src.postgres.password)});
  b.Table({"used by", "secret", "from"}, secrets);
}

// Appendix C: the failovers and failbacks recorded at the sites, newest first, one row per
// service of each (the incident's own columns on its first row only).
void IncidentAppendix(const IncidentHistory& incidents, Builder& b) {
  b.Heading(2, "Appendix C. Incidents");
  const std::string from = incidents.sites_read.empty()
                               ? std::string("no site")
                               : "the sites " + JoinStrings(incidents.sites_read, ", ");
  if (incidents.incidents.empty()) {
    b.Paragraph("No failover or failback is recorded in " + from + ".");
  } else {
    b.Paragraph("The failovers and failbacks recorded in " + from +
                ", newest first, each in "
                "its newest state (`lifeboat failover history` has them all). Achieved RTO: "
                "from the incident's start to the service switched; data loss: from the failure "
                "to the restored snapshot.");
  }
  std::vector<std::vector<std::string>> rows;
  for (const IncidentEntry& e : incidents.incidents) {
    const IncidentRecord& r = e.record;
    const std::vector<std::string> head = {
        internal::DrillTimeUtc(r.start_ns), std::string(IncidentKindName(r.kind)),
        std::string(IncidentStateName(r.state)), r.from_site + " → " + r.to_site, r.declared_by};
    if (r.services.empty()) {
      std::vector<std::string> row = head;
      row.insert(row.end(), {"-", "-", "-", "-"});
      rows.push_back(std::move(row));
    }
    for (size_t i = 0; i < r.services.size(); ++i) {
      const IncidentService& s = r.services[i];
      std::vector<std::string> row =
          i == 0 ? head : std::vector<std::string>(head.size(), std::string());
      row.insert(row.end(), {s.service, s.result + (s.error.empty() ? "" : ": " + s.error),
                             IncidentRtoText(s), IncidentDataLossText(s)});
      rows.push_back(std::move(row));
    }
  }
  if (!rows.empty()) {
    b.Table({"started (UTC)", "kind", "state", "from → to", "declared by", "service", "result",
             "achieved RTO / target", "data loss / RPO"},
            rows);
  }
  if (!incidents.warnings.empty()) {
    b.Paragraph("Not read (their incident records are missing above):");
    b.List(incidents.warnings);
  }
}

}  // namespace

Result<Runbook> BuildRunbook(const plan::Plan& plan, const DrillHistory& history,
                             const RunbookOptions& options, const IncidentHistory& incidents) {
  LB_ASSIGN_OR_RETURN(std::vector<recover::Wave> waves, recover::RecoveryWaves(plan, {}));
  const std::string plan_path = options.plan_path.empty() ? plan.file : options.plan_path;
  Runbook book;
  book.title = "Disaster recovery runbook";
  book.warnings = history.warnings;
  book.warnings.insert(book.warnings.end(), incidents.warnings.begin(), incidents.warnings.end());
  Builder b(&book);
  b.Heading(1, book.title);
  b.Paragraph("Generated at " + internal::DrillTimeUtc(history.now_ns) + " UTC from the plan " +
              plan_path +
              " and the drill and incident records of its sites, following the contingency plan "
              "structure of NIST SP 800-34: supporting information, activation and notification, "
              "recovery, reconstitution, appendices.");
  SupportingInformation(plan, plan_path, b);
  ActivationAndNotification(plan, waves, plan_path, b);
  Recovery(plan, waves, options, b);
  Reconstitution(plan, plan_path, b);
  Appendices(plan, history, b);
  IncidentAppendix(incidents, b);
  return book;
}

Result<Runbook> ReadRunbook(const plan::Plan& plan, const RunbookOptions& options) {
  DrillHistoryOptions o;
  o.context = options.context;
  LB_ASSIGN_OR_RETURN(DrillHistory history, ReadDrillHistory(plan, o));
  IncidentHistoryOptions io;
  io.context = options.context;
  LB_ASSIGN_OR_RETURN(IncidentHistory incidents, ReadIncidentHistory(plan, io));
  return BuildRunbook(plan, history, options, incidents);
}

}  // namespace lifeboat::dr
