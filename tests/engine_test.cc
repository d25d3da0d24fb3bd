// End-to-end engine tests through the library API (the same API the CLI uses): backup of a tree
// with every file kind and all metadata, restore, programmatic comparison; incremental
// correctness; dedup of identical data; wrong password.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archiver/archiver.h"
#include "archiver/command_backup.h"
#include "backend/local_backend.h"
#include "backend/memory_backend.h"
#include "restorer/restorer.h"
#include "tree_builder.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

using testing::BuildEveryKindTree;
using testing::CompareTrees;
using testing::MakeTempDir;
using testing::RemoveTree;
using testing::WriteFile;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
    work_ = MakeTempDir("engine");
    src_ = work_ + "/src";
    mkdir(src_.c_str(), 0755);
    auto backend = LocalBackend::Create(work_ + "/repo");
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    auto repo = Repository::Init(std::move(*backend), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }
  void TearDown() override { RemoveTree(work_); }

  BackupResult Backup(std::vector<std::string> paths = {}) {
    BackupOptions opt;
    opt.paths = paths.empty() ? std::vector<std::string>{src_} : paths;
    auto r = RunBackup(*repo_, opt);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : BackupResult{};
  }

  std::string Restore(const Id& snapshot_id, const std::string& name) {
    auto snap = repo_->LoadSnapshot(snapshot_id);
    EXPECT_TRUE(snap.ok());
    RestoreOptions opt;
    opt.target = work_ + "/" + name;
    opt.verify = true;
    auto r = RestoreTree(*repo_, snap->tree, opt);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      for (const auto& e : r->errors) ADD_FAILURE() << "restore error " << e.path << ": " << e.message;
    }
    return opt.target + src_;
  }

  // Reopens the repository from disk, as a new process would.
  std::unique_ptr<Repository> Reopen() {
    auto backend = LocalBackend::Open(work_ + "/repo");
    EXPECT_TRUE(backend.ok());
    auto repo = Repository::Open(std::move(*backend), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    EXPECT_TRUE((*repo)->LoadIndex().ok());
    return std::move(*repo);
  }

  std::string work_, src_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(EngineTest, EveryFileKindRoundTripsWithMetadata) {
  testing::TreeFeatures features = BuildEveryKindTree(src_);
  BackupResult r = Backup();
  ASSERT_TRUE(r.snapshot_id.has_value());
  EXPECT_FALSE(r.incomplete) << (r.errors.empty() ? "" : r.errors[0].path + ": " + r.errors[0].message);
  repo_ = Reopen();
  std::string restored = Restore(*r.snapshot_id, "restore");
  std::vector<std::string> diffs = CompareTrees(src_, restored, {});
  for (const auto& d : diffs) ADD_FAILURE() << d;
  // The restored sparse file has holes.
  struct stat st;
  ASSERT_EQ(lstat((restored + "/sparse.img").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, st.st_size / 2);
  RecordProperty("xattrs", features.xattrs);
  RecordProperty("acls", features.acls);
  RecordProperty("devices", features.devices);
}

TEST_F(EngineTest, IncrementalBackupReadsOnlyChangedFiles) {
  WriteFile(src_ + "/keep.txt", testing::RandomBytes(200000, 1));
  WriteFile(src_ + "/change.txt", "version 1");
  WriteFile(src_ + "/delete.txt", "to be deleted");
  WriteFile(src_ + "/rename-me.txt", testing::RandomBytes(50000, 2));
  mkdir((src_ + "/d").c_str(), 0755);
  WriteFile(src_ + "/d/inner.txt", "inner");
  BackupResult first = Backup();
  EXPECT_EQ(first.snapshot.summary.files_new, 5u);

  // Nothing changed: nothing read, nothing added.
  BackupResult same = Backup();
  EXPECT_EQ(same.parent_id, first.snapshot_id);
  EXPECT_EQ(same.snapshot.summary.files_unmodified, 5u);
  EXPECT_EQ(same.snapshot.summary.bytes_read, 0u);
  EXPECT_EQ(same.snapshot.summary.data_blobs, 0u);
  // src and src/d are unchanged; only the ancestors (/tmp, the work dir) may have new mtimes.
  EXPECT_GE(same.snapshot.summary.dirs_unmodified, 2u);

  // Change, add, delete, rename.
  WriteFile(src_ + "/change.txt", "version 2, longer");
  WriteFile(src_ + "/added.txt", "new file");
  unlink((src_ + "/delete.txt").c_str());
  rename((src_ + "/rename-me.txt").c_str(), (src_ + "/renamed.txt").c_str());
  BackupResult second = Backup();
  const SnapshotSummary& m = second.snapshot.summary;
  EXPECT_EQ(m.files_changed, 1u);           // change.txt
  EXPECT_EQ(m.files_new, 2u);               // added.txt, renamed.txt (new name)
  EXPECT_EQ(m.files_unmodified, 2u);        // keep.txt, d/inner.txt
  EXPECT_EQ(m.bytes_read, 17u + 8u + 50000u);
  // The renamed file's content was already stored: only the small files add data.
  EXPECT_LT(m.data_added, 1000u);

  std::string restored = Restore(*second.snapshot_id, "r2");
  for (const auto& d : CompareTrees(src_, restored, {})) ADD_FAILURE() << d;
  // The first snapshot still restores to the first state.
  std::string old = Restore(*first.snapshot_id, "r1");
  EXPECT_EQ(testing::ReadFileOrDie(old + "/change.txt"), "version 1");
  EXPECT_EQ(testing::ReadFileOrDie(old + "/delete.txt"), "to be deleted");
}

TEST_F(EngineTest, SameDataTwiceAddsNothing) {
  WriteFile(src_ + "/a.bin", testing::RandomBytes(5 << 20, 7));
  BackupResult first = Backup();
  EXPECT_GT(first.snapshot.summary.data_added, 5u << 20);
  // A second copy of the same content under another path: fully deduplicated.
  std::string other = work_ + "/other";
  mkdir(other.c_str(), 0755);
  WriteFile(other + "/copy.bin", testing::RandomBytes(5 << 20, 7));
  BackupResult second = Backup({other});
  EXPECT_EQ(second.snapshot.summary.data_blobs, 0u);
  // A forced full re-read of the original adds nothing either.
  BackupOptions opt;
  opt.paths = {src_};
  opt.no_parent = true;
  auto third = RunBackup(*repo_, opt);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->snapshot.summary.data_blobs, 0u);
  EXPECT_EQ(third->snapshot.summary.bytes_read, 5u << 20);
}

// Opens (creating with mkdir_mode >= 0) the directory chain `names` below `root`, one name at a
// time: the whole path is longer than PATH_MAX, so no path-based call could reach it.
static int OpenChain(const std::string& root, const std::vector<std::string>& names,
                     int mkdir_mode) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (const auto& name : names) {
    if (fd < 0) return -1;
    if (mkdir_mode >= 0) mkdirat(fd, name.c_str(), static_cast<mode_t>(mkdir_mode));
    int next = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    fd = next;
  }
  return fd;
}

