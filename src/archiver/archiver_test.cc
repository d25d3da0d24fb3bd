#include "archiver/archiver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "archiver/fs_metadata.h"
#include "archiver/walk_rules.h"
#include "backend/memory_backend.h"
#include "progress_contract.h"
#include "util/address_space_limit_for_test.h"

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
  auto compiled = ExcludeMatcher::Compile({"*.tmp", "node_modules", "/var/cache/*", "/srv/skip/"});
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  const ExcludeMatcher& m = *compiled;
  EXPECT_TRUE(m.Excluded("/home/a/x.tmp", "x.tmp"));
  EXPECT_FALSE(m.Excluded("/home/a/x.tmpl", "x.tmpl"));
  EXPECT_TRUE(m.Excluded("/p/node_modules", "node_modules"));
  EXPECT_TRUE(m.Excluded("/var/cache/apt", "apt"));
  EXPECT_FALSE(m.Excluded("/var/cache", "cache"));
  EXPECT_TRUE(m.Excluded("/srv/skip", "skip"));
  EXPECT_FALSE(m.Excluded("/srv/skipped", "skipped"));
}

TEST(ExcludeMatcherTest, InvalidPatternsAreRejectedNotSilentlyMatchingNothing) {
  for (const char* bad : {"[", "a\\", "[a-", "x[ab", "[]", "[[:nope:]]", "[[:alpha:]", ""}) {
    SCOPED_TRACE(bad);
    auto m = ExcludeMatcher::Compile({"*.ok", bad});
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find("invalid exclude pattern '" + std::string(bad) + "'"),
              std::string::npos)
        << m.status().message();
  }
  // Bracket expressions, classes and escapes that fnmatch understands stay valid and work.
  auto m = ExcludeMatcher::Compile({"[!a]x", "[]]y", "[[:digit:]]z", "\\[q\\]", "w[a-]"});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->Excluded("/bx", "bx"));
  EXPECT_TRUE(m->Excluded("/]y", "]y"));
  EXPECT_TRUE(m->Excluded("/7z", "7z"));
  EXPECT_TRUE(m->Excluded("/[q]", "[q]"));
  EXPECT_TRUE(m->Excluded("/w-", "w-"));
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

TEST(ExcludeFileTest, InvalidLineIsNamedByFileAndLine) {
  std::string path = "/tmp/lifeboat-exclude-bad-" + std::to_string(getpid());
  {
    std::ofstream out(path);
    out << "# comment\n*.log\n\n  [a-  \n";
  }
  auto p = ReadExcludeFile(path);
  unlink(path.c_str());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(path + ":4: invalid exclude pattern '[a-'"),
            std::string::npos)
      << p.status().message();
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

TEST_F(ArchiverTest, InvalidExcludePatternFailsTheBackupBeforeAnythingIsStored) {
  std::ofstream(dir_ + "/f") << "data";
  BackupOptions opt;
  opt.paths = {dir_};
  opt.excludes = {"*.tmp", "["};
  auto r = RunBackup(*repo_, opt);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  auto snaps = repo_->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());
}

