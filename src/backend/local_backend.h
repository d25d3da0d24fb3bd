// LocalBackend: a repository in a directory on a local (or mounted) filesystem.
//
// Layout (like restic): <root>/config, <root>/keys/<name>, <root>/data/<name[0:2]>/<name> (packs),
// <root>/index/<name>, <root>/snapshots/<name>, <root>/locks/<name>. Every object is written with
// WriteFileDurably (temp file, fsync, link into place, fsync directory), so a crash leaves either
// the whole object or none of it, plus at worst a "<name>.tmp-<random>" file that List ignores.
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<LocalBackend> be, LocalBackend::Open("/srv/repo"));
//   LB_ASSIGN_OR_RETURN(Bytes config, be->Load({ObjectType::kConfig, ""}, 0, 0));
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace lifeboat {

class LocalBackend : public Backend {
 public:
  // Creates the directory tree under `root` (root itself, keys/, index/, snapshots/, locks/,
  // data/ and all 256 data/00..ff subdirectories), each entry synced to disk. Does not write the
  // config; the repository layer saves it through Save(). Creating over a partially created tree
  // (an interrupted init) is fine. AlreadyExists if <root>/config exists; FailedPrecondition if a
  // path component is not a directory. The caller owns the returned backend.
  static Result<std::unique_ptr<LocalBackend>> Create(const std::string& root);

  // Opens an existing repository directory. NoRepository ("<root> is not a Lifeboat repository (no
  // config); run `lifeboat init` first") if root or root/config is missing.
  static Result<std::unique_ptr<LocalBackend>> Open(const std::string& root);

  // "local:<root>".
  // A local file system: a couple of requests at once; the cores decide the rest (WorkersFor):
  // more readers only add seeks on a disk, and the work per pack is CPU-bound on an SSD.
  BackendHints Hints() const override { return {.concurrent_requests = 2, .local_reads = true}; }
  std::string Location() const override;

  // The Backend contract; all methods are thread-safe (the object holds no mutable state) and
  // block on disk I/O. Names are checked with ValidateObjectHandle (InvalidArgument otherwise).
  Status Save(const ObjectHandle& h, ByteView data) override;
  // Writes the parts one after the other into the temporary file (writev), no joined copy.
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  // Lists by reading directories; names containing '.' (temporary files, hidden files) and
  // non-regular files are skipped. A pack prefix of 2+ characters reads only one data/xx
  // directory. fn is called after each directory has been read and closed.
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  // Unlinks the file, then syncs its directory so the removal is durable.
  Status Remove(const ObjectHandle& h) override;

  // The file that holds `h` (for tests and diagnostics). REQUIRES: ValidateObjectHandle(h).ok().
  std::string PathOf(const ObjectHandle& h) const;
  const std::string& root() const { return root_; }

 private:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}
  // Reads one directory and calls fn for each listable entry that starts with `prefix` and
  // (when non-empty) `required_start`.
  Status ListDirectory(const std::string& dir, std::string_view prefix,
                       std::string_view required_start,
                       const std::function<Status(const ObjectInfo&)>& fn) const;

  const std::string root_;  // without trailing '/' (except for "/")
};

}  // namespace lifeboat
