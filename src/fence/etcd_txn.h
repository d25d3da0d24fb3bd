// Building blocks of etcd 3.4 gateway transactions (POST /v3/kv/txn) and reading their answers.
// Internal to src/fence.
//
//   json txn = {{"compare", json::array({CompareEqual("MOD", key, "mod_revision", "7")})},
//               {"success", json::array({PutOp(key, value, 0)})},
//               {"failure", json::array({RangeOp(key)})}};
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace lifeboat::fence::internal {

// {"target": TARGET, "key": base64(key), FIELD: VALUE, "result": "EQUAL"}; TARGET is "CREATE"
// (field create_revision), "MOD" (mod_revision) or "LEASE" (lease).
nlohmann::json CompareEqual(const char* target, const std::string& key, const char* field,
                            const std::string& value);
// {"request_put": {key, value, lease}} (no lease when 0).
nlohmann::json PutOp(const std::string& key, const std::string& value, int64_t lease);
// {"request_range": {key[, range_end]}}: one key, or every key below `key` as a prefix.
nlohmann::json RangeOp(const std::string& key, bool prefix = false);

struct KeyValue {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, lease = 0;
};
// The kvs of a range answer (kv/range's, or one of a txn's "response_range"). Corruption when a
// key or value is not base64.
Result<std::vector<KeyValue>> ParseKvs(const nlohmann::json& range_response);
// The i-th response_range of a txn answer (its "responses"), or {} when absent.
const nlohmann::json& TxnRange(const nlohmann::json& txn_answer, size_t i);

}  // namespace lifeboat::fence::internal
