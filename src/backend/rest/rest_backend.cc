#include "backend/rest/rest_backend.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/http/http_client.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {
namespace {

constexpr std::string_view kApiV2 = "application/vnd.x.restic.rest.v2";
// Measured over loopback to `rclone serve restic` (doc/remote-sites.md): 8 connections carry
// packs several times faster than 1, more add little.
constexpr int kDefaultConnections = 8;

constexpr BackendOptionSpec kRestOptions[] = {
    {"rest.connections", "N", "requests in flight at once (default 8)"},
    {"rest.ca-file", "FILE",
     "PEM file of the CA (or self-signed certificate) that signed the server's TLS certificate"},
};

// The protocol's directory of each object type; kConfig is the file "config".
std::string_view TypePath(ObjectType type) {
  switch (type) {
    case ObjectType::kConfig:
      return "config";
    case ObjectType::kKey:
      return "keys/";
    case ObjectType::kPack:
      return "data/";
    case ObjectType::kIndex:
      return "index/";
    case ObjectType::kSnapshot:
      return "snapshots/";
    case ObjectType::kLock:
      return "locks/";
    case ObjectType::kRun:
      return "runs/";
  }
  return "";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%40" -> "@"; nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]);
    const int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

struct RestAddress {
  std::string base_url;  // "http://host:port/path/", always ending in '/'
  std::string user;
  std::string password;
  bool has_credentials = false;
};

Result<RestAddress> ParseAddress(std::string_view address, std::string_view shown) {
  const std::string usage = "rest:" + std::string(shown) +
                            ": a REST location is rest:http(s)://[USER:PASS@]HOST:PORT/PATH";
  std::string_view scheme;
  if (address.starts_with("http://")) {
    scheme = "http://";
  } else if (address.starts_with("https://")) {
    scheme = "https://";
  } else {
    return Status::InvalidArgument(usage);
  }
  std::string_view rest = address.substr(scheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument(usage + " (no query string or fragment)");
  }
  RestAddress out;
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    std::optional<std::string> user = PercentDecode(userinfo.substr(0, colon));
    std::optional<std::string> password =
        PercentDecode(colon == std::string_view::npos ? "" : userinfo.substr(colon + 1));
    if (!user.has_value() || !password.has_value()) {
      return Status::InvalidArgument(usage + " (a malformed %-escape in the user or password)");
    }
    out.user = std::move(*user);
    out.password = std::move(*password);
    out.has_credentials = true;
  }
  if (authority.empty()) return Status::InvalidArgument(usage + " (no host)");
  out.base_url = std::string(scheme) + std::string(authority) + std::string(path);
  if (path.empty() || path.back() != '/') out.base_url += '/';
  return out;
}

class RestBackend : public PartsBackend {
 public:
  RestBackend(std::string location, std::string base_url, std::unique_ptr<HttpClient> http,
              int connections)
      : location_(std::move(location)),
        base_url_(std::move(base_url)),
        http_(std::move(http)),
        connections_(connections) {}

  std::string Location() const override { return location_; }
  BackendHints Hints() const override { return {.concurrent_requests = connections_}; }

  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  // POST PATH/?create=true.
  Status CreateRepository();

 private:
  std::string Url(const ObjectHandle& h) const {
    if (h.type == ObjectType::kConfig) return base_url_ + "config";
    return base_url_ + std::string(TypePath(h.type)) + h.name;
  }
  // "pack 01ab... at rest:http://..."
  std::string Where(const ObjectHandle& h) const { return DescribeObject(h) + " at " + location_; }

  Result<HttpResponse> Send(std::string method, std::string url,
                            std::vector<std::pair<std::string, std::string>> headers = {},
                            ByteParts body = {}, Bytes* body_out = nullptr) {
    HttpRequest request;
    request.method = std::move(method);
    request.url = std::move(url);
    request.headers = std::move(headers);
    request.body = body;
    return http_->Do(request, body_out);
  }

