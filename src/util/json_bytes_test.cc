#include "util/json_bytes.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(JsonBytesTest, EveryByteValueRoundTrips) {
  // Each byte alone, and all 256 in one name.
  std::string all;
  for (int b = 0; b < 256; ++b) {
    std::string one(1, static_cast<char>(b));
    all += one;
    nlohmann::json j = nlohmann::json::object();
    PutBytes(j, "name", one);
    EXPECT_EQ(j.contains("name_raw"), b >= 0x80) << b;
    auto text = DumpJson(j);
    auto back = GetBytes(nlohmann::json::parse(text), "name");
    ASSERT_TRUE(back.ok()) << b;
    EXPECT_EQ(*back, one) << b;
  }
  nlohmann::json j = nlohmann::json::object();
  PutBytes(j, "path", all);
  auto back = GetBytes(nlohmann::json::parse(DumpJson(j)), "path");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(JsonBytesTest, TheDocumentedExample) {
  nlohmann::json j = nlohmann::json::object();
  PutBytes(j, "path", std::string("/x/bad\xff") + "dir");
  EXPECT_EQ(DumpJson(j), "{\"path\":\"/x/bad" + kFffd + "dir\",\"path_raw\":\"L3gvYmFk/2Rpcg==\"}");
}

TEST(JsonBytesTest, ValidUtf8IsKeptAsIs) {
  for (std::string s :
       {std::string(""), std::string("plain"), std::string("caf\xC3\xA9"),
        std::string("\xE2\x82\xAC"), std::string("\xF0\x9F\x98\x80"),
        std::string("\xF4\x8F\xBF\xBF"), std::string("\xED\x9F\xBF"), std::string("a\0b", 3)}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(ToValidUtf8(s), s);
    nlohmann::json j = nlohmann::json::object();
    PutBytes(j, "n", s);
    EXPECT_FALSE(j.contains("n_raw"));
  }
}

TEST(JsonBytesTest, IllFormedSequencesAreReplacedPerMaximalSubpart) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"\xFF", kFffd},
      {"\x80", kFffd},
      {"\xC0\xAF", kFffd + kFffd},              // overlong '/': C0 never starts a sequence
      {"\xC1\xBF", kFffd + kFffd},              // overlong
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},  // overlong 3-byte form
      {"\xF0\x80\x80\xAF", kFffd + kFffd + kFffd + kFffd},  // overlong 4-byte form
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},              // U+D800, a surrogate
      {"\xED\xBF\xBF", kFffd + kFffd + kFffd},              // U+DFFF
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\xF5\x80", kFffd + kFffd},
      {"\xE2\x82", kFffd},  // truncated: one subpart
      {"\xE2\x82x", kFffd + "x"},
      {"\xF0\x9F\x98", kFffd},
      {"a\xC3", "a" + kFffd},
      {"\xC3\xA9\xFF\xC3\xA9", "\xC3\xA9" + kFffd + "\xC3\xA9"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(IsValidUtf8(c.in)) << c.out;
    EXPECT_EQ(ToValidUtf8(c.in), c.out);
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(c.in)));
    nlohmann::json j = nlohmann::json::object();
    PutBytes(j, "n", c.in);
    EXPECT_EQ(j["n"], c.out);
    auto back = GetBytes(nlohmann::json::parse(DumpJson(j)), "n");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c.in);
  }
}

TEST(JsonBytesTest, Base64IsStandardPaddedAndCanonical) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("\xff\xfe\xfd"), "//79");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  for (std::string bad :
       {"Zg", "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm 9", "Zm-_", "====", "Zm9v\n"})
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << bad;
}

TEST(JsonBytesTest, ArraysGetAParallelRawArrayOnlyWhenNeeded) {
  nlohmann::json j = nlohmann::json::object();
  PutBytesArray(j, "paths", {"/a", "/b"});
  EXPECT_FALSE(j.contains("paths_raw"));
  PutBytesArray(j, "paths", {"/a", "/bad\xff"});
  ASSERT_TRUE(j.contains("paths_raw"));
  EXPECT_EQ(j["paths_raw"], nlohmann::json({"L2E=", "L2JhZP8="}));
  EXPECT_EQ(j["paths"][1], "/bad" + kFffd);
  auto back = GetBytesArray(nlohmann::json::parse(DumpJson(j)), "paths");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<std::string>{"/a", "/bad\xff"}));

  auto missing = GetBytesArray(nlohmann::json::object(), "paths");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
}

TEST(JsonBytesTest, BadRawFieldsAreCorruption) {
  for (const char* text :
       {R"({"paths":["/a"],"paths_raw":[]})", R"({"paths":["/a"],"paths_raw":["L2E"]})",
        R"({"paths":["/a"],"paths_raw":[1]})", R"({"paths":["/a"],"paths_raw":"L2E="})",
        R"({"paths_raw":["L2E="]})", R"({"paths":"/a"})", R"({"paths":[1]})"}) {
    auto r = GetBytesArray(nlohmann::json::parse(text), "paths");
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << text;
  }
  EXPECT_EQ(GetBytes(nlohmann::json::parse(R"({"p":"x","p_raw":"!"})"), "p").status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(GetBytes(nlohmann::json::parse(R"({"p":1})"), "p").status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(GetBytes(nlohmann::json::object(), "p").status().code(), StatusCode::kNotFound);
}

TEST(JsonBytesTest, DumpNeverThrows) {
  nlohmann::json j = {{"message", std::string("cannot open /x/bad\xff") + "dir"},
                      {"list", {"\xfe", "ok"}}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  std::string text;
  ASSERT_NO_THROW(text = DumpJson(j));
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_NE(text.find("/x/bad" + kFffd + "dir"), std::string::npos) << text;
  EXPECT_TRUE(nlohmann::json::accept(DumpJson(j, 2)));
}

}  // namespace
}  // namespace lifeboat
