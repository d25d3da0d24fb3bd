// Internal helpers shared by the crypto module's .cc files: cached algorithm handles, per-thread
// contexts and OpenSSL error text. Not part of the public API; include only from src/crypto/*.cc.
//
//   EVP_MD_CTX* ctx = internal::ThreadDigestCtx();
//   internal::CheckOpenSsl(EVP_DigestInit_ex2(ctx, internal::Sha256Md(), nullptr), "init");
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace lifeboat::crypto::internal {

// SHA-256 and AES-256-GCM, fetched once from the default provider and kept for the life of the
// process (explicit fetching avoids a provider lookup on every operation). Thread-safe. Abort if
// the provider does not offer the algorithm: the build is then unusable for any repository.
const EVP_MD* Sha256Md();
const EVP_CIPHER* Aes256GcmCipher();

// Scratch contexts owned by the calling thread and freed when it exits; each call on the same
// thread returns the same context, so a caller must finish with it before calling another function
// that uses the same one. Never null (abort on allocation failure).
EVP_MD_CTX* ThreadDigestCtx();      // for one-shot Sha256()
EVP_MD_CTX* ThreadHmacCtx();        // for HmacSha256::Mac*()
EVP_CIPHER_CTX* ThreadCipherCtx();  // for Aead, already set up for AES-256-GCM

// Drains this thread's OpenSSL error queue into "context: reason; reason" (or "context: unknown
// OpenSSL error" when empty). Always leaves the queue empty.
std::string OpenSslError(std::string_view context);

// For operations that can fail only on allocation failure or a broken provider, where the public
// API has no error path: when `ok` is not 1, throws std::bad_alloc if OpenSSL ran out of memory
// (the thread's top reports it as an error), else aborts with the OpenSSL error.
void CheckOpenSsl(int ok, const char* what);

}  // namespace lifeboat::crypto::internal
