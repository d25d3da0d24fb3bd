// Authenticated encryption of one repository object (blob, pack header, index, snapshot, ...).
//
//   Aead aead(keys.enc_key);
//   Bytes sealed; LB_RETURN_IF_ERROR(aead.SealAppend(plaintext, &sealed));
//   Bytes plain;  LB_RETURN_IF_ERROR(aead.Open(sealed, &plain));  // Corruption if tampered with
//
// Sealed format, version 1, byte by byte:
//   byte 0        : 0x01 (format version)
//   bytes 1..24   : S, a 24-byte (192-bit) seed, fresh from the CSPRNG for every Seal call
//   next n bytes  : AES-256-GCM ciphertext of the n-byte plaintext
//   last 16 bytes : GCM tag
// The AES key for the object is K = HMAC-SHA-256(enc_key, "lifeboat-aead-v1" || S), the GCM IV is
// 12 zero bytes, and the additional authenticated data is bytes 0..24 (version and S). The total
// size is n + kSealOverhead.
//
// Why a constant IV is safe here. GCM breaks (keystream reuse, forgeable tags) only when one (key,
// IV) pair encrypts two different messages. Every object gets its own key K derived from its own
// 192-bit random seed S, and HMAC-SHA-256 is a PRF, so two objects share a key only if their seeds
// collide (or HMAC collides, which is even less likely). By the birthday bound, after q objects the
// probability of any seed collision is at most q^2 / 2^193; for q = 2^48 objects that is 2^-97
// (about 2^-96 with the HMAC term). Because the seed is drawn at random instead of counted, this
// holds with any number of concurrent writers, processes and machines sharing one enc_key, with no
// coordination, no persistent counter and nothing to go wrong after a crash or a restored VM
// snapshot — as long as the CSPRNG works (Seal fails rather than proceed if it does not). Each key
// K encrypts exactly one message, so GCM's per-key limits (2^32 invocations) never come into play;
// the per-message limit is 2^36 - 32 bytes of plaintext, enforced by Seal. Binding version and S
// as AAD makes any change to the header fail authentication, as does a wrong enc_key, any bit flip,
// truncation or extension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::crypto {

constexpr uint8_t kSealVersion = 1;
constexpr size_t kSealSeedSize = 24;
constexpr size_t kSealTagSize = 16;
constexpr size_t kSealHeaderSize = 1 + kSealSeedSize;  // version + seed; the AAD
constexpr size_t kSealOverhead = kSealHeaderSize + kSealTagSize;
// GCM's limit for one message: 2^39 - 256 bits.
constexpr uint64_t kMaxSealPlaintext = (uint64_t{1} << 36) - 32;

// Seals and opens objects under one 32-byte encryption key. Copyable and movable (a moved-from
// object must not be used). The key itself is not stored, only HMAC states derived from it.
//
// Thread-safe: all methods are const and may run concurrently on one object from any threads;
// each thread uses its own OpenSSL cipher context (created on first use, freed at thread exit).
class Aead {
 public:
  explicit Aead(const SecretKey& enc_key);

  // Appends the sealed form of `plaintext` (n + kSealOverhead bytes) to *out, writing the
  // ciphertext directly into *out's storage; reserve capacity beforehand to avoid reallocation.
  // `plaintext` must not point into *out. On error *out is left as it was. Errors: Internal when
  // the CSPRNG or OpenSSL fails, InvalidArgument when plaintext exceeds kMaxSealPlaintext.
  Status SealAppend(ByteView plaintext, Bytes* out) const;
  // Convenience: the sealed form in a new buffer. Same errors as SealAppend.
  Result<Bytes> Seal(ByteView plaintext) const;

  // Verifies `sealed` and replaces the contents of *out with the plaintext (`sealed` must not
  // point into *out). Returns Corruption("authentication failed") for any bit flip, truncation,
  // extension, wrong key or unknown version; *out is then empty and no unauthenticated plaintext is
  // left in it. Internal if OpenSSL itself fails.
  Status Open(ByteView sealed, Bytes* out) const;
  // Convenience: the plaintext in a new buffer. Same errors as Open.
  Result<Bytes> Open(ByteView sealed) const;

  // Decrypts `sealed` in pieces of at most kOpenPieceSize bytes, passing each to `piece` in order
  // (nothing of the object's size is allocated), then checks the tag. The pieces are NOT yet
  // authenticated when `piece` sees them: the caller may only compute on them (hash, decompress
  // into scratch space) and must discard every result unless this returns Ok. Errors: as Open;
  // the first error `piece` returns stops the decryption and is returned as is. `piece` must not
  // call Aead methods itself (they share this thread's cipher context). Used to verify freshly
  // encoded blobs without a second full-size copy.
  static constexpr size_t kOpenPieceSize = 128u << 10;
  Status OpenInPieces(ByteView sealed, const std::function<Status(ByteView)>& piece) const;

 private:
  HmacSha256 key_deriver_;  // HMAC-SHA-256 under enc_key, for K
};

}  // namespace lifeboat::crypto
