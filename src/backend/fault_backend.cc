#include "backend/fault_backend.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <chrono>
#include <thread>

namespace lifeboat {
namespace {

[[noreturn]] void KillSelf() {
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();  // SIGKILL cannot be blocked; this is never reached for long
}

const char* GetEnv(const std::function<const char*(const char*)>& getenv, const char* name) {
  const char* v = getenv ? getenv(name) : nullptr;
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

Status ParseUnsigned(const char* name, const char* text, uint64_t* out) {
  std::string_view s(text);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::InvalidArgument(std::string(name) + "=\"" + text +
                                   "\" is not a non-negative integer");
  }
  return Status::Ok();
}

Status ParseProbability(const char* name, const char* text, double* out) {
  std::string_view s(text);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec != std::errc() || end != s.data() + s.size() || !(*out >= 0.0 && *out <= 1.0)) {
    return Status::InvalidArgument(std::string(name) + "=\"" + text +
                                   "\" is not a probability between 0 and 1 (e.g. 0.05)");
  }
  return Status::Ok();
}

}  // namespace

bool FaultOptions::enabled() const {
  return transient_probability > 0 || permanent_probability > 0 || lost_ack_probability > 0 ||
         short_read_probability > 0 || bit_flip_probability > 0 || kill_after_ops > 0 ||
         delay_ms > 0 || !stats_file.empty();
}

Result<std::optional<FaultOptions>> FaultOptions::FromEnvironment(
    const std::function<const char*(const char*)>& getenv) {
  FaultOptions o;
  bool any = false;
  if (const char* v = GetEnv(getenv, "LIFEBOAT_FAULT_KILL_AFTER_OPS")) {
    LB_RETURN_IF_ERROR(ParseUnsigned("LIFEBOAT_FAULT_KILL_AFTER_OPS", v, &o.kill_after_ops));
    any = true;
  }
  if (const char* v = GetEnv(getenv, "LIFEBOAT_FAULT_STATS_FILE")) {
    o.stats_file = v;
    any = true;
  }
  if (const char* v = GetEnv(getenv, "LIFEBOAT_FAULT_DELAY_MS")) {
    LB_RETURN_IF_ERROR(ParseUnsigned("LIFEBOAT_FAULT_DELAY_MS", v, &o.delay_ms));
    any = true;
  }
  if (const char* v = GetEnv(getenv, "LIFEBOAT_FAULT_KILL_WHEN")) {
    std::string_view when(v);
    if (when == "before") {
      o.kill_when = KillWhen::kBefore;
    } else if (when == "after") {
      o.kill_when = KillWhen::kAfter;
    } else {
      return Status::InvalidArgument(std::string("LIFEBOAT_FAULT_KILL_WHEN=\"") + v +
                                     "\" must be \"before\" or \"after\"");
    }
    any = true;
  }
  if (const char* v = GetEnv(getenv, "LIFEBOAT_FAULT_SEED")) {
    LB_RETURN_IF_ERROR(ParseUnsigned("LIFEBOAT_FAULT_SEED", v, &o.seed));
    any = true;
  }
  struct {
    const char* name;
    double* field;
  } probabilities[] = {
      {"LIFEBOAT_FAULT_TRANSIENT", &o.transient_probability},
      {"LIFEBOAT_FAULT_PERMANENT", &o.permanent_probability},
      {"LIFEBOAT_FAULT_LOST_ACK", &o.lost_ack_probability},
      {"LIFEBOAT_FAULT_SHORT_READ", &o.short_read_probability},
      {"LIFEBOAT_FAULT_BITFLIP", &o.bit_flip_probability},
  };
  for (const auto& p : probabilities) {
    if (const char* v = GetEnv(getenv, p.name)) {
      LB_RETURN_IF_ERROR(ParseProbability(p.name, v, p.field));
      any = true;
    }
  }
  if (!any) return std::optional<FaultOptions>();
  return std::optional<FaultOptions>(o);
}

FaultInjectingBackend::FaultInjectingBackend(std::unique_ptr<Backend> inner, FaultOptions options)
    : inner_(std::move(inner)), options_(options), rng_(options.seed) {}

FaultInjectingBackend::~FaultInjectingBackend() {
  if (options_.stats_file.empty()) return;
  if (FILE* f = std::fopen(options_.stats_file.c_str(), "a")) {
    std::fprintf(f, "mutating_ops %llu\n", static_cast<unsigned long long>(stats_.mutating_ops));
    std::fclose(f);
  }
}

std::string FaultInjectingBackend::Location() const { return inner_->Location(); }
BackendHints FaultInjectingBackend::Hints() const { return inner_->Hints(); }

FaultStats FaultInjectingBackend::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

double FaultInjectingBackend::UniformLocked() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

