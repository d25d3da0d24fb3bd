// Turns a copy of a source tree into its deterministic "version 2": of the regular files (sorted
// by path, shuffled with a seeded PRNG) 1% are edited in the middle (a few bytes overwritten and a
// few inserted), 0.2% are deleted and 0.2% get an edited copy beside them ("<name>.v2copy").
// Symlinks, directories and special files are left alone. Run it on a copy, never on the original.
//
//   cp -a kernel-v1 kernel-v2
//   lifeboat_bench_mutate_tree --seed 1 kernel-v2
//
// Mutating the same tree again (successive versions, as bench/lifecycle.sh does) needs a new
// --copy-suffix each time: an edited copy is never written over an existing file.
//
// Stand-alone on purpose (no Lifeboat libraries). The same input tree and seed always give the
// same output bytes and the same file set; edited files get the current time as mtime, which is
// what makes backup tools notice them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr char kDefaultCopySuffix[] = ".v2copy";

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// SplitMix64 as a sequential generator; its output is fixed by the published algorithm, unlike
// std::uniform_int_distribution / std::shuffle, whose results differ between standard libraries.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    const uint64_t current = state_;
    state_ += 0x9e3779b97f4a7c15ULL;
    return SplitMix64(current);  // SplitMix64() adds the increment itself
  }
  // Uniform in [0, bound); bound > 0. Modulo bias is irrelevant at these bounds.
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

struct Options {
  uint64_t seed = 1;
  uint64_t edit_permille = 10;
  uint64_t delete_permille = 2;
  uint64_t add_permille = 2;
  std::string copy_suffix = kDefaultCopySuffix;
  std::string root;
};

struct Counts {
  uint64_t files = 0;
  uint64_t edited = 0;
  uint64_t deleted = 0;
  uint64_t added = 0;
  uint64_t bytes_changed = 0;
};

// Reads the whole file into `out`. Returns an error message, empty on success.
std::string ReadFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "open " + path + ": " + std::strerror(errno);
  out->clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      const std::string err = "read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return err;
    }
    if (r == 0) break;
    out->append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return "";
}

// Replaces the content of `path` (created with `mode` if missing) by `data`.
std::string WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return "open " + path + ": " + std::strerror(errno);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const std::string err = "write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return err;
    }
    done += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) return "close " + path + ": " + std::strerror(errno);
  return "";
}

// Edits `data` in the middle: overwrites up to 8 bytes and inserts 1..32 bytes, all printable
// so that text files stay text. Returns the number of bytes touched.
uint64_t EditInMiddle(std::string* data, Rng* rng) {
  auto random_char = [rng] { return static_cast<char>('a' + rng->Below(26)); };
  const size_t middle = data->size() / 2;
  const size_t overwrite = std::min<size_t>(1 + rng->Below(8), data->size() - middle);
  for (size_t i = 0; i < overwrite; ++i) (*data)[middle + i] = random_char();
  const size_t insert = 1 + rng->Below(32);
  std::string inserted;
  for (size_t i = 0; i < insert; ++i) inserted.push_back(random_char());
  data->insert(middle, inserted);
  return overwrite + insert;
}

bool ParseUint(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > (UINT64_MAX - 9) / 10) return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = value;
  return true;
}

void Usage() {
  std::fprintf(stderr,
               "usage: lifeboat_bench_mutate_tree [--seed N] [--edit-permille N]\n"
               "           [--delete-permille N] [--add-permille N] [--copy-suffix S] DIR\n"
               "  Mutates DIR in place (run it on a copy). Defaults: seed 1, edit 10 (1%%),\n"
               "  delete 2 (0.2%%), add 2 (0.2%% edited copies named <file>S), S = %s.\n"
               "  Give each further mutation of the same tree its own suffix (e.g. .v3copy).\n",
               kDefaultCopySuffix);
}

