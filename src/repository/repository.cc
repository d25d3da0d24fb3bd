#include "repository/repository.h"

#include "backend/append_only_backend.h"

#include <algorithm>
#include <tuple>
#include <mutex>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <thread>

#include "repository/json_fields.h"
#include "util/parallel_for.h"
#include "util/status_detail.h"
#include "util/per_thread.h"

namespace lifeboat {

using nlohmann::json;

// `st` with a Damage detail naming the object (util/status_detail.h). A snapshot file named
// like a snapshot is the one snapshot its damage affects.
static Status WithDamage(const Status& st, std::string_view object_type, std::string object,
                         std::string pack = "") {
  Damage d;
  d.object_type = std::string(object_type);
  if (object_type == "snapshot")
    if (auto id = Id::FromHex(object)) d.snapshots.push_back(*id);
  d.object = std::move(object);
  d.pack = std::move(pack);
  return st.WithDetail(std::move(d));
}

static constexpr char kConfigMagic[8] = {'L', 'I', 'F', 'E', 'B', 'O', 'A', 'T'};

std::string ConfigToJson(const RepositoryConfig& c) {
  json j = {{"version", c.version},
            {"id", c.id.Hex()},
            {"chunker",
             {{"min", c.chunker.min_size}, {"avg", c.chunker.avg_size}, {"max", c.chunker.max_size}}},
            {"compression", c.compression_level},
            {"pack_size", c.pack_size},
            {"created", c.created}};
  if (c.append_only) j["append_only"] = true;
  if (c.replica_of) j["replica_of"] = c.replica_of->Hex();
  return j.dump();
}

Result<Bytes> EncodeConfig(const RepositoryConfig& c, const crypto::Aead& aead) {
  ByteWriter w;
  w.PutBytes(AsBytes(std::string_view(kConfigMagic, 8)));
  w.PutU32(c.version);
  LB_RETURN_IF_ERROR(aead.SealAppend(AsBytes(ConfigToJson(c)), &w.data()));
  return w.Release();
}

Status CheckConfigHeader(ByteView data) {
  if (data.size() < 12 || std::memcmp(data.data(), kConfigMagic, 8) != 0)
    return Status::NoRepository("not a Lifeboat repository (config has no LIFEBOAT magic)");
  uint32_t version = LoadLE32(data.data() + 8);
  if (version != kRepositoryVersion)
    return Status::FailedPrecondition("repository format version " + std::to_string(version) +
                                      " needs a newer Lifeboat (this one knows version 1)");
  return Status::Ok();
}

Result<RepositoryConfig> DecodeConfig(ByteView data, const crypto::Aead& aead) {
  LB_RETURN_IF_ERROR(CheckConfigHeader(data));
  Bytes plain;
  if (!aead.Open(data.subspan(12), &plain).ok())
    return Status::Corruption("config: authentication failed (damaged or tampered)");
  json j = json::parse(plain.begin(), plain.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("config is not JSON");
  RepositoryConfig c;
  try {
    c.version = json_fields::IntegerAt<uint32_t>(j, "version");
    auto id = Id::FromHex(j.at("id").get<std::string>());
    if (!id) return Status::Corruption("config: bad repository id");
    c.id = *id;
    c.chunker.min_size = json_fields::IntegerAt<size_t>(j.at("chunker"), "min");
    c.chunker.avg_size = json_fields::IntegerAt<size_t>(j.at("chunker"), "avg");
    c.chunker.max_size = json_fields::IntegerAt<size_t>(j.at("chunker"), "max");
    c.compression_level = json_fields::IntegerAt<int>(j, "compression");
    c.pack_size = json_fields::IntegerAt<uint64_t>(j, "pack_size");
    c.created = j.value("created", "");
    c.append_only = j.value("append_only", false);
    if (j.contains("replica_of")) {
      auto source = Id::FromHex(j["replica_of"].get<std::string>());
      if (!source) return Status::Corruption("config: bad replica_of id");
      c.replica_of = *source;
    }
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("config: ") + e.what());
  }
  if (c.version != kRepositoryVersion)
    return Status::Corruption("config: sealed version " + std::to_string(c.version) +
                              " does not match the header's version " +
                              std::to_string(kRepositoryVersion));
  Status st = Chunker::ValidateParams(c.chunker);
  if (!st.ok()) return Status::Corruption("config: " + st.message());
  if (c.chunker.max_size > kMaxBlobSize || c.pack_size < (1u << 20) || c.pack_size > (1u << 30) ||
      c.compression_level < -7 || c.compression_level > 22)
    return Status::Corruption("config: parameters out of range");
  return c;
}

Repository::Repository(std::unique_ptr<Backend> backend, RepositoryConfig config,
                       MasterKey master, std::string key_name)
    : backend_(std::move(backend)),
      config_(std::move(config)),
      master_(std::move(master)),
      key_name_(std::move(key_name)),
      aead_(master_.enc),
      id_mac_(master_.id),
      codec_(aead_, id_mac_, config_.compression_level),
      gear_(GearTable::FromSecret(master_.chunker.bytes)),
      chunker_(gear_, config_.chunker) {}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<Backend> backend,
                                                     std::string_view password,
                                                     const InitOptions& options) {
  // Only a definite NotFound means "no repository here": on any other Stat error (say, a
  // transient network failure) writing a key file could put a stray key into an existing one.
  auto existing = backend->Stat({ObjectType::kConfig, ""});
  if (existing.ok())
    return Status::AlreadyExists(backend->Location() + " already holds a Lifeboat repository");
  if (!existing.status().IsNotFound())
    return existing.status().WithContext("checking " + backend->Location() + " for a config");
  if (password.empty()) return Status::InvalidArgument("an empty password is not allowed");
  if (options.compression_level < -7 || options.compression_level > 22)
    return Status::InvalidArgument("compression level must be between -7 and 22");
  if (options.pack_size < (1u << 20) || options.pack_size > (1u << 30))
    return Status::InvalidArgument("pack size must be between 1 MiB and 1 GiB");
  RepositoryConfig config;
  LB_RETURN_IF_ERROR(crypto::RandomBytes(config.id.bytes));
  config.compression_level = options.compression_level;
  config.pack_size = options.pack_size;
  config.created = FormatTime(NowNs());
  config.append_only = options.append_only;
  MasterKey master;
  if (options.replica_of) {
    LB_RETURN_IF_ERROR(Chunker::ValidateParams(options.replica_of->chunker));
    config.chunker = options.replica_of->chunker;
    config.replica_of = options.replica_of->repository_id;
    master = options.replica_of->master;
  } else {
    master = MasterKey::Generate();
  }
  LB_ASSIGN_OR_RETURN(Bytes key_file, CreateKeyFile(master, password, options.kdf));
  std::string key_name = HexEncode(crypto::Sha256(key_file));
  // Key first, config last: a repository without config is not a repository yet, so an
  // interrupted init can simply be run again.
  LB_RETURN_IF_ERROR(backend->Save({ObjectType::kKey, key_name}, key_file));
  crypto::Aead aead(master.enc);
  LB_ASSIGN_OR_RETURN(Bytes config_bytes, EncodeConfig(config, aead));
  LB_RETURN_IF_ERROR(backend->Save({ObjectType::kConfig, ""}, config_bytes));
  std::unique_ptr<Repository> repo(
      new Repository(std::move(backend), std::move(config), std::move(master), key_name));
  repo->EnforceAppendOnly(nullptr);
  return repo;
}

