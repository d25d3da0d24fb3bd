// The AWS SigV4 test suite (aws-sig-v4-test-suite, as botocore ships it in
// tests/unit/auth/aws4_testsuite): service "service", region us-east-1, 20150830T123600Z and the
// example keys. Each case checks the canonical request, the string to sign and the header
// separately, so a failure says which step is wrong.
#include "backend/s3/sigv4.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

const SigV4Credentials kSuiteKeys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const SigV4Scope kSuiteScope{"us-east-1", "service"};
constexpr std::string_view kSuiteDate = "20150830T123600Z";
constexpr std::string_view kCredential =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

SigV4Request SuiteRequest(std::string method, std::string path,
                          std::vector<std::pair<std::string, std::string>> query = {}) {
  SigV4Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", std::string(kSuiteDate)}};
  r.payload_hash = std::string(kSigV4EmptyPayloadHash);
  return r;
}

void ExpectSigned(const SigV4Request& r, std::string_view creq, std::string_view sts_hash,
                  std::string_view authz_tail) {
  SigV4Signature s = SignV4(r, kSuiteKeys, kSuiteScope, kSuiteDate);
  EXPECT_EQ(s.canonical_request, creq);
  EXPECT_EQ(s.string_to_sign, std::string("AWS4-HMAC-SHA256\n20150830T123600Z\n"
                                          "20150830/us-east-1/service/aws4_request\n") +
                                  std::string(sts_hash));
  EXPECT_EQ(s.authorization, std::string(kCredential) + std::string(authz_tail));
}

TEST(SigV4Test, GetVanilla) {
  ExpectSigned(SuiteRequest("GET", "/"),
               "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
               "host;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
               "SignedHeaders=host;x-amz-date, "
               "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  ExpectSigned(SuiteRequest("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}),
               "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
               "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
               "SignedHeaders=host;x-amz-date, "
               "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, GetVanillaQueryUnreserved) {
  const std::string unreserved =
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  ExpectSigned(SuiteRequest("GET", "/", {{unreserved, unreserved}}),
               "GET\n/\n" + unreserved + "=" + unreserved +
                   "\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                   "host;x-amz-date\n"
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
               "SignedHeaders=host;x-amz-date, "
               "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

TEST(SigV4Test, GetUtf8PathIsEncodedOnceWithUppercaseHex) {
  ExpectSigned(SuiteRequest("GET", "/\xe1\x88\xb4"),
               "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
               "host;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
               "SignedHeaders=host;x-amz-date, "
               "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4Test, PostXWwwFormUrlencodedSignsTheBodyHash) {
  SigV4Request r = SuiteRequest("POST", "/");
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  r.payload_hash = Sha256Hex("Param1=value1");
  ExpectSigned(r,
               "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
               "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
               "content-type;host;x-amz-date\n"
               "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
               "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
               "SignedHeaders=content-type;host;x-amz-date, "
               "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4Test, GetHeaderValueTrim) {
  SigV4Request r = SuiteRequest("GET", "/");
  r.headers.emplace_back("My-Header1", " value1");
  r.headers.emplace_back("My-Header2", " \"a   b   c\"");
  ExpectSigned(r,
               "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\n"
               "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
               "host;my-header1;my-header2;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
               "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
               "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

constexpr std::string_view kSuiteToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIe"
    "oIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0w"
    "q5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDryp"
    "NC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

// S3 signs the session token (post-sts-header-before): the caller adds x-amz-security-token to
// the headers it signs.
TEST(SigV4Test, PostStsHeaderBefore) {
  SigV4Request r = SuiteRequest("POST", "/");
  r.headers.emplace_back("X-Amz-Security-Token", std::string(kSuiteToken));
  ExpectSigned(r,
               "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
               "x-amz-security-token:" +
                   std::string(kSuiteToken) +
                   "\n\nhost;x-amz-date;x-amz-security-token\n"
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
               "SignedHeaders=host;x-amz-date;x-amz-security-token, "
               "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

// post-sts-header-after: the token added after signing is not part of the signature.
TEST(SigV4Test, PostStsHeaderAfter) {
  ExpectSigned(SuiteRequest("POST", "/"),
               "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
               "host;x-amz-date\n"
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
               "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
               "SignedHeaders=host;x-amz-date, "
               "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Test, RepeatedHeadersJoinInOrder) {
  SigV4Request r = SuiteRequest("GET", "/");
  r.headers.emplace_back("My-Header1", "value2");
  r.headers.emplace_back("my-header1", "value1");
  SigV4Signature s = SignV4(r, kSuiteKeys, kSuiteScope, kSuiteDate);
  EXPECT_NE(s.canonical_request.find("my-header1:value2,value1\n"), std::string::npos);
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(UriEncodePath("/bucket/a b/c+d"), "/bucket/a%20b/c%2Bd");
  EXPECT_EQ(SigV4UriEncode("a/b=c&d", false), "a%2Fb%3Dc%26d");
  EXPECT_EQ(CanonicalQueryString({{"prefix", "p/data/"}, {"list-type", "2"}, {"uploads", ""}}),
            "list-type=2&prefix=p%2Fdata%2F&uploads=");
}

TEST(SigV4Test, DigestsAndDates) {
  EXPECT_EQ(Sha256Hex(""), kSigV4EmptyPayloadHash);
  // printf 'hello\n' | openssl md5 -binary | base64
  EXPECT_EQ(ContentMd5(ByteParts(std::vector<ByteView>{AsBytes("hel"), AsBytes("lo\n")})),
            "sZRqySSS0jR8YjW00mERhA==");
  EXPECT_EQ(AmzDate(std::chrono::system_clock::from_time_t(1440938160)), "20150830T123600Z");
}

}  // namespace
}  // namespace lifeboat
