#include "crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "crypto/internal_openssl.h"

namespace lifeboat::crypto {

Status RandomBytes(std::span<uint8_t> out) {
  // RAND_bytes takes an int; split absurdly large requests.
  while (!out.empty()) {
    const size_t n = std::min<size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      return Status::Internal(internal::OpenSslError("RAND_bytes failed"));
    }
    out = out.subspan(n);
  }
  return Status::Ok();
}

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

SecretKey SecretKey::Random() {
  SecretKey key;
  Status s = RandomBytes(key.bytes);
  if (!s.ok()) {
    std::fprintf(stderr, "lifeboat: fatal: cannot generate a key: %s\n", s.ToString().c_str());
    std::abort();
  }
  return key;
}

Result<SecretKey> SecretKey::FromBytes(ByteView data) {
  if (data.size() != kKeySize) {
    return Status::InvalidArgument("secret key must be " + std::to_string(kKeySize) +
                                   " bytes, got " + std::to_string(data.size()));
  }
  SecretKey key;
  std::memcpy(key.bytes.data(), data.data(), kKeySize);
  return key;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace lifeboat::crypto
