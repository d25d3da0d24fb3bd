// Writes a deterministic, disk-image-like benchmark file: alternating runs of random bytes and
// zero bytes (each run 64 KiB..8 MiB, 4 KiB aligned), fully determined by --seed and --size.
// Variant 2 is the same stream with ~1% of the 4 KiB blocks rewritten with fresh random data
// (scattered single blocks, or extents of up to --extent-blocks blocks) and 64 KiB of new random
// data inserted at offset 1 MiB (or at the middle of images below 2 MiB).
//
//   lifeboat_bench_make_image --size 1G --seed 1 --variant 1 image-v1.img
//   lifeboat_bench_make_image --size 1G --seed 1 --variant 2 image-v2.img
//
// Stand-alone on purpose (no Lifeboat libraries): the benchmark must not depend on the code it
// measures. Output is identical on every little-endian machine for the same arguments.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kBlockSize = 4 * kKiB;       // unit of v2 rewrites and run alignment
constexpr uint64_t kMinRun = 64 * kKiB;         // shortest random/zero run
constexpr uint64_t kMaxRunLog2Factor = 7;       // longest run = kMinRun << 7 = 8 MiB
constexpr uint64_t kInsertSize = 64 * kKiB;     // bytes inserted by variant 2
constexpr uint64_t kInsertOffset = 1 * kMiB;    // where variant 2 inserts them
constexpr uint32_t kRewritePerMille = 10;       // variant 2 rewrites ~1% of blocks
constexpr uint32_t kZeroRunPercent = 35;        // share of runs that are zero runs

// SplitMix64: used to seed streams and as a stateless hash of (seed, index).
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// xoshiro256** (Blackman/Vigna): fast, reproducible, good enough to defeat compression.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed = SplitMix64(seed);
      word = seed;
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Fills `out[0, n)` with random bytes (little-endian words; n need not be a multiple of 8).
  void Fill(uint8_t* out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = Next();
      std::memcpy(out + i, &v, 8);
    }
    if (i < n) {
      const uint64_t v = Next();
      std::memcpy(out + i, &v, n - i);
    }
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// Produces the variant-1 byte stream sequentially, run by run.
class BaseStream {
 public:
  BaseStream(uint64_t seed, uint64_t size)
      : layout_rng_(seed ^ 0x6c61796f7574ULL), data_rng_(seed ^ 0x64617461ULL), remaining_(size) {}

  // Fills `out[0, n)` with the next n bytes of the stream. REQUIRES: n <= bytes remaining.
  void Read(uint8_t* out, size_t n) {
    while (n > 0) {
      if (run_left_ == 0) StartRun();
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, run_left_));
      if (run_is_zero_) {
        std::memset(out, 0, take);
      } else {
        data_rng_.Fill(out, take);
      }
      out += take;
      n -= take;
      run_left_ -= take;
      remaining_ -= take;
    }
  }

  uint64_t runs() const { return runs_; }
  uint64_t zero_bytes() const { return zero_bytes_; }

 private:
  void StartRun() {
    run_is_zero_ = layout_rng_.Next() % 100 < kZeroRunPercent;
    // Roughly log-uniform length in [64 KiB, 8 MiB): pick an octave, then a point inside it.
    // Integer arithmetic only, so the layout is identical everywhere.
    const uint64_t octave_start = kMinRun << (layout_rng_.Next() % kMaxRunLog2Factor);
    uint64_t len = octave_start + layout_rng_.Next() % octave_start;
    len -= len % kBlockSize;
    run_left_ = std::min(std::max(len, kMinRun), remaining_);
    ++runs_;
    if (run_is_zero_) zero_bytes_ += run_left_;
  }

  Rng layout_rng_;
  Rng data_rng_;
  uint64_t remaining_;
  uint64_t run_left_ = 0;
  bool run_is_zero_ = false;
  uint64_t runs_ = 0;
  uint64_t zero_bytes_ = 0;
};

bool ParseSize(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t multiplier = 1;
  switch (text.back()) {
    case 'K': case 'k': multiplier = kKiB; break;
    case 'M': case 'm': multiplier = kMiB; break;
    case 'G': case 'g': multiplier = 1024 * kMiB; break;
    default: break;
  }
  if (multiplier != 1) text.remove_suffix(1);
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    if (value > (UINT64_MAX - 9) / 10) return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT64_MAX / multiplier) return false;
  *out = value * multiplier;
  return true;
}

bool ParseUint(std::string_view text, uint64_t* out) {
  uint64_t value = 0;
  if (!ParseSize(text, &value)) return false;
  if (text.back() < '0' || text.back() > '9') return false;  // no K/M/G suffix for plain numbers
  *out = value;
  return true;
}

