// lifeboat_testing: the lifeboat command line plus test settings read from the environment, for
// the shell tests, the crash harness and nothing else. Built only with LIFEBOAT_BUILD_TESTS, from
// the same libraries as the release `lifeboat` (which reads none of these):
//
//   LIFEBOAT_KDF_N=<power of two>      scrypt N for new keys (cheap keys: r=8, p=2 unchanged)
//   LIFEBOAT_FAULT_*                   faults in every opened backend (backend/fault_backend.h)
//   LIFEBOAT_LOCK_REFRESH_SECONDS, LIFEBOAT_LOCK_LOST_SECONDS, LIFEBOAT_LOCK_STALE_SECONDS
//                                      lock timing in seconds instead of minutes
//
// A malformed value is an error (exit 2), so that a test never runs without the setting it asked
// for. Then cli::Main runs as in the release binary.
#include <cstdlib>
#include <iostream>
#include <string>

#include "backend/open_backend.h"
#include "cli/common.h"
#include "repository/keys.h"
#include "repository/lock.h"

namespace {

// Reads a positive integer variable; false (with a message) when set but malformed.
bool PositiveVariable(const char* name, uint64_t* out, bool* set) {
  const char* text = std::getenv(name);
  *set = text != nullptr && *text != '\0';
  if (!*set) return true;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (*end != '\0' || v == 0) {
    std::cerr << "lifeboat_testing: " << name << "=\"" << text
              << "\" is not a positive integer\n";
    return false;
  }
  *out = v;
  return true;
}

bool ApplyTestSettings() {
  uint64_t n = 0;
  bool set = false;
  if (!PositiveVariable("LIFEBOAT_KDF_N", &n, &set)) return false;
  if (set) {
    if (n < 2 || (n & (n - 1)) != 0) {
      std::cerr << "lifeboat_testing: LIFEBOAT_KDF_N=" << n << " is not a power of two >= 2\n";
      return false;
    }
    lifeboat::KdfParams kdf;
    kdf.n = n;
    lifeboat::SetKdfParamsOverrideForTesting(kdf);
  }

  lifeboat::LockOptions lock;
  bool any_lock = false;
  struct {
    const char* name;
    int64_t* field;
  } lock_seconds[] = {{"LIFEBOAT_LOCK_REFRESH_SECONDS", &lock.refresh_interval_ns},
                      {"LIFEBOAT_LOCK_LOST_SECONDS", &lock.lost_after_ns},
                      {"LIFEBOAT_LOCK_STALE_SECONDS", &lock.stale_after_ns}};
  for (const auto& s : lock_seconds) {
    uint64_t seconds = 0;
    if (!PositiveVariable(s.name, &seconds, &set)) return false;
    if (set) {
      *s.field = static_cast<int64_t>(seconds) * 1000000000LL;
      any_lock = true;
    }
  }
  if (any_lock) lifeboat::SetLockOptionsOverrideForTesting(lock);

  auto faults = lifeboat::FaultOptions::FromEnvironment(std::getenv);
  if (!faults.ok()) {
    std::cerr << "lifeboat_testing: " << faults.status().message() << "\n";
    return false;
  }
  if (*faults) lifeboat::SetFaultOptionsForTesting(**faults);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (!ApplyTestSettings()) return lifeboat::cli::kExitUsage;
  return lifeboat::cli::Main(argc, argv);
}
