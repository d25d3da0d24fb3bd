// The sqlite source (doc/sources.md): a consistent copy of a database that another connection
// keeps writing, in WAL and rollback-journal mode; a writer that never lets go; damaged and
// non-database files; nothing stored and nothing left behind when a source fails.
#include "sources/sqlite_source.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "backend/memory_backend.h"
#include "repository/keys.h"
#include "restorer/restorer.h"
#include "sources/source.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

SqliteSource Sqlite(const std::string& path, int pages_per_step = 256,
                    std::chrono::milliseconds busy_limit = std::chrono::minutes(10)) {
  SqliteSource s;
  s.path = path;
  s.pages_per_step = pages_per_step;
  s.busy_limit = busy_limit;
  return s;
}

// An open connection, closed at scope end.
struct TestDb {
  sqlite3* db = nullptr;
  explicit TestDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
  }
  ~TestDb() { sqlite3_close_v2(db); }
  int Exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
  // The first column of the first row, as text ("" when none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
};

class SqliteSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
    auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
    char tmpl[] = "/tmp/lifeboat-sqlite-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The source's private temporary directories go here, so the test sees they are removed.
    tmp_ = dir_ + "/tmp";
    std::filesystem::create_directories(tmp_);
    ::setenv("TMPDIR", tmp_.c_str(), 1);
    std::filesystem::create_directories(dir_ + "/srv/app");
    db_path_ = dir_ + "/srv/app/app.db";
  }
  void TearDown() override {
    ::unsetenv("TMPDIR");
    std::filesystem::remove_all(dir_);
  }

  size_t SnapshotCount() {
    auto all = repo_->ListSnapshots();
    EXPECT_TRUE(all.ok());
    return all.ok() ? all->size() : 0;
  }
  bool TempDirIsEmpty() { return std::filesystem::is_empty(tmp_); }

  // Restores the snapshot into a fresh directory; returns that directory.
  std::string Restore(const Snapshot& s) {
    std::string target = dir_ + "/restore-" + std::to_string(restores_++);
    RestoreOptions o;
    o.target = target;
    auto r = RestoreTree(*repo_, s.tree, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return target;
  }

  void MakeDatabase(const std::string& journal_mode) {
    TestDb db(db_path_);
    ASSERT_EQ(db.Query("PRAGMA journal_mode=" + journal_mode), journal_mode);
    ASSERT_EQ(db.Exec("CREATE TABLE tx(n INTEGER PRIMARY KEY, pad BLOB);"
                      "CREATE TABLE bulk(id INTEGER PRIMARY KEY, pad BLOB);"),
              SQLITE_OK);
    // About 2 MB, so that the copy takes hundreds of steps of a few pages.
    ASSERT_EQ(db.Exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                      "WHERE i < 2000) INSERT INTO bulk SELECT i, randomblob(1000) FROM c"),
              SQLITE_OK);
  }

  std::unique_ptr<Repository> repo_;
  std::string dir_, tmp_, db_path_;
  int restores_ = 0;
};

// A writer commits numbered transactions (1, 2, 3, ...) in its own connection while the source
// backs the database up. The restored copy passes integrity_check and holds exactly the
// transactions 1..N (no gap), N > 0; the writer had committed fewer when the backup started
// and went on past N before it ended: the copy was taken while the application wrote.
class SqliteConcurrentTest : public SqliteSourceTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(SqliteConcurrentTest, RestoredCopyHoldsAPrefixOfTheWritersTransactions) {
  MakeDatabase(GetParam());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{0};
  std::atomic<int> writer_errors{0};
  std::thread writer([&] {
    TestDb db(db_path_);
    for (int64_t n = 1; !stop.load(); ++n) {
      // Each transaction also rewrites rows spread over the file, so that it touches pages the
      // copy has already passed.
      std::string sql = "BEGIN IMMEDIATE; INSERT INTO tx VALUES(" + std::to_string(n) +
                        ", randomblob(200)); UPDATE bulk SET pad = randomblob(1000) WHERE id = " +
                        std::to_string(1 + (n * 37) % 2000) + "; COMMIT;";
      if (db.Exec(sql) != SQLITE_OK) {
        writer_errors++;
        db.Exec("ROLLBACK");
        --n;
        continue;
      }
      committed.store(n);
    }
  });
  while (committed.load() < 20) std::this_thread::yield();
  const int64_t at_start = committed.load();

  SourceSpec spec{.name = "appdb", .config = Sqlite(db_path_, 4)};
  SourceOptions o;
  o.service = "shop";
  o.backup.host = "h";
  auto r = BackupSource(*repo_, spec, o);
  const int64_t at_end = committed.load();
  // Let the writer commit a few more, then stop it.
  while (committed.load() < at_end + 5) std::this_thread::yield();
  stop = true;
  writer.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(writer_errors.load(), 0);

  const Snapshot& s = r->backup.snapshot;
  EXPECT_EQ(s.paths, std::vector<std::string>{db_path_});
  EXPECT_EQ(s.service, "shop");
  ASSERT_TRUE(s.source.has_value());
  EXPECT_EQ(s.source->name, "appdb");
  EXPECT_EQ(s.source->kind, "sqlite");
  EXPECT_EQ(s.source->restore.method, "copy_file");
  EXPECT_EQ(s.source->restore.original_path, db_path_);
  EXPECT_EQ(s.source->restore.files, std::vector<std::string>{db_path_});
  EXPECT_EQ(s.source->restore.tool_version, sqlite3_libversion());
  // The stored snapshot says the same (read back from the repository).
  auto stored = repo_->LoadSnapshot(*r->backup.snapshot_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->source, s.source);

