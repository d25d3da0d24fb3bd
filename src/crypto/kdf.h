// Password-based key derivation (scrypt, RFC 7914), used to unlock a repository's key file.
//
//   LB_ASSIGN_OR_RETURN(SecretKey kek, DeriveKeyScrypt(password, salt, 1 << 20, 8, 1));
//   // kek decrypts the master keys; a wrong password shows up as a failed Aead::Open.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/random.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::crypto {

// Largest scrypt working set DeriveKeyScrypt will allocate (about 128 * r * (N + p) bytes):
// 4 GiB, i.e. N = 2^21 with r = 8. Guards against key files that ask for absurd parameters.
constexpr uint64_t kMaxScryptMemory = uint64_t{1} << 32;

// Returns the first 32 bytes of scrypt(password, salt, N=n, r, p), computed by libsodium (its
// SIMD salsa20/8 runs about 1.4x faster than OpenSSL's scrypt on the same parameters).
// Thread-safe; blocks for as long as the parameters demand (about 1 s and 1 GiB for N=2^20, r=8,
// p=1). Empty password and salt are allowed.
// Errors: InvalidArgument if n is not a power of two >= 2, r or p is 0, r * p >= 2^30, n >=
// 2^(16 r), or the working set exceeds kMaxScryptMemory; Internal if libsodium fails (e.g. out
// of memory).
Result<SecretKey> DeriveKeyScrypt(std::string_view password, ByteView salt, uint64_t n, uint32_t r,
                                  uint32_t p);

}  // namespace lifeboat::crypto