  // HttpStatusError, with what to fix for a refused login.
  Status StatusError(const HttpResponse& response, const std::string& what) const {
    Status st = HttpStatusError(response, what);
    if (response.status == 401) {
      return Status::PermissionDenied(
          st.message() +
          ": the server refused the user name or password (give them in the URL as "
          "rest:http(s)://USER:PASS@HOST:PORT/PATH or in LIFEBOAT_REST_USERNAME and "
          "LIFEBOAT_REST_PASSWORD)");
    }
    return st;
  }

  // OK: exists (size in *size); NotFound; or the failure.
  Status Head(const ObjectHandle& h, uint64_t* size);

  const std::string location_;
  const std::string base_url_;
  const std::unique_ptr<HttpClient> http_;
  const int connections_;

  Mutex saving_mu_;
  CondVar saving_done_cv_;
  std::set<std::string> saving_ GUARDED_BY(saving_mu_);  // URLs of Saves in progress
};

Status RestBackend::Head(const ObjectHandle& h, uint64_t* size) {
  LB_ASSIGN_OR_RETURN(HttpResponse response, Send("HEAD", Url(h)));
  if (response.status == 404) return Status::NotFound(Where(h) + " does not exist");
  LB_RETURN_IF_ERROR(StatusError(response, "stat " + Where(h)));
  std::optional<std::string> length = response.Header("content-length");
  uint64_t value = 0;
  if (!length.has_value() ||
      std::from_chars(length->data(), length->data() + length->size(), value).ec != std::errc()) {
    return Status::IOError("stat " + Where(h) + ": the server sent no Content-Length");
  }
  *size = value;
  return Status::Ok();
}

Status RestBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  // One Save per name at a time in this process, so that of concurrent Saves of one name exactly
  // one stores it and the others see it (the HEAD below and the POST are not atomic).
  const std::string key = Url(h);
  {
    MutexLock lock(&saving_mu_);
    while (saving_.contains(key)) saving_done_cv_.Wait(&saving_mu_);
    saving_.insert(key);
  }
  struct Done {
    RestBackend* be;
    const std::string& key;
    ~Done() {
      MutexLock lock(&be->saving_mu_);
      be->saving_.erase(key);
      be->saving_done_cv_.NotifyAll();
    }
  } done{this, key};
  // rclone (without --append-only) overwrites on POST: ask first.
  uint64_t size = 0;
  Status exists = Head(h, &size);
  if (exists.ok()) return Status::AlreadyExists(Where(h) + " already exists");
  if (!exists.IsNotFound()) return exists.WithContext("save " + DescribeObject(h));

  LB_ASSIGN_OR_RETURN(
      HttpResponse response,
      Send("POST", Url(h), {{"Content-Type", "application/octet-stream"}}, parts));
  if (response.status == 403) {
    // rest-server refuses to overwrite (as does rclone --append-only): did the object appear
    // since the HEAD?
    Status now = Head(h, &size);
    if (now.ok()) return Status::AlreadyExists(Where(h) + " already exists");
  }
  if (response.status == 404 && h.type == ObjectType::kRun) {
    // restic's rest-server serves only restic's own object types (doc/repository-format.md §12).
    return Status::FailedPrecondition(
        Where(h) + ": the server does not accept run records (restic's rest-server serves only "
                   "data, index, keys, locks and snapshots); serve the repository with `rclone "
                   "serve restic` to keep run history at this site");
  }
  if (response.status == 400 && h.type == ObjectType::kPack) {
    return Status::IOError(StatusError(response, "save " + Where(h)).message() +
                           " (rest-server rejects a pack whose SHA-256 is not its name)");
  }
  return StatusError(response, "save " + Where(h));
}