  // The database is restored at its own absolute path below the target.
  std::string restored = Restore(s) + db_path_;
  ASSERT_TRUE(std::filesystem::exists(restored)) << restored;
  TestDb copy(restored);
  EXPECT_EQ(copy.Query("PRAGMA integrity_check"), "ok");
  const int64_t n = std::stoll(copy.Query("SELECT coalesce(max(n), 0) FROM tx"));
  EXPECT_EQ(copy.Query("SELECT count(*) FROM tx"), std::to_string(n)) << "a gap in 1.." << n;
  EXPECT_EQ(copy.Query("SELECT min(n) FROM tx"), "1");
  EXPECT_EQ(copy.Query("SELECT count(*) FROM bulk"), "2000");
  EXPECT_GT(n, 0);
  EXPECT_GE(n, at_start) << "the copy is older than the backup";
  EXPECT_GT(at_end, n) << "the writer did not go on while the backup ran";
  EXPECT_TRUE(TempDirIsEmpty());
  std::cerr << GetParam() << ": writer at " << at_start << " when the backup started, copy holds 1.."
            << n << ", writer at " << at_end << " when it ended\n";
}

INSTANTIATE_TEST_SUITE_P(JournalModes, SqliteConcurrentTest, ::testing::Values("wal", "delete"));

// The copy is a file of its own (mode 0600) holding the whole database; without writers the
// copy never restarts.
TEST_F(SqliteSourceTest, CopyIsAPrivateFileOfTheWholeDatabase) {
  MakeDatabase("delete");
  std::string dest = dir_ + "/copy.db";
  SqliteCopyStats stats;
  ASSERT_TRUE(CopySqliteDatabase(Sqlite(db_path_, 1000000), dest, Context(),
                                 &stats)
                  .ok());
  struct stat st;
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(stats.restarts, 0);
  EXPECT_GT(stats.pages, 400);
  TestDb copy(dest);
  EXPECT_EQ(copy.Query("SELECT count(*) FROM bulk"), "2000");
}

// A connection that holds a write lock and never lets go: the source waits with backoff on the
// context's clock (a ManualClock: no real sleeping) up to its busy limit, then fails with
// Unavailable; nothing is stored and the temporary directory is gone.
TEST_F(SqliteSourceTest, AWriterThatNeverLetsGoFailsAfterTheBusyLimit) {
  MakeDatabase("delete");
  TestDb holder(db_path_);
  ASSERT_EQ(holder.Exec("BEGIN EXCLUSIVE"), SQLITE_OK);
  ManualClock clock;
  const int64_t start = clock.MonotonicNs();
  SourceSpec spec{.name = "db",
                  .config = Sqlite(db_path_, 256, std::chrono::seconds(30))};
  SourceOptions o;
  o.service = "shop";
  o.backup.context = Context().WithClock(clock);
  auto r = BackupSource(*repo_, spec, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stayed locked for 30s"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("service shop, source db (sqlite)"), std::string::npos);
  const double waited = (clock.MonotonicNs() - start) / 1e9;
  EXPECT_GE(waited, 30.0);
  EXPECT_LT(waited, 32.0);  // bounded: the limit, not the backoff, decides
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_TRUE(TempDirIsEmpty());
  holder.Exec("ROLLBACK");
}

// The deadline of the context stops the wait before the busy limit.
TEST_F(SqliteSourceTest, TheDeadlineStopsTheWait) {
  MakeDatabase("delete");
  TestDb holder(db_path_);
  ASSERT_EQ(holder.Exec("BEGIN EXCLUSIVE"), SQLITE_OK);
  ManualClock clock;
  SourceSpec spec{.name = "db", .config = Sqlite(db_path_)};
  SourceOptions o;
  o.service = "shop";
  o.backup.context = Context().WithClock(clock).WithTimeout(std::chrono::seconds(5));
  auto r = BackupSource(*repo_, spec, o);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_TRUE(TempDirIsEmpty());
  holder.Exec("ROLLBACK");
}

// A damaged database copies page by page, but its copy fails integrity_check: nothing stored.
TEST_F(SqliteSourceTest, ADamagedDatabaseIsNotStored) {
  {
    TestDb db(db_path_);
    ASSERT_EQ(db.Exec("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX tb ON t(b);"
                      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                      "WHERE i < 500) INSERT INTO t SELECT i, 'x' || i FROM c;"
                      "PRAGMA writable_schema=1;"
                      "UPDATE sqlite_master SET sql = 'CREATE INDEX tb ON t(a)' WHERE name='tb';"),
              SQLITE_OK);
  }
  auto r = BackupSource(*repo_, {.name = "db", .config = Sqlite(db_path_)},
                        {.service = "shop", .backup = {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("integrity_check"), std::string::npos);
  EXPECT_NE(r.status().message().find("missing from index tb"), std::string::npos);
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_TRUE(TempDirIsEmpty());
}

TEST_F(SqliteSourceTest, NotADatabaseAndMissingFilesFailClearly) {
  std::ofstream(db_path_) << std::string(8192, 'x');
  auto r = BackupSource(*repo_, {.name = "db", .config = Sqlite(db_path_)},
                        {.service = "shop", .backup = {}});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("SQLite database"), std::string::npos);
  r = BackupSource(*repo_, {.name = "db", .config = Sqlite(dir_ + "/none.db")},
                   {.service = "shop", .backup = {}});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_TRUE(TempDirIsEmpty());
  // Nothing was created beside the path that does not exist.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/none.db"));
}

}  // namespace
}  // namespace lifeboat
