// BackupOptions::read_root (archiver.h): paths read below a directory and recorded as the
// original absolute paths, for failback (doc/failover.md, "Failback", step 2).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "archiver/archiver.h"
#include "backend/memory_backend.h"
#include "restorer/restorer.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ReadRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
    auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lifeboat-readroot-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    // The test's paths must be clean (no symlink among them) for the comparisons below.
    dir_ = fs::canonical(tmpl).string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A small tree at `at`: two files, a subdirectory, a symlink pointing out of everything.
  void MakeTree(const std::string& at) {
    fs::create_directories(at + "/sub");
    std::ofstream(at + "/a.txt") << "alpha";
    std::ofstream(at + "/sub/b.txt") << "beta";
    fs::create_symlink("/etc/passwd", at + "/link");
  }

  Result<BackupResult> Backup(std::vector<std::string> paths, std::string read_root = "",
                              std::vector<std::string> excludes = {}) {
    BackupOptions opt;
    opt.paths = std::move(paths);
    opt.read_root = std::move(read_root);
    opt.excludes = std::move(excludes);
    opt.host = "h";
    return RunBackup(*repo_, opt);
  }

  // The node at the clean absolute `path` of the snapshot's tree (fails the test if absent).
  Node NodeAt(const Snapshot& s, const std::string& path) {
    Id tree = s.tree;
    Node found;
    std::stringstream parts(path.substr(1));
    std::string name;
    while (std::getline(parts, name, '/')) {
      auto t = repo_->LoadTree(tree);
      EXPECT_TRUE(t.ok());
      if (!t.ok()) return {};
      auto it = std::find_if(t->nodes.begin(), t->nodes.end(),
                             [&](const Node& n) { return n.name == name; });
      EXPECT_NE(it, t->nodes.end()) << path << ": no " << name;
      if (it == t->nodes.end()) return {};
      found = *it;
      if (found.subtree) tree = *found.subtree;
    }
    return found;
  }

  std::vector<std::string> Names(const Id& tree) {
    std::vector<std::string> names;
    auto t = repo_->LoadTree(tree);
    EXPECT_TRUE(t.ok());
    if (t.ok())
      for (const Node& n : t->nodes) names.push_back(n.name);
    return names;
  }

  std::unique_ptr<Repository> repo_;
  std::string dir_;
};

TEST_F(ReadRootTest, TreesAreThoseOfABackupOfTheOriginalPath) {
  MakeTree(dir_ + "/src");
  // A first listing updates the directories' access times (relatime): after it they hold still.
  ASSERT_TRUE(Backup({dir_ + "/src"}).ok());
  // The original: the directory at its own path.
  auto original = Backup({dir_ + "/src"});
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  // The same directory read below the read root dir_, recorded as /src.
  auto rooted = Backup({"/src"}, dir_ + "/");
  ASSERT_TRUE(rooted.ok()) << rooted.status().ToString();
  EXPECT_TRUE(rooted->errors.empty());
  EXPECT_EQ(rooted->snapshot.paths, (std::vector<std::string>{"/src"}));
  EXPECT_EQ(Names(rooted->snapshot.tree), (std::vector<std::string>{"src"}));
  // The node and every tree below it are identical (same ids: same names, contents, metadata).
  const Node a = NodeAt(original->snapshot, dir_ + "/src");
  const Node b = NodeAt(rooted->snapshot, "/src");
  ASSERT_TRUE(a.subtree.has_value());
  EXPECT_EQ(a, b);
  // The symlink is stored as one, pointing where it pointed, not followed.
  const Node link = NodeAt(rooted->snapshot, "/src/link");
  EXPECT_EQ(link.type, NodeType::kSymlink);
  EXPECT_EQ(link.link_target, "/etc/passwd");
  // "/" as the read root is no read root.
  auto plain = Backup({dir_ + "/src"}, "/");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->snapshot.tree, original->snapshot.tree);
}

