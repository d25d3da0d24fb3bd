// Tests for master keys, password-wrapped key files (§2.2) and the RFC 3339 time helpers.

#include "repository/keys.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace lifeboat {
namespace {

constexpr KdfParams kFastKdf{1024, 8, 1};

bool SameKey(const MasterKey& a, const MasterKey& b) {
  return a.enc.bytes == b.enc.bytes && a.id.bytes == b.id.bytes &&
         a.chunker.bytes == b.chunker.bytes;
}

TEST(KeysTest, GenerateGivesDistinctKeys) {
  MasterKey a = MasterKey::Generate(), b = MasterKey::Generate();
  EXPECT_FALSE(SameKey(a, b));
  EXPECT_NE(a.enc.bytes, a.id.bytes);
  EXPECT_NE(a.id.bytes, a.chunker.bytes);
}

TEST(KeysTest, CreateAndOpen) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "correct horse", kFastKdf);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto back = OpenKeyFile(*file, "correct horse");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(SameKey(mk, *back));

  auto info = ParseKeyFileInfo(*file);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, 1u);
  EXPECT_EQ(info->kdf, "scrypt");
  EXPECT_EQ(info->params.n, 1024u);
  EXPECT_EQ(info->params.r, 8u);
  EXPECT_EQ(info->params.p, 1u);
  EXPECT_EQ(info->hostname, Hostname());
  EXPECT_EQ(info->username, Username());
  EXPECT_FALSE(info->append_only);
  auto created = ParseTime(info->created);
  ASSERT_TRUE(created.ok()) << info->created;
  EXPECT_LE(std::llabs(*created - NowNs()), 60LL * 1000000000);

  // The file is JSON with the documented fields; the master key does not appear in it.
  auto j = nlohmann::json::parse(file->begin(), file->end());
  EXPECT_EQ(j.at("salt").get<std::string>().size(), 64u);
  EXPECT_EQ(j.at("data").get<std::string>().size(), 2 * (97 + 41u));
  std::string text(file->begin(), file->end());
  EXPECT_EQ(text.find(HexEncode(mk.enc.bytes)), std::string::npos);
}

TEST(KeysTest, SamePasswordTwiceGivesDifferentFiles) {
  MasterKey mk = MasterKey::Generate();
  auto a = CreateKeyFile(mk, "pw", kFastKdf);
  auto b = CreateKeyFile(mk, "pw", kFastKdf);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);  // fresh salt and seal seed
  auto ka = OpenKeyFile(*a, "pw");
  auto kb = OpenKeyFile(*b, "pw");
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_TRUE(SameKey(*ka, *kb));
}

TEST(KeysTest, WrongPasswordIsUnauthenticated) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "right", kFastKdf);
  ASSERT_TRUE(file.ok());
  for (std::string_view pw : {"wrong", "", "Right", "right ", "righ"}) {
    auto back = OpenKeyFile(*file, pw);
    EXPECT_EQ(back.status().code(), StatusCode::kUnauthenticated) << pw;
  }
  // An empty password works if it is the one the file was made with.
  auto empty = CreateKeyFile(mk, "", kFastKdf);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(OpenKeyFile(*empty, "").ok());
}

TEST(KeysTest, EveryBitFlipInAKeyFileNeverYieldsADifferentKey) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "pw", kFastKdf);
  ASSERT_TRUE(file.ok());
  std::string text(file->begin(), file->end());
  size_t data_at = text.find("\"data\":\"") + 8;
  size_t salt_at = text.find("\"salt\":\"") + 8;
  size_t failed = 0, same = 0;
  for (size_t bit = 0; bit < file->size() * 8; ++bit) {
    Bytes bad = *file;
    size_t byte = bit / 8;
    bad[byte] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto back = OpenKeyFile(bad, "pw");
    if (!back.ok()) {
      ++failed;
      // Malformed files are Corruption, a changed salt/ciphertext/parameter looks like a wrong
      // password; nothing else (in particular no InvalidArgument from scrypt).
      ASSERT_TRUE(back.status().code() == StatusCode::kCorruption ||
                  back.status().code() == StatusCode::kUnauthenticated)
          << "bit " << bit << ": " << back.status().ToString();
      continue;
    }
    ASSERT_TRUE(SameKey(*back, mk)) << "bit " << bit << " yielded a different key";
    ++same;
    // A flip that still opens must be in an unauthenticated field, or a hex digit changing case
    // (bit 5 turns 'a'..'f' into 'A'..'F', which decodes to the same byte).
    bool in_hex = (byte >= data_at && byte < data_at + 2 * (97 + 41)) ||
                  (byte >= salt_at && byte < salt_at + 64);
    if (in_hex) {
      EXPECT_EQ(bit % 8, 5u) << "bit " << bit;
      EXPECT_TRUE(std::isxdigit(bad[byte]) && std::isalpha(bad[byte]));
    }
  }
  EXPECT_GT(failed, file->size() * 8 / 2);
  EXPECT_GT(same, 0u);  // e.g. flips inside "hostname"
}

