// The login of a failover's PostgreSQL cluster, from the pgpass file the session wrote.
#include "recover/failover_cluster.h"

#include <arpa/inet.h>

#include <sstream>
#include <vector>

#include "util/file_io.h"

namespace lifeboat::recover {

namespace {

// The fields of one pgpass line (host:port:database:user:password, ':' and '\' escaped).
std::vector<std::string> PgPassFields(const std::string& line) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      out.back() += line[++i];
    } else if (line[i] == ':') {
      out.emplace_back();
    } else {
      out.back() += line[i];
    }
  }
  return out;
}

}  // namespace

std::string FailoverClusterHost(const plan::PostgresSource& source) {
  unsigned char buf[16];
  if (::inet_pton(AF_INET, source.host.c_str(), buf) == 1 ||
      ::inet_pton(AF_INET6, source.host.c_str(), buf) == 1) {
    return source.host;
  }
  return "127.0.0.1";
}

Result<FailoverClusterLogin> FailoverClusterLoginOf(const std::string& recovery_root,
                                                    const plan::PostgresSource& source) {
  const std::string root = recovery_root == "/" ? "" : recovery_root;
  const std::string path = root + "/var/lib/lifeboat/pgpass";
  FailoverClusterLogin login;
  login.host = FailoverClusterHost(source);
  login.port = source.port;
  Result<Bytes> data = ReadWholeFile(path);
  if (!data.ok()) {
    return Status::NotFound("no PostgreSQL cluster of a failover below " + recovery_root + " (" +
                            data.status().message() + ")");
  }
  std::istringstream lines(std::string(data->begin(), data->end()));
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f = PgPassFields(line);
    if (f.size() != 5 || f[0] != login.host || f[1] != std::to_string(login.port)) continue;
    login.user = f[3];
    login.password = f[4];
  }
  if (login.user.empty()) {
    return Status::NotFound(path + " has no login for a cluster on " + login.host + ":" +
                            std::to_string(login.port) +
                            ": no failover made one there (is the service recovered at this "
                            "site?)");
  }
  return login;
}

}  // namespace lifeboat::recover
