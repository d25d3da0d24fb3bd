#include "pack/blob.h"
#include "util/per_thread.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

namespace lifeboat {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// One context per thread, made on first use. zstd returns null when it cannot allocate one (under
// ulimit -v): that is std::bad_alloc, caught at the thread's top and reported as out of memory,
// never a null context handed to zstd (a crash). The next call tries again.
ZSTD_CCtx* ThreadCCtx() {
  auto& ctx = PerThread<std::unique_ptr<ZSTD_CCtx, CCtxDeleter>, struct CCtxTag>();
  if (!ctx) ctx.reset(ZSTD_createCCtx());
  if (!ctx) throw std::bad_alloc();
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  auto& ctx = PerThread<std::unique_ptr<ZSTD_DCtx, DCtxDeleter>, struct DCtxTag>();
  if (!ctx) ctx.reset(ZSTD_createDCtx());
  if (!ctx) throw std::bad_alloc();
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

Status BlobCodec::VerifyStored(ByteView stored, size_t raw_length, const Id& id) const {
  Bytes& window = PerThread<Bytes, struct VerifyWindowTag>();
  if (window.size() != ZSTD_DStreamOutSize()) window.resize(ZSTD_DStreamOutSize());
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (ZSTD_isError(ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only)))
    return Status::Internal("zstd: cannot reset the decompression context");
  crypto::HmacSha256::Stream mac = id_mac_.Begin();
  int kind = -1;          // the frame's compression byte, once seen
  uint64_t produced = 0;  // plaintext bytes hashed so far
  size_t zstd_left = 1;   // ZSTD_decompressStream's last return: 0 = frame complete and flushed
  auto emit = [&](const uint8_t* data, size_t n) -> Status {
    produced += n;
    if (produced > raw_length) return Status::Corruption("blob decodes to more bytes than it had");
    mac.Update(ByteView(data, n));
    return Status::Ok();
  };
  Status st = aead_.OpenInPieces(stored, [&](ByteView piece) -> Status {
    if (kind < 0) {
      if (piece.empty()) return Status::Ok();
      kind = piece[0];
      piece = piece.subspan(1);
      if (kind != kFrameRaw && kind != kFrameZstd)
        return Status::Corruption("unknown blob compression");
    }
    if (kind == kFrameRaw) return emit(piece.data(), piece.size());
    if (zstd_left == 0 && !piece.empty()) return Status::Corruption("data after the zstd frame");
    ZSTD_inBuffer in{piece.data(), piece.size(), 0};
    // Call again while input remains or the last call filled the output (more may be pending).
    for (bool full = true; in.pos < in.size || full;) {
      ZSTD_outBuffer o{window.data(), window.size(), 0};
      zstd_left = ZSTD_decompressStream(dctx, &o, &in);
      if (ZSTD_isError(zstd_left)) return Status::Corruption("zstd decompression failed");
      LB_RETURN_IF_ERROR(emit(window.data(), o.pos));
      full = o.pos == o.size;
      if (zstd_left == 0 && in.pos < in.size) return Status::Corruption("data after the zstd frame");
      if (zstd_left == 0) break;
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (kind < 0) return Status::Corruption("empty blob frame");
  if (kind == kFrameZstd && zstd_left != 0) return Status::Corruption("zstd frame is truncated");
  if (produced != raw_length) return Status::Corruption("blob decodes to fewer bytes than it had");
  if (Id{mac.Finish()} != id) return Status::Corruption("id mismatch");
  return Status::Ok();
}

std::string_view BlobTypeName(BlobType t) { return t == BlobType::kTree ? "tree" : "data"; }

Status BlobCodec::Encode(ByteView plaintext, const Id& id, Bytes* out) const {
  if (plaintext.size() > kMaxBlobSize) return Status::InvalidArgument("blob too large");
  // Per-thread scratch buffer, reused across blobs so that encoding does not fault in fresh
  // pages for every chunk. Not a Bytes: growing it must not zero-fill (touch) the whole
  // compression bound, only the bytes zstd writes are touched, so a worker that once compressed
  // an 8 MiB run of zeros does not keep 8 MiB of memory for good.
  struct Scratch {
    std::unique_ptr<uint8_t[]> frame;
    size_t capacity = 0;
  };
  Scratch& scratch = PerThread<Scratch, struct EncodeScratchTag>();
  std::unique_ptr<uint8_t[]>& frame = scratch.frame;
  size_t& frame_capacity = scratch.capacity;
  const size_t bound = 1 + std::max(ZSTD_compressBound(plaintext.size()), plaintext.size());
  if (frame_capacity < bound) {
    frame.reset(new uint8_t[bound]);  // default-initialised: not zero-filled
    frame_capacity = bound;
  }
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), frame.get() + 1, bound - 1, plaintext.data(),
                               plaintext.size(), level_);
  if (ZSTD_isError(n) || n >= plaintext.size()) {
    frame[0] = kFrameRaw;
    if (!plaintext.empty()) std::memcpy(frame.get() + 1, plaintext.data(), plaintext.size());
    n = plaintext.size();
  } else {
    frame[0] = kFrameZstd;
  }
  size_t start = out->size();
  LB_RETURN_IF_ERROR(aead_.SealAppend(ByteView(frame.get(), 1 + n), out));

  // Verify what we are about to commit: open, decompress, re-hash — in pieces, so verification
  // needs no second and third buffer of the blob's size (it used to take two per encoding thread).
  ByteView stored(out->data() + start, out->size() - start);
  Status st = VerifyStored(stored, plaintext.size(), id);
  if (!st.ok()) {
    out->resize(start);
    return Status::Internal("blob " + id.Short() +
                            " failed verification right after encoding (" + st.message() +
                            "); memory or compressor fault, nothing was written");
  }
  return Status::Ok();
}

Status BlobCodec::Decode(ByteView stored, const Id& id, uint32_t raw_length, Bytes* out) const {
  Bytes& frame = PerThread<Bytes, struct DecodeFrameTag>();  // reused: no fresh buffer per blob
  Status st = aead_.Open(stored, &frame);
  if (st.ok()) st = DecodeFrame(frame, raw_length, out);
  if (st.ok() && ComputeId(*out) != id) st = Status::Corruption("content does not match its id");
  if (!st.ok()) return Status::Corruption("blob " + id.Hex() + ": " + st.message());
  return Status::Ok();
}

}  // namespace lifeboat
