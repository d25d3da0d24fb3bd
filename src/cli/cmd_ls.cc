// lifeboat ls: lists the nodes of a snapshot (all of it, or below an absolute path inside it),
// as paths, `ls -l` style lines (--long) or NDJSON (--json).
#include <iostream>

#include "cli/common.h"
#include "repository/tree_walker.h"

namespace lifeboat::cli {

namespace {

struct LsFlags {
  std::string snapshot;
  std::string path = "/";
  bool long_format = false;
  bool recursive = true;
  SnapshotFilter filter;
};

char TypeChar(NodeType t) {
  switch (t) {
    case NodeType::kDir:
      return 'd';
    case NodeType::kSymlink:
      return 'l';
    case NodeType::kFifo:
      return 'p';
    case NodeType::kCharDevice:
      return 'c';
    case NodeType::kBlockDevice:
      return 'b';
    case NodeType::kSocket:
      return 's';
    case NodeType::kFile:
      break;
  }
  return '-';
}

// "drwxr-sr-t": the type letter and the nine permission bits with setuid/setgid/sticky folded in.
std::string ModeString(const Node& n) {
  std::string s(10, '-');
  s[0] = TypeChar(n.type);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (n.mode & (0400u >> i)) s[1 + i] = rwx[i];
  auto special = [&](int pos, uint32_t bit, char set_exec, char set_noexec) {
    if (n.mode & bit) s[pos] = s[pos] == 'x' ? set_exec : set_noexec;
  };
  special(3, 04000, 's', 'S');
  special(6, 02000, 's', 'S');
  special(9, 01000, 't', 'T');
  return s;
}

class Lister {
 public:
  // `header` is printed (unless --quiet) before the first node, so that a failed lookup
  // prints only the error.
  Lister(const GlobalOptions& g, Repository& repo, const LsFlags& f, std::string header)
      : g_(g), repo_(repo), f_(f), header_(std::move(header)) {}

  // Prints the header if it has not been printed yet (also for an empty listing).
  void FlushHeader() {
    if (header_.empty()) return;
    if (g_.json)
      std::cout << header_ << "\n";
    else
      Say(g_, header_);
    header_.clear();
  }

  void Print(const std::string& path, const Node& n) {
    FlushHeader();
    if (g_.json) {
      nlohmann::json j = NodeJson(n, /*with_ids=*/false);
      j.erase("name");
      j.erase("name_raw");
      PutBytes(j, "path", path);
      j["message_type"] = "node";
      PrintJson(j);
      return;
    }
    if (!f_.long_format) {
      std::cout << path << "\n";
      return;
    }
    std::string user = n.user.empty() ? std::to_string(n.uid) : n.user;
    std::string group = n.group.empty() ? std::to_string(n.gid) : n.group;
    char line[256];
    snprintf(line, sizeof line, "%s %-8s %-8s %12llu %s ", ModeString(n).c_str(), user.c_str(),
             group.c_str(), static_cast<unsigned long long>(n.size),
             FormatLocalTime(n.mtime_ns).c_str());
    std::cout << line << path;
    if (n.type == NodeType::kSymlink) std::cout << " -> " << n.link_target;
    std::cout << "\n";
  }

  // Prints the children of tree `id` (located at `dir`), and their subtrees when recursive, in
  // path order.
  Status ListTree(const Id& id, const std::string& dir) {
    TreeWalkOptions o;
    o.context = CliContext();
    DepthFirstVisitor v;
    v.node = [&](const std::string& path, Node& n) -> Result<bool> {
      // SIGPIPE is ignored: stop walking once the reader went away (`lifeboat ls ... | head`).
      if (!std::cout) return Status::IOError("writing the listing to stdout failed");
      Print(path, n);
      return f_.recursive && n.type == NodeType::kDir;
    };
    Status st = WalkDepthFirst(repo_, id, dir, o, v);
    if (st.code() == StatusCode::kCancelled) return Status::Cancelled("interrupted");
    return st;
  }

