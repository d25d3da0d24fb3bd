// Snapshots: one backup's record (doc/repository-format.md §9).
//
//   Snapshot s; s.paths = {"/srv"}; s.tree = root_id;
//   LB_ASSIGN_OR_RETURN(Id id, repo.SaveSnapshot(s));
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/id.h"
#include "util/status.h"

namespace lifeboat {

struct SnapshotSummary {
  int64_t backup_start_ns = 0, backup_end_ns = 0;
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs_new = 0, dirs_changed = 0, dirs_unmodified = 0;
  uint64_t data_blobs = 0, tree_blobs = 0;
  uint64_t data_added = 0;         // plaintext bytes of new blobs
  uint64_t data_added_packed = 0;  // stored (compressed + sealed) bytes of new blobs
  uint64_t total_files_processed = 0, total_bytes_processed = 0;
  uint64_t bytes_read = 0;
  uint64_t errors = 0;
};

// How to restore what a plan's source stored (format §9.1, doc/sources.md). Every member but
// `method` may be empty. `unknown` keeps the members a newer Lifeboat wrote that this one does not
// know (the text of a JSON object, or empty), so they survive a rewrite (copy, repair).
struct SourceRestore {
  std::string method;  // "restore" | "file" | "copy_file" | "pg_restore" | "psql" | a newer one
  std::vector<std::string> files;  // paths inside the snapshot that hold the data
  std::string original_path;       // sqlite: where the database lived
  std::string format;              // postgres: "custom" | "plain"
  std::string tool, tool_version;  // "pg_dump", "15.10"; "sqlite", "3.40.1"
  std::string server_version;      // postgres: as the server reports it ("15.10")
  int64_t server_version_num = 0;  // postgres: PQserverVersion (150010); 0 = not recorded
  std::vector<std::string> databases;
  std::vector<std::string> command;  // argv; "{file}" stands for the restored file's path
  std::string notes;
  std::string unknown;
  bool operator==(const SourceRestore&) const = default;
};

// The source of the plan a snapshot was made from (format §9.1): one snapshot per source.
struct SnapshotSource {
  std::string name;  // the source's name within its service
  std::string kind;  // "paths" | "command" | "postgres" | "sqlite" | a newer one
  SourceRestore restore;
  std::string unknown;  // members not known to this Lifeboat, kept (see SourceRestore)
  bool operator==(const SnapshotSource&) const = default;
};

struct Snapshot {
  int64_t time_ns = 0;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> paths;  // absolute, cleaned, sorted
  std::vector<std::string> tags;
  std::optional<Id> parent;
  Id tree;
  std::vector<std::string> excludes;
  std::string program_version;
  bool incomplete = false;
  SnapshotSummary summary;
  // Set by `copy`: the id of the snapshot this one was copied from (or that one's `original`), so
  // a copy is recognised in every repository it reaches, whatever its own id.
  std::optional<Id> original;
  // Set by `repair snapshots`: the damaged snapshot this one replaces (lost data dropped).
  std::optional<Id> repaired_from;
  // Set by the plan's runs (format §9.1): the service and the source this snapshot holds. Empty /
  // unset for snapshots made by `backup`.
  std::string service;
  std::optional<SnapshotSource> source;
  // Members of the snapshot's JSON this Lifeboat does not know (a newer writer's), as the text of
  // a JSON object, or empty: written back unchanged by EncodeSnapshot.
  std::string unknown;

  // The identity `copy` compares: `original` when set, else the snapshot's own id.
  Id Identity(const Id& own_id) const { return original ? *original : own_id; }

  bool HasTag(std::string_view tag) const;
};

// The snapshot file's JSON (format §9). Paths and excludes are bytes: one that is not valid UTF-8
// is written lossily in "paths"/"excludes" and exactly in the parallel "paths_raw"/"excludes_raw"
// (doc/json.md). Tags, hostname and username are text; the archiver refuses tags and a --host
// that are not valid UTF-8 (CheckSnapshotLabels), and any other invalid byte in them is written
// as U+FFFD. `service` and `source` (format §9.1) are written when set, and the `unknown` members
// of the snapshot, its source and the source's restore are merged back in. Never throws.
Bytes EncodeSnapshot(const Snapshot& s);
// The "summary" object of a snapshot's JSON (format §9); the CLI's --json output uses it too.
nlohmann::json SummaryToJson(const SnapshotSummary& m);
// The "source" object of a snapshot's JSON (format §9.1), unknown members included; the CLI's
// --json output uses it too.
nlohmann::json SourceToJson(const SnapshotSource& source);
// Reads "paths_raw"/"excludes_raw" when present (Corruption when they are not as long as
// "paths"/"excludes" or not canonical base64). A "source" without a string "kind", "name" or
// "restore.method" is Corruption; members this Lifeboat does not know are kept in `unknown`.
Result<Snapshot> DecodeSnapshot(ByteView json);

// Tags and the host name are labels that people type and match: they must be valid UTF-8.
// InvalidArgument naming the offending value (invalid bytes shown as \xNN) otherwise.
Status CheckSnapshotLabels(const std::vector<std::string>& tags, const std::string& host);

// A snapshot file that cannot be used: damaged (its content does not match its name, does not
// decrypt or does not decode) or not named like a snapshot. Returned by ListSnapshots(&damaged).
struct DamagedSnapshot {
  std::string name;  // the file's name under snapshots/
  Status problem;
};
// "skipped damaged snapshot file snapshots/<name> (<why>). ..." with what to run.
std::string DescribeDamagedSnapshot(const DamagedSnapshot& d);

// Which snapshots a command applies to (`--host`, `--tag`, `--path`, `--service`); empty fields
// match all.
struct SnapshotFilter {
  std::vector<std::string> hosts;
  std::vector<std::string> tags;   // each entry "a,b" means a AND b; entries are ORed
  std::vector<std::string> paths;  // snapshot must contain all of these paths
  std::vector<std::string> services;  // the snapshot's service is one of these
  // The snapshot's plan source (format §9.1: source.name) is one of these; a snapshot without a
  // source never matches. With `services`, selects one source of one service (the runbook's
  // `restore latest --service S --source X`).
  std::vector<std::string> sources;
  bool Matches(const Snapshot& s) const;
  // True when no field is set (everything matches).
  bool empty() const {
    return hosts.empty() && tags.empty() && paths.empty() && services.empty() && sources.empty();
  }
};

}  // namespace lifeboat
