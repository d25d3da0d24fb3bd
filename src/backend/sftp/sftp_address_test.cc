// Tests of ParseSftpAddress: restic's location forms, and the malformed ones it refuses.
#include "backend/sftp/sftp_address.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

SftpAddress Parse(std::string_view address) {
  Result<SftpAddress> a = ParseSftpAddress(address);
  EXPECT_TRUE(a.ok()) << address << ": " << a.status().ToString();
  return a.ok() ? *a : SftpAddress{};
}

TEST(SftpAddressTest, ScpFormAbsoluteAndRelative) {
  EXPECT_EQ(Parse("backup@nas:/srv/repo"), (SftpAddress{"backup", "nas", 0, "/srv/repo"}));
  EXPECT_EQ(Parse("nas:/srv/repo/"), (SftpAddress{"", "nas", 0, "/srv/repo"}));
  EXPECT_EQ(Parse("nas:repo"), (SftpAddress{"", "nas", 0, "repo"}));
  EXPECT_EQ(Parse("u@nas:backups/repo"), (SftpAddress{"u", "nas", 0, "backups/repo"}));
  EXPECT_EQ(Parse("u@[::1]:/srv/repo"), (SftpAddress{"u", "::1", 0, "/srv/repo"}));
  // A ':' inside the path is part of the path.
  EXPECT_EQ(Parse("nas:/srv/a:b"), (SftpAddress{"", "nas", 0, "/srv/a:b"}));
}

TEST(SftpAddressTest, UrlFormOneSlashIsRelativeTwoAreAbsolute) {
  EXPECT_EQ(Parse("//backup@nas:2222//srv/repo"),
            (SftpAddress{"backup", "nas", 2222, "/srv/repo"}));
  EXPECT_EQ(Parse("//nas/repo"), (SftpAddress{"", "nas", 0, "repo"}));
  EXPECT_EQ(Parse("//nas:22/repo/"), (SftpAddress{"", "nas", 22, "repo"}));
  EXPECT_EQ(Parse("//u@[::1]:2222//srv/repo"), (SftpAddress{"u", "::1", 2222, "/srv/repo"}));
  EXPECT_EQ(Parse("//[fe80::1]//r"), (SftpAddress{"", "fe80::1", 0, "/r"}));
  EXPECT_EQ(Parse("//lifeboat-test//"), (SftpAddress{"", "lifeboat-test", 0, "/"}));
}

TEST(SftpAddressTest, MalformedAddressesAreInvalidArgumentNamingTheForms) {
  for (std::string_view bad :
       {"", "nas", "nas:", "@nas:/r", "u@:/r", "//nas", "//nas/", "//nas:/r", "//nas:0//r",
        "//nas:65536//r", "//nas:22x//r", "//[::1//r", "[::1]/r", "//@nas//r"}) {
    Result<SftpAddress> a = ParseSftpAddress(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(a.status().message().find("sftp://[USER@]HOST[:PORT]//ABSOLUTE/PATH"),
              std::string::npos)
        << a.status().message();
  }
  EXPECT_FALSE(ParseSftpAddress(std::string_view("nas:/r\0x", 8)).ok());
}

}  // namespace
}  // namespace lifeboat
