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
  auto replica_of = std::make_shared<SourceRepositoryOptions>();
  cmd->add_option("--replica-of", replica_of->repo,
                  "create a replica of this repository: same master key and chunker parameters "
                  "(own id and password), so `copy` moves packs verbatim between the two");
  AddSourcePasswordOptions(cmd, replica_of.get());
  cmd->callback([&g, runner, opts, pack_mib, replica_of] {
    opts->pack_size = *pack_mib << 20;
    *runner = [&g, opts, replica_of]() -> int {
      if (replica_of->repo.empty() &&
          (!replica_of->password_file.empty() || !replica_of->password_command.empty()))
        return ReportError(g, Status::InvalidArgument(
                                  "--from-password-file/--from-password-command need "
                                  "--replica-of"));
      std::string source_location;
      if (!replica_of->repo.empty()) {
        // Only the config and a key are read from the source; nothing is written there.
        // Opened first, so that a wrong source password leaves no trace at the new location.
        auto source = OpenSourceRepository(g, *replica_of);
        if (!source.ok()) return ReportError(g, source.status());
        opts->replica_of = ReplicaSource{(*source)->config().id, (*source)->master_key(),
                                         (*source)->config().chunker};
        source_location = (*source)->backend().Location();
      }
      auto open = CliOpenOptions(g, std::nullopt);
      if (!open.ok()) return ReportError(g, open.status());
      open->password = PasswordSourceFor(g, true, "enter password for new repository: ");
      auto repo = CreateRepository(*open, *opts);
      if (!repo.ok()) return ReportError(g, repo.status());
      const RepositoryConfig& config = (*repo)->config();
      if (g.json) {
        nlohmann::json j = {{"message_type", "initialized"}, {"id", config.id.Hex()}};
        PutBytes(j, "repository", (*repo)->backend().Location());  // a path: bytes (doc/json.md)
        if (config.replica_of) j["replica_of"] = config.replica_of->Hex();
        PrintJson(j);
      } else {
        Say(g, "created Lifeboat repository " + config.id.Short() + " at " +
                   (*repo)->backend().Location());
        if (config.replica_of)
          Say(g, "It is a replica of " + config.replica_of->Short() + " (" + source_location +
                     "): both share one master key, so `lifeboat copy` moves packs between "
                     "them verbatim, and a password of either repository can decrypt the data "
                     "of both.");
        Say(g, "Please note that knowledge of your password is required to access the "
               "repository. Losing your password means that your data is irrecoverably lost.");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
