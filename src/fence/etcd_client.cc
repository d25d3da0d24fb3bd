#include "fence/etcd_client.h"

#include <algorithm>
#include <cstdlib>

#include "fence/internal.h"

namespace lifeboat::fence {

namespace {

using json = nlohmann::json;

constexpr int kGrpcNotFound = 5;
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcUnavailable = 14;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

int64_t EtcdInt(const json& object, std::string_view field) {
  if (!object.is_object()) return 0;
  const auto it = object.find(std::string(field));
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

std::string EtcdPrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(EtcdClientOptions options) {
  if (options.endpoints.empty()) {
    return Status::InvalidArgument("no etcd endpoint: list one in daemon.fencing.etcd.endpoints");
  }
  HttpClientOptions http;
  http.max_connections = 4;
  http.ca_file = options.ca_file;
  http.ca_file_option = "daemon.fencing.etcd.ca_file";
  http.connect_timeout = options.request_timeout;
  // A stalled answer is a hung etcd: the request's deadline stops it.
  http.stall_time = std::chrono::seconds(3600);
  LB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create(std::move(http)));
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(options), std::move(client)));
}

EtcdClient::EtcdClient(EtcdClientOptions options, std::unique_ptr<HttpClient> http)
    : options_(std::move(options)), http_(std::move(http)) {}

std::string EtcdClient::endpoint() const {
  return options_.endpoints[preferred_.load() % options_.endpoints.size()];
}

Result<json> EtcdClient::Call(std::string_view method, const json& body, const Context& ctx) {
  const std::string what = "etcd " + std::string(method);
  const std::string text = body.dump();
  const ByteView part = AsBytes(text);
  Clock& clock = ctx.clock();
  const Context overall = ctx.WithTimeout(options_.request_timeout);
  const size_t n = options_.endpoints.size();
  std::string last_error;
  while (!overall.done()) {
    const size_t first = preferred_.load();
    for (size_t i = 0; i < n && !overall.done(); ++i) {
      const size_t index = (first + i) % n;
      const std::string& endpoint = options_.endpoints[index];
      // A share of the time left, so that one hung endpoint leaves time for the others.
      const int64_t left = overall.deadline_ns() - clock.MonotonicNs();
      const int64_t tries = static_cast<int64_t>(n - i);
      const int64_t share =
          tries > 1 ? std::max(left / tries, std::min<int64_t>(left, 1'000'000'000)) : left;
      const Context attempt = overall.WithTimeout(std::chrono::nanoseconds(share));
      HttpRequest request;
      request.method = "POST";
      request.url = endpoint + "/v3/" + std::string(method);
      request.headers = {{"Content-Type", "application/json"}};
      request.body = ByteParts(&part, 1);
      request.context = &attempt;
      Result<HttpResponse> response = http_->Do(request);
      if (!response.ok()) {
        LB_RETURN_IF_ERROR(ctx.Check(what));
        const StatusCode code = response.status().code();
        if (code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded) {
          last_error = endpoint + ": " + response.status().message();
          continue;
        }
        return response.status().WithContext("etcd at " + endpoint);
      }
      const std::string answer(response->body.begin(), response->body.end());
      json j = json::parse(answer, nullptr, /*allow_exceptions=*/false);
      // lease/keepalive is a stream: its messages are {"result": ...} or {"error": ...}.
      if (!j.is_discarded() && j.is_object() && j.contains("result")) j = j["result"];
      if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object()) {
        j = j["error"];
      }
      if (response->status == 200 && !j.is_discarded() && j.is_object() && !j.contains("error") &&
          !j.contains("grpc_code")) {
        preferred_ = index;
        return j;
      }
      const int grpc =
          j.is_object()
              ? static_cast<int>(EtcdInt(j, j.contains("grpc_code") ? "grpc_code" : "code"))
              : 0;
      const std::string message =
          j.is_object() && j.contains("message") && j["message"].is_string()
              ? j["message"].get<std::string>()
              : "HTTP " + std::to_string(response->status) + " " + answer.substr(0, 300);
      if (response->status == 503 || grpc == kGrpcUnavailable || grpc == kGrpcDeadlineExceeded) {
        last_error = endpoint + ": " + message;
        continue;
      }
      preferred_ = index;
      const std::string full =
          "etcd at " + endpoint + " refused " + std::string(method) + ": " + message;
      if (grpc == kGrpcNotFound) return Status::NotFound(full);
      return Status::IOError(full + " (is it etcd 3.4 or later, with its /v3 gateway?)");
    }
    if (!overall.done()) {
      // Every endpoint failed at once (refused): a short pause before the next round.
      overall.SleepFor(std::chrono::milliseconds(200), what).IgnoreError();
    }
  }
  LB_RETURN_IF_ERROR(ctx.Check(what));
  return Status::Unavailable(
      "etcd at " + Join(options_.endpoints) + " did not answer within " +
      internal::Seconds(std::chrono::nanoseconds(options_.request_timeout).count()) +
      ": is it running? (daemon.fencing.etcd.endpoints)" +
      (last_error.empty() ? "" : "; last error: " + last_error));
}

}  // namespace lifeboat::fence
