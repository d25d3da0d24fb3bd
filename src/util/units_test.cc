#include "util/units.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>

namespace lifeboat {
namespace {

using std::chrono::seconds;

// --- sizes ---

TEST(ParseSizeTest, NumbersWithoutAUnitAreBytes) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("1"), 1u);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("007"), 7u);
  EXPECT_EQ(*ParseSize("4096b"), 4096u);
  EXPECT_EQ(*ParseSize("1B"), 1u);
}

TEST(ParseSizeTest, EveryUnitIsAPowerOf1024InEverySpelling) {
  const char* spellings[][3] = {{"k", "kb", "kib"}, {"m", "mb", "mib"}, {"g", "gb", "gib"},
                                {"t", "tb", "tib"}, {"p", "pb", "pib"}};
  for (int power = 1; power <= 5; ++power) {
    for (const char* unit : spellings[power - 1]) {
      std::string lower = std::string("3") + unit;
      std::string upper = lower;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const uint64_t want = uint64_t{3} << (10 * power);
      EXPECT_EQ(*ParseSize(lower), want) << lower;
      EXPECT_EQ(*ParseSize(upper), want) << upper;
    }
  }
  EXPECT_EQ(*ParseSize("3KiB"), 3072u);
  EXPECT_EQ(*ParseSize("500M"), uint64_t{500} << 20);
  EXPECT_EQ(*ParseSize("500MB"), uint64_t{500} << 20) << "KB/MB are binary, as in restic";
  EXPECT_EQ(*ParseSize("2G"), uint64_t{2} << 30);
}

TEST(ParseSizeTest, FractionsRoundDownToAWholeByte) {
  EXPECT_EQ(*ParseSize("1.5GiB"), uint64_t{3} << 29);
  EXPECT_EQ(*ParseSize("0.5k"), 512u);
  EXPECT_EQ(*ParseSize("1.1K"), 1126u);  // 1126.4
  EXPECT_EQ(*ParseSize("0.0001K"), 0u);  // 0.1024
  EXPECT_EQ(*ParseSize("1.000000000000000000000001P"), uint64_t{1} << 50);
  EXPECT_EQ(*ParseSize("0.999999999999999999999P"), (uint64_t{1} << 50) - 1);
}

TEST(ParseSizeTest, BlanksAroundAreIgnored) {
  EXPECT_EQ(*ParseSize(" 2G\t"), uint64_t{2} << 30);
  EXPECT_EQ(*ParseSize("\n12\n"), 12u);
}

TEST(ParseSizeTest, LimitIsTwoToTheSixtyThreeMinusOne) {
  EXPECT_EQ(*ParseSize("9223372036854775807"), kMaxSize);
  EXPECT_EQ(*ParseSize("8191.999999999999999P"), kMaxSize - 1);  // 2^63 - 2.13: rounds down
  EXPECT_EQ(*ParseSize("8191.9999999999999999P"), kMaxSize);     // 2^63 - 0.11
  EXPECT_EQ(*ParseSize("8388607T"), uint64_t{8388607} << 40);
  for (const char* big : {"9223372036854775808", "8192P", "8388608T", "8E",
                          "99999999999999999999999999999", "18446744073709551616K"}) {
    auto r = ParseSize(big);
    ASSERT_FALSE(r.ok()) << big << " = " << *r;
    if (std::string(big) == "8E") continue;  // E (exa) is not a unit
    EXPECT_NE(r.status().message().find("larger than the largest size"), std::string::npos)
        << r.status().message();
  }
}

TEST(ParseSizeTest, RejectsWithAMessageThatShowsTheForm) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "it is empty"},
      {"  ", "it is empty"},
      {"-1", "cannot be negative"},
      {"-5M", "cannot be negative"},
      {"+5M", "expected a number at \"+5M\""},
      {"M", "expected a number"},
      {".5M", "expected a number"},
      {"5.M", "expected digits after '.'"},
      {"1.2.3M", "unknown unit \".3M\""},
      {"1.5", "must be whole"},
      {"1.5B", "must be whole"},
      {"12Mi", "unknown unit \"Mi\""},
      {"5X", "unknown unit \"X\""},
      {"5KK", "unknown unit \"KK\""},
      {"1e6", "unknown unit \"e6\""},
      {"12 M", "blanks inside"},
      {"0x10", "unknown unit \"x10\""},
  };
  for (const auto& c : cases) {
    auto r = ParseSize(c.text);
    ASSERT_FALSE(r.ok()) << "accepted \"" << c.text << "\" as " << *r;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.text;
    const std::string m = r.status().message();
    EXPECT_NE(m.find(c.says), std::string::npos) << c.text << ": " << m;
    EXPECT_NE(m.find("invalid size \"" + std::string(c.text) + "\""), std::string::npos) << m;
    EXPECT_NE(m.find("e.g. 4096, 500M, 2G, 1.5GiB"), std::string::npos) << m;
  }
}

