#include "plan/diagnostic.h"

#include <algorithm>

namespace lifeboat::plan {

std::string Diagnostic::ToString() const {
  std::string out = position.ToString() + ": " +
                    (severity == Severity::kError ? "error" : "warning") + ": " + message;
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

void Diagnostics::Error(const Position& at, std::string message, std::string hint) {
  all_.push_back({Diagnostic::Severity::kError, at, std::move(message), std::move(hint)});
}

void Diagnostics::Warning(const Position& at, std::string message, std::string hint) {
  all_.push_back({Diagnostic::Severity::kWarning, at, std::move(message), std::move(hint)});
}

size_t Diagnostics::errors() const {
  return std::count_if(all_.begin(), all_.end(), [](const Diagnostic& d) { return d.is_error(); });
}

std::vector<Diagnostic> Diagnostics::Sorted() const {
  std::vector<Diagnostic> out = all_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
  });
  return out;
}

}  // namespace lifeboat::plan
