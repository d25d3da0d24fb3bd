// A live SQLite database, backed up consistently while its application keeps writing
// (doc/sources.md, "sqlite"): SQLite's online backup API copies it into a private temporary
// file, `PRAGMA integrity_check` checks the copy, and the copy is stored at the database's own
// absolute path in the snapshot. Never a raw copy of the live file.
//
//   SqliteSource db; db.path = "/srv/app/app.db";
//   LB_ASSIGN_OR_RETURN(BackupResult r, BackupSqlite(repo, db, options));
//
// Threads: runs on the caller's thread (RunStreamBackup's workers aside). The temporary
// directory is removed on every exit path.
#pragma once

#include <chrono>
#include <string>

#include "archiver/archiver.h"
#include "util/context.h"

namespace lifeboat {

struct SqliteSource {
  std::string path;  // the live database; made absolute and cleaned (CleanPath)
  // Total time spent waiting for a database that another connection keeps locked
  // (SQLITE_BUSY/SQLITE_LOCKED), on the context's clock; past it the source fails
  // (Unavailable). The context's deadline and cancel stop the wait sooner.
  std::chrono::milliseconds busy_limit = std::chrono::minutes(10);
  // Pages copied per step of the online backup between which the application may write. After
  // a write restarted the copy, the rest is copied in one step (see CopySqliteDatabase).
  int pages_per_step = 256;
};

// How a copy went, for tests and progress.
struct SqliteCopyStats {
  int steps = 0;          // sqlite3_backup_step calls that copied pages
  int restarts = 0;       // times a write by another connection restarted the copy
  int busy_retries = 0;   // SQLITE_BUSY/LOCKED answers waited out
  int64_t pages = 0;      // pages in the copy
};

// Copies the live database `source.path` into `dest` (a new file, mode 0600) with
// sqlite3_backup_init/step/finish: `pages_per_step` pages per step. A write by another
// connection between steps makes SQLite restart the copy; the copy then takes the rest in one
// step, holding a read transaction so it completes (a rollback-journal database's writers wait
// on their busy timeout meanwhile; a WAL database's writers are not blocked). SQLITE_BUSY and
// SQLITE_LOCKED are retried with a backoff of 5 ms doubling to 100 ms on the context's clock, for
// at most `busy_limit` in all: a writer that never lets go makes it fail with Unavailable. Then
// runs `PRAGMA integrity_check` on the copy: Corruption with SQLite's first findings unless it
// says "ok". Errors: NotFound (no such file), InvalidArgument (not a database), Unavailable,
// Corruption, Cancelled / DeadlineExceeded (the context), IOError. The source is opened
// read-only. Blocks.
Status CopySqliteDatabase(const SqliteSource& source, const std::string& dest,
                          const Context& context, SqliteCopyStats* stats = nullptr);

// Copies the database (CopySqliteDatabase, into a private temporary directory under $TMPDIR or
// /tmp, mode 0700, removed on every exit path) and stores the copy with RunStreamBackup at the
// database's absolute path ("/srv/app/app.db"). With `options.read_root` (as for path sources:
// a failback's final backup from a recovery root) the database is read below it
// ("/srv/dr/srv/app/app.db") and still recorded at its own path; a symbolic link below the root
// is not followed (InvalidArgument). `options.source`, when set, gets its restore information
// (SqliteRestoreInfo) before the snapshot is written. No snapshot when any step fails.
Result<BackupResult> BackupSqlite(Repository& repo, const SqliteSource& source,
                                  BackupOptions options, SqliteCopyStats* stats = nullptr);

// The restore information of a database backed up from `path` (format §9.1): method
// "copy_file", the file, the original path, the SQLite library's version, `cp {file} <path>`,
// and the note about the old -wal/-shm/-journal files.
SourceRestore SqliteRestoreInfo(const std::string& path);

}  // namespace lifeboat
