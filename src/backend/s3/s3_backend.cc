#include "backend/s3/s3_backend.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>

#include "backend/s3/credentials.h"
#include "backend/s3/s3_client.h"
#include "backend/s3/s3_location.h"
#include "backend/s3/s3_xml.h"
#include "util/parallel_for.h"

namespace lifeboat {
namespace {

constexpr BackendOptionSpec kS3Options[] = {
    {"s3.region", "REGION", "signing region (default: AWS_REGION, the profile's, else us-east-1)"},
    {"s3.bucket-lookup", "path|dns",
     "bucket in the path or in the host name (default: dns for Amazon, else path)"},
    {"s3.storage-class", "CLASS", "storage class of packs, e.g. STANDARD_IA (default: the bucket's)"},
    {"s3.ca-file", "FILE", "PEM bundle to verify the server's certificate (a private CA)"},
    {"s3.object-lock-days", "N",
     "lock every object for N days (Object Lock; the bucket is created with it)"},
    {"s3.object-lock-mode", "governance|compliance", "Object Lock mode (default governance)"},
    {"s3.multipart-threshold", "SIZE", "objects above it are sent in parts (default 64M)"},
    {"s3.part-size", "SIZE", "size of each part of a multipart upload (default 16M, at least 5M)"},
    {"s3.connections", "N", "requests in flight (default 8; `connections` also sets it)"},
};

// Operations run one transfer worker per request in flight (Hints, WorkersFor): a backup's
// workers each encode and then upload a 16 MiB pack, a restore's each hold a read buffer. On the
// loopback RGW (bench/remote.sh, doc/benchmarks.md "Remote sites") a backup of a 64 MiB image
// peaked at 140 MiB RSS with 16, 118 MiB with 8 and 99 MiB with 5, in the same wall time; 8
// uploads of 16 MiB keep a fast uplink busy (restic uses 5, the AWS CLI 10).
constexpr int kDefaultConnections = 8;
constexpr uint64_t kDefaultMultipartThreshold = 64u << 20;
constexpr uint64_t kDefaultPartSize = 16u << 20;
constexpr uint64_t kMinPartSize = 5u << 20;  // S3's minimum for every part but the last
constexpr uint64_t kMaxParts = 10000;

struct S3Settings {
  std::string storage_class;
  int64_t lock_days = 0;
  std::string lock_mode;  // "GOVERNANCE" / "COMPLIANCE"
  uint64_t multipart_threshold = kDefaultMultipartThreshold;
  uint64_t part_size = kDefaultPartSize;
  int connections = kDefaultConnections;
};

uint64_t TotalSize(ByteParts parts) {
  uint64_t n = 0;
  for (ByteView p : parts) n += p.size();
  return n;
}

// The pieces of `parts` covering bytes [begin, end) of their concatenation.
std::vector<ByteView> Slice(ByteParts parts, uint64_t begin, uint64_t end) {
  std::vector<ByteView> out;
  uint64_t at = 0;
  for (ByteView p : parts) {
    uint64_t p_end = at + p.size();
    if (p_end > begin && at < end) {
      uint64_t from = std::max(begin, at) - at;
      uint64_t to = std::min(end, p_end) - at;
      out.push_back(p.subspan(from, to - from));
    }
    at = p_end;
    if (at >= end) break;
  }
  return out;
}

std::string Iso8601(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "2026-12-05T18:00:00Z", with or without fractional seconds, as ns since the epoch; nullopt
// when it is not in that form.
std::optional<int64_t> ParseIso8601Ns(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  bool fraction = false;  // rounded up: the lock ends within that second
  if (*end == '.') {
    for (++end; *end >= '0' && *end <= '9'; ++end) fraction = fraction || *end != '0';
  }
  if (*end != 'Z' && *end != '\0') return std::nullopt;
  const std::time_t secs = ::timegm(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return (static_cast<int64_t>(secs) + (fraction ? 1 : 0)) * 1'000'000'000;
}

bool Ok2xx(const HttpResponse& r) { return r.status >= 200 && r.status < 300; }

class S3Backend : public PartsBackend {
 public:
  S3Backend(std::unique_ptr<S3Client> client, std::unique_ptr<S3Client> cleanup_client,
            std::string location, std::string prefix, S3Settings settings)
      : client_(std::move(client)),
        cleanup_client_(std::move(cleanup_client)),
        location_(std::move(location)),
        prefix_(std::move(prefix)),
        settings_(std::move(settings)) {}

  std::string Location() const override { return location_; }
  BackendHints Hints() const override {
    BackendHints hints{.concurrent_requests = settings_.connections};
    if (settings_.lock_days > 0)
      hints.object_lock = ObjectLockHint{std::chrono::hours(24 * settings_.lock_days), settings_.lock_mode};
    return hints;
  }

  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  // Checks that the bucket and the config exist (open), or prepares them (create).
  Status Prepare(bool create, bool bucket_lock);
  Result<int> AbortIncompleteUploads();

 private:
  // The headers every new object carries: storage class (packs), Object Lock.
  void AddObjectHeaders(const ObjectHandle& h, std::vector<std::pair<std::string, std::string>>* headers) const;
  Status SaveMultipart(const ObjectHandle& h, const std::string& key, ByteParts parts,
                       uint64_t total);
  Status AbortUpload(const std::string& key, const std::string& upload_id);
  // Calls fn for every key (and size) under `key_prefix`, page by page.
  Status ListKeys(const std::string& key_prefix,
                  const std::function<Status(const S3ListedObject&)>& fn, int max_keys = 1000);
  std::string Describe(const ObjectHandle& h) const { return DescribeObject(h); }

  const std::unique_ptr<S3Client> client_;
  // Aborts an upload whose Save failed, even when the failure was client_'s context stopping
  // (Ctrl-C): its own connection, no context, short timeouts.
  const std::unique_ptr<S3Client> cleanup_client_;
  const std::string location_;
  const std::string prefix_;
  const S3Settings settings_;
};

void S3Backend::AddObjectHeaders(const ObjectHandle& h,
                                 std::vector<std::pair<std::string, std::string>>* headers) const {
  if (h.type == ObjectType::kPack && !settings_.storage_class.empty()) {
    headers->emplace_back("x-amz-storage-class", settings_.storage_class);
  }
  // Lock files are coordination, not history: locked, every command's lock would outlive it and
  // keep the next exclusive command out.
  if (settings_.lock_days > 0 && h.type != ObjectType::kLock) {
    headers->emplace_back("x-amz-object-lock-mode", settings_.lock_mode);
    headers->emplace_back(
        "x-amz-object-lock-retain-until-date",
        Iso8601(std::chrono::system_clock::now() + std::chrono::hours(24 * settings_.lock_days)));
  }
}

Status S3Backend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string key = ObjectKey(prefix_, h);
  const uint64_t total = TotalSize(parts);
  if (total > settings_.multipart_threshold) return SaveMultipart(h, key, parts, total);

  S3Client::Call call{.method = "PUT", .key = key, .body = parts};
  call.headers.emplace_back("If-None-Match", "*");
  AddObjectHeaders(h, &call.headers);
  // Object Lock requires an integrity header on every PUT (S3 refuses one without it).
  if (settings_.lock_days > 0) call.headers.emplace_back("Content-MD5", ContentMd5(parts));
  LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(call));
  if (r.status == 412) {
    return Status::AlreadyExists(Describe(h) + " already exists; refusing to overwrite");
  }
  if (!Ok2xx(r)) return client_->Error(r, "saving " + Describe(h));
  return Status::Ok();
}

Status S3Backend::AbortUpload(const std::string& key, const std::string& upload_id) {
  S3Client::Call call{.method = "DELETE", .key = key, .query = {{"uploadId", upload_id}}};
  LB_ASSIGN_OR_RETURN(HttpResponse r, cleanup_client_->Send(call));
  if (!Ok2xx(r) && r.status != 404) return client_->Error(r, "aborting the upload of " + key);
  return Status::Ok();
}

Status S3Backend::SaveMultipart(const ObjectHandle& h, const std::string& key, ByteParts parts,
                                uint64_t total) {
  const std::string what = "saving " + Describe(h);
  // CompleteMultipartUpload's If-None-Match is recent (S3 2024; RGW 16 ignores it): look first.
  LB_ASSIGN_OR_RETURN(HttpResponse head, client_->Send({.method = "HEAD", .key = key}));
  if (Ok2xx(head)) return Status::AlreadyExists(Describe(h) + " already exists; refusing to overwrite");
  if (head.status != 404) return client_->Error(head, what);

  S3Client::Call start{.method = "POST", .key = key, .query = {{"uploads", ""}}};
  AddObjectHeaders(h, &start.headers);
  LB_ASSIGN_OR_RETURN(HttpResponse started, client_->Send(start));
  if (!Ok2xx(started)) return client_->Error(started, what + " (starting a multipart upload)");
  LB_ASSIGN_OR_RETURN(std::string upload_id,
                      ParseInitiateMultipartUpload(AsString(started.body), what));

  uint64_t part_size = settings_.part_size;
  if ((total + part_size - 1) / part_size > kMaxParts) part_size = (total + kMaxParts - 1) / kMaxParts;
  const size_t n = static_cast<size_t>((total + part_size - 1) / part_size);
  std::vector<std::string> etags(n);
  Status st = ParallelForUntilError(n, settings_.connections, [&](size_t i) -> Status {
    const uint64_t begin = i * part_size;
    const uint64_t end = std::min(total, begin + part_size);
    std::vector<ByteView> slice = Slice(parts, begin, end);
    S3Client::Call put{.method = "PUT",
                       .key = key,
                       .query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}},
                       .body = ByteParts(slice)};
    if (settings_.lock_days > 0) put.headers.emplace_back("Content-MD5", ContentMd5(put.body));
    LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(put));
    if (!Ok2xx(r)) return client_->Error(r, what + " (part " + std::to_string(i + 1) + ")");
    std::optional<std::string> etag = r.Header("etag");
    if (!etag) return Status::IOError(what + ": the server gave part " + std::to_string(i + 1) + " no ETag");
    etags[i] = *etag;
    return Status::Ok();
  });
  if (st.ok()) {
    const std::string xml = CompleteMultipartUploadXml(etags);
    ByteView body = AsBytes(xml);
    S3Client::Call complete{.method = "POST", .key = key, .query = {{"uploadId", upload_id}},
                            .body = ByteParts(&body, 1)};
    complete.headers.emplace_back("If-None-Match", "*");
    complete.headers.emplace_back("Content-Type", "application/xml");
    Result<HttpResponse> r = client_->Send(complete);
    if (!r.ok()) {
      st = r.status();
    } else if (r->status == 412) {
      st = Status::AlreadyExists(Describe(h) + " already exists; refusing to overwrite");
    } else if (!Ok2xx(*r)) {
      st = client_->Error(*r, what + " (completing the multipart upload)");
    } else if (!ParseS3Error(AsString(r->body)).code.empty()) {
      // A 200 whose body is an error: the completion failed after it started (S3 documents it).
      HttpResponse failed = *r;
      failed.status = 500;
      st = client_->Error(failed, what + " (completing the multipart upload)");
    } else {
      return Status::Ok();
    }
  }
  AbortUpload(key, upload_id).IgnoreError();  // best effort; `repair uploads` finds leftovers
  return st;
}

