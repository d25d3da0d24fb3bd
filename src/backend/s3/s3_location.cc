#include "backend/s3/s3_location.h"

#include <charconv>

#include "backend/s3/sigv4.h"

namespace lifeboat {
namespace {

constexpr std::string_view kAddressForms =
    "expected s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX] or s3:s3.amazonaws.com/BUCKET[/PREFIX]";

std::string_view TypeDirectory(ObjectType type) {
  switch (type) {
    case ObjectType::kConfig:
      return "config";
    case ObjectType::kKey:
      return "keys";
    case ObjectType::kPack:
      return "data";
    case ObjectType::kIndex:
      return "index";
    case ObjectType::kSnapshot:
      return "snapshots";
    case ObjectType::kLock:
      return "locks";
    case ObjectType::kRun:
      return "runs";
  }
  return "";
}

std::string WithPrefix(std::string_view prefix, std::string_view rest) {
  if (prefix.empty()) return std::string(rest);
  std::string out(prefix);
  out += '/';
  out += rest;
  return out;
}

bool IsIpAddress(std::string_view host) {
  if (host.starts_with('[')) return true;
  for (char c : host) {
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  }
  return !host.empty();
}

bool IsAwsHost(std::string_view host) {
  return host == "s3.amazonaws.com" ||
         (host.starts_with("s3.") && host.ends_with(".amazonaws.com"));
}

}  // namespace

Result<S3Location> ParseS3Address(std::string_view address) {
  const std::string quoted = "s3:" + std::string(address);
  S3Location loc;
  std::string_view rest = address;
  if (rest.starts_with("http://")) {
    loc.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    loc.scheme = "https";
    rest.remove_prefix(8);
  } else if (rest.find("://") != std::string_view::npos) {
    return Status::InvalidArgument(quoted + ": the scheme must be http or https; " +
                                   std::string(kAddressForms));
  } else {
    loc.scheme = "https";
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument(quoted + ": a query or fragment has no meaning here; " +
                                   std::string(kAddressForms));
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument(
        "s3:...: credentials do not belong in the location; set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (or a profile in ~/.aws/credentials)");
  }
  std::string_view host = authority;
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return Status::InvalidArgument(quoted + ": the port must be a number from 1 to 65535");
    }
    loc.port = value;
  }
  if (host.empty()) {
    return Status::InvalidArgument(quoted + ": no host; " + std::string(kAddressForms));
  }
  loc.host = std::string(host);
  while (path.ends_with('/')) path.remove_suffix(1);
  size_t bucket_end = path.find('/');
  loc.bucket = std::string(path.substr(0, bucket_end));
  if (loc.bucket.empty()) {
    return Status::InvalidArgument(quoted + ": no bucket; " + std::string(kAddressForms));
  }
  if (bucket_end != std::string_view::npos) {
    std::string_view prefix = path.substr(bucket_end + 1);
    while (prefix.starts_with('/')) prefix.remove_prefix(1);
    loc.prefix = std::string(prefix);
  }
  loc.aws = IsAwsHost(loc.host);
  return loc;
}

Result<BucketLookup> ParseBucketLookup(std::string_view value) {
  if (value == "path") return BucketLookup::kPath;
  if (value == "dns") return BucketLookup::kDns;
  return Status::InvalidArgument("option s3.bucket-lookup=" + std::string(value) +
                                 ": expected path or dns");
}

BucketLookup DefaultBucketLookup(const S3Location& location) {
  if (location.port != 0 || IsIpAddress(location.host)) return BucketLookup::kPath;
  return location.aws ? BucketLookup::kDns : BucketLookup::kPath;
}

S3Endpoint MakeS3Endpoint(const S3Location& location, BucketLookup lookup,
                          std::string_view region) {
  std::string host = location.host;
  if (host == "s3.amazonaws.com" && !region.empty() && region != "us-east-1") {
    host = "s3." + std::string(region) + ".amazonaws.com";
  }
  S3Endpoint e;
  if (lookup == BucketLookup::kDns) {
    host = location.bucket + "." + host;
  } else {
    e.bucket_path = "/" + location.bucket;
  }
  const int default_port = location.scheme == "https" ? 443 : 80;
  e.host_header = host;
  if (location.port != 0 && location.port != default_port) {
    e.host_header += ":" + std::to_string(location.port);
  }
  e.base_url = location.scheme + "://" + e.host_header;
  return e;
}

std::string S3Endpoint::Path(std::string_view key) const {
  std::string path = bucket_path;
  if (!key.empty() || path.empty()) path += '/';
  path += key;
  return path;
}

std::string S3Endpoint::Url(std::string_view key,
                            const std::vector<std::pair<std::string, std::string>>& query) const {
  std::string url = base_url + UriEncodePath(Path(key));
  if (!query.empty()) url += "?" + CanonicalQueryString(query);
  return url;
}

std::string ObjectKey(std::string_view prefix, const ObjectHandle& h) {
  if (h.type == ObjectType::kConfig) return WithPrefix(prefix, "config");
  std::string rest(TypeDirectory(h.type));
  rest += '/';
  if (h.type == ObjectType::kPack) {
    rest += std::string_view(h.name).substr(0, 2);
    rest += '/';
  }
  rest += h.name;
  return WithPrefix(prefix, rest);
}

std::string ListKeyPrefix(std::string_view prefix, ObjectType type, std::string_view name_prefix) {
  if (type == ObjectType::kConfig) return WithPrefix(prefix, "config");
  std::string rest(TypeDirectory(type));
  rest += '/';
  if (type == ObjectType::kPack && name_prefix.size() >= 2) {
    rest += name_prefix.substr(0, 2);
    rest += '/';
    rest += name_prefix;
  } else {
    rest += name_prefix;
  }
  return WithPrefix(prefix, rest);
}

std::string NameFromKey(std::string_view prefix, ObjectType type, std::string_view key) {
  std::string dir = WithPrefix(prefix, std::string(TypeDirectory(type)) + "/");
  if (!key.starts_with(dir)) return "";
  std::string_view rest = key.substr(dir.size());
  if (type == ObjectType::kPack) {
    size_t slash = rest.find('/');
    if (slash != 2) return "";
    std::string_view sub = rest.substr(0, 2);
    rest.remove_prefix(3);
    if (!rest.starts_with(sub)) return "";
  }
  if (rest.empty() || rest.find_first_of("/.") != std::string_view::npos) return "";
  return std::string(rest);
}

}  // namespace lifeboat
