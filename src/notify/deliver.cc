#include "notify/deliver.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "util/mutex.h"
#include "util/thread_start.h"

namespace lifeboat::notify {

std::string_view OutcomeResultName(OutcomeResult r) {
  switch (r) {
    case OutcomeResult::kDelivered: return "delivered";
    case OutcomeResult::kFailed: return "failed";
    case OutcomeResult::kSkipped: return "skipped";
  }
  return "failed";
}

nlohmann::json OutcomeJson(const DeliveryOutcome& o) {
  nlohmann::json j = {
      {"channel", o.channel},
      {"type", o.channel_type},
      {"event", EventTypeName(o.event)},
      {"dedup_key", o.dedup_key},
      {"resolved", o.resolved},
      {"escalated", o.escalated},
      {"result", OutcomeResultName(o.result)},
      {"attempts", o.attempts},
      {"duration_seconds", static_cast<double>(o.duration_ns) / 1e9},
  };
  if (!o.error.empty()) j["error"] = o.error;
  return j;
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

std::chrono::nanoseconds BackoffDelay(int attempt, const RetryPolicy& policy, double uniform01,
                                      std::optional<int64_t> retry_after_seconds) {
  using std::chrono::nanoseconds;
  const double max_ns = static_cast<double>(nanoseconds(policy.max_delay).count());
  const double exp = std::ldexp(static_cast<double>(nanoseconds(policy.base_delay).count()),
                                std::clamp(attempt - 1, 0, 62));
  const double cap = std::min(max_ns, exp);
  double delay = std::clamp(uniform01, 0.0, 1.0) * cap;
  if (retry_after_seconds.has_value()) {
    delay = std::max(delay, std::min(max_ns, static_cast<double>(*retry_after_seconds) * 1e9));
  }
  return nanoseconds(static_cast<int64_t>(delay));
}

DeliveryOutcome DeliverOne(const Event& event, const Channel& channel, const RetryPolicy& policy,
                           const Context& context, int64_t deadline_ns,
                           const std::function<double()>& uniform01) {
  DeliveryOutcome out;
  out.channel = channel.name();
  out.channel_type = std::string(channel.type());
  out.event = event.type;
  out.dedup_key = event.dedup_key;
  out.resolved = event.resolved;
  out.escalated = event.escalated;
  Clock& clock = context.clock();
  const int64_t start = clock.MonotonicNs();
  if (context.has_deadline()) deadline_ns = std::min(deadline_ns, context.deadline_ns());
  const std::vector<std::string> secrets = channel.Secrets();
  auto finish = [&](OutcomeResult result, std::string error) {
    out.result = result;
    out.error = Scrub(std::move(error), secrets);
    out.duration_ns = clock.MonotonicNs() - start;
    return out;
  };
  if (!channel.Accepts(event.type)) {
    return finish(OutcomeResult::kSkipped, std::string(channel.type()) + " does not take " +
                                               std::string(EventTypeName(event.type)) + " events");
  }
  const int max_attempts = std::max(1, policy.max_attempts);
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    if (context.cancelled()) return finish(OutcomeResult::kFailed, "cancelled; " + last_error);
    const int64_t left_ns = deadline_ns - clock.MonotonicNs();
    if (left_ns <= 0) {
      return finish(OutcomeResult::kFailed,
                    last_error.empty() ? "the notification time budget was used up"
                                       : last_error + " (gave up: the time budget was used up)");
    }
    const auto left = std::chrono::milliseconds(std::max<int64_t>(1, left_ns / 1'000'000));
    std::optional<int64_t> retry_after;
    Attempt a;
    a.timeout = std::min(policy.request_timeout, left);
    a.budget_left = left;
    a.cancel = context.cancel_flag();
    a.retry_after = &retry_after;
    out.attempts = attempt;
    const Status st = channel.Send(event, a);
    if (st.ok()) return finish(OutcomeResult::kDelivered, "");
    last_error = st.message();
    if (st.code() == StatusCode::kCancelled) {
      return finish(OutcomeResult::kFailed, "cancelled; " + last_error);
    }
    if (!st.IsRetryable()) return finish(OutcomeResult::kFailed, last_error + " (not retried)");
    if (attempt >= max_attempts) {
      return finish(OutcomeResult::kFailed,
                    last_error + " (gave up after " + std::to_string(attempt) + " attempts)");
    }
    const std::chrono::nanoseconds delay = BackoffDelay(attempt, policy, uniform01(), retry_after);
    if (clock.MonotonicNs() + delay.count() >= deadline_ns) {
      return finish(OutcomeResult::kFailed,
                    last_error + " (gave up after " + std::to_string(attempt) +
                        " attempts: the next retry would end past the time budget)");
    }
    const Status slept = context.SleepFor(delay, "waiting to retry a notification");
    if (!slept.ok()) return finish(OutcomeResult::kFailed, slept.message() + "; " + last_error);
  }
}

std::vector<DeliveryOutcome> Deliver(const std::vector<Delivery>& deliveries,
                                     const ChannelMap& channels, const RetryPolicy& policy,
                                     const Context& context) {
  struct Job {
    const Event* event;
    const std::string* channel;
  };
  std::vector<Job> jobs;
  for (const Delivery& d : deliveries) {
    for (const std::string& c : d.channels) jobs.push_back({&d.event, &c});
  }
  std::vector<DeliveryOutcome> outcomes(jobs.size());
  const int64_t deadline =
      context.clock().MonotonicNs() + std::chrono::nanoseconds(policy.budget).count();
  const uint64_t seed = policy.jitter_seed != 0 ? policy.jitter_seed : std::random_device{}();

  auto run = [&](size_t i) {
    const Job& job = jobs[i];
    auto it = channels.find(*job.channel);
    if (it == channels.end()) {
      DeliveryOutcome& o = outcomes[i];
      o.channel = *job.channel;
      o.event = job.event->type;
      o.dedup_key = job.event->dedup_key;
      o.resolved = job.event->resolved;
      o.escalated = job.event->escalated;
      o.result = OutcomeResult::kFailed;
      o.error = "no notification channel named '" + *job.channel + "'";
      return;
    }
    std::mt19937_64 rng(seed + i);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    outcomes[i] = DeliverOne(*job.event, *it->second, policy, context, deadline,
                             [&] { return dist(rng); });
  };

  Mutex mu;
  size_t next = 0;  // guarded by mu
  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        MutexLock lock(&mu);
        if (next >= jobs.size()) return;
        i = next++;
      }
      try {
        run(i);
      } catch (...) {
        outcomes[i].result = OutcomeResult::kFailed;
        outcomes[i].error = StatusFromCurrentException("a notification").message();
      }
    }
  };
  const size_t want = std::min<size_t>(jobs.size(), std::max(1, policy.max_parallel));
  std::vector<std::thread> threads;
  if (want > 1) StartThreads(&threads, want, worker);
  if (threads.empty()) worker();  // one job, or no thread could be started: run inline
  for (std::thread& t : threads) t.join();
  return outcomes;
}

}  // namespace lifeboat::notify
