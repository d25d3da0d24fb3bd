#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <string>

#include "crypto/internal_openssl.h"

namespace lifeboat::crypto {
namespace {

struct KdfFree {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

// OpenSSL's own accounting: B = 128 * r * p, V = 128 * r * (N + 2) bytes. Returns false on
// overflow or when the total exceeds kMaxScryptMemory.
bool ScryptMemory(uint64_t n, uint64_t r, uint64_t p, uint64_t* bytes) {
  const unsigned __int128 total = static_cast<unsigned __int128>(128) * r * p +
                                  static_cast<unsigned __int128>(128) * r * (n + 2);
  if (total > kMaxScryptMemory) return false;
  *bytes = static_cast<uint64_t>(total);
  return true;
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
  uint64_t memory = 0;
  if (!ScryptMemory(n, r, p, &memory)) {
    return Status::InvalidArgument("scrypt parameters need more than " +
                                   std::to_string(kMaxScryptMemory >> 20) + " MiB" + params);
  }

  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) return Status::Internal(internal::OpenSslError("fetching scrypt"));
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Status::Internal(internal::OpenSslError("EVP_KDF_CTX_new"));

  // OSSL_PARAM wants non-const pointers (it only reads them here) and a non-null pointer even for
  // empty strings.
  static const char kEmpty[1] = {0};
  char* pass_ptr = const_cast<char*>(password.empty() ? kEmpty : password.data());
  void* salt_ptr = const_cast<void*>(salt.empty() ? static_cast<const void*>(kEmpty) : salt.data());
  uint64_t maxmem = memory + (uint64_t{1} << 20);  // slack for OpenSSL's bookkeeping
  OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass_ptr, password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_ptr, salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  SecretKey key;
  if (EVP_KDF_derive(ctx.get(), key.bytes.data(), key.bytes.size(), ossl_params) != 1) {
    return Status::Internal(internal::OpenSslError("scrypt failed" + params));
  }
  return key;
}

}  // namespace lifeboat::crypto