Status S3Backend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  S3Client::Call call{.method = "GET", .key = ObjectKey(prefix_, h)};
  if (offset > 0 || length > 0) {
    call.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" +
                                           (length > 0 ? std::to_string(offset + length - 1) : ""));
  }
  LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(call, out));
  const std::string what = "loading " + Describe(h);
  if (r.status == 404 && ParseS3Error(AsString(r.body)).code != "NoSuchBucket") {
    return Status::NotFound(Describe(h) + " not found");
  }
  if (r.status == 416) {
    if (length == 0) {
      // bytes=SIZE- is unsatisfiable, yet reading the end of an object from its end is fine.
      LB_ASSIGN_OR_RETURN(ObjectInfo info, Stat(h));
      if (info.size == offset) {
        out->clear();
        return Status::Ok();
      }
    }
    return Status::Corruption(Describe(h) + " is shorter than " +
                              std::to_string(offset + length) + " bytes (cannot read " +
                              (length == 0 ? std::string("to the end") : std::to_string(length)) +
                              " at offset " + std::to_string(offset) + ")");
  }
  if (!Ok2xx(r)) return client_->Error(r, what);
  if (r.status == 200 && offset > 0) {
    // The server sent the whole object, ignoring Range.
    if (out->size() < offset) {
      return Status::Corruption(Describe(h) + " has " + std::to_string(out->size()) +
                                " bytes; cannot read at offset " + std::to_string(offset));
    }
    out->erase(out->begin(), out->begin() + static_cast<ptrdiff_t>(offset));
    if (length > 0 && out->size() > length) out->resize(length);
  }
  if (length > 0 && out->size() != length) {
    return Status::Corruption(Describe(h) + ": asked for " + std::to_string(length) +
                              " bytes at offset " + std::to_string(offset) + ", got " +
                              std::to_string(out->size()) + " (the object is shorter)");
  }
  return Status::Ok();
}

