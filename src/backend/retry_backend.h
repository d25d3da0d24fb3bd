// RetryBackend: a decorator that repeats calls failing with a retryable Status
// (Status::IsRetryable, i.e. kUnavailable) with exponential backoff and jitter. Permanent errors
// (NotFound, Corruption, IOError, ...) are returned at once.
//
//   RetryOptions opts; opts.max_attempts = 8;
//   auto be = std::make_unique<RetryBackend>(std::move(inner), opts);
//
// Besides plain repetition it repairs the ambiguities a retry creates:
//  - Save: a failed attempt may have stored the object anyway (the acknowledgement was lost). If a
//    retried Save gets AlreadyExists, the stored object is Stat'ed and loaded and compared with
//    `data`: equal means success, different means Corruption.
//  - Remove: NotFound on a retried Remove means an earlier attempt removed it: success.
//  - Load: fewer bytes than the explicit `length` asked for is a short read and retried. With
//    length 0 ("to the end") the object is Stat'ed after the load and a result shorter than the
//    object is a short read too.
//  - List: a listing that fails part-way is restarted, and names already passed to fn are not
//    passed again. An error returned by fn itself is never retried.
//
// A site that stays down: once a call has used all its attempts on retryable failures, the site
// counts as down. Until a call gets an answer again (success, or a permanent error: the server
// answered), every further retryable failure, of a new call or of one still backing off, is
// returned after that attempt, without waiting. So a command whose site went down and stays down
// fails within one call's retry budget (with the defaults: 10 attempts, waits of 0.5 s doubling
// up to 30 s, at most 121.5 s of waiting; half that at least, with jitter), instead of paying
// it again for every call that follows (the packs queued behind the failed one, the removal of
// the lock). An outage shorter than the budget is ridden out as before.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "backend/backend.h"
#include "util/context.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct RetryOptions {
  // Total attempts per call, including the first; values below 1 behave as 1.
  int max_attempts = 10;
  // Delay before the 2nd attempt; each further delay is multiplied by `multiplier`, up to
  // `max_delay`.
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30000};
  double multiplier = 2.0;
  // Each delay d is drawn uniformly from [d * (1 - jitter), d]; 0 gives exact delays.
  double jitter = 0.5;
  // Seed of the jitter generator; 0 picks a random seed.
  uint64_t seed = 0;
  // Stops the retrying: a call whose context is cancelled or past its deadline is not repeated,
  // and a backoff wait ends as soon as that happens (the error is then the context's, Cancelled or
  // DeadlineExceeded, naming the call and its last failure). The backoff waits on its clock
  // (tests inject a ManualClock, util/clock.h). A backend stack serves one job: its context is
  // fixed when it is opened (backend/open_backend.h).
  Context context = {};
  // Optional: told about each retry before its delay (for logs/progress). `what` names the call
  // (e.g. "load pack 01ab..."), `attempt` is the attempt that failed (1-based).
  std::function<void(std::string_view what, int attempt, const Status& error,
                     std::chrono::milliseconds delay)>
      on_retry;
};

// Runs call(attempt) (attempt counts from 1) until it returns OK or an error that is not
// retryable, with the backoff and limits of `options` (max_attempts, the delays and jitter, the
// context) that RetryBackend uses for each call. For what a backend does before any RetryBackend
// exists: opening a remote site probes the server (OpenBackend). When all attempts fail, the last
// error with context "<what>: giving up after N attempts"; a stopped context ends it as in
// RetryBackend. Blocks while sleeping.
Status RetryTransientFailures(const RetryOptions& options, const std::string& what,
                              const std::function<Status(int attempt)>& call);

class RetryBackend : public Backend {
 public:
  // Takes ownership of `inner`.
  RetryBackend(std::unique_ptr<Backend> inner, RetryOptions options);

  // The inner backend's location.
  std::string Location() const override;
  BackendHints Hints() const override;

  // The Backend contract with retries as described above. Thread-safe if the inner backend is
  // (the only shared state is the jitter generator, behind a mutex). Blocks while sleeping.
  // When all attempts fail, the last error is returned with context "giving up after N
  // attempts" (its code unchanged); after that, while the site counts as down (above), with
  // "giving up after N attempt(s): an earlier call already gave up on <location>".
  Status Save(const ObjectHandle& h, ByteView data) override;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  Backend* inner() const { return inner_.get(); }

 private:
  // Runs call(attempt) until it succeeds, fails permanently, *stop becomes true (when stop is
  // given), or attempts run out. R is Status or Result<T>.
  template <typename Call>
  auto Run(const std::string& what, Call&& call, const bool* stop = nullptr) -> decltype(call(1));
  std::chrono::milliseconds Delay(int failed_attempt);
  // The error of a call whose context stopped the retrying after `attempt` failed with `last`.
  Status StoppedAfter(const std::string& what, int attempt, const Status& last) const;
  // After a retried Save hit AlreadyExists: OK if the stored object equals the parts joined.
  Status VerifyExisting(const ObjectHandle& h, ByteParts parts);

  const std::unique_ptr<Backend> inner_;
  const RetryOptions options_;
  Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  // True from a call that used all its attempts until a call gets an answer (the site is down).
  std::atomic<bool> site_down_{false};
};

}  // namespace lifeboat
