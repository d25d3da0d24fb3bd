// Backend options: `-o KEY=VALUE` on the command line (restic's spelling) and a plan site's
// `options`. Keys are "<scheme>.<name>" ("s3.region", "sftp.identity"), plus "connections", which
// every backend takes. Each backend declares the keys it understands in a table of
// BackendOptionSpec (its --help text and the plan's JSON schema come from these tables) and reads
// them with the typed getters; OpenBackend rejects keys that no backend of the location's scheme
// knows, naming the nearest valid key.
//
//   LB_ASSIGN_OR_RETURN(BackendOptions o, BackendOptions::Parse({"s3.region=eu-west-1"}));
//   LB_ASSIGN_OR_RETURN(std::string region, o.GetString("s3.region", "us-east-1"));
//   LB_ASSIGN_OR_RETURN(int n, o.GetInt("connections", 16, 1, 256));
//
// Thread safety: a const BackendOptions may be read from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

// One option a backend understands: its key, the form of its value and what it does (one line
// for --help; doc/remote-sites.md says more).
struct BackendOptionSpec {
  std::string_view key;         // "s3.region"
  std::string_view value_hint;  // "REGION", "N", "path|dns"
  std::string_view help;        // "signing region (default us-east-1)"
};

class BackendOptions {
 public:
  BackendOptions() = default;

  // Parses "KEY=VALUE" strings (the -o flags, in order; a later key replaces an earlier one).
  // InvalidArgument naming the string when it has no '=' or an empty key.
  static Result<BackendOptions> Parse(const std::vector<std::string>& pairs);

  void Set(std::string key, std::string value);
  bool empty() const { return values_.empty(); }
  const std::map<std::string, std::string, std::less<>>& values() const { return values_; }

  // The value of `key`, or `fallback` when it is not set. Getters of a typed value return
  // InvalidArgument "option KEY=VALUE: <what is wrong>" for a value of the wrong form.
  std::optional<std::string> Find(std::string_view key) const;
  Result<std::string> GetString(std::string_view key, std::string_view fallback) const;
  // An integer in [min, max].
  Result<int64_t> GetInt(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;
  // true/false, yes/no, 1/0, on/off.
  Result<bool> GetBool(std::string_view key, bool fallback) const;
  // A size in ParseSize's grammar (util/units.h): "16M", "5GiB".
  Result<uint64_t> GetSize(std::string_view key, uint64_t fallback) const;

  // OK when every key is either "connections" or in `specs`, or belongs to another scheme than
  // `scheme` (a key "<other>.<name>" with another prefix: `-o` applies to --repo and --from,
  // which may be of different kinds). Otherwise InvalidArgument naming the unknown key, the
  // nearest known one ("did you mean s3.region?") and where the keys are listed.
  Status CheckKnown(std::string_view scheme, std::span<const BackendOptionSpec> specs) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

// The number of requests a backend keeps in flight: option "connections", else
// "<scheme>.connections", else `fallback`; between 1 and 256.
Result<int> ConnectionsOption(const BackendOptions& options, std::string_view scheme,
                              int fallback);

// What OpenBackend gives the opener of a remote scheme (s3, sftp, rest).
struct BackendOpenArgs {
  // The location exactly as the user gave it (for messages; it may hold a password, so messages
  // use RedactLocation(location)).
  std::string location;
  // What follows "<scheme>:" in `location`.
  std::string address;
  BackendOptions options;
  // Environment variables for this site (a plan site's `env`), looked up before the process
  // environment: credentials such as AWS_ACCESS_KEY_ID. Use LookupEnv.
  std::map<std::string, std::string, std::less<>> env;
  // In-flight requests stop when it is done (Cancelled / DeadlineExceeded), and connecting
  // waits no longer than its deadline.
  Context context = {};
  // Prepare an empty repository (create the bucket / directories) instead of opening one.
  bool create = false;

  // env[name] if set, else the process environment's value, else nullopt (empty counts as set).
  std::optional<std::string> LookupEnv(std::string_view name) const;
};

// `location` with any password replaced by "***": "rest:http://user:***@host:8000/repo". Every
// message, Location() and log line that shows a location uses this.
std::string RedactLocation(std::string_view location);

}  // namespace lifeboat
