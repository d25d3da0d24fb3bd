#include "util/thread_start.h"

#include <new>
#include <string>
#include <system_error>

namespace lifeboat {

size_t StartThreads(std::vector<std::thread>* threads, size_t n,
                    const std::function<void()>& body) {
  size_t started = 0;
  for (; started < n; ++started) {
    try {
      threads->emplace_back(body);
    } catch (const std::system_error&) {
      break;  // the system starts no more threads (a process or memory limit): use fewer
    } catch (const std::bad_alloc&) {
      break;
    }
  }
  return started;
}

Status StatusFromCurrentException(std::string_view where) noexcept {
  StatusCode code = StatusCode::kInternal;
  const char* what = nullptr;
  bool out_of_memory = false;
  try {
    throw;  // the exception being handled: no copy, no allocation
  } catch (const std::bad_alloc&) {
    code = StatusCode::kUnavailable;
    out_of_memory = true;
  } catch (const std::system_error& e) {
    code = StatusCode::kUnavailable;
    what = e.what();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  try {
    std::string at(where);
    if (out_of_memory)
      return Status(code, "out of memory in " + at +
                              " (a memory limit such as ulimit -v is too low; raise it, or use "
                              "fewer workers)");
    if (code == StatusCode::kUnavailable)
      return Status(code, at + ": " + what + " (a process or memory limit is too low; raise it)");
    return Status(code, at + ": unexpected exception" + (what ? std::string(": ") + what : ""));
  } catch (...) {
    return Status(StatusCode::kUnavailable, "out of memory");  // fits the string's own buffer
  }
}

}  // namespace lifeboat
