// lifeboat diff: compares two snapshots. Walks both trees in parallel by name and skips subtrees
// whose ids are equal, so the cost follows the size of the change, not of the snapshots.
//
// Markers: "+" added, "-" removed, "M" content changed (file blob lists, symlink target or
// device number), "U" metadata only (mode, owner, mtime, xattrs; atime, ctime and inode numbers
// are ignored because they change without anyone editing the file), "T" type changed.
// Byte counts come from the index (plaintext lengths of blobs seen on only one side of the walked,
// differing part; a blob that also occurs in an identical subtree may be counted, as in restic).
#include <iostream>
#include <optional>
#include <unordered_set>

#include "cli/common.h"

namespace lifeboat::cli {

namespace {

struct DiffFlags {
  std::string first, second;
  bool metadata = true;
  SnapshotFilter filter;
};

struct SideCounts {
  uint64_t files = 0, dirs = 0, others = 0;
  uint64_t data_blobs = 0, tree_blobs = 0, bytes = 0;
  uint64_t data_bytes = 0;  // part of `bytes` that is file content (the rest is trees)
};

using IdSet = std::unordered_set<Id, IdHash>;

bool MetadataDiffers(const Node& a, const Node& b) {
  return a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.user != b.user ||
         a.group != b.group || a.mtime_ns != b.mtime_ns || a.xattrs != b.xattrs;
}

class SnapshotDiffer {
 public:
  SnapshotDiffer(const GlobalOptions& g, Repository& repo, bool show_metadata)
      : g_(g), repo_(repo), show_metadata_(show_metadata) {}

  // Compares the directories `a` and `b` (either may be absent: everything on the other side is
  // then added or removed) found at `dir`.
  Status CompareTrees(const std::optional<Id>& a, const std::optional<Id>& b,
                      const std::string& dir) {
    if (a && b && *a == *b) return Status::Ok();
    if (g_interrupted) return Status::Cancelled("interrupted");
    if (!std::cout) return Status::IOError("writing the changes to stdout failed");
    Tree ta, tb;
    if (a) {
      LB_ASSIGN_OR_RETURN(ta, repo_.LoadTree(*a));
      trees_a_.insert(*a);
    }
    if (b) {
      LB_ASSIGN_OR_RETURN(tb, repo_.LoadTree(*b));
      trees_b_.insert(*b);
    }
    size_t i = 0, j = 0;
    while (i < ta.nodes.size() || j < tb.nodes.size()) {
      if (j == tb.nodes.size() || (i < ta.nodes.size() && ta.nodes[i].name < tb.nodes[j].name)) {
        LB_RETURN_IF_ERROR(Removed(dir, ta.nodes[i++]));
      } else if (i == ta.nodes.size() || tb.nodes[j].name < ta.nodes[i].name) {
        LB_RETURN_IF_ERROR(Added(dir, tb.nodes[j++]));
      } else {
        LB_RETURN_IF_ERROR(CompareNodes(dir, ta.nodes[i++], tb.nodes[j++]));
      }
    }
    return Status::Ok();
  }

