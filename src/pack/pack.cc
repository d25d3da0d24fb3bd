#include "pack/pack.h"

#include <algorithm>
#include <cstdint>

namespace lifeboat {

void PackWriter::Add(BlobType type, const Id& id, Bytes stored, uint32_t raw_length) {
  bytes_ += stored.size();
  pending_.push_back(Pending{type, id, std::move(stored), raw_length});
}

Result<FinishedPack> PackWriter::Finish() {
  // Fisher-Yates with CSPRNG-drawn indices: blob order reveals nothing about file order.
  if (pending_.size() > 1) {
    std::vector<uint32_t> rnd(pending_.size());
    LB_RETURN_IF_ERROR(crypto::RandomBytes(
        {reinterpret_cast<uint8_t*>(rnd.data()), rnd.size() * sizeof(uint32_t)}));
    for (size_t i = pending_.size() - 1; i > 0; --i) {
      size_t j = rnd[i] % (i + 1);
      std::swap(pending_[i], pending_[j]);
    }
  }
  FinishedPack out;
  out.parts.reserve(pending_.size() + 1);
  out.blobs.reserve(pending_.size());
  crypto::Sha256Stream name;
  for (auto& p : pending_) {
    PackedBlob b;
    b.type = p.type;
    b.id = p.id;
    b.offset = static_cast<uint32_t>(out.size);
    b.stored_length = static_cast<uint32_t>(p.stored.size());
    b.raw_length = p.raw_length;
    out.size += p.stored.size();
    name.Update(p.stored);
    out.parts.push_back(std::move(p.stored));
    out.blobs.push_back(b);
  }
  pending_.clear();
  bytes_ = 0;
  Bytes header;
  LB_RETURN_IF_ERROR(aead_.SealAppend(EncodePackHeader(out.blobs), &header));
  uint8_t trailer[4];
  StoreLE32(trailer, static_cast<uint32_t>(header.size()));
  header.insert(header.end(), trailer, trailer + 4);
  out.size += header.size();
  name.Update(header);
  out.parts.push_back(std::move(header));
  out.name = Id{name.Finish()};
  return out;
}

Bytes FinishedPack::Joined() const {
  Bytes joined;
  joined.reserve(size);
  for (const Bytes& part : parts) joined.insert(joined.end(), part.begin(), part.end());
  return joined;
}

Bytes EncodePackHeader(const std::vector<PackedBlob>& blobs) {
  ByteWriter w;
  w.PutU8(kPackHeaderVersion);
  w.PutU32(static_cast<uint32_t>(blobs.size()));
  for (const auto& b : blobs) {
    w.PutU8(static_cast<uint8_t>(b.type));
    w.PutBytes(b.id.bytes);
    w.PutU32(b.stored_length);
    w.PutU32(b.raw_length);
  }
  return w.Release();
}

Result<std::vector<PackedBlob>> DecodePackHeader(ByteView plaintext, uint64_t blobs_end) {
  ByteReader r(plaintext);
  uint8_t version;
  uint32_t count;
  if (!r.GetU8(&version) || !r.GetU32(&count)) return Status::Corruption("pack header too short");
  if (version != kPackHeaderVersion)
    return Status::Corruption("unsupported pack header version " + std::to_string(version));
  if (r.remaining() != uint64_t{count} * kPackHeaderEntrySize)
    return Status::Corruption("pack header length does not match its entry count");
  std::vector<PackedBlob> blobs(count);
  uint64_t offset = 0;
  for (auto& b : blobs) {
    uint8_t type = 0xff;
    (void)(r.GetU8(&type) && r.GetArray(&b.id.bytes) && r.GetU32(&b.stored_length) &&
           r.GetU32(&b.raw_length));
    if (type > 1) return Status::Corruption("pack header has unknown blob type");
    b.type = static_cast<BlobType>(type);
    // Offsets are 32-bit (PackedBlob, index entries): never let one wrap around.
    if (offset > UINT32_MAX) return Status::Corruption("pack header has a blob beyond 4 GiB");
    b.offset = static_cast<uint32_t>(offset);
    if (b.stored_length < crypto::kSealOverhead + 1 || b.raw_length > kMaxBlobSize)
      return Status::Corruption("pack header has an impossible blob length");
    offset += b.stored_length;
    if (offset > blobs_end) return Status::Corruption("pack header points past the blobs");
  }
  if (offset != blobs_end) return Status::Corruption("pack header does not cover the pack");
  return blobs;
}

static Result<std::vector<PackedBlob>> OpenHeader(const crypto::Aead& aead,
                                                  const std::string& name, ByteView sealed,
                                                  uint64_t blobs_end) {
  Bytes plain;
  Status st = aead.Open(sealed, &plain);
  if (!st.ok()) return Status::Corruption("pack " + name + ": header " + st.message());
  auto blobs = DecodePackHeader(plain, blobs_end);
  if (!blobs.ok()) return blobs.status().WithContext("pack " + name);
  return blobs;
}

Result<std::vector<PackedBlob>> ReadPackHeader(Backend& backend, const crypto::Aead& aead,
                                               const std::string& name, uint64_t size) {
  ObjectHandle h{ObjectType::kPack, name};
  if (size < 4 + crypto::kSealOverhead) return Status::Corruption("pack " + name + " too short");
  // Most headers are small: read the last 64 KiB in one go, then more only if needed.
  uint64_t tail = std::min<uint64_t>(size, 64 * 1024);
  LB_ASSIGN_OR_RETURN(Bytes end, backend.Load(h, size - tail, tail));
  if (end.size() != tail) return Status::Corruption("pack " + name + ": short read");
  uint32_t header_len = LoadLE32(end.data() + end.size() - 4);
  if (uint64_t{header_len} + 4 > size || header_len < crypto::kSealOverhead)
    return Status::Corruption("pack " + name + ": header length out of range");
  uint64_t header_start = size - 4 - header_len;
  Bytes header;
  if (uint64_t{header_len} + 4 <= tail) {
    header.assign(end.end() - 4 - header_len, end.end() - 4);
  } else {
    LB_ASSIGN_OR_RETURN(header, backend.Load(h, header_start, header_len));
    if (header.size() != header_len) return Status::Corruption("pack " + name + ": short read");
  }
  return OpenHeader(aead, name, header, header_start);
}

Result<std::vector<PackedBlob>> ParsePack(const crypto::Aead& aead, const std::string& name,
                                          ByteView pack) {
  if (pack.size() < 4 + crypto::kSealOverhead)
    return Status::Corruption("pack " + name + " too short");
  uint32_t header_len = LoadLE32(pack.data() + pack.size() - 4);
  if (uint64_t{header_len} + 4 > pack.size() || header_len < crypto::kSealOverhead)
    return Status::Corruption("pack " + name + ": header length out of range");
  uint64_t header_start = pack.size() - 4 - header_len;
  return OpenHeader(aead, name, pack.subspan(header_start, header_len), header_start);
}

}  // namespace lifeboat
