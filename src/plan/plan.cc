#include "plan/plan.h"

#include <cctype>

namespace lifeboat::plan {

std::string Position::ToString() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string_view SecretRef::KindName() const {
  switch (kind) {
    case Kind::kFile: return "file";
    case Kind::kCommand: return "command";
    case Kind::kEnv: return "env";
  }
  return "file";
}

PasswordSource ToPasswordSource(const SecretRef& secret) {
  switch (secret.kind) {
    case SecretRef::Kind::kFile: return PasswordSource::File(secret.value);
    case SecretRef::Kind::kCommand: return PasswordSource::Command(secret.value);
    case SecretRef::Kind::kEnv: return PasswordSource::Environment(secret.value);
  }
  return PasswordSource();
}

std::string Command::Display() const {
  if (shell && argv.size() == 3) return argv[2];
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string_view SiteRoleName(SiteRole role) {
  switch (role) {
    case SiteRole::kPrimary: return "primary";
    case SiteRole::kSecondary: return "secondary";
    case SiteRole::kOffsite: return "offsite";
  }
  return "primary";
}

std::string RepositoryScheme(std::string_view repository) {
  size_t i = 0;
  while (i < repository.size() &&
         (std::islower(static_cast<unsigned char>(repository[i])) ||
          (i > 0 && std::isdigit(static_cast<unsigned char>(repository[i])))))
    ++i;
  if (i > 0 && i < repository.size() && repository[i] == ':') return std::string(repository.substr(0, i));
  return "local";
}

std::string MediaForScheme(std::string_view scheme) {
  if (scheme == "s3") return "object-storage";
  if (scheme == "sftp" || scheme == "rest") return "server";
  return "disk";
}

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kPaths: return "paths";
    case SourceKind::kCommand: return "command";
    case SourceKind::kPostgres: return "postgres";
    case SourceKind::kSqlite: return "sqlite";
  }
  return "paths";
}

std::string_view ReplicationName(Replication r) {
  return r == Replication::kSync ? "sync" : "async";
}

std::string_view VerifyKindName(VerifyCheck::Kind kind) {
  switch (kind) {
    case VerifyCheck::Kind::kTcp: return "tcp";
    case VerifyCheck::Kind::kHttp: return "http";
    case VerifyCheck::Kind::kCommand: return "command";
    case VerifyCheck::Kind::kSql: return "sql";
    case VerifyCheck::Kind::kFiles: return "files";
  }
  return "files";
}

std::string_view ChannelTypeName(ChannelType type) {
  switch (type) {
    case ChannelType::kWebhook: return "webhook";
    case ChannelType::kSlack: return "slack";
    case ChannelType::kNtfy: return "ntfy";
    case ChannelType::kPagerDuty: return "pagerduty";
    case ChannelType::kHealthchecks: return "healthchecks";
    case ChannelType::kEmail: return "email";
    case ChannelType::kCommand: return "command";
  }
  return "webhook";
}

std::string_view EventName(Event e) {
  switch (e) {
    case Event::kBackupFailed: return "backup_failed";
    case Event::kBackupRecovered: return "backup_recovered";
    case Event::kRpoAtRisk: return "rpo_at_risk";
    case Event::kRpoViolated: return "rpo_violated";
    case Event::kRpoRestored: return "rpo_restored";
    case Event::kSiteUnreachable: return "site_unreachable";
    case Event::kRunSummary: return "run_summary";
    case Event::kDrillFailed: return "drill_failed";
    case Event::kDrillPassed: return "drill_passed";
    case Event::kRtoRegressed: return "rto_regressed";
    case Event::kFailoverStarted: return "failover_started";
    case Event::kServiceRecovered: return "service_recovered";
    case Event::kFailoverFailed: return "failover_failed";
    case Event::kFailoverCommitted: return "failover_committed";
    case Event::kFailoverRolledBack: return "failover_rolled_back";
    case Event::kServiceDown: return "service_down";
    case Event::kLeaseLost: return "lease_lost";
  }
  return "run_summary";
}

namespace {
template <typename T>
const T* FindByName(const std::vector<T>& v, std::string_view name) {
  for (const T& x : v)
    if (x.name == name) return &x;
  return nullptr;
}
}  // namespace

const Site* Plan::FindSite(std::string_view name) const { return FindByName(sites, name); }
const Service* Plan::FindService(std::string_view name) const { return FindByName(services, name); }
const Channel* Plan::FindChannel(std::string_view name) const { return FindByName(channels, name); }
const Contact* Plan::FindContact(std::string_view name) const { return FindByName(contacts, name); }

}  // namespace lifeboat::plan
