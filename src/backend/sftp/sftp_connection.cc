#include "backend/sftp/sftp_connection.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace lifeboat {
namespace {

// Owns a string libssh allocated.
struct SshStringDeleter {
  void operator()(char* s) const { ssh_string_free_char(s); }
};
using SshString = std::unique_ptr<char, SshStringDeleter>;

struct SshKeyDeleter {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using SshKey = std::unique_ptr<std::remove_pointer_t<ssh_key>, SshKeyDeleter>;

// "ssh-ed25519 SHA256:abc...", or "(unreadable key)".
std::string Fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t hash_len = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len) != SSH_OK) {
    return "(unreadable key)";
  }
  SshString printable(ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len));
  ssh_clean_pubkey_hash(&hash);
  const char* type = ssh_key_type_to_char(ssh_key_type(key));
  return std::string(type != nullptr ? type : "key") + " " +
         (printable ? std::string(printable.get()) : std::string("SHA256:?"));
}

// How known_hosts names host:port ("host" for port 22, else "[host]:port").
std::string KnownHostsName(const std::string& host, unsigned port) {
  if (port == 22) return host;
  return "[" + host + "]:" + std::to_string(port);
}

// The fingerprints of the keys `file` lists for `name` in plain (unhashed) lines, for the
// changed-key warning. Hashed lines ("|1|...") are skipped: the warning then says less.
std::vector<std::string> ListedFingerprints(const std::string& file, const std::string& name) {
  std::vector<std::string> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string hosts, type, base64;
    if (!(fields >> hosts >> type >> base64) || hosts.starts_with('#')) continue;
    if (hosts.starts_with('@')) {  // @cert-authority / @revoked markers
      continue;
    }
    bool match = false;
    std::istringstream names(hosts);
    std::string n;
    while (std::getline(names, n, ',')) match = match || n == name;
    if (!match) continue;
    ssh_key key = nullptr;
    if (ssh_pki_import_pubkey_base64(base64.c_str(), ssh_key_type_from_name(type.c_str()), &key) !=
        SSH_OK) {
      continue;
    }
    SshKey owned(key);
    out.push_back(Fingerprint(key));
  }
  return out;
}

std::string OptionString(ssh_session s, ssh_options_e option) {
  char* value = nullptr;
  if (ssh_options_get(s, option, &value) != SSH_OK || value == nullptr) return "";
  SshString owned(value);
  return std::string(value);
}

Status VerifyHostKey(ssh_session s, const std::string& host, unsigned port) {
  ssh_key server_key = nullptr;
  if (ssh_get_server_publickey(s, &server_key) != SSH_OK) {
    return Status::Unavailable("reading the host key of " + host + ": " + ssh_get_error(s));
  }
  SshKey owned(server_key);
  const std::string fingerprint = Fingerprint(server_key);
  std::string known_hosts = OptionString(s, SSH_OPTIONS_KNOWNHOSTS);
  if (known_hosts.empty()) known_hosts = "~/.ssh/known_hosts";
  const std::string name = KnownHostsName(host, port);
  const std::string keyscan = "ssh-keyscan " + (port == 22 ? "" : "-p " + std::to_string(port) + " ") +
                              host + " >> " + known_hosts;
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      return Status::Ok();
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
      return Status::PermissionDenied(
          "the host key of " + name + " is not known (" + known_hosts + " does not list it); " +
          "verify that its fingerprint " + fingerprint + " is the server's (ask its administrator " +
          "or run `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on it) and add it with: " + keyscan);
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
      std::string listed;
      for (const std::string& f : ListedFingerprints(known_hosts, name)) {
        listed += (listed.empty() ? "" : ", ") + f;
      }
      if (listed.empty()) listed = "another key";
      return Status::PermissionDenied(
          "WARNING: THE HOST KEY OF " + name + " HAS CHANGED: " + known_hosts + " lists " + listed +
          " but the server now presents " + fingerprint +
          ". Someone may be intercepting the connection (man-in-the-middle), or the server was "
          "reinstalled; nothing was read or written. If the new key is genuine (check its "
          "fingerprint with the server's administrator), remove the old one with `ssh-keygen -R '" +
          name + "' -f " + known_hosts + "` and add the new one with: " + keyscan);
    }
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  return Status::PermissionDenied("cannot check the host key of " + name + " against " +
                                  known_hosts + ": " + ssh_get_error(s));
}

