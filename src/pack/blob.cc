#include "pack/blob.h"

#include <zstd.h>

#include <memory>

namespace lifeboat {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

constexpr uint8_t kFrameRaw = 0x00;
constexpr uint8_t kFrameZstd = 0x01;

// Decodes a frame (compression byte + payload) into *out, checking the expected size.
Status DecodeFrame(ByteView frame, uint32_t raw_length, Bytes* out) {
  if (frame.empty()) return Status::Corruption("empty blob frame");
  ByteView payload = frame.subspan(1);
  if (frame[0] == kFrameRaw) {
    if (payload.size() != raw_length) return Status::Corruption("raw blob has wrong length");
    out->assign(payload.begin(), payload.end());
    return Status::Ok();
  }
  if (frame[0] != kFrameZstd) return Status::Corruption("unknown blob compression");
  if (raw_length > kMaxBlobSize) return Status::Corruption("blob length out of range");
  unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (content != raw_length) return Status::Corruption("zstd frame has wrong content size");
  out->resize(raw_length);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out->data(), out->size(), payload.data(),
                                 payload.size());
  if (ZSTD_isError(n) || n != raw_length) return Status::Corruption("zstd decompression failed");
  return Status::Ok();
}

}  // namespace

std::string_view BlobTypeName(BlobType t) { return t == BlobType::kTree ? "tree" : "data"; }

Status BlobCodec::Encode(ByteView plaintext, const Id& id, Bytes* out) const {
  if (plaintext.size() > kMaxBlobSize) return Status::InvalidArgument("blob too large");
  // Per-thread scratch buffers: reused across blobs, so encoding does not fault in fresh pages
  // for every chunk.
  thread_local Bytes frame, check_frame, check_plain;
  size_t bound = ZSTD_compressBound(plaintext.size());
  frame.resize(1 + bound);
  frame[0] = kFrameZstd;
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), frame.data() + 1, bound, plaintext.data(),
                               plaintext.size(), level_);
  if (ZSTD_isError(n) || n >= plaintext.size()) {
    frame.resize(1 + plaintext.size());
    frame[0] = kFrameRaw;
    if (!plaintext.empty()) std::memcpy(frame.data() + 1, plaintext.data(), plaintext.size());
  } else {
    frame.resize(1 + n);
  }
  size_t start = out->size();
  LB_RETURN_IF_ERROR(aead_.SealAppend(frame, out));

  // Verify what we are about to commit: open, decompress, re-hash.
  ByteView stored(out->data() + start, out->size() - start);
  Status st = aead_.Open(stored, &check_frame);
  if (st.ok()) {
    ByteView decoded;
    if (!check_frame.empty() && check_frame[0] == kFrameRaw) {
      // Raw frame: the decrypted payload itself is what gets re-hashed (no copy needed).
      decoded = ByteView(check_frame).subspan(1);
      if (decoded.size() != plaintext.size()) st = Status::Corruption("raw blob has wrong length");
    } else {
      st = DecodeFrame(check_frame, static_cast<uint32_t>(plaintext.size()), &check_plain);
      decoded = check_plain;
    }
    if (st.ok() && ComputeId(decoded) != id) st = Status::Corruption("id mismatch");
  }
  if (!st.ok()) {
    out->resize(start);
    return Status::Internal("blob " + id.Short() +
                            " failed verification right after encoding (" + st.message() +
                            "); memory or compressor fault, nothing was written");
  }
  return Status::Ok();
}

Status BlobCodec::Decode(ByteView stored, const Id& id, uint32_t raw_length, Bytes* out) const {
  Bytes frame;
  Status st = aead_.Open(stored, &frame);
  if (st.ok()) st = DecodeFrame(frame, raw_length, out);
  if (st.ok() && ComputeId(*out) != id) st = Status::Corruption("content does not match its id");
  if (!st.ok()) return Status::Corruption("blob " + id.Hex() + ": " + st.message());
  return Status::Ok();
}

}  // namespace lifeboat
