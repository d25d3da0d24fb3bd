// Test support: an in-memory fence::Fence (fence/fence.h) for the daemon's tests. It keeps the
// active sites in a map, counts tokens up from 1, and lets a test flip Acting() to imitate a lost
// lease. It is not a fencing implementation (one process, no persistence); the real ones are
// fence::OpenFence's.
//
//   FakeFence fence;
//   fence.SetActing(false, "lease not renewed for 21 s");   // the daemon must stop acting
//   fence.SetActive("shop", "dr");                          // as if a failover had moved it
//   fence.SetMember("main", {{"services", ...}});           // another site's daemon, alive
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fence/fence.h"
#include "util/mutex.h"

namespace lifeboat::daemon {

class FakeFence : public fence::Fence {
 public:
  std::string_view Kind() const override { return "fake"; }

  Status Join(const std::vector<std::string>& sites, const Context&) override {
    MutexLock l(&mu_);
    joined_sites_ = sites;
    joined_ = true;
    ++joins_;
    return Status::Ok();
  }
  bool Acting() const override {
    MutexLock l(&mu_);
    return acting_;
  }
  std::string ActingNote() const override {
    MutexLock l(&mu_);
    return acting_ ? "" : note_;
  }
  Result<std::unique_ptr<fence::FenceAction>> BeginAction(const Context&) override {
    MutexLock l(&mu_);
    if (!acting_) return Status::FailedPrecondition("not acting: " + note_);
    return std::unique_ptr<fence::FenceAction>(new Action(this));
  }
  Result<std::vector<fence::Member>> Members(const Context&) override {
    MutexLock l(&mu_);
    std::vector<fence::Member> out;
    for (const std::string& s : joined_ ? joined_sites_ : std::vector<std::string>{}) {
      fence::Member m;
      m.site = s;
      m.actor = "fake";
      m.health = health_;
      out.push_back(std::move(m));
    }
    for (const auto& [site, health] : others_) {
      fence::Member m;
      m.site = site;
      m.actor = "other:" + site;
      m.health = health;
      out.push_back(std::move(m));
    }
    return out;
  }
  Status ReportHealth(const nlohmann::json& health, const Context&) override {
    MutexLock l(&mu_);
    if (!joined_) return Status::FailedPrecondition("ReportHealth before Join");
    health_ = health;
    ++reports_;
    return Status::Ok();
  }
  Status Leave(const Context&) override {
    MutexLock l(&mu_);
    if (joined_) ++leaves_;
    joined_ = false;
    return Status::Ok();
  }

  // Test controls and observations.
  // Another daemon holding `site` (its member key), reporting `health`; RemoveMember: its key is
  // gone (dead or cut off).
  void SetMember(const std::string& site, nlohmann::json health) {
    MutexLock l(&mu_);
    others_[site] = std::move(health);
  }
  void RemoveMember(const std::string& site) {
    MutexLock l(&mu_);
    others_.erase(site);
  }
  void SetActing(bool acting, std::string note = "") {
    MutexLock l(&mu_);
    acting_ = acting;
    note_ = std::move(note);
  }
  void SetActive(const std::string& service, const std::string& site) {
    MutexLock l(&mu_);
    fence::ActiveSite& a = active_[service];
    a.service = service;
    a.site = site;
    a.stored = true;
    a.token = ++token_;
    a.revision = a.token;
  }
  nlohmann::json health() const {
    MutexLock l(&mu_);
    return health_;
  }
  int reports() const {
    MutexLock l(&mu_);
    return reports_;
  }
  int joins() const {
    MutexLock l(&mu_);
    return joins_;
  }
  int leaves() const {
    MutexLock l(&mu_);
    return leaves_;
  }

 private:
  class Action : public fence::FenceAction {
   public:
    explicit Action(FakeFence* f) : f_(f) {}
    Result<fence::ActiveSite> Active(const std::string& service) override {
      MutexLock l(&f_->mu_);
      auto it = f_->active_.find(service);
      if (it == f_->active_.end()) {
        fence::ActiveSite a;
        a.service = service;
        return a;
      }
      return it->second;
    }
    Result<std::vector<fence::ActiveSite>> AllActive() override {
      MutexLock l(&f_->mu_);
      std::vector<fence::ActiveSite> out;
      for (const auto& [name, a] : f_->active_) out.push_back(a);
      return out;
    }
    Result<uint64_t> MoveActive(const std::string& service, const fence::ActiveSite& expected,
                                const std::string& to_site, const std::string& incident) override {
      MutexLock l(&f_->mu_);
      if (!f_->acting_) return Status::FailedPrecondition("not acting: " + f_->note_);
      fence::ActiveSite& a = f_->active_[service];
      if (a.revision != expected.revision) return Status::FailedPrecondition("moved meanwhile");
      a.service = service;
      a.site = to_site;
      a.incident = incident;
      a.stored = true;
      a.token = ++f_->token_;
      a.revision = a.token;
      return a.token;
    }

   private:
    FakeFence* const f_;
  };

  mutable Mutex mu_;
  bool acting_ GUARDED_BY(mu_) = true;
  std::string note_ GUARDED_BY(mu_);
  bool joined_ GUARDED_BY(mu_) = false;
  std::vector<std::string> joined_sites_ GUARDED_BY(mu_);
  std::map<std::string, fence::ActiveSite> active_ GUARDED_BY(mu_);
  uint64_t token_ GUARDED_BY(mu_) = 0;
  nlohmann::json health_ GUARDED_BY(mu_);
  std::map<std::string, nlohmann::json> others_ GUARDED_BY(mu_);
  int reports_ GUARDED_BY(mu_) = 0, joins_ GUARDED_BY(mu_) = 0, leaves_ GUARDED_BY(mu_) = 0;
};

}  // namespace lifeboat::daemon
