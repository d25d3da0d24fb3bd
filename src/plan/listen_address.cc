#include "plan/listen_address.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <vector>

namespace lifeboat::plan {

namespace {

bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    start = dot + 1;
  }
  return true;
}

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  ListenAddress out;
  std::string_view port;
  if (text.starts_with("[")) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument(quoted + " opens '[' for an IPv6 address but never closes it");
    out.host = std::string(text.substr(1, close - 1));
    in6_addr a6;
    if (::inet_pton(AF_INET6, out.host.c_str(), &a6) != 1)
      return Status::InvalidArgument(quoted + ": \"" + out.host + "\" is not an IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return Status::InvalidArgument(quoted + " has no port after the address");
    port = text.substr(close + 2);
    out.loopback = IN6_IS_ADDR_LOOPBACK(&a6);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Status::InvalidArgument(quoted + " has no port");
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos)
      return Status::InvalidArgument(quoted +
                                     ": an IPv6 address goes in brackets, e.g. [::1]:8470");
    if (out.host.empty())
      return Status::InvalidArgument(quoted + " has no host (0.0.0.0 means every address)");
    in_addr a4;
    if (::inet_pton(AF_INET, out.host.c_str(), &a4) == 1) {
      out.loopback = (ntohl(a4.s_addr) >> 24) == 127;
    } else if (!IsHostName(out.host)) {
      return Status::InvalidArgument(quoted + ": \"" + out.host +
                                     "\" is neither an IP address nor a host name");
    } else {
      out.loopback = out.host == "localhost";
    }
  }
  int number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size())
    return Status::InvalidArgument(quoted + ": the port \"" + std::string(port) +
                                   "\" is not a number");
  if (number < 1 || number > 65535)
    return Status::InvalidArgument(quoted + ": port " + std::string(port) +
                                   " is out of range 1..65535");
  out.port = number;
  return out;
}

Status CheckListenSecurity(const DaemonSettings& daemon, const ListenAddress& at) {
  if (daemon.tls_cert_file.empty() != daemon.tls_key_file.empty()) {
    return Status::InvalidArgument(
        std::string("daemon.") + (daemon.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file") +
        " is set without daemon." +
        (daemon.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file") +
        ": give both (the certificate and its private key), or neither");
  }
  if (at.loopback) return Status::Ok();
  std::vector<std::string> missing;
  if (daemon.tls_cert_file.empty()) missing.push_back("tls_cert_file");
  if (daemon.tls_key_file.empty()) missing.push_back("tls_key_file");
  if (!daemon.token) missing.push_back("token_file (or token_command, token_env)");
  if (missing.empty()) return Status::Ok();
  std::string list;
  for (size_t i = 0; i < missing.size(); ++i)
    list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + ("daemon." + missing[i]);
  return Status::InvalidArgument(
      "the daemon would listen on " + at.host + ":" + std::to_string(at.port) +
      ", which is not a loopback address: set " + list +
      ", or listen on 127.0.0.1 (other machines could read the plan's state and the operate API)");
}

}  // namespace lifeboat::plan