Result<ObjectInfo> S3Backend::Stat(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send({.method = "HEAD", .key = ObjectKey(prefix_, h)}));
  if (r.status == 404) return Status::NotFound(Describe(h) + " not found");
  if (!Ok2xx(r)) return client_->Error(r, "stat " + Describe(h));
  std::optional<std::string> length = r.Header("content-length");
  uint64_t size = 0;
  if (!length || std::from_chars(length->data(), length->data() + length->size(), size).ec != std::errc()) {
    return Status::IOError("stat " + Describe(h) + ": the server sent no Content-Length");
  }
  ObjectInfo info{h.type == ObjectType::kConfig ? std::string() : h.name, size};
  if (std::optional<std::string> until = r.Header("x-amz-object-lock-retain-until-date"))
    info.retain_until_ns = ParseIso8601Ns(*until);
  return info;
}

Status S3Backend::ListKeys(const std::string& key_prefix,
                           const std::function<Status(const S3ListedObject&)>& fn, int max_keys) {
  std::string token;
  for (;;) {
    S3Client::Call call{.method = "GET", .key = "",
                        .query = {{"list-type", "2"}, {"prefix", key_prefix},
                                  {"max-keys", std::to_string(max_keys)}}};
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(call));
    const std::string what = "listing " + key_prefix;
    if (!Ok2xx(r)) return client_->Error(r, what);
    LB_ASSIGN_OR_RETURN(S3ListPage page, ParseListObjectsV2(AsString(r.body), what));
    for (const S3ListedObject& o : page.objects) LB_RETURN_IF_ERROR(fn(o));
    if (!page.truncated) return Status::Ok();
    token = std::move(page.next_continuation_token);
  }
}

