#include "archiver/archiver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "archiver/fs_metadata.h"
#include "backend/memory_backend.h"

namespace lifeboat {
namespace {

TEST(CleanPathTest, Normalizes) {
  EXPECT_EQ(CleanPath("/a/b/../c/./d/"), "/a/c/d");
  EXPECT_EQ(CleanPath("/"), "/");
  EXPECT_EQ(CleanPath("//x//y"), "/x/y");
  EXPECT_EQ(CleanPath("/.."), "/");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(CleanPath("rel"), CleanPath(std::string(cwd) + "/rel"));
}

TEST(ExcludeMatcherTest, ComponentAndAnchoredPatterns) {
  ExcludeMatcher m({"*.tmp", "node_modules", "/var/cache/*", "/srv/skip/"});
  EXPECT_TRUE(m.Excluded("/home/a/x.tmp", "x.tmp"));
  EXPECT_FALSE(m.Excluded("/home/a/x.tmpl", "x.tmpl"));
  EXPECT_TRUE(m.Excluded("/p/node_modules", "node_modules"));
  EXPECT_TRUE(m.Excluded("/var/cache/apt", "apt"));
  EXPECT_FALSE(m.Excluded("/var/cache", "cache"));
  EXPECT_TRUE(m.Excluded("/srv/skip", "skip"));
  EXPECT_FALSE(m.Excluded("/srv/skipped", "skipped"));
}

TEST(ExcludeFileTest, ReadsPatternsSkippingCommentsAndBlanks) {
  std::string path = "/tmp/lifeboat-exclude-test-" + std::to_string(getpid());
  {
    std::ofstream out(path);
    out << "# comment\n\n  *.log  \n/var/tmp/*\r\n";
  }
  auto p = ReadExcludeFile(path);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<std::string>{"*.log", "/var/tmp/*"}));
  unlink(path.c_str());
  EXPECT_FALSE(ReadExcludeFile("/nonexistent/exclude").ok());
}

TEST(FsMetadataTest, ReadsSymlinkAndXattrs) {
  char tmpl[] = "/tmp/lifeboat-meta-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string link = dir + "/l";
  std::string file = dir + "/f";
  ASSERT_EQ(symlink("target/path", link.c_str()), 0);
  { std::ofstream(file) << "x"; }
  const bool xattrs = setxattr(file.c_str(), "user.lifeboat", "v1", 2, 0) == 0;
  int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  // By path (dirfd < 0) and below the directory's descriptor: the same result.
  for (int fd : {-1, dirfd}) {
    SCOPED_TRACE(fd < 0 ? "by path" : "below a directory descriptor");
    struct stat st;
    ASSERT_EQ(lstat(link.c_str(), &st), 0);
    Node n = NodeFromStat("l", st);
    EXPECT_EQ(n.type, NodeType::kSymlink);
    ASSERT_TRUE(ReadExtendedMetadata(fd, "l", link, &n).ok());
    EXPECT_EQ(n.link_target, "target/path");
    ASSERT_EQ(lstat(file.c_str(), &st), 0);
    Node f = NodeFromStat("f", st);
    ASSERT_TRUE(ReadExtendedMetadata(fd, "f", file, &f).ok());
    if (xattrs) {
      ASSERT_EQ(f.xattrs.size(), 1u);
      EXPECT_EQ(f.xattrs[0].first, "user.lifeboat");
      EXPECT_EQ(f.xattrs[0].second, "v1");
    }
  }
  // A name that is not there is an error naming the path, not an empty result.
  Node missing;
  missing.type = NodeType::kFile;
  Status st = ReadExtendedMetadata(dirfd, "gone", dir + "/gone", &missing);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(dir + "/gone"), std::string::npos) << st.message();
  close(dirfd);
  std::filesystem::remove_all(dir);
}

class ArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
    auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
    char tmpl[] = "/tmp/lifeboat-arch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Repository> repo_;
  std::string dir_;
};

TEST_F(ArchiverTest, DryRunStoresNothing) {
  std::ofstream(dir_ + "/f") << "data";
  BackupOptions opt;
  opt.paths = {dir_};
  opt.dry_run = true;
  auto r = RunBackup(*repo_, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->snapshot_id.has_value());
  EXPECT_EQ(r->snapshot.summary.data_added, 4u);
  int packs = 0;
  ASSERT_TRUE(repo_->backend()
                  .List(ObjectType::kPack, "",
                        [&](const ObjectInfo&) {
                          ++packs;
                          return Status::Ok();
                        })
                  .ok());
  EXPECT_EQ(packs, 0);
}

TEST_F(ArchiverTest, MissingPathsFail) {
  BackupOptions opt;
  opt.paths = {dir_ + "/does-not-exist"};
  auto r = RunBackup(*repo_, opt);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ArchiverTest, CancelledBackupWritesNoSnapshot) {
  std::ofstream(dir_ + "/f") << "data";
  std::atomic<bool> cancel{true};
  BackupOptions opt;
  opt.paths = {dir_};
  opt.cancel = &cancel;
  auto r = RunBackup(*repo_, opt);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  auto snaps = repo_->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());
}

TEST_F(ArchiverTest, SnapshotRecordsHostTagsPathsAndParent) {
  std::ofstream(dir_ + "/f") << "data";
  BackupOptions opt;
  opt.paths = {dir_ + "/"};
  opt.tags = {"daily", "db"};
  opt.host = "testhost";
  auto first = RunBackup(*repo_, opt);
  ASSERT_TRUE(first.ok());
  auto second = RunBackup(*repo_, opt);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->snapshot.parent, first->snapshot_id);
  auto s = repo_->LoadSnapshot(*second->snapshot_id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->hostname, "testhost");
  EXPECT_EQ(s->tags, (std::vector<std::string>{"daily", "db"}));
  EXPECT_EQ(s->paths, (std::vector<std::string>{dir_}));
  // Another host does not become the parent.
  opt.host = "otherhost";
  auto third = RunBackup(*repo_, opt);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->snapshot.parent.has_value());
}

}  // namespace
}  // namespace lifeboat
