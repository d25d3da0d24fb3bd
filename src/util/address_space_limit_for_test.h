// Test-only: make the system refuse thread stacks and large allocations, to test what Lifeboat
// does under `ulimit -v` (issue 11 item 7). Use it in a death-test child (EXPECT_EXIT): the limit
// stays with the process that set it.
//
//   if (kBuiltWithAddressSanitizer) GTEST_SKIP() << kAddressSanitizerSkipReason;
//   EXPECT_EXIT({ if (!LimitAddressSpaceForTest(2 << 20)) std::_Exit(0); ... }, ExitedWithCode(0), "");
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <cstdio>

namespace lifeboat {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kBuiltWithAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kBuiltWithAddressSanitizer = true;
#else
inline constexpr bool kBuiltWithAddressSanitizer = false;
#endif
#else
inline constexpr bool kBuiltWithAddressSanitizer = false;
#endif

// AddressSanitizer reserves terabytes of address space for its shadow memory: under a limit it
// spins or aborts inside its own allocator, so such a test says nothing about Lifeboat there.
inline constexpr const char* kAddressSanitizerSkipReason =
    "an address-space limit cannot be tested under AddressSanitizer (the release build runs it)";

// Limits this process's address space to what it maps now plus `margin` bytes. False when that
// cannot be done (no /proc/self/statm, or setrlimit refused): the caller has nothing to test.
inline bool LimitAddressSpaceForTest(size_t margin) {
  long pages = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return false;
  if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
  std::fclose(f);
  if (pages <= 0) return false;
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(pages) * 4096 + margin;
  return ::setrlimit(RLIMIT_AS, &rl) == 0;
}

}  // namespace lifeboat
