// Processes a failover leaves running (doc/failover.md, "Failover", step 7): started in a
// session and process group of their own (so no signal to Lifeboat's terminal or group reaches
// them, and the session's clean-up does not stop them), with standard input /dev/null and their
// output appended to a log file, and not watched by the session's ProcessGuard: they outlive
// the command. What is needed to stop them later is returned as a LeftRunning.
//
//   SubprocessOptions o;  o.argv = {"/usr/bin/python3", "serve.py"};  o.environment = env;
//   LB_ASSIGN_OR_RETURN(LeftRunning lr,
//                       StartDetached(o, "shop", "command 'serve.py' (background)", log));
//
// Uses options.argv, environment (Lifeboat's secrets removed as util/subprocess.h does),
// pass_secrets, working_directory and description; not timeout, cancel or the capture. Any
// thread; does not block beyond starting the program.
#pragma once

#include <string>

#include "recover/left_running.h"
#include "util/status.h"
#include "util/subprocess.h"

namespace lifeboat::recover {

// Starts the program; the log file is created (mode 0600) or appended to. Errors: the log file
// cannot be opened, the program cannot be started (naming it and the working directory).
Result<LeftRunning> StartDetached(const SubprocessOptions& options, const std::string& service,
                                  const std::string& what, const std::string& log_path);

// The last `max_bytes` of a log file, trimmed (TrimOutput); "" when it cannot be read.
std::string LogTail(const std::string& log_path, size_t max_bytes = 16384);

}  // namespace lifeboat::recover
