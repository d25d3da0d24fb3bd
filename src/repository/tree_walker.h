// The one way the engine walks snapshot trees, and the one place that computes which blobs the
// snapshots use. check, prune, copy and stats walk with WalkTrees / FindUsedBlobs; ls, restore
// planning and check's affected-files pass, which need path order, with WalkDepthFirst; a
// computation over what lies below each tree (check: "does this tree hold damage below it?")
// with WalkPostOrder.
//
//   UsedBlobs used(repo.index().blob_count());          // one bit per index position
//   LB_RETURN_IF_ERROR(FindUsedBlobs(repo, roots, {}, &used));
//   LB_RETURN_IF_ERROR(WalkDepthFirst(repo, root_tree, "/", {}, {.node = print_and_enter}));
//
// Two modes.
//
// WalkTrees (parallel, each distinct tree once): up to `workers` threads (WorkersFor the backend
// when 0) take trees from a shared stack, load them (Repository::LoadTree, one decode per tree)
// and call the visitor, which lists the subtrees to enter; a subtree already seen is not entered
// again (the walk's own visited set, or the visitor's when TreeWalkOptions::dedup is false).
// Threads: the visitor and `on_error` are called on the worker threads (on the caller's thread
// when workers is 1 or no thread could be started), concurrently with each other, so what they
// share must be thread-safe; they are never called while the walk holds its lock. Order: none
// across trees (the stack is depth-first, but threads interleave); within one call, the tree's
// nodes are in their stored (name) order. Memory: the stack of trees not yet visited (depth-first
// keeps it near depth x fan-out), one decoded tree per worker, and the visited set (one Id per
// distinct tree) unless the visitor deduplicates itself.
//
// WalkDepthFirst (serial, in path order): visits every node below one tree in pre-order (a
// directory's node, then everything below it, then its next sibling), passing each node's path;
// the visitor decides per directory whether to enter it. No deduplication (a tree shared by two
// directories is visited under both paths). Runs on the caller's thread. Memory: one decoded tree
// per open directory level; no recursion, so deep trees do not grow the call stack.
//
// WalkPostOrder (serial, each tree after everything below it): from each root in turn, loads a
// tree, enters its directories' subtrees one by one in node order, and hands the tree to the
// visitor once every subtree it entered was left, so a value computed for the children is there
// when their parent comes. Whether a subtree is entered is decided when the walk reaches its
// reference: with TreeWalkOptions::dedup the walk keeps a visited set and enters each distinct
// tree once; without it the visitor's `enter` decides, and a visitor that records the trees it
// has left can skip them (a tree is never reached again while it is open: no tree holds itself).
// Runs on the caller's thread. Memory: one decoded tree per open level (no recursion), plus the
// visited set with dedup.
//
// Stopping, in all modes: the walk stops at the first of (a) the context done: Cancelled or
// DeadlineExceeded, checked in one place before each tree (parallel) or node (depth-first,
// post-order) is taken; (b) a visitor or on_error
// returning an error: that error is returned; (c) a tree that fails to load when there is no
// on_error: its load error is returned unchanged. Calls already running on other threads finish;
// no new call starts once the stop is seen. An exception thrown by a callback (std::bad_alloc)
// stops the walk like an error (Unavailable, "out of memory"); it is never rethrown.
//
// Errors (TreeWalkOptions::on_error is the caller's policy): a tree that cannot be loaded (not in
// the index, its pack missing or damaged, does not decode) is passed to on_error with where it was
// reached from; returning OK goes on without it (check and repair, which must name all the
// damage), returning an error stops (the default when on_error is unset).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "util/status.h"
#include "util/context.h"

