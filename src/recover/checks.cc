#include "recover/checks.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "notify/transport.h"
#include "recover/child_process.h"
#include "recover/scratch_postgres.h"

namespace lifeboat::recover {

namespace {

// Milliseconds left before the context's deadline (at least 1), or `otherwise` without one.
int64_t LeftMs(const Context& ctx, int64_t otherwise) {
  if (!ctx.has_deadline()) return otherwise;
  return std::max<int64_t>(1, (ctx.deadline_ns() - ctx.clock().MonotonicNs()) / 1'000'000);
}

// One connection attempt to every address of host:port; Ok on the first that connects.
Status ConnectOnce(const std::string& host, int port, int64_t timeout_ms) {
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    return Status::Unavailable("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  Status last = Status::Unavailable("no address for " + host);
  for (struct addrinfo* a = list; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = PosixError("socket");
      continue;
    }
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout_ms, 1000)));
        if (ready > 0) {
          socklen_t len = sizeof err;
          if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        } else {
          err = ready == 0 ? ETIMEDOUT : errno;
        }
      }
    }
    ::close(fd);
    if (err == 0) {
      ::freeaddrinfo(list);
      return Status::Ok();
    }
    last = Status::Unavailable("connecting to " + host + ":" + service + ": " + std::strerror(err));
  }
  ::freeaddrinfo(list);
  return last;
}

}  // namespace

Status WaitForTcp(const std::string& host, int port, const Context& ctx,
                  const std::function<bool()>& alive) {
  if (port <= 0 || port > 65535) {
    return Status::InvalidArgument("no port to connect to (" + std::to_string(port) + ")");
  }
  for (;;) {
    Status st = ConnectOnce(host, port, LeftMs(ctx, 1000));
    if (st.ok()) return st;
    if (alive && !alive()) return Status::FailedPrecondition("the process exited");
    Status wait = ctx.SleepFor(std::chrono::milliseconds(50),
                               "waiting for " + host + ":" + std::to_string(port));
    if (!wait.ok()) {
      if (wait.code() == StatusCode::kDeadlineExceeded) {
        return Status::DeadlineExceeded(st.message());
      }
      return wait;
    }
  }
}

HttpCheckResult CheckHttp(const std::string& url, int expect_status,
                          const std::optional<std::string>& expect_body, const Context& ctx) {
  HttpCheckResult r;
  notify::HttpRequest request;
  request.method = "GET";
  request.url = url;
  for (;;) {
    notify::TransportOptions o;
    o.timeout = std::chrono::milliseconds(std::min<int64_t>(LeftMs(ctx, 10'000), 10'000));
    o.connect_timeout = o.timeout;
    o.cancel = ctx.cancel_flag();
    Result<notify::HttpReply> reply = notify::SendHttp(request, o);
    if (reply.ok()) {
      r.answer = "HTTP " + std::to_string(reply->status) + "\n" + TrimOutput(reply->body, 2048);
      if (reply->status != expect_status) {
        r.status = Status::FailedPrecondition("answered " + std::to_string(reply->status) +
                                              ", expected " + std::to_string(expect_status));
      } else if (expect_body && reply->body.find(*expect_body) == std::string::npos) {
        r.status =
            Status::FailedPrecondition("the answer does not contain \"" + *expect_body + "\"");
      } else {
        r.status = Status::Ok();
        return r;
      }
    } else {
      r.answer = reply.status().message();
      r.status = reply.status();
    }
    Status wait = ctx.SleepFor(std::chrono::milliseconds(100), "http check");
    if (!wait.ok()) {
      if (wait.code() == StatusCode::kCancelled)
        r.status = wait;
      else
        r.status = Status::DeadlineExceeded("within the check's timeout: " + r.status.message());
      return r;
    }
  }
}

SqlCheckResult CheckSql(const SqlTarget& t, const std::string& query,
                        const std::optional<std::string>& expect, const Context& ctx) {
  SqlCheckResult r;
  const int64_t left_ms = LeftMs(ctx, 60'000);
  const std::string conninfo =
      "host=" + QuoteConninfo(t.host) + " port=" + std::to_string(t.port) +
      " user=" + QuoteConninfo(t.user) + " password=" + QuoteConninfo(t.password) +
      " dbname=" + QuoteConninfo(t.database) +
      " connect_timeout=" + std::to_string(std::max<int64_t>(2, (left_ms + 999) / 1000)) +
      " options=" + QuoteConninfo("-c statement_timeout=" + std::to_string(left_ms));
  PGconn* conn = PQconnectdb(conninfo.c_str());
  const std::string where =
      "database " + t.database + " on " + t.host + ":" + std::to_string(t.port);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(conn);
    r.status = Status::Unavailable("cannot connect to " + where + ": " + msg);
    return r;
  }
  PGresult* res = PQexec(conn, query.c_str());
  const ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_TUPLES_OK) {
    if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
      r.value = PQgetvalue(res, 0, 0);
    }
    if (expect && r.value != *expect) {
      r.status = Status::FailedPrecondition("the query answered \"" + r.value + "\"" +
                                            (PQntuples(res) == 0 ? " (no row)" : "") +
                                            ", expected \"" + *expect + "\"");
    }
  } else if (st == PGRES_COMMAND_OK) {
    if (expect) {
      r.status =
          Status::FailedPrecondition("the query returned no rows, expected \"" + *expect + "\"");
    }
  } else {
    std::string msg = PQresultErrorMessage(res);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    r.status = Status::FailedPrecondition("the query failed on " + where + ": " + msg);
  }
  PQclear(res);
  PQfinish(conn);
  return r;
}

}  // namespace lifeboat::recover
