#include "sources/source.h"

#include "archiver/exclude.h"
#include "sources/deadline.h"

namespace lifeboat {

namespace {

using sources_internal::BoundByDeadline;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

Result<BackupResult> BackupPaths(Repository& repo, const PathsSource& src, BackupOptions o) {
  if (src.paths.empty()) return Status::InvalidArgument("the paths source lists no paths");
  o.paths = src.paths;
  o.excludes = src.exclude;
  for (const std::string& file : src.exclude_files) {
    LB_ASSIGN_OR_RETURN(std::vector<std::string> patterns, ReadExcludeFile(file));
    o.excludes.insert(o.excludes.end(), patterns.begin(), patterns.end());
  }
  o.one_file_system = src.one_file_system;
  if (o.source) {
    SourceRestore& r = o.source->restore;
    r = SourceRestore();
    r.method = "restore";
    for (const std::string& p : src.paths) r.files.push_back(CleanPath(p));
  }
  return RunBackup(repo, o);
}

Result<BackupResult> BackupCommand(Repository& repo, const std::string& name,
                                   const CommandSource& src, BackupOptions o) {
  if (src.argv.empty() || src.argv[0].empty())
    return Status::InvalidArgument("the command source has no command");
  CommandSource command = src;
  if (command.filename.empty()) command.filename = name + ".out";
  command.stdin_mode = SubprocessStdin::kNull;  // a scheduled run has no terminal to give
  command.timeout = BoundByDeadline(o.context, src.timeout);
  if (o.source) {
    SourceRestore& r = o.source->restore;
    r = SourceRestore();
    r.method = "file";
    std::string path = command.filename.starts_with("/") ? command.filename
                                                         : "/" + command.filename;
    r.files = {path};
    r.notes = "The standard output of `" + src.argv[0] + "`, as one file.";
  }
  auto result = RunCommandBackup(repo, command, o);
  if (result.ok()) return result;
  // Name the command as the plan wrote it: the shell's argument, else the argv.
  std::string shown;
  if (src.argv.size() == 3 && src.argv[1] == "-c") {
    shown = src.argv[2];
  } else {
    for (const std::string& a : src.argv) shown += (shown.empty() ? "" : " ") + a;
  }
  return result.status().WithContext("running `" + shown + "`");
}

}  // namespace

std::string_view SourceKind(const SourceSpec& spec) {
  return std::visit(Overloaded{[](const PathsSource&) { return std::string_view("paths"); },
                               [](const CommandSource&) { return std::string_view("command"); },
                               [](const PostgresSource&) { return std::string_view("postgres"); },
                               [](const SqliteSource&) { return std::string_view("sqlite"); }},
                    spec.config);
}

Result<SourceResult> BackupSource(Repository& repo, const SourceSpec& spec,
                                  const SourceOptions& options) {
  const std::string kind(SourceKind(spec));
  const std::string what =
      "service " + options.service + ", source " + spec.name + " (" + kind + ")";
  if (options.service.empty())
    return Status::InvalidArgument("a source backed up for no service (" + spec.name + ")");
  if (spec.name.empty())
    return Status::InvalidArgument("service " + options.service + ": a " + kind +
                                   " source has no name");
  BackupOptions o = options.backup;
  o.paths.clear();
  o.excludes.clear();
  o.one_file_system = false;
  o.service = options.service;
  o.source = SnapshotSource{.name = spec.name, .kind = kind, .restore = {}, .unknown = {}};
  Result<BackupResult> result = std::visit(
      Overloaded{
          [&](const PathsSource& s) { return BackupPaths(repo, s, o); },
          [&](const CommandSource& s) { return BackupCommand(repo, spec.name, s, o); },
          [&](const PostgresSource& s) { return BackupPostgres(repo, s, o); },
          [&](const SqliteSource& s) { return BackupSqlite(repo, s, o); },
      },
      spec.config);
  if (!result.ok()) return result.status().WithContext(what);
  return SourceResult{.kind = kind, .backup = std::move(*result)};
}

}  // namespace lifeboat
