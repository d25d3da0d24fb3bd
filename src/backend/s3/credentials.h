// AWS credentials and region, found where the AWS CLI looks, in its order:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) in the environment;
//   2. profile AWS_PROFILE (default "default") in the shared credentials file,
//      AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials (section [NAME]);
//   3. the same profile in the config file, AWS_CONFIG_FILE or ~/.aws/config (section
//      [profile NAME], or [default]).
// The region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's `region` in the config file.
//
//   EnvLookup env = [&args](std::string_view n) { return args.LookupEnv(n); };
//   LB_ASSIGN_OR_RETURN(AwsCredentials c, FindAwsCredentials(env));
//   LB_ASSIGN_OR_RETURN(std::optional<std::string> region, FindAwsRegion(env));
//
// Every variable, HOME included, is read through the EnvLookup (a plan site's `env` comes before
// the process environment). Secrets never appear in messages. Thread-safe; reads files.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "backend/s3/sigv4.h"
#include "util/status.h"

namespace lifeboat {

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct AwsCredentials {
  SigV4Credentials keys;
  // Where they came from, for messages: "the environment (AWS_ACCESS_KEY_ID)" or
  // "profile default in /home/u/.aws/credentials".
  std::string source;
};

// The credentials, or:
//  - PermissionDenied when none are found, naming the variables and the files looked at;
//  - InvalidArgument when only one of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is set, or a
//    profile lacks one of its two keys;
//  - IOError when a file exists but cannot be read.
Result<AwsCredentials> FindAwsCredentials(const EnvLookup& env);

// The region the user configured, nullopt when none is. IOError if the config file exists but
// cannot be read.
Result<std::optional<std::string>> FindAwsRegion(const EnvLookup& env);

}  // namespace lifeboat