bool ParseArgs(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    uint64_t* target = nullptr;
    if (arg == "--seed") target = &options->seed;
    if (arg == "--edit-permille") target = &options->edit_permille;
    if (arg == "--delete-permille") target = &options->delete_permille;
    if (arg == "--add-permille") target = &options->add_permille;
    if (arg == "--copy-suffix") {
      // A suffix must keep the copy in the same directory and make a new name.
      if (i + 1 >= argc || argv[i + 1][0] == '\0' ||
          std::string_view(argv[i + 1]).find('/') != std::string_view::npos) {
        std::fprintf(stderr, "mutate_tree: --copy-suffix needs a non-empty value without '/'\n");
        return false;
      }
      options->copy_suffix = argv[++i];
    } else if (target != nullptr) {
      if (i + 1 >= argc || !ParseUint(argv[++i], target)) {
        std::fprintf(stderr, "mutate_tree: %s needs a non-negative integer\n", argv[i - 1]);
        return false;
      }
    } else if (!arg.empty() && arg[0] != '-' && options->root.empty()) {
      options->root = arg;
    } else {
      return false;
    }
  }
  if (options->root.empty()) return false;
  if (options->edit_permille + options->delete_permille + options->add_permille > 1000) {
    std::fprintf(stderr, "mutate_tree: edit + delete + add must not exceed 1000 permille\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (argc == 2 && (std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help")) {
    Usage();
    return 0;
  }
  if (!ParseArgs(argc, argv, &options)) {
    Usage();
    return 2;
  }

  // Collect regular files (not following symlinks) as paths relative to the root, sorted so the
  // selection does not depend on directory order.
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(options.root, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    files.push_back(it->path().lexically_relative(options.root).string());
  }
  if (ec) {
    std::fprintf(stderr, "mutate_tree: walking %s: %s\n", options.root.c_str(),
                 ec.message().c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());

  // Fisher-Yates with our own generator: the first slice is edited, the next deleted, the next
  // copied. Disjoint slices, so no file is both edited and deleted.
  Rng rng(SplitMix64(options.seed));
  for (size_t i = files.size(); i > 1; --i) std::swap(files[i - 1], files[rng.Below(i)]);
  Counts counts;
  counts.files = files.size();
  const size_t n_edit = files.size() * options.edit_permille / 1000;
  const size_t n_delete = files.size() * options.delete_permille / 1000;
  const size_t n_add = files.size() * options.add_permille / 1000;

  std::string data;
  for (size_t i = 0; i < n_edit + n_delete + n_add; ++i) {
    const std::string path = (fs::path(options.root) / files[i]).string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      std::fprintf(stderr, "mutate_tree: stat %s: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
    std::string err;
    if (i < n_edit) {
      err = ReadFile(path, &data);
      if (err.empty()) {
        counts.bytes_changed += EditInMiddle(&data, &rng);
        err = WriteFile(path, data, st.st_mode & 07777);
        ++counts.edited;
      }
    } else if (i < n_edit + n_delete) {
      if (::unlink(path.c_str()) != 0) err = "unlink " + path + ": " + std::strerror(errno);
      ++counts.deleted;
    } else {
      const std::string copy_path = path + options.copy_suffix;
      err = ReadFile(path, &data);
      if (err.empty() && ::access(copy_path.c_str(), F_OK) == 0) {
        err = copy_path +
              " already exists (mutating an already mutated tree? give it another --copy-suffix)";
      }
      if (err.empty()) {
        counts.bytes_changed += EditInMiddle(&data, &rng);
        err = WriteFile(copy_path, data, st.st_mode & 07777);
        ++counts.added;
      }
    }
    if (!err.empty()) {
      std::fprintf(stderr, "mutate_tree: %s\n", err.c_str());
      return 1;
    }
  }
  std::fprintf(stderr,
               "mutate_tree: %s: %llu files, %llu edited, %llu deleted, %llu added, "
               "%llu bytes changed or inserted\n",
               options.root.c_str(), static_cast<unsigned long long>(counts.files),
               static_cast<unsigned long long>(counts.edited),
               static_cast<unsigned long long>(counts.deleted),
               static_cast<unsigned long long>(counts.added),
               static_cast<unsigned long long>(counts.bytes_changed));
  return 0;
}
