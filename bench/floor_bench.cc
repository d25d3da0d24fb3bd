// The floor of a backup's CPU time in Lifeboat's design: the per-byte work every backup of PATH
// must do and nothing else. For each file: read it, cut it into chunks (keyed FastCDC), compute
// each chunk's id (HMAC-SHA-256; runs of zeros once per length, as the archiver does), and for
// each chunk not stored yet: compress (zstd), seal (AES-256-GCM), then open, decompress and
// re-hash it (the check the repository format requires before a blob is committed). Not done:
// walking metadata, packs and their names, index, writes, fsync, threads and their hand-offs.
// The code is the engine's own (lb_chunker, lb_pack), run on one thread; its CPU time divided by
// the number of cores is the best wall time any implementation of this design can reach.
//
//   floor_bench [--known PATH] [--level N] [--cores N] PATH
//
//   --known PATH  the previous version: its chunks count as stored, and a file with the same
//                 relative path, size and mtime there is not read (the changed-backup step)
//   --level N     zstd level (default 3, the repository default)
//   --cores N     cores the ideal wall time is computed for (default 2)
//
// Prints one line per stage (CPU seconds, thread time: user + system) and the totals. Exit 2
// on bad usage, 1 when a file cannot be read.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chunker/chunker.h"
#include "crypto/crypto.h"
#include "pack/blob.h"