void Repository::EnforceAppendOnly(const KeyFileInfo* key) {
  if (config_.append_only)
    append_only_reason_ = "the repository is append-only (set at init, permanent)";
  key_append_only_ = key && key->append_only;
  if (!config_.append_only && key_append_only_)
    append_only_reason_ = "key " + key_name_.substr(0, 8) +
                          " is append-only; use a key without that restriction for maintenance";
  if (append_only())
    backend_ = std::make_unique<AppendOnlyBackend>(std::move(backend_), append_only_reason_);
}

Status Repository::CheckNotAppendOnly(std::string_view what) const {
  if (!append_only()) return Status::Ok();
  return Status::FailedPrecondition(std::string(what) + " is refused: " + append_only_reason_);
}

Result<std::vector<std::pair<std::string, KeyFileInfo>>> ListKeys(Backend& backend) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(backend.List(ObjectType::kKey, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::string, KeyFileInfo>> out;
  for (const auto& name : names) {
    LB_ASSIGN_OR_RETURN(Bytes file, backend.Load({ObjectType::kKey, name}, 0, 0));
    if (HexEncode(crypto::Sha256(file)) != name)
      return Status::Corruption("key " + name + " does not match its name (damaged)");
    auto info = ParseKeyFileInfo(file);
    if (!info.ok()) return info.status().WithContext("key " + name);
    out.emplace_back(name, std::move(*info));
  }
  return out;
}

// True when the backend holds a restic repository: a config without Lifeboat's magic (restic's is
// encrypted) beside key files in restic's JSON form ("kdf" and a capital "N"; Lifeboat writes "n").
static bool IsResticRepository(Backend& backend) {
  std::string first;
  Status listed = backend.List(ObjectType::kKey, "", [&](const ObjectInfo& info) {
    first = info.name;
    return Status::Cancelled("one is enough");
  });
  if (first.empty()) return false;
  listed.IgnoreError();
  auto file = backend.Load({ObjectType::kKey, first}, 0, 0);
  if (!file.ok()) return false;
  json j = json::parse(file->begin(), file->end(), nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("kdf") && j.contains("N") && !j.contains("n") &&
         j.contains("salt") && j.contains("data");
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<Backend> backend,
                                                     std::string_view password) {
  auto config_bytes = backend->Load({ObjectType::kConfig, ""}, 0, 0);
  if (!config_bytes.ok()) {
    if (config_bytes.status().IsNotFound())
      return Status::NoRepository(backend->Location() +
                                  " is not a Lifeboat repository (no config); run `lifeboat init`");
    return config_bytes.status();
  }
  if (Status header = CheckConfigHeader(*config_bytes); !header.ok()) {
    if (header.code() == StatusCode::kNoRepository && IsResticRepository(*backend))
      return Status::NoRepository(backend->Location() +
                                  " is a restic repository, not a Lifeboat one: Lifeboat cannot "
                                  "read it (use restic; `lifeboat init` makes a new repository)");
    return header.WithContext(backend->Location());
  }
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(backend->List(ObjectType::kKey, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  if (names.empty()) return Status::Corruption(backend->Location() + " has no key files");
  std::sort(names.begin(), names.end());
  std::vector<std::string> damaged;  // "key file <name> is damaged: why", one per damaged key
  bool intact_key = false;  // a key the password did not open, but whose file is sound
  Status load_problem;      // a key file that could not be read: the password is still unchecked
  Status config_problem;    // a key that opened but does not decrypt the config (a stray key)
  for (const auto& name : names) {
    auto file = backend->Load({ObjectType::kKey, name}, 0, 0);
    if (!file.ok()) {
      load_problem = file.status().WithContext("key " + name);
      continue;
    }
    auto master = OpenNamedKeyFile(name, *file, password);
    if (!master.ok()) {
      if (master.status().code() == StatusCode::kUnauthenticated) intact_key = true;
      else damaged.push_back(master.status().message());
      continue;
    }
    crypto::Aead aead(master->enc);
    auto config = DecodeConfig(*config_bytes, aead);
    if (!config.ok()) {
      // Either the config is damaged or this key wraps other master keys (e.g. left behind by an
      // interrupted init); another key may still match.
      config_problem = config.status().WithContext("with key " + name);
      continue;
    }
    auto info = ParseKeyFileInfo(*file);
    if (!info.ok()) return info.status().WithContext("key " + name);
    std::unique_ptr<Repository> repo(new Repository(std::move(backend), std::move(*config),
                                                    std::move(*master), name));
    repo->EnforceAppendOnly(&*info);
    return repo;
  }
  if (!config_problem.ok()) return config_problem;
  if (!load_problem.ok()) return load_problem;
  std::string list;
  for (const auto& d : damaged) list += "\n  " + d;
  if (!intact_key)  // every key file is damaged: no password can be checked, let alone match
    return Status::Corruption(
        "no key of " + backend->Location() + " can be opened: every key file is damaged" + list +
        "\nRestore the keys/ directory from a replica or a backup of the repository, or open a "
        "replica (`init --replica-of`) with its own key.");
  std::string msg = "no key in " + backend->Location() + " matches the password";
  if (!damaged.empty())
    msg += " (the password was checked only against the intact keys; if it belongs to a damaged "
           "one, restore that key file from a replica or a backup):" + list;
  return Status::Unauthenticated(msg);
}

Result<std::unique_ptr<Repository>> Repository::OpenReplica(std::unique_ptr<Backend> backend,
                                                            const Repository& source) {
  auto config_bytes = backend->Load({ObjectType::kConfig, ""}, 0, 0);
  if (!config_bytes.ok()) {
    if (config_bytes.status().IsNotFound())
      return Status::NoRepository(backend->Location() +
                                  " is not a Lifeboat repository (no config); create it as a "
                                  "replica with `lifeboat init --replica-of " +
                                  source.backend_->Location() + "`");
    return config_bytes.status();
  }
  LB_RETURN_IF_ERROR(CheckConfigHeader(*config_bytes).WithContext(backend->Location()));
  auto not_replica = [&](std::string_view why) {
    return Status::FailedPrecondition(
        backend->Location() + " is not a replica of " + source.backend_->Location() + " (" +
        std::string(why) + "): sites written together must share key material; create it with "
        "`lifeboat init --replica-of " + source.backend_->Location() + "`, or use `lifeboat "
        "copy` to send snapshots to an independent repository");
  };
  auto config = DecodeConfig(*config_bytes, source.aead_);
  if (!config.ok()) {
    if (config.status().code() == StatusCode::kCorruption)
      return not_replica("its config does not open with that repository's keys: another "
                         "repository, or its config is damaged");
    return config.status().WithContext(backend->Location());
  }
  const ChunkerParams& a = config->chunker;
  const ChunkerParams& b = source.config_.chunker;
  if (a.min_size != b.min_size || a.avg_size != b.avg_size || a.max_size != b.max_size)
    return not_replica("its chunker parameters differ");
  std::unique_ptr<Repository> repo(
      new Repository(std::move(backend), std::move(*config), source.master_, ""));
  repo->EnforceAppendOnly(nullptr);
  return repo;
}

Result<std::unique_ptr<Repository>> Repository::OpenAgain(std::unique_ptr<Backend> backend,
                                                          const Repository& same) {
  auto config_bytes = backend->Load({ObjectType::kConfig, ""}, 0, 0);
  if (!config_bytes.ok()) {
    if (config_bytes.status().IsNotFound())
      return Status::NoRepository(backend->Location() + " is not a Lifeboat repository (no config)");
    return config_bytes.status();
  }
  LB_RETURN_IF_ERROR(CheckConfigHeader(*config_bytes).WithContext(backend->Location()));
  auto config = DecodeConfig(*config_bytes, same.aead_);
  if (!config.ok() || config->id != same.config_.id) {
    return Status::FailedPrecondition(
        backend->Location() + " no longer holds the repository opened before (" +
        same.config_.id.Hex().substr(0, 8) + "): it was replaced; open it again with its password");
  }
  std::unique_ptr<Repository> repo(
      new Repository(std::move(backend), std::move(*config), same.master_, same.key_name_));
  KeyFileInfo key;
  key.append_only = same.key_append_only_;
  repo->EnforceAppendOnly(&key);
  return repo;
}

namespace {

// PasswordProof's MAC: HMAC(HMAC(enc, "lifeboat-password-proof-v1"), key_name || 0x00 || password).
std::string MakePasswordProof(const MasterKey& master, std::string_view key_name,
                              std::string_view password) {
  const std::string_view label = "lifeboat-password-proof-v1";
  const crypto::Digest derived = crypto::HmacSha256(master.enc).Mac(
      ByteView(reinterpret_cast<const uint8_t*>(label.data()), label.size()));
  Result<crypto::SecretKey> key = crypto::SecretKey::FromBytes(ByteView(derived.data(), derived.size()));
  std::string message(key_name);
  message.push_back('\0');
  message.append(password);
  const crypto::Digest mac = crypto::HmacSha256(*key).Mac(
      ByteView(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
  OPENSSL_cleanse(message.data(), message.size());
  return HexEncode(ByteView(mac.data(), mac.size()));
}

}  // namespace

std::string Repository::PasswordProof(std::string_view password) const {
  if (key_name_.empty()) return "";
  return MakePasswordProof(master_, key_name_, password);
}

Result<std::unique_ptr<Repository>> Repository::OpenWithPasswordProof(
    std::unique_ptr<Backend> backend, const Repository& material, std::string_view key_name,
    std::string_view password, std::string_view proof) {
  const std::string expected = MakePasswordProof(material.master_, key_name, password);
  if (proof.size() != expected.size() ||
      !crypto::ConstantTimeEqual(
          ByteView(reinterpret_cast<const uint8_t*>(proof.data()), proof.size()),
          ByteView(reinterpret_cast<const uint8_t*>(expected.data()), expected.size())))
    return Status::FailedPrecondition("the password proof for key " +
                                      std::string(key_name.substr(0, 8)) + " does not hold");
  auto file = backend->Load({ObjectType::kKey, std::string(key_name)}, 0, 0);
  if (!file.ok()) {
    if (file.status().IsNotFound())
      return Status::FailedPrecondition("key " + std::string(key_name.substr(0, 8)) + " of " +
                                        backend->Location() + " is gone");
    return file.status();
  }
  if (HexEncode(crypto::Sha256(*file)) != key_name)
    return Status::FailedPrecondition("key " + std::string(key_name.substr(0, 8)) + " of " +
                                      backend->Location() + " does not match its name");
  LB_ASSIGN_OR_RETURN(KeyFileInfo info, ParseKeyFileInfo(*file));
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo, OpenReplica(std::move(backend), material));
  // OpenReplica wrapped the backend when the config is append-only; otherwise the key's
  // restriction is enforced (and named) here, as Open does.
  repo->key_name_ = std::string(key_name);
  if (repo->config_.append_only) repo->key_append_only_ = info.append_only;
  else repo->EnforceAppendOnly(&info);
  return repo;
}

Result<std::string> Repository::AddKey(std::string_view password, const KdfParams& kdf,
                                       bool append_only) {
  if (password.empty()) return Status::InvalidArgument("an empty password is not allowed");
  LB_ASSIGN_OR_RETURN(Bytes file, CreateKeyFile(master_, password, kdf, append_only || key_append_only_));
  std::string name = HexEncode(crypto::Sha256(file));
  LB_RETURN_IF_ERROR(backend_->Save({ObjectType::kKey, name}, file));
  keys_added_.push_back(name);
  return name;
}

Status Repository::RemoveKey(const std::string& name) {
  LB_ASSIGN_OR_RETURN(auto keys, ListKeys(*backend_));
  bool found = false;
  for (const auto& [n, info] : keys) found = found || n == name;
  if (!found) return Status::NotFound("no key named " + name);
  // Counting key files is not enough: one may be a stray key of an interrupted init, which opens
  // nothing. Only keys proven in this session (opened with, or added) count as a way back in.
  std::vector<std::string> proven = keys_added_;
  proven.push_back(key_name_);
  bool other = false;
  for (const auto& k : proven) {
    bool gone = std::find(keys_removed_.begin(), keys_removed_.end(), k) != keys_removed_.end();
    other = other || (k != name && !gone);
  }
  if (!other)
    return Status::FailedPrecondition(
        "refusing to remove key " + name.substr(0, 8) +
        ": it is the key currently in use (the one your password opened), and no other key is "
        "known to open this repository; open the repository with another key's password to "
        "remove it, or use `lifeboat key passwd` to replace it");
  LB_RETURN_IF_ERROR(backend_->Remove({ObjectType::kKey, name}));
  keys_removed_.push_back(name);
  return Status::Ok();
}

Result<Id> Repository::SaveUnpacked(ObjectType type, ByteView plaintext) {
  LB_ASSIGN_OR_RETURN(Bytes sealed, aead_.Seal(plaintext));
  Id name{crypto::Sha256(sealed)};
  LB_RETURN_IF_ERROR(backend_->Save({type, name.Hex()}, sealed));
  return name;
}

Result<Bytes> Repository::LoadUnpacked(ObjectType type, const std::string& name) {
  Result<Bytes> here = LoadUnpackedHere(type, name);
  if (here.ok() || fallbacks_.empty()) return here;
  return FromFallbacks(std::string(ObjectTypeName(type)) + " " + name, here.status(),
                       [&](Repository& replica) { return replica.LoadUnpacked(type, name); });
}

Result<Bytes> Repository::LoadUnpackedHere(ObjectType type, const std::string& name) {
  std::string what = std::string(ObjectTypeName(type)) + " " + name;
  auto data = backend_->Load({type, name}, 0, 0);
  if (!data.ok()) return data.status().WithContext(what);
  if (HexEncode(crypto::Sha256(*data)) != name) {
    // Bytes damaged in transit (a flaky link, a short read the backend could not notice) differ
    // from one read to the next; damage at rest does not. Read once more before calling it
    // damaged.
    data = backend_->Load({type, name}, 0, 0);
    if (!data.ok()) return data.status().WithContext(what);
    if (HexEncode(crypto::Sha256(*data)) != name)
      return WithDamage(
          Status::Corruption(what + " is damaged: its content does not match its name"),
          ObjectTypeName(type), name);
  }
  Bytes plain;
  if (!aead_.Open(*data, &plain).ok())
    return WithDamage(Status::Corruption(what + " is damaged: authentication failed"),
                      ObjectTypeName(type), name);
  return plain;
}

Status Repository::LoadIndex() {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(backend_->List(ObjectType::kIndex, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  // Pass 1 loads everything; superseded files exist only after a crash in the middle of prune or
  // `repair index`, so only then is a second pass (without them) needed.
  std::unordered_set<Id, IdHash> superseded;
  std::vector<Id> loaded;
  LB_RETURN_IF_ERROR(LoadIndexFiles(names, &superseded, &loaded));
  std::vector<std::string> in_force;
  superseded_index_files_.clear();
  for (const auto& name : names) {
    auto id = Id::FromHex(name);
    if (id && superseded.count(*id))
      superseded_index_files_.push_back(*id);
    else
      in_force.push_back(name);
  }
  if (!superseded_index_files_.empty()) {
    index_.Clear();
    std::unordered_set<Id, IdHash> ignored;
    loaded.clear();
    LB_RETURN_IF_ERROR(LoadIndexFiles(in_force, &ignored, &loaded));
  }
  index_files_ = std::move(loaded);
  index_.Compact();
  return Status::Ok();
}

Status Repository::LoadIndexFiles(const std::vector<std::string>& names,
                                  std::unordered_set<Id, IdHash>* superseded,
                                  std::vector<Id>* loaded,
                                  const std::unordered_set<Id, IdHash>* skip,
                                  uint64_t* skipped_blobs) {
  // Decrypting and decoding is CPU-bound: spread it over the cores.
  std::mutex mu;
  int workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return ParallelForUntilError(names.size(), workers, [&](size_t i) -> Status {
    auto plain = LoadUnpacked(ObjectType::kIndex, names[i]);
    Result<IndexFile> file =
        plain.ok() ? DecodeIndexFile(*plain) : Result<IndexFile>(plain.status());
    if (!file.ok()) return file.status().WithContext("index " + names[i]);
    uint64_t skipped = 0;
    for (const auto& pack : file->packs) {
      if (!skip || !skip->count(pack.name))
        index_.BulkAdd(pack.name, pack.blobs);
      else
        skipped += pack.blobs.size();
    }
    std::lock_guard lock(mu);
    if (skipped_blobs) *skipped_blobs += skipped;
    superseded->insert(file->supersedes.begin(), file->supersedes.end());
    if (auto id = Id::FromHex(names[i])) loaded->push_back(*id);
    return Status::Ok();
  });
}

Result<PackInventory> Repository::TakePackInventory() {
  PackInventory inv;
  LB_RETURN_IF_ERROR(backend_->List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
    if (auto id = Id::FromHex(info.name)) inv.present.insert(*id);
    return Status::Ok();
  }));
  std::unordered_set<Id, IdHash> indexed;
  for (const Id& pack : index_.Packs()) {
    indexed.insert(pack);
    if (!inv.present.count(pack)) inv.missing.push_back(pack);
  }
  for (const Id& pack : inv.present)
    if (!indexed.count(pack)) inv.unindexed.push_back(pack);
  std::sort(inv.missing.begin(), inv.missing.end());
  std::sort(inv.unindexed.begin(), inv.unindexed.end());
  return inv;
}

Result<MissingPacks> Repository::DropMissingPacks() {
  LB_ASSIGN_OR_RETURN(PackInventory inv, TakePackInventory());
  MissingPacks out;
  if (inv.missing.empty()) return out;
  std::unordered_set<Id, IdHash> missing(inv.missing.begin(), inv.missing.end());
  out.packs = std::move(inv.missing);
  // Reloaded rather than filtered: the index keeps one location per blob, and a copy in a pack
  // that exists (a blob stored twice) must stay findable.
  std::vector<std::string> names;
  for (const Id& id : index_files_) names.push_back(id.Hex());
  index_.Clear();
  std::unordered_set<Id, IdHash> ignored;
  std::vector<Id> loaded;
  LB_RETURN_IF_ERROR(LoadIndexFiles(names, &ignored, &loaded, &missing, &out.blobs));
  index_files_ = std::move(loaded);
  index_.Compact();
  return out;
}

void Repository::SetFallbacks(std::vector<Repository*> replicas,
                              std::function<void(const FallbackEvent&)> on_event) {
  fallbacks_ = std::move(replicas);
  on_fallback_ = std::move(on_event);
}

Result<Bytes> Repository::FromFallbacks(const std::string& object, const Status& damage,
                                        const std::function<Result<Bytes>(Repository&)>& load) {
  if (damage.damage() == nullptr) return damage;  // not damage: I/O, network, cancel
  for (Repository* replica : fallbacks_) {
    Result<Bytes> served = load(*replica);
    if (!served.ok()) continue;
    if (on_fallback_) {
      on_fallback_(FallbackEvent{object, backend_->Location(), damage,
                                 replica->backend().Location()});
    }
    return served;
  }
  return damage;
}

Result<std::pair<Bytes, std::string>> Repository::LoadPackFromFallbacks(const Id& pack,
                                                                        const Status& damage) {
  const std::string name = pack.Hex();
  for (Repository* replica : fallbacks_) {
    Result<Bytes> data = replica->backend().Load({ObjectType::kPack, name}, 0, 0);
    if (!data.ok() || HexEncode(crypto::Sha256(*data)) != name) continue;
    if (on_fallback_) {
      on_fallback_(FallbackEvent{"pack " + name, backend_->Location(), damage,
                                 replica->backend().Location()});
    }
    return std::make_pair(std::move(*data), replica->backend().Location());
  }
  return Status::NotFound(damage.message() + "; no replica given with --fallback holds an intact "
                          "copy of pack " + name);
}

Result<Bytes> Repository::LoadBlobAt(const BlobLocation& loc, const Id& id) {
  Result<Bytes> here = LoadBlobAtHere(loc, id);
  if (here.ok() || fallbacks_.empty()) return here;
  return FromFallbacks(std::string(BlobTypeName(loc.type)) + " blob " + id.Hex() + " in pack " +
                           loc.pack.Hex(),
                       here.status(),
                       [&](Repository& replica) { return replica.LoadBlob(loc.type, id); });
}

Result<Bytes> Repository::LoadBlobAtHere(const BlobLocation& loc, const Id& id) {
  Status st;
  // The stored form is read into a per-thread buffer: restores and checks read blob after blob,
  // and reusing one buffer spares a fresh, zero-filled allocation for each.
  Bytes& stored = PerThread<Bytes, struct LoadBlobStoredTag>();
  for (int attempt = 0; attempt < 2; ++attempt) {
    Status loaded = backend_->LoadInto({ObjectType::kPack, loc.pack.Hex()}, loc.offset,
                                       loc.stored_length, &stored);
    if (!loaded.ok()) {
      loaded = loaded.WithContext("blob " + id.Hex() + " in pack " + loc.pack.Hex());
      // A missing pack is damage; any other failure (I/O, network) says nothing about the data.
      if (loaded.IsNotFound())
        loaded = WithDamage(loaded, BlobTypeName(loc.type), id.Hex(), loc.pack.Hex());
      return loaded;
    }
    if (stored.size() != loc.stored_length) {
      st = Status::Corruption("blob " + id.Hex() + " in pack " + loc.pack.Hex() + ": short read");
      continue;
    }
    Bytes plain;
    st = codec_.Decode(stored, id, loc.raw_length, &plain);
    if (st.ok()) return plain;
    st = st.WithContext("pack " + loc.pack.Hex());
    // A second read tells damage in transit (gone on re-read) from damage at rest (stays).
  }
  if (st.IsCorruption()) st = WithDamage(st, BlobTypeName(loc.type), id.Hex(), loc.pack.Hex());
  return st;
}

Status Repository::LoadBlobsAt(std::span<const BlobRequest> blobs,
                               const std::function<Status(size_t, Result<Bytes>)>& take) {
  if (blobs.empty()) return Status::Ok();
  uint64_t begin = blobs[0].loc.offset, end = begin;
  for (const BlobRequest& b : blobs) {
    if (b.loc.pack != blobs[0].loc.pack)
      return Status::InvalidArgument("LoadBlobsAt: blob " + b.id.Hex() + " is in pack " +
                                     b.loc.pack.Hex() + ", not in " + blobs[0].loc.pack.Hex());
    begin = std::min<uint64_t>(begin, b.loc.offset);
    end = std::max<uint64_t>(end, uint64_t{b.loc.offset} + b.loc.stored_length);
  }
  Bytes range;
  const bool have_range = blobs.size() > 1 &&
                          backend_->LoadInto({ObjectType::kPack, blobs[0].loc.pack.Hex()}, begin,
                                             end - begin, &range)
                              .ok() &&
                          range.size() == end - begin;
  for (size_t i = 0; i < blobs.size(); ++i) {
    const BlobRequest& b = blobs[i];
    if (have_range) {
      Bytes plain;
      const ByteView stored(range.data() + (b.loc.offset - begin), b.loc.stored_length);
      if (codec_.Decode(stored, b.id, b.loc.raw_length, &plain).ok()) {
        LB_RETURN_IF_ERROR(take(i, std::move(plain)));
        continue;
      }
    }
    // Alone: its own read tells damage in transit from damage at rest, and the error (or the
    // replica that serves it) is exactly LoadBlobAt's.
    LB_RETURN_IF_ERROR(take(i, LoadBlobAt(b.loc, b.id)));
  }
  return Status::Ok();
}

std::vector<std::pair<size_t, size_t>> Repository::GroupNeighbours(
    std::vector<BlobRequest>& blobs, uint64_t max_gap, uint64_t max_range) {
  std::sort(blobs.begin(), blobs.end(), [](const BlobRequest& a, const BlobRequest& b) {
    return std::tie(a.loc.pack, a.loc.offset) < std::tie(b.loc.pack, b.loc.offset);
  });
  std::vector<std::pair<size_t, size_t>> runs;
  size_t first = 0;
  for (size_t i = 1; i <= blobs.size(); ++i) {
    if (i < blobs.size()) {
      const BlobLocation& start = blobs[first].loc;
      const BlobLocation& prev = blobs[i - 1].loc;
      const BlobLocation& next = blobs[i].loc;
      if (next.pack == start.pack &&
          next.offset <= uint64_t{prev.offset} + prev.stored_length + max_gap &&
          uint64_t{next.offset} + next.stored_length - start.offset <= max_range)
        continue;
    }
    if (first < blobs.size()) runs.emplace_back(first, i);
    first = i;
  }
  return runs;
}

Result<Bytes> Repository::LoadBlob(BlobType type, const Id& id) {
  auto loc = index_.Find(type, id);
  if (!loc) {
    Status missing = WithDamage(
        Status::NotFound(std::string(BlobTypeName(type)) + " blob " + id.Hex() +
                         " is not in the index (data missing; run `lifeboat check`)"),
        BlobTypeName(type), id.Hex());
    if (fallbacks_.empty()) return missing;
    return FromFallbacks(std::string(BlobTypeName(type)) + " blob " + id.Hex(), missing,
                         [&](Repository& replica) { return replica.LoadBlob(type, id); });
  }
  return LoadBlobAt(*loc, id);
}

Result<Tree> Repository::LoadTree(const Id& id) {
  LB_ASSIGN_OR_RETURN(Bytes data, LoadBlob(BlobType::kTree, id));
  auto tree = DecodeTree(data);
  if (!tree.ok()) {
    Status st = tree.status().WithContext("tree " + id.Hex());
    if (!st.IsCorruption()) return st;
    auto loc = index_.Find(BlobType::kTree, id);
    return WithDamage(st, "tree", id.Hex(), loc ? loc->pack.Hex() : "");
  }
  return tree;
}

Result<Id> Repository::SaveSnapshot(const Snapshot& s) {
  return SaveUnpacked(ObjectType::kSnapshot, EncodeSnapshot(s));
}

Result<Snapshot> Repository::LoadSnapshot(const Id& id) {
  LB_ASSIGN_OR_RETURN(Bytes plain, LoadUnpacked(ObjectType::kSnapshot, id.Hex()));
  auto s = DecodeSnapshot(plain);
  if (!s.ok()) {
    Status st = s.status().WithContext("snapshot " + id.Hex());
    return st.IsCorruption() ? WithDamage(st, "snapshot", id.Hex()) : st;
  }
  return s;
}

Result<std::vector<std::pair<Id, Snapshot>>> Repository::ListSnapshots(
    std::vector<DamagedSnapshot>* damaged) {
  std::vector<Id> ids;
  LB_RETURN_IF_ERROR(backend_->List(ObjectType::kSnapshot, "", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.name);
    if (id) {
      ids.push_back(*id);
      return Status::Ok();
    }
    Status bad = WithDamage(Status::Corruption("snapshot object with a bad name: " + info.name),
                            "snapshot", info.name);
    if (!damaged) return bad;
    damaged->push_back(DamagedSnapshot{info.name, bad});
    return Status::Ok();
  }));
  std::vector<std::pair<Id, Snapshot>> out;
  for (const Id& id : ids) {
    auto s = LoadSnapshot(id);
    if (!s.ok()) {
      // Only damage is skipped: a snapshot that could not be read for another reason (I/O, a
      // network error) may be perfectly fine, and a caller must not act as if it did not exist.
      if (!damaged || !s.status().IsCorruption()) return s.status();
      damaged->push_back(DamagedSnapshot{id.Hex(), s.status()});
      continue;
    }
    out.emplace_back(id, std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.second.time_ns != b.second.time_ns) return a.second.time_ns < b.second.time_ns;
    return a.first < b.first;
  });
  return out;
}

Result<std::pair<Id, Snapshot>> Repository::FindSnapshot(std::string_view ref,
                                                         const SnapshotFilter& filter,
                                                         std::vector<DamagedSnapshot>* damaged) {
  if (ref == "latest") {
    LB_ASSIGN_OR_RETURN(auto all, ListSnapshots(damaged));
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      if (filter.Matches(it->second)) return std::move(*it);
    return Status::NotFound("no snapshot matches 'latest'" +
                            std::string(filter.empty()
                                            ? " (the repository has no snapshots)"
                                            : " with the given --host/--tag/--path/--service/"
                                              "--source filters"));
  }
  std::string prefix(ref);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), ::tolower);
  if (prefix.empty() || prefix.size() > 64 ||
      prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Status::InvalidArgument("'" + std::string(ref) +
                                   "' is not a snapshot id; use a hex id prefix or 'latest'");
  std::vector<std::string> matches;
  LB_RETURN_IF_ERROR(backend_->List(ObjectType::kSnapshot, prefix, [&](const ObjectInfo& info) {
    matches.push_back(info.name);
    return Status::Ok();
  }));
  if (matches.empty()) return Status::NotFound("no snapshot id starts with '" + prefix + "'");
  if (matches.size() > 1)
    return Status::InvalidArgument("snapshot id prefix '" + prefix + "' is ambiguous (" +
                                   std::to_string(matches.size()) +
                                   " snapshots match); give more characters");
  auto id = Id::FromHex(matches[0]);
  if (!id)
    return WithDamage(Status::Corruption("snapshot object with a bad name: " + matches[0]),
                      "snapshot", matches[0]);
  LB_ASSIGN_OR_RETURN(Snapshot s, LoadSnapshot(*id));
  return std::make_pair(*id, std::move(s));
}

}  // namespace lifeboat
