// RestBackend: a repository on a server that speaks restic's REST protocol, version 2
// (restic's rest-server, `rclone serve restic`), over HttpClient.
//
//   rest:http://HOST:PORT/PATH             rest:https://USER:PASS@HOST:PORT/PATH
//
// Layout (the protocol's, like restic's): PATH/config, PATH/keys/<name>, PATH/data/<name>
// (packs; the server fans them out into data/xx/ itself), PATH/index/<name>,
// PATH/snapshots/<name>, PATH/locks/<name>. Credentials: the URL's USER:PASS (percent-encoded),
// else LIFEBOAT_REST_USERNAME / LIFEBOAT_REST_PASSWORD; sent as HTTP basic authentication, so
// use https for anything but loopback.
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, OpenRestBackend(args));
//   LB_ASSIGN_OR_RETURN(Bytes config, be->Load({ObjectType::kConfig, ""}, 0, 0));
//
// How the protocol meets the Backend contract:
//  - Save never replaces: it asks (HEAD) before it sends (POST), since `rclone serve restic`
//    overwrites an existing object unless it runs with --append-only; a server's 403 for an
//    existing object (rest-server always, rclone --append-only) is AlreadyExists too. Saves of
//    one name from this process run one at a time, so exactly one of them stores it. Two
//    processes saving the same new name at the same instant may still both write (the protocol
//    has no conditional POST); names are content hashes or random, so in use that is the same
//    bytes twice.
//  - Atomic saves are the server's: rest-server writes a temporary file and renames it; rclone
//    writes through its remote (removing a partial upload on error). List skips any name holding
//    '.' (rest-server's "<name>.rest-server-temp*", rclone's "*.partial").
//  - Load of a range past the end is Corruption naming the object (servers answer 206 with
//    fewer bytes, or 416).
//  - An append-only server (--append-only) refuses DELETE of everything but locks: Remove is
//    PermissionDenied and says so.
// Errors: connection failures, timeouts and 5xx are Unavailable (RetryBackend retries them); 401
// is PermissionDenied naming where the credentials come from; messages and Location() never
// hold the password.
//
// Thread safety: every method may be called from any thread at once; at most `rest.connections`
// requests are on the wire.
#pragma once

#include <memory>
#include <span>

#include "backend/backend.h"
#include "backend/backend_options.h"

namespace lifeboat {

// rest.connections, rest.ca-file.
std::span<const BackendOptionSpec> RestOptionSpecs();

// Opens the repository at args.address ("http(s)://[USER:PASS@]HOST:PORT/PATH") without a request
// to the server: a missing repository shows when its config is read (Stat -> NotFound; callers
// use HasConfig). With args.create it creates the repository's directories (POST
// PATH/?create=true); AlreadyExists when a config is already there (the caller saves the config
// afterwards). InvalidArgument for an address that is not an http(s) URL or an unknown option.
Result<std::unique_ptr<Backend>> OpenRestBackend(const BackendOpenArgs& args);

}  // namespace lifeboat
