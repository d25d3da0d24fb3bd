// The router's state on disk (doc/notifications.md, "The state file"): JSON, version 1, written
// by temp file + fsync + rename, read back leniently: a missing file is an empty state, a damaged
// one is rebuilt empty with a warning (never a crash, never a refusal to notify).
//
//   LB_ASSIGN_OR_RETURN(NotifyStateFile file, NotifyStateFile::Lock(path, context));
//   NotifyStateFile::Loaded loaded = file.Load();         // .state, .warnings
//   ... Router::Process / Deliver / Router::Record on loaded.state ...
//   LB_RETURN_IF_ERROR(file.Save(loaded.state));
//   // the lock (flock on <path>.lock) is released when `file` is destroyed
//
// A NotifyStateFile is used by one thread; the lock serialises processes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/router.h"
#include "util/context.h"
#include "util/file_io.h"
#include "util/status.h"

namespace lifeboat::notify {

inline constexpr int kNotifyStateVersion = 1;

nlohmann::json NotifyStateToJson(const NotifyState& state);
// InvalidArgument saying what is wrong (for the warning) when `j` is not a version-1 state.
Result<NotifyState> NotifyStateFromJson(const nlohmann::json& j);

class NotifyStateFile {
 public:
  // Takes an exclusive flock on "<path>.lock" (created, with missing parent directories),
  // waiting while another process holds it: polled on the context's clock, so the context's
  // cancel and deadline end the wait (Cancelled / DeadlineExceeded). IOError when the lock file
  // cannot be created.
  static Result<NotifyStateFile> Lock(const std::string& path, const Context& context);

  struct Loaded {
    NotifyState state;
    std::vector<std::string> warnings;  // a damaged file, rebuilt
  };
  // Reads the state. Never fails: a missing file gives an empty state; an unreadable or damaged
  // one an empty state and a warning naming the file and the damage.
  Loaded Load() const;
  // Writes the state durably (WriteFileDurably).
  Status Save(const NotifyState& state) const;

  const std::string& path() const { return path_; }

 private:
  NotifyStateFile(std::string path, FileDescriptor lock) : path_(std::move(path)), lock_(std::move(lock)) {}
  std::string path_;
  FileDescriptor lock_;  // flocked; closing it releases the lock
};

}  // namespace lifeboat::notify
