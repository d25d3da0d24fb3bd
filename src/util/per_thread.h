// PerThread<T, Tag>(): one T per thread, made on first use and destroyed when the thread ends,
// without a `thread_local` object of a type with a destructor. Such an object makes the C++
// runtime register its destructor with glibc on first use in each thread (__cxa_thread_atexit),
// and when that small allocation fails (a memory limit: ulimit -v) glibc aborts the process
// ("failed to register TLS destructor"): no exception, no clean exit, a stale lock left behind.
// Here the thread's object hangs off a POSIX thread-specific key, whose destructor runs at thread
// exit; setting a key allocates nothing (the first 32 keys of a process live in the thread's own
// block), and making the T may throw std::bad_alloc, which the thread's top reports.
//
//   Bytes& scratch = PerThread<Bytes, struct DecodeScratch>();
//   ZSTD_CCtx* ctx = PerThread<CCtxHolder, struct CCtxTag>().get();
//
// `Tag` tells call sites with the same T apart (each gets its own object and key). A key is made
// once per (T, Tag) for the process (pthread_key_create; std::bad_alloc if none is left).
#pragma once

#include <pthread.h>

#include <memory>
#include <new>

namespace lifeboat {

template <typename T, typename Tag>
T& PerThread() {
  static const pthread_key_t key = [] {
    pthread_key_t k;
    if (::pthread_key_create(&k, [](void* p) { delete static_cast<T*>(p); }) != 0)
      throw std::bad_alloc();
    return k;
  }();
  thread_local T* object = nullptr;  // a plain pointer: no destructor to register
  if (object == nullptr) {
    auto made = std::make_unique<T>();
    if (::pthread_setspecific(key, made.get()) != 0) throw std::bad_alloc();
    object = made.release();
  }
  return *object;
}

}  // namespace lifeboat