Status RestBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                             Bytes* out) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string range_text =
      "bytes [" + std::to_string(offset) + ", " +
      (length > 0 ? std::to_string(offset + length) : std::string("end")) + ")";
  constexpr uint64_t kMaxEnd = std::numeric_limits<int64_t>::max();  // servers parse int64
  if (offset > kMaxEnd || length > kMaxEnd - std::min(offset, kMaxEnd)) {
    // No object is that large (and offset + length would overflow): the range is past its end.
    uint64_t size = 0;
    LB_RETURN_IF_ERROR(Head(h, &size));
    return Status::Corruption(Where(h) + " is " + std::to_string(size) +
                              " bytes, shorter than the range [" + std::to_string(offset) +
                              ", +" + std::to_string(length) + ") asked for");
  }
  std::vector<std::pair<std::string, std::string>> headers;
  const bool ranged = offset > 0 || length > 0;
  if (ranged) {
    std::string range = "bytes=" + std::to_string(offset) + "-";
    if (length > 0) range += std::to_string(offset + length - 1);
    headers.emplace_back("Range", std::move(range));
  }
  LB_ASSIGN_OR_RETURN(HttpResponse response, Send("GET", Url(h), std::move(headers), {}, out));
  if (response.status == 404) return Status::NotFound(Where(h) + " does not exist");
  if (response.status == 416) {
    // Range Not Satisfiable: the object ends before offset (or at it, for "to the end").
    uint64_t size = 0;
    LB_RETURN_IF_ERROR(Head(h, &size));
    if (length == 0 && size == offset) {
      out->clear();
      return Status::Ok();
    }
    return Status::Corruption(Where(h) + " is " + std::to_string(size) +
                              " bytes, shorter than the " + range_text + " asked for");
  }
  LB_RETURN_IF_ERROR(StatusError(response, "load " + Where(h)));
  if (response.status == 200 && ranged) {
    // The server ignored Range and sent the whole object: keep the part asked for.
    if (out->size() < offset + length || out->size() < offset) {
      return Status::Corruption(Where(h) + " is " + std::to_string(out->size()) +
                                " bytes, shorter than the " + range_text + " asked for");
    }
    const uint64_t keep = length > 0 ? length : out->size() - offset;
    std::memmove(out->data(), out->data() + offset, keep);
    out->resize(keep);
    return Status::Ok();
  }
  if (length > 0 && out->size() != length) {
    if (out->size() > length) {
      return Status::IOError("load " + Where(h) + ": the server sent " +
                             std::to_string(out->size()) + " bytes for " + range_text);
    }
    return Status::Corruption(Where(h) + " ends " + std::to_string(out->size()) +
                              " bytes into the " + range_text + " asked for (range past end)");
  }
  if (length == 0 && offset > 0 && out->empty()) {
    // rclone answers a range starting past the end with an empty 206.
    uint64_t size = 0;
    LB_RETURN_IF_ERROR(Head(h, &size));
    if (size < offset) {
      return Status::Corruption(Where(h) + " is " + std::to_string(size) +
                                " bytes, shorter than the " + range_text + " asked for");
    }
    if (size > offset) {
      return Status::Unavailable("load " + Where(h) + ": the server sent nothing for " +
                                 range_text);
    }
  }
  return Status::Ok();
}

Result<ObjectInfo> RestBackend::Stat(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  uint64_t size = 0;
  LB_RETURN_IF_ERROR(Head(h, &size));
  return ObjectInfo{h.type == ObjectType::kConfig ? "" : h.name, size};
}