// The progress pre-scan applies the walk's rules (item 18 of issue 11): its totals are what the
// backup processes, with excluded names, cache directories and files over the size limit left
// out of both.
TEST_F(ArchiverTest, ProgressScanCountsExactlyWhatTheBackupReads) {
  std::filesystem::create_directories(dir_ + "/keep/cache");
  std::ofstream(dir_ + "/keep/a") << "aaaa";
  std::ofstream(dir_ + "/keep/skip.tmp") << "excluded by name";
  std::ofstream(dir_ + "/keep/cache/CACHEDIR.TAG") << "Signature: 8a477f597d28d172789f06886806bc55";
  for (int i = 0; i < 50; ++i) std::ofstream(dir_ + "/keep/cache/c" + std::to_string(i)) << i;
  ASSERT_EQ(truncate((dir_ + "/keep/a").c_str(), 4), 0);
  {
    std::ofstream huge(dir_ + "/huge");  // over the size limit, sparse
  }
  ASSERT_EQ(truncate((dir_ + "/huge").c_str(), 64 << 20), 0);
  // Enough data to read that the scan is done long before the backup.
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(dir_ + "/data") << data;

  BackupOptions opt;
  opt.paths = {dir_};
  opt.excludes = {"*.tmp"};
  opt.exclude_caches = true;
  opt.exclude_larger_than = 32 << 20;
  opt.progress_interval_ms = 5;
  BackupProgress last;
  opt.progress = [&](const BackupProgress& p) { last = p; };
  auto r = RunBackup(*repo_, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(last.scan_finished);
  const SnapshotSummary& m = r->snapshot.summary;
  EXPECT_EQ(m.total_files_processed, 3u);  // a, data, CACHEDIR.TAG
  EXPECT_EQ(last.files_total, m.total_files_processed);
  EXPECT_EQ(last.bytes_total, m.total_bytes_processed);
}

// --one-file-system in the scan: /dev/shm is another filesystem than /dev on most systems.
TEST_F(ArchiverTest, ProgressScanStaysOnOneFileSystemLikeTheBackup) {
  struct stat dev, shm;
  if (stat("/dev", &dev) != 0 || stat("/dev/shm", &shm) != 0 || dev.st_dev == shm.st_dev)
    GTEST_SKIP() << "/dev/shm is not a separate filesystem here";
  const std::string marker = "/dev/shm/lifeboat-scan-test-" + std::to_string(getpid());
  if (!std::ofstream(marker).good()) GTEST_SKIP() << "cannot write to /dev/shm";
  std::ofstream(marker) << "on another filesystem";
  BackupOptions opt;
  opt.paths = {"/dev"};
  opt.one_file_system = true;
  std::atomic<uint64_t> files{0}, bytes{0}, all_files{0}, all_bytes{0};
  std::atomic<bool> stop{false};
  DirDescriptors dirs(8);
  ScanTree({"/dev"}, "", WalkRules(opt, ExcludeMatcher()), dirs, files, bytes, stop);
  opt.dry_run = true;
  auto r = RunBackup(*repo_, opt);
  opt.one_file_system = false;
  ScanTree({"/dev"}, "", WalkRules(opt, ExcludeMatcher()), dirs, all_files, all_bytes, stop);
  unlink(marker.c_str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(files.load(), r->snapshot.summary.total_files_processed);
  EXPECT_EQ(bytes.load(), r->snapshot.summary.total_bytes_processed);
  EXPECT_GT(all_files.load(), files.load()) << "the scan without --one-file-system sees " << marker;
}

// Issue 11 item 7: with no address space for more thread stacks, a backup must not end the
// process (std::system_error from std::thread used to reach std::terminate). It completes with
// the threads it could start (none: the walking thread reads and encodes), or fails cleanly.
[[noreturn]] static void BackupWithoutThreads(Repository& repo, const std::string& dir) {
  if (!LimitAddressSpaceForTest(6 << 20)) std::_Exit(0);  // cannot limit: nothing to test
  BackupOptions opt;
  opt.paths = {dir};
  opt.read_workers = 4;
  opt.save_workers = 4;
  opt.progress = [](const BackupProgress&) {};  // the scanner and reporter threads too
  auto r = RunBackup(repo, opt);
  if (r.ok()) std::_Exit(r->incomplete || r->snapshot.summary.files_new != 2 ? 3 : 0);
  std::_Exit(r.status().code() == StatusCode::kUnavailable ? 0 : 4);
}

TEST_F(ArchiverTest, NoThreadsToStartIsNotACrash) {
  if (kBuiltWithAddressSanitizer) GTEST_SKIP() << kAddressSanitizerSkipReason;
  std::ofstream(dir_ + "/a") << "small";
  std::string big(600 << 10, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 9);
  std::ofstream(dir_ + "/b") << big;
  EXPECT_EXIT(BackupWithoutThreads(*repo_, dir_), ::testing::ExitedWithCode(0), "");
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
  opt.context = Context().WithCancel(&cancel);
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

// The progress contract: reports come from one thread that is not the caller's, never two at
// once; exactly one is final and it is the last; each names a phase the result lists. The
// result's phases are the backup's steps in order.
TEST_F(ArchiverTest, ProgressKeepsTheContractAndTheResultCarriesThePhases) {
  std::string data(4 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  for (int i = 0; i < 4; ++i) std::ofstream(dir_ + "/f" + std::to_string(i)) << data << i;
  testing::ProgressLog log;
  const auto caller = std::this_thread::get_id();
  BackupOptions opt;
  opt.paths = {dir_};
  opt.progress_interval_ms = 1;
  opt.progress = [&](const BackupProgress& p) { log.Record(p); };
  auto r = RunBackup(*repo_, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  EXPECT_EQ(testing::PhaseNames(r->phases),
            (std::vector<std::string>{"index", "parent", "files", "commit"}));
  for (const PhaseTime& p : r->phases) EXPECT_GE(p.seconds, 0) << p.phase;
  log.ExpectContract(caller, r->phases);
  EXPECT_EQ(log.records().back().head.phase, "commit");

  auto stream = RunStreamBackup(*repo_, ::open((dir_ + "/f0").c_str(), O_RDONLY | O_CLOEXEC),
                                "dump.sql", opt, nullptr);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(testing::PhaseNames(stream->phases),
            (std::vector<std::string>{"index", "stream", "commit"}));
}

// A failed backup makes no final report: a final report means the backup completed.
TEST_F(ArchiverTest, ACancelledBackupMakesNoFinalReport) {
  std::ofstream(dir_ + "/f") << "data";
  std::atomic<bool> cancel{true};
  testing::ProgressLog log;
  BackupOptions opt;
  opt.paths = {dir_};
  opt.progress_interval_ms = 1;
  opt.progress = [&](const BackupProgress& p) { log.Record(p); };
  opt.context = Context().WithCancel(&cancel);
  ASSERT_EQ(RunBackup(*repo_, opt).status().code(), StatusCode::kCancelled);
  EXPECT_EQ(log.finals(), 0u);
}

// Issue 11 item 3 inside the library: a backup after a pack was lost does not refer to the
// blobs in it. RunBackup leaves missing packs out of the index, says so through
// on_missing_packs and the result, and stores the lost data again.
TEST_F(ArchiverTest, ABackupAfterAPackWasLostStoresItsDataAgain) {
  std::string data(300 << 10, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 11);
  std::ofstream(dir_ + "/f") << data;
  BackupOptions opt;
  opt.paths = {dir_};
  auto first = RunBackup(*repo_, opt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->missing_packs.packs.empty());
  std::vector<std::string> packs;
  ASSERT_TRUE(repo_->backend()
                  .List(ObjectType::kPack, "",
                        [&](const ObjectInfo& o) {
                          packs.push_back(o.name);
                          return Status::Ok();
                        })
                  .ok());
  for (const std::string& pack : packs)
    ASSERT_TRUE(repo_->backend().Remove({ObjectType::kPack, pack}).ok());

  std::vector<MissingPacks> reported;
  opt.on_missing_packs = [&](const MissingPacks& m) { reported.push_back(m); };
  auto second = RunBackup(*repo_, opt);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].packs.size(), packs.size());
  EXPECT_EQ(second->missing_packs.packs, reported[0].packs);
  auto tree = repo_->LoadTree(second->snapshot.tree);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  // The root holds the path's leading directories; walk down to the file.
  const Tree* t = &*tree;
  Tree sub;
  while (!t->nodes.empty() && t->nodes[0].type == NodeType::kDir) {
    auto next = repo_->LoadTree(*t->nodes[0].subtree);
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    sub = std::move(*next);
    t = &sub;
  }
  ASSERT_EQ(t->nodes.size(), 1u);
  ASSERT_FALSE(t->nodes[0].content.empty());
  for (const Id& blob : t->nodes[0].content)
    EXPECT_TRUE(repo_->LoadBlob(BlobType::kData, blob).ok()) << blob.Hex();
}

}  // namespace
}  // namespace lifeboat