  // Lists `path` inside the tree rooted at `root`: the node itself (unless it is the root) and,
  // for directories, what lies below it.
  Status ListPath(const Id& root, const std::string& path) {
    LB_ASSIGN_OR_RETURN(PathInTree found, FindPath(repo_, root, path));
    if (found.node) Print(found.path, *found.node);
    if (found.tree) return ListTree(*found.tree, found.path);
    return Status::Ok();
  }

 private:
  const GlobalOptions& g_;
  Repository& repo_;
  const LsFlags& f_;
  std::string header_;
};

}  // namespace

nlohmann::json NodeJson(const Node& n, bool with_ids) {
  nlohmann::json j = {{"type", std::string(NodeTypeName(n.type))},
                      {"mode", n.mode},
                      {"permissions", ModeString(n)},
                      {"uid", n.uid},
                      {"gid", n.gid},
                      {"size", n.size},
                      {"mtime", FormatTime(n.mtime_ns)},
                      {"atime", FormatTime(n.atime_ns)},
                      {"ctime", FormatTime(n.ctime_ns)},
                      {"device", n.device},
                      {"inode", n.inode},
                      {"links", n.links},
                      {"content_blobs", n.content.size()}};
  // Names are bytes: each gets a "<field>_raw" sibling when it is not UTF-8 (doc/json.md).
  PutBytes(j, "name", n.name);
  PutBytes(j, "user", n.user);
  PutBytes(j, "group", n.group);
  PutBytes(j, "link_target", n.link_target);
  if (n.type == NodeType::kCharDevice || n.type == NodeType::kBlockDevice) j["rdev"] = n.rdev;
  if (n.sparse) j["sparse"] = true;
  if (with_ids) {
    nlohmann::json content = nlohmann::json::array();
    for (const Id& id : n.content) content.push_back(id.Hex());
    j["content"] = content;
    if (n.subtree) j["subtree"] = n.subtree->Hex();
    nlohmann::json xattrs = nlohmann::json::array();
    for (const auto& [name, value] : n.xattrs) {
      nlohmann::json x = {{"value", HexEncode(AsBytes(value))}};
      PutBytes(x, "name", name);
      xattrs.push_back(std::move(x));
    }
    j["xattrs"] = xattrs;
  }
  return j;
}

void RegisterLs(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("ls", "list the files in a snapshot");
  auto f = std::make_shared<LsFlags>();
  cmd->add_option("snapshot", f->snapshot, "snapshot id prefix or 'latest'")->required();
  cmd->add_option("path", f->path, "absolute path inside the snapshot to list (default /)");
  cmd->add_flag("-l,--long", f->long_format, "ls -l style: mode, owner, size, mtime, path");
  cmd->add_flag("-R,--recursive,!--no-recursive", f->recursive,
                "list subdirectories too (default; --no-recursive lists one level)");
  AddSnapshotFilterOptions(cmd, &f->filter);
  cmd->callback([&g, runner, f] {
    *runner = [&g, f]() -> int {
      auto opened = OpenLockedRepository(g, LockKind::kShared);
      if (!opened.ok()) return ReportError(g, opened.status());
      Repository& repo = *opened->repo;
      std::unique_ptr<RepositoryLock>& lock = opened->lock;
      std::vector<DamagedSnapshot> damaged;
      auto snap = repo.FindSnapshot(f->snapshot, f->filter, &damaged);
      WarnDamagedSnapshots(g, damaged);
      if (!snap.ok()) return ReportError(g, snap.status());
      std::string header;
      if (g.json) {
        nlohmann::json j = SnapshotJson(snap->first, snap->second);
        j["message_type"] = "snapshot";
        header = DumpJson(j);
      } else {
        std::string paths;
        for (const auto& p : snap->second.paths) paths += (paths.empty() ? "" : " ") + p;
        header = "snapshot " + snap->first.Short() + " of [" + paths + "] at " +
                 FormatLocalTime(snap->second.time_ns) +
                 (f->path == "/" ? "" : " filtered by " + f->path) + ":";
      }
      Lister lister(g, repo, *f, std::move(header));
      Status st = lister.ListPath(snap->second.tree, f->path);
      if (st.ok()) lister.FlushHeader();
      std::cout << std::flush;
      if (lock) lock->Release().IgnoreError();
      if (!st.ok()) return ReportError(g, st);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
