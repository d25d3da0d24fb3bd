// ResolvePackId: a pack named by its id or a unique prefix (repair.h).
#include <algorithm>
#include <cctype>

#include "repair/repair.h"

namespace lifeboat {

Result<Id> ResolvePackId(Repository& repo, std::string_view given) {
  std::string text(given);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (auto id = Id::FromHex(text)) return *id;
  if (text.size() < 4 || text.size() > 64 ||
      text.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Status::InvalidArgument("'" + text +
                                   "' is not a pack id (64 hex digits, or a unique "
                                   "prefix of at least 4)");
  std::vector<std::string> matches;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kPack, text, [&](const ObjectInfo& info) {
    matches.push_back(info.name);
    return Status::Ok();
  }));
  if (matches.size() != 1)
    return Status::InvalidArgument("pack id prefix '" + text + "' matches " +
                                   std::to_string(matches.size()) +
                                   " packs; give the full id (`lifeboat check` prints it)");
  return *Id::FromHex(matches[0]);
}

}  // namespace lifeboat
