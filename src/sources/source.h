// Sources: one call per source of a service of the plan (doc/sources.md). `lifeboat run` maps
// each source of the plan onto a SourceSpec and calls BackupSource, which makes one snapshot
// carrying the service, the source's name and kind, and how to restore it (format §9.1).
//
//   SqliteSource db; db.path = "/srv/app/app.db";
//   SourceSpec spec{.name = "appdb", .config = db};
//   SourceOptions o; o.service = "billing"; o.backup.lock = lock.get(); o.backup.context = ctx;
//   LB_ASSIGN_OR_RETURN(SourceResult r, BackupSource(repo, spec, o));
//   // r.backup.snapshot_id, r.backup.snapshot.source->restore.method == "copy_file"
//
// Every kind goes through the archiver's library API (RunBackup, RunStreamBackup,
// RunCommandBackup): no kind writes to the repository another way. A failed source writes no
// snapshot and its error names the service and the source. Blocks; the caller's thread.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "archiver/archiver.h"
#include "archiver/command_backup.h"
#include "sources/postgres_source.h"
#include "sources/sqlite_source.h"

namespace lifeboat {

// `paths`: files and directories, as `backup` takes them.
struct PathsSource {
  std::vector<std::string> paths;
  std::vector<std::string> exclude;        // glob patterns (archiver/exclude.h)
  std::vector<std::string> exclude_files;  // files of patterns (ReadExcludeFile)
  bool one_file_system = false;
};

// `command`: CommandSource (archiver/command_backup.h): argv, the file name in the snapshot
// (empty: "<source name>.out"), timeout (bounded by the context's deadline too), and the
// variables it gets on purpose. Its stdin is /dev/null whatever stdin_mode says.

struct SourceSpec {
  // The source's name within its service: the plan's name, else its kind; unique per service
  // (the caller makes it so). Written as the snapshot's source.name. Must not be empty.
  std::string name;
  std::variant<PathsSource, CommandSource, PostgresSource, SqliteSource> config;
};

// "paths", "command", "postgres" or "sqlite": the snapshot's source.kind.
std::string_view SourceKind(const SourceSpec& spec);

struct SourceOptions {
  // The plan's service (written as the snapshot's `service`). Must not be empty; valid UTF-8.
  std::string service;
  // Everything a backup takes besides what the source decides: host, tags, lock, context,
  // progress, on_issue, on_missing_packs, workers, parent/no_parent, dry_run. Its paths,
  // excludes, one_file_system, service and source are set by BackupSource and replaced.
  BackupOptions backup;
};

struct SourceResult {
  std::string kind;     // as SourceKind
  BackupResult backup;  // snapshot_id, the snapshot (with service and source), phases, ...
};

// Backs up one source into one snapshot: paths -> RunBackup (exclude, exclude_file patterns,
// one_file_system); command -> RunCommandBackup; postgres -> BackupPostgres; sqlite ->
// BackupSqlite. Errors keep their code; the message starts with "service S, source N (kind):".
// InvalidArgument for a spec that cannot work (no name, no service, no paths, no argv, a bad
// exclude pattern or file) before anything runs.
Result<SourceResult> BackupSource(Repository& repo, const SourceSpec& spec,
                                  const SourceOptions& options);

}  // namespace lifeboat