TEST(FormatBytesTest, BinaryUnitsWithTwoDecimals) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{2} << 30), "2.00 GiB");
  EXPECT_EQ(FormatBytes(uint64_t{3} << 60), "3072.00 PiB");
}

// --- durations ---

TEST(ParseDurationTest, MIsMinutes) {
  struct Case {
    const char* text;
    int64_t secs;
  } cases[] = {
      {"0s", 0},         {"90s", 90},           {"15m", 900},          {"2h", 7200},
      {"1d", 86400},     {"2w", 1209600},       {"1h30m", 5400},       {"30m1h", 5400},
      {"1w2d3h4m5s", 788645}, {" 10m\t", 600},  {"007s", 7},           {"0m0s", 0},
      {"36500d", 3153600000}, {"5214w2d", 3153600000}, {"3153600000s", 3153600000},
  };
  for (const auto& c : cases) {
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, seconds(c.secs)) << c.text;
  }
}

TEST(ParseDurationTest, RejectsWithAMessageThatShowsTheForm) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "it is empty"},
      {" \t", "it is empty"},
      {"30", "the number 30 has no unit"},  // seconds or minutes? the reader cannot tell
      {"1h30", "the number 30 has no unit"},
      {"-1s", "cannot be negative"},
      {"1h-5m", "cannot be negative"},
      {"+5m", "expected a number at \"+5m\""},
      {"m", "expected a number at \"m\""},
      {"1.5h", "only whole numbers"},
      {"5x", "unknown unit 'x'"},
      {"5M", "unknown unit 'M'"},  // months? minutes? neither: units are lowercase
      {"5H", "unknown unit 'H'"},
      {"1y", "unknown unit 'y'"},
      {"100ms", "expected a number at \"s\""},
      {"5\xc2\xb5s", "unknown unit at \"\xc2\xb5s\""},
      {"1h 30m", "blanks inside"},
      {"1 h", "blanks inside"},
      {"5m5m", "the unit 'm' appears twice"},
      {"36500d1s", "longer than 36500d"},
      {"5215w", "longer than 36500d"},
      {"3153600001s", "is larger than 3153600000"},
      {"99999999999999999999999s", "is larger than"},
  };
  for (const auto& c : cases) {
    auto d = ParseDuration(c.text);
    ASSERT_FALSE(d.ok()) << "accepted \"" << c.text << "\" as " << d->count() << " s";
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << c.text;
    const std::string m = d.status().message();
    EXPECT_NE(m.find(c.says), std::string::npos) << c.text << ": " << m;
    EXPECT_NE(m.find("invalid duration \"" + std::string(c.text) + "\""), std::string::npos) << m;
    EXPECT_NE(m.find("m = minutes"), std::string::npos) << m;
    EXPECT_NE(m.find("e.g. 90s, 15m, 1h30m, 7d"), std::string::npos) << m;
  }
}

TEST(ParseDurationTest, ToStringRoundTrips) {
  EXPECT_EQ(DurationToString(seconds(0)), "0s");
  EXPECT_EQ(DurationToString(seconds(5400)), "1h30m");
  EXPECT_EQ(DurationToString(seconds(788645)), "1w2d3h4m5s");
  EXPECT_EQ(DurationToString(seconds(86400)), "1d");
  for (int64_t s : {int64_t{0}, int64_t{1}, int64_t{59}, int64_t{61}, int64_t{3600},
                    int64_t{90061}, int64_t{604800}, kMaxDuration.count()}) {
    auto back = ParseDuration(DurationToString(seconds(s)));
    ASSERT_TRUE(back.ok()) << s << ": " << back.status().ToString();
    EXPECT_EQ(*back, seconds(s));
  }
}

// --- the shared tokeniser ---

TEST(SplitDurationPartsTest, PartsInTheOrderWritten) {
  auto parts = SplitDurationParts("4h3d", "dh", 100);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(*parts, (std::vector<DurationPart>{{4, 'h'}, {3, 'd'}}));
  EXPECT_EQ(*SplitDurationParts("100d", "d", 100), (std::vector<DurationPart>{{100, 'd'}}));
  EXPECT_EQ(*SplitDurationParts("0d", "d", 0), (std::vector<DurationPart>{{0, 'd'}}));
}

TEST(SplitDurationPartsTest, ReasonsOnly) {
  auto r = SplitDurationParts("101d", "d", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the number at \"101d\" is larger than 100");
  r = SplitDurationParts("1d2", "d", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the number 2 has no unit");
  r = SplitDurationParts("18446744073709551616d", "d", UINT64_MAX);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "the number at \"18446744073709551616d\" is larger than 18446744073709551615");
  EXPECT_EQ(SplitDurationParts("18446744073709551615d", "d", UINT64_MAX)->at(0).number,
            UINT64_MAX);
}

}  // namespace
}  // namespace lifeboat