TEST(KeysTest, ParseRejectsUnknownVersionOrKdf) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "pw", kFastKdf);
  ASSERT_TRUE(file.ok());
  auto j = nlohmann::json::parse(file->begin(), file->end());
  auto dump = [](const nlohmann::json& v) {
    std::string s = v.dump();
    return Bytes(s.begin(), s.end());
  };
  auto v2 = j;
  v2["version"] = 2;
  EXPECT_EQ(ParseKeyFileInfo(dump(v2)).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(OpenKeyFile(dump(v2), "pw").status().code(), StatusCode::kCorruption);
  auto argon = j;
  argon["kdf"] = "argon2id";
  EXPECT_EQ(OpenKeyFile(dump(argon), "pw").status().code(), StatusCode::kCorruption);
  auto no_data = j;
  no_data.erase("data");
  EXPECT_EQ(OpenKeyFile(dump(no_data), "pw").status().code(), StatusCode::kCorruption);
  auto bad_hex = j;
  bad_hex["salt"] = "zz";
  EXPECT_EQ(OpenKeyFile(dump(bad_hex), "pw").status().code(), StatusCode::kCorruption);
  auto n_type = j;
  n_type["n"] = "1024";
  EXPECT_EQ(OpenKeyFile(dump(n_type), "pw").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(OpenKeyFile(AsBytes("not json"), "pw").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(OpenKeyFile(AsBytes("[1,2]"), "pw").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(OpenKeyFile({}, "pw").status().code(), StatusCode::kCorruption);
}

TEST(KeysTest, AbsurdOrInvalidScryptParametersAreCorruption) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "pw", kFastKdf);
  ASSERT_TRUE(file.ok());
  auto j = nlohmann::json::parse(file->begin(), file->end());
  auto with = [&](const char* field, uint64_t v) {
    auto k = j;
    k[field] = v;
    std::string s = k.dump();
    return OpenKeyFile(AsBytes(s), "pw").status();
  };
  // Too expensive: refused before allocating anything.
  EXPECT_EQ(with("n", uint64_t{1} << 40).code(), StatusCode::kCorruption);
  EXPECT_EQ(with("r", 1u << 20).code(), StatusCode::kCorruption);
  EXPECT_EQ(with("p", 1u << 20).code(), StatusCode::kCorruption);
  // Not valid for scrypt at all: the file is malformed.
  EXPECT_EQ(with("n", 1000).code(), StatusCode::kCorruption);
  EXPECT_EQ(with("n", 0).code(), StatusCode::kCorruption);
  EXPECT_EQ(with("r", 0).code(), StatusCode::kCorruption);
  EXPECT_EQ(with("p", 0).code(), StatusCode::kCorruption);
  // Valid but different: a different wrap key, so it looks like a wrong password.
  EXPECT_EQ(with("n", 2048).code(), StatusCode::kUnauthenticated);
}

// Found by fuzz/key_fuzzer: a float made get<uint64_t>() undefined behaviour, and integers out of
// a field's range wrapped (version 2^32 + 1 read as 1).
TEST(KeysTest, NumbersThatDoNotFitTheirFieldAreCorruption) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "pw", kFastKdf);
  ASSERT_TRUE(file.ok());
  std::string text(file->begin(), file->end());
  auto with = [&](const std::string& field, const std::string& literal) {
    auto j = nlohmann::json::parse(text);
    std::string s = j.dump();
    // Splice the literal in as written (nlohmann would normalise 1e300 or 1024.0).
    std::string key = "\"" + field + "\":";
    size_t at = s.find(key);
    EXPECT_NE(at, std::string::npos);
    size_t end = s.find_first_of(",}", at);
    s.replace(at + key.size(), end - at - key.size(), literal);
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"n", "1e300"},    {"n", "-1e300"},     {"n", "1024.0"}, {"n", "-1"},
      {"r", "8.5"},      {"r", "4294967304"}, {"p", "1e10"},   {"version", "4294967297"},
      {"version", "1.0"}};
  for (const auto& [field, literal] : bad) {
    std::string s = with(field, literal);
    EXPECT_EQ(ParseKeyFileInfo(AsBytes(s)).status().code(), StatusCode::kCorruption) << s;
    EXPECT_EQ(OpenKeyFile(AsBytes(s), "pw").status().code(), StatusCode::kCorruption) << s;
  }
  EXPECT_TRUE(OpenKeyFile(AsBytes(with("n", "1024")), "pw").ok());
}

TEST(KeysTest, DefaultKdfParamsIgnoreTheEnvironmentAndTakeOnlyTheTestOverride) {
  const KdfParams before = DefaultKdfParams();  // this binary's other tests use cheap keys
  SetKdfParamsOverrideForTesting(std::nullopt);
  setenv("LIFEBOAT_KDF_N", "2", 1);  // once a test knob of the release binary (issue 11, item 19)
  EXPECT_EQ(DefaultKdfParams().n, 1u << 15);  // 32 MiB, restic's cost on the reference machine
  EXPECT_EQ(DefaultKdfParams().r, 8u);
  EXPECT_EQ(DefaultKdfParams().p, 2u);
  unsetenv("LIFEBOAT_KDF_N");
  SetKdfParamsOverrideForTesting(KdfParams{2048, 8, 1});
  EXPECT_EQ(DefaultKdfParams().n, 2048u);
  EXPECT_EQ(DefaultKdfParams().p, 1u);
  SetKdfParamsOverrideForTesting(std::nullopt);
  EXPECT_EQ(DefaultKdfParams().n, 1u << 15);
  SetKdfParamsOverrideForTesting(before);
}

