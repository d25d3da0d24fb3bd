// Small helpers shared by the YAML reader's files (yaml_reader.cc, yaml_collections.cc).
// Internal to src/plan.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "plan/keys.h"
#include "util/strings.h"

namespace lifeboat::plan::yaml_util {


// A scalar written in quotes or tagged !!str: a string, never a number or boolean.
inline bool IsQuoted(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

inline bool IsPlainInteger(const YAML::Node& n) {
  if (!n.IsScalar() || IsQuoted(n)) return false;
  const std::string& s = n.Scalar();
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (i >= s.size() || s.size() - i > 15) return false;
  return std::all_of(s.begin() + i, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

inline std::string DocRef(const ObjectSpec& spec) {
  return "doc/plan.md, \"" + std::string(spec.doc_section) + "\"";
}

inline bool IsEnvName(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

inline constexpr std::string_view kSecretSuffixes[] = {"_file", "_command", "_env"};

inline std::string SecretForms(std::string_view name) {
  return std::string(name) + "_file: PATH, " + std::string(name) + "_command: COMMAND or " +
         std::string(name) + "_env: VARIABLE";
}

// An example value for a missing key's hint.
inline std::string ExampleValue(const KeySpec& k) {
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
        return JoinStrings(c, ", ");
      }() + ">";
    default: return "...";
  }
}


// A key whose name suggests a secret ("api_token", "secret", "auth_password").
inline bool LooksSecret(std::string_view key) {
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view word : {"password", "passwd", "secret", "token", "apikey", "api_key",
                                "credential", "private_key"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

}  // namespace lifeboat::plan::yaml_util
