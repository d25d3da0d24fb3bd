#include "fence/etcd_txn.h"

#include "fence/etcd_client.h"
#include "util/json_bytes.h"

namespace lifeboat::fence::internal {

using json = nlohmann::json;

json CompareEqual(const char* target, const std::string& key, const char* field,
                  const std::string& value) {
  return json{{"target", target}, {"key", Base64Encode(key)}, {field, value}, {"result", "EQUAL"}};
}

json PutOp(const std::string& key, const std::string& value, int64_t lease) {
  json put{{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  return json{{"request_put", put}};
}

json RangeOp(const std::string& key, bool prefix) {
  json range{{"key", Base64Encode(key)}};
  if (prefix) range["range_end"] = Base64Encode(EtcdPrefixEnd(key));
  return json{{"request_range", range}};
}

Result<std::vector<KeyValue>> ParseKvs(const json& range_response) {
  std::vector<KeyValue> out;
  if (!range_response.is_object() || !range_response.contains("kvs")) return out;
  for (const json& kv : range_response["kvs"]) {
    KeyValue one;
    std::optional<std::string> key = kv.contains("key") && kv["key"].is_string()
                                         ? Base64Decode(kv["key"].get<std::string>())
                                         : std::nullopt;
    std::optional<std::string> value = !kv.contains("value") ? std::optional<std::string>("")
                                       : kv["value"].is_string()
                                           ? Base64Decode(kv["value"].get<std::string>())
                                           : std::nullopt;
    if (!key || !value) {
      return Status::Corruption("etcd answered a key or value that is not base64: " +
                                kv.dump().substr(0, 200));
    }
    one.key = std::move(*key);
    one.value = std::move(*value);
    one.create_revision = EtcdInt(kv, "create_revision");
    one.mod_revision = EtcdInt(kv, "mod_revision");
    one.lease = EtcdInt(kv, "lease");
    out.push_back(std::move(one));
  }
  return out;
}

const json& TxnRange(const json& txn_answer, size_t i) {
  static const json kEmpty = json::object();
  if (!txn_answer.contains("responses") || !txn_answer["responses"].is_array() ||
      txn_answer["responses"].size() <= i || !txn_answer["responses"][i].contains("response_range"))
    return kEmpty;
  return txn_answer["responses"][i]["response_range"];
}

}  // namespace lifeboat::fence::internal
