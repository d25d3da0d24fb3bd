#include "util/file_io.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

namespace lifeboat {
namespace {

TEST(FileIoTest, DurableWriteRefusesOverwrite) {
  char tmpl[] = "/tmp/lb-fileio-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string path = dir + "/a/b/object";
  ASSERT_TRUE(WriteFileDurably(path, AsBytes("one"), false).ok());
  Status again = WriteFileDurably(path, AsBytes("two"), false);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  auto content = ReadWholeFile(path);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(AsString(*content), "one");
  ASSERT_TRUE(WriteFileDurably(path, AsBytes("three"), true).ok());
  EXPECT_EQ(AsString(*ReadWholeFile(path)), "three");
  // No temporary files are left behind.
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir + "/a/b")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(dir);
}

TEST(FileIoTest, ReadMissingIsNotFound) {
  EXPECT_TRUE(ReadWholeFile("/nonexistent/lifeboat/file").status().IsNotFound());
}

}  // namespace
}  // namespace lifeboat