FaultInjectingBackend::Injected FaultInjectingBackend::DrawFailureLocked() {
  double u = UniformLocked();
  if (u < options_.transient_probability) {
    ++stats_.transient;
    return Injected::kTransient;
  }
  if (u < options_.transient_probability + options_.permanent_probability) {
    ++stats_.permanent;
    return Injected::kPermanent;
  }
  return Injected::kNone;
}

Status FaultInjectingBackend::FailureStatus(Injected fault, std::string_view op,
                                            const ObjectHandle* h) const {
  std::string what = "injected fault: " + std::string(op);
  if (h != nullptr) what += " " + DescribeObject(*h);
  if (fault == Injected::kTransient) return Status::Unavailable(what + " (transient)");
  return Status::IOError(what + " (permanent)");
}

Status FaultInjectingBackend::Mutate(std::string_view op, const ObjectHandle& h,
                                     const std::function<Status()>& perform) {
  bool kill_before = false;
  bool kill_after = false;
  bool lost_ack = false;
  Injected fault;
  {
    MutexLock lock(&mu_);
    uint64_t n = ++stats_.mutating_ops;
    if (options_.kill_after_ops > 0 && n == options_.kill_after_ops) {
      (options_.kill_when == FaultOptions::KillWhen::kBefore ? kill_before : kill_after) = true;
    }
    fault = DrawFailureLocked();
    lost_ack = UniformLocked() < options_.lost_ack_probability;
    if (fault == Injected::kNone && lost_ack) ++stats_.lost_acks;
  }
  if (kill_before) KillSelf();
  if (options_.delay_ms > 0 && h.type != ObjectType::kLock)
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.delay_ms));
  if (fault != Injected::kNone) {
    if (kill_after) KillSelf();
    return FailureStatus(fault, op, &h);
  }
  Status st = perform();
  if (kill_after) KillSelf();
  if (lost_ack && st.ok()) {
    return Status::Unavailable("injected fault: " + std::string(op) + " " + DescribeObject(h) +
                               " succeeded but its acknowledgement was lost");
  }
  return st;
}

Status FaultInjectingBackend::Save(const ObjectHandle& h, ByteView data) {
  return Mutate("save", h, [&] { return inner_->Save(h, data); });
}

Status FaultInjectingBackend::Remove(const ObjectHandle& h) {
  return Mutate("remove", h, [&] { return inner_->Remove(h); });
}

Result<Bytes> FaultInjectingBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  Injected fault;
  bool short_read, bit_flip;
  uint64_t short_word, flip_word;
  {
    MutexLock lock(&mu_);
    fault = DrawFailureLocked();
    short_read = UniformLocked() < options_.short_read_probability;
    bit_flip = UniformLocked() < options_.bit_flip_probability;
    short_word = rng_();
    flip_word = rng_();
  }
  if (fault != Injected::kNone) return FailureStatus(fault, "load", &h);
  Result<Bytes> loaded = inner_->Load(h, offset, length);
  if (!loaded.ok()) return loaded;
  Bytes data = std::move(loaded).value();
  if (data.empty()) return data;
  if (short_read) {
    data.resize(static_cast<size_t>(short_word % data.size()));
  }
  if (bit_flip && !data.empty()) {
    uint64_t bit = flip_word % (uint64_t{data.size()} * 8);
    data[static_cast<size_t>(bit / 8)] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
  MutexLock lock(&mu_);
  if (short_read) ++stats_.short_reads;
  if (bit_flip && !data.empty()) ++stats_.bit_flips;
  return data;
}

Result<ObjectInfo> FaultInjectingBackend::Stat(const ObjectHandle& h) {
  Injected fault;
  {
    MutexLock lock(&mu_);
    fault = DrawFailureLocked();
  }
  if (fault != Injected::kNone) return FailureStatus(fault, "stat", &h);
  return inner_->Stat(h);
}

Status FaultInjectingBackend::List(ObjectType type, std::string_view prefix,
                                   const std::function<Status(const ObjectInfo&)>& fn) {
  Injected fault;
  uint64_t cutoff;
  {
    MutexLock lock(&mu_);
    fault = DrawFailureLocked();
    cutoff = rng_() % 8;  // entries passed to fn before a transient failure
  }
  const std::string op = "list " + std::string(ObjectTypeName(type));
  if (fault == Injected::kPermanent) return FailureStatus(fault, op, nullptr);
  if (fault == Injected::kNone) return inner_->List(type, prefix, fn);
  uint64_t delivered = 0;
  bool cut = false;
  Status st = inner_->List(type, prefix, [&](const ObjectInfo& info) -> Status {
    if (delivered == cutoff) {
      cut = true;
      return FailureStatus(Injected::kTransient, op, nullptr);
    }
    ++delivered;
    return fn(info);
  });
  if (cut || st.ok()) return FailureStatus(Injected::kTransient, op, nullptr);
  return st;  // fn's own error, or the inner backend's
}

}  // namespace lifeboat