Status S3Backend::List(ObjectType type, std::string_view prefix,
                       const std::function<Status(const ObjectInfo&)>& fn) {
  if (std::optional<Status> done = ListWithoutListing(*this, type, prefix, fn)) return *done;
  return ListKeys(ListKeyPrefix(prefix_, type, prefix), [&](const S3ListedObject& o) -> Status {
    std::string name = NameFromKey(prefix_, type, o.key);
    if (name.empty() || !std::string_view(name).starts_with(prefix)) return Status::Ok();
    return fn(ObjectInfo{std::move(name), o.size});
  });
}

Status S3Backend::Remove(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  const std::string key = ObjectKey(prefix_, h);
  const std::string what = "removing " + Describe(h);
  // S3 answers DELETE of a missing key with 204: only a HEAD tells NotFound.
  LB_ASSIGN_OR_RETURN(HttpResponse head, client_->Send({.method = "HEAD", .key = key}));
  if (head.status == 404) return Status::NotFound(Describe(h) + " not found");
  if (!Ok2xx(head)) return client_->Error(head, what);
  S3Client::Call del{.method = "DELETE", .key = key};
  std::optional<std::string> version = head.Header("x-amz-version-id");
  if (settings_.lock_days > 0 && version && !version->empty() && *version != "null") {
    // Delete this version: a plain DELETE would only hide a locked object behind a marker.
    del.query.emplace_back("versionId", *version);
  }
  LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(del));
  if (r.status == 403) {
    if (std::optional<std::string> until = head.Header("x-amz-object-lock-retain-until-date")) {
      return Status::PermissionDenied(
          what + ": the object is locked (Object Lock, " +
          head.Header("x-amz-object-lock-mode").value_or("?") + ") until " + *until +
          "; it cannot be removed before then");
    }
  }
  if (r.status == 404) return Status::NotFound(Describe(h) + " not found");
  if (!Ok2xx(r)) return client_->Error(r, what);
  return Status::Ok();
}

