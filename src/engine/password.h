// Where a repository's password comes from, as one value that the CLI, the plan file and the
// daemon all hand to the engine (engine/open.h). The password itself is read only when the
// repository is opened, and never appears in messages, logs or child environments.
//
//   PasswordSource pw = PasswordSource::File("/etc/lifeboat/site-a.pass");
//   LB_ASSIGN_OR_RETURN(std::string password, ResolvePassword(pw, ctx));
//
// Interactive prompting is the CLI's business (it needs a terminal): it passes a kAsk source.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

// How long a password command may run before it is stopped (doc/design.md, "Child processes").
inline constexpr std::chrono::seconds kPasswordCommandTimeout{60};

struct PasswordSource {
  enum class Kind {
    kNone,         // no password given: ResolvePassword says how to give one
    kValue,        // the password itself (LIFEBOAT_PASSWORD, a test, a secret store)
    kFile,         // the first line of a file
    kCommand,      // the first line a shell command prints (--password-command)
    kEnvironment,  // the value of an environment variable, read when resolved
    kAsk,          // the answer of `ask`, called only when the password is needed (the CLI's
                   // terminal prompt: nobody is asked for the password of a missing repository)
  };
  Kind kind = Kind::kNone;
  // The password (kValue), the file's path (kFile), the command (kCommand) or the variable's
  // name (kEnvironment).
  std::string text;
  // kAsk: returns the password or why there is none. Called on the resolving thread.
  std::function<Result<std::string>()> ask;
  // kCommand: stopped (and an error) after this long.
  std::chrono::nanoseconds command_timeout = kPasswordCommandTimeout;

  static PasswordSource Value(std::string password) { return Of(Kind::kValue, std::move(password)); }
  static PasswordSource File(std::string path) { return Of(Kind::kFile, std::move(path)); }
  static PasswordSource Command(std::string command) {
    return Of(Kind::kCommand, std::move(command));
  }
  static PasswordSource Environment(std::string variable) {
    return Of(Kind::kEnvironment, std::move(variable));
  }
  static PasswordSource Ask(std::function<Result<std::string>()> ask) {
    PasswordSource s = Of(Kind::kAsk, "");
    s.ask = std::move(ask);
    return s;
  }
  bool given() const { return kind != Kind::kNone; }
  // For messages: "password file /etc/x.pass", "password command", "environment variable
  // LIFEBOAT_PASSWORD", "password given directly", "no password". Never the password.
  std::string Describe() const;

 private:
  static PasswordSource Of(Kind kind, std::string text) {
    PasswordSource s;
    s.kind = kind;
    s.text = std::move(text);
    return s;
  }
};

// Reads the password. Every failure is InvalidArgument (a setting to fix) naming the source:
// no source; an unreadable file; a file or variable whose first line is empty (no key can have an
// empty password); an unset variable; a command that fails, prints nothing or outruns its
// timeout. A command is run through util/subprocess.h (own process group, no Lifeboat secret in
// its environment, stdin /dev/null) and stopped when ctx is cancelled (Cancelled) or its deadline
// passes (DeadlineExceeded). Only the first line counts (a trailing "\r" is dropped).
// Thread-safe; blocks while a command runs.
Result<std::string> ResolvePassword(const PasswordSource& source, const Context& ctx);

}  // namespace lifeboat
