// `lifeboat runbook` as library calls (doc/runbook.md): the contingency plan people follow in a
// disaster, in the structure of NIST SP 800-34's information system contingency plan (supporting
// information; activation and notification; recovery; reconstitution; appendices), generated
// from the plan and from the drill and incident records in its sites, so it is never out of date.
// For each service, in recovery-wave order, it gives the exact shell commands that recover it by
// hand on a fresh machine from each of its sites: where the repository password comes from (never
// the secret), `lifeboat snapshots` and `lifeboat restore latest --service S --source X`,
// pg_restore for a PostgreSQL dump, the plan's recover steps with their environment, and the verify
// checks.
//
//   LB_ASSIGN_OR_RETURN(Runbook book, ReadRunbook(plan, {.context = ctx}));
//   std::cout << RunbookMarkdown(book);
//
// Every command block starts with a marker line, `# lifeboat-runbook: site=S part=prepare` or
// `# lifeboat-runbook: service=N [site=S] part=env|restore|start|verify`, so that a block can be
// found (and a test can run the blocks of one site in order; doc/runbook.md, "Running the
// commands").
//
// ReadRunbook blocks on the sites (their drill and incident records, through ReadDrillHistory
// and ReadIncidentHistory); everything else is pure. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dr/drill_history.h"
#include "dr/incident_history.h"
#include "plan/plan.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

// One part of the document; the renderers turn it into Markdown or HTML.
struct RunbookBlock {
  enum class Kind { kHeading, kParagraph, kList, kTable, kCommands };
  Kind kind = Kind::kParagraph;
  int level = 1;                                // kHeading: 1..4
  std::string text;                             // kHeading, kParagraph; kCommands: the commands
  std::vector<std::string> items;               // kList
  std::vector<std::string> headers;             // kTable
  std::vector<std::vector<std::string>> rows;   // kTable
  std::string marker;                           // kCommands: "service=shop site=offsite part=restore"
};

struct Runbook {
  std::string title;
  std::vector<RunbookBlock> blocks;
  // For people: a site whose drill records could not be read (the appendix lacks them), and the
  // like. The renderers show them in the appendix as well.
  std::vector<std::string> warnings;
};

struct RunbookOptions {
  Context context = {};  // stops the reads; its clock gives "now"
  // The plan's path as the runbook's commands name it (`lifeboat run --plan ...`); empty: the
  // plan's own `file`.
  std::string plan_path = {};
  // The default recovery directory of the commands (`RECOVERY_DIR`, which the reader may set
  // before running them): services are restored into $RECOVERY_DIR/services/<service>.
  std::string recovery_dir = "/var/tmp/lifeboat-recovery";
};

// The runbook of `plan` at `history.now_ns`, with the drill results of `history` (from
// ReadDrillHistory or BuildDrillHistory) and the failovers and failbacks of `incidents` (from
// ReadIncidentHistory or BuildIncidentHistory; appendix C); the warnings of both become the
// runbook's. Errors: those of RecoveryWaves (an unvalidated plan with a dependency cycle).
Result<Runbook> BuildRunbook(const plan::Plan& plan, const DrillHistory& history,
                             const RunbookOptions& options, const IncidentHistory& incidents = {});

// Reads the drill records of every service from every site and the incident records of every
// site (a site that cannot be read is a warning naming it, not an error) and builds the runbook.
Result<Runbook> ReadRunbook(const plan::Plan& plan, const RunbookOptions& options);

// The formats. Markdown: command blocks fenced as ```sh; every plan string outside a command
// block has & < > written as entities and | escaped in tables, so no renderer takes it for HTML.
// HTML: one self-contained page (src/report): no script, nothing fetched, every string escaped.
std::string RunbookMarkdown(const Runbook& book);
std::string RunbookHtml(const Runbook& book);

}  // namespace lifeboat::dr