static std::string ReadAt(int dirfd, const char* name) {
  std::string out;
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<cannot open>";
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

static void WriteAt(int dirfd, const char* name, const std::string& content) {
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);
}

TEST_F(EngineTest, PathsLongerThanPathMaxRoundTrip) {
  // 24 directories of 250-byte names: the deepest entries lie ~6,000 bytes below src.
  std::vector<std::string> chain;
  for (int i = 0; i < 24; ++i) chain.push_back(std::string(247, 'a' + i % 26) + std::to_string(100 + i));
  int deep = OpenChain(src_, chain, 0755);
  ASSERT_GE(deep, 0);
  const std::string content = testing::RandomBytes(3 << 20, 11);  // several chunks
  WriteAt(deep, "data.bin", content);
  ASSERT_EQ(symlinkat("data.bin", deep, "link"), 0);
  ASSERT_EQ(linkat(deep, "data.bin", deep, "hard", 0), 0);
  int f = openat(deep, "data.bin", O_RDONLY | O_CLOEXEC);
  const bool xattrs = fsetxattr(f, "user.deep", "yes", 3, 0) == 0;
  close(f);
  close(deep);

  BackupResult first = Backup();
  ASSERT_TRUE(first.snapshot_id.has_value());
  EXPECT_FALSE(first.incomplete) << (first.errors.empty() ? "" : first.errors[0].path + ": " +
                                                                     first.errors[0].message);
  EXPECT_EQ(first.snapshot.summary.files_new, 2u);  // data.bin and its hardlink
  // Unchanged, then one deep file changed: the parent snapshot is matched at that depth too.
  BackupResult again = Backup();
  EXPECT_EQ(again.snapshot.summary.files_unmodified, 2u);
  EXPECT_EQ(again.snapshot.summary.bytes_read, 0u);
  deep = OpenChain(src_, chain, -1);
  ASSERT_GE(deep, 0);
  WriteAt(deep, "new.txt", "added deep down");
  close(deep);
  BackupResult third = Backup();
  EXPECT_FALSE(third.incomplete);
  EXPECT_EQ(third.snapshot.summary.files_new, 1u);
  EXPECT_EQ(third.snapshot.summary.files_unmodified, 2u);

  repo_ = Reopen();
  std::string restored = Restore(*third.snapshot_id, "restore");
  deep = OpenChain(restored, chain, -1);
  ASSERT_GE(deep, 0) << "the deep directory was not restored";
  EXPECT_TRUE(ReadAt(deep, "data.bin") == content);
  EXPECT_EQ(ReadAt(deep, "new.txt"), "added deep down");
  char target[64] = {};
  EXPECT_EQ(readlinkat(deep, "link", target, sizeof target - 1), 8);
  EXPECT_STREQ(target, "data.bin");
  struct stat a, b;
  ASSERT_EQ(fstatat(deep, "data.bin", &a, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_EQ(fstatat(deep, "hard", &b, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "the hardlink was restored as a copy";
  if (xattrs) {
    f = openat(deep, "data.bin", O_RDONLY | O_CLOEXEC);
    char value[8] = {};
    EXPECT_EQ(fgetxattr(f, "user.deep", value, sizeof value), 3);
    EXPECT_STREQ(value, "yes");
    close(f);
  }
  close(deep);
}

// Issue 11 item 20: a file that cannot be opened is an error, and only an error: it is not in
// the snapshot and not counted as a new file. Run as an unprivileged user (root reads anything):
// in a child process that drops to nobody when the test runs as root.
[[noreturn]] static void BackupWithAnUnreadableFile(const std::string& src) {
  if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                         setresuid(65534, 65534, 65534) != 0))
    std::_Exit(2);
  auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
  if (!repo.ok()) std::_Exit(3);
  BackupOptions opt;
  opt.paths = {src};
  auto r = RunBackup(**repo, opt);
  if (!r.ok()) std::_Exit(4);
  const SnapshotSummary& m = r->snapshot.summary;
  if (r->errors.size() != 1 || r->errors[0].path != src + "/secret.txt") std::_Exit(5);
  if (!r->incomplete || !r->snapshot_id || !r->snapshot.incomplete) std::_Exit(6);
  if (m.files_new != 1) std::_Exit(7);  // ok.txt only
  if (m.total_files_processed != 1 || m.errors != 1) std::_Exit(8);
  std::_Exit(0);
}

TEST_F(EngineTest, UnreadableFileIsCountedAsAnErrorNotAsNew) {
  WriteFile(src_ + "/ok.txt", "fine");
  WriteFile(src_ + "/secret.txt", "no access");
  ASSERT_EQ(chmod((src_ + "/secret.txt").c_str(), 0), 0);
  ASSERT_EQ(chmod(work_.c_str(), 0755), 0);  // nobody must reach src
  EXPECT_EXIT(BackupWithAnUnreadableFile(src_), ::testing::ExitedWithCode(0), "");
}

// Issue 11 item 2: symlinks in the leading components of a path given are followed, and the
// path is recorded as given (link/sub are directories in the snapshot); a path that is itself a
// symlink is stored as the symlink (as restic does).
TEST_F(EngineTest, SymlinksLeadingToAPathGivenAreFollowedThePathItselfIsNot) {
  mkdir((src_ + "/real").c_str(), 0755);
  mkdir((src_ + "/real/sub").c_str(), 0755);
  WriteFile(src_ + "/real/sub/f", "below a symlinked directory");
  ASSERT_EQ(symlink("real", (src_ + "/link").c_str()), 0);
  BackupResult r = Backup({src_ + "/link/sub"});
  ASSERT_TRUE(r.snapshot_id.has_value());
  EXPECT_FALSE(r.incomplete) << (r.errors.empty() ? "" : r.errors[0].path + ": " + r.errors[0].message);
  EXPECT_EQ(r.snapshot.summary.files_new, 1u);
  EXPECT_EQ(r.snapshot.paths, std::vector<std::string>{src_ + "/link/sub"});
  std::string restored = Restore(*r.snapshot_id, "r");  // .../r + src_
  struct stat st;
  ASSERT_EQ(lstat((restored + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode)) << "link/ is a directory in the snapshot";
  EXPECT_EQ(testing::ReadFileOrDie(restored + "/link/sub/f"), "below a symlinked directory");

  BackupResult link_itself = Backup({src_ + "/link"});
  EXPECT_FALSE(link_itself.incomplete);
  std::string restored_link = Restore(*link_itself.snapshot_id, "l");
  ASSERT_EQ(lstat((restored_link + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "a path that names a symlink is stored as the symlink";
}

// Issue 11 item 10: a tree deeper than the open-file limit allows descriptors for.
TEST_F(EngineTest, DeepTreeIsBackedUpCompletelyWithFewFileDescriptors) {
  std::string path = src_;
  for (int i = 1; i <= 150; ++i) {
    path += "/d" + std::to_string(i);
    ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
    WriteFile(path + "/f", "level " + std::to_string(i));
  }
  struct rlimit saved, low;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  low = saved;
  low.rlim_cur = 16;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  BackupResult r = Backup();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(r.snapshot_id.has_value());
  EXPECT_FALSE(r.incomplete) << (r.errors.empty() ? "" : r.errors[0].path + ": " + r.errors[0].message);
  EXPECT_EQ(r.snapshot.summary.files_new, 150u);
  std::string restored = Restore(*r.snapshot_id, "deep");
  for (const auto& d : CompareTrees(src_, restored, {})) ADD_FAILURE() << d;
}

TEST_F(EngineTest, UnreadableFileIsReportedAndSnapshotStillWritten) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read files without permission";
  WriteFile(src_ + "/ok.txt", "fine");
  WriteFile(src_ + "/secret.txt", "no access");
  chmod((src_ + "/secret.txt").c_str(), 0);
  BackupResult r = Backup();
  EXPECT_TRUE(r.incomplete);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].path.find("secret.txt"), std::string::npos);
  EXPECT_TRUE(r.snapshot_id.has_value());
}

TEST_F(EngineTest, StreamBackupFailureWritesNoSnapshot) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "dump", 4), 4);
  close(fds[1]);
  BackupOptions opt;
  auto r = RunStreamBackup(*repo_, fds[0], "db.sql", opt,
                           [] { return Status::FailedPrecondition("pg_dump failed"); });
  close(fds[0]);
  EXPECT_FALSE(r.ok());
  auto snaps = repo_->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());
}

