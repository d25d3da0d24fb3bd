#include "repository/snapshot.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "repository/json_fields.h"
#include "repository/keys.h"
#include "util/json_bytes.h"

namespace lifeboat {

using json_fields::IntegerAt;
using json_fields::IntegerOr;
using nlohmann::json;

bool Snapshot::HasTag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

json SummaryToJson(const SnapshotSummary& m) {
  return {{"backup_start", FormatTime(m.backup_start_ns)},
          {"backup_end", FormatTime(m.backup_end_ns)},
          {"files_new", m.files_new},
          {"files_changed", m.files_changed},
          {"files_unmodified", m.files_unmodified},
          {"dirs_new", m.dirs_new},
          {"dirs_changed", m.dirs_changed},
          {"dirs_unmodified", m.dirs_unmodified},
          {"data_blobs", m.data_blobs},
          {"tree_blobs", m.tree_blobs},
          {"data_added", m.data_added},
          {"data_added_packed", m.data_added_packed},
          {"total_files_processed", m.total_files_processed},
          {"total_bytes_processed", m.total_bytes_processed},
          {"bytes_read", m.bytes_read},
          {"errors", m.errors}};
}

// Adds the members of `unknown` (a JSON object's text) that `j` does not have. Text that is not
// an object (it never is: DecodeSnapshot made it) is ignored rather than failing the encode.
static void MergeUnknown(json& j, const std::string& unknown) {
  if (unknown.empty()) return;
  json extra = json::parse(unknown, nullptr, false);
  if (!extra.is_object()) return;
  for (auto& [key, value] : extra.items())
    if (!j.contains(key)) j[key] = value;
}

// The members of `j` whose names are not in `known`, as a JSON object's text ("" when none).
static std::string UnknownMembers(const json& j, std::initializer_list<std::string_view> known) {
  json extra = json::object();
  for (auto& [key, value] : j.items())
    if (std::find(known.begin(), known.end(), key) == known.end()) extra[key] = value;
  return extra.empty() ? std::string() : DumpJson(extra);
}

json SourceToJson(const SnapshotSource& source) {
  const SourceRestore& r = source.restore;
  json restore = {{"method", r.method}};
  if (!r.files.empty()) PutBytesArray(restore, "files", r.files);
  if (!r.original_path.empty()) PutBytes(restore, "original_path", r.original_path);
  for (auto [key, value] : {std::pair{"format", &r.format}, std::pair{"tool", &r.tool},
                            std::pair{"tool_version", &r.tool_version},
                            std::pair{"server_version", &r.server_version}})
    if (!value->empty()) restore[key] = *value;
  if (r.server_version_num != 0) restore["server_version_num"] = r.server_version_num;
  if (!r.databases.empty()) restore["databases"] = r.databases;
  if (!r.command.empty()) PutBytesArray(restore, "command", r.command);
  if (!r.notes.empty()) restore["notes"] = r.notes;
  MergeUnknown(restore, r.unknown);
  json j = {{"name", source.name}, {"kind", source.kind}, {"restore", std::move(restore)}};
  MergeUnknown(j, source.unknown);
  return j;
}

static Result<SnapshotSource> DecodeSource(const json& j) {
  if (!j.is_object()) return Status::Corruption("snapshot's source is not an object");
  SnapshotSource out;
  for (auto [key, field] : {std::pair{"name", &out.name}, std::pair{"kind", &out.kind}}) {
    if (!j.contains(key) || !j[key].is_string())
      return Status::Corruption(std::string("snapshot's source has no ") + key);
    *field = j[key].get<std::string>();
  }
  if (!j.contains("restore") || !j["restore"].is_object())
    return Status::Corruption("snapshot's source has no restore object");
  const json& r = j["restore"];
  SourceRestore& restore = out.restore;
  if (!r.contains("method") || !r["method"].is_string())
    return Status::Corruption("snapshot's source has no restore method");
  restore.method = r["method"].get<std::string>();
  if (r.contains("files")) {
    LB_ASSIGN_OR_RETURN(restore.files, GetBytesArray(r, "files"));
  }
  if (r.contains("original_path")) {
    LB_ASSIGN_OR_RETURN(restore.original_path, GetBytes(r, "original_path"));
  }
  for (auto [key, field] : {std::pair{"format", &restore.format}, std::pair{"tool", &restore.tool},
                            std::pair{"tool_version", &restore.tool_version},
                            std::pair{"server_version", &restore.server_version},
                            std::pair{"notes", &restore.notes}})
    *field = r.value(key, std::string());
  restore.server_version_num = IntegerOr<int64_t>(r, "server_version_num", 0);
  restore.databases = r.value("databases", std::vector<std::string>{});
  if (r.contains("command")) {
    LB_ASSIGN_OR_RETURN(restore.command, GetBytesArray(r, "command"));
  }
  restore.unknown = UnknownMembers(
      r, {"method", "files", "files_raw", "original_path", "original_path_raw", "format", "tool",
          "tool_version", "server_version", "server_version_num", "databases", "command",
          "command_raw", "notes"});
  out.unknown = UnknownMembers(j, {"name", "kind", "restore"});
  return out;
}

Bytes EncodeSnapshot(const Snapshot& s) {
  json j = {{"version", 1},
            {"time", FormatTime(s.time_ns)},
            {"hostname", s.hostname},
            {"username", s.username},
            {"uid", s.uid},
            {"gid", s.gid},
            {"tags", s.tags},
            {"tree", s.tree.Hex()},
            {"program_version", s.program_version},
            {"incomplete", s.incomplete},
            {"summary", SummaryToJson(s.summary)}};
  PutBytesArray(j, "paths", s.paths);
  PutBytesArray(j, "excludes", s.excludes);
  if (s.parent) j["parent"] = s.parent->Hex();
  if (s.original) j["original"] = s.original->Hex();
  if (s.repaired_from) j["repaired_from"] = s.repaired_from->Hex();
  if (!s.service.empty()) j["service"] = s.service;
  if (s.source) j["source"] = SourceToJson(*s.source);
  MergeUnknown(j, s.unknown);
  std::string text = DumpJson(j);
  return Bytes(text.begin(), text.end());
}

Result<Snapshot> DecodeSnapshot(ByteView data) {
  json j = json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("snapshot is not JSON");
  Snapshot s;
  try {
    int64_t version = IntegerAt<int64_t>(j, "version");
    if (version != 1)
      return Status::Corruption("snapshot version " + std::to_string(version) +
                                " is not supported by this Lifeboat (knows 1)");
    auto time = ParseTime(j.at("time").get<std::string>());
    if (!time.ok())
      return Status::Corruption("snapshot has a bad time: " + time.status().message());
    s.time_ns = *time;
    s.hostname = j.at("hostname").get<std::string>();
    s.username = j.value("username", "");
    s.uid = IntegerOr<uint32_t>(j, "uid", 0);
    s.gid = IntegerOr<uint32_t>(j, "gid", 0);
    if (!j.contains("paths")) return Status::Corruption("snapshot has no paths");
    auto paths = GetBytesArray(j, "paths");
    if (!paths.ok()) return paths.status().WithContext("snapshot");
    s.paths = std::move(*paths);
    s.tags = j.value("tags", std::vector<std::string>{});
    auto excludes = GetBytesArray(j, "excludes");
    if (!excludes.ok()) return excludes.status().WithContext("snapshot");
    s.excludes = std::move(*excludes);
    s.program_version = j.value("program_version", "");
    s.incomplete = j.value("incomplete", false);
    auto tree = Id::FromHex(j.at("tree").get<std::string>());
    if (!tree) return Status::Corruption("snapshot has a bad tree id");
    s.tree = *tree;
    if (j.contains("parent")) {
      auto parent = Id::FromHex(j["parent"].get<std::string>());
      if (!parent) return Status::Corruption("snapshot has a bad parent id");
      s.parent = *parent;
    }
    for (auto [key, field] : {std::pair{"original", &s.original},
                              std::pair{"repaired_from", &s.repaired_from}}) {
      if (!j.contains(key)) continue;
      auto id = Id::FromHex(j[key].get<std::string>());
      if (!id) return Status::Corruption(std::string("snapshot has a bad ") + key + " id");
      *field = *id;
    }
    s.service = j.value("service", std::string());
    if (j.contains("source")) {
      auto source = DecodeSource(j["source"]);
      if (!source.ok()) return source.status();
      s.source = std::move(*source);
    }
    s.unknown = UnknownMembers(
        j, {"version", "time", "hostname", "username", "uid", "gid", "paths", "paths_raw", "tags",
            "tree", "excludes", "excludes_raw", "program_version", "incomplete", "summary",
            "parent", "original", "repaired_from", "service", "source"});
    if (j.contains("summary")) {
      const json& m = j["summary"];
      SnapshotSummary& out = s.summary;
      auto t = [&](const char* k) -> int64_t {
        auto r = ParseTime(m.value(k, std::string("1970-01-01T00:00:00Z")));
        return r.ok() ? *r : 0;
      };
      out.backup_start_ns = t("backup_start");
      out.backup_end_ns = t("backup_end");
      out.files_new = IntegerOr<uint64_t>(m, "files_new", 0);
      out.files_changed = IntegerOr<uint64_t>(m, "files_changed", 0);
      out.files_unmodified = IntegerOr<uint64_t>(m, "files_unmodified", 0);
      out.dirs_new = IntegerOr<uint64_t>(m, "dirs_new", 0);
      out.dirs_changed = IntegerOr<uint64_t>(m, "dirs_changed", 0);
      out.dirs_unmodified = IntegerOr<uint64_t>(m, "dirs_unmodified", 0);
      out.data_blobs = IntegerOr<uint64_t>(m, "data_blobs", 0);
      out.tree_blobs = IntegerOr<uint64_t>(m, "tree_blobs", 0);
      out.data_added = IntegerOr<uint64_t>(m, "data_added", 0);
      out.data_added_packed = IntegerOr<uint64_t>(m, "data_added_packed", 0);
      out.total_files_processed = IntegerOr<uint64_t>(m, "total_files_processed", 0);
      out.total_bytes_processed = IntegerOr<uint64_t>(m, "total_bytes_processed", 0);
      out.bytes_read = IntegerOr<uint64_t>(m, "bytes_read", 0);
      out.errors = IntegerOr<uint64_t>(m, "errors", 0);
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("snapshot: ") + e.what());
  }
  return s;
}

// `s` with every byte that is not part of valid UTF-8 shown as \xNN, for error messages.
static std::string ShowBytes(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    while (n <= 4 && i + n <= s.size() && !IsValidUtf8(s.substr(i, n))) ++n;
    if (n <= 4 && i + n <= s.size()) {
      out += s.substr(i, n);
      i += n;
      continue;
    }
    char buf[8];
    snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
    out += buf;
    ++i;
  }
  return out;
}

