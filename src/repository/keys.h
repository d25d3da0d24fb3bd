// Master key material and password-wrapped key files (doc/repository-format.md §2).
//
//   MasterKey mk = MasterKey::Generate();
//   LB_ASSIGN_OR_RETURN(Bytes file, CreateKeyFile(mk, "pw", DefaultKdfParams()));
//   LB_ASSIGN_OR_RETURN(MasterKey back, OpenKeyFile(file, "pw"));  // Unauthenticated if wrong
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

struct MasterKey {
  crypto::SecretKey enc;      // per-object AEAD key derivation
  crypto::SecretKey id;       // blob id HMAC key
  crypto::SecretKey chunker;  // gear table secret
  static MasterKey Generate();
};

// New keys get scrypt N=2^15, r=8, p=2: 32 MiB and about 0.13 s here, the same cost per password
// guess as restic 0.14 calibrates on this machine (its limit of 60 MiB gives N=2^15; it then
// raised p to 2). Stored with each key, so older keys (N=2^16, p=1) keep working.
struct KdfParams {
  uint64_t n = 1u << 15;
  uint32_t r = 8;
  uint32_t p = 2;
};
// The parameters for new keys: KdfParams{} unless a test set an override. Nothing in the
// environment changes them (the test executable tests/lifeboat_testing_main.cc reads
// LIFEBOAT_KDF_N and calls SetKdfParamsOverrideForTesting). Thread-safe.
KdfParams DefaultKdfParams();
// For tests only: makes DefaultKdfParams() return `params` (nullopt: the defaults again), so that
// a test suite does not spend real scrypt time on every key. Weak keys: never call it in a
// program that makes real repositories.
void SetKdfParamsOverrideForTesting(std::optional<KdfParams> params);

// How many key derivations (scrypt) this process has done: CreateKeyFile and OpenKeyFile count
// one each. For tests that prove a path derives no key. Thread-safe.
uint64_t KeyDerivationCount();

struct KeyFileInfo {
  uint32_t version = 1;
  std::string kdf;
  KdfParams params;
  std::string created, hostname, username;
  bool append_only = false;
};

// Builds a key file wrapping `mk` with a key derived from `password` (fresh random salt).
Result<Bytes> CreateKeyFile(const MasterKey& mk, std::string_view password, const KdfParams& kdf,
                            bool append_only = false);
// Unwraps a key file. Unauthenticated when the password does not match; Corruption when the
// file is malformed.
Result<MasterKey> OpenKeyFile(ByteView file, std::string_view password);
// Unwraps the key file stored as keys/<name>. Key files are named by their SHA-256 (format §1): a
// file that does not parse, or that the password does not open and whose content does not hash
// to its name, is damaged: Corruption "key file <name> is damaged: ...". Unauthenticated
// ("password does not match this key") only for an intact file the password does not open. A
// file the password opens is used even if its hash is off (the AEAD authenticated the key).
Result<MasterKey> OpenNamedKeyFile(std::string_view name, ByteView file,
                                   std::string_view password);
// Parses the public fields (no password needed).
Result<KeyFileInfo> ParseKeyFileInfo(ByteView file);

// Current time as RFC 3339 with nanoseconds, UTC ("2026-11-23T10:00:00.123456789Z").
std::string FormatTime(int64_t unix_ns);
// Parses what FormatTime writes (also accepts fewer fraction digits and no fraction).
Result<int64_t> ParseTime(std::string_view text);
int64_t NowNs();
std::string Hostname();
std::string Username();

}  // namespace lifeboat
