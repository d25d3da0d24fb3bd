// Repository: the engine's library API over a Backend — keys, config, index, blobs, trees,
// snapshots. The CLI, and later the plan, drills and failover, all use this class.
//
//   LB_ASSIGN_OR_RETURN(auto repo, Repository::Open(std::move(backend), password));
//   LB_RETURN_IF_ERROR(repo->LoadIndex());
//   LB_ASSIGN_OR_RETURN(Tree root, repo->LoadTree(snapshot.tree));
//
// Thread safety: after Open/Init, every const method and every Load* method may be called
// concurrently. Writing blobs goes through BlobSaver (blob_saver.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "chunker/chunker.h"
#include "crypto/crypto.h"
#include "index/index.h"
#include "pack/blob.h"
#include "repository/keys.h"
#include "repository/snapshot.h"
#include "repository/tree.h"

namespace lifeboat {

inline constexpr uint32_t kRepositoryVersion = 1;

struct RepositoryConfig {
  uint32_t version = kRepositoryVersion;
  Id id;
  ChunkerParams chunker;
  int compression_level = 3;
  uint64_t pack_size = 16u << 20;
  std::string created;
  // Set at init, permanent: nothing but locks may ever be removed (doc/append-only.md).
  bool append_only = false;
  // Informational: the id of the repository whose key material this replica shares (set by
  // `init --replica-of`). Whether two repositories really share material is decided by comparing
  // the keys (copier.h), never by this field.
  std::optional<Id> replica_of;
};

// What a replica repository takes over from its source (doc/replication.md): the master key
// material and the chunker parameters, so that blob ids, chunk boundaries and sealed packs are
// valid in both and packs copy between them verbatim.
struct ReplicaSource {
  Id repository_id;  // the source's id, recorded as the config's "replica_of"
  MasterKey master;
  ChunkerParams chunker;
};

struct InitOptions {
  int compression_level = 3;
  uint64_t pack_size = 16u << 20;
  KdfParams kdf = DefaultKdfParams();
  bool append_only = false;  // the whole repository, for good (RepositoryConfig::append_only)
  // Set: create a replica sharing this key material and chunker parameters (own id, own key
  // file). Unset: fresh random key material, default chunker parameters.
  std::optional<ReplicaSource> replica_of;
};

// The packs in the backend compared with the index (Repository::TakePackInventory): the view a
// decision to delete or to reuse data must start from (doc/repair.md, "A complete view").
struct PackInventory {
  std::unordered_set<Id, IdHash> present;  // pack objects in the backend
  std::vector<Id> unindexed;  // present, named by no loaded index file (sorted)
  std::vector<Id> missing;    // named by the index, not present (sorted)
};

// What Repository::DropMissingPacks left out of the index.
struct MissingPacks {
  std::vector<Id> packs;  // sorted
  uint64_t blobs = 0;     // entries the index files list in them
};

// A replica served an object that is missing or damaged in this repository (`--fallback`).
struct FallbackEvent {
  std::string object;      // "data blob <id> in pack <id>", "pack <id>", "snapshot <id>", ...
  std::string damaged_at;  // this repository's location
  Status damage;           // what was wrong here (NotFound or Corruption, with its Damage detail)
  std::string served_by;   // the replica's location
};

class Repository {
 public:
  // Creates a new repository on an empty backend: config and a first key for `password`. With
  // options.replica_of the master key material and chunker parameters come from there.
  // AlreadyExists if the backend already holds a config; the backend's error (nothing written) if
  // it cannot tell whether one exists.
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<Backend> backend,
                                                  std::string_view password,
                                                  const InitOptions& options);
  // Opens an existing repository. NoRepository when there is no config or it is not Lifeboat's
  // (a restic repository is named as such); Unauthenticated when no intact key matches
  // `password` (damaged key files are listed too); Corruption when every key file is damaged
  // (not parsing, or not opened and not matching its name: each is named) or when a key matched but the
  // config does not decrypt with it; the backend's error when a key file could not be read (the
  // password could not be checked against it). Nothing is written in any case.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<Backend> backend,
                                                  std::string_view password);

  // Opens the replica at `backend` with the key material of `source` instead of a password
  // (`backup --also-to`, `--fallback`, `repair packs --from`): a replica made by
  // `init --replica-of` shares it (ReplicaSource), so no key file of the replica is read.
  // NoRepository as Open; FailedPrecondition naming both locations when the replica's config
  // does not open with that key material (not a replica of `source`) or its chunker parameters
  // differ. Append-only when its config says so. Nothing is written.
  static Result<std::unique_ptr<Repository>> OpenReplica(std::unique_ptr<Backend> backend,
                                                         const Repository& source);

  // Opens the repository at `backend` again with the key that opened `same` (already unwrapped:
  // no password, no key derivation), for a job that looked at a repository first and now works
  // on it (`lifeboat run` opens each site once, then a locked repository per backup). It must be
  // the same repository: NoRepository as Open; FailedPrecondition when the config does not open
  // with that key or holds another repository id. The key's restrictions carry over (an
  // append-only key stays append-only). Nothing is written.
  static Result<std::unique_ptr<Repository>> OpenAgain(std::unique_ptr<Backend> backend,
                                                       const Repository& same);

  // A proof that `password` opened the key file key_name() of this repository (64 hex): HMAC-
  // SHA-256 under a key derived from the master key material over the key's name and the
  // password. Only a holder of the master key can make or check one, so keeping it (the status
  // cache does) reveals nothing the repository's key files do not. Empty when the repository was
  // not opened with a password (OpenReplica).
  std::string PasswordProof(std::string_view password) const;

  // Opens the replica at `backend` as if with `password`, without deriving its key: its config
  // must open with the key material of `material` (a replica, as OpenReplica), its key file
  // `key_name` must be there and intact (content hashing to the name), and `proof` must be what
  // PasswordProof(password) gave when that password opened that key file (of any repository
  // sharing the material). The key's restrictions apply as with Open (an append-only key makes
  // it append-only). FailedPrecondition when any of that does not hold (the caller opens it with
  // the password instead); NoRepository as Open. `lifeboat run` opens a plan's second sites so.
  static Result<std::unique_ptr<Repository>> OpenWithPasswordProof(
      std::unique_ptr<Backend> backend, const Repository& material, std::string_view key_name,
      std::string_view password, std::string_view proof);
  Backend& backend() { return *backend_; }
  const RepositoryConfig& config() const { return config_; }
  const MasterKey& master_key() const { return master_; }
  const crypto::Aead& aead() const { return aead_; }
  const BlobCodec& codec() const { return codec_; }
  const Chunker& chunker() const { return chunker_; }
  // Name of the key file that matched the password.
  const std::string& key_name() const { return key_name_; }

  // True when the repository (config) or the key that opened it is append-only. Then backend()
  // refuses every removal except of locks, and maintenance that deletes must refuse to start.
  bool append_only() const { return !append_only_reason_.empty(); }
  // Why, for error messages: "the repository is append-only" / "key <name> is append-only".
  const std::string& append_only_reason() const { return append_only_reason_; }
  // FailedPrecondition naming `what` (e.g. "prune") and the reason when append_only(); else OK.
  Status CheckNotAppendOnly(std::string_view what) const;

  // --- index ---
  // Loads every index file in force into index() (replacing nothing already there). An index
  // file named in another file's superseded list (§7) is skipped: it was replaced by prune or
  // `repair index`, which crashed before removing it. Corrupt index files are an error naming the
  // file.
  Status LoadIndex();
  // After LoadIndex(): the index files that were loaded, and those skipped as superseded.
  const std::vector<Id>& index_files() const { return index_files_; }
  const std::vector<Id>& superseded_index_files() const { return superseded_index_files_; }
  MasterIndex& index() { return index_; }
  const MasterIndex& index() const { return index_; }

  // Lists the packs in the backend (one listing, no reads) and compares them with index().
  // REQUIRES: LoadIndex() has run. The backend's error if the listing fails.
  Result<PackInventory> TakePackInventory();
  // For backup (doc/design.md, "Missing packs"): takes the inventory and, when index() names
  // packs that are missing from the backend, reloads the index files without them, so their
  // blobs count as absent and are stored again instead of being reused. Duplicates of those blobs
  // in packs that exist stay indexed. Returns what was dropped (nothing when no pack is missing).
  // The index files themselves are left alone: `lifeboat repair index` removes the entries.
  // REQUIRES: LoadIndex() has run; no other user of the index meanwhile.
  Result<MissingPacks> DropMissingPacks();

  // --- unpacked objects: index, snapshot, lock ---
  // Seals `plaintext` and stores it under the SHA-256 of the stored bytes.
  Result<Id> SaveUnpacked(ObjectType type, ByteView plaintext);
  // Loads, checks that the content hashes to `name`, opens. Corruption names the object, in the
  // message and as a Damage detail (Status::damage(): type, name; a snapshot file also lists
  // itself as the affected snapshot).
  Result<Bytes> LoadUnpacked(ObjectType type, const std::string& name);

  // --- blobs ---
  // NotFound if the index does not know the blob; Corruption if it fails verification. Both, and
  // NotFound for a missing pack, carry a Damage detail naming the blob ("data"/"tree", its id)
  // and its pack (when the index names one); the affected snapshots are left to the caller, who
  // knows what it was reading. Other errors (I/O, network) carry none.
  Result<Bytes> LoadBlob(BlobType type, const Id& id);
  Result<Bytes> LoadBlobAt(const BlobLocation& loc, const Id& id);
  Result<Tree> LoadTree(const Id& id);

  // One blob for LoadBlobsAt: where it is and what it must hash to.
  struct BlobRequest {
    BlobLocation loc;
    Id id;
  };
  // Loads blobs that lie close together in one pack with a single read of the range from the
  // first one's offset to the last one's end (a remote site pays per request, not per byte
  // skipped), and hands each to `take` with its index in `blobs`, in order. Every result is what
  // LoadBlobAt gives: a blob that fails verification in the range, and every blob when the range
  // cannot be read, is loaded again alone through LoadBlobAt (a second read, then the replicas).
  // Stops at, and returns, the first non-OK status `take` returns. Memory: the range, once.
  // InvalidArgument unless every blob is in the same pack.
  Status LoadBlobsAt(std::span<const BlobRequest> blobs,
                     const std::function<Status(size_t, Result<Bytes>)>& take);
  // Sorts `blobs` by pack and offset and cuts them into runs for LoadBlobsAt: [begin, end)
  // index ranges of blobs in one pack, each at most `max_gap` bytes after the one before it,
  // a run spanning at most `max_range` bytes (or one blob).
  static std::vector<std::pair<size_t, size_t>> GroupNeighbours(std::vector<BlobRequest>& blobs,
                                                                uint64_t max_gap,
                                                                uint64_t max_range);

  // --- replicas that cover for damage (--fallback; doc/replication.md) ---
  // Replicas of this repository (Repository::OpenReplica, index loaded) that LoadBlob,
  // LoadBlobAt, LoadTree, LoadUnpacked (so LoadSnapshot) and LoadPackFromFallbacks read from, in
  // order, when an object is missing here or fails verification (a status with a Damage detail).
  // Other failures (I/O, network) are returned as they are: they say nothing about the data.
  // Each time a replica serves, `on_event` is called on the loading thread (calls may be
  // concurrent; may be empty). Borrowed: the replicas must outlive this repository's loads.
  // Call before loading concurrently; not thread-safe itself.
  void SetFallbacks(std::vector<Repository*> replicas,
                    std::function<void(const FallbackEvent&)> on_event);
  bool has_fallbacks() const { return !fallbacks_.empty(); }
  // Loads pack `pack` whole from the first replica whose copy is intact (its SHA-256 matches the
  // name), reporting the event with `damage` (what is wrong with it here). Returns the bytes and
  // the replica's location; NotFound (keeping `damage`'s message) when no replica has an intact
  // copy. For readers of whole packs (check --read-data, copy, repair packs --from).
  Result<std::pair<Bytes, std::string>> LoadPackFromFallbacks(const Id& pack,
                                                              const Status& damage);

  // --- snapshots ---
  Result<Id> SaveSnapshot(const Snapshot& s);
  Result<Snapshot> LoadSnapshot(const Id& id);
  // LoadSnapshot's Corruption carries a Damage detail naming the snapshot (also affected).
  // All snapshots, oldest first. With `damaged` null, a snapshot file that is damaged (or not
  // named like a snapshot) is an error naming it: for callers that need every snapshot (prune,
  // copy). With `damaged` set, such files are appended there instead and the readable snapshots
  // are returned (listings, `latest`: warn with DescribeDamagedSnapshot and carry on). Any other
  // failure (listing, I/O) is an error either way: a snapshot is never skipped for it.
  Result<std::vector<std::pair<Id, Snapshot>>> ListSnapshots(
      std::vector<DamagedSnapshot>* damaged = nullptr);
  // Resolves "latest" (newest matching `filter`) or a unique hex prefix of a snapshot id.
  // NotFound / InvalidArgument ("ambiguous") with a message that says what to do. For "latest",
  // `damaged` works as in ListSnapshots: set, damaged snapshot files are skipped and named there
  // (a damaged file cannot be matched against the filter, so "latest" is the newest readable).
  Result<std::pair<Id, Snapshot>> FindSnapshot(std::string_view ref,
                                               const SnapshotFilter& filter = {},
                                               std::vector<DamagedSnapshot>* damaged = nullptr);

  // --- keys ---
  // Adds a key file for `password`. A session opened with an append-only key can only add
  // append-only keys (`append_only` is forced on), so it cannot escalate.
  Result<std::string> AddKey(std::string_view password, const KdfParams& kdf,
                             bool append_only = false);
  // Removes key file `name`. Refused (FailedPrecondition, nothing removed) when no other key
  // known to open this repository would be left: the key this session was opened with and the
  // keys it added are the only ones known to (other key files may be stray or damaged; no
  // password is at hand to try them). So the key in use can only be removed after AddKey.
  // NotFound when there is no such key file; the backend's error if a key cannot be listed/read.
  Status RemoveKey(const std::string& name);

 private:
  Repository(std::unique_ptr<Backend> backend, RepositoryConfig config, MasterKey master,
             std::string key_name);
  // Puts an AppendOnlyBackend under the repository when the config or `key` says so.
  void EnforceAppendOnly(const KeyFileInfo* key);
  // Loads `names` into index_, leaving out the packs in `skip` (may be null; *skipped_blobs
  // counts their entries).
  Status LoadIndexFiles(const std::vector<std::string>& names,
                        std::unordered_set<Id, IdHash>* superseded, std::vector<Id>* loaded,
                        const std::unordered_set<Id, IdHash>* skip = nullptr,
                        uint64_t* skipped_blobs = nullptr);

  // LoadBlobAt / LoadUnpacked of this repository alone.
  Result<Bytes> LoadBlobAtHere(const BlobLocation& loc, const Id& id);
  Result<Bytes> LoadUnpackedHere(ObjectType type, const std::string& name);
  // The first replica's answer to `load` when `damage` is damage (has a Damage detail), reported
  // through on_fallback_; else `damage` itself.
  Result<Bytes> FromFallbacks(const std::string& object, const Status& damage,
                              const std::function<Result<Bytes>(Repository&)>& load);

  std::unique_ptr<Backend> backend_;
  std::vector<Repository*> fallbacks_;
  std::function<void(const FallbackEvent&)> on_fallback_;
  RepositoryConfig config_;
  MasterKey master_;
  std::string key_name_;
  std::string append_only_reason_;  // empty unless append-only
  bool key_append_only_ = false;
  crypto::Aead aead_;
  crypto::HmacSha256 id_mac_;
  BlobCodec codec_;
  GearTable gear_;
  Chunker chunker_;
  std::vector<std::string> keys_added_;    // by AddKey in this session: known to open it
  std::vector<std::string> keys_removed_;  // by RemoveKey in this session
  MasterIndex index_;
  std::vector<Id> index_files_;
  std::vector<Id> superseded_index_files_;
};

// Encodes/decodes the config object (§4) — exposed for `cat config` and tests.
Result<Bytes> EncodeConfig(const RepositoryConfig& c, const crypto::Aead& aead);
Result<RepositoryConfig> DecodeConfig(ByteView data, const crypto::Aead& aead);
// Checks the unencrypted magic and version only.
Status CheckConfigHeader(ByteView data);
std::string ConfigToJson(const RepositoryConfig& c);

// Walks key files and returns (name, info) for each.
Result<std::vector<std::pair<std::string, KeyFileInfo>>> ListKeys(Backend& backend);

}  // namespace lifeboat
