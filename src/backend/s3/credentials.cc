#include "backend/s3/credentials.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace lifeboat {
namespace {

// One INI file as the AWS tools write it: [section] then `key = value` lines. Indented lines
// (nested settings such as `s3 =\n  addressing_style = path`) and comments are skipped.
using IniFile = std::map<std::string, std::map<std::string, std::string>, std::less<>>;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

IniFile ParseIni(std::string_view text) {
  IniFile ini;
  std::string section;
  bool in_section = false;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) continue;  // nested
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) {
        in_section = false;
        continue;
      }
      section = std::string(Trim(line.substr(1, close - 1)));
      in_section = true;
      ini[section];
      continue;
    }
    size_t eq = line.find('=');
    if (!in_section || eq == std::string_view::npos) continue;
    ini[section][std::string(Trim(line.substr(0, eq)))] = std::string(Trim(line.substr(eq + 1)));
  }
  return ini;
}

// The parsed file, nullopt if it does not exist.
Result<std::optional<IniFile>> ReadIni(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<IniFile>();
    return Status::IOError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + path);
  return std::optional<IniFile>(ParseIni(ss.str()));
}

std::string HomeFile(const EnvLookup& env, std::string_view name) {
  std::optional<std::string> home = env("HOME");
  return (home ? *home : std::string()) + "/.aws/" + std::string(name);
}

std::string CredentialsFile(const EnvLookup& env) {
  std::optional<std::string> f = env("AWS_SHARED_CREDENTIALS_FILE");
  return f && !f->empty() ? *f : HomeFile(env, "credentials");
}

std::string ConfigFile(const EnvLookup& env) {
  std::optional<std::string> f = env("AWS_CONFIG_FILE");
  return f && !f->empty() ? *f : HomeFile(env, "config");
}

std::string ProfileName(const EnvLookup& env) {
  std::optional<std::string> p = env("AWS_PROFILE");
  return p && !p->empty() ? *p : "default";
}

// The profile's section in the config file: [profile NAME], or [default] for "default".
const std::map<std::string, std::string>* ConfigSection(const IniFile& ini,
                                                        const std::string& profile) {
  auto it = ini.find("profile " + profile);
  if (it == ini.end() && profile == "default") it = ini.find("default");
  return it == ini.end() ? nullptr : &it->second;
}

// Credentials from one profile section; nullopt when it holds no access key at all.
Result<std::optional<AwsCredentials>> FromSection(const std::map<std::string, std::string>& s,
                                                  const std::string& source) {
  auto id = s.find("aws_access_key_id");
  auto secret = s.find("aws_secret_access_key");
  if (id == s.end() && secret == s.end()) return std::optional<AwsCredentials>();
  if (id == s.end() || secret == s.end() || id->second.empty() || secret->second.empty()) {
    return Status::InvalidArgument(source + " has " +
                                   (id == s.end() ? "aws_secret_access_key but no aws_access_key_id"
                                                  : "aws_access_key_id but no aws_secret_access_key"));
  }
  AwsCredentials c;
  c.keys.access_key_id = id->second;
  c.keys.secret_access_key = secret->second;
  if (auto token = s.find("aws_session_token"); token != s.end()) {
    c.keys.session_token = token->second;
  }
  c.source = source;
  return std::optional<AwsCredentials>(std::move(c));
}

}  // namespace

Result<AwsCredentials> FindAwsCredentials(const EnvLookup& env) {
  std::optional<std::string> id = env("AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && !id->empty() && secret && !secret->empty()) {
    AwsCredentials c;
    c.keys.access_key_id = *id;
    c.keys.secret_access_key = *secret;
    if (std::optional<std::string> token = env("AWS_SESSION_TOKEN")) c.keys.session_token = *token;
    c.source = "the environment (AWS_ACCESS_KEY_ID)";
    return c;
  }
  if ((id && !id->empty()) != (secret && !secret->empty())) {
    return Status::InvalidArgument(
        std::string(id && !id->empty() ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                                       : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
        "; set both, or neither to use a profile in ~/.aws/credentials");
  }

  const std::string profile = ProfileName(env);
  const std::string credentials_file = CredentialsFile(env);
  const std::string config_file = ConfigFile(env);
  LB_ASSIGN_OR_RETURN(std::optional<IniFile> credentials, ReadIni(credentials_file));
  if (credentials) {
    if (auto it = credentials->find(profile); it != credentials->end()) {
      LB_ASSIGN_OR_RETURN(std::optional<AwsCredentials> c,
                          FromSection(it->second, "profile " + profile + " in " + credentials_file));
      if (c) return *std::move(c);
    }
  }
  LB_ASSIGN_OR_RETURN(std::optional<IniFile> config, ReadIni(config_file));
  if (config) {
    if (const auto* section = ConfigSection(*config, profile)) {
      LB_ASSIGN_OR_RETURN(std::optional<AwsCredentials> c,
                          FromSection(*section, "profile " + profile + " in " + config_file));
      if (c) return *std::move(c);
    }
  }
  return Status::PermissionDenied(
      "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
      "AWS_SESSION_TOKEN for temporary ones), or give profile " + profile +
      " (AWS_PROFILE) aws_access_key_id and aws_secret_access_key in " + credentials_file +
      (credentials ? "" : " (missing)") + " or " + config_file + (config ? "" : " (missing)") +
      " (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE)");
}

Result<std::optional<std::string>> FindAwsRegion(const EnvLookup& env) {
  for (std::string_view name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    std::optional<std::string> r = env(name);
    if (r && !r->empty()) return r;
  }
  LB_ASSIGN_OR_RETURN(std::optional<IniFile> config, ReadIni(ConfigFile(env)));
  if (!config) return std::optional<std::string>();
  const auto* section = ConfigSection(*config, ProfileName(env));
  if (section == nullptr) return std::optional<std::string>();
  auto it = section->find("region");
  if (it == section->end() || it->second.empty()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

}  // namespace lifeboat
