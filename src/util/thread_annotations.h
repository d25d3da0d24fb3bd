// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
// say in the declaration which mutex guards a member or which one a function needs, and let the
// compiler check it. Checked by the `tsa` build (clang++ -Wthread-safety, scripts/build.sh);
// on GCC the macros are empty.
//
//   Mutex mu_;
//   std::vector<Issue> issues_ GUARDED_BY(mu_);
//   void AddLocked(Issue i) REQUIRES(mu_);
//
// They work on capability types only: lifeboat::Mutex and SharedMutex (util/mutex.h), not
// std::mutex, whose libstdc++ declaration carries no annotations; and on members and globals
// only, not on local variables. What they cannot express keeps a "// guarded by" comment, which
// nothing checks.
#pragma once

#if defined(__clang__)
#define LB_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LB_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are capabilities (mutexes) named `x` in diagnostics.
#define CAPABILITY(x) LB_THREAD_ANNOTATION(capability(x))
// On a class: an RAII object that holds a capability for its lifetime (MutexLock).
#define SCOPED_CAPABILITY LB_THREAD_ANNOTATION(scoped_lockable)
// On a member or global: read and written only while `x` is held.
#define GUARDED_BY(x) LB_THREAD_ANNOTATION(guarded_by(x))
// On a pointer: what it points to is accessed only while `x` is held.
#define PT_GUARDED_BY(x) LB_THREAD_ANNOTATION(pt_guarded_by(x))
// On a mutex: the order in which mutexes are taken.
#define ACQUIRED_BEFORE(...) LB_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) LB_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
// On a function: the caller must hold these.
#define REQUIRES(...) LB_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) LB_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// On a function: it takes these and returns holding them / releases them.
#define ACQUIRE(...) LB_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) LB_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) LB_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) LB_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) LB_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// On a function: the caller must not hold these (the function takes them, or calls out to code
// that may).
#define EXCLUDES(...) LB_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// On a function: it checks at run time that the capability is held (and aborts if not).
#define ASSERT_CAPABILITY(x) LB_THREAD_ANNOTATION(assert_capability(x))
// On a function: it returns a reference to the capability.
#define RETURN_CAPABILITY(x) LB_THREAD_ANNOTATION(lock_returned(x))
// On a function: not checked. Each use says why.
#define NO_THREAD_SAFETY_ANALYSIS LB_THREAD_ANNOTATION(no_thread_safety_analysis)
