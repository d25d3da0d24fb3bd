// Tests only: a TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, its
// number read, the socket closed). A test that starts a server on it may lose a race with
// another process taking it meanwhile; one that needs a port where connections are refused
// (a site lost in a disaster) uses it as it is.
//
//   const int port = lifeboat::testing::FreeLoopbackPort();
//
// Any thread; no state.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lifeboat::testing {

inline int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace lifeboat::testing
