// Randomness and key material: the CSPRNG, 256-bit secret keys that wipe themselves, and
// constant-time comparison.
//
//   SecretKey key = SecretKey::Random();
//   if (!ConstantTimeEqual(mac, expected)) return Status::Corruption("bad MAC");
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::crypto {

// Size in bytes of every symmetric key in Lifeboat.
constexpr size_t kKeySize = 32;

// Fills `out` from OpenSSL's CSPRNG (RAND_bytes). Thread-safe. Returns Internal when the generator
// fails (not seeded, broken provider); `out` then holds unspecified bytes that must not be used.
// An empty span is OK.
Status RandomBytes(std::span<uint8_t> out);

// 32 secret bytes. The storage is wiped with OPENSSL_cleanse when the object dies, and every copy
// wipes its own storage too. A plain value type: not synchronized, but a const SecretKey may be
// read from any number of threads. Copies of the bytes made by the caller (e.g. via view()) are the
// caller's to wipe.
class SecretKey {
 public:
  std::array<uint8_t, kKeySize> bytes{};  // all zero for a default-constructed key

  SecretKey() = default;
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey();

  // A fresh key from the CSPRNG. Aborts the process if the CSPRNG fails: there is no safe fallback
  // and a key of predictable bytes must never be used. Thread-safe.
  static SecretKey Random();
  // Copies exactly kKeySize bytes; InvalidArgument for any other length.
  static Result<SecretKey> FromBytes(ByteView data);

  ByteView view() const { return bytes; }
};

// Compares in time that depends only on the lengths, not on the contents (CRYPTO_memcmp).
// Returns false when the lengths differ (the length itself is not treated as secret).
bool ConstantTimeEqual(ByteView a, ByteView b);

}  // namespace lifeboat::crypto
