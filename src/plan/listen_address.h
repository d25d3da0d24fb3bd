// The daemon's listen address (doc/daemon.md, "Dashboard and API"): `daemon.listen` or
// `--listen`, HOST:PORT with an IPv4 address, a bracketed IPv6 address or a host name, and the
// rule that an address other than loopback needs TLS and a read token.
//
//   LB_ASSIGN_OR_RETURN(ListenAddress at, ParseListenAddress("[::1]:8470"));  // loopback
//   LB_RETURN_IF_ERROR(CheckListenSecurity(plan.daemon, at));
//
// Pure functions (no name is resolved); any thread.
#pragma once

#include <string>
#include <string_view>

#include "plan/plan.h"
#include "util/status.h"

namespace lifeboat::plan {

struct ListenAddress {
  std::string host;  // as written, without the brackets of an IPv6 address
  int port = 0;      // 1..65535
  // 127.0.0.0/8, ::1 or "localhost": only this machine can connect.
  bool loopback = false;
};

// InvalidArgument saying what is wrong ("no port", "port 0 is out of range 1..65535", "not an
// IP address or host name") for anything but HOST:PORT.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// InvalidArgument when the daemon would serve `at` off loopback without tls_cert_file,
// tls_key_file and token (the message names the missing ones and says how to set them), or
// when only one of tls_cert_file and tls_key_file is set. OK otherwise.
Status CheckListenSecurity(const DaemonSettings& daemon, const ListenAddress& at);

}  // namespace lifeboat::plan
