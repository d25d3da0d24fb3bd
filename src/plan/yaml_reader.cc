#include "plan/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "plan/duration.h"
#include "plan/yaml_util.h"

namespace lifeboat::plan {

using namespace yaml_util;  // NOLINT

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
      d.Error(at_, where_ + " has none of " + JoinStrings(tags, ", "),
              "a " + std::string(spec.what) + " is exactly one of these (" + DocRef(spec) + ")");
      return;
    }
    if (found.size() > 1) {
      d.Error(at_, where_ + " has both " + found[0] + " and " + found[1],
              "a " + std::string(spec.what) + " is exactly one of " + JoinStrings(tags, ", ") +
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
      d.Error(at_, where_ + " has no type",
              "add type: one of " + JoinStrings(tags, ", ") + " (" + DocRef(spec) + ")");
      return;
    }
    const std::string t = type->value.IsScalar() ? type->value.Scalar() : "";
    const VariantSpec* chosen = nullptr;
    for (const VariantSpec& v : spec.variants)
      if (v.tag == t) chosen = &v;
    if (!chosen) {
      const std::string nearest = NearestName(t, tags);
      d.Error(reader_.At(type->value),
              "unknown type " + DescribeNode(type->value) + " of " + where_,
              (nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ") + "the types are " +
                  JoinStrings(tags, ", ") + " (" + DocRef(spec) + ")");
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
      std::string hint = nearest.empty()
                             ? "the keys of a " + what + " are " + JoinStrings(names, ", ") + " (" +
                                   DocRef(*spec_) + ")"
                             : "did you mean \"" + nearest + "\"? (the keys of a " + what +
                                   " are in " + DocRef(*spec_) + ")";
      if (LooksSecret(e.key)) hint += "; secrets are never written in the plan, only by reference (X_file, X_command, X_env)";
      d.Error(key_at, "unknown key \"" + e.key + "\" in " + where_, hint);
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
                                KeyName(*s) + " in " + where_ + " must be one of " +
                                    JoinStrings(c, ", ") + ", not " + DescribeNode(v),
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