Status CheckSnapshotLabels(const std::vector<std::string>& tags, const std::string& host) {
  for (const auto& tag : tags)
    if (!IsValidUtf8(tag))
      return Status::InvalidArgument("tag '" + ShowBytes(tag) +
                                     "' is not valid UTF-8: tags are labels and must be text");
  if (!IsValidUtf8(host))
    return Status::InvalidArgument("host name '" + ShowBytes(host) +
                                   "' is not valid UTF-8: host names are labels and must be text");
  return Status::Ok();
}

static std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool SnapshotFilter::Matches(const Snapshot& s) const {
  if (!hosts.empty() && std::find(hosts.begin(), hosts.end(), s.hostname) == hosts.end())
    return false;
  if (!tags.empty()) {
    bool any = false;
    for (const auto& group : tags) {
      bool all = true;
      for (const auto& t : SplitComma(group)) all = all && s.HasTag(t);
      any = any || all;
    }
    if (!any) return false;
  }
  if (!services.empty() &&
      std::find(services.begin(), services.end(), s.service) == services.end())
    return false;
  if (!sources.empty() &&
      (!s.source || std::find(sources.begin(), sources.end(), s.source->name) == sources.end()))
    return false;
  for (const auto& p : paths) {
    if (std::find(s.paths.begin(), s.paths.end(), p) == s.paths.end()) return false;
  }
  return true;
}

std::string DescribeDamagedSnapshot(const DamagedSnapshot& d) {
  if (!Id::FromHex(d.name))
    return "snapshots/" + d.name + " is not named like a snapshot (" + d.problem.message() +
           ") and was skipped; if nothing of yours put it there, remove the file";
  return "skipped damaged snapshot file snapshots/" + d.name + " (" + d.problem.message() +
         "). If no other repository holds an intact copy to bring back, remove it with "
         "`lifeboat repair snapshots --forget " + d.name + "`";
}

}  // namespace lifeboat
