#include "backend/sftp/sftp_address.h"

namespace lifeboat {
namespace {

Status BadAddress(std::string_view address, std::string_view what) {
  return Status::InvalidArgument(
      "sftp:" + std::string(address) + ": " + std::string(what) +
      " (expected sftp:[USER@]HOST:/ABSOLUTE/PATH, sftp:[USER@]HOST:RELATIVE/PATH or "
      "sftp://[USER@]HOST[:PORT]//ABSOLUTE/PATH)");
}

// Splits "[USER@]HOST" (HOST may be "[v6]") into user and host.
Status SplitUserHost(std::string_view address, std::string_view user_host, SftpAddress* out) {
  const size_t at = user_host.rfind('@');
  if (at != std::string_view::npos) {
    out->user = std::string(user_host.substr(0, at));
    if (out->user.empty()) return BadAddress(address, "empty user name before '@'");
    user_host.remove_prefix(at + 1);
  }
  if (user_host.size() >= 2 && user_host.front() == '[' && user_host.back() == ']') {
    user_host = user_host.substr(1, user_host.size() - 2);
  }
  if (user_host.empty()) return BadAddress(address, "no host");
  if (user_host.find_first_of("[]/") != std::string_view::npos) {
    return BadAddress(address, "malformed host \"" + std::string(user_host) + "\"");
  }
  out->host = std::string(user_host);
  return Status::Ok();
}

Status SetPath(std::string_view address, std::string_view path, SftpAddress* out) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return BadAddress(address, "no repository path");
  out->path = std::string(path);
  return Status::Ok();
}

}  // namespace

Result<SftpAddress> ParseSftpAddress(std::string_view address) {
  if (address.find('\0') != std::string_view::npos) return BadAddress("...", "NUL byte");
  SftpAddress out;
  if (address.starts_with("//")) {
    // URL form: //[USER@]HOST[:PORT]/PATH, where PATH keeps its own leading '/' when absolute.
    std::string_view rest = address.substr(2);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return BadAddress(address, "no repository path");
    std::string_view authority = rest.substr(0, slash);
    const size_t at = authority.rfind('@');
    const size_t host_start = at == std::string_view::npos ? 0 : at + 1;
    size_t colon = std::string_view::npos;
    if (authority.substr(host_start).starts_with('[')) {
      const size_t close = authority.find(']', host_start);
      if (close == std::string_view::npos) return BadAddress(address, "unclosed '[' in host");
      if (close + 1 < authority.size()) {
        if (authority[close + 1] != ':') return BadAddress(address, "junk after ']'");
        colon = close + 1;
      }
    } else {
      colon = authority.find(':', host_start);
    }
    if (colon != std::string_view::npos) {
      std::string_view port = authority.substr(colon + 1);
      if (port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string_view::npos ||
          std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
        return BadAddress(address, "port must be a number from 1 to 65535");
      }
      out.port = std::stoi(std::string(port));
      authority = authority.substr(0, colon);
    }
    LB_RETURN_IF_ERROR(SplitUserHost(address, authority, &out));
    LB_RETURN_IF_ERROR(SetPath(address, rest.substr(slash + 1), &out));
    return out;
  }
  // scp form: [USER@]HOST:PATH.
  const size_t at = address.find('@');
  const size_t host_start = at == std::string_view::npos ? 0 : at + 1;
  size_t colon;
  if (address.substr(host_start).starts_with('[')) {
    const size_t close = address.find(']', host_start);
    if (close == std::string_view::npos) return BadAddress(address, "unclosed '[' in host");
    colon = close + 1;
    if (colon >= address.size() || address[colon] != ':') {
      return BadAddress(address, "no ':' between host and path");
    }
  } else {
    colon = address.find(':', host_start);
    if (colon == std::string_view::npos) {
      return BadAddress(address, "no ':' between host and path");
    }
  }
  LB_RETURN_IF_ERROR(SplitUserHost(address, address.substr(0, colon), &out));
  LB_RETURN_IF_ERROR(SetPath(address, address.substr(colon + 1), &out));
  return out;
}

}  // namespace lifeboat
