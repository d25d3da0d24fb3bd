// FaultInjectingBackend: a decorator that makes a healthy backend misbehave on purpose, for tests
// and the crash harness: transient and permanent failures, lost acknowledgements, short reads,
// bit flips, and SIGKILL of the own process around the N-th mutating operation. Only tests turn
// it on (OpenBackendOptions::faults, SetFaultOptionsForTesting); the environment cannot.
//
//   FaultOptions f; f.seed = 7; f.transient_probability = 0.2;
//   auto be = std::make_unique<FaultInjectingBackend>(std::make_unique<MemoryBackend>(), f);
//
// Deterministic: given the same seed and the same sequence of calls (and inner results), the same
// faults are injected. With concurrent callers the interleaving decides who gets which fault.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "backend/backend.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct FaultOptions {
  enum class KillWhen { kBefore, kAfter };

  uint64_t seed = 1;
  // Each call (Save, Load, Stat, List, Remove) fails with Unavailable without doing anything.
  // List may instead fail part-way, after passing some entries to fn.
  double transient_probability = 0;
  // Each call fails with IOError without doing anything.
  double permanent_probability = 0;
  // Save/Remove is performed, then Unavailable is returned (the acknowledgement was lost).
  double lost_ack_probability = 0;
  // A Load of a non-empty range returns only a random proper prefix of the data.
  double short_read_probability = 0;
  // A Load of a non-empty range has one random bit flipped (the stored object is untouched).
  double bit_flip_probability = 0;
  // N > 0: the N-th mutating call (Save or Remove, counted from 1 per backend object) raises
  // SIGKILL on this process, before or after performing it.
  uint64_t kill_after_ops = 0;
  KillWhen kill_when = KillWhen::kBefore;
  // Each mutating call (Save, Remove) other than of a lock sleeps this long first: a slow
  // backend, so tests can run one command while another is still in the middle of its work.
  uint64_t delay_ms = 0;
  // When set, the backend appends "mutating_ops N" (Save and Remove calls it saw) to this file
  // when it is destroyed (one line per backend: `copy` opens two): the crash harness uses it to
  // learn how many kill points a command has.
  std::string stats_file;

  // True if any fault is configured.
  bool enabled() const;

  // Reads LIFEBOAT_FAULT_KILL_AFTER_OPS (integer), LIFEBOAT_FAULT_KILL_WHEN (before|after),
  // LIFEBOAT_FAULT_SEED (integer), LIFEBOAT_FAULT_DELAY_MS (integer), LIFEBOAT_FAULT_STATS_FILE (path), and the
  // probabilities (decimals in [0, 1])
  // LIFEBOAT_FAULT_TRANSIENT, LIFEBOAT_FAULT_PERMANENT, LIFEBOAT_FAULT_LOST_ACK,
  // LIFEBOAT_FAULT_SHORT_READ, LIFEBOAT_FAULT_BITFLIP. Returns nullopt when none is set (or set
  // to an empty string); InvalidArgument naming the variable when a value does not parse.
  // Variables are looked up through `getenv` (nullptr for unset ones): the library never reads
  // the process environment itself; the test executable (tests/lifeboat_testing_main.cc) passes
  // std::getenv.
  static Result<std::optional<FaultOptions>> FromEnvironment(
      const std::function<const char*(const char*)>& getenv);
};

// Counts of injected faults, for tests and harness reports.
struct FaultStats {
  uint64_t mutating_ops = 0;
  uint64_t transient = 0;
  uint64_t permanent = 0;
  uint64_t lost_acks = 0;
  uint64_t short_reads = 0;
  uint64_t bit_flips = 0;
};

class FaultInjectingBackend : public Backend {
 public:
  // Takes ownership of `inner`.
  FaultInjectingBackend(std::unique_ptr<Backend> inner, FaultOptions options);
  ~FaultInjectingBackend() override;

  // "<inner location>" — faults do not change where the data lives.
  std::string Location() const override;
  BackendHints Hints() const override;

  // The Backend contract, with faults injected as configured. Thread-safe if the inner backend
  // is: fault decisions and counters are taken under one mutex, inner calls are made outside it.
  Status Save(const ObjectHandle& h, ByteView data) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  FaultStats stats() const;
  Backend* inner() const { return inner_.get(); }

 private:
  enum class Injected { kNone, kTransient, kPermanent };
  // Draws the fail-before-doing-anything decision for one call.
  Injected DrawFailureLocked() REQUIRES(mu_);
  Status FailureStatus(Injected fault, std::string_view op, const ObjectHandle* h) const;
  double UniformLocked() REQUIRES(mu_);  // [0, 1)
  // Runs a Save or Remove with the kill switch and the lost-ack fault.
  Status Mutate(std::string_view op, const ObjectHandle& h, const std::function<Status()>& perform);

  const std::unique_ptr<Backend> inner_;
  const FaultOptions options_;
  mutable Mutex mu_;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  FaultStats stats_ GUARDED_BY(mu_);
};

}  // namespace lifeboat
