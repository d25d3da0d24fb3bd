// StatusCache: a local SQLite file that lets `lifeboat status` answer without decrypting every
// snapshot and run-record object of every site each time. Only a cache: the repositories are
// the truth, and the cache is never trusted over them.
//
//   LB_ASSIGN_OR_RETURN(std::string path, DefaultStatusCachePath());
//   LB_ASSIGN_OR_RETURN(auto cache, StatusCache::Open(path));
//   LB_ASSIGN_OR_RETURN(RunRecordListing runs, ListRunRecordsCached(repo, *cache, {}, ctx));
//   LB_ASSIGN_OR_RETURN(auto snaps, ListSnapshotsCached(repo, *cache, describe, ctx));
//
// What is kept, per repository (keyed by the config's repository id): for every snapshot object,
// the few fields status needs (service, source, time, incomplete), and for every run-record
// object, its records. Every use lists the repository's names first (a listing is cheap: no
// object is read) and then:
//   - names listed but not cached are loaded from the repository and added;
//   - cached names no longer listed are deleted (forgotten snapshots, compacted run objects);
//   - cached names still listed are used as they are.
// That is the whole invalidation rule, and it is exact because objects are immutable and named
// by the SHA-256 of their bytes: one name always means the same content. A missing cache file is
// created; one SQLite cannot read (damaged, not a database) or of another schema version is
// removed and rebuilt from the repositories. Objects that cannot be read are never cached (they
// are tried, and reported, again next time).
//
// Without the key: the cache also remembers each repository's config object by its SHA-256 (with
// the id and append-only flag sealed inside it). ListCachedWithoutKey answers a listing from the
// cache alone when the config object is one it has seen and every listed name is cached: no key
// is derived, nothing is decrypted. That is as exact as the rule above (the names are the
// listing's, their content is what was authenticated when they were cached); what it does not
// do is check the password, which only a key derivation can (doc/status.md, "The cache").
//
// Concurrent processes (a `run` and a `status`): WAL mode, a busy timeout of 5 s, and each sync
// in one transaction. Thread safety: one StatusCache per thread (SQLite connection); several
// processes or StatusCache objects may share the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "runlog/run_records.h"
#include "util/context.h"
#include "util/status.h"

struct sqlite3;

namespace lifeboat {

// $XDG_CACHE_HOME/lifeboat/status.sqlite3 when XDG_CACHE_HOME is an absolute path, else
// $HOME/.cache/lifeboat/status.sqlite3. InvalidArgument when neither is set.
Result<std::string> DefaultStatusCachePath();

// What status needs of one snapshot.
struct CachedSnapshot {
  std::string name;     // the snapshot object's name (64 hex)
  std::string service;  // "" when the snapshot belongs to no service
  std::string source;   // the source's kind or name as the caller describes it; may be ""
  int64_t time_ns = 0;
  bool incomplete = false;
};

class StatusCache {
 public:
  // Opens or creates the cache at `path` (its directory is created, mode 0700). A file SQLite
  // cannot use, or of another schema version, is removed and made anew. IOError when it can
  // still not be opened.
  static Result<std::unique_ptr<StatusCache>> Open(const std::string& path);
  ~StatusCache();
  StatusCache(const StatusCache&) = delete;
  StatusCache& operator=(const StatusCache&) = delete;

  // Brings repository `repo_id`'s snapshot entries in line with `names` (the listing; see the
  // top of this file), calling `load` for each name not cached: it returns the entry, or nullopt
  // when the object cannot be read (then it is not cached and is left out); an error from it
  // stops the sync and is returned, with nothing changed. Returns the entries of every listed,
  // readable name, in `names` order.
  Result<std::vector<CachedSnapshot>> SyncSnapshots(
      const std::string& repo_id, const std::vector<std::string>& names,
      const std::function<Result<std::optional<CachedSnapshot>>(const std::string& name)>& load);

  // The same for run-record objects: `load` returns an object's records, or nullopt when the
  // object cannot be read (then it is not cached and its name is skipped); an error stops the
  // sync. Returns the records of every listed, readable object.
  Result<std::vector<RunRecord>> SyncRunRecords(
      const std::string& repo_id, const std::vector<std::string>& names,
      const std::function<Result<std::optional<std::vector<RunRecord>>>(const std::string& name)>&
          load);

  // Forgets everything about `repo_id` (a repository that was recreated, a test).
  Status Forget(const std::string& repo_id);

  // A config object seen (its SHA-256, 64 hex) and what it holds.
  struct KnownConfig {
    std::string repo_id;
    bool append_only = false;
  };
  Status RememberConfig(const std::string& config_sha256, const KnownConfig& config);
  // nullopt when the config object was never seen.
  Result<std::optional<KnownConfig>> FindConfig(const std::string& config_sha256);

  // A password proven to open a key of the repository at a location (Repository::PasswordProof):
  // `lifeboat run` opens a second site of a service with it (Repository::OpenWithPasswordProof)
  // instead of deriving the key again. Only a holder of the master key can check or forge one.
  struct KeyProof {
    std::string repo_id;   // the repository's id (64 hex) when the proof was made
    std::string key_name;  // the key file the password opened
    std::string proof;     // PasswordProof (64 hex)
  };
  Status RememberKeyProof(const std::string& location, const KeyProof& proof);
  // nullopt when none is kept for `location`.
  Result<std::optional<KeyProof>> FindKeyProof(const std::string& location);

  const std::string& path() const { return path_; }

 private:
  StatusCache(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// Lists the run records of `repo` through the cache: run/ is listed, objects not cached are read
// (as ListRunRecords does) and cached, and the records are filtered and merged one per id as
// ListRunRecords does. Damaged and newer objects are in `unreadable`, as there.
Result<RunRecordListing> ListRunRecordsCached(Repository& repo, StatusCache& cache,
                                              const RunRecordFilter& filter,
                                              const Context& context);

// A listing answered by the cache alone (ListCachedWithoutKey).
struct KeylessListing {
  StatusCache::KnownConfig config;
  std::vector<CachedSnapshot> snapshots;  // in listing order
  RunRecordListing runs;                  // as ListRunRecordsCached would give it
};

// Lists the snapshot and run-record objects through `backend` (the repository's, opened without
// a key: engine/open.h OpenRepositoryBackend) and answers from the cache alone: nullopt when the
// config object is not one the cache has seen (ListSnapshotsCached remembers it), when any listed
// name is not cached, or when the cache cannot be read; then the caller opens the repository and
// uses ListSnapshotsCached / ListRunRecordsCached. Errors: the backend's (the site cannot be
// read) and the context's. Cached names no longer listed are dropped, as a sync does.
Result<std::optional<KeylessListing>> ListCachedWithoutKey(Backend& backend, StatusCache& cache,
                                                           const RunRecordFilter& filter,
                                                           const Context& context);

// Lists the snapshots of `repo` through the cache; `describe` turns a loaded snapshot into its
// entry (service and source as the caller's model has them; name is filled in). A damaged
// snapshot is returned in *damaged (when set; else it is an error) and not cached. Also
// remembers the repository's config object (RememberConfig) for ListCachedWithoutKey.
Result<std::vector<CachedSnapshot>> ListSnapshotsCached(
    Repository& repo, StatusCache& cache,
    const std::function<CachedSnapshot(const Id& id, const Snapshot& snapshot)>& describe,
    const Context& context, std::vector<DamagedSnapshot>* damaged = nullptr);

}  // namespace lifeboat
