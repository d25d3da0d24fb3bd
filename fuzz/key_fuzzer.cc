// Fuzzes key files (doc/repository-format.md §3): the JSON parser ParseKeyFileInfo, the unwrap
// path OpenKeyFile, and the RFC 3339 time parser they and snapshots/locks share.
//
// Modes (byte 0 % 3):
//   0 raw:      a key file -> ParseKeyFileInfo, then OpenKeyFile with the test password when the
//               file's scrypt parameters are tiny (N <= 1024, r <= 8, p <= 2). Larger ones are
//               legal (the default is N = 2^16 and OpenKeyFile accepts up to N = 2^24 within
//               crypto::kMaxScryptMemory): spending that memory and time is the point of a KDF,
//               so they are skipped here rather than reported as slow inputs.
//   1 material: the payload is the key material plaintext; it is wrapped like CreateKeyFile does
//               (scrypt N=16, r=1, p=1 of the test password, fixed salt) -> OpenKeyFile
//   2 time:     text -> ParseTime; an accepted time must survive FormatTime/ParseTime.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_common.h"
#include "repository/keys.h"

namespace lifeboat {
namespace {

constexpr std::string_view kPassword = "fuzz-password";

void CheckOpened(const Result<MasterKey>& mk) {
  if (mk.ok()) return;
  StatusCode c = mk.status().code();
  FUZZ_CHECK(c == StatusCode::kCorruption || c == StatusCode::kUnauthenticated);
}

void FuzzRaw(ByteView file) {
  auto info = ParseKeyFileInfo(file);
  if (!info.ok()) {
    FUZZ_CHECK(info.status().IsCorruption());
    // OpenKeyFile parses the same fields first (before any scrypt work): it must refuse too.
    auto mk = OpenKeyFile(file, kPassword);
    FUZZ_CHECK(!mk.ok() && mk.status().IsCorruption());
    return;
  }
  if (info->params.n > 1024 || info->params.r > 8 || info->params.p > 2) return;
  CheckOpened(OpenKeyFile(file, kPassword));
}

void FuzzMaterial(ByteView material) {
  static const Bytes* salt = new Bytes(32, 0x5a);
  static const crypto::Aead* wrap = [] {
    auto k = crypto::DeriveKeyScrypt(kPassword, *salt, 16, 1, 1);
    if (!k.ok()) fuzz::Fail(k.status().message().c_str(), __FILE__, __LINE__);
    return new crypto::Aead(*k);
  }();
  auto sealed = wrap->Seal(material);
  FUZZ_CHECK(sealed.ok());
  std::string file = R"({"version":1,"kdf":"scrypt","n":16,"r":1,"p":1,"salt":")" +
                     HexEncode(*salt) + R"(","created":"2026-01-02T03:04:05.000000006Z",)" +
                     R"("hostname":"h","username":"u","append_only":false,"data":")" +
                     HexEncode(*sealed) + "\"}";
  auto mk = OpenKeyFile(AsBytes(file), kPassword);
  CheckOpened(mk);
  bool well_formed = material.size() == 97 && material[0] == 1;
  FUZZ_CHECK(mk.ok() == well_formed);
  if (mk.ok()) {
    FUZZ_CHECK(std::equal(mk->enc.bytes.begin(), mk->enc.bytes.end(), material.begin() + 1));
    FUZZ_CHECK(std::equal(mk->id.bytes.begin(), mk->id.bytes.end(), material.begin() + 33));
    FUZZ_CHECK(
        std::equal(mk->chunker.bytes.begin(), mk->chunker.bytes.end(), material.begin() + 65));
  }
  // A wrong password is Unauthenticated, never Corruption or success.
  auto wrong = OpenKeyFile(AsBytes(file), "not-the-password");
  FUZZ_CHECK(!wrong.ok() && wrong.status().code() == StatusCode::kUnauthenticated);
}

void FuzzTime(ByteView text) {
  auto t = ParseTime(AsString(text));
  if (!t.ok()) {
    FUZZ_CHECK(t.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  std::string formatted = FormatTime(*t);
  auto back = ParseTime(formatted);
  if (!back.ok()) fuzz::Fail(formatted.c_str(), __FILE__, __LINE__);
  FUZZ_CHECK(*back == *t);
  FUZZ_CHECK(FormatTime(*back) == formatted);
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzRaw, FuzzMaterial, FuzzTime});
}
