#include "fence/etcd_txn.h"

#include <gtest/gtest.h>

#include "fence/etcd_client.h"
#include "util/json_bytes.h"

namespace lifeboat::fence {
namespace {

using json = nlohmann::json;

TEST(EtcdTxnTest, PrefixEndAndIntegers) {
  EXPECT_EQ(EtcdPrefixEnd("/lb/active/"), "/lb/active0");
  EXPECT_EQ(EtcdPrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(EtcdPrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(EtcdInt(json{{"revision", "12"}}, "revision"), 12);
  EXPECT_EQ(EtcdInt(json{{"revision", 7}}, "revision"), 7);
  EXPECT_EQ(EtcdInt(json{{"TTL", "5"}}, "ttl"), 0);  // the gateway leaves zero values out
  EXPECT_EQ(EtcdInt(json::object(), "TTL"), 0);
}

TEST(EtcdTxnTest, OperationsAreBase64) {
  EXPECT_EQ(internal::CompareEqual("MOD", "/k", "mod_revision", "3"),
            (json{{"target", "MOD"}, {"key", "L2s="}, {"mod_revision", "3"}, {"result", "EQUAL"}}));
  EXPECT_EQ(internal::PutOp("/k", "v", 0),
            (json{{"request_put", {{"key", "L2s="}, {"value", "dg=="}}}}));
  EXPECT_EQ(internal::PutOp("/k", "v", 42)["request_put"]["lease"], "42");
  EXPECT_EQ(internal::RangeOp("/k/", true)["request_range"]["range_end"], Base64Encode("/k0"));
}

TEST(EtcdTxnTest, ParsesKvsOfATxnAnswer) {
  const json answer = json::parse(R"({"header":{"revision":"9"},"responses":[
    {"response_range":{"kvs":[{"key":"L2xiL21lbWJlcnMvYQ==","create_revision":"2",
      "mod_revision":"5","version":"1","value":"eyJ4IjoxfQ==","lease":"77"}],"count":"1"}},
    {"response_range":{}}]})");
  Result<std::vector<internal::KeyValue>> kvs = internal::ParseKvs(internal::TxnRange(answer, 0));
  ASSERT_TRUE(kvs.ok());
  ASSERT_EQ(kvs->size(), 1u);
  EXPECT_EQ((*kvs)[0].key, "/lb/members/a");
  EXPECT_EQ((*kvs)[0].value, "{\"x\":1}");
  EXPECT_EQ((*kvs)[0].create_revision, 2);
  EXPECT_EQ((*kvs)[0].mod_revision, 5);
  EXPECT_EQ((*kvs)[0].lease, 77);
  EXPECT_TRUE(internal::ParseKvs(internal::TxnRange(answer, 1))->empty());
  EXPECT_TRUE(internal::ParseKvs(internal::TxnRange(answer, 5))->empty());
  EXPECT_EQ(internal::ParseKvs(json{{"kvs", {{{"key", "%%%"}}}}}).status().code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace lifeboat::fence
