// A fence held in memory (fence.h), for tests of the code that acts under a fence (failover,
// rollback, commit): one plan's active sites and a growing token, shared by every action begun on
// it, with compare-and-swap as the real implementations do. Not for production: nothing survives
// the process. Test-only.
//
//   fence::MemoryFence fence;
//   o.fence = &fence;  ... PerformFailover(plan, o) ...
//   EXPECT_EQ(fence.token(), 1u);
//
// Thread safety: any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fence/fence.h"

namespace lifeboat::fence {

class MemoryFence : public Fence {
 public:
  std::string_view Kind() const override { return "memory"; }
  Status Join(const std::vector<std::string>&, const Context&) override { return Status::Ok(); }
  bool Acting() const override { return acting_; }
  std::string ActingNote() const override { return acting_ ? "" : "not acting (test)"; }
  Result<std::unique_ptr<FenceAction>> BeginAction(const Context&) override {
    if (!acting_) return Status::FailedPrecondition("fenced out: another actor holds the fence");
    return std::unique_ptr<FenceAction>(new Action(this));
  }
  Result<std::vector<Member>> Members(const Context&) override { return std::vector<Member>(); }
  Status ReportHealth(const nlohmann::json&, const Context&) override { return Status::Ok(); }
  Status Leave(const Context&) override { return Status::Ok(); }

  // Tests: make BeginAction fail (another actor holds the right to act).
  void set_acting(bool acting) { acting_ = acting; }
  uint64_t token() {
    std::lock_guard<std::mutex> lock(mu_);
    return token_;
  }

 private:
  class Action : public FenceAction {
   public:
    explicit Action(MemoryFence* f) : f_(f) {}
    Result<ActiveSite> Active(const std::string& service) override {
      std::lock_guard<std::mutex> lock(f_->mu_);
      auto it = f_->active_.find(service);
      if (it == f_->active_.end()) {
        ActiveSite a;
        a.service = service;
        return a;
      }
      return it->second;
    }
    Result<std::vector<ActiveSite>> AllActive() override {
      std::lock_guard<std::mutex> lock(f_->mu_);
      std::vector<ActiveSite> out;
      for (const auto& [name, a] : f_->active_) out.push_back(a);
      return out;
    }
    Result<uint64_t> MoveActive(const std::string& service, const ActiveSite& expected,
                                const std::string& to_site, const std::string& incident) override {
      std::lock_guard<std::mutex> lock(f_->mu_);
      ActiveSite& a = f_->active_[service];
      if (a.revision != expected.revision) {
        return Status::FailedPrecondition("moved meanwhile by incident " + a.incident);
      }
      a.service = service;
      a.site = to_site;
      a.incident = incident;
      a.token = ++f_->token_;
      a.revision = ++f_->revision_;
      a.stored = true;
      return a.token;
    }

   private:
    MemoryFence* f_;
  };

  std::mutex mu_;
  std::map<std::string, ActiveSite> active_;
  uint64_t token_ = 0, revision_ = 0;
  bool acting_ = true;
};

}  // namespace lifeboat::fence
