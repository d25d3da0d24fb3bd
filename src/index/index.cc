#include "index/index.h"

#include <algorithm>
#include <mutex>

namespace lifeboat {
namespace {

inline uint32_t Prefix16(const Id& id) { return uint32_t{id.bytes[0]} << 8 | id.bytes[1]; }

}  // namespace

MasterIndex::MasterIndex() : directory_(65537, 0) {}

uint32_t MasterIndex::PackNumber(const Id& pack) {
  auto it = pack_numbers_.find(pack);
  if (it != pack_numbers_.end()) return it->second;
  uint32_t n = static_cast<uint32_t>(packs_.size());
  packs_.push_back(pack);
  pack_numbers_.emplace(pack, n);
  return n;
}

void MasterIndex::AddPack(const Id& pack, const std::vector<PackedBlob>& blobs) {
  WriterMutexLock lock(&mu_);
  uint32_t number = PackNumber(pack);
  for (const auto& b : blobs) {
    if (FindSorted(b.type, b.id)) continue;
    Entry e{b.id, number, b.offset, b.stored_length,
            b.raw_length | (b.type == BlobType::kTree ? 0x80000000u : 0u)};
    overlay_.try_emplace(Key{b.id, b.type}, e);
  }
}

const MasterIndex::Entry* MasterIndex::FindSorted(BlobType type, const Id& id) const {
  uint32_t p = Prefix16(id);
  auto first = sorted_.begin() + directory_[p];
  auto last = sorted_.begin() + directory_[p + 1];
  auto it = std::lower_bound(first, last, id, [](const Entry& e, const Id& v) { return e.id < v; });
  for (; it != last && it->id == id; ++it) {
    if (TypeOf(*it) == type) return &*it;
  }
  return nullptr;
}

BlobLocation MasterIndex::ToLocation(const Entry& e) const {
  return BlobLocation{TypeOf(e), packs_[e.pack], e.offset, e.stored_length,
                      e.raw_and_type & 0x7fffffffu};
}

std::optional<BlobLocation> MasterIndex::Find(BlobType type, const Id& id) const {
  ReaderMutexLock lock(&mu_);
  if (const Entry* e = FindSorted(type, id)) return ToLocation(*e);
  if (overlay_.empty()) return std::nullopt;
  auto it = overlay_.find(Key{id, type});
  if (it == overlay_.end()) return std::nullopt;
  return ToLocation(it->second);
}

void MasterIndex::BulkAdd(const Id& pack, const std::vector<PackedBlob>& blobs) {
  WriterMutexLock lock(&mu_);
  uint32_t number = PackNumber(pack);
  for (const auto& b : blobs) {
    if (bulk_.empty() || bulk_.back().size() == kBulkBlock) {
      bulk_.emplace_back();
      bulk_.back().reserve(kBulkBlock);
    }
    bulk_.back().push_back(Entry{b.id, number, b.offset, b.stored_length,
                                 b.raw_length | (b.type == BlobType::kTree ? 0x80000000u : 0u)});
  }
}

void MasterIndex::Compact() {
  WriterMutexLock lock(&mu_);
  if (overlay_.empty() && bulk_.empty()) return;
  size_t total = sorted_.size() + overlay_.size();
  for (const auto& block : bulk_) total += block.size();
  sorted_.reserve(total);
  for (auto& block : bulk_) {
    sorted_.insert(sorted_.end(), block.begin(), block.end());
    block = std::vector<Entry>();  // free each block as soon as it is copied
  }
  bulk_.clear();
  for (auto& [k, e] : overlay_) sorted_.push_back(e);
  overlay_.clear();
  overlay_.rehash(0);
  // Ties (the same blob in several packs) are broken by pack number, so the copy in the pack this
  // index learned of first survives, whatever order std::sort leaves equal entries in.
  auto less = [](const Entry& a, const Entry& b) {
    if (a.id != b.id) return a.id < b.id;
    if (TypeOf(a) != TypeOf(b)) return TypeOf(a) < TypeOf(b);
    return a.pack < b.pack;
  };
  std::sort(sorted_.begin(), sorted_.end(), less);
  auto same = [](const Entry& a, const Entry& b) { return a.id == b.id && TypeOf(a) == TypeOf(b); };
  sorted_.erase(std::unique(sorted_.begin(), sorted_.end(), same), sorted_.end());
  if (sorted_.capacity() - sorted_.size() > sorted_.size() / 16) sorted_.shrink_to_fit();
  RebuildDirectory();
}

void MasterIndex::RebuildDirectory() {
  size_t i = 0;
  for (uint32_t p = 0; p < 65536; ++p) {
    directory_[p] = static_cast<uint32_t>(i);
    while (i < sorted_.size() && Prefix16(sorted_[i].id) == p) ++i;
  }
  directory_[65536] = static_cast<uint32_t>(sorted_.size());
}

size_t MasterIndex::blob_count() const {
  ReaderMutexLock lock(&mu_);
  size_t bulk = 0;
  for (const auto& block : bulk_) bulk += block.size();
  return sorted_.size() + overlay_.size() + bulk;
}

size_t MasterIndex::pack_count() const {
  ReaderMutexLock lock(&mu_);
  return packs_.size();
}

size_t MasterIndex::MemoryUsage() const {
  ReaderMutexLock lock(&mu_);
  size_t bulk = 0;
  for (const auto& block : bulk_) bulk += block.capacity() * sizeof(Entry);
  return bulk + sorted_.capacity() * sizeof(Entry) + directory_.capacity() * sizeof(uint32_t) +
         overlay_.size() * (sizeof(Entry) + sizeof(Key) + 16) +
         overlay_.bucket_count() * sizeof(void*) + packs_.capacity() * sizeof(Id) +
         pack_numbers_.size() * (sizeof(Id) + 24) + pack_numbers_.bucket_count() * sizeof(void*);
}

void MasterIndex::ForEach(
    const std::function<void(const Id& pack, const PackedBlob& blob)>& fn) const {
  ReaderMutexLock lock(&mu_);
  const std::vector<Id>* packs = &packs_;  // the lambda runs here, under the lock
  auto emit = [&](const Entry& e) {
    PackedBlob b{TypeOf(e), e.id, e.offset, e.stored_length, e.raw_and_type & 0x7fffffffu};
    fn((*packs)[e.pack], b);
  };
  for (const auto& e : sorted_) emit(e);
  for (const auto& [k, e] : overlay_) emit(e);
  for (const auto& block : bulk_)
    for (const auto& e : block) emit(e);
}

void MasterIndex::Clear() {
  WriterMutexLock lock(&mu_);
  sorted_ = {};
  overlay_ = {};
  bulk_ = {};
  packs_ = {};
  pack_numbers_ = {};
  std::fill(directory_.begin(), directory_.end(), 0);
}

std::optional<size_t> MasterIndex::Position(BlobType type, const Id& id) const {
  ReaderMutexLock lock(&mu_);
  const Entry* e = FindSorted(type, id);
  if (!e) return std::nullopt;
  return static_cast<size_t>(e - sorted_.data());
}

BlobLocation MasterIndex::AtPosition(size_t position) const {
  ReaderMutexLock lock(&mu_);
  return ToLocation(sorted_[position]);
}

Id MasterIndex::IdAtPosition(size_t position) const {
  ReaderMutexLock lock(&mu_);
  return sorted_[position].id;
}

Status MasterIndex::ForEachPack(
    const std::function<Status(const Id& pack, const std::vector<PackedBlob>& blobs)>& fn) const {
  ReaderMutexLock lock(&mu_);
  // Everything not in sorted_ is copied next to it, so one ordering covers all entries.
  std::vector<Entry> extra;
  for (const auto& [k, e] : overlay_) extra.push_back(e);
  for (const auto& block : bulk_) extra.insert(extra.end(), block.begin(), block.end());
  const std::vector<Entry>* sorted = &sorted_;  // the lambdas run here, under the lock
  auto at = [&](uint32_t i) -> const Entry& {
    return i < sorted->size() ? (*sorted)[i] : extra[i - sorted->size()];
  };
  std::vector<uint32_t> order(sorted_.size() + extra.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Entry& x = at(a);
    const Entry& y = at(b);
    return x.pack != y.pack ? x.pack < y.pack : x.offset < y.offset;
  });
  std::vector<PackedBlob> blobs;
  for (size_t i = 0; i < order.size();) {
    uint32_t pack = at(order[i]).pack;
    blobs.clear();
    for (; i < order.size() && at(order[i]).pack == pack; ++i) {
      const Entry& e = at(order[i]);
      blobs.push_back(
          PackedBlob{TypeOf(e), e.id, e.offset, e.stored_length, e.raw_and_type & 0x7fffffffu});
    }
    LB_RETURN_IF_ERROR(fn(packs_[pack], blobs));
  }
  return Status::Ok();
}

