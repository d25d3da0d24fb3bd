// The crypto module: everything Lifeboat needs from cryptography, on top of OpenSSL 3. Depends on
// nothing of ours except util/. Include this umbrella header, or one of the parts below.
//
//   SecretKey key = SecretKey::Random();
//   Aead aead(key); Result<Bytes> sealed = aead.Seal(plaintext);
#pragma once

#include "crypto/aead.h"    // Aead: sealed-object format v1 (AES-256-GCM, per-object keys)
#include "crypto/hash.h"    // Sha256, Sha256Stream, HmacSha256
#include "crypto/kdf.h"     // DeriveKeyScrypt
#include "crypto/random.h"  // RandomBytes, SecretKey, ConstantTimeEqual