Status Authenticate(ssh_session s, const SftpConnectSettings& settings, const std::string& who) {
  int rc;
  std::string tried;
  if (!settings.identity.empty()) {
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_file(settings.identity.c_str(), nullptr, nullptr, nullptr, &key) !=
        SSH_OK) {
      return Status::InvalidArgument(
          "cannot read the private key " + settings.identity +
          " (sftp.identity): it is missing, unreadable or protected by a passphrase (load such a "
          "key into ssh-agent and leave sftp.identity unset)");
    }
    SshKey owned(key);
    rc = ssh_userauth_publickey(s, nullptr, key);
    tried = "the key " + settings.identity + " (sftp.identity)";
  } else {
    rc = ssh_userauth_publickey_auto(s, nullptr, nullptr);
    tried =
        "the ssh agent's keys (SSH_AUTH_SOCK), the IdentityFile entries of the ssh config and "
        "~/.ssh/id_*";
  }
  switch (rc) {
    case SSH_AUTH_SUCCESS:
      return Status::Ok();
    case SSH_AUTH_DENIED:
    case SSH_AUTH_PARTIAL:
      return Status::PermissionDenied(
          "the server refused the login of " + who + " with " + tried +
          "; add the public key to that user's ~/.ssh/authorized_keys on the server, or name "
          "another key with -o sftp.identity=FILE");
    default:
      return Status::Unavailable("logging in as " + who + ": " + ssh_get_error(s));
  }
}

void SetTimeout(ssh_session s, std::chrono::microseconds t) {
  long seconds = static_cast<long>(t.count() / 1000000);
  long usec = static_cast<long>(t.count() % 1000000);
  if (seconds == 0 && usec == 0) usec = 1;
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &seconds);
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

}  // namespace

Result<std::unique_ptr<SftpConnection>> SftpConnection::Connect(
    const SftpConnectSettings& settings) {
  const SftpAddress& a = settings.address;
  const std::string target = "sftp:" + (a.user.empty() ? "" : a.user + "@") + a.host;
  LB_RETURN_IF_ERROR(settings.context.Check("connecting to " + target));
  std::chrono::microseconds timeout = settings.connect_timeout;
  if (settings.context.has_deadline()) {
    const int64_t left_ns = settings.context.deadline_ns() - settings.context.clock().MonotonicNs();
    timeout = std::min(timeout, std::chrono::microseconds(std::max<int64_t>(left_ns / 1000, 1)));
  }
  if (!settings.config.empty() && ::access(settings.config.c_str(), R_OK) != 0) {
    return Status::InvalidArgument("cannot read the ssh config file " + settings.config +
                                   " (sftp.config)");
  }

  std::unique_ptr<SftpConnection> c(new SftpConnection());
  c->ssh_ = ssh_new();
  if (c->ssh_ == nullptr) return Status::Internal("ssh_new failed");
  ssh_session s = c->ssh_;
  const int verbosity = SSH_LOG_NOLOG;
  ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  // Requests are small and answered one by one: Nagle's algorithm would hold each back.
  const int nodelay = 1;
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &nodelay);
  if (ssh_options_set(s, SSH_OPTIONS_HOST, a.host.c_str()) != SSH_OK) {
    return Status::InvalidArgument(target + ": bad host: " + ssh_get_error(s));
  }
  if (!a.user.empty()) ssh_options_set(s, SSH_OPTIONS_USER, a.user.c_str());
  if (a.port != 0) ssh_options_set(s, SSH_OPTIONS_PORT, &a.port);
  // The config's Host blocks match the host as given (an alias); they set HostName, User, Port,
  // IdentityFile, UserKnownHostsFile, ProxyJump. What the location says explicitly wins.
  if (ssh_options_parse_config(s, settings.config.empty() ? nullptr : settings.config.c_str()) !=
      SSH_OK) {
    return Status::InvalidArgument(
        "reading the ssh config " +
        (settings.config.empty() ? std::string("~/.ssh/config") : settings.config) + ": " +
        ssh_get_error(s));
  }
  if (!a.user.empty()) ssh_options_set(s, SSH_OPTIONS_USER, a.user.c_str());
  if (a.port != 0) ssh_options_set(s, SSH_OPTIONS_PORT, &a.port);
  if (!settings.known_hosts.empty()) {
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, settings.known_hosts.c_str());
  }
  SetTimeout(s, timeout);

  if (ssh_connect(s) != SSH_OK) {
    LB_RETURN_IF_ERROR(settings.context.Check("connecting to " + target));
    return Status::Unavailable("connecting to " + target + ": " + ssh_get_error(s));
  }
  const std::string host = OptionString(s, SSH_OPTIONS_HOST);
  unsigned port = 22;
  ssh_options_get_port(s, &port);
  const std::string user = OptionString(s, SSH_OPTIONS_USER);
  c->peer_ = user + "@" + host + ":" + std::to_string(port);

  LB_RETURN_IF_ERROR(VerifyHostKey(s, host, port));
  LB_RETURN_IF_ERROR(Authenticate(s, settings, user + "@" + host + ":" + std::to_string(port)));

  c->sftp_ = sftp_new(s);
  if (c->sftp_ == nullptr) {
    return Status::Unavailable("opening an SFTP channel to " + c->peer_ + ": " + ssh_get_error(s));
  }
  if (sftp_init(c->sftp_) != SSH_OK) {
    return Status::Unavailable("starting SFTP on " + c->peer_ + " (is the sftp subsystem enabled "
                               "in the server's sshd_config?): " + ssh_get_error(s));
  }
  c->has_fsync_ = sftp_extension_supported(c->sftp_, "fsync@openssh.com", "1") == 1;
  SetTimeout(s, settings.io_timeout);
  return c;
}