std::vector<Id> MasterIndex::Packs() const {
  ReaderMutexLock lock(&mu_);
  return packs_;
}

Bytes EncodeIndexFile(const IndexFile& index) {
  ByteWriter w;
  w.PutU8(kIndexVersion);
  w.PutU32(static_cast<uint32_t>(index.supersedes.size()));
  for (const auto& id : index.supersedes) w.PutBytes(id.bytes);
  w.PutU32(static_cast<uint32_t>(index.packs.size()));
  for (const auto& p : index.packs) {
    w.PutBytes(p.name.bytes);
    w.PutU32(static_cast<uint32_t>(p.blobs.size()));
    for (const auto& b : p.blobs) {
      w.PutU8(static_cast<uint8_t>(b.type));
      w.PutBytes(b.id.bytes);
      w.PutU32(b.offset);
      w.PutU32(b.stored_length);
      w.PutU32(b.raw_length);
    }
  }
  return w.Release();
}

Result<IndexFile> DecodeIndexFile(ByteView plaintext) {
  ByteReader r(plaintext);
  auto bad = [](const char* what) { return Status::Corruption(std::string("index: ") + what); };
  uint8_t version;
  uint32_t n;
  if (!r.GetU8(&version)) return bad("too short");
  if (version != kIndexVersion) return bad("unsupported version");
  if (!r.GetU32(&n) || uint64_t{n} * 32 > r.remaining()) return bad("truncated superseded list");
  IndexFile out;
  out.supersedes.resize(n);
  for (auto& id : out.supersedes) (void)r.GetArray(&id.bytes);
  if (!r.GetU32(&n) || uint64_t{n} * 36 > r.remaining()) return bad("truncated pack list");
  out.packs.resize(n);
  for (auto& p : out.packs) {
    uint32_t count;
    if (!r.GetArray(&p.name.bytes) || !r.GetU32(&count)) return bad("truncated pack entry");
    if (uint64_t{count} * 45 > r.remaining()) return bad("truncated blob list");
    p.blobs.resize(count);
    for (auto& b : p.blobs) {
      uint8_t type = 0xff;
      (void)(r.GetU8(&type) && r.GetArray(&b.id.bytes) && r.GetU32(&b.offset) &&
             r.GetU32(&b.stored_length) && r.GetU32(&b.raw_length));
      if (type > 1) return bad("unknown blob type");
      if (b.raw_length > kMaxBlobSize) return bad("blob length out of range");
      b.type = static_cast<BlobType>(type);
    }
  }
  if (!r.done()) return bad("trailing bytes");
  return out;
}

}  // namespace lifeboat
