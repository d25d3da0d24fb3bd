#include "backend/backend_options.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

constexpr BackendOptionSpec kSpecs[] = {
    {"s3.region", "REGION", "signing region"},
    {"s3.bucket-lookup", "path|dns", "bucket addressing"},
};

TEST(BackendOptionsTest, ParsesPairsAndLaterKeysWin) {
  Result<BackendOptions> o = BackendOptions::Parse({"s3.region=a", "connections=4", "s3.region=b=c"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->Find("s3.region"), "b=c");
  EXPECT_EQ(*o->GetInt("connections", 1, 1, 8), 4);
  EXPECT_EQ(*o->GetString("s3.bucket-lookup", "path"), "path");
}

TEST(BackendOptionsTest, RejectsPairsWithoutKeyOrEquals) {
  EXPECT_EQ(BackendOptions::Parse({"s3.region"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BackendOptions::Parse({"=x"}).status().code(), StatusCode::kInvalidArgument);
}

TEST(BackendOptionsTest, TypedGettersNameTheOptionOnBadValues) {
  BackendOptions o = *BackendOptions::Parse({"connections=0", "x.flag=maybe", "x.size=5Q", "x.n=1a"});
  Status s = o.GetInt("connections", 5, 1, 256).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("connections=0"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("from 1 to 256"), std::string::npos) << s.ToString();
  EXPECT_FALSE(o.GetBool("x.flag", false).ok());
  EXPECT_FALSE(o.GetSize("x.size", 0).ok());
  EXPECT_FALSE(o.GetInt("x.n", 0, 0, 10).ok());
  BackendOptions good = *BackendOptions::Parse({"x.flag=Yes", "x.size=16M"});
  EXPECT_TRUE(*good.GetBool("x.flag", false));
  EXPECT_EQ(*good.GetSize("x.size", 0), 16u << 20);
}

TEST(BackendOptionsTest, UnknownKeyOfTheSchemeIsAnErrorWithTheNearestKey) {
  BackendOptions o = *BackendOptions::Parse({"s3.regoin=x"});
  Status s = o.CheckKnown("s3", kSpecs);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("did you mean s3.region?"), std::string::npos) << s.ToString();
}

TEST(BackendOptionsTest, KeysOfOtherSchemesAndConnectionsAreAccepted) {
  BackendOptions o = *BackendOptions::Parse(
      {"sftp.identity=/k", "connections=3", "s3.connections=9", "s3.region=x"});
  EXPECT_TRUE(o.CheckKnown("s3", kSpecs).ok());
  EXPECT_FALSE(BackendOptions::Parse({"bogus=1"})->CheckKnown("s3", kSpecs).ok());
}

TEST(BackendOptionsTest, ConnectionsPrefersTheGeneralKey) {
  EXPECT_EQ(*ConnectionsOption(*BackendOptions::Parse({"s3.connections=9"}), "s3", 5), 9);
  EXPECT_EQ(*ConnectionsOption(*BackendOptions::Parse({"connections=3", "s3.connections=9"}),
                               "s3", 5),
            3);
  EXPECT_EQ(*ConnectionsOption(BackendOptions(), "s3", 5), 5);
  EXPECT_FALSE(ConnectionsOption(*BackendOptions::Parse({"connections=999"}), "s3", 5).ok());
}

TEST(BackendOptionsTest, SiteEnvironmentComesBeforeTheProcessEnvironment) {
  ::setenv("LIFEBOAT_OPTIONS_TEST_VAR", "process", 1);
  BackendOpenArgs args;
  EXPECT_EQ(args.LookupEnv("LIFEBOAT_OPTIONS_TEST_VAR"), "process");
  args.env["LIFEBOAT_OPTIONS_TEST_VAR"] = "site";
  EXPECT_EQ(args.LookupEnv("LIFEBOAT_OPTIONS_TEST_VAR"), "site");
  EXPECT_EQ(args.LookupEnv("LIFEBOAT_OPTIONS_TEST_UNSET_VAR"), std::nullopt);
}

TEST(BackendOptionsTest, RedactLocationHidesOnlyThePassword) {
  EXPECT_EQ(RedactLocation("rest:http://alice:s3cret@127.0.0.1:8000/repo"),
            "rest:http://alice:***@127.0.0.1:8000/repo");
  EXPECT_EQ(RedactLocation("rest:http://127.0.0.1:8000/repo"), "rest:http://127.0.0.1:8000/repo");
  EXPECT_EQ(RedactLocation("sftp://bob@host:22//srv/repo"), "sftp://bob@host:22//srv/repo");
  EXPECT_EQ(RedactLocation("s3:https://host/bucket/a@b:c"), "s3:https://host/bucket/a@b:c");
  EXPECT_EQ(RedactLocation("/srv/repo"), "/srv/repo");
}

}  // namespace
}  // namespace lifeboat
