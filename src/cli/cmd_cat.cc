// lifeboat cat: prints one repository object, decrypted, for debugging and inspection:
// config, key, index, snapshot, tree, lock, run, runs, drills and pack-header as JSON; blob as raw
// bytes.
// Never prints key material (key files are shown without their sealed "data"; there is no
// `cat masterkey`). Takes no lock: it only reads single objects.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "crypto/crypto.h"
#include "pack/pack.h"
#include "runlog/drill_records.h"
#include "runlog/run_records.h"

namespace lifeboat::cli {

namespace {

struct CatFlags {
  std::string type;
  std::string id;
};

constexpr const char* kCatTypes =
    "config, key, index, snapshot, tree, blob, lock, run, runs, drills, pack-header";

// Lowercases and checks a hex id prefix.
Result<std::string> CleanPrefix(const std::string& what, const std::string& ref) {
  std::string p = ref;
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (p.empty() || p.size() > 64 || p.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Status::InvalidArgument("'" + ref + "' is not a " + what +
                                   " id; give a hex id or a unique prefix of one");
  return p;
}

// Resolves a unique prefix of an object name through the backend's listing.
Result<ObjectInfo> ResolveObject(Backend& backend, ObjectType type, const std::string& ref) {
  std::string what(ObjectTypeName(type));
  LB_ASSIGN_OR_RETURN(std::string prefix, CleanPrefix(what, ref));
  std::vector<ObjectInfo> matches;
  LB_RETURN_IF_ERROR(backend.List(type, prefix, [&](const ObjectInfo& info) {
    matches.push_back(info);
    return Status::Ok();
  }));
  if (matches.empty()) return Status::NotFound("no " + what + " id starts with '" + prefix + "'");
  if (matches.size() > 1)
    return Status::InvalidArgument(what + " id prefix '" + prefix + "' is ambiguous (" +
                                   std::to_string(matches.size()) +
                                   " match); give more characters");
  return matches[0];
}

// Resolves a unique prefix of a blob id of `type` through the loaded index.
Result<Id> ResolveBlob(const MasterIndex& index, BlobType type, const std::string& ref) {
  std::string what(BlobTypeName(type));
  what += " blob";
  LB_ASSIGN_OR_RETURN(std::string prefix, CleanPrefix(what, ref));
  if (prefix.size() == 64) {
    Id id = *Id::FromHex(prefix);
    if (!index.Has(type, id)) return Status::NotFound("the index has no " + what + " " + prefix);
    return id;
  }
  std::vector<Id> matches;
  index.ForEach([&](const Id&, const PackedBlob& b) {
    if (b.type == type && b.id.Hex().compare(0, prefix.size(), prefix) == 0 &&
        (matches.empty() || matches.back() != b.id))
      matches.push_back(b.id);
  });
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  if (matches.empty())
    return Status::NotFound("the index has no " + what + " whose id starts with '" + prefix + "'");
  if (matches.size() > 1)
    return Status::InvalidArgument(what + " id prefix '" + prefix + "' is ambiguous (" +
                                   std::to_string(matches.size()) +
                                   " match); give more characters");
  return matches[0];
}

nlohmann::json BlobsJson(const std::vector<PackedBlob>& blobs) {
  nlohmann::json arr = nlohmann::json::array();
  for (const PackedBlob& b : blobs)
    arr.push_back({{"type", std::string(BlobTypeName(b.type))},
                   {"id", b.id.Hex()},
                   {"offset", b.offset},
                   {"length", b.stored_length},
                   {"raw_length", b.raw_length}});
  return arr;
}

// Produces the JSON for every type except blob (which is raw bytes).
Result<nlohmann::json> CatJson(Repository& repo, const std::string& type, const std::string& ref) {
  if (type == "config") return nlohmann::json::parse(ConfigToJson(repo.config()));
  if (type == "snapshot") {
    LB_ASSIGN_OR_RETURN(auto snap, repo.FindSnapshot(ref));
    return SnapshotJson(snap.first, snap.second);
  }
  if (type == "key") {
    LB_ASSIGN_OR_RETURN(ObjectInfo info, ResolveObject(repo.backend(), ObjectType::kKey, ref));
    LB_ASSIGN_OR_RETURN(Bytes file, repo.backend().Load({ObjectType::kKey, info.name}, 0, 0));
    if (HexEncode(crypto::Sha256(file)) != info.name)
      return Status::Corruption("key " + info.name + " does not match its name (damaged)");
    nlohmann::json j = nlohmann::json::parse(file.begin(), file.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::Corruption("key " + info.name + " is not JSON");
    j.erase("data");  // the sealed master key: never printed
    j["id"] = info.name;
    return j;
  }
  if (type == "index") {
    LB_ASSIGN_OR_RETURN(ObjectInfo info, ResolveObject(repo.backend(), ObjectType::kIndex, ref));
    LB_ASSIGN_OR_RETURN(Bytes plain, repo.LoadUnpacked(ObjectType::kIndex, info.name));
    auto file = DecodeIndexFile(plain);
    if (!file.ok()) return file.status().WithContext("index " + info.name);
    nlohmann::json supersedes = nlohmann::json::array();
    for (const Id& id : file->supersedes) supersedes.push_back(id.Hex());
    nlohmann::json packs = nlohmann::json::array();
    for (const auto& p : file->packs)
      packs.push_back({{"id", p.name.Hex()}, {"blobs", BlobsJson(p.blobs)}});
    return nlohmann::json{{"supersedes", supersedes}, {"packs", packs}};
  }
  if (type == "lock") {
    LB_ASSIGN_OR_RETURN(ObjectInfo info, ResolveObject(repo.backend(), ObjectType::kLock, ref));
    LB_ASSIGN_OR_RETURN(Bytes plain, repo.LoadUnpacked(ObjectType::kLock, info.name));
    nlohmann::json j = nlohmann::json::parse(plain.begin(), plain.end(), nullptr, false);
    if (j.is_discarded()) return Status::Corruption("lock " + info.name + " is not JSON");
    return j;
  }
  if (type == "run") {
    // One run-record object as stored (format §12), decrypted.
    LB_ASSIGN_OR_RETURN(ObjectInfo info, ResolveObject(repo.backend(), ObjectType::kRun, ref));
    LB_ASSIGN_OR_RETURN(Bytes plain, repo.LoadUnpacked(ObjectType::kRun, info.name));
    nlohmann::json j = nlohmann::json::parse(plain.begin(), plain.end(), nullptr, false);
    if (j.is_discarded()) return Status::Corruption("run " + info.name + " is not JSON");
    return j;
  }
  if (type == "runs") {
    // Every run record of the repository, merged (one per id), oldest first (doc/json.md).
    LB_ASSIGN_OR_RETURN(RunRecordListing l, ListRunRecords(repo, {}, Context()));
    nlohmann::json records = nlohmann::json::array();
    for (const RunRecord& r : l.records) records.push_back(nlohmann::json::parse(RunRecordJson(r)));
    nlohmann::json unreadable = nlohmann::json::array();
    for (const UnreadableRunObject& u : l.unreadable)
      unreadable.push_back({{"object", u.name},
                            {"newer_version", u.newer_version},
                            {"error", u.status.message()}});
    return nlohmann::json{{"records", records}, {"objects", l.objects}, {"unreadable", unreadable}};
  }
  if (type == "drills") {
    // Every drill record of the repository, merged (one per id), oldest first (doc/json.md).
    LB_ASSIGN_OR_RETURN(DrillRecordListing l, ListDrillRecords(repo, {}, Context()));
    nlohmann::json records = nlohmann::json::array();
    for (const DrillRecord& r : l.records) records.push_back(nlohmann::json::parse(DrillRecordJson(r)));
    nlohmann::json unreadable = nlohmann::json::array();
    for (const UnreadableRunObject& u : l.unreadable)
      unreadable.push_back({{"object", u.name},
                            {"newer_version", u.newer_version},
                            {"error", u.status.message()}});
    return nlohmann::json{{"drills", records}, {"objects", l.objects}, {"unreadable", unreadable}};
  }
  if (type == "pack-header") {
    LB_ASSIGN_OR_RETURN(ObjectInfo info, ResolveObject(repo.backend(), ObjectType::kPack, ref));
    LB_ASSIGN_OR_RETURN(auto blobs,
                        ReadPackHeader(repo.backend(), repo.aead(), info.name, info.size));
    return nlohmann::json{{"id", info.name}, {"size", info.size}, {"blobs", BlobsJson(blobs)}};
  }
  if (type == "tree") {
    LB_RETURN_IF_ERROR(repo.LoadIndex());
    LB_ASSIGN_OR_RETURN(Id id, ResolveBlob(repo.index(), BlobType::kTree, ref));
    LB_ASSIGN_OR_RETURN(Tree tree, repo.LoadTree(id));
    nlohmann::json arr = nlohmann::json::array();
    for (const Node& n : tree.nodes) arr.push_back(NodeJson(n, /*with_ids=*/true));
    return arr;
  }
  return Status::InvalidArgument("cannot cat '" + type + "'; types: " + kCatTypes);
}

bool NeedsId(const std::string& type) {
  return type != "config" && type != "runs" && type != "drills";
}

}  // namespace

void RegisterCat(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("cat", "print a repository object (decrypted)");
  auto f = std::make_shared<CatFlags>();
  cmd->add_option("type", f->type, std::string("object type: ") + kCatTypes)->required();
  cmd->add_option("id", f->id, "object id or unique prefix ('latest' for snapshot)");
  cmd->footer(
      "Prints JSON (indented, or one line with --json); `cat blob` writes the blob's raw "
      "plaintext to stdout. Key material is never printed.");
  cmd->callback([&g, runner, f] {
    *runner = [&g, f]() -> int {
      if (f->type == "masterkey")
        return ReportError(
            g, Status::InvalidArgument("lifeboat never prints key material; there is no `cat "
                                       "masterkey` (use `lifeboat key` to manage passwords)"));
      static const std::vector<std::string> kTypes = {"config", "key",  "index", "snapshot",
                                                      "tree",   "blob", "lock",  "run",
                                                      "runs",   "drills", "pack-header"};
      if (std::find(kTypes.begin(), kTypes.end(), f->type) == kTypes.end())
        return ReportError(
            g, Status::InvalidArgument("cannot cat '" + f->type + "'; types: " + kCatTypes));
      if (NeedsId(f->type) && f->id.empty())
        return ReportError(g, Status::InvalidArgument("`cat " + f->type + "` needs an id"));
      if (!NeedsId(f->type) && !f->id.empty())
        return ReportError(g, Status::InvalidArgument("`cat " + f->type + "` takes no id"));
      auto repo = OpenRepository(g);
      if (!repo.ok()) return ReportError(g, repo.status());
      if (f->type == "blob") {
        Status st = (*repo)->LoadIndex();
        if (!st.ok()) return ReportError(g, st);
        auto id = ResolveBlob((*repo)->index(), BlobType::kData, f->id);
        if (!id.ok()) return ReportError(g, id.status());
        auto data = (*repo)->LoadBlob(BlobType::kData, *id);
        if (!data.ok()) return ReportError(g, data.status());
        std::cout.write(reinterpret_cast<const char*>(data->data()),
                        static_cast<std::streamsize>(data->size()));
        std::cout.flush();
        if (!std::cout) return ReportError(g, Status::IOError("writing to stdout failed"));
        return kExitOk;
      }
      auto j = CatJson(**repo, f->type, f->id);
      if (!j.ok()) return ReportError(g, j.status());
      std::cout << DumpJson(*j, g.json ? -1 : 2) << std::endl;
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
