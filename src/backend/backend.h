// Backend: where a repository's objects live (local disk, memory; later SFTP, S3, REST).
//
// A backend stores opaque, already-encrypted objects. It never sees plaintext, keys or snapshots.
// The interface has no rename, append or overwrite, so object stores fit it unchanged.
//
//   std::unique_ptr<Backend> be = ...;
//   LB_RETURN_IF_ERROR(be->Save({ObjectType::kSnapshot, id}, bytes));
//   LB_ASSIGN_OR_RETURN(Bytes header, be->Load({ObjectType::kPack, id}, offset, length));
//
// Thread safety: every method may be called concurrently from any thread.
// Blocking: every method may block on I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

enum class ObjectType { kConfig, kKey, kPack, kIndex, kSnapshot, kLock, kRun };

// "config", "key", "pack", "index", "snapshot", "lock", "run" (run records, format §12).
std::string_view ObjectTypeName(ObjectType type);

// The directory of each object type in a repository laid out as files (local, SFTP; the key
// prefixes of S3 and the paths of REST follow it; doc/repository-format.md): "keys", "data",
// "index", "snapshots", "locks", "runs"; "" for kConfig, the file "config" at the root. Packs sit one
// level deeper, in data/XX/ by the first two characters of their name.
std::string_view ObjectTypeDirectory(ObjectType type);
// The types stored in directories (all but kConfig).
inline constexpr ObjectType kObjectTypesInDirectories[] = {
    ObjectType::kKey, ObjectType::kPack, ObjectType::kIndex, ObjectType::kSnapshot,
    ObjectType::kLock, ObjectType::kRun};

struct ObjectHandle {
  ObjectType type;
  std::string name;  // lowercase hex id; for kConfig it is ignored (there is one config)
};

// Checks that `h` can name an object in every backend, so that a crafted name can never reach
// outside the repository. kConfig: always OK (the name is ignored). Other types: InvalidArgument
// if the name is empty, contains '/', '\0' or any '.' ('.' is reserved for temporary files, which
// also rules out "." and ".."), or is a pack name shorter than 2 characters (packs are fanned out
// by their first two characters). Real names are 64 lowercase hex characters.
Status ValidateObjectHandle(const ObjectHandle& h);

// How errors name an object: "pack 0123...ef" (the full name) or "config".
std::string DescribeObject(const ObjectHandle& h);

// An object given as consecutive pieces (a pack: its blobs, then its header), saved without
// joining them into one buffer first.
using ByteParts = std::span<const ByteView>;

// Immutability a backend imposes on what it writes (S3 Object Lock, s3.object-lock-days).
struct ObjectLockHint {
  std::chrono::seconds period{0};  // each object is kept this long after it was written
  std::string mode;                // how strictly: "GOVERNANCE" or "COMPLIANCE"
};

// What a backend tells its callers about how to use it well (Backend::Hints).
struct BackendHints {
  // How many requests it serves well at once: more add no throughput (a local disk) or are
  // refused (a server's connection limit); remote object stores serve dozens. Operations size
  // their transfer workers from this (WorkersFor), not from the core count alone.
  int concurrent_requests = 2;
  // Set when every object this backend writes is locked: Remove refuses it (PermissionDenied)
  // until its retention ends, which Stat reports (ObjectInfo::retain_until_ns). Prune and forget
  // then ask before removing and plan around what is locked (backend/object_lock.h). Unset: no
  // lock is known (a removal may still be refused; object_lock.h tells that case apart too).
  std::optional<ObjectLockHint> object_lock = std::nullopt;
  // Set when a read costs no request to a server and no transfer (a local directory): reading a
  // range twice then costs a copy from the page cache, less than most ways of avoiding it (the
  // restorer keeps its windows of small files small on such a backend; see restorer_internal.h).
  bool local_reads = false;
};

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
  // Stat only, on backends that lock objects: the wall time (ns since the Unix epoch) until which
  // Remove is refused. Unset when the object has no retention (or the backend knows none); List
  // never sets it.
  std::optional<int64_t> retain_until_ns = std::nullopt;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Human-readable location, e.g. "local:/srv/repo".
  virtual std::string Location() const = 0;

  // Stores the whole object atomically and durably: when Save returns OK the object survives a
  // crash, and no reader ever sees a partial object. An existing object is never replaced:
  // AlreadyExists is returned and the stored object is left as it was.
  virtual Status Save(const ObjectHandle& h, ByteView data) = 0;

  // Save of the concatenation of `parts`, with the same guarantees. Backends that can write
  // pieces directly override it; this default joins them in memory and calls Save.
  virtual Status SaveParts(const ObjectHandle& h, ByteParts parts);

  // Returns `length` bytes starting at `offset`; length 0 means "to the end". NotFound if the
  // object does not exist; Corruption if the object is shorter than offset+length.
  virtual Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) = 0;

  // Load into *out, whose contents are replaced; backends that can read in place override it
  // to reuse out's memory (restore reads every blob into one per-thread buffer this way). On
  // error *out's contents are unspecified. The default calls Load.
  virtual Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out);

  // Size of an object (ObjectInfo::name is the handle's name; "" for the config). NotFound if it
  // does not exist.
  virtual Result<ObjectInfo> Stat(const ObjectHandle& h) = 0;

  // Calls fn for every object of `type` whose name starts with `prefix` ("" = all), in no
  // particular order. Stops and returns fn's error if fn fails. Temporary files of interrupted
  // writes are never listed. fn may call back into the backend. Listing kConfig yields the config
  // (name "") if it exists and prefix is "".
  virtual Status List(ObjectType type, std::string_view prefix,
                      const std::function<Status(const ObjectInfo&)>& fn) = 0;

  // Deletes an object. NotFound if it does not exist.
  virtual Status Remove(const ObjectHandle& h) = 0;

  // How to use this backend well. Decorators return their inner backend's hints. Thread-safe,
  // never blocks.
  virtual BackendHints Hints() const { return {}; }

  // Location-independent check that the backend holds a repository (its config exists).
  bool HasConfig() { return Stat({ObjectType::kConfig, ""}).ok(); }
};

// The part of List that needs no listing, shared by the backends: for kConfig, fn gets the
// config's Stat when it exists and `prefix` is empty; for a prefix no valid name can start with
// ('/', '.' or NUL: it must never steer a listing into another directory) nothing is listed.
// Returns the listing's outcome when it is one of these, nullopt when the caller lists itself.
std::optional<Status> ListWithoutListing(Backend& backend, ObjectType type,
                                         std::string_view prefix,
                                         const std::function<Status(const ObjectInfo&)>& fn);

// A backend whose own operations are SaveParts and LoadInto (the remote ones send a pack's parts
// as they are and read into the caller's buffer): Save and Load are defined through them.
class PartsBackend : public Backend {
 public:
  Status Save(const ObjectHandle& h, ByteView data) final;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) final;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override = 0;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override = 0;
};

// The workers an operation runs for per-object transfers (load/verify packs, restore, copy):
// `requested` when above 0 (a --workers flag), else the larger of the cores (with a floor of 2, so
// one waits on I/O while the other works) and what `backend` serves at once. So a local disk gets
// about one worker per core and a remote store as many transfers as it takes.
int WorkersFor(const Backend& backend, int requested);

}  // namespace lifeboat