// Writes the whole buffer, retrying on EINTR and short writes. Returns false with errno set.
bool WriteAll(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void Usage() {
  std::fprintf(stderr,
               "usage: lifeboat_bench_make_image [--size N[K|M|G]] [--seed N] [--variant 1|2]\n"
               "                                 [--extent-blocks N] OUT\n"
               "  --size     size of variant 1 in bytes, multiple of 4K (default 1G);\n"
               "             variant 2 is 64K larger\n"
               "  --seed     PRNG seed (default 1); same seed + size = same bytes\n"
               "  --variant  1 = base image, 2 = base with ~1%% of 4K blocks rewritten and\n"
               "             64K inserted at offset 1M (default 1)\n"
               "  --extent-blocks  variant 2 rewrites blocks in runs of 1..N consecutive blocks\n"
               "             (still ~1%% of all blocks); default 1 = scattered single blocks\n");
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t size = 1024 * kMiB;
  uint64_t seed = 1;
  uint64_t variant = 1;
  uint64_t extent_blocks = 1;
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--size" && has_value) {
      if (!ParseSize(argv[++i], &size)) {
        std::fprintf(stderr, "make_image: bad --size '%s'\n", argv[i]);
        return 2;
      }
    } else if (arg == "--seed" && has_value) {
      if (!ParseUint(argv[++i], &seed)) {
        std::fprintf(stderr, "make_image: bad --seed '%s'\n", argv[i]);
        return 2;
      }
    } else if (arg == "--variant" && has_value) {
      if (!ParseUint(argv[++i], &variant) || (variant != 1 && variant != 2)) {
        std::fprintf(stderr, "make_image: --variant must be 1 or 2\n");
        return 2;
      }
    } else if (arg == "--extent-blocks" && has_value) {
      if (!ParseUint(argv[++i], &extent_blocks) || extent_blocks == 0 || extent_blocks > 4096) {
        std::fprintf(stderr, "make_image: --extent-blocks must be 1..4096\n");
        return 2;
      }
    } else if (arg == "-h" || arg == "--help") {
      Usage();
      return 0;
    } else if (!arg.empty() && arg[0] != '-' && out_path.empty()) {
      out_path = arg;
    } else {
      Usage();
      return 2;
    }
  }
  if (out_path.empty() || size == 0 || size % kBlockSize != 0) {
    std::fprintf(stderr, "make_image: need OUT and a --size that is a positive multiple of 4K\n");
    Usage();
    return 2;
  }

  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "make_image: open %s: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }

  BaseStream base(seed, size);
  Rng mutation_rng(seed ^ 0x6d757461746500ULL);
  const uint64_t insert_at = size >= 2 * kInsertOffset ? kInsertOffset : (size / 2) & ~(kBlockSize - 1);
  // A rewrite extent starts at a block with probability 1% / (mean extent length), so that ~1% of
  // all blocks end up rewritten whatever the extent length.
  const uint64_t extent_start_threshold =
      UINT64_MAX / 1000 * kRewritePerMille / (extent_blocks + 1) * 2;
  uint64_t extent_left = 0;
  uint64_t rewritten_blocks = 0;

  // Process whole blocks; kInsertOffset and every chunk boundary are block aligned.
  std::vector<uint8_t> buffer(1 * kMiB);
  for (uint64_t offset = 0; offset < size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
    base.Read(buffer.data(), n);
    if (variant == 2) {
      for (size_t b = 0; b < n; b += kBlockSize) {
        const uint64_t block_index = (offset + b) / kBlockSize;
        const uint64_t hash = SplitMix64(seed * 0x100000001b3ULL + block_index);
        if (extent_left == 0 && hash < extent_start_threshold) {
          extent_left = 1 + SplitMix64(hash) % extent_blocks;  // 1..extent_blocks blocks
        }
        if (extent_left > 0) {
          mutation_rng.Fill(buffer.data() + b, kBlockSize);
          ++rewritten_blocks;
          --extent_left;
        }
      }
    }
    size_t written = 0;
    if (variant == 2 && insert_at >= offset && insert_at < offset + n) {
      const size_t head = static_cast<size_t>(insert_at - offset);
      std::vector<uint8_t> inserted(kInsertSize);
      mutation_rng.Fill(inserted.data(), inserted.size());
      if (!WriteAll(fd, buffer.data(), head) || !WriteAll(fd, inserted.data(), inserted.size())) {
        std::fprintf(stderr, "make_image: write %s: %s\n", out_path.c_str(), std::strerror(errno));
        ::close(fd);
        return 1;
      }
      written = head;
    }
    if (!WriteAll(fd, buffer.data() + written, n - written)) {
      std::fprintf(stderr, "make_image: write %s: %s\n", out_path.c_str(), std::strerror(errno));
      ::close(fd);
      return 1;
    }
    offset += n;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::fprintf(stderr, "make_image: close %s: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr,
               "make_image: wrote %s: variant %llu, %llu bytes, %llu runs, %llu zero bytes, "
               "%llu blocks rewritten, %llu bytes inserted at %llu\n",
               out_path.c_str(), static_cast<unsigned long long>(variant),
               static_cast<unsigned long long>(size + (variant == 2 ? kInsertSize : 0)),
               static_cast<unsigned long long>(base.runs()),
               static_cast<unsigned long long>(base.zero_bytes()),
               static_cast<unsigned long long>(rewritten_blocks),
               static_cast<unsigned long long>(variant == 2 ? kInsertSize : 0),
               static_cast<unsigned long long>(variant == 2 ? insert_at : 0));
  return 0;
}
