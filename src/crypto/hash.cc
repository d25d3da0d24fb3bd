#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <new>

#include "crypto/internal_openssl.h"

namespace lifeboat::crypto {
namespace {

using internal::CheckOpenSsl;

constexpr size_t kBlockSize = 64;  // SHA-256 block size

EVP_MD_CTX* NewCtxOrDie() {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  if (c == nullptr) throw std::bad_alloc();  // out of memory: reported at the thread's top
  return c;
}

void UpdateCtx(EVP_MD_CTX* ctx, ByteView data) {
  if (data.empty()) return;
  CheckOpenSsl(EVP_DigestUpdate(ctx, data.data(), data.size()), "EVP_DigestUpdate");
}

Digest FinalCtx(EVP_MD_CTX* ctx) {
  Digest d;
  unsigned int len = 0;
  CheckOpenSsl(EVP_DigestFinal_ex(ctx, d.data(), &len), "EVP_DigestFinal_ex");
  if (len != d.size()) CheckOpenSsl(0, "SHA-256 digest has unexpected length");
  return d;
}

// A SHA-256 context that has absorbed one block: key zero-padded to 64 bytes, XORed with `pad`.
EVP_MD_CTX* PadState(const SecretKey& key, uint8_t pad) {
  uint8_t block[kBlockSize];
  for (size_t i = 0; i < kBlockSize; ++i) {
    block[i] = static_cast<uint8_t>((i < kKeySize ? key.bytes[i] : 0) ^ pad);
  }
  EVP_MD_CTX* ctx = NewCtxOrDie();
  CheckOpenSsl(EVP_DigestInit_ex2(ctx, internal::Sha256Md(), nullptr), "EVP_DigestInit_ex2");
  CheckOpenSsl(EVP_DigestUpdate(ctx, block, sizeof(block)), "EVP_DigestUpdate");
  OPENSSL_cleanse(block, sizeof(block));
  return ctx;
}

EVP_MD_CTX* CopyOrDie(const EVP_MD_CTX* from) {
  EVP_MD_CTX* ctx = NewCtxOrDie();
  CheckOpenSsl(EVP_MD_CTX_copy_ex(ctx, from), "EVP_MD_CTX_copy_ex");
  return ctx;
}

}  // namespace

Digest Sha256(ByteView data) {
  EVP_MD_CTX* ctx = internal::ThreadDigestCtx();
  CheckOpenSsl(EVP_DigestInit_ex2(ctx, internal::Sha256Md(), nullptr), "EVP_DigestInit_ex2");
  UpdateCtx(ctx, data);
  return FinalCtx(ctx);
}

// ---- Sha256Stream ----

void Sha256Stream::CtxFree::operator()(evp_md_ctx_st* c) const { EVP_MD_CTX_free(c); }

Sha256Stream::Sha256Stream() : ctx_(NewCtxOrDie()) {
  CheckOpenSsl(EVP_DigestInit_ex2(ctx_.get(), internal::Sha256Md(), nullptr), "EVP_DigestInit_ex2");
}
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(ByteView data) { UpdateCtx(ctx_.get(), data); }

Digest Sha256Stream::Finish() {
  Digest d = FinalCtx(ctx_.get());
  CheckOpenSsl(EVP_DigestInit_ex2(ctx_.get(), nullptr, nullptr), "EVP_DigestInit_ex2");
  return d;
}

// ---- HmacSha256 ----

void HmacSha256::CtxFree::operator()(evp_md_ctx_st* c) const { EVP_MD_CTX_free(c); }

HmacSha256::HmacSha256(const SecretKey& key)
    : inner_(PadState(key, 0x36)), outer_(PadState(key, 0x5c)) {}

HmacSha256::HmacSha256(const HmacSha256& other)
    : inner_(CopyOrDie(other.inner_.get())), outer_(CopyOrDie(other.outer_.get())) {}

HmacSha256& HmacSha256::operator=(const HmacSha256& other) {
  if (this != &other) {
    inner_.reset(CopyOrDie(other.inner_.get()));
    outer_.reset(CopyOrDie(other.outer_.get()));
  }
  return *this;
}

HmacSha256::HmacSha256(HmacSha256&&) noexcept = default;
HmacSha256& HmacSha256::operator=(HmacSha256&&) noexcept = default;
HmacSha256::~HmacSha256() = default;

Digest HmacSha256::Mac(ByteView data) const { return Mac2(data, {}); }

Digest HmacSha256::Mac2(ByteView a, ByteView b) const {
  // The scratch context is per thread, so concurrent callers never share mutable state; the
  // precomputed inner_/outer_ contexts are only read (EVP_MD_CTX_copy_ex takes them as const).
  EVP_MD_CTX* ctx = internal::ThreadHmacCtx();
  CheckOpenSsl(EVP_MD_CTX_copy_ex(ctx, inner_.get()), "EVP_MD_CTX_copy_ex");
  UpdateCtx(ctx, a);
  UpdateCtx(ctx, b);
  const Digest inner = FinalCtx(ctx);
  CheckOpenSsl(EVP_MD_CTX_copy_ex(ctx, outer_.get()), "EVP_MD_CTX_copy_ex");
  UpdateCtx(ctx, inner);
  return FinalCtx(ctx);
}

HmacSha256::Stream HmacSha256::Begin() const {
  return Stream(*this, CopyOrDie(inner_.get()));
}

HmacSha256::Stream::Stream(const HmacSha256& mac, evp_md_ctx_st* ctx) : mac_(&mac), ctx_(ctx) {}
HmacSha256::Stream::Stream(Stream&&) noexcept = default;
HmacSha256::Stream& HmacSha256::Stream::operator=(Stream&&) noexcept = default;
HmacSha256::Stream::~Stream() = default;

void HmacSha256::Stream::Update(ByteView data) { UpdateCtx(ctx_.get(), data); }

Digest HmacSha256::Stream::Finish() {
  const Digest inner = FinalCtx(ctx_.get());
  CheckOpenSsl(EVP_MD_CTX_copy_ex(ctx_.get(), mac_->outer_.get()), "EVP_MD_CTX_copy_ex");
  UpdateCtx(ctx_.get(), inner);
  return FinalCtx(ctx_.get());
}

}  // namespace lifeboat::crypto