TEST(KeysTest, ANamedKeyFileThatDoesNotMatchItsNameIsDamagedNotAWrongPassword) {
  MasterKey mk = MasterKey::Generate();
  auto file = CreateKeyFile(mk, "pw", KdfParams{1024, 8, 1});
  ASSERT_TRUE(file.ok());
  std::string name = HexEncode(crypto::Sha256(*file));
  EXPECT_TRUE(OpenNamedKeyFile(name, *file, "pw").ok());
  EXPECT_EQ(OpenNamedKeyFile(name, *file, "wrong").status().code(),
            StatusCode::kUnauthenticated);
  Bytes flipped = *file;
  flipped[flipped.size() / 2] ^= 0x01;  // a bit flip on disk: the name no longer matches
  for (const char* pw : {"pw", "wrong"}) {
    Status st = OpenNamedKeyFile(name, flipped, pw).status();
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find("key file " + name + " is damaged"), std::string::npos) << st.message();
  }
  // Damage outside the sealed key: the password still opens it (the AEAD vouches for the key),
  // and a password it does not open cannot be told from the damage.
  Bytes spaced = *file;
  spaced.push_back(' ');
  EXPECT_TRUE(OpenNamedKeyFile(name, spaced, "pw").ok());
  EXPECT_EQ(OpenNamedKeyFile(name, spaced, "wrong").status().code(), StatusCode::kCorruption);
  // Content that hashes to its name but does not parse is damaged too.
  std::string junk_text = "not json";
  ByteView junk = AsBytes(junk_text);
  Status st = OpenNamedKeyFile(HexEncode(crypto::Sha256(junk)), junk, "pw").status();
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("is damaged"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------- time

TEST(TimeTest, FormatKnownValues) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatTime(1), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatTime(1795428000123456789), "2026-11-23T10:00:00.123456789Z");
}

TEST(TimeTest, RoundTrip) {
  const int64_t kSec = 1000000000;
  for (int64_t t :
       {int64_t{0}, int64_t{1}, int64_t{-1}, kSec - 1, -kSec, -kSec - 1,
        int64_t{1795428000123456789}, NowNs(), int64_t{-2208988800} * kSec + 5,  // 1900-01-01
        int64_t{4102444800} * kSec + 999999999,                                  // 2100-01-01
        int64_t{951782400} * kSec}) {                                            // 2000-02-29
    std::string s = FormatTime(t);
    auto back = ParseTime(s);
    ASSERT_TRUE(back.ok()) << s << ": " << back.status().ToString();
    EXPECT_EQ(*back, t) << s;
  }
}

TEST(TimeTest, ParseAcceptsShortFractions) {
  auto a = ParseTime("2026-11-23T10:00:00Z");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, int64_t{1795428000} * 1000000000);
  auto b = ParseTime("2026-11-23T10:00:00.5Z");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, int64_t{1795428000} * 1000000000 + 500000000);
  auto c = ParseTime("2026-11-23T10:00:00.123456789123Z");  // extra digits are dropped
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, int64_t{1795428000123456789});
}

// Found by fuzz/key_fuzzer: year 3641 overflowed int64 nanoseconds (undefined behaviour).
TEST(TimeTest, ParseRejectsTimesOutsideTheInt64Range) {
  for (std::string_view s :
       {"3641-01-01T00:00:00.123456789Z", "9999-12-31T23:59:59Z", "2262-04-11T23:47:16.854775808Z",
        "1677-09-21T00:12:43.145224191Z", "1600-01-01T00:00:00Z", "0000-01-01T00:00:00Z"}) {
    auto t = ParseTime(s);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << s;
  }
  auto max = ParseTime("2262-04-11T23:47:16.854775807Z");
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(*max, INT64_MAX);
  EXPECT_EQ(FormatTime(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
  auto min = ParseTime("1677-09-21T00:12:43.145224192Z");
  ASSERT_TRUE(min.ok()) << min.status().ToString();
  EXPECT_EQ(*min, INT64_MIN);
  EXPECT_EQ(FormatTime(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
}

TEST(TimeTest, ParseRejectsGarbage) {
  for (std::string_view s :
       {"", "yesterday", "2026-11-23", "2026-11-23T10:00:00", "2026-11-23T10:00:00.1",
        "2026-11-23T10:00:00+01:00", "2026-11-23T10:00:00Zjunk", "2026-13-23T10:00:00Z",
        "2026-11-23T25:00:00Z"}) {
    EXPECT_FALSE(ParseTime(s).ok()) << s;
  }
}

}  // namespace
}  // namespace lifeboat
