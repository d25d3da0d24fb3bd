// Backing up what a command prints (a database dump, `pg_dump mydb`) as one file of a snapshot.
// The CLI's `backup --stdin-from-command` and the plan's command sources both come here, so no
// caller starts the process itself.
//
//   CommandSource dump{.argv = {"pg_dump", "mydb"}, .filename = "mydb.sql"};
//   LB_ASSIGN_OR_RETURN(BackupResult r, RunCommandBackup(repo, dump, options));
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "archiver/archiver.h"
#include "util/subprocess.h"

namespace lifeboat {

struct CommandSource {
  std::vector<std::string> argv;  // argv[0] looked up in PATH unless it holds a '/'
  std::string filename;           // the file's name in the snapshot
  // The CLI passes its own stdin on (a dump command may prompt); a scheduler gives /dev/null.
  SubprocessStdin stdin_mode = SubprocessStdin::kNull;
  std::chrono::milliseconds timeout{0};     // 0: none; past it the command is stopped
  std::vector<std::string> pass_secrets;  // secret variables it gets on purpose (subprocess.h)
  // Variables set for it on purpose (SubprocessOptions::environment), e.g. PGPASSWORD.
  std::vector<std::pair<std::string, std::string>> environment;
};

// Starts the command through util/subprocess.h (own process group, an environment without
// Lifeboat's secrets, stopped on timeout and when options.context is cancelled) and backs up its standard
// output with RunStreamBackup. No snapshot is written when the command cannot be started, exits
// non-zero, is killed or times out: the error names the command and says so. The process is
// stopped on every exit path. Blocks until the command has ended.
Result<BackupResult> RunCommandBackup(Repository& repo, const CommandSource& command,
                                      const BackupOptions& options);

}  // namespace lifeboat
