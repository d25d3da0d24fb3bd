// lifeboat key: manages the password-wrapped key files (doc/repository-format.md §2.2).
//   key list            table of keys; the one the current password opened is marked with *
//   key add             adds a key for a new password (shared lock)
//   key remove ID       removes another key (exclusive lock; never the key in use)
//   key passwd          adds a key for a new password, then removes the current one (exclusive)
// The current password comes from the usual sources (--password-file, LIFEBOAT_PASSWORD, ...);
// the new one from --new-password-file, --new-password-command or a prompt on the terminal.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/common.h"

namespace lifeboat::cli {

namespace {

struct NewPasswordFlags {
  std::string file;
  std::string command;
  bool append_only = false;  // key add only
};

// Reads the new password. Runs before any lock is taken (so no other thread is running): the
// prompt path clears the LIFEBOAT_PASSWORD* variables, which hold the *current* password and
// would otherwise be returned by GetPassword again.
Result<std::string> GetNewPassword(const NewPasswordFlags& f) {
  std::string pw;
  if (!f.file.empty()) {
    GlobalOptions from_file;
    from_file.password_file = f.file;
    LB_ASSIGN_OR_RETURN(pw, GetPassword(from_file, false));
  } else if (!f.command.empty()) {
    LB_ASSIGN_OR_RETURN(pw, ResolvePassword(PasswordSource::Command(f.command), CliContext()));
  } else {
    if (!isatty(STDIN_FILENO))
      return Status::InvalidArgument(
          "no new password given: use --new-password-file or --new-password-command (stdin is "
          "not a terminal, so Lifeboat cannot ask)");
    ::unsetenv("LIFEBOAT_PASSWORD");
    ::unsetenv("LIFEBOAT_PASSWORD_FILE");
    ::unsetenv("LIFEBOAT_PASSWORD_COMMAND");
    LB_ASSIGN_OR_RETURN(pw, GetPassword(GlobalOptions{}, true, "enter new password: "));
  }
  if (pw.empty()) return Status::InvalidArgument("an empty password is not allowed");
  return pw;
}

// Resolves a unique prefix of a key name.
Result<std::string> ResolveKey(Backend& backend, const std::string& ref) {
  std::string prefix = ref;
  for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (prefix.empty() || prefix.size() > 64 ||
      prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Status::InvalidArgument("'" + ref +
                                   "' is not a key id; give its id or a unique prefix "
                                   "(see `lifeboat key list`)");
  std::vector<std::string> matches;
  LB_RETURN_IF_ERROR(backend.List(ObjectType::kKey, prefix, [&](const ObjectInfo& info) {
    matches.push_back(info.name);
    return Status::Ok();
  }));
  if (matches.empty()) return Status::NotFound("no key id starts with '" + prefix + "'");
  if (matches.size() > 1)
    return Status::InvalidArgument("key id prefix '" + prefix + "' is ambiguous (" +
                                   std::to_string(matches.size()) +
                                   " keys match); give more characters");
  return matches[0];
}

std::string Short(const std::string& name) { return name.substr(0, 8); }

std::string CreatedLocal(const std::string& created) {
  auto t = ParseTime(created);
  return t.ok() ? FormatLocalTime(*t) : created;
}

int RunList(const GlobalOptions& g) {
  auto repo = OpenRepository(g);
  if (!repo.ok()) return ReportError(g, repo.status());
  auto keys = ListKeys((*repo)->backend());
  if (!keys.ok()) return ReportError(g, keys.status());
  const std::string& current = (*repo)->key_name();
  if (g.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [name, info] : *keys)
      arr.push_back({{"current", name == current},
                     {"id", name},
                     {"short_id", Short(name)},
                     {"username", info.username},
                     {"hostname", info.hostname},
                     {"created", info.created},
                     {"kdf", info.kdf},
                     {"n", info.params.n},
                     {"r", info.params.r},
                     {"p", info.params.p},
                     {"append_only", info.append_only}});
    PrintJson(arr);
    return kExitOk;
  }
  char line[512];
  snprintf(line, sizeof line, " %-9s %-12s %-20s %-20s %s", "ID", "User", "Host", "Created",
           "Rights");
  std::cout << line << "\n" << std::string(64, '-') << "\n";
  for (const auto& [name, info] : *keys) {
    snprintf(line, sizeof line, "%c%-9s %-12s %-20s %-20s %s", name == current ? '*' : ' ',
             Short(name).c_str(), info.username.c_str(), info.hostname.c_str(),
             CreatedLocal(info.created).c_str(), info.append_only ? "append-only" : "full");
    std::cout << line << "\n";
  }
  std::cout << std::string(64, '-') << std::endl;
  return kExitOk;
}

int RunAdd(const GlobalOptions& g, const NewPasswordFlags& f) {
  auto repo = OpenRepository(g);
  if (!repo.ok()) return ReportError(g, repo.status());
  auto pw = GetNewPassword(f);
  if (!pw.ok()) return ReportError(g, pw.status());
  auto lock = LockRepository(g, **repo, LockKind::kShared);
  if (!lock.ok()) return ReportError(g, lock.status());
  bool append_only = f.append_only || (*repo)->append_only();
  auto name = (*repo)->AddKey(*pw, DefaultKdfParams(), append_only);
  if (lock->get()) lock->get()->Release().IgnoreError();
  if (!name.ok()) return ReportError(g, name.status());
  if (g.json)
    PrintJson({{"message_type", "key_added"}, {"id", *name}, {"append_only", append_only}});
  else
    Say(g, "saved new " + std::string(append_only ? "append-only " : "") + "key as " +
               Short(*name));
  return kExitOk;
}

int RunRemove(const GlobalOptions& g, const std::string& ref) {
  auto repo = OpenRepository(g);
  if (!repo.ok()) return ReportError(g, repo.status());
  if (Status st = (*repo)->CheckNotAppendOnly("key remove"); !st.ok()) return ReportError(g, st);
  auto name = ResolveKey((*repo)->backend(), ref);
  if (!name.ok()) return ReportError(g, name.status());
  // Repository::RemoveKey refuses the key in use (no other key is known to open the repository).
  auto lock = LockRepository(g, **repo, LockKind::kExclusive);
  if (!lock.ok()) return ReportError(g, lock.status());
  Status st = (*repo)->RemoveKey(*name);
  if (lock->get()) lock->get()->Release().IgnoreError();
  if (!st.ok()) return ReportError(g, st);
  if (g.json)
    PrintJson({{"message_type", "key_removed"}, {"id", *name}});
  else
    Say(g, "removed key " + Short(*name));
  return kExitOk;
}

int RunPasswd(const GlobalOptions& g, const NewPasswordFlags& f) {
  auto repo = OpenRepository(g);
  if (!repo.ok()) return ReportError(g, repo.status());
  if (Status st = (*repo)->CheckNotAppendOnly("key passwd (it removes the old key)"); !st.ok())
    return ReportError(g, st);
  auto pw = GetNewPassword(f);
  if (!pw.ok()) return ReportError(g, pw.status());
  auto lock = LockRepository(g, **repo, LockKind::kExclusive);
  if (!lock.ok()) return ReportError(g, lock.status());
  std::string old_name = (*repo)->key_name();
  // Add first, remove second: a crash in between leaves two working keys, never none.
  auto name = (*repo)->AddKey(*pw, DefaultKdfParams());
  if (!name.ok()) {
    if (lock->get()) lock->get()->Release().IgnoreError();
    return ReportError(g, name.status().WithContext("adding the new key (nothing changed)"));
  }
  Status st = (*repo)->RemoveKey(old_name);
  if (lock->get()) lock->get()->Release().IgnoreError();
  if (!st.ok())
    return ReportError(g, st.WithContext("new key " + Short(*name) +
                                         " was added, but removing the old key " + Short(old_name) +
                                         " failed (both passwords work; "
                                         "retry with `lifeboat key remove " +
                                         Short(old_name) + "`)"));
  if (g.json) {
    PrintJson({{"message_type", "password_changed"}, {"id", *name}, {"removed", old_name}});
  } else {
    Say(g, "saved new key as " + Short(*name));
    Say(g, "removed old key " + Short(old_name));
  }
  return kExitOk;
}

void AddNewPasswordOptions(CLI::App* cmd, NewPasswordFlags* f) {
  cmd->add_option("--new-password-file", f->file, "read the new password from this file");
  cmd->add_option("--new-password-command", f->command, "run this to get the new password");
}

}  // namespace

void RegisterKey(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("key", "list, add, remove or change passwords (key files)");
  cmd->require_subcommand(1);

  auto* list = cmd->add_subcommand("list", "list keys (* marks the key in use)");
  list->callback([&g, runner] { *runner = [&g]() -> int { return RunList(g); }; });

  auto add_flags = std::make_shared<NewPasswordFlags>();
  auto* add = cmd->add_subcommand("add", "add a key for a new password");
  AddNewPasswordOptions(add, add_flags.get());
  add->add_flag("--append-only", add_flags->append_only,
                "the new key may add data but never remove any (for backup hosts; "
                "doc/append-only.md)");
  add->callback(
      [&g, runner, add_flags] { *runner = [&g, add_flags]() { return RunAdd(g, *add_flags); }; });

  auto remove_id = std::make_shared<std::string>();
  auto* remove = cmd->add_subcommand("remove", "remove a key (not the one in use)");
  remove->add_option("id", *remove_id, "key id or unique prefix")->required();
  remove->callback([&g, runner, remove_id] {
    *runner = [&g, remove_id]() { return RunRemove(g, *remove_id); };
  });

  auto passwd_flags = std::make_shared<NewPasswordFlags>();
  auto* passwd =
      cmd->add_subcommand("passwd", "change the password: add a new key, remove the current one");
  AddNewPasswordOptions(passwd, passwd_flags.get());
  passwd->callback([&g, runner, passwd_flags] {
    *runner = [&g, passwd_flags]() { return RunPasswd(g, *passwd_flags); };
  });
}

}  // namespace lifeboat::cli