Status S3Backend::Prepare(bool create, bool bucket_lock) {
  const std::string& bucket = client_->config().bucket;
  const std::string config_key = ObjectKey(prefix_, {ObjectType::kConfig, ""});
  bool has_config = false;
  Status listed = ListKeys(config_key, [&](const S3ListedObject& o) {
    if (o.key == config_key) has_config = true;
    return Status::Ok();
  }, 1);
  const bool no_bucket = listed.IsNotFound();
  if (!listed.ok() && !no_bucket) return listed.WithContext(location_);
  if (!create) {
    if (no_bucket) {
      return Status::NoRepository(location_ + ": bucket " + bucket +
                                  " does not exist; run `lifeboat init` first");
    }
    if (!has_config) {
      return Status::NoRepository(location_ +
                                  " is not a Lifeboat repository (no config); run `lifeboat init` "
                                  "first");
    }
    return Status::Ok();
  }
  if (has_config) {
    return Status::AlreadyExists(location_ + " already holds a repository (config exists)");
  }
  if (!no_bucket) return Status::Ok();
  S3Client::Call call{.method = "PUT", .key = ""};
  if (bucket_lock) call.headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
  std::string xml;
  ByteView body;
  const std::string& region = client_->config().scope.region;
  if (!region.empty() && region != "us-east-1") {
    xml = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>" + region + "</LocationConstraint></CreateBucketConfiguration>";
    body = AsBytes(xml);
    call.body = ByteParts(&body, 1);
  }
  LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(call));
  if (!Ok2xx(r) && ParseS3Error(AsString(r.body)).code != "BucketAlreadyOwnedByYou") {
    return client_->Error(r, "creating bucket " + bucket);
  }
  return Status::Ok();
}

Result<int> S3Backend::AbortIncompleteUploads() {
  const std::string key_prefix = prefix_.empty() ? "" : prefix_ + "/";
  std::vector<S3Upload> uploads;
  std::string key_marker, id_marker;
  for (;;) {
    S3Client::Call call{.method = "GET", .key = "", .query = {{"uploads", ""}, {"prefix", key_prefix}}};
    if (!key_marker.empty()) call.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) call.query.emplace_back("upload-id-marker", id_marker);
    LB_ASSIGN_OR_RETURN(HttpResponse r, client_->Send(call));
    if (!Ok2xx(r)) return client_->Error(r, "listing unfinished uploads");
    LB_ASSIGN_OR_RETURN(S3UploadsPage page,
                        ParseListMultipartUploads(AsString(r.body), "listing unfinished uploads"));
    uploads.insert(uploads.end(), page.uploads.begin(), page.uploads.end());
    if (!page.truncated || page.next_key_marker.empty()) break;
    key_marker = page.next_key_marker;
    id_marker = page.next_upload_id_marker;
  }
  for (const S3Upload& u : uploads) LB_RETURN_IF_ERROR(AbortUpload(u.key, u.upload_id));
  return static_cast<int>(uploads.size());
}

