#include "backend/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "util/file_io.h"

namespace lifeboat {
namespace {

std::string NormalizeRoot(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

std::string Join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string NotARepositoryMessage(const std::string& root) {
  return root + " is not a Lifeboat repository (no config); run `lifeboat init` first";
}

// mkdir that accepts an existing directory. Does not sync; the caller syncs the parent once.
Status MakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST) return PosixError("mkdir " + path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("stat " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition(path + " exists and is not a directory");
  }
  return Status::Ok();
}

// Owns an open directory stream.
class DirectoryStream {
 public:
  DirectoryStream() = default;
  DirectoryStream(const DirectoryStream&) = delete;
  DirectoryStream& operator=(const DirectoryStream&) = delete;
  ~DirectoryStream() {
    if (dir_ != nullptr) ::closedir(dir_);
  }

  // NotFound if `path` does not exist.
  Status Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("open directory " + path);
    dir_ = ::fdopendir(fd);
    if (dir_ == nullptr) {
      Status st = PosixError("fdopendir " + path);
      ::close(fd);
      return st;
    }
    path_ = path;
    return Status::Ok();
  }
  int fd() const { return ::dirfd(dir_); }
  // Sets *entry to the next entry, or nullptr at the end.
  Status Next(struct dirent** entry) {
    errno = 0;
    *entry = ::readdir(dir_);
    if (*entry == nullptr && errno != 0) return PosixError("read directory " + path_);
    return Status::Ok();
  }

 private:
  DIR* dir_ = nullptr;
  std::string path_;
};

bool Listable(std::string_view name) {
  return !name.empty() && name.find('.') == std::string_view::npos;
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::Create(const std::string& root_arg) {
  if (root_arg.empty()) return Status::InvalidArgument("repository path is empty");
  std::string root = NormalizeRoot(root_arg);
  struct stat st;
  std::string config = Join(root, "config");
  if (::stat(config.c_str(), &st) == 0) {
    return Status::AlreadyExists(root + " already holds a repository (config exists)");
  }
  if (errno != ENOENT && errno != ENOTDIR) return PosixError("stat " + config);
  LB_RETURN_IF_ERROR(CreateDirectories(root));
  for (ObjectType type : kObjectTypesInDirectories) {
    LB_RETURN_IF_ERROR(MakeDirectory(Join(root, ObjectTypeDirectory(type))));
  }
  std::string data = Join(root, ObjectTypeDirectory(ObjectType::kPack));
  for (int i = 0; i < 256; ++i) {
    char sub[3];
    std::snprintf(sub, sizeof sub, "%02x", i);
    LB_RETURN_IF_ERROR(MakeDirectory(Join(data, sub)));
  }
  // One sync per parent makes all the new entries durable.
  LB_RETURN_IF_ERROR(SyncDirectory(data));
  LB_RETURN_IF_ERROR(SyncDirectory(root));
  return std::unique_ptr<LocalBackend>(new LocalBackend(std::move(root)));
}

Result<std::unique_ptr<LocalBackend>> LocalBackend::Open(const std::string& root_arg) {
  if (root_arg.empty()) return Status::InvalidArgument("repository path is empty");
  std::string root = NormalizeRoot(root_arg);
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NoRepository(NotARepositoryMessage(root));
    return PosixError("stat " + root);
  }
  if (!S_ISDIR(st.st_mode)) return Status::NoRepository(NotARepositoryMessage(root));
  std::string config = Join(root, "config");
  if (::stat(config.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NoRepository(NotARepositoryMessage(root));
    return PosixError("stat " + config);
  }
  return std::unique_ptr<LocalBackend>(new LocalBackend(std::move(root)));
}

std::string LocalBackend::Location() const { return "local:" + root_; }

std::string LocalBackend::PathOf(const ObjectHandle& h) const {
  if (h.type == ObjectType::kConfig) return Join(root_, "config");
  std::string dir = Join(root_, ObjectTypeDirectory(h.type));
  if (h.type == ObjectType::kPack) dir = Join(dir, std::string_view(h.name).substr(0, 2));
  return Join(dir, h.name);
}

Status LocalBackend::Save(const ObjectHandle& h, ByteView data) {
  return SaveParts(h, ByteParts(&data, 1));
}

Status LocalBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  Status st = WriteFileDurably(PathOf(h), parts, /*overwrite=*/false);
  if (st.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists(DescribeObject(h) + " already exists; refusing to overwrite");
  }
  return st.WithContext("saving " + DescribeObject(h));
}

Result<Bytes> LocalBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  Bytes out;
  LB_RETURN_IF_ERROR(LoadInto(h, offset, length, &out));
  return out;
}