  // Prints the summary (text or JSON) after CompareTrees.
  void PrintSummary(const Id& first, const Id& second) {
    SideCounts added = added_, removed = removed_;
    uint64_t missing = 0;
    auto count = [&](const IdSet& mine, const IdSet& theirs, BlobType type, SideCounts* c) {
      for (const Id& id : mine) {
        if (theirs.count(id)) continue;
        (type == BlobType::kData ? c->data_blobs : c->tree_blobs)++;
        if (auto loc = repo_.index().Find(type, id)) {
          c->bytes += loc->raw_length;
          if (type == BlobType::kData) c->data_bytes += loc->raw_length;
        } else {
          ++missing;
        }
      }
    };
    count(data_b_, data_a_, BlobType::kData, &added);
    count(data_a_, data_b_, BlobType::kData, &removed);
    count(trees_b_, trees_a_, BlobType::kTree, &added);
    count(trees_a_, trees_b_, BlobType::kTree, &removed);
    if (missing)
      std::cerr << "lifeboat: warning: " << missing
                << " blob(s) are not in the index; their sizes are not counted (run `lifeboat "
                   "check`)\n";
    if (g_.json) {
      auto side = [](const SideCounts& c) {
        return nlohmann::json{{"files", c.files},           {"dirs", c.dirs},
                              {"others", c.others},         {"data_blobs", c.data_blobs},
                              {"tree_blobs", c.tree_blobs}, {"bytes", c.bytes},
                              {"data_bytes", c.data_bytes}};
      };
      PrintJson({{"message_type", "statistics"},
                 {"source_snapshot", first.Hex()},
                 {"target_snapshot", second.Hex()},
                 {"changed_files", changed_files_},
                 {"changed_others", changed_others_},
                 {"metadata_changed", metadata_changed_},
                 {"metadata_changed_dirs", metadata_changed_dirs_},
                 {"type_changed", type_changed_},
                 {"added", side(added)},
                 {"removed", side(removed)}});
      return;
    }
    char line[160];
    auto row = [&](const char* what, uint64_t n, uint64_t r, long long c) {
      if (c >= 0)
        snprintf(line, sizeof line, "%-13s %6llu new, %6llu removed, %6lld changed", what,
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(r), c);
      else
        snprintf(line, sizeof line, "%-13s %6llu new, %6llu removed", what,
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(r));
      Say(g_, line);
    };
    Say(g_, "");
    row("Files:", added.files, removed.files, static_cast<long long>(changed_files_));
    row("Dirs:", added.dirs, removed.dirs, static_cast<long long>(metadata_changed_dirs_));
    row("Others:", added.others, removed.others, static_cast<long long>(changed_others_));
    Say(g_, "Metadata only: " + std::to_string(metadata_changed_) +
                " (U), type changed: " + std::to_string(type_changed_) + " (T)");
    row("Data Blobs:", added.data_blobs, removed.data_blobs, -1);
    row("Tree Blobs:", added.tree_blobs, removed.tree_blobs, -1);
    Say(g_, "  Added:   " + FormatBytes(added.bytes));
    Say(g_, "  Removed: " + FormatBytes(removed.bytes));
  }

 private:
  static std::string Display(const std::string& dir, const Node& n) {
    std::string p = dir == "/" ? "/" + n.name : dir + "/" + n.name;
    if (n.type == NodeType::kDir) p += "/";
    return p;
  }
  static std::string Child(const std::string& dir, const Node& n) {
    return dir == "/" ? "/" + n.name : dir + "/" + n.name;
  }

  void Emit(char modifier, const std::string& path, const Node& n) {
    if (modifier == 'U' && !show_metadata_) return;
    if (g_.json) {
      nlohmann::json j = {{"message_type", "change"},
                          {"modifier", std::string(1, modifier)},
                          {"type", std::string(NodeTypeName(n.type))}};
      PutBytes(j, "path", path);
      PrintJson(j);
    } else if (!g_.quiet) {
      std::cout << modifier << "    " << path << "\n";
    }
  }

  static void CountNode(const Node& n, SideCounts* c) {
    if (n.type == NodeType::kFile)
      ++c->files;
    else if (n.type == NodeType::kDir)
      ++c->dirs;
    else
      ++c->others;
  }

  Status Removed(const std::string& dir, const Node& n) {
    Emit('-', Display(dir, n), n);
    CountNode(n, &removed_);
    data_a_.insert(n.content.begin(), n.content.end());
    if (n.type == NodeType::kDir && n.subtree)
      return CompareTrees(n.subtree, std::nullopt, Child(dir, n));
    return Status::Ok();
  }

