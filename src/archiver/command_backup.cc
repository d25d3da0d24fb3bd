#include "archiver/command_backup.h"

namespace lifeboat {

Result<BackupResult> RunCommandBackup(Repository& repo, const CommandSource& command,
                                      const BackupOptions& options) {
  if (command.argv.empty() || command.argv[0].empty())
    return Status::InvalidArgument("no command given to back up the output of");
  SubprocessOptions o;
  o.argv = command.argv;
  o.description = "command '" + command.argv[0] + "'";
  o.stdin_mode = command.stdin_mode;
  o.timeout = command.timeout;
  o.pass_secrets = command.pass_secrets;
  o.environment = command.environment;
  o.cancel = options.context.cancel_flag();
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> child, Subprocess::Start(o));
  auto finish = [&child]() -> Status {
    Status st = child->Wait();
    if (st.ok()) return st;
    return Status(st.code(), st.message() + "; no snapshot was written");
  };
  // The Subprocess destructor stops the group if the backup returns before `finish` ran.
  return RunStreamBackup(repo, child->stdout_fd(), command.filename, options, finish);
}

}  // namespace lifeboat
