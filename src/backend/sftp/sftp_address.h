// SftpAddress: where an `sftp:` repository lives, parsed from the location as restic spells it.
//
//   sftp:[USER@]HOST:/PATH                        absolute PATH
//   sftp:[USER@]HOST:PATH                         PATH relative to the user's home directory
//   sftp://[USER@]HOST[:PORT]//ABSOLUTE/PATH      one '/' after the authority starts the path,
//   sftp://[USER@]HOST[:PORT]/RELATIVE/PATH       so two mean an absolute path
//
// HOST may be an alias of ~/.ssh/config (its HostName, User, Port, IdentityFile apply) and an
// IPv6 address in brackets ("[::1]"). There are no passwords: logins are by public key.
//
//   LB_ASSIGN_OR_RETURN(SftpAddress a, ParseSftpAddress("//backup@nas:2222//srv/repo"));
//   // a.user == "backup", a.host == "nas", a.port == 2222, a.path == "/srv/repo"
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace lifeboat {

struct SftpAddress {
  std::string user;  // "" = from the ssh config, else the local user name
  std::string host;  // a host name, address or ssh config alias, without brackets
  int port = 0;      // 0 = from the ssh config, else 22
  std::string path;  // as given: starts with '/' when absolute; never empty; no trailing '/'

  bool operator==(const SftpAddress&) const = default;
};

// Parses what follows "sftp:" in a location. InvalidArgument naming the address and the accepted
// forms when it has no host, no path, a bad port or a NUL byte.
Result<SftpAddress> ParseSftpAddress(std::string_view address);

}  // namespace lifeboat
