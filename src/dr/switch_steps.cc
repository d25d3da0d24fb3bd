#include "dr/switch_steps.h"

#include "recover/child_process.h"
#include "recover/waves.h"
#include "util/trim_output.h"

namespace lifeboat::dr {

std::vector<std::pair<std::string, std::string>> SwitchEnvironment(const plan::Service& service,
                                                                   const SwitchTarget& target) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"LIFEBOAT_SWITCH_TO", target.to},
      {"LIFEBOAT_SWITCH_FROM", target.from},
      {"LIFEBOAT_FENCING_TOKEN", std::to_string(target.token)},
      {"LIFEBOAT_INCIDENT", target.incident},
      {"LIFEBOAT_SERVICE", service.name},
      {"LIFEBOAT_RESTORE_DIR", target.restore_dir},
  };
  for (const auto& [name, port] : target.ports) {
    env.emplace_back("LIFEBOAT_PORT_" + recover::EnvironmentName(name), std::to_string(port));
  }
  return env;
}

Status RunSwitchSteps(const plan::Service& service, const SwitchTarget& target,
                      const std::vector<std::string>& secret_variables, const Context& ctx,
                      const std::function<void(const std::string&)>& on_line,
                      std::vector<recover::StepRecord>* steps) {
  const auto env = SwitchEnvironment(service, target);
  for (size_t i = 0; i < service.switch_steps.size(); ++i) {
    const plan::SwitchStep& step = service.switch_steps[i];
    recover::StepRecord rec;
    rec.phase = "switch";
    rec.kind = "command";
    rec.name = "switch step " + std::to_string(i + 1) + " '" + step.command.Display() + "' to " +
               target.to;
    rec.label = "switch '" + step.command.Display() + "'";
    rec.position = step.position;
    rec.start_ns = ctx.clock().WallNs();
    const int64_t mono = ctx.clock().MonotonicNs();
    SubprocessOptions o;
    o.argv = step.command.argv;
    o.description = "switch step " + std::to_string(i + 1) + " of " + service.name + " ('" +
                    step.command.Display() + "')";
    o.timeout = step.timeout;
    o.cancel = ctx.cancel_flag();
    o.stderr_to_stdout = true;
    for (const std::string& var : secret_variables) o.environment.emplace_back(var, "");
    for (const auto& e : env) o.environment.push_back(e);
    if (!target.restore_dir.empty()) o.working_directory = target.restore_dir;
    recover::ForegroundResult run = recover::RunForeground(o, nullptr);
    rec.end_ns = ctx.clock().WallNs();
    rec.seconds = static_cast<double>(ctx.clock().MonotonicNs() - mono) / 1e9;
    rec.output = TrimOutput(run.output);
    rec.state = run.status.ok() ? recover::StepState::kOk : recover::StepState::kFailed;
    rec.error = run.status.ok() ? "" : run.status.message();
    if (on_line) {
      on_line(service.name + ": " + rec.name + ": " + (run.status.ok() ? "ok" : "FAILED") + " (" +
              recover::FormatSeconds(rec.seconds) + ")" +
              (run.status.ok() ? "" : ": " + rec.error));
    }
    steps->push_back(rec);
    if (!run.status.ok()) return Status(run.status.code(), rec.name + ": " + rec.error);
  }
  return Status::Ok();
}

}  // namespace lifeboat::dr
