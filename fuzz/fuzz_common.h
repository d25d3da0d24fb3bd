// Shared by the libFuzzer targets (fuzz/*_fuzzer.cc) and the seed-corpus tool (make_fuzz_corpus).
//
// Input layout of every target but tree_fuzzer (one mode, no mode byte): byte 0 selects a mode
// (byte % number of modes), the rest is the payload; Dispatch below does the split. Targets whose
// decoder sits behind a sealed object (doc/repository-format.md §2.1) have a "raw" mode, which
// feeds the payload as the stored bytes (so only inputs sealed with the fixed test key below get
// past the GCM tag), and a "sealed" or "plain" mode, which seals the payload with that key first or
// calls the plaintext decoder directly, so that the fuzzer explores the decoder behind the
// authentication.
//
//   void FuzzRaw(ByteView stored) { ... DecodeX(stored) ... }
//   void FuzzSealed(ByteView plain) { ... DecodeX(fuzz::SealFixed(plain)) ... }
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     return fuzz::Dispatch(data, size, {FuzzRaw, FuzzSealed});  // mode 0 raw, mode 1 sealed
//   }
//   FUZZ_CHECK(re_encoded == original);  // aborts: libFuzzer records the input as a crash
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>

#include "crypto/crypto.h"
#include "util/bytes.h"

namespace lifeboat::fuzz {

struct Input {
  uint8_t mode;
  ByteView payload;
};

// Splits an input into its mode byte and payload; nullopt for the empty input.
inline std::optional<Input> SplitMode(const uint8_t* data, size_t size, uint8_t modes) {
  if (size == 0) return std::nullopt;
  return Input{static_cast<uint8_t>(data[0] % modes), ByteView(data + 1, size - 1)};
}

// One mode of a target: checks what the code under test does with the payload.
using ModeFunction = void (*)(ByteView payload);

// The whole of a target's LLVMFuzzerTestOneInput: SplitMode over modes.size() modes, then the
// payload goes to modes[mode]. The order of `modes` is the mode numbering that the target's
// header comment documents and make_fuzz_corpus's WithMode seeds rely on; at least one mode.
// Returns 0 (libFuzzer's "keep going"), also for the empty input.
inline int Dispatch(const uint8_t* data, size_t size, std::initializer_list<ModeFunction> modes) {
  auto in = SplitMode(data, size, static_cast<uint8_t>(modes.size()));
  if (!in) return 0;
  modes.begin()[in->mode](in->payload);
  return 0;
}

// Prepends the mode byte (for the corpus tool).
inline Bytes WithMode(uint8_t mode, ByteView payload) {
  Bytes out;
  out.reserve(payload.size() + 1);
  out.push_back(mode);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// The fixed test keys: enc_key bytes are 0x01..0x20, id_key bytes 0x41..0x60, chunker secret
// bytes 0x81..0xa0. Never used outside fuzzing.
inline crypto::SecretKey FixedKey(uint8_t first) {
  crypto::SecretKey k;
  for (size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<uint8_t>(first + i);
  return k;
}
inline const crypto::Aead& FixedAead() {
  static const crypto::Aead* aead = new crypto::Aead(FixedKey(0x01));
  return *aead;
}
inline const crypto::HmacSha256& FixedIdMac() {
  static const crypto::HmacSha256* mac = new crypto::HmacSha256(FixedKey(0x41));
  return *mac;
}

[[noreturn]] inline void Fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
  std::abort();
}

// Seals with the fixed key; a failure here is a broken environment, not a finding about input.
inline Bytes SealFixed(ByteView plaintext) {
  auto sealed = FixedAead().Seal(plaintext);
  if (!sealed.ok()) Fail(sealed.status().message().c_str(), __FILE__, __LINE__);
  return std::move(*sealed);
}

// The raw mode of a target whose plaintext mode is Plain: opens the payload as a stored object
// with the fixed key and hands the plaintext to Plain. Payloads that do not open (nearly all that
// the fuzzer makes up) are skipped: refusing them is Aead's job, which aead_fuzzer checks.
//   return fuzz::Dispatch(data, size, {FuzzPlain, fuzz::OpenFixedThen<FuzzPlain>});
template <ModeFunction Plain>
void OpenFixedThen(ByteView stored) {
  auto plain = FixedAead().Open(stored);
  if (plain.ok()) Plain(*plain);
}

// Reads a little-endian u32 from the front of *v and advances it; 0 if fewer than 4 bytes.
inline uint32_t TakeU32(ByteView* v) {
  if (v->size() < 4) {
    *v = v->subspan(v->size());
    return 0;
  }
  uint32_t x = LoadLE32(v->data());
  *v = v->subspan(4);
  return x;
}

}  // namespace lifeboat::fuzz

// An invariant the code under test promises (round trips, agreement of two decoders). Aborts,
// so libFuzzer saves the input as a crash.
#define FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::lifeboat::fuzz::Fail(#cond, __FILE__, __LINE__))
