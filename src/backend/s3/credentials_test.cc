#include "backend/s3/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace lifeboat {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-aws-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    std::filesystem::create_directories(home_ + "/.aws");
    vars_["HOME"] = home_;
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(home_ + "/.aws/" + name) << text;
  }
  // Only vars_: the process environment (which may hold real AWS variables) is never read.
  EnvLookup Env() {
    return [this](std::string_view n) -> std::optional<std::string> {
      auto it = vars_.find(std::string(n));
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
  }

  std::string home_;
  std::map<std::string, std::string> vars_;
};

TEST_F(CredentialsTest, EnvironmentComesFirst) {
  Write("credentials", "[default]\naws_access_key_id = FILEID\naws_secret_access_key = filesecret\n");
  vars_["AWS_ACCESS_KEY_ID"] = "ENVID";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  vars_["AWS_SESSION_TOKEN"] = "envtoken";
  Result<AwsCredentials> c = FindAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "ENVID");
  EXPECT_EQ(c->keys.secret_access_key, "envsecret");
  EXPECT_EQ(c->keys.session_token, "envtoken");
}

TEST_F(CredentialsTest, HalfOfTheEnvironmentPairIsAnErrorWithoutTheSecret) {
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  Result<AwsCredentials> c = FindAwsCredentials(Env());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID is not"), std::string::npos);
  EXPECT_EQ(c.status().message().find("envsecret"), std::string::npos);
}

TEST_F(CredentialsTest, DefaultProfileFromTheCredentialsFile) {
  Write("credentials",
        "# comment\n[other]\naws_access_key_id = OTHER\naws_secret_access_key = o\n\n"
        "[default]\r\naws_access_key_id = FILEID\r\naws_secret_access_key = file/secret+=\r\n"
        "aws_session_token = tok\r\n");
  Result<AwsCredentials> c = FindAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "FILEID");
  EXPECT_EQ(c->keys.secret_access_key, "file/secret+=");
  EXPECT_EQ(c->keys.session_token, "tok");
  EXPECT_EQ(c->source, "profile default in " + home_ + "/.aws/credentials");
}

TEST_F(CredentialsTest, AwsProfileAndSharedCredentialsFileSelect) {
  Write("elsewhere", "[work]\naws_access_key_id = WORK\naws_secret_access_key = w\n");
  Write("credentials", "[work]\naws_access_key_id = WRONG\naws_secret_access_key = x\n");
  vars_["AWS_PROFILE"] = "work";
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = home_ + "/.aws/elsewhere";
  Result<AwsCredentials> c = FindAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "WORK");
}

TEST_F(CredentialsTest, ConfigFileProfileSectionsHaveThePrefix) {
  Write("config",
        "[default]\nregion = eu-west-1\n[profile work]\nregion = eu-central-1\n"
        "s3 =\n  addressing_style = path\naws_access_key_id = CFGID\naws_secret_access_key = c\n");
  vars_["AWS_PROFILE"] = "work";
  Result<AwsCredentials> c = FindAwsCredentials(Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "CFGID");
  Result<std::optional<std::string>> region = FindAwsRegion(Env());
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->value_or(""), "eu-central-1");

  vars_.erase("AWS_PROFILE");
  region = FindAwsRegion(Env());
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->value_or(""), "eu-west-1");
}

TEST_F(CredentialsTest, RegionFromTheEnvironmentFirst) {
  Write("config", "[default]\nregion = eu-west-1\n");
  vars_["AWS_DEFAULT_REGION"] = "ap-south-1";
  EXPECT_EQ(FindAwsRegion(Env())->value_or(""), "ap-south-1");
  vars_["AWS_REGION"] = "us-west-2";
  EXPECT_EQ(FindAwsRegion(Env())->value_or(""), "us-west-2");
}

TEST_F(CredentialsTest, NoRegionAnywhereIsNullopt) {
  Result<std::optional<std::string>> region = FindAwsRegion(Env());
  ASSERT_TRUE(region.ok());
  EXPECT_FALSE(region->has_value());
}

TEST_F(CredentialsTest, NothingFoundNamesTheVariablesAndFiles) {
  Write("credentials", "[default]\nregion = nothing-here\n");
  Result<AwsCredentials> c = FindAwsCredentials(Env());
  ASSERT_EQ(c.status().code(), StatusCode::kPermissionDenied);
  const std::string m = c.status().message();
  EXPECT_NE(m.find("AWS_ACCESS_KEY_ID"), std::string::npos) << m;
  EXPECT_NE(m.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << m;
  EXPECT_NE(m.find(home_ + "/.aws/credentials"), std::string::npos) << m;
  EXPECT_NE(m.find(home_ + "/.aws/config (missing)"), std::string::npos) << m;
}

TEST_F(CredentialsTest, ProfileWithOnlyOneKeyIsAnError) {
  Write("credentials", "[default]\naws_access_key_id = ID\n");
  EXPECT_EQ(FindAwsCredentials(Env()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat
