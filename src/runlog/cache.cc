#include "runlog/cache.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "crypto/hash.h"
#include "util/bytes.h"

namespace lifeboat {
namespace {

// Bump when the tables change: a cache of another version is dropped and rebuilt.
constexpr int kSchemaVersion = 3;
constexpr int kBusyTimeoutMs = 5000;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS snapshots("
    "  repo TEXT NOT NULL, name TEXT NOT NULL, service TEXT NOT NULL, source TEXT NOT NULL,"
    "  time_ns INTEGER NOT NULL, incomplete INTEGER NOT NULL, PRIMARY KEY(repo, name));"
    "CREATE TABLE IF NOT EXISTS run_objects("
    "  repo TEXT NOT NULL, name TEXT NOT NULL, records BLOB NOT NULL, PRIMARY KEY(repo, name));"
    "CREATE TABLE IF NOT EXISTS configs("
    "  sha256 TEXT PRIMARY KEY, repo TEXT NOT NULL, append_only INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS key_proofs("
    "  location TEXT PRIMARY KEY, repo TEXT NOT NULL, key_name TEXT NOT NULL, proof TEXT NOT NULL);";

Status MakeDirectories(const std::string& path) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string part = path.substr(0, pos);
    if (part.empty()) continue;
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return PosixError("creating the cache directory " + part);
  }
  return Status::Ok();
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

Status SqliteError(sqlite3* db, const std::string& what) {
  const int code = sqlite3_extended_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
    return Status::Unavailable(msg + " (another Lifeboat process holds the status cache)");
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
    return Status::Corruption(msg);
  return Status::IOError(msg);
}

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Status status(const std::string& what) const {
    return stmt_ ? Status::Ok() : SqliteError(db_, what);
  }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, ByteView b) {
    sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string ColumnText(int i) const {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  Bytes ColumnBlob(int i) const {
    const uint8_t* b = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, i));
    return b ? Bytes(b, b + sqlite3_column_bytes(stmt_, i)) : Bytes();
  }
  int64_t ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Opens and prepares the database; Corruption when the file is not a usable cache.
Result<sqlite3*> OpenDatabase(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    Status st = db ? SqliteError(db, "opening the status cache " + path)
                   : Status::IOError("opening the status cache " + path + ": out of memory");
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  auto fail = [&](const std::string& what) {
    Status st = SqliteError(db, what + " in the status cache " + path);
    sqlite3_close_v2(db);
    return st;
  };
  // Reading the version also makes SQLite read the header: a file that is not a database fails.
  Statement version(db, "PRAGMA user_version");
  if (!version.status("").ok()) return fail("reading the schema version");
  int step = version.Step();
  if (step != SQLITE_ROW) return fail("reading the schema version");
  const int64_t found = version.ColumnInt(0);
  version.Reset();
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("switching to WAL");
  if (found != kSchemaVersion) {
    // Empty (0) or another version: start over. The version is read again under the write lock:
    // another connection (status opens one per site, at once) may have created the tables and
    // filled them since, and dropping them then would lose its entries.
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return fail("locking to create the tables");
    int64_t now_found = -1;
    {
      Statement again(db, "PRAGMA user_version");
      if (again.status("").ok() && again.Step() == SQLITE_ROW) now_found = again.ColumnInt(0);
    }
    const std::string reset = std::string("DROP TABLE IF EXISTS snapshots; ") +
                              "DROP TABLE IF EXISTS run_objects; DROP TABLE IF EXISTS configs; " +
                              kSchema +
                              "PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";";
    if ((now_found != kSchemaVersion &&
         sqlite3_exec(db, reset.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) ||
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail("creating the tables");
    }
  }
  // A quick look at the pages: a damaged file says so here rather than in the middle of a sync.
  if (sqlite3_exec(db,
                   "SELECT count(*) FROM snapshots; SELECT count(*) FROM run_objects; "
                   "SELECT count(*) FROM configs;",
                   nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("reading");
  return db;
}

void RemoveCacheFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    ::unlink((path + suffix).c_str());
}

// Names cached for `repo` in `table`.
Result<std::unordered_set<std::string>> CachedNames(sqlite3* db, const char* table,
                                                    const std::string& repo) {
  const std::string sql = std::string("SELECT name FROM ") + table + " WHERE repo = ?1";
  Statement q(db, sql.c_str());
  LB_RETURN_IF_ERROR(q.status("reading the status cache"));
  q.Text(1, repo);
  std::unordered_set<std::string> names;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) names.insert(q.ColumnText(0));
  if (rc != SQLITE_DONE) return SqliteError(db, "reading the status cache");
  return names;
}

// Deletes the cached names of `repo` in `table` that are not in `listed`.
Status DeleteUnlisted(sqlite3* db, const char* table, const std::string& repo,
                      const std::unordered_set<std::string>& cached,
                      const std::unordered_set<std::string>& listed) {
  const std::string sql = std::string("DELETE FROM ") + table + " WHERE repo = ?1 AND name = ?2";
  Statement del(db, sql.c_str());
  LB_RETURN_IF_ERROR(del.status("updating the status cache"));
  for (const std::string& name : cached) {
    if (listed.count(name)) continue;
    del.Text(1, repo);
    del.Text(2, name);
    if (del.Step() != SQLITE_DONE) return SqliteError(db, "updating the status cache");
    del.Reset();
  }
  return Status::Ok();
}

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT (rolled back when it fails).
Status InTransaction(sqlite3* db, const std::function<Status()>& body) {
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqliteError(db, "updating the status cache");
  Status st = body();
  if (st.ok() && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    st = SqliteError(db, "updating the status cache");
  if (!st.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return st;
}

}  // namespace

Result<std::string> DefaultStatusCachePath() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/lifeboat/status.sqlite3";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/')
    return std::string(home) + "/.cache/lifeboat/status.sqlite3";
  return Status::InvalidArgument(
      "cannot tell where to keep the status cache: set HOME or XDG_CACHE_HOME to an absolute "
      "path");
}

Result<std::unique_ptr<StatusCache>> StatusCache::Open(const std::string& path) {
  LB_RETURN_IF_ERROR(MakeDirectories(Parent(path)));
  Result<sqlite3*> db = OpenDatabase(path);
  if (!db.ok() && db.status().IsCorruption()) {
    // Only a cache: a damaged one is rebuilt from the repositories.
    RemoveCacheFiles(path);
    db = OpenDatabase(path);
  }
  if (!db.ok()) return db.status();
  return std::unique_ptr<StatusCache>(new StatusCache(*db, path));
}

StatusCache::~StatusCache() { sqlite3_close_v2(db_); }

Status StatusCache::Forget(const std::string& repo_id) {
  return InTransaction(db_, [&]() -> Status {
    for (const char* sql : {"DELETE FROM snapshots WHERE repo = ?1",
                            "DELETE FROM run_objects WHERE repo = ?1",
                            "DELETE FROM configs WHERE repo = ?1"}) {
      Statement del(db_, sql);
      LB_RETURN_IF_ERROR(del.status("updating the status cache"));
      del.Text(1, repo_id);
      if (del.Step() != SQLITE_DONE) return SqliteError(db_, "updating the status cache");
    }
    return Status::Ok();
  });
}

Status StatusCache::RememberConfig(const std::string& config_sha256, const KnownConfig& config) {
  return InTransaction(db_, [&]() -> Status {
    Statement ins(db_, "INSERT OR REPLACE INTO configs(sha256, repo, append_only) VALUES(?1, ?2, ?3)");
    LB_RETURN_IF_ERROR(ins.status("updating the status cache"));
    ins.Text(1, config_sha256);
    ins.Text(2, config.repo_id);
    ins.Int(3, config.append_only ? 1 : 0);
    if (ins.Step() != SQLITE_DONE) return SqliteError(db_, "updating the status cache");
    return Status::Ok();
  });
}

Result<std::optional<StatusCache::KnownConfig>> StatusCache::FindConfig(
    const std::string& config_sha256) {
  Statement q(db_, "SELECT repo, append_only FROM configs WHERE sha256 = ?1");
  LB_RETURN_IF_ERROR(q.status("reading the status cache"));
  q.Text(1, config_sha256);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::optional<KnownConfig>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading the status cache");
  return std::optional<KnownConfig>(KnownConfig{q.ColumnText(0), q.ColumnInt(1) != 0});
}

Status StatusCache::RememberKeyProof(const std::string& location, const KeyProof& proof) {
  return InTransaction(db_, [&]() -> Status {
    Statement ins(db_, "INSERT OR REPLACE INTO key_proofs(location, repo, key_name, proof) "
                       "VALUES(?1, ?2, ?3, ?4)");
    LB_RETURN_IF_ERROR(ins.status("updating the status cache"));
    ins.Text(1, location);
    ins.Text(2, proof.repo_id);
    ins.Text(3, proof.key_name);
    ins.Text(4, proof.proof);
    if (ins.Step() != SQLITE_DONE) return SqliteError(db_, "updating the status cache");
    return Status::Ok();
  });
}

Result<std::optional<StatusCache::KeyProof>> StatusCache::FindKeyProof(
    const std::string& location) {
  Statement q(db_, "SELECT repo, key_name, proof FROM key_proofs WHERE location = ?1");
  LB_RETURN_IF_ERROR(q.status("reading the status cache"));
  q.Text(1, location);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::optional<KeyProof>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading the status cache");
  return std::optional<KeyProof>(KeyProof{q.ColumnText(0), q.ColumnText(1), q.ColumnText(2)});
}

Result<std::vector<CachedSnapshot>> StatusCache::SyncSnapshots(
    const std::string& repo_id, const std::vector<std::string>& names,
    const std::function<Result<std::optional<CachedSnapshot>>(const std::string& name)>& load) {
  LB_ASSIGN_OR_RETURN(auto cached, CachedNames(db_, "snapshots", repo_id));
  const std::unordered_set<std::string> listed(names.begin(), names.end());
  // Load what is new before taking the write lock: loads may take a while.
  std::vector<CachedSnapshot> added;
  for (const std::string& name : names) {
    if (cached.count(name)) continue;
    LB_ASSIGN_OR_RETURN(std::optional<CachedSnapshot> s, load(name));
    if (!s) continue;  // unreadable: not cached, tried again next time
    s->name = name;
    added.push_back(std::move(*s));
  }
  LB_RETURN_IF_ERROR(InTransaction(db_, [&]() -> Status {
    LB_RETURN_IF_ERROR(DeleteUnlisted(db_, "snapshots", repo_id, cached, listed));
    Statement ins(db_,
                  "INSERT OR REPLACE INTO snapshots(repo, name, service, source, time_ns, "
                  "incomplete) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    LB_RETURN_IF_ERROR(ins.status("updating the status cache"));
    for (const CachedSnapshot& s : added) {
      ins.Text(1, repo_id);
      ins.Text(2, s.name);
      ins.Text(3, s.service);
      ins.Text(4, s.source);
      ins.Int(5, s.time_ns);
      ins.Int(6, s.incomplete ? 1 : 0);
      if (ins.Step() != SQLITE_DONE) return SqliteError(db_, "updating the status cache");
      ins.Reset();
    }
    return Status::Ok();
  }));
  Statement q(db_,
              "SELECT name, service, source, time_ns, incomplete FROM snapshots WHERE repo = ?1");
  LB_RETURN_IF_ERROR(q.status("reading the status cache"));
  q.Text(1, repo_id);
  std::unordered_map<std::string, CachedSnapshot> by_name;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    CachedSnapshot s{q.ColumnText(0), q.ColumnText(1), q.ColumnText(2), q.ColumnInt(3),
                     q.ColumnInt(4) != 0};
    by_name.emplace(s.name, std::move(s));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading the status cache");
  std::vector<CachedSnapshot> out;
  out.reserve(names.size());
  for (const std::string& name : names) {
    auto it = by_name.find(name);
    if (it != by_name.end()) out.push_back(it->second);
  }
  return out;
}

Result<std::vector<RunRecord>> StatusCache::SyncRunRecords(
    const std::string& repo_id, const std::vector<std::string>& names,
    const std::function<Result<std::optional<std::vector<RunRecord>>>(const std::string& name)>&
        load) {
  LB_ASSIGN_OR_RETURN(auto cached, CachedNames(db_, "run_objects", repo_id));
  const std::unordered_set<std::string> listed(names.begin(), names.end());
  std::vector<std::pair<std::string, Bytes>> added;
  for (const std::string& name : names) {
    if (cached.count(name)) continue;
    LB_ASSIGN_OR_RETURN(std::optional<std::vector<RunRecord>> records, load(name));
    if (!records) continue;  // unreadable: not cached, tried again next time
    LB_ASSIGN_OR_RETURN(Bytes encoded, EncodeRunRecords(*records));
    added.emplace_back(name, std::move(encoded));
  }
  LB_RETURN_IF_ERROR(InTransaction(db_, [&]() -> Status {
    LB_RETURN_IF_ERROR(DeleteUnlisted(db_, "run_objects", repo_id, cached, listed));
    Statement ins(db_, "INSERT OR REPLACE INTO run_objects(repo, name, records) VALUES(?1, ?2, ?3)");
    LB_RETURN_IF_ERROR(ins.status("updating the status cache"));
    for (const auto& [name, encoded] : added) {
      ins.Text(1, repo_id);
      ins.Text(2, name);
      ins.Blob(3, encoded);
      if (ins.Step() != SQLITE_DONE) return SqliteError(db_, "updating the status cache");
      ins.Reset();
    }
    return Status::Ok();
  }));
  Statement q(db_, "SELECT name, records FROM run_objects WHERE repo = ?1");
  LB_RETURN_IF_ERROR(q.status("reading the status cache"));
  q.Text(1, repo_id);
  std::unordered_map<std::string, Bytes> by_name;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) by_name.emplace(q.ColumnText(0), q.ColumnBlob(1));
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading the status cache");
  std::vector<RunRecord> out;
  for (const std::string& name : names) {
    auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    Result<std::vector<RunRecord>> records = DecodeRunRecords(it->second);
    if (!records.ok()) {
      // The cache itself is damaged: never trusted over the repository.
      (void)Forget(repo_id);
      return Status::Unavailable("the status cache " + path_ +
                                 " held an unreadable entry and was cleared; run again");
    }
    for (RunRecord& r : *records) out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The names of `type` listed by `backend`, sorted.
Result<std::vector<std::string>> ListNames(Backend& backend, ObjectType type) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(backend.List(type, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

// The records of every listed object, one per id, filtered and ordered as ListRunRecords gives
// them; `out` already holds the unreadable objects.
void FinishRunListing(std::vector<RunRecord> all, const std::vector<std::string>& names,
                      const RunRecordFilter& filter, RunRecordListing* out) {
  std::unordered_set<std::string> seen;
  for (RunRecord& r : all) {
    if (!seen.insert(r.id).second) {
      out->duplicates++;
      continue;
    }
    if (!filter.services.empty() && std::find(filter.services.begin(), filter.services.end(),
                                              r.service) == filter.services.end())
      continue;
    if (!filter.sites.empty() &&
        std::find(filter.sites.begin(), filter.sites.end(), r.site) == filter.sites.end())
      continue;
    if (filter.since_ns && r.end_ns < *filter.since_ns) continue;
    out->records.push_back(std::move(r));
  }
  for (const std::string& name : names)
    if (std::none_of(out->unreadable.begin(), out->unreadable.end(),
                     [&](const UnreadableRunObject& u) { return u.name == name; }))
      out->objects.push_back(name);
  std::sort(out->records.begin(), out->records.end(), [](const RunRecord& a, const RunRecord& b) {
    return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.id < b.id;
  });
}

// The SHA-256 (hex) of the repository's config object as stored.
Result<std::string> ConfigSha256(Backend& backend) {
  LB_ASSIGN_OR_RETURN(Bytes config, backend.Load({ObjectType::kConfig, ""}, 0, 0));
  return HexEncode(crypto::Sha256(config));
}

}  // namespace

Result<RunRecordListing> ListRunRecordsCached(Repository& repo, StatusCache& cache,
                                              const RunRecordFilter& filter,
                                              const Context& context) {
  LB_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(repo.backend(), ObjectType::kRun));
  RunRecordListing out;
  bool gone = false;
  LB_ASSIGN_OR_RETURN(
      std::vector<RunRecord> all,
      cache.SyncRunRecords(
          repo.config().id.Hex(), names,
          [&](const std::string& name) -> Result<std::optional<std::vector<RunRecord>>> {
            LB_RETURN_IF_ERROR(context.Check("reading run records"));
            Result<Bytes> plain = repo.LoadUnpacked(ObjectType::kRun, name);
            if (!plain.ok()) {
              if (plain.status().damage() != nullptr) {
                out.unreadable.push_back({name, plain.status(), false});
                return std::optional<std::vector<RunRecord>>();
              }
              if (plain.status().IsNotFound()) {
                gone = true;
                return std::optional<std::vector<RunRecord>>();
              }
              return plain.status();
            }
            Result<std::vector<RunRecord>> records = DecodeRunRecords(*plain);
            if (!records.ok()) {
              Status st = records.status().WithContext("run " + name);
              out.unreadable.push_back(
                  {name, st, st.code() == StatusCode::kFailedPrecondition});
              return std::optional<std::vector<RunRecord>>();
            }
            return std::optional<std::vector<RunRecord>>(std::move(*records));
          }));
  // An object compacted away between listing and loading: the full read lists again.
  if (gone) return ListRunRecords(repo, filter, context);
  FinishRunListing(std::move(all), names, filter, &out);
  return out;
}

Result<std::optional<KeylessListing>> ListCachedWithoutKey(Backend& backend, StatusCache& cache,
                                                           const RunRecordFilter& filter,
                                                           const Context& context) {
  using Answer = std::optional<KeylessListing>;
  LB_RETURN_IF_ERROR(context.Check("listing the site"));
  Result<std::string> digest = ConfigSha256(backend);
  // No config: no repository there; opening it says so properly (NoRepository, with a hint).
  if (!digest.ok() && digest.status().IsNotFound()) return Answer();
  if (!digest.ok()) return digest.status();
  Result<std::optional<StatusCache::KnownConfig>> known = cache.FindConfig(*digest);
  if (!known.ok() || !known->has_value()) return Answer();
  KeylessListing out;
  out.config = **known;
  LB_ASSIGN_OR_RETURN(std::vector<std::string> snapshot_names,
                      ListNames(backend, ObjectType::kSnapshot));
  LB_ASSIGN_OR_RETURN(std::vector<std::string> run_names, ListNames(backend, ObjectType::kRun));
  LB_RETURN_IF_ERROR(context.Check("listing the site"));
  // A name that is not cached needs the key: the sync stops at it and changes nothing.
  bool missing = false;
  auto not_cached = [&missing](const std::string&) {
    missing = true;
    return Status::FailedPrecondition("not cached");
  };
  Result<std::vector<CachedSnapshot>> snapshots = cache.SyncSnapshots(
      out.config.repo_id, snapshot_names,
      [&](const std::string& name) -> Result<std::optional<CachedSnapshot>> {
        return not_cached(name);
      });
  if (!snapshots.ok()) return Answer();
  Result<std::vector<RunRecord>> records = cache.SyncRunRecords(
      out.config.repo_id, run_names,
      [&](const std::string& name) -> Result<std::optional<std::vector<RunRecord>>> {
        return not_cached(name);
      });
  if (!records.ok() || missing) return Answer();
  out.snapshots = std::move(*snapshots);
  FinishRunListing(std::move(*records), run_names, filter, &out.runs);
  return Answer(std::move(out));
}

Result<std::vector<CachedSnapshot>> ListSnapshotsCached(
    Repository& repo, StatusCache& cache,
    const std::function<CachedSnapshot(const Id& id, const Snapshot& snapshot)>& describe,
    const Context& context, std::vector<DamagedSnapshot>* damaged) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kSnapshot, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::vector<DamagedSnapshot> bad;
  LB_ASSIGN_OR_RETURN(
      std::vector<CachedSnapshot> out,
      cache.SyncSnapshots(
          repo.config().id.Hex(), names,
          [&](const std::string& name) -> Result<std::optional<CachedSnapshot>> {
            LB_RETURN_IF_ERROR(context.Check("reading snapshots"));
            std::optional<Id> id = Id::FromHex(name);
            Result<Snapshot> s =
                id ? repo.LoadSnapshot(*id)
                   : Result<Snapshot>(
                         Status::Corruption("snapshot object with a bad name: " + name));
            if (!s.ok()) {
              if (!s.status().IsCorruption() && s.status().damage() == nullptr) return s.status();
              bad.push_back(DamagedSnapshot{name, s.status()});
              return std::optional<CachedSnapshot>();
            }
            return std::optional<CachedSnapshot>(describe(*id, *s));
          }));
  if (!bad.empty()) {
    if (!damaged) return bad.front().problem;
    for (DamagedSnapshot& d : bad) damaged->push_back(std::move(d));
  }
  // The config object as it is stored now, for ListCachedWithoutKey. Even if it was replaced
  // since the repository was opened, no harm: another repository's objects have other names,
  // which are never cached under this id.
  LB_ASSIGN_OR_RETURN(std::string digest, ConfigSha256(repo.backend()));
  LB_RETURN_IF_ERROR(cache.RememberConfig(digest, {repo.config().id.Hex(), repo.append_only()}));
  return out;
}

}  // namespace lifeboat
