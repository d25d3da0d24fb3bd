// The snapshot file's encoding of names that are bytes (format §9, doc/json.md).
#include "repository/snapshot.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/json_bytes.h"

namespace lifeboat {
namespace {

Snapshot WithPaths(std::vector<std::string> paths, std::vector<std::string> excludes) {
  Snapshot s;
  s.time_ns = 1767225600123456789;
  s.hostname = "db1";
  s.paths = std::move(paths);
  s.excludes = std::move(excludes);
  s.tags = {"nightly"};
  return s;
}

nlohmann::json Json(const Bytes& enc) { return nlohmann::json::parse(enc.begin(), enc.end()); }

TEST(SnapshotEncodingTest, RawPathsAndExcludesRoundTrip) {
  std::string every_byte;
  for (int b = 1; b < 256; ++b)
    if (b != '/') every_byte += static_cast<char>(b);
  const std::string bad_dir = std::string("/tmp/x/bad\xff") + "dir";
  Snapshot s = WithPaths({bad_dir, "/ok", "/" + every_byte}, {"x\xff", "*.tmp"});
  Bytes enc;
  ASSERT_NO_THROW(enc = EncodeSnapshot(s));
  nlohmann::json j = Json(enc);  // the file is valid JSON (valid UTF-8)
  ASSERT_TRUE(j.contains("paths_raw"));
  ASSERT_TRUE(j.contains("excludes_raw"));
  EXPECT_EQ(j["paths_raw"].size(), 3u);
  EXPECT_EQ(j["paths"][0], std::string("/tmp/x/bad\xEF\xBF\xBD") + "dir");  // U+FFFD
  EXPECT_EQ(j["paths_raw"][0], "L3RtcC94L2JhZP9kaXI=");
  EXPECT_EQ(j["paths"][1], "/ok");
  EXPECT_EQ(j["paths_raw"][1], "L29r");
  auto back = DecodeSnapshot(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->paths, s.paths);
  EXPECT_EQ(back->excludes, s.excludes);
  EXPECT_EQ(back->tags, s.tags);
}

TEST(SnapshotEncodingTest, ValidNamesHaveNoRawArrays) {
  Snapshot s = WithPaths({"/srv", "/caf\xC3\xA9"}, {});
  nlohmann::json j = Json(EncodeSnapshot(s));
  EXPECT_FALSE(j.contains("paths_raw"));
  EXPECT_FALSE(j.contains("excludes_raw"));
  auto back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->paths, s.paths);
}

TEST(SnapshotEncodingTest, BadRawArraysAreCorruption) {
  Snapshot s = WithPaths({"/a\xff", "/b"}, {"x\xfe"});
  nlohmann::json good = Json(EncodeSnapshot(s));
  auto decode = [](const nlohmann::json& j) {
    std::string text = j.dump();
    return DecodeSnapshot(Bytes(text.begin(), text.end()));
  };
  nlohmann::json shorter = good;
  shorter["paths_raw"].erase(1);
  nlohmann::json not_base64 = good;
  not_base64["excludes_raw"][0] = "eP4";
  nlohmann::json orphan = good;
  orphan.erase("excludes");
  nlohmann::json no_paths = good;
  no_paths.erase("paths");
  for (const auto& j : {shorter, not_base64, orphan, no_paths})
    EXPECT_EQ(decode(j).status().code(), StatusCode::kCorruption) << j.dump();
}

TEST(SnapshotEncodingTest, InvalidLabelsNeverThrowAndAreRefusedUpFront) {
  Snapshot s = WithPaths({"/a"}, {});
  s.hostname = "h\xff";
  s.username = "u\xfe";
  s.tags = {"t\xfe"};
  Bytes enc;
  ASSERT_NO_THROW(enc = EncodeSnapshot(s));
  EXPECT_TRUE(DecodeSnapshot(enc).ok());

  Status tag = CheckSnapshotLabels({"ok", "t\xfe"}, "");
  EXPECT_EQ(tag.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tag.message().find("t\\xfe"), std::string::npos) << tag.message();
  EXPECT_EQ(CheckSnapshotLabels({}, "h\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckSnapshotLabels({"caf\xC3\xA9"}, "db1").ok());
}

// Format §9.1: a plan snapshot's service and source survive encode and decode, member by member.
Snapshot PlanSnapshot() {
  Snapshot s = WithPaths({"/billing.pgdump"}, {});
  s.service = "billing";
  SnapshotSource src;
  src.name = "db";
  src.kind = "postgres";
  src.restore.method = "pg_restore";
  src.restore.files = {"/billing.pgdump"};
  src.restore.format = "custom";
  src.restore.tool = "pg_dump";
  src.restore.tool_version = "15.10";
  src.restore.server_version = "15.10 (Debian 15.10-0+deb12u1)";
  src.restore.server_version_num = 150010;
  src.restore.databases = {"billing"};
  src.restore.command = {"pg_restore", "--create", "--dbname=postgres", "{file}"};
  src.restore.notes = "drop --no-owner where the roles exist";
  s.source = src;
  return s;
}

TEST(SnapshotEncodingTest, ServiceAndSourceRoundTrip) {
  Snapshot s = PlanSnapshot();
  s.source->restore.original_path = std::string("/srv/bad\xff.db");
  nlohmann::json j = Json(EncodeSnapshot(s));
  EXPECT_EQ(j["service"], "billing");
  EXPECT_EQ(j["source"]["kind"], "postgres");
  EXPECT_EQ(j["source"]["restore"]["server_version_num"], 150010);
  EXPECT_EQ(j["source"]["restore"]["command"].back(), "{file}");
  auto back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->service, "billing");
  ASSERT_TRUE(back->source.has_value());
  EXPECT_EQ(*back->source, *s.source);
  EXPECT_TRUE(back->unknown.empty());
  EXPECT_TRUE(back->source->unknown.empty());
  // Encoding what was decoded gives the same bytes.
  EXPECT_EQ(EncodeSnapshot(*back), EncodeSnapshot(s));
}

TEST(SnapshotEncodingTest, SnapshotsWithoutAServiceHaveNoServiceMembers) {
  nlohmann::json j = Json(EncodeSnapshot(WithPaths({"/srv"}, {})));
  EXPECT_FALSE(j.contains("service"));
  EXPECT_FALSE(j.contains("source"));
  auto back = DecodeSnapshot(EncodeSnapshot(WithPaths({"/srv"}, {})));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->service.empty());
  EXPECT_FALSE(back->source.has_value());
}

// A newer Lifeboat's members (at the top, in "source", in "restore") are kept by decode and
// written back by encode, so a copy or repair by this version does not drop them.
TEST(SnapshotEncodingTest, UnknownMembersSurviveARewrite) {
  nlohmann::json j = Json(EncodeSnapshot(PlanSnapshot()));
  j["future_top"] = {{"a", 1}};
  j["source"]["future_source"] = "x";
  j["source"]["restore"]["future_restore"] = {1, 2, 3};
  j["source"]["kind"] = "mysql";  // a kind this version does not know is kept too
  std::string text = j.dump();
  auto s = DecodeSnapshot(Bytes(text.begin(), text.end()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->source->kind, "mysql");
  s->tree = Id::FromHex(std::string(64, 'a')).value();  // a rewrite changes something
  nlohmann::json out = Json(EncodeSnapshot(*s));
  EXPECT_EQ(out["future_top"], j["future_top"]);
  EXPECT_EQ(out["source"]["future_source"], "x");
  EXPECT_EQ(out["source"]["restore"]["future_restore"], j["source"]["restore"]["future_restore"]);
  EXPECT_EQ(out["service"], "billing");
}

TEST(SnapshotEncodingTest, ASourceWithoutKindOrMethodIsCorruption) {
  for (const char* drop : {"kind", "name", "restore"}) {
    nlohmann::json j = Json(EncodeSnapshot(PlanSnapshot()));
    j["source"].erase(drop);
    std::string text = j.dump();
    auto s = DecodeSnapshot(Bytes(text.begin(), text.end()));
    EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << drop;
  }
  nlohmann::json j = Json(EncodeSnapshot(PlanSnapshot()));
  j["source"]["restore"].erase("method");
  std::string text = j.dump();
  EXPECT_EQ(DecodeSnapshot(Bytes(text.begin(), text.end())).status().code(),
            StatusCode::kCorruption);
  j = Json(EncodeSnapshot(PlanSnapshot()));
  j["service"] = 7;
  text = j.dump();
  EXPECT_EQ(DecodeSnapshot(Bytes(text.begin(), text.end())).status().code(),
            StatusCode::kCorruption);
}

TEST(SnapshotFilterTest, ServiceSelectsOnlyThatServicesSnapshots) {
  Snapshot plain = WithPaths({"/srv"}, {});
  Snapshot billing = PlanSnapshot();
  SnapshotFilter f;
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(f.Matches(plain));
  f.services = {"billing"};
  EXPECT_FALSE(f.empty());
  EXPECT_TRUE(f.Matches(billing));
  EXPECT_FALSE(f.Matches(plain));
  f.services = {"shop", "billing"};
  EXPECT_TRUE(f.Matches(billing));
  f.services = {"shop"};
  EXPECT_FALSE(f.Matches(billing));
  f.services = {"billing"};
  f.hosts = {"other"};  // fields are ANDed
  EXPECT_FALSE(f.Matches(billing));
}

TEST(SnapshotFilterTest, SourceSelectsOneSourceOfAService) {
  Snapshot plain = WithPaths({"/srv"}, {});
  Snapshot billing = PlanSnapshot();
  ASSERT_TRUE(billing.source.has_value());
  SnapshotFilter f;
  f.sources = {billing.source->name};
  EXPECT_FALSE(f.empty());
  EXPECT_TRUE(f.Matches(billing));
  EXPECT_FALSE(f.Matches(plain));  // no source at all
  f.sources = {"other", billing.source->name};
  EXPECT_TRUE(f.Matches(billing));
  f.sources = {"other"};
  EXPECT_FALSE(f.Matches(billing));
  f.sources = {billing.source->name};
  f.services = {"shop"};  // fields are ANDed
  EXPECT_FALSE(f.Matches(billing));
}

}  // namespace
}  // namespace lifeboat