Status RestBackend::List(ObjectType type, std::string_view prefix,
                         const std::function<Status(const ObjectInfo&)>& fn) {
  if (type == ObjectType::kConfig) {
    if (!prefix.empty()) return Status::Ok();
    uint64_t size = 0;
    Status st = Head({ObjectType::kConfig, ""}, &size);
    if (st.IsNotFound()) return Status::Ok();
    LB_RETURN_IF_ERROR(st);
    return fn(ObjectInfo{"", size});
  }
  const std::string what = "list " + std::string(TypePath(type)) + " at " + location_;
  LB_ASSIGN_OR_RETURN(HttpResponse response,
                      Send("GET", base_url_ + std::string(TypePath(type)),
                           {{"Accept", std::string(kApiV2)}}));
  // rest-server: 404 for a missing directory (a repository never created); rclone: [].
  if (response.status == 404) return Status::Ok();
  LB_RETURN_IF_ERROR(StatusError(response, what));
  const std::string not_v2 =
      what + ": the answer is not a restic REST v2 listing; is this a restic REST server?";
  std::vector<ObjectInfo> objects;
  try {
    const nlohmann::json listing = nlohmann::json::parse(AsString(response.body));
    if (!listing.is_array()) return Status::IOError(not_v2);
    for (const nlohmann::json& item : listing) {
      // A v1 server answers with bare names: not this protocol.
      std::string name = item.at("name").get<std::string>();
      const uint64_t size = item.at("size").get<uint64_t>();
      if (name.empty() || name.find('.') != std::string::npos || !name.starts_with(prefix)) {
        continue;  // temporary files of uploads in progress, other prefixes
      }
      objects.push_back(ObjectInfo{std::move(name), size});
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::IOError(not_v2 + " (" + e.what() + ")");
  }
  // fn runs after the response is complete: it may call back into the backend.
  for (const ObjectInfo& info : objects) LB_RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

Status RestBackend::Remove(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  LB_ASSIGN_OR_RETURN(HttpResponse response, Send("DELETE", Url(h)));
  if (response.status == 404) return Status::NotFound(Where(h) + " does not exist");
  if (response.status == 403) {
    return Status::PermissionDenied(
        "remove " + Where(h) +
        ": the server refused (HTTP 403): it runs in append-only mode (--append-only allows "
        "deleting only locks) or this user may not delete");
  }
  return StatusError(response, "remove " + Where(h));
}

Status RestBackend::CreateRepository() {
  uint64_t size = 0;
  Status config = Head({ObjectType::kConfig, ""}, &size);
  if (config.ok()) {
    return Status::AlreadyExists("a repository already exists at " + location_ +
                                 " (it has a config)");
  }
  if (!config.IsNotFound()) return config.WithContext("create a repository");
  LB_ASSIGN_OR_RETURN(HttpResponse response, Send("POST", base_url_ + "?create=true"));
  return StatusError(response, "create a repository at " + location_);
}

}  // namespace

std::span<const BackendOptionSpec> RestOptionSpecs() { return kRestOptions; }

Result<std::unique_ptr<Backend>> OpenRestBackend(const BackendOpenArgs& args) {
  LB_RETURN_IF_ERROR(args.options.CheckKnown("rest", RestOptionSpecs()));
  const std::string location = RedactLocation(args.location);
  const std::string_view shown =
      std::string_view(location).starts_with("rest:") ? std::string_view(location).substr(5)
                                                      : std::string_view(location);
  LB_ASSIGN_OR_RETURN(RestAddress address, ParseAddress(args.address, shown));
  if (!address.has_credentials) {
    std::optional<std::string> user = args.LookupEnv("LIFEBOAT_REST_USERNAME");
    std::optional<std::string> password = args.LookupEnv("LIFEBOAT_REST_PASSWORD");
    if (user.has_value() && !user->empty()) {
      address.user = std::move(*user);
      address.password = password.value_or("");
    } else if (password.has_value() && !password->empty()) {
      return Status::InvalidArgument(
          location + ": LIFEBOAT_REST_PASSWORD is set but LIFEBOAT_REST_USERNAME is not");
    }
  }
  HttpClientOptions http;
  http.context = args.context;
  LB_ASSIGN_OR_RETURN(http.max_connections,
                      ConnectionsOption(args.options, "rest", kDefaultConnections));
  LB_ASSIGN_OR_RETURN(http.ca_file, args.options.GetString("rest.ca-file", ""));
  http.ca_file_option = "rest.ca-file";
  http.user = std::move(address.user);
  http.password = std::move(address.password);
  const int connections = http.max_connections;
  LB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create(std::move(http)));
  auto backend = std::make_unique<RestBackend>(location, std::move(address.base_url),
                                               std::move(client), connections);
  if (args.create) LB_RETURN_IF_ERROR(backend->CreateRepository());
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace lifeboat