namespace lifeboat {
namespace {

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Regular files below `root` (or `root` itself), sorted, as the walk visits them. False, with a
// message, when `root` cannot be walked.
bool RegularFiles(const std::string& root, std::vector<std::string>* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(fs::symlink_status(root, ec))) {
    *out = {root};
    return true;
  }
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && !it->is_symlink()) out->push_back(it->path().string());
  if (ec) {
    std::fprintf(stderr, "floor_bench: cannot walk %s: %s\n", root.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(out->begin(), out->end());
  return true;
}

// What the archiver compares with the parent snapshot to skip a file (inode and ctime aside:
// they differ between two copies of a tree).
struct FileKey {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileKey&) const = default;
};

FileKey KeyOf(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// `file` relative to `root` ("" when they are the same file).
std::string Relative(const std::string& root, const std::string& file) {
  return file.size() > root.size() ? file.substr(root.size()) : "";
}

struct Stage {
  double seconds = 0;
  void Add(double since) { seconds += ThreadCpuSeconds() - since; }
};

struct Totals {
  Stage read, chunk, id, encode;
  uint64_t files = 0, unchanged_files = 0;
  uint64_t bytes = 0, chunks = 0, new_chunks = 0, new_bytes = 0, stored_bytes = 0;
};

class Floor {
 public:
  explicit Floor(int level)
      : chunker_(GearTable::FromSecret(Secret()), ChunkerParams{}),
        aead_(crypto::SecretKey::Random()),
        mac_(crypto::SecretKey::Random()),
        codec_(aead_, mac_, level) {}

  // Runs the per-byte work on every file of `path`; `store` false only records the ids and
  // the files' keys, which a later run compares with to skip unchanged files.
  bool Run(const std::string& path, bool store, Totals* t) {
    std::vector<std::string> files;
    if (!RegularFiles(path, &files)) return false;
    for (const auto& file : files) {
      struct stat st;
      if (::stat(file.c_str(), &st) != 0) {
        std::fprintf(stderr, "floor_bench: cannot stat %s: %s\n", file.c_str(), strerror(errno));
        return false;
      }
      const std::string rel = Relative(path, file);
      t->files++;
      if (!store) {
        known_files_[rel] = KeyOf(st);
      } else if (auto it = known_files_.find(rel); it != known_files_.end() && it->second == KeyOf(st)) {
        t->unchanged_files++;
        continue;
      }
      if (!File(file, store, t)) return false;
    }
    return true;
  }

 private:
  static Bytes Secret() {
    Bytes s(GearTable::kSecretSize);
    if (!crypto::RandomBytes(s).ok()) std::abort();
    return s;
  }

  bool File(const std::string& file, bool store, Totals* t) {
    double t0 = ThreadCpuSeconds();
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0) fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    t->read.Add(t0);
    if (fd < 0) {
      std::fprintf(stderr, "floor_bench: cannot open %s: %s\n", file.c_str(), strerror(errno));
      return false;
    }
    const size_t max = chunker_.params().max_size;
    buf_.resize(2 * max);
    size_t have = 0, scanned = 0;
    bool eof = false;
    for (;;) {
      if (!eof && have < max) {
        t0 = ThreadCpuSeconds();
        ssize_t n = ::read(fd, buf_.data() + have, buf_.size() - have);
        t->read.Add(t0);
        if (n < 0) {
          std::fprintf(stderr, "floor_bench: cannot read %s: %s\n", file.c_str(), strerror(errno));
          ::close(fd);
          return false;
        }
        if (n == 0) eof = true;
        have += static_cast<size_t>(n);
        t->bytes += static_cast<uint64_t>(n);
        if (!eof && have < max) continue;
      }
      if (have == 0) break;
      t0 = ThreadCpuSeconds();
      size_t cut = chunker_.NextCut(ByteView(buf_.data(), have), eof, scanned);
      t->chunk.Add(t0);
      if (cut == 0) {
        scanned = have;
        continue;
      }
      Chunk(ByteView(buf_.data(), cut), store, t);
      std::memmove(buf_.data(), buf_.data() + cut, have - cut);
      have -= cut;
      scanned = 0;
    }
    ::close(fd);
    return true;
  }

  void Chunk(ByteView chunk, bool store, Totals* t) {
    t->chunks++;
    double t0 = ThreadCpuSeconds();
    Id id;
    const bool zero = chunk[0] == 0 && std::memcmp(chunk.data(), chunk.data() + 1, chunk.size() - 1) == 0;
    auto cached = zero ? zero_ids_.find(chunk.size()) : zero_ids_.end();
    if (cached != zero_ids_.end()) {
      id = cached->second;
    } else {
      id = codec_.ComputeId(chunk);
      if (zero) zero_ids_.emplace(chunk.size(), id);
    }
    t->id.Add(t0);
    if (!known_.insert(id).second || !store) return;
    t->new_chunks++;
    t->new_bytes += chunk.size();
    t0 = ThreadCpuSeconds();
    stored_.clear();
    Status st = codec_.Encode(chunk, id, &stored_);
    t->encode.Add(t0);
    if (!st.ok()) {
      std::fprintf(stderr, "floor_bench: %s\n", st.ToString().c_str());
      std::abort();
    }
    t->stored_bytes += stored_.size();
  }

  struct IdHash {
    size_t operator()(const Id& id) const {
      size_t h;
      std::memcpy(&h, id.bytes.data(), sizeof h);
      return h;
    }
  };

  Chunker chunker_;
  crypto::Aead aead_;
  crypto::HmacSha256 mac_;
  BlobCodec codec_;
  Bytes buf_, stored_;
  std::unordered_set<Id, IdHash> known_;
  std::unordered_map<size_t, Id> zero_ids_;
  std::unordered_map<std::string, FileKey> known_files_;
};

int Usage() {
  std::fprintf(stderr, "usage: floor_bench [--known PATH] [--level N] [--cores N] PATH\n");
  return 2;
}

int Main(int argc, char** argv) {
  std::string known, path;
  int level = 3, cores = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--known" || a == "--level" || a == "--cores") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--known") known = v;
      else if (a == "--level") level = std::atoi(v.c_str());
      else cores = std::atoi(v.c_str());
    } else if (!a.empty() && a[0] != '-' && path.empty()) {
      path = a;
    } else {
      return Usage();
    }
  }
  if (path.empty() || cores < 1 || level < 1 || level > 19) return Usage();
  Floor floor(level);
  Totals previous, t;
  if (!known.empty() && !floor.Run(known, false, &previous)) return 1;
  if (!floor.Run(path, true, &t)) return 1;
  const double total = t.read.seconds + t.chunk.seconds + t.id.seconds + t.encode.seconds;
  std::printf("floor of backing up %s%s (zstd level %d)\n", path.c_str(),
              known.empty() ? "" : (" after " + known).c_str(), level);
  std::printf("  files       %llu, %llu of them unchanged (not read)\n",
              static_cast<unsigned long long>(t.files),
              static_cast<unsigned long long>(t.unchanged_files));
  std::printf("  data read   %.1f MiB in %llu chunks; new: %llu chunks, %.1f MiB, stored as %.1f MiB\n",
              static_cast<double>(t.bytes) / (1 << 20), static_cast<unsigned long long>(t.chunks),
              static_cast<unsigned long long>(t.new_chunks),
              static_cast<double>(t.new_bytes) / (1 << 20),
              static_cast<double>(t.stored_bytes) / (1 << 20));
  std::printf("  read        %6.2f s CPU\n", t.read.seconds);
  std::printf("  chunk       %6.2f s CPU\n", t.chunk.seconds);
  std::printf("  id          %6.2f s CPU\n", t.id.seconds);
  std::printf("  encode      %6.2f s CPU  (compress, seal, open, decompress, re-hash)\n",
              t.encode.seconds);
  std::printf("  total       %6.2f s CPU = %.2f s wall at best on %d cores\n", total,
              total / cores, cores);
  return 0;
}

}  // namespace
}  // namespace lifeboat

int main(int argc, char** argv) { return lifeboat::Main(argc, argv); }
