#include "restorer/dir_chain.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

class DirChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-dirchain-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    root_ = FileDescriptor(::open(tmp_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
  std::string tmp_;
  FileDescriptor root_;
};

// Walking 40 levels down with at most 3 descriptors held: every level is reachable again on the
// way back up, reopened from the nearest open level, and names in it are the right directory's.
TEST_F(DirChainTest, ReleasesShallowLevelsAndReopensThem) {
  const size_t spare_before = SpareDescriptors();
  DirChain chain(root_.get(), 3);
  std::string rel;
  for (int i = 1; i <= 40; ++i) {
    auto parent = chain.At(chain.depth() - 1);
    ASSERT_TRUE(parent.ok()) << parent.status().ToString();
    std::string name = "d" + std::to_string(i);
    ASSERT_EQ(::mkdirat((*parent)->get(), name.c_str(), 0700), 0);
    ASSERT_EQ(::mkdirat((*parent)->get(), ("mark" + std::to_string(i)).c_str(), 0700), 0);
    rel = rel.empty() ? name : rel + "/" + name;
    auto fd = OpenChildDir((*parent)->get(), name, rel);
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    chain.Push(rel, std::make_shared<FileDescriptor>(std::move(*fd)));
  }
  EXPECT_GE(SpareDescriptors() + 4, spare_before) << "holds more than 3 descriptors";
  for (size_t level = 40; level >= 1; --level) {
    chain.Truncate(level + 1);
    auto dir = chain.At(level - 1);
    ASSERT_TRUE(dir.ok()) << level << ": " << dir.status().ToString();
    struct stat st;
    EXPECT_EQ(::fstatat((*dir)->get(), ("mark" + std::to_string(level)).c_str(), &st, 0), 0)
        << "level " << level - 1 << " is not the right directory";
  }
}

TEST_F(DirChainTest, AbsentLevelsAndSymlinks) {
  ASSERT_EQ(::mkdir((tmp_ + "/real").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("real", (tmp_ + "/link").c_str()), 0);
  DirChain chain(root_.get(), 1);
  chain.Push("gone", nullptr);
  auto absent = chain.At(1);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, nullptr);
  chain.Truncate(1);
  // A level released and reopened through a symlink someone put there is refused.
  auto real = OpenDirBeneath(root_.get(), "real");
  ASSERT_TRUE(real.ok());
  chain.Push("link", std::make_shared<FileDescriptor>(std::move(*real)));
  chain.Push("link/x", nullptr);
  EXPECT_EQ(chain.ReleaseAllButDeepest(), 1u);
  EXPECT_FALSE(chain.At(1).ok());
  EXPECT_FALSE(OpenDirBeneath(root_.get(), "link").ok());
}

}  // namespace
}  // namespace lifeboat