  Status Added(const std::string& dir, const Node& n) {
    Emit('+', Display(dir, n), n);
    CountNode(n, &added_);
    data_b_.insert(n.content.begin(), n.content.end());
    if (n.type == NodeType::kDir && n.subtree)
      return CompareTrees(std::nullopt, n.subtree, Child(dir, n));
    return Status::Ok();
  }

  Status CompareNodes(const std::string& dir, const Node& a, const Node& b) {
    if (a.type != b.type) {
      Emit('T', Display(dir, b), b);
      ++type_changed_;
      data_a_.insert(a.content.begin(), a.content.end());
      data_b_.insert(b.content.begin(), b.content.end());
      // What was below the old directory is gone; what is below the new one is new.
      std::optional<Id> sa = a.type == NodeType::kDir ? a.subtree : std::nullopt;
      std::optional<Id> sb = b.type == NodeType::kDir ? b.subtree : std::nullopt;
      if (sa || sb) return CompareTrees(sa, sb, Child(dir, b));
      return Status::Ok();
    }
    switch (a.type) {
      case NodeType::kFile:
        if (a.content != b.content || a.size != b.size) {
          Emit('M', Display(dir, b), b);
          ++changed_files_;
          data_a_.insert(a.content.begin(), a.content.end());
          data_b_.insert(b.content.begin(), b.content.end());
          return Status::Ok();
        }
        break;
      case NodeType::kDir:
        if (MetadataDiffers(a, b)) {
          Emit('U', Display(dir, b), b);
          ++metadata_changed_;
          ++metadata_changed_dirs_;
        }
        return CompareTrees(a.subtree, b.subtree, Child(dir, b));
      default:
        if (a.link_target != b.link_target || a.rdev != b.rdev) {
          Emit('M', Display(dir, b), b);
          ++changed_others_;
          return Status::Ok();
        }
        break;
    }
    if (MetadataDiffers(a, b)) {
      Emit('U', Display(dir, b), b);
      ++metadata_changed_;
    }
    return Status::Ok();
  }

  const GlobalOptions& g_;
  Repository& repo_;
  bool show_metadata_;
  SideCounts added_, removed_;
  uint64_t changed_files_ = 0, changed_others_ = 0, type_changed_ = 0;
  uint64_t metadata_changed_ = 0, metadata_changed_dirs_ = 0;
  IdSet data_a_, data_b_, trees_a_, trees_b_;
};

}  // namespace

void RegisterDiff(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("diff", "show what changed between two snapshots");
  auto f = std::make_shared<DiffFlags>();
  cmd->add_option("snapshot1", f->first, "older snapshot: id prefix or 'latest'")->required();
  cmd->add_option("snapshot2", f->second, "newer snapshot: id prefix or 'latest'")->required();
  cmd->add_flag("--metadata,!--no-metadata", f->metadata,
                "print U lines for metadata-only changes (default on)");
  AddSnapshotFilterOptions(cmd, &f->filter);
  cmd->callback([&g, runner, f] {
    *runner = [&g, f]() -> int {
      auto opened = OpenLockedRepository(g, LockKind::kShared);
      if (!opened.ok()) return ReportError(g, opened.status());
      Repository& repo = *opened->repo;
      std::unique_ptr<RepositoryLock>& lock = opened->lock;
      auto a = repo.FindSnapshot(f->first, f->filter);
      if (!a.ok()) return ReportError(g, a.status());
      auto b = repo.FindSnapshot(f->second, f->filter);
      if (!b.ok()) return ReportError(g, b.status());
      if (!g.json)
        Say(g, "comparing snapshot " + a->first.Short() + " to " + b->first.Short() + ":");
      SnapshotDiffer differ(g, repo, f->metadata);
      Status st = differ.CompareTrees(a->second.tree, b->second.tree, "/");
      std::cout << std::flush;
      if (lock) lock->Release().IgnoreError();
      if (!st.ok()) return ReportError(g, st);
      differ.PrintSummary(a->first, b->first);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
