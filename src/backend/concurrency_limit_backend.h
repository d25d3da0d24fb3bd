// ConcurrencyLimitBackend: a decorator that lets at most N calls into its inner backend run at
// once (a per-site connection limit, like restic's sema backend); further calls wait for a slot
// in arrival order of wake-up (no strict fairness).
//
//   auto be = std::make_unique<ConcurrencyLimitBackend>(std::move(inner), 5, job_context);
//
// What holds a slot:
//  - Save, SaveParts, Load, LoadInto, Stat and Remove hold one for the whole inner call.
//  - List holds one only while the inner listing runs, not while `fn` runs: the slot is given back
//    before each call of fn and taken again after it, so fn may call back into this backend
//    (the Backend contract allows it) even with N = 1, and a slow consumer of a listing does not
//    keep other calls waiting.
// Waiting: a call that finds every slot taken waits until one is free or `context` is done
// (cancelled or past its deadline); it then returns the context's error (Cancelled or
// DeadlineExceeded) naming the call, without calling the inner backend. A call that finds a slot
// free runs even when the context is done (the layers above check the context themselves). A
// wait notices a cancelled flag or a passed deadline within kCancelPollIntervalNs of real time
// (util/clock.h), whatever the context's clock.
// Hints: the inner backend's, with concurrent_requests = min(inner's, N), so operations size
// their worker pools to what the limit lets through (WorkersFor).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "backend/forwarding_backend.h"
#include "util/context.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class ConcurrencyLimitBackend : public ForwardingBackend {
 public:
  // Takes ownership of `inner`. At most `max_in_flight` calls run at once (values below 1 behave
  // as 1). `context` ends waits (see above); it and its cancel flag and clock must outlive this
  // object.
  ConcurrencyLimitBackend(std::unique_ptr<Backend> inner, int max_in_flight,
                          Context context = {});

  // The inner backend's hints, concurrent_requests capped at max_in_flight().
  BackendHints Hints() const override;

  // The Backend contract, each call holding a slot as described above. Thread-safe if the inner
  // backend is (the only shared state is the slot count, behind a mutex). Blocks while waiting.
  Status Save(const ObjectHandle& h, ByteView data) override;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  int max_in_flight() const { return max_in_flight_; }

 private:
  // Takes a slot, waiting for one while all are taken. OK, or the context's error naming `what`
  // (no slot taken then).
  Status Acquire(std::string_view what);
  void Release();
  // Runs call() (returning Status or Result) holding a slot.
  template <typename Call>
  auto WithSlot(std::string_view what, Call&& call) -> decltype(call());

  const int max_in_flight_;
  const Context context_;
  Mutex mu_;
  CondVar slot_freed_;
  int in_flight_ GUARDED_BY(mu_) = 0;
};

}  // namespace lifeboat
