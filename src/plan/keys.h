// The key tables of the plan file: every mapping of doc/plan.md as an ObjectSpec listing its
// keys, their types, defaults and meaning. The parser (parse.cc, through yaml_reader.h) accepts
// exactly these keys and reads each with the getter of its type, and the JSON Schema
// (plan_json.h) is generated from them: one table, so the two cannot drift.
//
//   const ObjectSpec& top = TopLevelSpec();
//   for (const KeySpec& k : top.keys) ... k.name, k.type ...
//
// Static constant data; any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::plan {

enum class ValueType {
  kString,            // any scalar
  kName,              // a scalar that is a valid name (doc/plan.md, "Names")
  kInteger,           // plain whole number in [min, max]
  kNumber,            // plain number >= min
  kBoolean,           // true / false
  kDuration,          // "15m": ParsePlanDuration
  kCalendarDuration,  // "30d", m = months: retention::ParseCalendarDuration
  kEnum,              // one of `choices`
  kStringList,        // list of scalars
  kNameList,          // list of names (references to sites, services, channels)
  kEnumList,          // list of `choices`
  kIntegerList,       // list of integers in [min, max]
  kStringListList,    // list of lists of scalars (keep_tags)
  kCommand,           // a string (/bin/sh -c) or a non-empty list of strings (argv)
  kCommandList,       // a list of kCommand
  kSecret,            // NAME_file / NAME_command / NAME_env; NAME inline is an error
  kSecretMap,         // mapping VAR_file / VAR_command / VAR_env -> string
  kStringMap,         // mapping string -> scalar
  kPortMap,           // mapping port name -> integer 1..65535
  kPort,              // integer 1..65535 or a port name
  kObject,            // a mapping described by `object`
  kMapOfObjects,      // a mapping name -> `object`
  kListOfObjects,     // a list of `object`
};

struct ObjectSpec;

struct KeySpec {
  std::string_view name;
  ValueType type;
  std::string_view description;
  const ObjectSpec* object = nullptr;                 // kObject, kMapOfObjects, kListOfObjects
  std::span<const std::string_view> choices = {};     // kEnum, kEnumList
  bool required = false;
  std::string_view default_json = {};  // the default as JSON text ("\"UTC\"", "false"); empty: none
  int64_t min = std::numeric_limits<int64_t>::min();  // kInteger, kIntegerList, kNumber
  int64_t max = std::numeric_limits<int64_t>::max();
  bool non_empty = false;  // lists and maps: at least one entry
};

// One shape of an object whose keys depend on which key is present (a source: paths, command,
// postgres, sqlite) or on its `type` (a channel).
struct VariantSpec {
  std::string_view tag;  // the kind key ("paths") or the type value ("slack")
  const ObjectSpec* spec;
};

struct ObjectSpec {
  std::string_view id;           // the schema's $defs name: "service", "source_paths"
  std::string_view what;         // for messages: "service", "site", "source"
  std::string_view doc_section;  // doc/plan.md section listing the keys: "Services"
  std::span<const KeySpec> keys;
  enum class VariantBy { kNone, kKey, kTypeField };
  VariantBy variant_by = VariantBy::kNone;
  std::span<const VariantSpec> variants = {};
  // When set, a scalar stands for {shorthand_key: scalar} (schedule: "0 2 * * *").
  std::string_view shorthand_key = {};

  const KeySpec* Find(std::string_view key) const;
};

// The whole file.
const ObjectSpec& TopLevelSpec();
// The retention mapping (the keys retention::PolicyFromJson takes).
const ObjectSpec& RetentionSpec();

// The names the parser accepts for a key: NAME itself, or NAME_file/_command/_env for kSecret.
// Used for "did you mean".
std::vector<std::string> AcceptedKeyNames(const KeySpec& key);

// The name of `names` nearest to `name` when it is close enough to be a likely typo (at most 3
// edits, and at most half the length of `name`), else "".
std::string NearestName(std::string_view name, const std::vector<std::string>& names);

}  // namespace lifeboat::plan
