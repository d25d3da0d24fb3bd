#include "daemon/run_journal.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "dr/sites.h"
#include "plan/schedule.h"
#include "util/file_io.h"

namespace lifeboat::daemon {

std::string RunJournalPath(const std::string& state_dir, const std::string& plan_path) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(plan_path, ec).lexically_normal().string();
  if (ec) abs = plan_path;
  const crypto::Digest d =
      crypto::Sha256(ByteView(reinterpret_cast<const uint8_t*>(abs.data()), abs.size()));
  const std::string hex = HexEncode(ByteView(d.data(), d.size())).substr(0, 16);
  return (std::filesystem::path(state_dir) / ("daemon-run-" + hex + ".json")).string();
}

Status WriteRunJournal(const std::string& path, const RunJournal& journal) {
  const std::string text = nlohmann::json{{"version", 1},
                                          {"running", journal.running},
                                          {"start_ns", journal.start_ns},
                                          {"services", journal.services},
                                          {"holds", journal.holds}}
                               .dump() +
                           "\n";
  LB_RETURN_IF_ERROR(CreateDirectories(std::filesystem::path(path).parent_path().string()));
  return WriteFileDurably(
      path, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()), true);
}

Result<std::optional<RunJournal>> ReadRunJournal(const std::string& path) {
  Result<Bytes> bytes = ReadWholeFile(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) return std::optional<RunJournal>();
    return bytes.status();
  }
  nlohmann::json j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("start_ns") || !j.contains("services") ||
      !j["start_ns"].is_number_integer() || !j["services"].is_array()) {
    return Status::Corruption("the daemon's run journal " + path + " cannot be read");
  }
  RunJournal r;
  r.running = j.value("running", false);
  if (j.contains("holds") && j["holds"].is_object()) {
    for (const auto& [name, until] : j["holds"].items()) {
      if (until.is_number_integer()) r.holds[name] = until.get<int64_t>();
    }
  }
  r.start_ns = j["start_ns"].get<int64_t>();
  for (const auto& s : j["services"]) {
    if (s.is_string()) r.services.push_back(s.get<std::string>());
  }
  return std::optional<RunJournal>(std::move(r));
}

Status RemoveRunJournal(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError("cannot remove " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::vector<InterruptedBackup> FindInterruptedBackups(const plan::Plan& plan,
                                                      const RunJournal& journal, const Context& ctx,
                                                      std::vector<std::string>* notes) {
  std::vector<InterruptedBackup> out;
  if (!journal.running) return out;
  for (const std::string& name : journal.services) {
    const plan::Service* svc = plan.FindService(name);
    if (svc == nullptr || svc->sites.empty()) continue;
    const plan::Site* site = plan.FindSite(svc->sites.front().name);
    if (site == nullptr) continue;
    Result<dr::RecordSite> opened = dr::OpenRecordSite(*site, ctx, nullptr);
    if (!opened.ok()) {
      notes->push_back(
          "service " + name + ": site " + site->name +
          " cannot be read to check the interrupted run: " + opened.status().message());
      continue;
    }
    Result<std::vector<std::pair<Id, Snapshot>>> list = opened->repo->ListSnapshots(nullptr);
    if (!list.ok()) {
      notes->push_back("service " + name + ": snapshots of site " + site->name +
                       " cannot be listed: " + list.status().message());
      continue;
    }
    const std::pair<Id, Snapshot>* newest = nullptr;
    for (const auto& entry : *list) {
      if (entry.second.service != name || entry.second.time_ns < journal.start_ns) continue;
      if (newest == nullptr || entry.second.time_ns > newest->second.time_ns) newest = &entry;
    }
    if (newest == nullptr) continue;
    InterruptedBackup b;
    b.service = name;
    b.snapshot = newest->first.Short();
    b.hold_until_ns = std::numeric_limits<int64_t>::max();
    Result<plan::CronSchedule> sched =
        plan::CronSchedule::Parse(svc->schedule.cron, svc->schedule.timezone);
    if (sched.ok()) {
      auto next = sched->NextAfter(
          plan::CronSchedule::TimePoint(std::chrono::seconds(journal.start_ns / 1'000'000'000)));
      if (next) {
        b.hold_until_ns = static_cast<int64_t>(next->time_since_epoch().count()) * 1'000'000'000;
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace lifeboat::daemon
