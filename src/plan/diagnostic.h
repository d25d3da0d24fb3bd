// Diagnostics of the plan file: errors and warnings, each at a position with a hint, printed as
//
//   lifeboat.yaml:14:5: error: unknown key "tire" in service "billing-db"
//     hint: did you mean "tier"? ...
//
// Plain values; no I/O.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.h"

namespace lifeboat::plan {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  Position position;
  std::string message;  // one line, no trailing period
  std::string hint;     // what to do; may be empty
  // "FILE:LINE:COLUMN: error: MESSAGE", and "\n  hint: HINT" when there is a hint.
  std::string ToString() const;
  bool is_error() const { return severity == Severity::kError; }
};

// Collects diagnostics in the order they were found.
class Diagnostics {
 public:
  void Error(const Position& at, std::string message, std::string hint = "");
  void Warning(const Position& at, std::string message, std::string hint = "");
  const std::vector<Diagnostic>& all() const { return all_; }
  size_t errors() const;
  size_t warnings() const { return all_.size() - errors(); }
  bool has_errors() const { return errors() > 0; }
  // Sorted by line, then column (stable: equal positions keep the order found).
  std::vector<Diagnostic> Sorted() const;

 private:
  std::vector<Diagnostic> all_;
};

}  // namespace lifeboat::plan
