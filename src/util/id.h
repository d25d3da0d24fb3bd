// Id: a 32-byte identifier (blob ids, pack and object names, repository id).
//
//   Id id = Id::FromBytes(digest);
//   std::string name = id.Hex();   // 64 lowercase hex chars, the on-disk name
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace lifeboat {

struct Id {
  std::array<uint8_t, 32> bytes{};

  static Id FromArray(const std::array<uint8_t, 32>& a) { return Id{a}; }
  // Returns nullopt unless `hex` is exactly 64 hex characters.
  static std::optional<Id> FromHex(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    auto b = HexDecode(hex);
    if (!b) return std::nullopt;
    Id id;
    std::memcpy(id.bytes.data(), b->data(), 32);
    return id;
  }
  std::string Hex() const { return HexEncode(bytes); }
  // First 8 hex characters, for messages and tables.
  std::string Short() const { return Hex().substr(0, 8); }
  bool IsZero() const {
    for (uint8_t b : bytes)
      if (b) return false;
    return true;
  }
  ByteView view() const { return bytes; }
  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);  // ids are uniformly distributed
    return h;
  }
};

}  // namespace lifeboat
