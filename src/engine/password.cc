#include "engine/password.h"

#include <algorithm>
#include <cstdlib>

#include "util/file_io.h"
#include "util/subprocess.h"

namespace lifeboat {
namespace {

// The first line, without its "\n" or "\r\n".
std::string FirstLine(std::string s) {
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

Result<std::string> NotEmpty(std::string password, const PasswordSource& source) {
  // No key can have an empty password (init and key add refuse one): say so, not "no key
  // matches".
  if (!password.empty()) return password;
  if (source.kind == PasswordSource::Kind::kFile)
    return Status::InvalidArgument(source.Describe() +
                                   " holds an empty password (its first line is empty); an empty "
                                   "password is not allowed");
  if (source.kind == PasswordSource::Kind::kEnvironment)
    return Status::InvalidArgument(source.Describe() +
                                   " is empty; an empty password is not allowed");
  return Status::InvalidArgument("an empty password is not allowed");
}

Result<std::string> RunPasswordCommand(const PasswordSource& source, const Context& ctx) {
  SubprocessOptions o;
  o.argv = ShellCommand(source.text);
  o.description = "password command";
  LB_RETURN_IF_ERROR(ctx.Check("password command"));
  // The command's own limit, or what is left of the caller's deadline if that is sooner (at least
  // 1 ms: a zero timeout would mean none).
  auto timeout = source.command_timeout;
  if (ctx.has_deadline()) {
    const int64_t left = ctx.deadline_ns() - ctx.clock().MonotonicNs();
    if (left < timeout.count()) timeout = std::chrono::nanoseconds(left);
  }
  // Rounded up, so that when the command is stopped for the deadline the deadline has passed.
  o.timeout = std::max(std::chrono::milliseconds(1),
                       std::chrono::ceil<std::chrono::milliseconds>(timeout));
  o.cancel = ctx.cancel_flag();
  o.max_output = 64 << 10;
  auto out = RunAndCapture(o);
  if (!out.ok()) {
    // Ctrl-C stays Cancelled, an expired deadline DeadlineExceeded; a command that failed or hung
    // is a setting to fix.
    if (out.status().code() == StatusCode::kCancelled) return out.status();
    LB_RETURN_IF_ERROR(ctx.Check("password command"));
    return Status::InvalidArgument(out.status().message());
  }
  std::string line = FirstLine(std::move(*out));
  if (line.empty())
    return Status::InvalidArgument("password command printed no password (its first line is "
                                   "empty); an empty password is not allowed");
  return line;
}

}  // namespace

std::string PasswordSource::Describe() const {
  switch (kind) {
    case Kind::kNone: return "no password";
    case Kind::kValue: return "password given directly";
    case Kind::kFile: return "password file " + text;
    case Kind::kCommand: return "password command";
    case Kind::kEnvironment: return "environment variable " + text;
    case Kind::kAsk: return "password prompt";
  }
  return "password";
}

Result<std::string> ResolvePassword(const PasswordSource& source, const Context& ctx) {
  switch (source.kind) {
    case PasswordSource::Kind::kNone:
      return Status::InvalidArgument(
          "no password given: use a password file, a password command or a password variable");
    case PasswordSource::Kind::kValue:
      return NotEmpty(source.text, source);
    case PasswordSource::Kind::kFile: {
      auto data = ReadWholeFile(source.text);
      if (!data.ok()) {
        Status st = data.status().WithContext("reading password file");
        return Status::InvalidArgument(st.message());
      }
      return NotEmpty(FirstLine(std::string(data->begin(), data->end())), source);
    }
    case PasswordSource::Kind::kCommand:
      return RunPasswordCommand(source, ctx);
    case PasswordSource::Kind::kEnvironment: {
      const char* v = std::getenv(source.text.c_str());
      if (v == nullptr)
        return Status::InvalidArgument("environment variable " + source.text + " is not set");
      return NotEmpty(v, source);
    }
    case PasswordSource::Kind::kAsk: {
      if (!source.ask) return Status::Internal("password source kAsk without a function");
      LB_ASSIGN_OR_RETURN(std::string answer, source.ask());
      return NotEmpty(std::move(answer), source);
    }
  }
  return Status::Internal("unknown password source");
}

}  // namespace lifeboat
