#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "crypto/internal_openssl.h"
#include "util/per_thread.h"

namespace lifeboat::crypto {
namespace {

constexpr std::string_view kKeyLabel = "lifeboat-aead-v1";
constexpr uint8_t kZeroIv[12] = {};
// EVP_*Update take an int length; feed larger inputs in pieces of this size.
constexpr size_t kMaxUpdate = size_t{1} << 30;

Status AuthenticationFailed() { return Status::Corruption("authentication failed"); }

// Sets up the per-thread context for one object: K = HMAC(enc_key, label || seed), zero IV,
// direction `encrypt`, and absorbs the header as AAD. Wipes K before returning.
Status StartObject(const HmacSha256& deriver, const uint8_t* header, int encrypt,
                   EVP_CIPHER_CTX** ctx_out) {
  Digest key = deriver.Mac2(AsBytes(kKeyLabel), ByteView(header + 1, kSealSeedSize));
  EVP_CIPHER_CTX* ctx = internal::ThreadCipherCtx();
  const int init_ok = EVP_CipherInit_ex2(ctx, nullptr, key.data(), kZeroIv, encrypt, nullptr);
  OPENSSL_cleanse(key.data(), key.size());
  if (init_ok != 1) return Status::Internal(internal::OpenSslError("AES-GCM init"));
  int len = 0;
  if (EVP_CipherUpdate(ctx, nullptr, &len, header, static_cast<int>(kSealHeaderSize)) != 1) {
    return Status::Internal(internal::OpenSslError("AES-GCM AAD"));
  }
  *ctx_out = ctx;
  return Status::Ok();
}

// Encrypts or decrypts n bytes from `in` to `out` (GCM output length equals input length).
Status Transform(EVP_CIPHER_CTX* ctx, const uint8_t* in, size_t n, uint8_t* out) {
  while (n > 0) {
    const size_t piece = std::min(n, kMaxUpdate);
    int len = 0;
    if (EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(piece)) != 1 ||
        static_cast<size_t>(len) != piece) {
      return Status::Internal(internal::OpenSslError("AES-GCM update"));
    }
    in += piece;
    out += piece;
    n -= piece;
  }
  return Status::Ok();
}

}  // namespace

Aead::Aead(const SecretKey& enc_key) : key_deriver_(enc_key) {}

Status Aead::SealAppend(ByteView plaintext, Bytes* out) const {
  const size_t n = plaintext.size();
  if (n > kMaxSealPlaintext) {
    return Status::InvalidArgument("object of " + std::to_string(n) +
                                   " bytes is too large to encrypt in one piece");
  }
  const size_t old_size = out->size();
  out->resize(old_size + kSealOverhead + n);
  uint8_t* header = out->data() + old_size;
  uint8_t* body = header + kSealHeaderSize;
  uint8_t* tag = body + n;

  Status status = [&]() -> Status {
    header[0] = kSealVersion;
    LB_RETURN_IF_ERROR(RandomBytes({header + 1, kSealSeedSize}));
    EVP_CIPHER_CTX* ctx = nullptr;
    LB_RETURN_IF_ERROR(StartObject(key_deriver_, header, /*encrypt=*/1, &ctx));
    LB_RETURN_IF_ERROR(Transform(ctx, plaintext.data(), n, body));
    int len = 0;
    if (EVP_EncryptFinal_ex(ctx, tag, &len) != 1 || len != 0) {
      return Status::Internal(internal::OpenSslError("AES-GCM final"));
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kSealTagSize), tag) != 1) {
      return Status::Internal(internal::OpenSslError("AES-GCM get tag"));
    }
    return Status::Ok();
  }();
  if (!status.ok()) out->resize(old_size);
  return status;
}

Result<Bytes> Aead::Seal(ByteView plaintext) const {
  Bytes out;
  out.reserve(plaintext.size() + kSealOverhead);
  LB_RETURN_IF_ERROR(SealAppend(plaintext, &out));
  return out;
}

Status Aead::Open(ByteView sealed, Bytes* out) const {
  if (sealed.size() < kSealOverhead || sealed[0] != kSealVersion) {
    out->clear();
    return AuthenticationFailed();
  }
  const size_t n = sealed.size() - kSealOverhead;
  out->resize(n);  // reuses *out's memory: no zero-filling of bytes it already had

  EVP_CIPHER_CTX* ctx = nullptr;
  Status status = StartObject(key_deriver_, sealed.data(), /*encrypt=*/0, &ctx);
  if (status.ok()) status = Transform(ctx, sealed.data() + kSealHeaderSize, n, out->data());
  if (status.ok()) {
    uint8_t tag[kSealTagSize];
    std::memcpy(tag, sealed.data() + kSealHeaderSize + n, kSealTagSize);
    uint8_t unused[16];  // GCM final produces no output
    int len = 0;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kSealTagSize), tag) != 1) {
      status = Status::Internal(internal::OpenSslError("AES-GCM set tag"));
    } else if (EVP_DecryptFinal_ex(ctx, unused, &len) != 1) {
      ERR_clear_error();  // a tag mismatch is an expected outcome, not an OpenSSL fault
      status = AuthenticationFailed();
    }
  }
  if (!status.ok()) {
    // Never hand out (or leave lying around) plaintext that failed authentication.
    if (!out->empty()) OPENSSL_cleanse(out->data(), out->size());
    out->clear();
  }
  return status;
}

Status Aead::OpenInPieces(ByteView sealed,
                          const std::function<Status(ByteView)>& piece) const {
  if (sealed.size() < kSealOverhead || sealed[0] != kSealVersion) return AuthenticationFailed();
  const size_t n = sealed.size() - kSealOverhead;
  Bytes& buffer = PerThread<Bytes, struct OpenPiecesTag>();
  buffer.resize(std::min(n, kOpenPieceSize));
  EVP_CIPHER_CTX* ctx = nullptr;
  LB_RETURN_IF_ERROR(StartObject(key_deriver_, sealed.data(), /*encrypt=*/0, &ctx));
  const uint8_t* in = sealed.data() + kSealHeaderSize;
  for (size_t done = 0; done < n;) {
    const size_t len = std::min(n - done, buffer.size());
    LB_RETURN_IF_ERROR(Transform(ctx, in + done, len, buffer.data()));
    done += len;
    Status st = piece(ByteView(buffer.data(), len));
    if (!st.ok()) {
      OPENSSL_cleanse(buffer.data(), buffer.size());
      return st;
    }
  }
  uint8_t tag[kSealTagSize];
  std::memcpy(tag, sealed.data() + kSealHeaderSize + n, kSealTagSize);
  uint8_t unused[16];
  int len = 0;
  Status status;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kSealTagSize), tag) != 1) {
    status = Status::Internal(internal::OpenSslError("AES-GCM set tag"));
  } else if (EVP_DecryptFinal_ex(ctx, unused, &len) != 1) {
    ERR_clear_error();
    status = AuthenticationFailed();
  }
  if (!buffer.empty()) OPENSSL_cleanse(buffer.data(), buffer.size());
  return status;
}

Result<Bytes> Aead::Open(ByteView sealed) const {
  Bytes out;
  LB_RETURN_IF_ERROR(Open(sealed, &out));
  return out;
}

}  // namespace lifeboat::crypto
