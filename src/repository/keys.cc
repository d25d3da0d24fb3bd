#include "repository/keys.h"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "repository/json_fields.h"
#include "util/json_bytes.h"
#include "util/mutex.h"

namespace lifeboat {

using nlohmann::json;

MasterKey MasterKey::Generate() {
  return MasterKey{crypto::SecretKey::Random(), crypto::SecretKey::Random(),
                   crypto::SecretKey::Random()};
}

namespace {
Mutex kdf_override_mu;
std::optional<KdfParams> kdf_override GUARDED_BY(kdf_override_mu);
std::atomic<uint64_t> key_derivations{0};
}  // namespace

uint64_t KeyDerivationCount() { return key_derivations.load(std::memory_order_relaxed); }

KdfParams DefaultKdfParams() {
  MutexLock lock(&kdf_override_mu);
  return kdf_override.value_or(KdfParams{});
}

void SetKdfParamsOverrideForTesting(std::optional<KdfParams> params) {
  MutexLock lock(&kdf_override_mu);
  kdf_override = params;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTime(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  int64_t frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(frac));
  return buf;
}

Result<int64_t> ParseTime(std::string_view text) {
  struct tm tm = {};
  std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return Status::InvalidArgument("bad time '" + s + "'");
  int64_t frac = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (*rest - '0');
        ++digits;
      }
      ++rest;
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  if (std::string_view(rest) != "Z") return Status::InvalidArgument("bad time '" + s + "'");
  // Times are int64 nanoseconds, 1677-09-21 to 2262-04-11: refuse a year outside that range (the
  // parser takes 0 to 9999) instead of overflowing.
  int64_t secs = static_cast<int64_t>(timegm(&tm));
  if (secs < 0 && frac > 0) {  // so that the earliest time, secs * 10^9 + frac = INT64_MIN, fits
    ++secs;
    frac -= 1000000000;
  }
  int64_t ns;
  if (__builtin_mul_overflow(secs, int64_t{1000000000}, &ns) ||
      __builtin_add_overflow(ns, frac, &ns))
    return Status::InvalidArgument("time '" + s + "' is outside 1677-09-21 .. 2262-04-11");
  return ns;
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string Username() {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res) return pw.pw_name;
  return std::to_string(getuid());
}

static constexpr uint8_t kMaterialVersion = 1;

Result<Bytes> CreateKeyFile(const MasterKey& mk, std::string_view password, const KdfParams& kdf,
                            bool append_only) {
  Bytes salt(32);
  LB_RETURN_IF_ERROR(crypto::RandomBytes(salt));
  LB_ASSIGN_OR_RETURN(crypto::SecretKey wrap,
                      crypto::DeriveKeyScrypt(password, salt, kdf.n, kdf.r, kdf.p));
  key_derivations.fetch_add(1, std::memory_order_relaxed);
  Bytes material;
  material.push_back(kMaterialVersion);
  for (const auto* k : {&mk.enc, &mk.id, &mk.chunker})
    material.insert(material.end(), k->bytes.begin(), k->bytes.end());
  crypto::Aead aead(wrap);
  LB_ASSIGN_OR_RETURN(Bytes sealed, aead.Seal(material));
  std::fill(material.begin(), material.end(), 0);
  json j = {{"version", 1},
            {"kdf", "scrypt"},
            {"n", kdf.n},
            {"r", kdf.r},
            {"p", kdf.p},
            {"salt", HexEncode(salt)},
            {"created", FormatTime(NowNs())},
            {"hostname", Hostname()},
            {"username", Username()},
            {"append_only", append_only},
            {"data", HexEncode(sealed)}};
  std::string text = DumpJson(j);  // a host or user name that is not UTF-8 becomes U+FFFD
  return Bytes(text.begin(), text.end());
}