namespace lifeboat {

// A tree that failed to load, and where the walk found the reference to it.
struct TreeLoadError {
  Id tree;
  std::optional<Id> parent;  // the tree whose node refers to it; none for a root
  size_t root = 0;           // index into the roots of a root it was reached from
  std::string path;          // WalkDepthFirst: the directory's path ("/a/b"); WalkTrees: empty
  Status status;             // LoadTree's error
};

struct TreeWalkOptions {
  // Threads for WalkTrees (the others are serial); <= 0: WorkersFor(the repository's backend).
  int workers = 0;
  // The walk stops with Cancelled / DeadlineExceeded once the context is done.
  Context context = {};
  // The policy for trees that fail to load (see the header comment). Unset: stop with the error.
  std::function<Status(const TreeLoadError&)> on_error;
  // WalkTrees only. Counted up by one after each visited tree, for the operation's progress
  // reporter to read (the walk calls nothing for progress: util/phase_timer.h, ProgressHead).
  std::atomic<uint64_t>* trees_done = nullptr;
  // WalkTrees and WalkPostOrder. True: the walk keeps a visited set and enters each distinct tree
  // once. False: WalkTrees' visitor promises to list each tree at most once over the whole walk,
  // and to pass distinct roots (FindUsedBlobs does, with its bitset); WalkPostOrder enters what
  // its visitor's `enter` accepts. The walk keeps no set.
  bool dedup = true;
  // Optional: loads a tree in place of Repository::LoadTree (e.g. from a cache the caller keeps
  // in front of it). Called wherever the walk would load a tree, on the same threads (WalkTrees:
  // concurrently, so it must be thread-safe there); an error is handled like LoadTree's.
  std::function<Result<Tree>(const Id& tree)> load;
};

// What WalkTrees passes its visitor: one loaded tree and where it was first reached from.
struct VisitedTree {
  const Id& id;
  Tree& tree;        // decoded; the visitor may modify or move from it (it is freed afterwards)
  size_t root;       // index into the roots of a root it was reached from
  const Id* parent;  // the tree that listed it; null for a root
};

// Called once per distinct tree. Append to *enter the subtrees to visit (usually every
// node.subtree; already visited ones are skipped). *enter is empty on entry. An error stops the
// walk.
using TreeVisitor = std::function<Status(const VisitedTree& tree, std::vector<Id>* enter)>;

// Walks the trees reachable from `roots` in parallel (see the header comment). Returns OK when
// every reachable tree was visited or reported to on_error and accepted; otherwise the stop reason.
// REQUIRES: repo's index is loaded; nothing writes to it during the walk.
Status WalkTrees(Repository& repo, const std::vector<Id>& roots, const TreeWalkOptions& options,
                 const TreeVisitor& visit);

// A path inside a snapshot, found by FindPath.
struct PathInTree {
  std::string path;          // cleaned: "/" for the root, else "/a/b" (no "//", no trailing "/")
  std::optional<Node> node;  // the node at `path`; empty for the root, which has none
  std::optional<Id> tree;    // what lies below it: the root tree, or a directory's subtree
};

// Looks up the absolute `path` ("/", "/srv/data", "/srv/data/") in the tree `root`, loading one
// tree per level. InvalidArgument for a relative path or one with "." or ".." components;
// NotFound naming the first component that is missing or not a directory. Used by `ls PATH`.
Result<PathInTree> FindPath(Repository& repo, const Id& root, const std::string& path);

// What WalkDepthFirst calls.
struct DepthFirstVisitor {
  // Required. Called for every node in pre-order with its path: `root_path` joined with the names
  // ("/" + "a" -> "/a", "/a" + "b" -> "/a/b"). Return true to enter the node's subtree (ignored
  // unless it is a directory with a subtree), false to skip it, or an error to stop. The visitor
  // may move from `node`: the walk has read its subtree id already.
  std::function<Result<bool>(const std::string& path, Node& node)> node;
  // Optional. Called with a directory's path after everything below it, for every directory that
  // node() entered (also when its tree failed to load and on_error went on).
  std::function<void(const std::string& path)> leave;
};

// Walks the nodes of `start` (already loaded; the directory at `root_path`) and below, in path
// order (see the header comment). Cancelled checks happen before every node. `options.workers`,
// `trees_done` and `dedup` are ignored; TreeLoadError::root is 0.
Status WalkDepthFirst(Repository& repo, Tree start, const std::string& root_path,
                      const TreeWalkOptions& options, const DepthFirstVisitor& visitor);
// As above, loading `root` first; a root that fails to load goes to on_error like any tree
// (parent unset, path `root_path`), and then nothing is visited.
Status WalkDepthFirst(Repository& repo, const Id& root, const std::string& root_path,
                      const TreeWalkOptions& options, const DepthFirstVisitor& visitor);

// What WalkPostOrder calls.
struct PostOrderVisitor {
  // Optional. Called when the walk reaches a reference to tree `id` (a root, or a directory's
  // subtree), before loading it; true enters it. With TreeWalkOptions::dedup, called once per
  // distinct tree (a tree seen before is skipped without asking). Unset: enter.
  std::function<bool(const Id& id)> enter;
  // Required. Called with each entered tree that loaded, after every subtree it entered was left
  // (post-order). The visitor may modify or move from `tree` (it is freed afterwards). An error
  // stops the walk.
  std::function<Status(const Id& id, Tree& tree)> leave;
};

// Walks the trees reachable from `roots` children first (see the header comment). A tree that
// fails to load goes to options.on_error (parent: the tree that refers to it, root: the index in
// `roots`, path empty) and, when that accepts it, is neither entered nor left. `workers` and
// `trees_done` are ignored. Returns OK when the walk ran to its end, otherwise the stop reason.
Status WalkPostOrder(Repository& repo, const std::vector<Id>& roots, const TreeWalkOptions& options,
                     const PostOrderVisitor& visitor);

// One bit per position of a compacted MasterIndex (MasterIndex::Position): which blobs some
// snapshot uses. Bits are set concurrently by the walk; Test is for after it. Also counts the
// trees the walks that filled it have visited.
class UsedBlobs {
 public:
  explicit UsedBlobs(size_t positions) : size_(positions), words_((positions + 63) / 64) {}
  size_t size() const { return size_; }
  // Sets bit `pos`; returns whether it was set before. Thread-safe. REQUIRES: pos < size().
  bool TestAndSet(size_t pos) {
    uint64_t bit = uint64_t{1} << (pos & 63);
    return words_[pos >> 6].fetch_or(bit, std::memory_order_relaxed) & bit;
  }
  bool Test(size_t pos) const {
    return words_[pos >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (pos & 63));
  }
  // Trees loaded and visited by the FindUsedBlobs calls that filled this set (it counts them
  // with CountTree, thread-safe).
  uint64_t trees() const { return trees_.load(std::memory_order_relaxed); }
  void CountTree() { trees_.fetch_add(1, std::memory_order_relaxed); }

