#include "sources/sqlite_source.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>

namespace lifeboat {

namespace {

using std::chrono::milliseconds;

// A directory only this process's user can enter (mkdtemp: mode 0700), removed with everything
// in it when the object goes (every exit path of BackupSqlite).
class PrivateTempDir {
 public:
  static Result<std::unique_ptr<PrivateTempDir>> Make(const std::string& prefix) {
    const char* tmp = ::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      return PosixError("making a private temporary directory " + pattern);
    return std::unique_ptr<PrivateTempDir>(new PrivateTempDir(pattern));
  }
  ~PrivateTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit PrivateTempDir(std::string path) : path_(std::move(path)) {}
  const std::string path_;
};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

std::string Describe(sqlite3* db, int rc) {
  std::string out = sqlite3_errstr(rc);
  if (db != nullptr) {
    std::string msg = sqlite3_errmsg(db);
    if (!msg.empty() && msg != out) out += ": " + msg;
  }
  return out;
}

Result<Db> Open(const std::string& path, int flags, const std::string& what) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    return Status::IOError("opening " + what + " " + path + ": " + Describe(raw, rc));
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Runs `PRAGMA integrity_check` on `db`: OK when SQLite answers "ok"; otherwise Corruption with
// its first findings.
Status IntegrityCheck(sqlite3* db, const std::string& what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (rc != SQLITE_OK)
    return Status::Corruption("checking " + what + ": " + Describe(db, rc));
  std::vector<std::string> lines;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    lines.push_back(text ? reinterpret_cast<const char*>(text) : "");
  }
  if (rc != SQLITE_DONE)
    return Status::Corruption("checking " + what + ": " + Describe(db, rc));
  if (lines.size() == 1 && lines[0] == "ok") return Status::Ok();
  std::string found;
  for (size_t i = 0; i < lines.size() && i < 5; ++i) found += (i ? "; " : "") + lines[i];
  return Status::Corruption("PRAGMA integrity_check of " + what + " failed (" + found +
                            "): the database is damaged; nothing was stored");
}

std::string FormatLimit(milliseconds d) {
  if (d.count() % 60000 == 0) return std::to_string(d.count() / 60000) + "m";
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// Where the database recorded at `path` (clean, absolute) is read: below `read_root`
// (BackupOptions::read_root; "" or "/" for none), as path sources are read. No symbolic link
// below the root is followed, not even among the leading components, as for path sources: one
// written at the recovery site could point out of it. A component that does not exist is left to
// CopySqliteDatabase (NotFound, naming the path as read).
Result<std::string> ReadPathOf(const std::string& read_root, const std::string& path) {
  if (read_root.empty()) return path;
  if (read_root[0] != '/')
    return Status::InvalidArgument("the read root '" + read_root +
                                   "' is not an absolute path: give it from /");
  const std::string root = CleanPath(read_root);
  if (root == "/") return path;
  std::string read = root;
  for (size_t start = 1; start < path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    read += "/" + path.substr(start, slash - start);
    struct stat st;
    if (::lstat(read.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return Status::InvalidArgument(read + " is a symbolic link below the read root " + root +
                                     ": it is not followed (it could point out of the root)");
    start = slash + 1;
  }
  return read;
}

}  // namespace

Status CopySqliteDatabase(const SqliteSource& source, const std::string& dest,
                          const Context& context, SqliteCopyStats* stats) {
  SqliteCopyStats local;
  SqliteCopyStats& st = stats ? *stats : local;
  const std::string what = "SQLite database " + source.path;
  struct stat info;
  if (::stat(source.path.c_str(), &info) != 0) {
    if (errno == ENOENT)
      return Status::NotFound(what + " does not exist (check the source's path)");
    return PosixError(what);
  }
  if (!S_ISREG(info.st_mode)) return Status::InvalidArgument(what + " is not a regular file");

  // Read-only: we never write to the live database, nor create a journal beside it.
  LB_ASSIGN_OR_RETURN(Db src, Open(source.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                   "the SQLite database"));
  // Made here, mode 0600, before SQLite opens it.
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return PosixError("creating the copy " + dest);
  ::close(fd);
  LB_ASSIGN_OR_RETURN(Db dst, Open(dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                   "the copy of the SQLite database"));

  sqlite3_backup* backup = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (backup == nullptr)
    return Status::IOError("starting the online backup of " + what + ": " +
                           sqlite3_errmsg(dst.get()));
  // sqlite3_backup_finish on every path; its result matters only after the last step.
  auto finish = [&backup]() -> int {
    int rc = backup ? sqlite3_backup_finish(backup) : SQLITE_OK;
    backup = nullptr;
    return rc;
  };
  struct Finisher {
    std::function<int()> f;
    ~Finisher() { f(); }
  } finisher{finish};

  Clock& clock = context.clock();
  const int64_t limit_ns = std::chrono::nanoseconds(source.busy_limit).count();
  int64_t waited_ns = 0;
  milliseconds backoff(5);
  int pages = std::max(1, source.pages_per_step);
  int remaining_before = -1;
  for (;;) {
    LB_RETURN_IF_ERROR(context.Check("backing up " + what));
    int rc = sqlite3_backup_step(backup, pages);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) {
      st.steps++;
      int remaining = sqlite3_backup_remaining(backup);
      if (remaining_before >= 0 && remaining > remaining_before - pages && pages > 0) {
        // Another connection wrote between steps and SQLite started the copy over. Copy the
        // rest in one step: one read transaction, so no write can restart it again.
        st.restarts++;
        pages = -1;
      }
      remaining_before = remaining;
      continue;
    }
    if (IsBusy(rc)) {
      if (waited_ns >= limit_ns)
        return Status::Unavailable(
            what + " stayed locked for " + FormatLimit(source.busy_limit) +
            ": another process holds a lock on it and does not let go (a long write "
            "transaction, or a program that keeps it locked); nothing was stored. Find that "
            "process (fuser " + source.path + "), or raise the source's busy limit");
      st.busy_retries++;
      int64_t wait_ns =
          std::min<int64_t>(std::chrono::nanoseconds(backoff).count(), limit_ns - waited_ns);
      int64_t before = clock.MonotonicNs();
      LB_RETURN_IF_ERROR(
          context.SleepFor(std::chrono::nanoseconds(wait_ns), "waiting for " + what));
      waited_ns += std::max<int64_t>(clock.MonotonicNs() - before, wait_ns);
      // Short waits: a rollback-journal database that is written continuously is unlocked
      // only between its writer's transactions, and only a try in such a gap gets through.
      backoff = std::min(backoff * 2, milliseconds(100));
      continue;
    }
    int primary = rc & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
      return Status::InvalidArgument(what + " cannot be backed up: " + Describe(src.get(), rc) +
                                     " (is it an SQLite database?)");
    return Status::IOError("backing up " + what + ": " + Describe(dst.get(), rc));
  }
  st.pages = sqlite3_backup_pagecount(backup);
  int rc = finish();
  if (rc != SQLITE_OK)
    return Status::IOError("finishing the backup of " + what + ": " + Describe(dst.get(), rc));
  src.reset();
  return IntegrityCheck(dst.get(), "the copy of " + what);
}

SourceRestore SqliteRestoreInfo(const std::string& path) {
  SourceRestore r;
  r.method = "copy_file";
  r.files = {path};
  r.original_path = path;
  r.tool = "sqlite";
  r.tool_version = sqlite3_libversion();
  r.command = {"cp", "{file}", path};
  r.notes = "Stop the application first, and remove " + path + "-wal, " + path + "-shm and " +
            path + "-journal of the old database before copying the file back: SQLite would "
            "apply an old WAL to the restored file. The copy is a complete database in one file.";
  return r;
}

Result<BackupResult> BackupSqlite(Repository& repo, const SqliteSource& source,
                                  BackupOptions options, SqliteCopyStats* stats) {
  if (source.path.empty()) return Status::InvalidArgument("the sqlite source has no path");
  SqliteSource src = source;
  src.path = CleanPath(source.path);
  if (src.path == "/") return Status::InvalidArgument("the sqlite source's path is '/'");
  LB_ASSIGN_OR_RETURN(std::unique_ptr<PrivateTempDir> dir,
                      PrivateTempDir::Make("lifeboat-sqlite-"));
  const std::string copy = dir->path() + "/copy.db";
  SqliteSource read = src;
  LB_ASSIGN_OR_RETURN(read.path, ReadPathOf(options.read_root, src.path));
  LB_RETURN_IF_ERROR(CopySqliteDatabase(read, copy, options.context, stats));
  int fd = ::open(copy.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("opening the copy " + copy);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  if (options.source) options.source->restore = SqliteRestoreInfo(src.path);
  return RunStreamBackup(repo, fd, src.path.substr(1), options, nullptr);
}

}  // namespace lifeboat
