// Test support: a tiny HTTP/TCP server on 127.0.0.1 for the daemon's health-check tests. It
// accepts connections on an ephemeral port and answers each with "HTTP/1.0 200 OK" and the body
// "ok" (a tcp check just connects). Stopped and joined by its destructor.
//
//   TestListener server;            // server.port() is the port
//   ... checks against 127.0.0.1:server.port() pass ...
//   server.Close();                 // from now on connections are refused
//
// Thread safety: port(), Close() and served() from any thread; one thread accepts.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

namespace lifeboat::daemon {

class TestListener {
 public:
  TestListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd_, 16) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestListener() { Close(); }
  TestListener(const TestListener&) = delete;
  TestListener& operator=(const TestListener&) = delete;

  int port() const { return port_; }
  bool ok() const { return port_ != 0; }
  uint64_t served() const { return served_.load(); }
  // Stops accepting and closes the socket: connections are refused afterwards.
  void Close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      // Read what the client sent (an HTTP request, or nothing for a tcp check), then answer.
      char buf[2048];
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 200) > 0) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        (void)n;
      }
      static const char kAnswer[] =
          "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
      ssize_t w = ::send(c, kAnswer, sizeof(kAnswer) - 1, MSG_NOSIGNAL);
      (void)w;
      ::close(c);
      ++served_;
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> served_{0};
  std::thread thread_;
};

}  // namespace lifeboat::daemon
