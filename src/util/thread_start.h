// What every pool of worker threads needs under process and memory limits: start as many threads
// as the system allows (fewer than asked, or none), and turn an exception caught at a thread's
// top into a Status instead of letting it reach std::terminate.
//
//   std::vector<std::thread> threads;
//   StartThreads(&threads, 4, [this] { Loop(); });   // 0..4 started; with 0, run jobs inline
//   try { job(); } catch (...) { Fail(StatusFromCurrentException("a restore job")); }
//
// Used by ThreadPool, ProgressReporter, ParallelFor and the BlobSaver.
#pragma once

#include <functional>
#include <string_view>
#include <thread>
#include <vector>

#include "util/status.h"

namespace lifeboat {

// Appends up to `n` threads running `body` to *threads and returns how many were started. It
// stops at the first thread the system refuses (std::system_error, e.g. EAGAIN under a process
// or address-space limit, or std::bad_alloc); the threads already started keep running. The
// caller must cope with fewer threads than asked for, including none.
size_t StartThreads(std::vector<std::thread>* threads, size_t n, const std::function<void()>& body);

// The Status for the exception being handled; call it only inside a catch block (at a thread's
// top, or a command's). std::bad_alloc and std::system_error (thread or resource limits) are
// Unavailable and say which limit to raise; anything else is Internal, carrying what() and
// `where` ("the backup", "a restore job"). It never throws and never rethrows through
// std::rethrow_exception (which allocates): when even the message cannot be allocated, the
// Status says only "out of memory" (short enough to need no allocation).
Status StatusFromCurrentException(std::string_view where) noexcept;

}  // namespace lifeboat
