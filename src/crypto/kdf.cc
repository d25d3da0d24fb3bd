#include "crypto/kdf.h"

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace lifeboat::crypto {
namespace {

// The working set: B = 128 * r * p, V = 128 * r * N and scratch of 256 * r + 64 bytes (libsodium's
// escrypt), rounded up to 128 * r * (N + 2). False when it exceeds kMaxScryptMemory.
bool ScryptMemoryFits(uint64_t n, uint64_t r, uint64_t p) {
  const unsigned __int128 total = static_cast<unsigned __int128>(128) * r * p +
                                  static_cast<unsigned __int128>(128) * r * (n + 2);
  return total <= kMaxScryptMemory;
}

}  // namespace

Result<SecretKey> DeriveKeyScrypt(std::string_view password, ByteView salt, uint64_t n, uint32_t r,
                                  uint32_t p) {
  const std::string params =
      " (N=" + std::to_string(n) + ", r=" + std::to_string(r) + ", p=" + std::to_string(p) + ")";
  if (n < 2 || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("scrypt N must be a power of two >= 2" + params);
  }
  if (r == 0 || p == 0) return Status::InvalidArgument("scrypt r and p must be >= 1" + params);
  // RFC 7914: p <= (2^32 - 1) * 32 / (128 * r), and N < 2^(128 * r / 8).
  if (uint64_t{r} * p >= (uint64_t{1} << 30)) {
    return Status::InvalidArgument("scrypt r * p must be < 2^30" + params);
  }
  if (16 * uint64_t{r} < 64 && n >= (uint64_t{1} << (16 * r))) {
    return Status::InvalidArgument("scrypt N must be < 2^(16 r)" + params);
  }
  if (!ScryptMemoryFits(n, r, p)) {
    return Status::InvalidArgument("scrypt parameters need more than " +
                                   std::to_string(kMaxScryptMemory >> 20) + " MiB" + params);
  }

  // Idempotent and thread-safe; picks the SIMD implementation of salsa20/8 for this CPU.
  if (sodium_init() < 0) return Status::Internal("libsodium could not be initialised");
  static const uint8_t kEmpty[1] = {0};
  SecretKey key;
  if (crypto_pwhash_scryptsalsa208sha256_ll(
          reinterpret_cast<const uint8_t*>(password.empty() ? "" : password.data()),
          password.size(), salt.empty() ? kEmpty : salt.data(), salt.size(), n, r, p,
          key.bytes.data(), key.bytes.size()) != 0) {
    return Status::Internal("scrypt failed" + params + ": " + std::strerror(errno));
  }
  return key;
}

}  // namespace lifeboat::crypto