Result<std::unique_ptr<S3Backend>> MakeS3Backend(const BackendOpenArgs& args) {
  LB_RETURN_IF_ERROR(args.options.CheckKnown("s3", S3OptionSpecs()));
  LB_ASSIGN_OR_RETURN(S3Location loc, ParseS3Address(args.address));
  const BackendOptions& o = args.options;
  EnvLookup env = [&args](std::string_view name) { return args.LookupEnv(name); };

  std::string region;
  if (std::optional<std::string> r = o.Find("s3.region")) {
    region = *r;
  } else {
    LB_ASSIGN_OR_RETURN(std::optional<std::string> configured, FindAwsRegion(env));
    region = configured.value_or("us-east-1");
  }
  BucketLookup lookup = DefaultBucketLookup(loc);
  if (std::optional<std::string> v = o.Find("s3.bucket-lookup")) {
    LB_ASSIGN_OR_RETURN(lookup, ParseBucketLookup(*v));
  }
  S3Settings s;
  LB_ASSIGN_OR_RETURN(s.storage_class, o.GetString("s3.storage-class", ""));
  LB_ASSIGN_OR_RETURN(s.lock_days, o.GetInt("s3.object-lock-days", 0, 0, 36500));
  LB_ASSIGN_OR_RETURN(std::string mode, o.GetString("s3.object-lock-mode", "governance"));
  if (mode == "governance") {
    s.lock_mode = "GOVERNANCE";
  } else if (mode == "compliance") {
    s.lock_mode = "COMPLIANCE";
  } else {
    return Status::InvalidArgument("option s3.object-lock-mode=" + mode +
                                   ": expected governance or compliance");
  }
  LB_ASSIGN_OR_RETURN(s.multipart_threshold,
                      o.GetSize("s3.multipart-threshold", kDefaultMultipartThreshold));
  LB_ASSIGN_OR_RETURN(s.part_size, o.GetSize("s3.part-size", kDefaultPartSize));
  if (s.part_size < kMinPartSize) {
    return Status::InvalidArgument("option s3.part-size=" + *o.Find("s3.part-size") +
                                   ": S3 parts are at least 5M");
  }
  if (s.multipart_threshold < s.part_size) s.multipart_threshold = s.part_size;
  LB_ASSIGN_OR_RETURN(s.connections, ConnectionsOption(o, "s3", kDefaultConnections));

  LB_ASSIGN_OR_RETURN(AwsCredentials credentials, FindAwsCredentials(env));
  HttpClientOptions http;
  http.context = args.context;
  http.max_connections = s.connections;
  LB_ASSIGN_OR_RETURN(http.ca_file, o.GetString("s3.ca-file", ""));
  http.ca_file_option = "s3.ca-file";
  HttpClientOptions cleanup_http = http;
  cleanup_http.context = Context();
  cleanup_http.max_connections = 1;
  cleanup_http.connect_timeout = std::chrono::seconds(5);
  cleanup_http.stall_time = std::chrono::seconds(10);
  LB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create(std::move(http)));
  LB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> cleanup_client,
                      HttpClient::Create(std::move(cleanup_http)));

  S3ClientConfig c;
  c.endpoint = MakeS3Endpoint(loc, lookup, region);
  c.bucket = loc.bucket;
  c.keys = std::move(credentials.keys);
  c.credentials_source = std::move(credentials.source);
  c.scope = SigV4Scope{region, "s3"};
  c.sign_payload = loc.scheme == "http";
  auto cleanup = std::make_unique<S3Client>(std::move(cleanup_client), c);
  auto backend = std::make_unique<S3Backend>(
      std::make_unique<S3Client>(std::move(client), std::move(c)), std::move(cleanup),
      RedactLocation(args.location), loc.prefix, std::move(s));
  return backend;
}

}  // namespace

std::span<const BackendOptionSpec> S3OptionSpecs() { return kS3Options; }

Result<std::unique_ptr<Backend>> OpenS3Backend(const BackendOpenArgs& args) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<S3Backend> backend, MakeS3Backend(args));
  LB_ASSIGN_OR_RETURN(int64_t lock_days, args.options.GetInt("s3.object-lock-days", 0, 0, 36500));
  LB_RETURN_IF_ERROR(backend->Prepare(args.create, lock_days > 0));
  return std::unique_ptr<Backend>(std::move(backend));
}

Result<int> AbortIncompleteS3Uploads(const BackendOpenArgs& args) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<S3Backend> backend, MakeS3Backend(args));
  return backend->AbortIncompleteUploads();
}

}  // namespace lifeboat
