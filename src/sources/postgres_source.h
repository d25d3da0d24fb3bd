// A PostgreSQL database (or a whole cluster), dumped consistently while it serves
// (doc/sources.md, "postgres"): the server's version through libpq, then `pg_dump
// --format=custom` (or `pg_dumpall`) streamed into the repository by RunCommandBackup, with the
// restore information recorded in the snapshot.
//
//   PostgresSource db;
//   db.host = "127.0.0.1"; db.database = "billing"; db.user = "backup"; db.password = secret;
//   LB_ASSIGN_OR_RETURN(BackupResult r, BackupPostgres(repo, db, options));
//
// The password (a secret the caller resolved) reaches libpq as a connection parameter and the
// dump command as PGPASSWORD in its environment only: never a command line, a message or the
// snapshot. Blocks; runs on the caller's thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "archiver/archiver.h"

namespace lifeboat {

struct PostgresSource {
  // Either a libpq connection string or URI ("host=db1 dbname=billing",
  // "postgresql://backup@db1/billing") without a password in it ...
  std::string dsn;
  // ... or these (empty / 0: libpq's defaults, e.g. PGHOST, the local socket, port 5432).
  std::string host;
  int port = 0;
  std::string database;
  std::string user;
  // The resolved secret; empty: none given (libpq may still find ~/.pgpass or PGPASSWORD).
  std::string password;
  // The plan's `database: all`: every database with pg_dumpall (plain SQL). `database` (or the
  // dsn's dbname) is then only the one first connected to (default "postgres").
  bool all_databases = false;
  // For the version query's connection; the context's deadline bounds it too.
  std::chrono::seconds connect_timeout{10};
  // The dump command is stopped after this (0: only the context's deadline bounds it).
  std::chrono::milliseconds dump_timeout{0};
  // Where pg_dump / pg_dumpall are; empty: looked up in PATH.
  std::string bin_dir;
  // More options for pg_dump / pg_dumpall, after Lifeboat's (e.g. "--exclude-table=audit_*",
  // "--snapshot=<id>"). Must not carry a secret: they are on its command line.
  std::vector<std::string> dump_options;
};

// What BackupPostgres found out before dumping (also in the snapshot's restore information).
struct PostgresServerInfo {
  int version_num = 0;                 // PQserverVersion: 150010
  std::string version;                 // SHOW server_version: "15.10 (Debian 15.10-0+deb12u1)"
  std::string database;                // the database connected to (PQdb)
  std::vector<std::string> databases;  // all_databases: the connectable, non-template ones
};

// Connects with libpq (the password as a parameter; connect_timeout bounded by the context's
// deadline) and reads the server's version (and, with all_databases, the databases). Errors:
// InvalidArgument (a bad dsn, or one holding a password, or both a dsn and host/port/...),
// Unauthenticated (the server refused the password or wants one), Unavailable (no server
// answered: the message names host and port), DeadlineExceeded / Cancelled. The password never
// appears in a message. Blocks for at most the connect timeout.
Result<PostgresServerInfo> QueryPostgresServer(const PostgresSource& source,
                                               const Context& context);

// QueryPostgresServer, then `<tool> --version` (the major version must be at least the
// server's, else FailedPrecondition saying which package to install), then the dump through
// RunCommandBackup: `pg_dump --format=custom --no-password --dbname=<conninfo>` stored as
// "/<database>.pgdump", or `pg_dumpall --no-password --dbname=<conninfo>` stored as
// "/all-databases.sql". `options.source`, when set, gets the restore information (format
// §9.1) before the snapshot is written. A dump that fails writes no snapshot.
Result<BackupResult> BackupPostgres(Repository& repo, const PostgresSource& source,
                                    BackupOptions options);

// The connection string the dump command gets: `dsn` as given, or host/port/dbname/user
// quoted as libpq wants; never the password. Exposed for tests.
std::string PostgresConninfo(const PostgresSource& source);

// "15.10" from "pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)"; empty when not found.
std::string ParsePgToolVersion(const std::string& version_output);

}  // namespace lifeboat
