// Shared between parse.cc (the plan, sites, services) and parse_parts.cc (sources, recover and
// verify, contacts, notifications). Internal to src/plan.
#pragma once

#include <string>

#include "plan/plan.h"
#include "plan/yaml_reader.h"

namespace lifeboat::plan::internal {

// The ObjectSpec of `key` in `parent` (a key of kind kObject, kMapOfObjects or kListOfObjects).
const ObjectSpec& SpecOf(const ObjectSpec& parent, std::string_view key);

// "did you mean \"x\"? " when a name of `names` is close to `name`, else "".
std::string DidYouMean(std::string_view name, const std::vector<std::string>& names);

std::vector<Source> ParseSources(Reader& r, ObjectView& service, const std::string& service_name);
std::vector<RecoverStep> ParseRecover(Reader& r, ObjectView& service, const std::string& service_name);
std::vector<VerifyCheck> ParseVerify(Reader& r, ObjectView& service, const std::string& service_name);
void ParseContacts(Reader& r, ObjectView& top, Plan* plan);
void ParseNotifications(Reader& r, ObjectView& top, Plan* plan);
// The top-level `daemon` (parse_daemon.cc).
void ParseDaemon(Reader& r, ObjectView& top, Plan* plan);
// parse_failover.cc: a site's recovery_root, a service's switch steps and failover policy, the
// top-level failover settings.
void ParseRecoveryRoot(Reader& r, ObjectView& site, Site* out);
std::vector<SwitchStep> ParseSwitchSteps(Reader& r, ObjectView& service,
                                         const std::string& service_name);
std::optional<FailoverPolicy> ParseFailoverPolicy(Reader& r, ObjectView& service,
                                                  const std::string& service_name);
void ParseFailoverSettings(Reader& r, ObjectView& top, Plan* plan);

}  // namespace lifeboat::plan::internal
