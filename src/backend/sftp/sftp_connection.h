// SftpConnection: one SSH connection to an SFTP server with one SFTP session on it (libssh), as
// the SFTP backend pools them. Connect() does everything that can refuse us before any file is
// touched: reads the ssh config, checks the server's host key against known_hosts (an unknown or
// changed key is PermissionDenied, never accepted silently), logs in by public key, and starts
// SFTP.
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<SftpConnection> c, SftpConnection::Connect(settings));
//   sftp_attributes a = sftp_stat(c->sftp(), "/srv/repo/config");
//   if (a == nullptr) return c->Error("stat /srv/repo/config");
//
// Thread safety: none. libssh sessions are not thread-safe: one thread uses a connection at a
// time (the backend's pool hands each to one call). Blocking: every call may block on the network.
#pragma once

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "backend/sftp/sftp_address.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

// What every connection of one backend is made from.
struct SftpConnectSettings {
  SftpAddress address;
  std::string identity;     // private key file; "" = ssh agent + IdentityFile (config) + ~/.ssh/id_*
  std::string known_hosts;  // "" = UserKnownHostsFile of the config, else ~/.ssh/known_hosts
  std::string config;       // ssh config file; "" = ~/.ssh/config and /etc/ssh/ssh_config
  // Connecting waits no longer than its deadline (and never longer than connect_timeout).
  Context context;
  std::chrono::seconds connect_timeout{30};
  // A request whose answer takes longer fails as Unavailable and drops the connection.
  std::chrono::seconds io_timeout{120};
};

class SftpConnection {
 public:
  // Connects, verifies the host key, authenticates and starts SFTP. Errors:
  //  - PermissionDenied: host key unknown or changed (the message gives the fingerprint and
  //    what to run), every public key refused (naming the user and the identity tried);
  //  - InvalidArgument: the identity file cannot be read, the ssh config cannot be parsed;
  //  - Unavailable: the server cannot be reached, the connection broke, the handshake timed out;
  //  - Cancelled / DeadlineExceeded from settings.context.
  static Result<std::unique_ptr<SftpConnection>> Connect(const SftpConnectSettings& settings);

  SftpConnection(const SftpConnection&) = delete;
  SftpConnection& operator=(const SftpConnection&) = delete;
  ~SftpConnection();

  sftp_session sftp() const { return sftp_; }
  // The server offers fsync@openssh.com (OpenSSH does): Save syncs files through it.
  bool has_fsync() const { return has_fsync_; }
  // "user@host:port", for messages.
  const std::string& peer() const { return peer_; }

  // Forgets the SFTP status of an earlier call, so that Error() describes the next one only.
  void ClearError();
  // The Status for the SFTP call that just failed on this connection, as "<what>: <reason>".
  // A failure of the connection itself (lost, timed out, garbled) is Unavailable and marks the
  // connection broken; the server's answers map to NotFound (no such file), PermissionDenied,
  // IOError (SSH_FX_FAILURE: the server cannot say more, e.g. its disk is full) and
  // FailedPrecondition (unsupported operation).
  Status Error(std::string_view what);
  // True once the connection failed as a whole: its owner drops it and connects anew.
  bool broken() const;
  // Marks the connection broken although it may still work: it is left with requests whose
  // answers nobody will read (an interrupted pipelined read), so it must not be reused.
  void Discard() { broken_ = true; }

 private:
  SftpConnection() = default;

  ssh_session ssh_ = nullptr;
  sftp_session sftp_ = nullptr;
  bool has_fsync_ = false;
  bool broken_ = false;
  std::string peer_;
};

}  // namespace lifeboat