Status LocalBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                              Bytes* out) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string what = DescribeObject(h);
  const std::string path = PathOf(h);
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError(what + ": open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError(what + ": stat " + path);
  if (!S_ISREG(st.st_mode)) return Status::IOError(what + ": " + path + " is not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || (length > 0 && length > size - offset)) {
    return Status::Corruption(what + " has " + std::to_string(size) + " bytes; cannot read " +
                              (length == 0 ? std::string("to the end") : std::to_string(length)) +
                              " at offset " + std::to_string(offset));
  }
  const uint64_t n = length == 0 ? size - offset : length;
  out->resize(static_cast<size_t>(n));
  return PReadExact(fd.get(), out->data(), out->size(), offset, what);
}

Result<ObjectInfo> LocalBackend::Stat(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string path = PathOf(h);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError(DescribeObject(h) + ": stat " + path);
  if (!S_ISREG(st.st_mode)) {
    return Status::IOError(DescribeObject(h) + ": " + path + " is not a regular file");
  }
  return ObjectInfo{h.type == ObjectType::kConfig ? std::string() : h.name,
                    static_cast<uint64_t>(st.st_size)};
}

Status LocalBackend::ListDirectory(const std::string& dir, std::string_view prefix,
                                   std::string_view required_start,
                                   const std::function<Status(const ObjectInfo&)>& fn) const {
  std::vector<ObjectInfo> found;
  {
    DirectoryStream stream;
    Status opened = stream.Open(dir);
    if (opened.IsNotFound()) return Status::Ok();  // no objects of this kind yet
    LB_RETURN_IF_ERROR(opened);
    for (;;) {
      struct dirent* entry;
      LB_RETURN_IF_ERROR(stream.Next(&entry));
      if (entry == nullptr) break;
      std::string_view name = entry->d_name;
      if (!Listable(name) || !name.starts_with(prefix) || !name.starts_with(required_start)) {
        continue;
      }
      if (entry->d_type != DT_REG && entry->d_type != DT_UNKNOWN) continue;
      struct stat st;
      if (::fstatat(stream.fd(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while we listed
        return PosixError("stat " + Join(dir, name));
      }
      if (!S_ISREG(st.st_mode)) continue;
      found.push_back(ObjectInfo{std::string(name), static_cast<uint64_t>(st.st_size)});
    }
  }
  for (const ObjectInfo& info : found) LB_RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

Status LocalBackend::List(ObjectType type, std::string_view prefix,
                          const std::function<Status(const ObjectInfo&)>& fn) {
  if (std::optional<Status> done = ListWithoutListing(*this, type, prefix, fn)) return *done;
  const std::string dir = Join(root_, ObjectTypeDirectory(type));
  if (type != ObjectType::kPack) return ListDirectory(dir, prefix, "", fn);

  if (prefix.size() >= 2) {
    std::string_view sub = prefix.substr(0, 2);
    return ListDirectory(Join(dir, sub), prefix, sub, fn);
  }
  std::vector<std::string> subdirs;
  {
    DirectoryStream stream;
    Status opened = stream.Open(dir);
    if (opened.IsNotFound()) return Status::Ok();
    LB_RETURN_IF_ERROR(opened);
    for (;;) {
      struct dirent* entry;
      LB_RETURN_IF_ERROR(stream.Next(&entry));
      if (entry == nullptr) break;
      std::string_view name = entry->d_name;
      if (!Listable(name) || !name.starts_with(prefix)) continue;
      if (entry->d_type == DT_UNKNOWN) {
        struct stat st;
        if (::fstatat(stream.fd(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISDIR(st.st_mode)) continue;
      } else if (entry->d_type != DT_DIR) {
        continue;
      }
      subdirs.emplace_back(name);
    }
  }
  for (const std::string& sub : subdirs) {
    LB_RETURN_IF_ERROR(ListDirectory(Join(dir, sub), prefix, sub, fn));
  }
  return Status::Ok();
}

Status LocalBackend::Remove(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string path = PathOf(h);
  if (::unlink(path.c_str()) != 0) return PosixError(DescribeObject(h) + ": remove " + path);
  std::string dir = path.substr(0, path.find_last_of('/'));
  if (dir.empty()) dir = "/";
  return SyncDirectory(dir).WithContext("removing " + DescribeObject(h));
}

}  // namespace lifeboat
