// lifeboat init: creates a repository.
#include "cli/common.h"

namespace lifeboat::cli {

void RegisterInit(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("init", "create a new repository");
  auto opts = std::make_shared<InitOptions>();
  cmd->add_option("--compression", opts->compression_level, "zstd level for new data (default 3)")
      ->check(CLI::Range(-7, 22));
  auto pack_mib = std::make_shared<uint64_t>(16);
  cmd->add_option("--pack-size", *pack_mib, "target pack size in MiB (default 16)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--append-only", opts->append_only,
                "make the repository append-only for good: no key may ever remove data "
                "(forget/prune refused; see doc/append-only.md)");
  cmd->callback([&g, runner, opts, pack_mib] {
    opts->pack_size = *pack_mib << 20;
    *runner = [&g, opts]() -> int {
      auto backend = OpenRepositoryBackend(g, true);
      if (!backend.ok()) return ReportError(g, backend.status());
      if ((*backend)->HasConfig())
        return ReportError(g, Status::AlreadyExists((*backend)->Location() +
                                                    " already holds a Lifeboat repository"));
      auto password = GetPassword(g, true, "enter password for new repository: ");
      if (!password.ok()) return ReportError(g, password.status());
      auto repo = Repository::Init(std::move(*backend), *password, *opts);
      if (!repo.ok()) return ReportError(g, repo.status());
      if (g.json) {
        PrintJson({{"message_type", "initialized"},
                   {"id", (*repo)->config().id.Hex()},
                   {"repository", (*repo)->backend().Location()}});
      } else {
        Say(g, "created Lifeboat repository " + (*repo)->config().id.Short() + " at " +
                   (*repo)->backend().Location());
        Say(g, "Please note that knowledge of your password is required to access the "
               "repository. Losing your password means that your data is irrecoverably lost.");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
