// Reading one YAML mapping of the plan against its ObjectSpec (keys.h), with diagnostics at
// FILE:LINE:COLUMN. An ObjectView checks on construction what the table alone decides (not a
// mapping, which variant, unknown keys with the nearest valid name, keys given twice, inline
// secrets, missing required keys); its typed getters check each value's type and report what is
// wrong. A getter may only ask for a key of the table, with the table's type: anything else is
// reported as an internal error (a bug), and so is a key that was accepted but never read
// (Finish), so the table and the parser cannot drift apart.
//
//   ObjectView site(reader, node, SiteSpec(), "site \"a\"", name_position);
//   std::optional<std::string> repo = site.String("repository");
//   site.Finish();
//
// Internal to src/plan. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "plan/diagnostic.h"
#include "plan/keys.h"
#include "plan/plan.h"

namespace lifeboat::plan {

// The file being read and where its diagnostics go.
class Reader {
 public:
  Reader(std::string file, Diagnostics* diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}
  // 1-based position of a node; line 0 (file only) for a node without a mark.
  Position At(const YAML::Node& node) const;
  Position At(const YAML::Mark& mark) const;
  Diagnostics& diagnostics() { return *diagnostics_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  Diagnostics* diagnostics_;
};

// One key: value pair of a mapping, in file order (yaml-cpp 0.7 keeps both entries of a key
// given twice when iterating, though lookups see only one).
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};
std::vector<Entry> Entries(const YAML::Node& mapping);

// How a node looks, for messages: "the string \"1\"", "a list", "a mapping", "nothing", "3".
std::string DescribeNode(const YAML::Node& node);

// True for a valid name of a site, service, contact or channel: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
bool IsValidName(std::string_view name);

class ObjectView {
 public:
  // `where` names the object in messages ("service \"db\"", "the plan"); `at` is where
  // object-level problems (a missing key) are reported.
  ObjectView(Reader& reader, const YAML::Node& node, const ObjectSpec& spec, std::string where,
             Position at);
  // Slots point into entries_: not copyable.
  ObjectView(const ObjectView&) = delete;
  ObjectView& operator=(const ObjectView&) = delete;

  // False when the node is not a mapping or its variant could not be decided: getters then
  // return nothing and report nothing more.
  bool valid() const { return valid_; }
  // The variant's tag ("paths", "slack"); empty for objects without variants.
  std::string_view variant() const { return variant_; }
  const std::string& where() const { return where_; }
  // The spec the keys are checked against (the variant's, when the object has variants).
  const ObjectSpec& spec() const { return *spec_; }
  const Position& at() const { return at_; }

  bool Has(std::string_view key) const;
  // Position of the key (of its X_* form for secrets), or at() when absent.
  Position KeyAt(std::string_view key) const;
  // Position of the value, or at() when absent.
  Position ValueAt(std::string_view key) const;

  // Typed getters: nullopt when absent (the default applies) or wrong (reported).
  std::optional<std::string> String(std::string_view key);  // kString, kName, kEnum
  std::optional<int64_t> Integer(std::string_view key);
  std::optional<double> Number(std::string_view key);
  std::optional<bool> Boolean(std::string_view key);
  std::optional<std::chrono::seconds> Duration(std::string_view key);
  std::optional<std::vector<NameRef>> List(std::string_view key);  // kStringList/kNameList/kEnumList
  std::optional<std::vector<int>> IntegerList(std::string_view key);
  std::optional<Command> GetCommand(std::string_view key);
  std::optional<std::vector<Command>> CommandList(std::string_view key);
  std::optional<SecretRef> Secret(std::string_view key);
  std::vector<EnvEntry> SecretMap(std::string_view key);
  std::vector<SiteOption> StringMap(std::string_view key);
  std::vector<std::pair<std::string, int>> PortMap(std::string_view key);
  std::optional<PortRef> Port(std::string_view key);
  // kObject, kMapOfObjects, kListOfObjects, kStringListList and the retention mapping: the raw
  // node (undefined when absent), after checking it is a mapping / list.
  YAML::Node Node(std::string_view key);
  // kMapOfObjects: the entries with checked, unique names.
  std::vector<Entry> Map(std::string_view key);
  // kListOfObjects: the items.
  std::vector<YAML::Node> Items(std::string_view key);

  // Reports every key that was accepted but never read (an internal error: the parser forgot a
  // key of the table).
  void Finish();

 private:
  struct Slot {
    const KeySpec* spec = nullptr;
    const Entry* entry = nullptr;  // the first occurrence
    bool used = false;
  };
  // The slot of `key` if present and of type `type`; null when absent. Reports a bug when the key
  // is not in the table or has another type.
  Slot* Use(std::string_view key, std::initializer_list<ValueType> types);
  void WrongType(const Slot& s, std::string_view expected, std::string hint);
  bool RejectNull(const Slot& s);
  std::string KeyName(const Slot& s) const;

  Reader& reader_;
  YAML::Node node_;
  const ObjectSpec* spec_;
  std::string where_;
  Position at_;
  bool valid_ = false;
  std::string variant_;
  std::vector<Entry> entries_;
  std::map<std::string, Slot, std::less<>> slots_;  // by the table's key name
};

}  // namespace lifeboat::plan
