// ParallelFor: runs fn(i) for every i in [0, n) on a few threads that take the next index from a
// shared counter, so a slow item never holds up the others. The checker, the repairs, the copier,
// prune and the repository's index loading spread their per-pack and per-file work with it.
//
//   ParallelFor(packs.size(), workers, options.cancel, [&](size_t i) { CheckPack(packs[i]); });
//   Status st = ParallelForUntilError(jobs.size(), workers, [&](size_t i) { return Do(jobs[i]); });
//
// Threads: min(workers, n) of them (workers <= 0 counts as 1); with one, fn runs inline on the
// caller's thread and no thread is started. Otherwise fn is called concurrently from several
// threads, so whatever it shares must be thread-safe. All three block until every call of fn has
// returned. When the system refuses to start a thread (a process or memory limit), the loop runs
// on the threads it has, or on the caller's thread when it has none.
//
// Exceptions (std::bad_alloc; fn should not throw otherwise): one thrown by fn stops the loop as
// fn returning false would, and once every thread has stopped it is rethrown on the caller's
// thread, just as if fn had run there; it never ends the process. ParallelForUntilError returns
// std::bad_alloc as an Unavailable ("out of memory") status instead.
//
// Order: indices are handed out in increasing order and each at most once, so the indices that
// ran always form a prefix [0, m) of [0, n), m == n unless the loop stopped early.
//
// ParallelFor or ThreadPool (thread_pool.h): ParallelFor is for n items known up front, each
// thread pulling the next index, with no queue and no task objects, and an exception rethrown on
// the caller's thread; ThreadPool is for tasks found as the caller goes (a directory walk) that
// must wait in a bounded queue.
//
// Stopping: `cancel` (may be null) is read, and for ParallelForWhile the stop that fn returning
// false sets, before each index is taken. Calls already running finish; the thread that set the
// stop or saw it takes no further index, and another thread that checked just before the stop may
// still start one more call. ParallelFor and ParallelForWhile do not say whether they stopped:
// the caller checks its own state (e.g. reads `cancel` again).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "util/status.h"

namespace lifeboat {

// The cancellation flags the long-running operations take (options.cancel): set by a signal
// handler or another thread, null when the caller never cancels.
inline bool IsCancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(); }

// Runs fn(i) for every i in [0, n) on up to `workers` threads; stops handing out indices once
// *cancel is true.
void ParallelFor(size_t n, int workers, const std::atomic<bool>* cancel,
                 const std::function<void(size_t)>& fn);

// As ParallelFor, but fn returning false also stops the loop, for every thread. (ParallelFor
// accepts a callback that returns bool too, and ignores what it returns.)
void ParallelForWhile(size_t n, int workers, const std::atomic<bool>* cancel,
                      const std::function<bool(size_t)>& fn);

// As ParallelForWhile, stopping at the first error, which it returns (when several calls fail at
// once, the first one recorded). OK when every call returned OK. There is no cancel flag: fn
// reports cancellation as an error of its own.
Status ParallelForUntilError(size_t n, int workers, const std::function<Status(size_t)>& fn);

}  // namespace lifeboat
