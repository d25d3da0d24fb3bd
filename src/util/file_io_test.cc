#include "util/file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

TEST(FileIoTest, ListNamesLeavesTheDescriptorOpen) {
  char tmpl[] = "/tmp/lb-fileio-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(WriteFileDurably(dir + "/b", AsBytes("x"), false).ok());
  ASSERT_TRUE(WriteFileDurably(dir + "/a", AsBytes("y"), false).ok());
  ASSERT_TRUE(CreateDirectories(dir + "/sub").ok());
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<std::string> names = {"kept"};  // appended to, not replaced
  ASSERT_TRUE(ListNames(fd, &names).ok());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "kept", "sub"}));
  // The descriptor is still open and usable, and a second listing sees the same.
  struct stat st;
  EXPECT_EQ(fstatat(fd, "sub", &st, 0), 0);
  std::vector<std::string> again;
  ASSERT_TRUE(ListNames(fd, &again).ok());
  EXPECT_EQ(again.size(), 3u);
  close(fd);
  // A descriptor that is not open is an error, and nothing is appended.
  std::vector<std::string> none;
  EXPECT_FALSE(ListNames(fd, &none).ok());
  EXPECT_TRUE(none.empty());
  std::filesystem::remove_all(dir);
}

TEST(FileIoTest, ReadMissingIsNotFound) {
  EXPECT_TRUE(ReadWholeFile("/nonexistent/lifeboat/file").status().IsNotFound());
}

}  // namespace
}  // namespace lifeboat
