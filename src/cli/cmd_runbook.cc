// lifeboat runbook: the disaster-recovery runbook of the plan, from the plan and the drill records
// of its sites (doc/runbook.md), as Markdown (default) or one self-contained HTML page; --out
// writes a file. The mechanism is dr/runbook.h; this file parses flags and prints.
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "dr/runbook.h"
#include "util/file_io.h"

namespace lifeboat::cli {

namespace {

struct RunbookFlags {
  std::string plan;
  std::string format = "md";
  std::string out;
  std::string recovery_dir = "/var/tmp/lifeboat-recovery";
};

int RunRunbook(const GlobalOptions& g, const RunbookFlags& f) {
  if (g.json) {
    return ReportError(g, Status::InvalidArgument(
                              "runbook has no --json form: use --format md or --format html"));
  }
  if (f.recovery_dir.empty() || f.recovery_dir[0] != '/') {
    return ReportError(g, Status::InvalidArgument("--recovery-dir must be an absolute path, not '" +
                                                  f.recovery_dir + "'"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, f.plan);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  dr::RunbookOptions o;
  o.context = CliContext();
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(loaded->plan.file, ec);
  o.plan_path = ec ? loaded->plan.file : absolute.lexically_normal().string();
  o.recovery_dir = f.recovery_dir;
  Result<dr::Runbook> book = dr::ReadRunbook(loaded->plan, o);
  if (!book.ok()) return ReportError(g, book.status());
  const std::string text = f.format == "html" ? dr::RunbookHtml(*book) : dr::RunbookMarkdown(*book);
  // A site that could not be read must not pass unnoticed: its drill records are missing.
  if (!g.quiet)
    for (const std::string& w : book->warnings) std::cerr << "lifeboat: warning: " << w << "\n";
  if (!f.out.empty()) {
    Status st = WriteFileDurably(f.out, AsBytes(text), /*overwrite=*/true);
    if (!st.ok()) return ReportError(g, st.WithContext("--out " + f.out));
    Say(g, "runbook written to " + f.out);
    return kExitOk;
  }
  std::cout << text << std::flush;
  return kExitOk;
}

}  // namespace

void RegisterRunbook(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto flags = std::make_shared<RunbookFlags>();
  auto* cmd = app.add_subcommand(
      "runbook",
      "the disaster-recovery runbook of the plan (NIST SP 800-34 structure): activation, "
      "contacts, the exact commands that recover each service from each site in wave order, "
      "validation, reconstitution, the last drills (doc/runbook.md)");
  AddPlanOption(cmd, &flags->plan);
  cmd->add_option("--format", flags->format,
                  "md (Markdown, the default) or html (one self-contained page)")
      ->check(CLI::IsMember({"md", "html"}));
  cmd->add_option("--out", flags->out, "write to FILE (atomically) instead of standard output")
      ->type_name("FILE");
  cmd->add_option("--recovery-dir", flags->recovery_dir,
                  "the commands' default RECOVERY_DIR, where services are restored "
                  "(default /var/tmp/lifeboat-recovery; the reader can still set RECOVERY_DIR)")
      ->type_name("DIR");
  cmd->callback([&g, runner, flags] { *runner = [&g, flags] { return RunRunbook(g, *flags); }; });
}

}  // namespace lifeboat::cli
