// Internal to lb_sources: a child's timeout bounded by the job's deadline, so that a dump or a
// command that blocks without output is still stopped when the context's deadline passes
// (RunCommandBackup watches the cancel flag, not the deadline).
#pragma once

#include <algorithm>
#include <chrono>

#include "util/context.h"

namespace lifeboat::sources_internal {

// `configured` (0: none) or the time left before the context's deadline, whichever is shorter;
// at least 1 ms when a deadline exists (a passed deadline is caught by context.Check first).
inline std::chrono::milliseconds BoundByDeadline(const Context& context,
                                                 std::chrono::milliseconds configured) {
  if (!context.has_deadline()) return configured;
  int64_t left_ns = context.deadline_ns() - context.clock().MonotonicNs();
  std::chrono::milliseconds left(std::max<int64_t>(1, left_ns / 1000000));
  return configured.count() > 0 ? std::min(configured, left) : left;
}

}  // namespace lifeboat::sources_internal