TEST_F(EngineTest, CommandBackupStoresItsOutputWithoutLifeboatSecrets) {
  ::setenv("LIFEBOAT_PASSWORD", "do-not-leak", 1);
  CommandSource dump;
  dump.argv = {"/bin/sh", "-c", "echo dump-start; env; echo dump-end"};
  dump.filename = "db.sql";
  auto r = RunCommandBackup(*repo_, dump, BackupOptions{});
  ::unsetenv("LIFEBOAT_PASSWORD");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->snapshot_id.has_value());
  RestoreOptions opt;
  opt.target = work_ + "/dump";
  ASSERT_TRUE(RestoreTree(*repo_, r->snapshot.tree, opt).ok());
  std::string content = testing::ReadFileOrDie(opt.target + "/db.sql");
  EXPECT_NE(content.find("dump-start"), std::string::npos);
  EXPECT_NE(content.find("dump-end"), std::string::npos);
  EXPECT_EQ(content.find("do-not-leak"), std::string::npos);

  // A failing command writes no snapshot and says so.
  CommandSource failing;
  failing.argv = {"/bin/sh", "-c", "echo partial; exit 3"};
  failing.filename = "db.sql";
  auto bad = RunCommandBackup(*repo_, failing, BackupOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no snapshot was written"), std::string::npos);
  auto snaps = repo_->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_EQ(snaps->size(), 1u);
  EXPECT_EQ(RunCommandBackup(*repo_, CommandSource{}, BackupOptions{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, ABackupWithAnInjectedClockRecordsThatClocksTime) {
  WriteFile(src_ + "/a.txt", "hello");
  const int64_t then = 1'600'000'000LL * 1'000'000'000;  // 2020-09-13
  ManualClock clock(then);
  BackupOptions opt;
  opt.paths = {src_};
  opt.context = Context().WithClock(clock);
  auto r = RunBackup(*repo_, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshot.time_ns, then);
  EXPECT_EQ(r->snapshot.summary.backup_start_ns, then);
  EXPECT_EQ(r->snapshot.summary.backup_end_ns, then);  // the clock did not move
  auto loaded = Reopen()->LoadSnapshot(*r->snapshot_id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->time_ns, then);
}

TEST_F(EngineTest, BackupAndRestoreStopAtTheirDeadline) {
  WriteFile(src_ + "/a.txt", "hello");
  ManualClock clock;
  BackupOptions opt;
  opt.paths = {src_};
  opt.context = Context().WithClock(clock).WithTimeout(std::chrono::seconds(10));
  clock.Advance(11'000'000'000);
  auto expired = RunBackup(*repo_, opt);
  EXPECT_EQ(expired.status().code(), StatusCode::kDeadlineExceeded) << expired.status().ToString();
  auto snaps = repo_->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());

  BackupResult done = Backup();
  ASSERT_TRUE(done.snapshot_id.has_value());
  RestoreOptions ro;
  ro.target = work_ + "/restored";
  ro.context = opt.context;
  auto restored = RestoreTree(*repo_, done.snapshot.tree, ro);
  EXPECT_EQ(restored.status().code(), StatusCode::kDeadlineExceeded)
      << restored.status().ToString();
}

TEST_F(EngineTest, ACancelledBackupLeavesNoSnapshotAndARerunReusesItsData) {
  // 24 MiB of incompressible data in 12 files: more than one 16 MiB pack.
  for (int i = 0; i < 12; ++i)
    WriteFile(src_ + "/f" + std::to_string(i), testing::RandomBytes(2 << 20, 100 + i));
  std::atomic<bool> cancel{false};
  BackupOptions opt;
  opt.paths = {src_};
  opt.context = Context().WithCancel(&cancel);
  opt.read_workers = 1;  // read in order, so the cancel comes part-way
  opt.progress_interval_ms = 1;
  uint64_t bytes_at_cancel = 0;
  opt.progress = [&](const BackupProgress& p) {
    if (!cancel && p.bytes_added >= (18u << 20)) {
      bytes_at_cancel = p.bytes_added;
      cancel = true;
    }
  };
  auto cancelled = RunBackup(*repo_, opt);
  ASSERT_EQ(cancelled.status().code(), StatusCode::kCancelled) << cancelled.status().ToString();
  ASSERT_GT(bytes_at_cancel, 0u);
  auto snapshots = Reopen()->ListSnapshots();
  ASSERT_TRUE(snapshots.ok());
  EXPECT_TRUE(snapshots->empty());

  // A new process backs the same tree up: what the cancelled run stored is not stored again.
  repo_ = Reopen();
  uint64_t added = 0;
  BackupOptions again;
  again.paths = {src_};
  again.progress = [&](const BackupProgress& p) { added = p.bytes_added; };
  auto r = RunBackup(*repo_, again);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->snapshot_id.has_value());
  EXPECT_LE(added, (24u << 20) - (16u << 20)) << "the first full pack was uploaded again";
  Restore(*r->snapshot_id, "restored");
}

TEST_F(EngineTest, WrongPasswordIsRejectedAndWritesNothing) {
  auto backend = LocalBackend::Open(work_ + "/repo");
  ASSERT_TRUE(backend.ok());
  auto repo = Repository::Open(std::move(*backend), "wrong");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(repo.status().message().find("no key"), std::string::npos);
}

TEST_F(EngineTest, ExcludesAndLimits) {
  WriteFile(src_ + "/keep.txt", "keep");
  WriteFile(src_ + "/skip.tmp", "skip");
  mkdir((src_ + "/cache").c_str(), 0755);
  WriteFile(src_ + "/cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n");
  WriteFile(src_ + "/cache/blob", "cached");
  WriteFile(src_ + "/huge.bin", std::string(2 << 20, 'h'));
  BackupOptions opt;
  opt.paths = {src_};
  opt.excludes = {"*.tmp"};
  opt.exclude_caches = true;
  opt.exclude_larger_than = 1 << 20;
  auto r = RunBackup(*repo_, opt);
  ASSERT_TRUE(r.ok());
  std::string restored = Restore(*r->snapshot_id, "ex");
  EXPECT_EQ(access((restored + "/keep.txt").c_str(), F_OK), 0);
  EXPECT_NE(access((restored + "/skip.tmp").c_str(), F_OK), 0);
  EXPECT_EQ(access((restored + "/cache/CACHEDIR.TAG").c_str(), F_OK), 0);
  EXPECT_NE(access((restored + "/cache/blob").c_str(), F_OK), 0);
  EXPECT_NE(access((restored + "/huge.bin").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace lifeboat