TEST_F(ReadRootTest, ARestoreLaysTheFilesOutAtTheirOriginalPaths) {
  MakeTree(dir_ + "/dr/var/lib/app");
  auto rooted = Backup({"/var/lib/app"}, dir_ + "/dr");
  ASSERT_TRUE(rooted.ok()) << rooted.status().ToString();
  RestoreOptions ro;
  ro.target = dir_ + "/restored";
  auto restored = RestoreTree(*repo_, rooted->snapshot.tree, ro);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(ReadAll(dir_ + "/restored/var/lib/app/a.txt"), "alpha");
  EXPECT_EQ(ReadAll(dir_ + "/restored/var/lib/app/sub/b.txt"), "beta");
  EXPECT_TRUE(fs::is_symlink(dir_ + "/restored/var/lib/app/link"));
  EXPECT_FALSE(fs::exists(dir_ + "/restored" + dir_));  // nothing of the read root's own path
}

TEST_F(ReadRootTest, TheParentIsFoundByTheRecordedPaths) {
  // A backup of the original, then one of its copy below a read root (the recovery site's
  // recovery root): same recorded paths, so the first is the second's parent.
  const std::string original_path = dir_ + "/orig/x";
  MakeTree(original_path);
  auto first = Backup({original_path});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  MakeTree(dir_ + "/dr" + original_path);
  auto second = Backup({original_path}, dir_ + "/dr");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->parent_id, first->snapshot_id);
  EXPECT_EQ(second->snapshot.paths, first->snapshot.paths);
}

TEST_F(ReadRootTest, ExcludesMatchTheRecordedPaths) {
  MakeTree(dir_ + "/src");
  auto r = Backup({"/src"}, dir_, {"/src/sub", dir_ + "/src/a.txt"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Node src = NodeAt(r->snapshot, "/src");
  ASSERT_TRUE(src.subtree.has_value());
  // /src/sub (a recorded path) is left out; the pattern naming the read path matches nothing.
  EXPECT_EQ(Names(*src.subtree), (std::vector<std::string>{"a.txt", "link"}));
}

TEST_F(ReadRootTest, RelativeOrMissingReadRootsAndRelativePathsAreRefused) {
  MakeTree(dir_ + "/src");
  EXPECT_EQ(Backup({"/src"}, "relative/dir").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Backup({"/src"}, "./").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Backup({"src"}, dir_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Backup({"/src"}, dir_ + "/missing").ok());
  EXPECT_EQ(Backup({"/src"}, dir_ + "/src/a.txt").status().code(), StatusCode::kInvalidArgument);
  auto snaps = repo_->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());
}

TEST_F(ReadRootTest, SymlinksBelowTheReadRootAreNotFollowedOutOfIt) {
  // /var in the read root is a symlink to a directory outside it: following it would back up
  // what is outside as if it were /var/lib/app.
  MakeTree(dir_ + "/outside/lib/app");
  fs::create_directories(dir_ + "/dr");
  fs::create_symlink(dir_ + "/outside", dir_ + "/dr/var");
  MakeTree(dir_ + "/dr/srv/app");
  auto r = Backup({"/var/lib/app", "/srv/app"}, dir_ + "/dr");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].path, dir_ + "/dr/var");
  EXPECT_NE(r->errors[0].message.find("not followed"), std::string::npos) << r->errors[0].message;
  EXPECT_TRUE(r->incomplete);
  // Only /srv/app made it; nothing of the outside directory is in the snapshot.
  EXPECT_EQ(Names(r->snapshot.tree), (std::vector<std::string>{"srv"}));
  // A path given that is itself a symlink is stored as the symlink, as always.
  fs::create_symlink(dir_ + "/outside/lib/app", dir_ + "/dr/srv/applink");
  auto given = Backup({"/srv/applink"}, dir_ + "/dr");
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_EQ(NodeAt(given->snapshot, "/srv/applink").type, NodeType::kSymlink);
}

}  // namespace
}  // namespace lifeboat
