// Byte buffers, hex, and bounds-checked little-endian encoding used by every on-disk format.
//
//   ByteWriter w; w.PutU32(7); w.PutBytes(id);
//   ByteReader r(w.data()); uint32_t v; if (!r.GetU32(&v)) return Status::Corruption("short");
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string HexEncode(ByteView data);
// Returns nullopt unless `hex` is an even-length string of [0-9a-fA-F].
std::optional<Bytes> HexDecode(std::string_view hex);

// Appends little-endian integers and raw bytes to a growing buffer.
class ByteWriter {
 public:
  void PutU8(uint8_t v) { buf_.push_back(v); }
  void PutU16(uint16_t v) { PutLE(v, 2); }
  void PutU32(uint32_t v) { PutLE(v, 4); }
  void PutU64(uint64_t v) { PutLE(v, 8); }
  void PutI64(int64_t v) { PutLE(static_cast<uint64_t>(v), 8); }
  // LEB128 unsigned varint.
  void PutVarint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void PutBytes(ByteView b) {
    if (b.empty()) return;
    size_t at = buf_.size();
    buf_.resize(at + b.size());
    std::memcpy(buf_.data() + at, b.data(), b.size());
  }
  // Varint length followed by the bytes.
  void PutString(std::string_view s) {
    PutVarint(s.size());
    PutBytes(AsBytes(s));
  }
  Bytes& data() { return buf_; }
  Bytes Release() { return std::move(buf_); }
  size_t size() const { return buf_.size(); }

 private:
  void PutLE(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes buf_;
};

// Reads what ByteWriter wrote. Every getter returns false (and consumes nothing useful) when the
// input is too short or malformed, so decoders never read out of bounds.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}
  bool GetU8(uint8_t* v) { return GetLE(v, 1); }
  bool GetU16(uint16_t* v) { return GetLE(v, 2); }
  bool GetU32(uint32_t* v) { return GetLE(v, 4); }
  bool GetU64(uint64_t* v) { return GetLE(v, 8); }
  bool GetI64(int64_t* v) {
    uint64_t u;
    if (!GetLE(&u, 8)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool GetVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      uint8_t b = data_[pos_++];
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool GetBytes(size_t n, ByteView* out) {
    if (n > data_.size() - pos_) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  template <size_t N>
  bool GetArray(std::array<uint8_t, N>* out) {
    ByteView b;
    if (!GetBytes(N, &b)) return false;
    std::memcpy(out->data(), b.data(), N);
    return true;
  }
  bool GetString(std::string* out) {
    uint64_t n;
    ByteView b;
    if (!GetVarint(&n) || n > remaining() || !GetBytes(n, &b)) return false;
    out->assign(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
  }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  template <typename T>
  bool GetLE(T* v, int n) {
    if (remaining() < static_cast<size_t>(n)) return false;
    uint64_t r = 0;
    for (int i = 0; i < n; ++i) r |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    *v = static_cast<T>(r);
    return true;
  }
  ByteView data_;
  size_t pos_ = 0;
};

inline void StoreLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t LoadLE32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace lifeboat
