// Names are bytes; JSON strings are Unicode. This is the one place that turns the bytes of a file
// name, path, link target, xattr name or exclude pattern into JSON and back, losslessly
// (doc/json.md), and the one way Lifeboat serializes JSON, which never throws.
//
//   nlohmann::json j;
//   PutBytes(j, "path", "/x/bad\xff" "dir");
//   std::cout << DumpJson(j) << "\n";  // {"path":"/x/bad\uFFFDdir","path_raw":"L3gvYmFk/2Rpcg=="}
//
// The rule: bytes that are valid UTF-8 become the string itself; other bytes become the string
// with each invalid sequence replaced by U+FFFD (for display) plus a sibling "<key>_raw" holding
// the exact bytes in base64 (standard alphabet, padded). For an array, "<key>_raw" is a parallel
// array with every element's bytes, present only when some element is not valid UTF-8.
// All functions are pure and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

// True if `s` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..DFFF),
// nothing above U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view s);

// `s` with each maximal ill-formed subsequence replaced by U+FFFD (the Unicode "substitution of
// maximal subparts" practice, as in Python's and WHATWG's decoders). Valid input is returned as is.
std::string ToValidUtf8(std::string_view s);

// Base64 with the standard alphabet and '=' padding (RFC 4648 §4).
std::string Base64Encode(std::string_view data);
// Decodes canonical base64 only: length a multiple of 4, padding only at the end, unused bits
// zero, no whitespace. nullopt otherwise.
std::optional<std::string> Base64Decode(std::string_view text);

// obj[key] = bytes (see the rule above). `obj` must be an object or null.
void PutBytes(nlohmann::json& obj, const std::string& key, std::string_view bytes);
// obj[key] = array of items (lossy where needed); obj[key + "_raw"] = parallel base64 array when
// any item is not valid UTF-8.
void PutBytesArray(nlohmann::json& obj, const std::string& key,
                   const std::vector<std::string>& items);

// Reads back what PutBytes wrote: the bytes of "<key>_raw" when present, else the string at key.
// Corruption when either has the wrong type or the base64 is not canonical; NotFound when neither
// is present.
Result<std::string> GetBytes(const nlohmann::json& obj, const std::string& key);
// Reads back what PutBytesArray wrote. A missing key gives an empty array. Corruption when an
// element is not a string, "<key>_raw" is present without key or with a different length, or
// holds an element that is not canonical base64.
Result<std::vector<std::string>> GetBytesArray(const nlohmann::json& obj, const std::string& key);

// j.dump(indent), except that it never throws: a string that is not valid UTF-8 (one that did not
// go through PutBytes) is written with U+FFFD replacements. Use it for every JSON Lifeboat writes.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace lifeboat