 private:
  size_t size_;
  std::vector<std::atomic<uint64_t>> words_;
  std::atomic<uint64_t> trees_{0};
};

// A reference to a blob that no index lists (FindUsedBlobs).
struct MissingBlob {
  BlobType type;
  const Id& id;
  size_t root;       // index into the roots
  const Id* tree;    // the tree whose node refers to it; null when it is a root itself
  const Node* node;  // that node; null for a root
};

struct FindUsedOptions {
  // workers, context, on_error (a tree in the index that fails to load), trees_done. `dedup` is
  // ignored: the bits in *used say which trees were walked.
  TreeWalkOptions walk;
  // Called for each reference to a blob that no index lists (once per referencing node; a missing
  // tree is not entered). OK goes on; an error stops the walk. Unset: stop with NotFound. Called
  // on walker threads, concurrently.
  std::function<Status(const MissingBlob&)> on_missing;
  // Optional: called for each blob whose bit this walk set (the first use of it), with its index
  // position. On walker threads, concurrently.
  std::function<Status(BlobType type, const Id& id, size_t position)> on_first_use;
  // Optional: called with each tree after its references were marked (to gather more from the
  // same walk, e.g. sizes). On walker threads, concurrently. An error stops the walk.
  std::function<Status(const VisitedTree& tree)> on_tree;
};

// Marks in *used every tree and data blob reachable from `roots`, walking each tree not yet marked
// in *used (so a set carried over several calls walks each tree once in all) with WalkTrees.
// Returns what WalkTrees returns. REQUIRES: repo.index() is compacted (Repository::LoadIndex does
// it) and unchanged during the walk, and used->size() == repo.index().blob_count()
// (InvalidArgument otherwise).
Status FindUsedBlobs(Repository& repo, const std::vector<Id>& roots, const FindUsedOptions& options,
                     UsedBlobs* used);

}  // namespace lifeboat
