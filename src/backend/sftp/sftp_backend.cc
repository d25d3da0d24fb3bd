#include "backend/sftp/sftp_backend.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <random>
#include <thread>
#include <vector>

#include "backend/sftp/sftp_address.h"
#include "backend/sftp/sftp_pool.h"
#include "util/parallel_for.h"

namespace lifeboat {
namespace {

constexpr BackendOptionSpec kSftpOptions[] = {
    {"sftp.identity", "FILE",
     "private key to log in with (default: the ssh agent, IdentityFile of the ssh config, "
     "~/.ssh/id_*)"},
    {"sftp.known-hosts", "FILE",
     "known_hosts file that must list the server's host key (default: UserKnownHostsFile of the "
     "ssh config, else ~/.ssh/known_hosts)"},
    {"sftp.config", "FILE", "ssh config file to read instead of ~/.ssh/config"},
    {"sftp.connections", "N", "SSH connections used in parallel (default 4)"},
};

constexpr int kDefaultConnections = 4;
// Writes are not pipelined: libssh 0.10 has no asynchronous write (0.11's sftp_aio has), and
// writing SFTP packets beneath it through its public structs would break with any change to
// them (Debian's patched 0.10.6 has already appended a field). So each write is as large as
// OpenSSH's sftp-server takes (a 256 KiB message; its limits extension advertises 255 KiB of
// data), one round trip each, and uploads overlap across connections: operations run
// Hints().concurrent_requests Saves at once. Measured over a 20 ms round trip: 8 MiB/s for one
// upload, 36 MiB/s for four on four connections.
constexpr size_t kWriteChunk = 255 * 1024;
// Reads are pipelined: this many requests of kReadChunk bytes are in flight at once (1 MiB, about
// libssh's channel window: 32 in flight measured no faster over a 20 ms round trip).
constexpr uint32_t kReadChunk = 64 * 1024;
constexpr size_t kReadsInFlight = 16;

std::string Join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string Parent(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool Listable(std::string_view name) {
  return !name.empty() && name.find('.') == std::string_view::npos;
}

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

struct AttributesDeleter {
  void operator()(sftp_attributes a) const { sftp_attributes_free(a); }
};
using Attributes = std::unique_ptr<std::remove_pointer_t<sftp_attributes>, AttributesDeleter>;

// An open remote file, closed on destruction unless Close() was called (its error matters
// after a write).
class RemoteFile {
 public:
  explicit RemoteFile(sftp_file f) : f_(f) {}
  RemoteFile(const RemoteFile&) = delete;
  RemoteFile& operator=(const RemoteFile&) = delete;
  ~RemoteFile() {
    if (f_ != nullptr) sftp_close(f_);
  }
  sftp_file get() const { return f_; }
  // SSH_OK or SSH_ERROR.
  int Close() {
    sftp_file f = f_;
    f_ = nullptr;
    return sftp_close(f);
  }

 private:
  sftp_file f_;
};

class SftpBackend : public PartsBackend {
 public:
  SftpBackend(std::string location, std::string root, std::unique_ptr<SftpPool> pool)
      : location_(std::move(location)), root_(std::move(root)), pool_(std::move(pool)) {}

  std::string Location() const override { return location_; }
  BackendHints Hints() const override { return {.concurrent_requests = pool_->size()}; }

  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  // Open's and Create's checks and directories.
  Status CheckRepository();
  Status CreateLayout();

 private:
  std::string PathOf(const ObjectHandle& h) const {
    if (h.type == ObjectType::kConfig) return Join(root_, "config");
    std::string dir = Join(root_, ObjectTypeDirectory(h.type));
    if (h.type == ObjectType::kPack) dir = Join(dir, std::string_view(h.name).substr(0, 2));
    return Join(dir, h.name);
  }
  Status CheckContext(std::string_view what) const {
    return pool_->settings().context.Check(what);
  }
  // Reads one directory: the regular files whose names are listable and start with `prefix`
  // (dirs = false), or the subdirectories (dirs = true). A missing directory is empty.
  Status ReadDirectory(const std::string& dir, std::string_view prefix, bool dirs,
                       std::vector<ObjectInfo>* out);
  // mkdir that accepts an existing directory.
  Status MakeDirectory(SftpConnection& c, const std::string& path);
  // fsync@openssh.com on a directory (best effort: a server may refuse to open directories).
  void SyncDirectory(SftpConnection& c, const std::string& dir);

  const std::string location_;
  const std::string root_;
  const std::unique_ptr<SftpPool> pool_;
};

Status SftpBackend::MakeDirectory(SftpConnection& c, const std::string& path) {
  c.ClearError();
  if (sftp_mkdir(c.sftp(), path.c_str(), 0700) == 0) return Status::Ok();
  Status made = c.Error("mkdir " + path);
  if (c.broken()) return made;
  // OpenSSH answers an existing path with a plain failure: look at what is there.
  c.ClearError();
  Attributes a(sftp_stat(c.sftp(), path.c_str()));
  if (a == nullptr) return made;
  if (a->type != SSH_FILEXFER_TYPE_DIRECTORY) {
    return Status::FailedPrecondition(path + " exists on " + c.peer() + " and is not a directory");
  }
  return Status::Ok();
}

void SftpBackend::SyncDirectory(SftpConnection& c, const std::string& dir) {
  if (!c.has_fsync()) return;
  c.ClearError();
  sftp_file d = sftp_open(c.sftp(), dir.c_str(), O_RDONLY, 0);
  if (d == nullptr) return;
  RemoteFile owned(d);
  if (sftp_fsync(d) != 0) c.Error("sync " + dir).IgnoreError();  // marks a lost connection
}

Status SftpBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string what = "saving " + DescribeObject(h);
  LB_RETURN_IF_ERROR(CheckContext(what));
  const std::string path = PathOf(h);
  const std::string dir = Parent(path);
  const std::string name = path.substr(path.find_last_of('/') + 1);
  const std::string tmp = Join(dir, "." + name + ".tmp-" + RandomSuffix());
  LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
  sftp_session sftp = c->sftp();

  sftp_file f = sftp_open(sftp, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (f == nullptr) {
    Status st = c->Error(what + ": create " + tmp);
    if (!st.IsNotFound()) return st;
    // The directory is missing (a repository made by another tool without the fan-out): make it.
    LB_RETURN_IF_ERROR(MakeDirectory(*c, dir).WithContext(what));
    c->ClearError();
    f = sftp_open(sftp, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (f == nullptr) return c->Error(what + ": create " + tmp);
  }
  RemoteFile file(f);
  // Removes the temporary file after a failure, when the connection still works.
  auto fail = [&](Status st) {
    if (file.get() != nullptr && !c->broken()) file.Close();
    if (!c->broken()) {
      c->ClearError();
      sftp_unlink(sftp, tmp.c_str());
    }
    return st;
  };

  for (ByteView part : parts) {
    size_t done = 0;
    while (done < part.size()) {
      Status stop = CheckContext(what);
      if (!stop.ok()) return fail(stop);
      const size_t n = std::min(kWriteChunk, part.size() - done);
      const ssize_t written = sftp_write(f, part.data() + done, n);
      if (written < 0 || static_cast<size_t>(written) != n) {
        Status st = c->Error(what + ": write " + tmp);
        if (st.code() == StatusCode::kIOError) {
          st = Status::IOError(what + ": the server refused the write to " + tmp +
                               " (disk full?) on " + c->peer());
        }
        return fail(st);
      }
      done += n;
    }
  }
  if (c->has_fsync() && sftp_fsync(f) != 0) {
    return fail(c->Error(what + ": fsync " + tmp));
  }
  if (file.Close() != SSH_OK) return fail(c->Error(what + ": close " + tmp));

  c->ClearError();
  if (sftp_rename(sftp, tmp.c_str(), path.c_str()) != 0) {
    Status st = c->Error(what + ": rename " + tmp + " to " + path);
    if (c->broken()) return st;  // the temporary file stays; List never shows it
    c->ClearError();
    Attributes existing(sftp_stat(sftp, path.c_str()));
    if (existing != nullptr) {
      st = Status::AlreadyExists(DescribeObject(h) + " already exists; refusing to overwrite");
    }
    return fail(st);
  }
  SyncDirectory(*c, dir);
  return Status::Ok();
}

Status SftpBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                             Bytes* out) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string what = "loading " + DescribeObject(h);
  LB_RETURN_IF_ERROR(CheckContext(what));
  const std::string path = PathOf(h);
  LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
  sftp_file f = sftp_open(c->sftp(), path.c_str(), O_RDONLY, 0);
  if (f == nullptr) return c->Error(what + ": open " + path);
  RemoteFile file(f);
  Attributes a(sftp_fstat(f));
  if (a == nullptr) return c->Error(what + ": stat " + path);
  if (a->type != SSH_FILEXFER_TYPE_REGULAR) {
    return Status::IOError(what + ": " + path + " is not a regular file");
  }
  const uint64_t size = a->size;
  if (offset > size || (length > 0 && length > size - offset)) {
    return Status::Corruption(DescribeObject(h) + " has " + std::to_string(size) +
                              " bytes; cannot read " +
                              (length == 0 ? std::string("to the end") : std::to_string(length)) +
                              " at offset " + std::to_string(offset));
  }
  const uint64_t n = length == 0 ? size - offset : length;
  out->resize(static_cast<size_t>(n));

  // Pipelined reads: up to kReadsInFlight requests, answered in order. A short answer leaves a
  // gap that a further request fills.
  struct Request {
    int id;
    uint64_t pos;  // into *out
    uint32_t len;
  };
  std::deque<Request> in_flight;
  uint64_t next = 0;  // first byte not yet requested
  auto issue = [&](uint64_t pos, uint32_t len) -> Status {
    if (sftp_seek64(f, offset + pos) != 0) return c->Error(what + ": seek");
    const int id = sftp_async_read_begin(f, len);
    if (id < 0) return c->Error(what + ": read request");
    in_flight.push_back({id, pos, len});
    return Status::Ok();
  };
  while (next < n || !in_flight.empty()) {
    while (next < n && in_flight.size() < kReadsInFlight) {
      const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(kReadChunk, n - next));
      Status st = issue(next, len);
      if (!st.ok()) {
        c->Discard();
        return st;
      }
      next += len;
    }
    Status stop = CheckContext(what);
    if (!stop.ok()) {
      c->Discard();  // answers to the requests in flight would confuse the next call
      return stop;
    }
    const Request r = in_flight.front();
    in_flight.pop_front();
    const int got = sftp_async_read(f, out->data() + r.pos, r.len, static_cast<uint32_t>(r.id));
    if (got < 0) {
      Status st = c->Error(what + ": read " + path);
      c->Discard();
      return st;
    }
    if (got == 0) {
      c->Discard();
      return Status::Corruption(DescribeObject(h) + " ended at " + std::to_string(offset + r.pos) +
                                " bytes while reading; its size was " + std::to_string(size));
    }
    if (static_cast<uint32_t>(got) < r.len) {
      Status st = issue(r.pos + static_cast<uint32_t>(got), r.len - static_cast<uint32_t>(got));
      if (!st.ok()) {
        c->Discard();
        return st;
      }
    }
  }
  return Status::Ok();
}

Result<ObjectInfo> SftpBackend::Stat(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string what = "stat " + DescribeObject(h);
  LB_RETURN_IF_ERROR(CheckContext(what));
  const std::string path = PathOf(h);
  LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
  Attributes a(sftp_stat(c->sftp(), path.c_str()));
  if (a == nullptr) return c->Error(what + ": " + path);
  if (a->type != SSH_FILEXFER_TYPE_REGULAR) {
    return Status::IOError(what + ": " + path + " is not a regular file");
  }
  return ObjectInfo{h.type == ObjectType::kConfig ? std::string() : h.name, a->size};
}

Status SftpBackend::ReadDirectory(const std::string& dir, std::string_view prefix, bool dirs,
                                  std::vector<ObjectInfo>* out) {
  LB_RETURN_IF_ERROR(CheckContext("listing " + dir));
  LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
  sftp_dir d = sftp_opendir(c->sftp(), dir.c_str());
  if (d == nullptr) {
    Status st = c->Error("listing " + dir);
    if (st.IsNotFound()) return Status::Ok();  // no objects of this kind yet
    return st;
  }
  for (;;) {
    Attributes a(sftp_readdir(c->sftp(), d));
    if (a == nullptr) break;
    std::string_view name = a->name != nullptr ? a->name : "";
    if (!Listable(name) || !name.starts_with(prefix)) continue;
    const uint8_t want = dirs ? SSH_FILEXFER_TYPE_DIRECTORY : SSH_FILEXFER_TYPE_REGULAR;
    if (a->type != want) continue;
    out->push_back(ObjectInfo{std::string(name), a->size});
  }
  const bool complete = sftp_dir_eof(d) == 1;
  Status st = complete ? Status::Ok() : c->Error("listing " + dir);
  if (sftp_closedir(d) != 0 && st.ok()) st = c->Error("closing directory " + dir);
  return st;
}

Status SftpBackend::List(ObjectType type, std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  if (std::optional<Status> done = ListWithoutListing(*this, type, prefix, fn)) return *done;
  const std::string dir = Join(root_, ObjectTypeDirectory(type));
  // Each directory is read with a connection, which is returned before fn runs (fn may call
  // back into the backend).
  if (type != ObjectType::kPack) {
    std::vector<ObjectInfo> found;
    LB_RETURN_IF_ERROR(ReadDirectory(dir, prefix, /*dirs=*/false, &found));
    for (const ObjectInfo& info : found) LB_RETURN_IF_ERROR(fn(info));
    return Status::Ok();
  }
  std::vector<ObjectInfo> subdirs;
  if (prefix.size() >= 2) {
    subdirs.push_back({std::string(prefix.substr(0, 2)), 0});
  } else {
    LB_RETURN_IF_ERROR(ReadDirectory(dir, prefix, /*dirs=*/true, &subdirs));
  }
  // Reading one fan-out directory takes four round trips (open, read, read to the end, close),
  // so the 256 of a repository are read over all of the pool's connections, a batch at a time:
  // one after the other they took 0.75 s on loopback, and 1024 round trips on a WAN. fn runs on
  // the caller's thread once its batch is read, with no connection held; memory holds the names
  // of one batch.
  const int workers = pool_->size();
  const size_t batch = static_cast<size_t>(workers) * 8;
  for (size_t first = 0; first < subdirs.size(); first += batch) {
    const size_t n = std::min(batch, subdirs.size() - first);
    std::vector<std::vector<ObjectInfo>> found(n);
    LB_RETURN_IF_ERROR(ParallelForUntilError(n, workers, [&](size_t i) {
      return ReadDirectory(Join(dir, subdirs[first + i].name), prefix, /*dirs=*/false, &found[i]);
    }));
    for (size_t i = 0; i < n; ++i) {
      for (const ObjectInfo& info : found[i]) {
        // A stray file in the wrong fan-out directory is not listed.
        if (!info.name.starts_with(subdirs[first + i].name)) continue;
        LB_RETURN_IF_ERROR(fn(info));
      }
    }
  }
  return Status::Ok();
}

Status SftpBackend::Remove(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string what = "removing " + DescribeObject(h);
  LB_RETURN_IF_ERROR(CheckContext(what));
  const std::string path = PathOf(h);
  LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
  if (sftp_unlink(c->sftp(), path.c_str()) != 0) return c->Error(what + ": " + path);
  return Status::Ok();
}

std::string NotARepositoryMessage(const std::string& location) {
  return location + " is not a Lifeboat repository (no config); run `lifeboat init` first";
}

Status SftpBackend::CheckRepository() {
  Result<ObjectInfo> config = Stat({ObjectType::kConfig, ""});
  if (config.status().IsNotFound()) return Status::NoRepository(NotARepositoryMessage(location_));
  return config.status();
}

Status SftpBackend::CreateLayout() {
  {
    Result<ObjectInfo> config = Stat({ObjectType::kConfig, ""});
    if (config.ok()) {
      return Status::AlreadyExists(location_ + " already holds a repository (config exists)");
    }
    if (!config.status().IsNotFound()) return config.status();
  }
  // The root and its parents, then the layout: one round trip each. The 256 fan-out
  // directories are spread over the pool's connections, so that they cost 256/N round trips.
  std::vector<std::string> dirs;
  for (size_t slash = root_.find('/', 1); slash != std::string::npos;
       slash = root_.find('/', slash + 1)) {
    dirs.push_back(root_.substr(0, slash));
  }
  dirs.push_back(root_);
  for (ObjectType type : kObjectTypesInDirectories) dirs.push_back(Join(root_, ObjectTypeDirectory(type)));
  const std::string data = Join(root_, ObjectTypeDirectory(ObjectType::kPack));
  const std::string what = "creating " + location_;
  {
    LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
    for (const std::string& d : dirs) {
      LB_RETURN_IF_ERROR(CheckContext(what));
      LB_RETURN_IF_ERROR(MakeDirectory(*c, d).WithContext(what));
    }
  }
  const int workers = pool_->size();
  std::vector<Status> results(static_cast<size_t>(workers));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Result<SftpPool::Lease> c = pool_->Acquire();
      if (!c.ok()) {
        results[static_cast<size_t>(w)] = c.status();
        return;
      }
      for (int i = w; i < 256; i += workers) {
        char sub[3];
        std::snprintf(sub, sizeof sub, "%02x", i);
        Status st = CheckContext(what);
        if (st.ok()) st = MakeDirectory(**c, Join(data, sub)).WithContext(what);
        if (!st.ok()) {
          results[static_cast<size_t>(w)] = st;
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& st : results) LB_RETURN_IF_ERROR(st);
  LB_ASSIGN_OR_RETURN(SftpPool::Lease c, pool_->Acquire());
  SyncDirectory(*c, data);
  SyncDirectory(*c, root_);
  return Status::Ok();
}

}  // namespace

std::span<const BackendOptionSpec> SftpOptionSpecs() { return kSftpOptions; }

Result<std::unique_ptr<Backend>> OpenSftpBackend(const BackendOpenArgs& args) {
  LB_RETURN_IF_ERROR(args.options.CheckKnown("sftp", SftpOptionSpecs()));
  LB_ASSIGN_OR_RETURN(SftpAddress address, ParseSftpAddress(args.address));
  SftpConnectSettings settings;
  LB_ASSIGN_OR_RETURN(settings.identity, args.options.GetString("sftp.identity", ""));
  LB_ASSIGN_OR_RETURN(settings.known_hosts, args.options.GetString("sftp.known-hosts", ""));
  LB_ASSIGN_OR_RETURN(settings.config, args.options.GetString("sftp.config", ""));
  LB_ASSIGN_OR_RETURN(int connections,
                      ConnectionsOption(args.options, "sftp", kDefaultConnections));
  settings.context = args.context;
  const std::string root = address.path;
  settings.address = std::move(address);
  auto be = std::make_unique<SftpBackend>(RedactLocation(args.location), root,
                                          std::make_unique<SftpPool>(settings, connections));
  LB_RETURN_IF_ERROR(args.create ? be->CreateLayout() : be->CheckRepository());
  return std::unique_ptr<Backend>(std::move(be));
}

}  // namespace lifeboat
