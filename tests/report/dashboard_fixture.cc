// Serves the dashboard (src/dashboard) with the fixed sample state (dashboard/sample_state.h) on
// a free loopback port, for tests/report/dashboard_page_test.sh: prints "PORT N" on its own
// line once it serves, then serves until SIGTERM or SIGINT.
//
//   dashboard_fixture [--hostile] [--read-token TOKEN]
//
// --hostile puts <script> tags into free texts (errors), which the page must show as text.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "dashboard/sample_state.h"
#include "dashboard/server.h"

int main(int argc, char** argv) {
  using namespace lifeboat::dashboard;
  bool hostile = false;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hostile") == 0) {
      hostile = true;
    } else if (std::strcmp(argv[i], "--read-token") == 0 && i + 1 < argc) {
      o.tokens.read = argv[++i];
    } else {
      std::cerr << "usage: dashboard_fixture [--hostile] [--read-token TOKEN]\n";
      return 2;
    }
  }
  o.state = [hostile] { return SampleDashboardState(hostile); };
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  // The signals are waited for below; block them in every thread (the server's inherit it).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Server server(std::move(o));
  if (lifeboat::Status s = server.Start(); !s.ok()) {
    std::cerr << "dashboard_fixture: " << s.ToString() << "\n";
    return 1;
  }
  std::cout << "PORT " << server.port() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  server.Stop();
  return 0;
}
