// ObjectView's getters of lists, mappings, commands and secrets (yaml_reader.h).
#include <algorithm>
#include <cctype>
#include <map>

#include "plan/yaml_reader.h"
#include "plan/yaml_util.h"

namespace lifeboat::plan {

using namespace yaml_util;  // NOLINT

std::optional<std::vector<NameRef>> ObjectView::List(std::string_view key) {
  Slot* s = Use(key, {ValueType::kStringList, ValueType::kNameList, ValueType::kEnumList});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  const KeySpec& k = *s->spec;
  if (!v.IsSequence()) {
    WrongType(*s, "a list", "write [a, b] or one \"- item\" per line below it");
    return std::nullopt;
  }
  std::vector<NameRef> out;
  bool ok = true;
  for (const YAML::Node& item : v) {
    if (!item.IsScalar() || item.IsNull()) {
      reader_.diagnostics().Error(reader_.At(item).line ? reader_.At(item) : reader_.At(v),
                                  "an item of " + KeyName(*s) + " in " + where_ +
                                      " must be a single value, not " + DescribeNode(item),
                                  "see " + DocRef(*spec_));
      ok = false;
      continue;
    }
    if (k.type == ValueType::kEnumList &&
        std::find(k.choices.begin(), k.choices.end(), item.Scalar()) == k.choices.end()) {
      std::vector<std::string> c(k.choices.begin(), k.choices.end());
      const std::string nearest = NearestName(item.Scalar(), c);
      reader_.diagnostics().Error(
          reader_.At(item),
          "unknown " + std::string(k.name) + " entry \"" + item.Scalar() + "\" in " + where_,
          (nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ") + "the choices are " +
              JoinStrings(c, ", "));
      ok = false;
      continue;
    }
    out.push_back({item.Scalar(), reader_.At(item)});
  }
  if (ok && k.non_empty && out.empty()) {
    reader_.diagnostics().Error(reader_.At(s->entry->key_node),
                                KeyName(*s) + " in " + where_ + " is empty",
                                "list at least one entry, or leave the key out (" + DocRef(*spec_) + ")");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<int>> ObjectView::IntegerList(std::string_view key) {
  Slot* s = Use(key, {ValueType::kIntegerList});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  const KeySpec& k = *s->spec;
  const std::string what = "a list of integers from " + std::to_string(k.min) + " to " + std::to_string(k.max);
  if (!v.IsSequence()) {
    WrongType(*s, what, "write e.g. [0, 1]");
    return std::nullopt;
  }
  std::vector<int> out;
  for (const YAML::Node& item : v) {
    if (!IsPlainInteger(item) || std::stoll(item.Scalar()) < k.min || std::stoll(item.Scalar()) > k.max) {
      reader_.diagnostics().Error(reader_.At(item), "an item of " + KeyName(*s) + " in " + where_ +
                                                        " must be an integer from " + std::to_string(k.min) +
                                                        " to " + std::to_string(k.max) + ", not " +
                                                        DescribeNode(item),
                                  "write e.g. [0, 1]");
      return std::nullopt;
    }
    out.push_back(static_cast<int>(std::stoll(item.Scalar())));
  }
  if (k.non_empty && out.empty()) {
    reader_.diagnostics().Error(reader_.At(s->entry->key_node), KeyName(*s) + " in " + where_ + " is empty",
                                "list at least one tier, or leave the key out for all tiers");
    return std::nullopt;
  }
  return out;
}

namespace {
std::optional<Command> CommandFrom(Reader& r, const YAML::Node& v, const std::string& what) {
  Command c;
  c.position = r.At(v);
  const std::string hint =
      "a command is a string (run by /bin/sh -c) or a list of strings (the argument vector, no "
      "shell), e.g. \"pg_dump app | gzip\" or [\"/usr/bin/app\", \"--dump\"]";
  if (v.IsScalar() && !v.IsNull()) {
    if (v.Scalar().empty()) {
      r.diagnostics().Error(c.position, what + " is an empty command", hint);
      return std::nullopt;
    }
    c.argv = {"/bin/sh", "-c", v.Scalar()};
    c.shell = true;
    return c;
  }
  if (v.IsSequence() && v.size() > 0) {
    for (const YAML::Node& item : v) {
      if (!item.IsScalar() || item.IsNull()) {
        r.diagnostics().Error(r.At(item).line ? r.At(item) : c.position,
                              "an argument of " + what + " must be a string, not " + DescribeNode(item), hint);
        return std::nullopt;
      }
      c.argv.push_back(item.Scalar());
    }
    if (c.argv[0].empty()) {
      r.diagnostics().Error(c.position, what + " has an empty program name", hint);
      return std::nullopt;
    }
    return c;
  }
  r.diagnostics().Error(c.position.line ? c.position : r.At(v), what + " must be a command, not " + DescribeNode(v), hint);
  return std::nullopt;
}
}  // namespace

std::optional<Command> ObjectView::GetCommand(std::string_view key) {
  Slot* s = Use(key, {ValueType::kCommand});
  if (!s) return std::nullopt;
  return CommandFrom(reader_, s->entry->value, KeyName(*s) + " in " + where_);
}

std::optional<std::vector<Command>> ObjectView::CommandList(std::string_view key) {
  Slot* s = Use(key, {ValueType::kCommandList});
  if (!s) return std::nullopt;
  if (!s->entry->value.IsSequence()) {
    WrongType(*s, "a list of commands", "write one \"- command\" per line below it, or []");
    return std::nullopt;
  }
  std::vector<Command> out;
  size_t i = 0;
  for (const YAML::Node& item : s->entry->value) {
    ++i;
    std::optional<Command> c =
        CommandFrom(reader_, item, "command " + std::to_string(i) + " of " + KeyName(*s) + " in " + where_);
    if (!c) return std::nullopt;
    out.push_back(std::move(*c));
  }
  return out;
}

std::optional<SecretRef> ObjectView::Secret(std::string_view key) {
  Slot* s = Use(key, {ValueType::kSecret});
  if (!s) return std::nullopt;
  SecretRef ref;
  const std::string& k = s->entry->key;
  if (k.ends_with("_file")) ref.kind = SecretRef::Kind::kFile;
  else if (k.ends_with("_command")) ref.kind = SecretRef::Kind::kCommand;
  else ref.kind = SecretRef::Kind::kEnv;
  ref.position = reader_.At(s->entry->key_node);
  const YAML::Node& v = s->entry->value;
  if (!v.IsScalar() || v.IsNull() || v.Scalar().empty()) {
    WrongType(*s, ref.kind == SecretRef::Kind::kFile      ? "a file's path"
                  : ref.kind == SecretRef::Kind::kCommand ? "a command (a string)"
                                                          : "an environment variable's name",
              "see " + DocRef(*spec_));
    return std::nullopt;
  }
  if (ref.kind == SecretRef::Kind::kEnv && !IsEnvName(v.Scalar())) {
    reader_.diagnostics().Error(reader_.At(v),
                                k + " in " + where_ + " must name an environment variable, not \"" + v.Scalar() + "\"",
                                "give the variable's name ([A-Za-z_][A-Za-z0-9_]*), not its value");
    return std::nullopt;
  }
  ref.value = v.Scalar();
  return ref;
}

std::vector<EnvEntry> ObjectView::SecretMap(std::string_view key) {
  Slot* s = Use(key, {ValueType::kSecretMap});
  if (!s) return {};
  if (!s->entry->value.IsMap()) {
    WrongType(*s, "a mapping", "write NAME_file: PATH entries indented below it");
    return {};
  }
  std::vector<EnvEntry> out;
  for (const Entry& e : Entries(s->entry->value)) {
    const Position at = reader_.At(e.key_node);
    std::string name;
    SecretRef ref;
    ref.position = at;
    for (std::string_view suffix : kSecretSuffixes) {
      if (e.key.size() > suffix.size() && e.key.ends_with(suffix) && name.empty()) {
        name = e.key.substr(0, e.key.size() - suffix.size());
        ref.kind = suffix == "_file" ? SecretRef::Kind::kFile
                   : suffix == "_command" ? SecretRef::Kind::kCommand : SecretRef::Kind::kEnv;
      }
    }
    const std::string what = KeyName(*s) + " in " + where_;
    if (name.empty()) {
      reader_.diagnostics().Error(at, "inline value for \"" + e.key + "\" in " + what,
                                  "values are never written inline, so that no secret slips in: use " +
                                      SecretForms(e.key) + " (" + DocRef(*spec_) + ")");
      continue;
    }
    if (!IsEnvName(name)) {
      reader_.diagnostics().Error(at, "\"" + name + "\" in " + what + " is not a valid variable name",
                                  "names are letters, digits and _, not starting with a digit");
      continue;
    }
    if (std::any_of(out.begin(), out.end(), [&](const EnvEntry& x) { return x.name == name; })) {
      reader_.diagnostics().Error(at, "\"" + name + "\" given twice in " + what,
                                  "keep one of " + SecretForms(name));
      continue;
    }
    if (!e.value.IsScalar() || e.value.IsNull() || e.value.Scalar().empty()) {
      reader_.diagnostics().Error(at, e.key + " in " + what + " must be a string, not " + DescribeNode(e.value),
                                  "see " + DocRef(*spec_));
      continue;
    }
    if (ref.kind == SecretRef::Kind::kEnv && !IsEnvName(e.value.Scalar())) {
      reader_.diagnostics().Error(reader_.At(e.value),
                                  e.key + " in " + what + " must name an environment variable, not \"" + e.value.Scalar() + "\"",
                                  "give the variable's name ([A-Za-z_][A-Za-z0-9_]*), not its value");
      continue;
    }
    ref.value = e.value.Scalar();
    out.push_back({name, ref});
  }
  return out;
}

std::vector<SiteOption> ObjectView::StringMap(std::string_view key) {
  Slot* s = Use(key, {ValueType::kStringMap});
  if (!s) return {};
  if (!s->entry->value.IsMap()) {
    WrongType(*s, "a mapping", "write KEY: VALUE entries indented below it");
    return {};
  }
  std::vector<SiteOption> out;
  std::map<std::string, int> first_line;
  for (const Entry& e : Entries(s->entry->value)) {
    const Position at = reader_.At(e.key_node);
    if (auto it = first_line.find(e.key); it != first_line.end()) {
      reader_.diagnostics().Error(at, "key \"" + e.key + "\" given twice in " + KeyName(*s) + " of " + where_ +
                                          " (first at line " + std::to_string(it->second) + ")",
                                  "YAML would silently keep only one of them; remove one");
      continue;
    }
    first_line[e.key] = at.line;
    if (!e.value.IsScalar() || e.value.IsNull()) {
      reader_.diagnostics().Error(reader_.At(e.value).line ? reader_.At(e.value) : at,
                                  e.key + " in " + KeyName(*s) + " of " + where_ + " must be a single value, not " +
                                      DescribeNode(e.value),
                                  "write KEY: VALUE");
      continue;
    }
    out.push_back({e.key, e.value.Scalar(), at});
  }
  return out;
}

std::vector<std::pair<std::string, int>> ObjectView::PortMap(std::string_view key) {
  Slot* s = Use(key, {ValueType::kPortMap});
  if (!s) return {};
  if (!s->entry->value.IsMap()) {
    WrongType(*s, "a mapping of port names to numbers", "write e.g. {http: 8080}");
    return {};
  }
  std::vector<std::pair<std::string, int>> out;
  for (const Entry& e : Entries(s->entry->value)) {
    const Position at = reader_.At(e.key_node);
    const bool name_ok = !e.key.empty() && std::all_of(e.key.begin(), e.key.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!name_ok) {
      reader_.diagnostics().Error(at, "port name \"" + e.key + "\" in " + where_ + " is not valid",
                                  "port names are lowercase letters, digits and _ (LIFEBOAT_PORT_<NAME>)");
      continue;
    }
    if (std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == e.key; })) {
      reader_.diagnostics().Error(at, "port \"" + e.key + "\" given twice in " + where_, "remove one");
      continue;
    }
    if (!IsPlainInteger(e.value) || std::stoll(e.value.Scalar()) < 1 || std::stoll(e.value.Scalar()) > 65535) {
      reader_.diagnostics().Error(reader_.At(e.value).line ? reader_.At(e.value) : at,
                                  "port \"" + e.key + "\" in " + where_ + " must be an integer from 1 to 65535, not " +
                                      DescribeNode(e.value),
                                  "write e.g. {http: 8080}");
      continue;
    }
    out.emplace_back(e.key, static_cast<int>(std::stoll(e.value.Scalar())));
  }
  return out;
}

std::optional<PortRef> ObjectView::Port(std::string_view key) {
  Slot* s = Use(key, {ValueType::kPort});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  PortRef p;
  if (IsPlainInteger(v)) {
    const int64_t n = std::stoll(v.Scalar());
    if (n >= 1 && n <= 65535) {
      p.number = static_cast<int>(n);
      return p;
    }
  } else if (v.IsScalar() && !v.Scalar().empty() && !std::isdigit(static_cast<unsigned char>(v.Scalar()[0]))) {
    p.name = v.Scalar();
    return p;
  }
  WrongType(*s, "a port number from 1 to 65535 or a port name", "name a port declared by a recover step's ports, e.g. port: http");
  return std::nullopt;
}

YAML::Node ObjectView::Node(std::string_view key) {
  Slot* s = Use(key, {ValueType::kObject, ValueType::kStringListList});
  if (!s) return YAML::Node(YAML::NodeType::Undefined);
  return s->entry->value;
}

std::vector<Entry> ObjectView::Map(std::string_view key) {
  Slot* s = Use(key, {ValueType::kMapOfObjects});
  if (!s) return {};
  if (!s->entry->value.IsMap()) {
    WrongType(*s, "a mapping of names to " + std::string(s->spec->object->what) + "s",
              "write one NAME: line per " + std::string(s->spec->object->what) + ", its keys indented below it");
    return {};
  }
  std::vector<Entry> out;
  std::map<std::string, int> first_line;
  for (const Entry& e : Entries(s->entry->value)) {
    const Position at = reader_.At(e.key_node);
    const std::string what = std::string(s->spec->object->what);
    if (!e.key_node.IsScalar() || !IsValidName(e.key)) {
      reader_.diagnostics().Error(at, "\"" + e.key + "\" is not a valid " + what + " name",
                                  "names are letters, digits, _, - and ., starting with a letter or digit, at most 64 characters");
      continue;
    }
    if (auto it = first_line.find(e.key); it != first_line.end()) {
      reader_.diagnostics().Error(at, what + " \"" + e.key + "\" defined twice (first at line " +
                                          std::to_string(it->second) + ")",
                                  "YAML would silently keep only one of them; rename or remove one");
      continue;
    }
    first_line[e.key] = at.line;
    out.push_back(e);
  }
  if (s->spec->non_empty && out.empty() && first_line.empty()) {
    reader_.diagnostics().Error(reader_.At(s->entry->key_node), KeyName(*s) + " in " + where_ + " is empty",
                                "define at least one (" + DocRef(*spec_) + ")");
  }
  return out;
}

std::vector<YAML::Node> ObjectView::Items(std::string_view key) {
  Slot* s = Use(key, {ValueType::kListOfObjects});
  if (!s) return {};
  if (!s->entry->value.IsSequence()) {
    WrongType(*s, "a list", "write one \"- ...\" item per line below it");
    return {};
  }
  std::vector<YAML::Node> out;
  for (const YAML::Node& item : s->entry->value) out.push_back(item);
  if (s->spec->non_empty && out.empty()) {
    reader_.diagnostics().Error(reader_.At(s->entry->key_node), KeyName(*s) + " in " + where_ + " is empty",
                                "list at least one (" + DocRef(*spec_) + ")");
  }
  return out;
}

}  // namespace lifeboat::plan