SftpConnection::~SftpConnection() {
  if (sftp_ != nullptr) sftp_free(sftp_);
  if (ssh_ != nullptr) {
    if (ssh_is_connected(ssh_)) ssh_disconnect(ssh_);
    ssh_free(ssh_);
  }
}

void SftpConnection::ClearError() {
  if (sftp_ != nullptr) sftp_->errnum = SSH_FX_OK;
}

bool SftpConnection::broken() const {
  if (broken_) return true;
  if (ssh_ == nullptr || sftp_ == nullptr || !ssh_is_connected(ssh_)) return true;
  return sftp_->channel == nullptr || !ssh_channel_is_open(sftp_->channel) ||
         ssh_channel_is_eof(sftp_->channel);
}

Status SftpConnection::Error(std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  const int code = sftp_ != nullptr ? sftp_get_error(sftp_) : SSH_FX_OK;
  if (broken() || code == SSH_FX_OK || code == SSH_FX_BAD_MESSAGE ||
      code == SSH_FX_NO_CONNECTION || code == SSH_FX_CONNECTION_LOST) {
    // Not an answer of the server to this request: the connection (or libssh's view of it) is
    // lost or out of step. It is dropped; a new one may well work.
    broken_ = true;
    const char* reason = ssh_ != nullptr ? ssh_get_error(ssh_) : "";
    return Status::Unavailable(prefix + "the connection to " + peer_ + " failed" +
                               (reason != nullptr && *reason != '\0'
                                    ? std::string(" (") + reason + ")"
                                    : std::string(" (channel closed or timed out)")));
  }
  switch (code) {
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
      return Status::NotFound(prefix + "no such file on " + peer_);
    case SSH_FX_PERMISSION_DENIED:
    case SSH_FX_WRITE_PROTECT:
      return Status::PermissionDenied(prefix + "the server denied permission (" + peer_ + ")");
    case SSH_FX_FILE_ALREADY_EXISTS:
      return Status::AlreadyExists(prefix + "already exists on " + peer_);
    case SSH_FX_OP_UNSUPPORTED:
      return Status::FailedPrecondition(prefix + "the server does not support this operation");
    case SSH_FX_EOF:
      return Status::Corruption(prefix + "unexpected end of file");
    default:
      return Status::IOError(prefix + "the server reported a failure (SFTP status " +
                             std::to_string(code) + ")");
  }
}

}  // namespace lifeboat
