#include "archiver/dir_descriptors.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace lifeboat {
namespace {

class DirDescriptorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-dirfd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // dir_/d0/d1/.../d11, one link per level.
    std::string path = dir_;
    for (int i = 0; i < 12; ++i) {
      path += "/d" + std::to_string(i);
      ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
    }
    path = dir_;
    for (int i = 0; i < 12; ++i) {
      auto link = std::make_unique<DirLink>();
      struct stat st;
      if (i == 0) {
        path += "/d0";
        link->path = path;
      } else {
        path += "/d" + std::to_string(i);
        link->up = links_.back().get();
        link->name = "d" + std::to_string(i);
      }
      ASSERT_EQ(lstat(path.c_str(), &st), 0);
      link->dev = st.st_dev;
      link->ino = st.st_ino;
      links_.push_back(std::move(link));
    }
  }
  void TearDown() override {
    links_.clear();  // before the directories go (each closes its descriptor)
    std::filesystem::remove_all(dir_);
  }
  static ino_t Inode(int fd) {
    struct stat st;
    EXPECT_EQ(fstat(fd, &st), 0);
    return st.st_ino;
  }
  std::string dir_;
  std::vector<std::unique_ptr<DirLink>> links_;  // shallowest first
};

TEST_F(DirDescriptorsTest, KeepsAWindowAndReopensFromTheNearestOpenAncestor) {
  DirDescriptors dirs(3);
  // Walk down as the backup does: hold one level at a time.
  for (auto& link : links_) {
    auto lease = dirs.Open(*link);
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    EXPECT_EQ(Inode(lease->fd()), link->ino);
    EXPECT_LE(dirs.open_count(), 3u);
  }
  // The shallow levels were closed; they reopen (from the top, by path) and are the same.
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) {
    auto lease = dirs.Open(**it);
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    EXPECT_EQ(Inode(lease->fd()), (*it)->ino);
    EXPECT_LE(dirs.open_count(), 3u);
  }
  // Leased descriptors are never closed, even above the capacity.
  std::vector<DirDescriptors::Lease> held;
  for (auto& link : links_) {
    auto lease = dirs.Open(*link);
    ASSERT_TRUE(lease.ok());
    held.push_back(std::move(*lease));
  }
  EXPECT_EQ(dirs.open_count(), links_.size());
  for (size_t i = 0; i < held.size(); ++i) EXPECT_EQ(Inode(held[i].fd()), links_[i]->ino);
  held.clear();
  EXPECT_LE(dirs.open_count(), 3u);
  const size_t idle = dirs.open_count();
  EXPECT_EQ(dirs.CloseIdle(), idle);
  EXPECT_EQ(dirs.open_count(), 0u);
}

TEST_F(DirDescriptorsTest, AReplacedDirectoryIsReportedAsChangedNotEntered) {
  DirDescriptors dirs(1);
  { ASSERT_TRUE(dirs.Open(*links_[11]).ok()); }
  { ASSERT_TRUE(dirs.Open(*links_[0]).ok()); }  // the deep levels are closed now
  // d5 is swapped for another directory of the same name between two visits.
  std::string d5 = dir_;
  for (int i = 0; i <= 5; ++i) d5 += "/d" + std::to_string(i);
  ASSERT_EQ(rename(d5.c_str(), (dir_ + "/moved").c_str()), 0);
  ASSERT_EQ(mkdir(d5.c_str(), 0755), 0);
  for (size_t i : {5u, 8u}) {
    auto lease = dirs.Open(*links_[i]);
    ASSERT_FALSE(lease.ok()) << "level " << i;
    EXPECT_NE(lease.status().message().find("changed during backup"), std::string::npos)
        << lease.status().message();
  }
  EXPECT_TRUE(dirs.Open(*links_[4]).ok());
}

TEST_F(DirDescriptorsTest, OpensDeepTreesWithFewDescriptorsLeft) {
  // Use up all but a few descriptors: the walk must still get through by closing idle ones.
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit low = saved;
  low.rlim_cur = 32;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> hog;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) hog.push_back(fd);
  ASSERT_FALSE(hog.empty());
  for (int i = 0; i < 2; ++i) close(hog.back()), hog.pop_back();  // two left
  {
    DirDescriptors dirs(100);  // a window larger than what is left
    bool all_ok = true;
    for (auto& link : links_) all_ok &= dirs.Open(*link).ok();
    for (auto it = links_.rbegin(); it != links_.rend(); ++it) all_ok &= dirs.Open(**it).ok();
    EXPECT_TRUE(all_ok);
  }
  for (int fd : hog) close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace lifeboat
