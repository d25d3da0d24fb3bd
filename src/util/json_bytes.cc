#include "util/json_bytes.h"

#include <array>

namespace lifeboat {

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when there is none; then
// *bad is the length of the maximal ill-formed subpart starting there (at least 1): the lead
// byte and the continuation bytes that were still acceptable when the sequence broke off.
size_t SequenceAt(std::string_view s, size_t i, size_t* bad) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  *bad = 1;
  if (b < 0x80) return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;  // overlong
    if (b == 0xED) hi = 0x9F;  // surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;  // overlong
    if (b == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (always overlong) or F5..FF
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      *bad = k;
      return 0;
    }
    unsigned char c = byte(i + k);
    bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) {
      *bad = k;
      return 0;
    }
  }
  return need + 1;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t bad;
  for (size_t i = 0; i < s.size();) {
    size_t n = SequenceAt(s, i, &bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t bad;
  for (size_t i = 0; i < s.size();) {
    size_t n = SequenceAt(s, i, &bad);
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += bad;
    }
  }
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  static const std::array<int8_t, 256> kValue = [] {
    std::array<int8_t, 256> v{};
    v.fill(-1);
    for (int k = 0; k < 64; ++k)
      v[static_cast<unsigned char>(kAlphabet[k])] = static_cast<int8_t>(k);
    return v;
  }();
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int8_t d = k < 4 - pad ? kValue[static_cast<unsigned char>(text[i + k])] : 0;
      if (d < 0) return std::nullopt;  // outside the alphabet, or '=' in the middle
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>(v >> 8 & 0xFF);
    if (pad < 1) out += static_cast<char>(v & 0xFF);
    // Canonical: the bits the padding leaves unused are zero.
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) return std::nullopt;
  }
  return out;
}

void PutBytes(nlohmann::json& obj, const std::string& key, std::string_view bytes) {
  if (IsValidUtf8(bytes)) {
    obj[key] = std::string(bytes);
    return;
  }
  obj[key] = ToValidUtf8(bytes);
  obj[key + "_raw"] = Base64Encode(bytes);
}

void PutBytesArray(nlohmann::json& obj, const std::string& key,
                   const std::vector<std::string>& items) {
  nlohmann::json shown = nlohmann::json::array();
  bool all_valid = true;
  for (const std::string& item : items) {
    bool valid = IsValidUtf8(item);
    all_valid = all_valid && valid;
    shown.push_back(valid ? item : ToValidUtf8(item));
  }
  obj[key] = std::move(shown);
  if (all_valid) return;
  nlohmann::json raw = nlohmann::json::array();
  for (const std::string& item : items) raw.push_back(Base64Encode(item));
  obj[key + "_raw"] = std::move(raw);
}

Result<std::string> GetBytes(const nlohmann::json& obj, const std::string& key) {
  if (!obj.is_object()) return Status::Corruption("'" + key + "': not inside an object");
  auto raw = obj.find(key + "_raw");
  if (raw != obj.end()) {
    if (!raw->is_string()) return Status::Corruption("'" + key + "_raw' is not a string");
    auto bytes = Base64Decode(raw->get_ref<const std::string&>());
    if (!bytes) return Status::Corruption("'" + key + "_raw' is not canonical base64");
    return *bytes;
  }
  auto it = obj.find(key);
  if (it == obj.end()) return Status::NotFound("'" + key + "' is missing");
  if (!it->is_string()) return Status::Corruption("'" + key + "' is not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> GetBytesArray(const nlohmann::json& obj, const std::string& key) {
  if (!obj.is_object()) return Status::Corruption("'" + key + "': not inside an object");
  std::vector<std::string> out;
  auto it = obj.find(key);
  auto raw = obj.find(key + "_raw");
  if (it == obj.end()) {
    if (raw != obj.end()) return Status::Corruption("'" + key + "_raw' without '" + key + "'");
    return out;
  }
  if (!it->is_array()) return Status::Corruption("'" + key + "' is not an array");
  for (const auto& e : *it) {
    if (!e.is_string()) return Status::Corruption("'" + key + "' holds a non-string");
    out.push_back(e.get<std::string>());
  }
  if (raw == obj.end()) return out;
  if (!raw->is_array() || raw->size() != it->size())
    return Status::Corruption("'" + key + "_raw' is not an array as long as '" + key + "'");
  for (size_t i = 0; i < raw->size(); ++i) {
    const auto& e = (*raw)[i];
    std::optional<std::string> bytes;
    if (e.is_string()) bytes = Base64Decode(e.get_ref<const std::string&>());
    if (!bytes)
      return Status::Corruption("'" + key + "_raw' element " + std::to_string(i) +
                                " is not canonical base64");
    out[i] = std::move(*bytes);
  }
  return out;
}

std::string DumpJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lifeboat
