// The paths given to a backup: cleaned, and as the trie of directories that leads to them.
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "archiver/archiver.h"
#include "archiver/archiver_internal.h"

namespace lifeboat {

std::string CleanPath(const std::string& path) {
  std::string abs = path;
  if (abs.empty() || abs[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) abs = std::string(cwd) + "/" + abs;
  }
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= abs.size()) {
    size_t slash = abs.find('/', pos);
    if (slash == std::string::npos) slash = abs.size();
    std::string part = abs.substr(pos, slash - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

namespace backup {

std::vector<std::string> CleanPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> clean;
  for (const auto& p : paths) clean.push_back(CleanPath(p));
  std::sort(clean.begin(), clean.end());
  clean.erase(std::unique(clean.begin(), clean.end()), clean.end());
  return clean;
}

PathTrie BuildPathTrie(const std::vector<std::string>& paths) {
  PathTrie trie;
  for (const auto& p : paths) {
    PathTrie* t = &trie;
    if (p == "/") {
      t->target = true;
      continue;
    }
    size_t pos = 1;
    while (pos <= p.size()) {
      size_t slash = p.find('/', pos);
      if (slash == std::string::npos) slash = p.size();
      t = &t->children[p.substr(pos, slash - pos)];
      if (t->target) break;  // an ancestor is already backed up whole
      pos = slash + 1;
    }
    t->target = true;
    t->children.clear();  // everything below is covered by this path
  }
  return trie;
}

std::string ReadPath(const std::string& read_root, const std::string& recorded) {
  if (read_root.empty()) return recorded;
  return recorded == "/" ? read_root : read_root + recorded;
}

}  // namespace backup
}  // namespace lifeboat
