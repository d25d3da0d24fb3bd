// SHA-256 (one-shot and incremental) and keyed HMAC-SHA-256, backed by OpenSSL (SHA-NI when the CPU
// has it).
//
//   Digest id = HmacSha256(id_key).Mac(chunk);      // blob id
//   Sha256Stream s; s.Update(part1); s.Update(part2); Digest d = s.Finish();
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "crypto/random.h"
#include "util/bytes.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace lifeboat::crypto {

using Digest = std::array<uint8_t, 32>;

// SHA-256 of `data`. Thread-safe (uses a per-thread context). Aborts only if OpenSSL cannot run
// SHA-256 at all (allocation failure or broken provider).
Digest Sha256(ByteView data);

// Incremental SHA-256. Not thread-safe: one stream belongs to one thread at a time. Movable, not
// copyable. Owns its OpenSSL context.
class Sha256Stream {
 public:
  Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  ~Sha256Stream();

  // Hashes `data` (may be empty). Must not be called on a moved-from stream.
  void Update(ByteView data);
  // Returns the digest of everything passed to Update since construction or the last Finish, and
  // resets the stream to the empty state so it can be reused.
  Digest Finish();

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* c) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

// HMAC-SHA-256 under a fixed 32-byte key (RFC 2104). The constructor hashes key^ipad and key^opad
// once; each Mac() copies those two states (EVP_MD_CTX_copy_ex) into a per-thread scratch context,
// so a MAC of a short input costs about two SHA-256 compressions more than a plain hash and the
// rate on large inputs equals SHA-256's. The key bytes are not kept; the precomputed states are
// wiped by OpenSSL when freed.
//
// Thread-safe: Mac()/Mac2() are const and may run concurrently on one object from any threads.
// Copyable (copies the precomputed states) and movable; a moved-from object must not be used.
class HmacSha256 {
  struct CtxFree {
    void operator()(evp_md_ctx_st* c) const;
  };
  using CtxPtr = std::unique_ptr<evp_md_ctx_st, CtxFree>;

 public:
  explicit HmacSha256(const SecretKey& key);
  HmacSha256(const HmacSha256& other);
  HmacSha256& operator=(const HmacSha256& other);
  HmacSha256(HmacSha256&&) noexcept;
  HmacSha256& operator=(HmacSha256&&) noexcept;
  ~HmacSha256();

  // HMAC(key, data).
  Digest Mac(ByteView data) const;
  // HMAC(key, a || b) without concatenating the inputs.
  Digest Mac2(ByteView a, ByteView b) const;

  // Incremental HMAC: Update() any number of times, then Finish() equals Mac() of the
  // concatenation. Owns its OpenSSL context (not the per-thread scratch one), so it may be used
  // while this thread calls Mac()/Mac2() or Aead methods. Not thread-safe; movable, not copyable;
  // must not outlive the HmacSha256 that began it.
  class Stream {
   public:
    Stream(Stream&&) noexcept;
    Stream& operator=(Stream&&) noexcept;
    ~Stream();
    void Update(ByteView data);
    // The MAC of everything passed to Update. The stream must not be used afterwards.
    Digest Finish();

   private:
    friend class HmacSha256;
    Stream(const HmacSha256& mac, evp_md_ctx_st* ctx);
    const HmacSha256* mac_;
    CtxPtr ctx_;
  };
  Stream Begin() const;

 private:
  CtxPtr inner_;  // SHA-256 state after absorbing key ^ ipad
  CtxPtr outer_;  // SHA-256 state after absorbing key ^ opad
};

}  // namespace lifeboat::crypto
