// The failover keys of the plan (doc/plan.md, "Failover"): a site's recovery_root, a service's
// `switch` steps and `failover` policy, the top-level `failover` settings.
#include "plan/duration.h"
#include "plan/parse_internal.h"

namespace lifeboat::plan::internal {

namespace {

const ObjectSpec& ServiceSpecOf() { return SpecOf(TopLevelSpec(), "services"); }

}  // namespace

void ParseRecoveryRoot(Reader& r, ObjectView& site, Site* out) {
  std::optional<std::string> root = site.String("recovery_root");
  if (!root) return;
  out->recovery_root_position = site.ValueAt("recovery_root");
  if (!root->starts_with("/")) {
    r.diagnostics().Error(
        out->recovery_root_position,
        "recovery_root of site \"" + out->name + "\" is a relative path: \"" + *root + "\"",
        "write an absolute path, e.g. recovery_root: /srv/dr (or leave it out "
        "for /: sources come back at their own paths)");
    return;
  }
  std::string normal = *root;
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  out->recovery_root = normal;
}

std::vector<SwitchStep> ParseSwitchSteps(Reader& r, ObjectView& service,
                                         const std::string& service_name) {
  std::vector<SwitchStep> out;
  const std::vector<YAML::Node> items = service.Items("switch");
  for (size_t i = 0; i < items.size(); ++i) {
    SwitchStep step;
    step.position = r.At(items[i]);
    if (!step.position.line) step.position = service.KeyAt("switch");
    const std::string where =
        "switch step " + std::to_string(i + 1) + " of service \"" + service_name + "\"";
    ObjectView v(r, items[i], SpecOf(ServiceSpecOf(), "switch"), where, step.position);
    if (!v.valid()) continue;
    if (auto c = v.GetCommand("command")) step.command = std::move(*c);
    if (auto t = v.Duration("timeout")) step.timeout = *t;
    v.Finish();
    out.push_back(std::move(step));
  }
  return out;
}

std::optional<FailoverPolicy> ParseFailoverPolicy(Reader& r, ObjectView& service,
                                                  const std::string& service_name) {
  YAML::Node node = service.Node("failover");
  if (!node.IsDefined()) return std::nullopt;
  FailoverPolicy p;
  p.position = service.KeyAt("failover");
  const std::string where = "failover of service \"" + service_name + "\"";
  ObjectView v(r, node, SpecOf(ServiceSpecOf(), "failover"), where, p.position);
  if (auto to = v.String("to")) p.to = *to;
  p.to_position = v.ValueAt("to");
  if (auto a = v.Boolean("automatic")) p.automatic = *a;
  if (auto d = v.Duration("interval")) p.interval = *d;
  if (auto d = v.Duration("timeout")) p.timeout = *d;
  if (auto n = v.Integer("failures_before_failover")) {
    p.failures_before_failover = static_cast<int>(*n);
  }
  if (v.valid() && p.timeout >= p.interval) {
    r.diagnostics().Error(
        v.Has("timeout") ? v.ValueAt("timeout") : v.ValueAt("interval"),
        "the health-check timeout of " + where + " (" + FormatPlanDuration(p.timeout) +
            ") is not shorter than its interval (" + FormatPlanDuration(p.interval) + ")",
        "a round of checks must end before the next begins: make timeout "
        "shorter than interval");
  }
  v.Finish();
  return p;
}

void ParseFailoverSettings(Reader& r, ObjectView& top, Plan* plan) {
  YAML::Node node = top.Node("failover");
  if (!node.IsDefined()) return;
  plan->failover.position = top.KeyAt("failover");
  ObjectView v(r, node, SpecOf(TopLevelSpec(), "failover"), "failover", plan->failover.position);
  plan->failover.commit_after = v.Duration("commit_after");
  v.Finish();
}

}  // namespace lifeboat::plan::internal
