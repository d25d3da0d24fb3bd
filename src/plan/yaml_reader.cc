#include "plan/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "plan/duration.h"

namespace lifeboat::plan {

namespace {

// A scalar written in quotes or tagged !!str: a string, never a number or boolean.
bool IsQuoted(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

bool IsPlainInteger(const YAML::Node& n) {
  if (!n.IsScalar() || IsQuoted(n)) return false;
  const std::string& s = n.Scalar();
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i >= s.size() || s.size() - i > 15) return false;
  return std::all_of(s.begin() + i, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

std::string DocRef(const ObjectSpec& spec) {
  return "doc/plan.md, \"" + std::string(spec.doc_section) + "\"";
}

bool IsEnvName(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

constexpr std::string_view kSecretSuffixes[] = {"_file", "_command", "_env"};

std::string SecretForms(std::string_view name) {
  return std::string(name) + "_file: PATH, " + std::string(name) + "_command: COMMAND or " +
         std::string(name) + "_env: VARIABLE";
}

// An example value for a missing key's hint.
std::string ExampleValue(const KeySpec& k) {
  switch (k.type) {
    case ValueType::kInteger:
      return k.min == k.max ? std::to_string(k.min)
                            : "<" + std::to_string(k.min) + ".." + std::to_string(k.max) + ">";
    case ValueType::kDuration: return "<duration, e.g. 15m>";
    case ValueType::kNameList: return "[NAME, ...]";
    case ValueType::kStringList: return "[...]";
    case ValueType::kListOfObjects: return "<a list, one \"- ...\" per item>";
    case ValueType::kMapOfObjects: return "<NAME: mapping, one per entry>";
    case ValueType::kCommand: return "<command>";
    case ValueType::kEnum: return "<one of " + [&] {
        std::vector<std::string> c(k.choices.begin(), k.choices.end());
        return Join(c, ", ");
      }() + ">";
    default: return "...";
  }
}

}  // namespace

Position Reader::At(const YAML::Mark& mark) const {
  Position p;
  p.file = file_;
  if (mark.line >= 0 && mark.column >= 0) {
    p.line = mark.line + 1;
    p.column = mark.column + 1;
  }
  return p;
}

Position Reader::At(const YAML::Node& node) const {
  if (!node.IsDefined()) return At(YAML::Mark::null_mark());
  return At(node.Mark());
}

std::vector<Entry> Entries(const YAML::Node& mapping) {
  std::vector<Entry> out;
  if (!mapping.IsMap()) return out;
  for (auto it = mapping.begin(); it != mapping.end(); ++it) {
    Entry e;
    e.key_node = it->first;
    e.value = it->second;
    e.key = it->first.IsScalar() ? it->first.Scalar() : std::string();
    out.push_back(std::move(e));
  }
  return out;
}

std::string DescribeNode(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (IsQuoted(n)) return "the string \"" + n.Scalar() + "\"";
  return "\"" + n.Scalar() + "\"";
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

ObjectView::ObjectView(Reader& reader, const YAML::Node& node, const ObjectSpec& spec,
                       std::string where, Position at)
    : reader_(reader), node_(node), spec_(&spec), where_(std::move(where)), at_(std::move(at)) {
  Diagnostics& d = reader_.diagnostics();
  if (!spec.shorthand_key.empty() && node.IsScalar() && !node.IsNull()) {
    // "schedule: 0 2 * * *" stands for {cron: "0 2 * * *"}.
    Entry e;
    e.key = std::string(spec.shorthand_key);
    e.key_node = node;
    e.value = node;
    entries_.push_back(std::move(e));
  } else if (!node.IsMap()) {
    Position p = node.IsDefined() && !node.IsNull() ? reader_.At(node) : at_;
    if (!p.line) p = at_;
    d.Error(p, where_ + " must be a mapping, not " + DescribeNode(node),
            "write its keys indented below it, or {key: value, ...} (" + DocRef(spec) + ")");
    return;
  } else {
    entries_ = Entries(node);
  }
  // Which variant?
  if (spec.variant_by == ObjectSpec::VariantBy::kKey) {
    std::vector<std::string> found, tags;
    const VariantSpec* chosen = nullptr;
    for (const VariantSpec& v : spec.variants) {
      tags.push_back(std::string(v.tag));
      for (const Entry& e : entries_)
        if (e.key == v.tag) {
          if (std::find(found.begin(), found.end(), e.key) == found.end()) found.push_back(e.key);
          chosen = &v;
        }
    }
    if (found.empty()) {
      d.Error(at_, where_ + " has none of " + Join(tags, ", "),
              "a " + std::string(spec.what) + " is exactly one of these (" + DocRef(spec) + ")");
      return;
    }
    if (found.size() > 1) {
      d.Error(at_, where_ + " has both " + found[0] + " and " + found[1],
              "a " + std::string(spec.what) + " is exactly one of " + Join(tags, ", ") +
                  "; split it into one list item each");
      return;
    }
    variant_ = std::string(chosen->tag);
    spec_ = chosen->spec;
  } else if (spec.variant_by == ObjectSpec::VariantBy::kTypeField) {
    std::vector<std::string> tags;
    for (const VariantSpec& v : spec.variants) tags.push_back(std::string(v.tag));
    const Entry* type = nullptr;
    for (const Entry& e : entries_)
      if (e.key == "type" && !type) type = &e;
    if (!type) {
      d.Error(at_, where_ + " has no type", "add type: one of " + Join(tags, ", ") + " (" +
                                                  DocRef(spec) + ")");
      return;
    }
    const std::string t = type->value.IsScalar() ? type->value.Scalar() : "";
    const VariantSpec* chosen = nullptr;
    for (const VariantSpec& v : spec.variants)
      if (v.tag == t) chosen = &v;
    if (!chosen) {
      const std::string nearest = NearestName(t, tags);
      d.Error(reader_.At(type->value), "unknown type " + DescribeNode(type->value) + " of " + where_,
              (nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ") + "the types are " +
                  Join(tags, ", ") + " (" + DocRef(spec) + ")");
      return;
    }
    variant_ = std::string(chosen->tag);
    spec_ = chosen->spec;
  }
  valid_ = true;

  // Every key: known, given once, no inline secret.
  std::map<std::string, const Entry*, std::less<>> seen;
  std::set<std::string, std::less<>> suggested;
  for (const Entry& e : entries_) {
    const Position key_at = reader_.At(e.key_node);
    if (!e.key_node.IsScalar()) {
      d.Error(key_at, "a key in " + where_ + " must be a plain name, not " + DescribeNode(e.key_node),
              "keys are names such as tier or sources (" + DocRef(*spec_) + ")");
      continue;
    }
    if (auto it = seen.find(e.key); it != seen.end()) {
      d.Error(key_at,
              "key \"" + e.key + "\" given twice in " + where_ + " (first at line " +
                  std::to_string(reader_.At(it->second->key_node).line) + ")",
              "YAML would silently keep only one of them; remove one");
      continue;
    }
    seen.emplace(e.key, &e);
    // The table key this entry stands for.
    const KeySpec* k = spec_->Find(e.key);
    if (k && k->type == ValueType::kSecret) {
      d.Error(key_at, "inline secret \"" + e.key + "\" in " + where_,
              "secrets are never written in the plan: use " + SecretForms(e.key) + " (" +
                  DocRef(*spec_) + ")");
      continue;
    }
    if (!k) {
      for (std::string_view suffix : kSecretSuffixes) {
        if (e.key.size() > suffix.size() && e.key.ends_with(suffix)) {
          const KeySpec* base = spec_->Find(std::string_view(e.key).substr(0, e.key.size() - suffix.size()));
          if (base && base->type == ValueType::kSecret) k = base;
        }
      }
      if (k) {
        Slot& slot = slots_[std::string(k->name)];
        if (slot.entry) {
          d.Error(key_at,
                  where_ + " gives " + std::string(k->name) + " twice (" + slot.entry->key +
                      " and " + e.key + ")",
                  "keep one of " + SecretForms(k->name));
          continue;
        }
        slot.spec = k;
        slot.entry = &e;
        continue;
      }
    }
    if (!k) {
      std::vector<std::string> names;
      std::map<std::string, std::string> table_name;
      for (const KeySpec& ks : spec_->keys)
        for (const std::string& n : AcceptedKeyNames(ks)) {
          names.push_back(n);
          table_name[n] = std::string(ks.name);
        }
      const std::string nearest = NearestName(e.key, names);
      // The missing key the typo stands for is not reported again below.
      if (!nearest.empty()) suggested.insert(table_name[nearest]);
      std::string what = std::string(spec_->what);
      d.Error(key_at, "unknown key \"" + e.key + "\" in " + where_,
              nearest.empty()
                  ? "the keys of a " + what + " are " + Join(names, ", ") + " (" + DocRef(*spec_) + ")"
                  : "did you mean \"" + nearest + "\"? (the keys of a " + what + " are in " +
                        DocRef(*spec_) + ")");
      continue;
    }
    Slot& slot = slots_[std::string(k->name)];
    slot.spec = k;
    slot.entry = &e;
  }
  // Required keys.
  for (const KeySpec& k : spec_->keys) {
    if (!k.required || slots_.count(k.name) || suggested.count(k.name)) continue;
    if (k.type == ValueType::kSecret) {
      // An inline "password:" was reported already.
      if (seen.count(k.name)) continue;
      d.Error(at_, where_ + " has no " + std::string(k.name),
              "add " + SecretForms(k.name) + " (" + DocRef(*spec_) + ")");
    } else {
      d.Error(at_, where_ + " has no " + std::string(k.name),
              "add " + std::string(k.name) + ": " + ExampleValue(k) + " (" + DocRef(*spec_) + ")");
    }
  }
}

bool ObjectView::Has(std::string_view key) const {
  auto it = slots_.find(key);
  return it != slots_.end() && it->second.entry;
}

Position ObjectView::KeyAt(std::string_view key) const {
  auto it = slots_.find(key);
  if (it == slots_.end() || !it->second.entry) return at_;
  return reader_.At(it->second.entry->key_node);
}

Position ObjectView::ValueAt(std::string_view key) const {
  auto it = slots_.find(key);
  if (it == slots_.end() || !it->second.entry) return at_;
  const YAML::Node& v = it->second.entry->value;
  Position p = reader_.At(v);
  return p.line ? p : reader_.At(it->second.entry->key_node);
}

ObjectView::Slot* ObjectView::Use(std::string_view key, std::initializer_list<ValueType> types) {
  const KeySpec* k = spec_->Find(key);
  if (!k || std::find(types.begin(), types.end(), k->type) == types.end()) {
    reader_.diagnostics().Error(at_, "internal error: the parser reads key \"" + std::string(key) +
                                         "\" of a " + std::string(spec_->what) +
                                         " with the wrong type or outside the key table",
                                "this is a bug in Lifeboat; please report it");
    return nullptr;
  }
  if (!valid_) return nullptr;
  auto it = slots_.find(key);
  if (it == slots_.end() || !it->second.entry) return nullptr;
  it->second.used = true;
  if (it->second.spec->type != ValueType::kSecret && !RejectNull(it->second)) return nullptr;
  return &it->second;
}

std::string ObjectView::KeyName(const Slot& s) const { return s.entry->key; }

bool ObjectView::RejectNull(const Slot& s) {
  if (!s.entry->value.IsNull()) return true;
  reader_.diagnostics().Error(reader_.At(s.entry->key_node),
                              KeyName(s) + " in " + where_ + " has no value",
                              "give it a value, or leave the key out for its default (" +
                                  DocRef(*spec_) + ")");
  return false;
}

void ObjectView::WrongType(const Slot& s, std::string_view expected, std::string hint) {
  Position p = reader_.At(s.entry->value);
  if (!p.line) p = reader_.At(s.entry->key_node);
  reader_.diagnostics().Error(p,
                              KeyName(s) + " in " + where_ + " must be " + std::string(expected) +
                                  ", not " + DescribeNode(s.entry->value),
                              std::move(hint));
}

std::optional<std::string> ObjectView::String(std::string_view key) {
  Slot* s = Use(key, {ValueType::kString, ValueType::kName, ValueType::kEnum,
                      ValueType::kCalendarDuration});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  const KeySpec& k = *s->spec;
  if (!v.IsScalar()) {
    WrongType(*s, k.type == ValueType::kEnum ? "one word" : "a string",
              "write a single value; quote it if it contains \": \" or starts with [ or {");
    return std::nullopt;
  }
  if (k.type == ValueType::kName && !IsValidName(v.Scalar())) {
    reader_.diagnostics().Error(reader_.At(v), KeyName(*s) + " in " + where_ + " is not a valid name: \"" + v.Scalar() + "\"",
                                "names are letters, digits, _, - and ., starting with a letter or digit, at most 64 characters");
    return std::nullopt;
  }
  if (k.type == ValueType::kEnum &&
      std::find(k.choices.begin(), k.choices.end(), v.Scalar()) == k.choices.end()) {
    std::vector<std::string> c(k.choices.begin(), k.choices.end());
    reader_.diagnostics().Error(reader_.At(v),
                                KeyName(*s) + " in " + where_ + " must be one of " + Join(c, ", ") +
                                    ", not " + DescribeNode(v),
                                "see " + DocRef(*spec_));
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<int64_t> ObjectView::Integer(std::string_view key) {
  Slot* s = Use(key, {ValueType::kInteger});
  if (!s) return std::nullopt;
  const KeySpec& k = *s->spec;
  const std::string range =
      k.min == k.max ? std::to_string(k.min)
      : k.max == std::numeric_limits<int64_t>::max()
          ? "an integer of at least " + std::to_string(k.min)
          : "an integer from " + std::to_string(k.min) + " to " + std::to_string(k.max);
  if (!IsPlainInteger(s->entry->value)) {
    WrongType(*s, range, "write a whole number without quotes");
    return std::nullopt;
  }
  const int64_t v = std::stoll(s->entry->value.Scalar());
  if (v < k.min || v > k.max) {
    WrongType(*s, range, k.min == k.max ? "this Lifeboat reads plans of version " + std::to_string(k.min)
                                        : "see " + DocRef(*spec_));
    return std::nullopt;
  }
  return v;
}

std::optional<double> ObjectView::Number(std::string_view key) {
  Slot* s = Use(key, {ValueType::kNumber});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  const std::string expected = "a number of at least " + std::to_string(s->spec->min);
  if (!v.IsScalar() || IsQuoted(v) || v.Scalar().empty()) {
    WrongType(*s, expected, "write a number without quotes, e.g. 1500 or 12.5");
    return std::nullopt;
  }
  char* end = nullptr;
  const double d = std::strtod(v.Scalar().c_str(), &end);
  if (*end != '\0' || !std::isfinite(d) || d < static_cast<double>(s->spec->min)) {
    WrongType(*s, expected, "write a number without quotes, e.g. 1500 or 12.5");
    return std::nullopt;
  }
  return d;
}

std::optional<bool> ObjectView::Boolean(std::string_view key) {
  Slot* s = Use(key, {ValueType::kBoolean});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  if (v.IsScalar() && !IsQuoted(v)) {
    const std::string& t = v.Scalar();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  WrongType(*s, "true or false", "write true or false (yes/no and on/off are not booleans in YAML 1.2)");
  return std::nullopt;
}

std::optional<std::chrono::seconds> ObjectView::Duration(std::string_view key) {
  Slot* s = Use(key, {ValueType::kDuration});
  if (!s) return std::nullopt;
  const YAML::Node& v = s->entry->value;
  const std::string hint =
      "durations are whole numbers each followed by a unit: s, m (minutes), h, d, w; e.g. 90s, "
      "15m, 4h, 1h30m, 2d, 1w";
  if (!v.IsScalar()) {
    WrongType(*s, "a duration", hint);
    return std::nullopt;
  }
  Result<std::chrono::seconds> d = ParsePlanDuration(v.Scalar());
  if (!d.ok()) {
    // The message of units.h already shows the form: the hint need not repeat it.
    std::string m = d.status().message();
    if (const size_t paren = m.find(" (expected"); paren != std::string::npos) m.resize(paren);
    reader_.diagnostics().Error(reader_.At(v), KeyName(*s) + " in " + where_ + ": " + m, hint);
    return std::nullopt;
  }
  return *d;
}

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
      reader_.diagnostics().Error(reader_.At(item),
                                  "unknown " + std::string(k.name) + " entry \"" + item.Scalar() +
                                      "\" in " + where_,
                                  (nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ") +
                                      "the choices are " + Join(c, ", "));
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

void ObjectView::Finish() {
  if (!valid_) return;
  for (const auto& [name, slot] : slots_) {
    if (slot.entry && !slot.used) {
      reader_.diagnostics().Error(reader_.At(slot.entry->key_node),
                                  "internal error: key \"" + name + "\" of a " + std::string(spec_->what) +
                                      " is accepted but not read",
                                  "this is a bug in Lifeboat; please report it");
    }
  }
}

}  // namespace lifeboat::plan
