#include "crypto/internal_openssl.h"
#include "util/per_thread.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>

namespace lifeboat::crypto::internal {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "lifeboat: fatal crypto error: %s\n", message.c_str());
  std::abort();
}

// OpenSSL could not allocate (under ulimit -v): std::bad_alloc, which the thread's top turns into
// an "out of memory" error. Only a real misuse of OpenSSL is fatal (Die).
[[noreturn]] void OutOfMemory() {
  ERR_clear_error();
  throw std::bad_alloc();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

EVP_MD_CTX* NewMdCtx() {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  if (c == nullptr) OutOfMemory();
  return c;
}

}  // namespace

const EVP_MD* Sha256Md() {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Die(OpenSslError("fetching SHA256"));
    return m;
  }();
  return md;
}

const EVP_CIPHER* Aes256GcmCipher() {
  static EVP_CIPHER* const cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) Die(OpenSslError("fetching AES-256-GCM"));
    return c;
  }();
  return cipher;
}

EVP_MD_CTX* ThreadDigestCtx() {
  auto& ctx = PerThread<std::unique_ptr<EVP_MD_CTX, MdCtxFree>, struct DigestCtxTag>();
  if (!ctx) ctx.reset(NewMdCtx());
  return ctx.get();
}

EVP_MD_CTX* ThreadHmacCtx() {
  auto& ctx = PerThread<std::unique_ptr<EVP_MD_CTX, MdCtxFree>, struct HmacCtxTag>();
  if (!ctx) ctx.reset(NewMdCtx());
  return ctx.get();
}

EVP_CIPHER_CTX* ThreadCipherCtx() {
  auto& ctx = PerThread<std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>, struct CipherCtxTag>();
  if (!ctx) ctx.reset([] {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    if (c == nullptr) OutOfMemory();
    // Bind the cipher once; later calls pass cipher=nullptr and only set key, IV and direction.
    CheckOpenSsl(EVP_CipherInit_ex2(c, Aes256GcmCipher(), nullptr, nullptr, 1, nullptr),
                 "EVP_CipherInit_ex2(AES-256-GCM)");
    return c;
  }());
  return ctx.get();
}

std::string OpenSslError(std::string_view context) {
  std::string out(context);
  out += ": ";
  bool first = true;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!first) out += "; ";
    out += buf;
    first = false;
  }
  if (first) out += "unknown OpenSSL error";
  return out;
}

void CheckOpenSsl(int ok, const char* what) {
  if (ok == 1) return;
  if (ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_MALLOC_FAILURE) OutOfMemory();
  Die(OpenSslError(what));
}

}  // namespace lifeboat::crypto::internal
