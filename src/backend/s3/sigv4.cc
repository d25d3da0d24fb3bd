#include "backend/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace lifeboat {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string LowerHex(std::string_view bytes) {
  return HexEncode(AsBytes(bytes));
}

// Trims and collapses runs of spaces to one, as canonical header values are.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct MdContextDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string Digest(const EVP_MD* md, ByteParts parts) {
  std::unique_ptr<EVP_MD_CTX, MdContextDeleter> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  for (ByteView p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::string SigV4UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 15];
    }
  }
  return out;
}

std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(SigV4UriEncode(name, false), SigV4UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string Sha256Hex(ByteParts parts) { return LowerHex(Digest(EVP_sha256(), parts)); }

std::string ContentMd5(ByteParts parts) {
  std::string md5 = Digest(EVP_md5(), parts);
  unsigned char out[32];
  int n = EVP_EncodeBlock(out, reinterpret_cast<const unsigned char*>(md5.data()),
                          static_cast<int>(md5.size()));
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                      const SigV4Scope& scope, std::string_view amz_date) {
  // Headers: lowercase names, sorted; values of a repeated name joined with ',' in their order.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    std::string lname = ToLower(name);
    std::string v = CanonicalHeaderValue(value);
    auto it = std::find_if(headers.begin(), headers.end(),
                           [&](const auto& h) { return h.first == lname; });
    if (it != headers.end()) {
      it->second += ',';
      it->second += v;
    } else {
      headers.emplace_back(std::move(lname), std::move(v));
    }
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ':' + value + '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }

  SigV4Signature sig;
  sig.canonical_request = request.method + '\n' + UriEncodePath(request.path) + '\n' +
                          CanonicalQueryString(request.query) + '\n' + canonical_headers + '\n' +
                          signed_headers + '\n' + request.payload_hash;
  const std::string date(amz_date.substr(0, 8));
  const std::string credential_scope =
      date + '/' + scope.region + '/' + scope.service + "/aws4_request";
  sig.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + '\n' + credential_scope +
                       '\n' + Sha256Hex(sig.canonical_request);

  std::string key = Hmac("AWS4" + credentials.secret_access_key, date);
  key = Hmac(key, scope.region);
  key = Hmac(key, scope.service);
  key = Hmac(key, "aws4_request");
  const std::string signature = LowerHex(Hmac(key, sig.string_to_sign));
  sig.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + '/' +
                      credential_scope + ", SignedHeaders=" + signed_headers +
                      ", Signature=" + signature;
  return sig;
}

}  // namespace lifeboat
