// The SFTP backend: a repository in a directory of an SSH server, reached with libssh.
//
//   sftp:[USER@]HOST:/PATH   sftp:[USER@]HOST:RELATIVE/PATH   sftp://[USER@]HOST[:PORT]//PATH
//
// (backend/sftp/sftp_address.h has the grammar.) The layout is the local backend's: PATH/config,
// keys/, data/XX/ (the 256 fan-out directories are made by create), index/, snapshots/, locks/.
// Logins are by public key only: -o sftp.identity=FILE, else the ssh agent (SSH_AUTH_SOCK), the
// IdentityFile entries of the ssh config and ~/.ssh/id_*. The ssh config (~/.ssh/config, or
// -o sftp.config=FILE) applies to HOST: HostName, User, Port, IdentityFile, UserKnownHostsFile,
// ProxyJump. The server's host key must be in known_hosts; an unknown or changed key is
// PermissionDenied with its fingerprint and the command that adds it, never accepted.
//
// Save writes "<dir>/.<name>.tmp-<random>" (List never shows names with a '.'), syncs it through
// the fsync@openssh.com extension when the server has it, and renames it with the plain SFTP
// rename, which refuses an existing target on OpenSSH (hard link + unlink): Save never
// replaces. Then the directory is synced the same way (best effort). Loads keep several read
// requests in flight. Each of `connections` SSH connections serves one call at a time; one that
// breaks fails its call as Unavailable (RetryBackend retries) and is replaced by the next call.
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, OpenSftpBackend(args));
#pragma once

#include <memory>
#include <span>

#include "backend/backend.h"
#include "backend/backend_options.h"

namespace lifeboat {

// The options this backend understands (for CheckKnown, --help and doc/remote-sites.md).
std::span<const BackendOptionSpec> SftpOptionSpecs();

// Opens (args.create: prepares) the repository at args.address (what follows "sftp:"). Validates
// args.options with CheckKnown("sftp", SftpOptionSpecs()) first, then connects once, so that a
// wrong host key, login or path fails here. Open: NoRepository when PATH or PATH/config is
// missing. Create: AlreadyExists when PATH/config exists; makes PATH (with its parents) and the
// layout's directories. Errors of the connection: SftpConnection::Connect.
Result<std::unique_ptr<Backend>> OpenSftpBackend(const BackendOpenArgs& args);

}  // namespace lifeboat