static Result<json> ParseKeyJson(ByteView file) {
  json j = json::parse(file.begin(), file.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("key file is not JSON");
  return j;
}

Result<KeyFileInfo> ParseKeyFileInfo(ByteView file) {
  LB_ASSIGN_OR_RETURN(json j, ParseKeyJson(file));
  KeyFileInfo info;
  try {
    info.version = json_fields::IntegerAt<uint32_t>(j, "version");
    info.kdf = j.at("kdf").get<std::string>();
    info.params.n = json_fields::IntegerAt<uint64_t>(j, "n");
    info.params.r = json_fields::IntegerAt<uint32_t>(j, "r");
    info.params.p = json_fields::IntegerAt<uint32_t>(j, "p");
    info.created = j.value("created", "");
    info.hostname = j.value("hostname", "");
    info.username = j.value("username", "");
    info.append_only = j.value("append_only", false);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("key file: ") + e.what());
  }
  if (info.version != 1)
    return Status::Corruption("key file version " + std::to_string(info.version) +
                              " is not supported by this Lifeboat (knows 1)");
  if (info.kdf != "scrypt") return Status::Corruption("key file uses unknown kdf " + info.kdf);
  return info;
}

Result<MasterKey> OpenKeyFile(ByteView file, std::string_view password) {
  LB_ASSIGN_OR_RETURN(KeyFileInfo info, ParseKeyFileInfo(file));
  LB_ASSIGN_OR_RETURN(json j, ParseKeyJson(file));
  std::optional<Bytes> salt, sealed;
  if (j.contains("salt") && j["salt"].is_string()) salt = HexDecode(j["salt"].get<std::string>());
  if (j.contains("data") && j["data"].is_string()) sealed = HexDecode(j["data"].get<std::string>());
  if (!salt || !sealed) return Status::Corruption("key file: bad salt or data");
  // Refuse absurd parameters before spending memory on them (bit flips in n, r, p).
  if (info.params.n > (1u << 24) || info.params.r > 64 || info.params.p > 16)
    return Status::Corruption("key file: scrypt parameters out of range");
  auto wrap = crypto::DeriveKeyScrypt(password, *salt, info.params.n, info.params.r, info.params.p);
  key_derivations.fetch_add(1, std::memory_order_relaxed);
  if (!wrap.ok()) {
    // Parameters scrypt refuses (n not a power of two, r or p zero, ...) mean a malformed file.
    if (wrap.status().code() == StatusCode::kInvalidArgument)
      return Status::Corruption("key file: " + wrap.status().message());
    return wrap.status();
  }
  crypto::Aead aead(*wrap);
  Bytes material;
  if (!aead.Open(*sealed, &material).ok())
    return Status::Unauthenticated("password does not match this key");
  if (material.size() != 97 || material[0] != kMaterialVersion)
    return Status::Corruption("key file: bad master key material");
  MasterKey mk;
  std::memcpy(mk.enc.bytes.data(), material.data() + 1, 32);
  std::memcpy(mk.id.bytes.data(), material.data() + 33, 32);
  std::memcpy(mk.chunker.bytes.data(), material.data() + 65, 32);
  std::fill(material.begin(), material.end(), 0);
  return mk;
}

Result<MasterKey> OpenNamedKeyFile(std::string_view name, ByteView file,
                                   std::string_view password) {
  auto damaged = [&](std::string_view why) {
    return Status::Corruption("key file " + std::string(name) + " is damaged: " +
                              std::string(why));
  };
  auto master = OpenKeyFile(file, password);
  // Opened: the AEAD authenticated the master key material, so it is the real one even if the
  // file was altered elsewhere (`check` reports such a file).
  if (master.ok()) return master;
  if (master.status().code() == StatusCode::kCorruption) return damaged(master.status().message());
  if (HexEncode(crypto::Sha256(file)) != name)  // a wrong password cannot be told from the damage
    return damaged("its content does not match its name (the SHA-256 of the file)");
  return master;
}

}  // namespace lifeboat
