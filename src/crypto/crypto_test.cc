#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace lifeboat::crypto {
namespace {

std::string Hex(ByteView b) { return HexEncode(b); }

Bytes Unhex(std::string_view hex) {
  std::optional<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

// A SecretKey whose first bytes are `prefix` and the rest zero. HMAC zero-pads keys shorter than
// the block size, so this gives the RFC 4231 results for their short keys.
SecretKey KeyWithPrefix(ByteView prefix) {
  SecretKey key;
  std::copy(prefix.begin(), prefix.end(), key.bytes.begin());
  return key;
}

Bytes Pattern(size_t n, uint32_t seed = 1) {
  Bytes b(n);
  uint32_t x = seed;
  for (auto& v : b) {
    x = x * 1664525 + 1013904223;
    v = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

// Reference HMAC computed by OpenSSL's one-shot EVP_Q_mac (independent of our precomputed pads).
std::string ReferenceHmac(const SecretKey& key, ByteView data) {
  uint8_t out[32];
  size_t out_len = 0;
  char digest_name[] = "SHA256";
  const uint8_t* d = data.empty() ? out : data.data();
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name, nullptr, key.bytes.data(), key.bytes.size(),
                d, data.size(), out, sizeof(out), &out_len) == nullptr) {
    ADD_FAILURE() << "EVP_Q_mac failed";
  }
  return Hex({out, out_len});
}

// ---------------- random / keys ----------------

TEST(RandomTest, RandomBytesFillsAndDiffers) {
  std::array<uint8_t, 64> a{}, b{};
  ASSERT_TRUE(RandomBytes(a).ok());
  ASSERT_TRUE(RandomBytes(b).ok());
  EXPECT_NE(a, b);
  EXPECT_NE(a, (std::array<uint8_t, 64>{}));
  EXPECT_TRUE(RandomBytes(std::span<uint8_t>()).ok());
}

TEST(SecretKeyTest, RandomKeysDifferAndCopy) {
  SecretKey a = SecretKey::Random();
  SecretKey b = SecretKey::Random();
  EXPECT_NE(a.bytes, b.bytes);
  SecretKey c = a;
  EXPECT_EQ(c.bytes, a.bytes);
  c = b;
  EXPECT_EQ(c.bytes, b.bytes);
  EXPECT_EQ(SecretKey().bytes, (std::array<uint8_t, kKeySize>{}));
}

TEST(SecretKeyTest, FromBytesChecksLength) {
  Bytes raw = Pattern(32);
  Result<SecretKey> k = SecretKey::FromBytes(raw);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(Hex(k->view()), Hex(raw));
  EXPECT_EQ(SecretKey::FromBytes(Pattern(31)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SecretKey::FromBytes(Pattern(33)).status().code(), StatusCode::kInvalidArgument);
}

TEST(SecretKeyTest, DestructorWipes) {
  alignas(SecretKey) unsigned char storage[sizeof(SecretKey)];
  auto* key = new (storage) SecretKey(SecretKey::Random());
  key->~SecretKey();
  for (unsigned char c : storage) EXPECT_EQ(c, 0);
}

TEST(ConstantTimeEqualTest, Basics) {
  Bytes a = Pattern(40), b = a;
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  b[39] ^= 1;
  EXPECT_FALSE(ConstantTimeEqual(a, b));
  b = a;
  b[0] ^= 0x80;
  EXPECT_FALSE(ConstantTimeEqual(a, b));
  EXPECT_FALSE(ConstantTimeEqual(a, ByteView(a).first(39)));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
  EXPECT_FALSE(ConstantTimeEqual({}, a));
}

// ---------------- SHA-256 ----------------

TEST(Sha256Test, KnownAnswers) {  // FIPS 180-2 appendix B
  EXPECT_EQ(Hex(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(Hex(Sha256(AsBytes(million))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, StreamMatchesOneShotForAnySplit) {
  const Bytes data = Pattern(1000);
  const Digest want = Sha256(data);
  for (size_t split : {0, 1, 63, 64, 65, 500, 999, 1000}) {
    Sha256Stream s;
    s.Update(ByteView(data).first(split));
    s.Update({});
    s.Update(ByteView(data).subspan(split));
    EXPECT_EQ(s.Finish(), want) << split;
  }
  // Byte by byte, then reuse after Finish.
  Sha256Stream s;
  for (uint8_t b : data) s.Update({&b, 1});
  EXPECT_EQ(s.Finish(), want);
  EXPECT_EQ(Hex(s.Finish()), Hex(Sha256({})));  // reset to empty
  s.Update(AsBytes("abc"));
  EXPECT_EQ(Hex(s.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Stream moved = std::move(s);
  moved.Update(AsBytes("abc"));
  EXPECT_EQ(Hex(moved.Finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---------------- HMAC-SHA-256 ----------------

TEST(HmacSha256Test, Rfc4231) {
  // Test case 1: key = 0x0b * 20, "Hi There".
  EXPECT_EQ(Hex(HmacSha256(KeyWithPrefix(Bytes(20, 0x0b))).Mac(AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: key = "Jefe".
  EXPECT_EQ(
      Hex(HmacSha256(KeyWithPrefix(AsBytes("Jefe"))).Mac(AsBytes("what do ya want for nothing?"))),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 4: key = 0x01..0x19, data = 0xcd * 50.
  Bytes key4;
  for (int i = 1; i <= 25; ++i) key4.push_back(static_cast<uint8_t>(i));
  EXPECT_EQ(Hex(HmacSha256(KeyWithPrefix(key4)).Mac(Bytes(50, 0xcd))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

TEST(HmacSha256Test, FullLengthKey) {
  // Expected values from Python's hmac module.
  Bytes raw;
  for (int i = 0xa0; i < 0xc0; ++i) raw.push_back(static_cast<uint8_t>(i));
  HmacSha256 mac(KeyWithPrefix(raw));
  EXPECT_EQ(Hex(mac.Mac(AsBytes("The quick brown fox jumps over the lazy dog"))),
            "5cc068bdc66b13f51898d63aebb17879ca6bb39c0713dabdddb5cbdb20360402");
  Bytes long_input(1000);
  for (size_t i = 0; i < long_input.size(); ++i) long_input[i] = static_cast<uint8_t>(i % 251);
  EXPECT_EQ(Hex(mac.Mac(long_input)),
            "07c5c03e6cfc9eef86e42de8cc5a75b70ac6ae9ede79cc839dff12751209562d");
}

TEST(HmacSha256Test, MatchesOpenSslAndMac2Splits) {
  const SecretKey key = SecretKey::Random();
  const HmacSha256 mac(key);
  const Bytes data = Pattern(300, 7);
  for (size_t n : {0, 1, 55, 56, 63, 64, 65, 119, 128, 300}) {
    ByteView d = ByteView(data).first(n);
    const std::string want = ReferenceHmac(key, d);
    EXPECT_EQ(Hex(mac.Mac(d)), want) << n;
    for (size_t split : {size_t{0}, n / 3, n}) {
      EXPECT_EQ(Hex(mac.Mac2(d.first(split), d.subspan(split))), want) << n << "/" << split;
    }
  }
  // Copies and moves compute the same function; a different key does not.
  HmacSha256 copy = mac;
  EXPECT_EQ(copy.Mac(data), mac.Mac(data));
  HmacSha256 assigned(SecretKey::Random());
  EXPECT_NE(assigned.Mac(data), mac.Mac(data));
  assigned = copy;
  EXPECT_EQ(assigned.Mac(data), mac.Mac(data));
  HmacSha256 moved = std::move(copy);
  EXPECT_EQ(moved.Mac(data), mac.Mac(data));
}

TEST(HmacSha256Test, StreamMatchesMacForAnySplit) {
  const SecretKey key = SecretKey::Random();
  const HmacSha256 mac(key);
  const Bytes data = Pattern(1000, 11);
  for (size_t n : {0, 1, 63, 64, 65, 1000}) {
    ByteView d = ByteView(data).first(n);
    for (size_t step : {size_t{1}, size_t{7}, size_t{64}, size_t{1000}}) {
      HmacSha256::Stream s = mac.Begin();
      for (size_t at = 0; at < n; at += step) s.Update(d.subspan(at, std::min(step, n - at)));
      EXPECT_EQ(Hex(s.Finish()), ReferenceHmac(key, d)) << n << "/" << step;
    }
  }
  // A stream is independent of Mac() calls on the same thread in between, and of other streams.
  HmacSha256::Stream a = mac.Begin(), b = mac.Begin();
  a.Update(ByteView(data).first(500));
  EXPECT_EQ(mac.Mac(AsBytes("x")), mac.Mac(AsBytes("x")));
  b.Update(AsBytes("other"));
  a.Update(ByteView(data).subspan(500));
  EXPECT_EQ(a.Finish(), mac.Mac(data));
  EXPECT_EQ(b.Finish(), mac.Mac(AsBytes("other")));
}

TEST(HmacSha256Test, OneMiB) {
  const SecretKey key = SecretKey::Random();
  const Bytes data = Pattern(1 << 20, 3);
  EXPECT_EQ(Hex(HmacSha256(key).Mac(data)), ReferenceHmac(key, data));
}

// ---------------- scrypt ----------------

TEST(ScryptTest, Rfc7914Vectors) {
  Result<SecretKey> k = DeriveKeyScrypt("", {}, 16, 1, 1);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(k->view()), "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442");
  k = DeriveKeyScrypt("password", AsBytes("NaCl"), 1024, 8, 16);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(k->view()), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
  k = DeriveKeyScrypt("pleaseletmein", AsBytes("SodiumChloride"), 16384, 8, 1);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(k->view()), "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2");
}

TEST(ScryptTest, RejectsBadParameters) {
  auto code = [](uint64_t n, uint32_t r, uint32_t p) {
    return DeriveKeyScrypt("pw", AsBytes("salt"), n, r, p).status().code();
  };
  EXPECT_EQ(code(0, 1, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(1, 1, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(3, 1, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(1000, 1, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(16, 0, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(16, 1, 0), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(16, 1u << 15, 1u << 15), StatusCode::kInvalidArgument);   // r * p >= 2^30
  EXPECT_EQ(code(uint64_t{1} << 16, 1, 1), StatusCode::kInvalidArgument);  // N >= 2^(16 r)
  EXPECT_EQ(code(uint64_t{1} << 22, 8, 1), StatusCode::kInvalidArgument);  // 4 GiB + ...
  EXPECT_EQ(code(uint64_t{1} << 63, 8, 1), StatusCode::kInvalidArgument);  // overflow guard
  EXPECT_EQ(code(2, 1, 1), StatusCode::kOk);
}

TEST(ScryptTest, DependsOnEveryInput) {
  auto derive = [](std::string_view pw, std::string_view salt, uint64_t n, uint32_t r, uint32_t p) {
    Result<SecretKey> k = DeriveKeyScrypt(pw, AsBytes(salt), n, r, p);
    EXPECT_TRUE(k.ok());
    return k.ok() ? Hex(k->view()) : std::string();
  };
  const std::string base = derive("pw", "salt", 64, 2, 1);
  EXPECT_EQ(derive("pw", "salt", 64, 2, 1), base);
  EXPECT_NE(derive("pX", "salt", 64, 2, 1), base);
  EXPECT_NE(derive("pw", "salX", 64, 2, 1), base);
  EXPECT_NE(derive("pw", "salt", 128, 2, 1), base);
  EXPECT_NE(derive("pw", "salt", 64, 3, 1), base);
  EXPECT_NE(derive("pw", "salt", 64, 2, 2), base);
}

// ---------------- AEAD ----------------

class AeadTest : public ::testing::Test {
 protected:
  SecretKey key_ = SecretKey::Random();
  Aead aead_{key_};
};

TEST_F(AeadTest, RoundTripSizes) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1} << 20}) {
    const Bytes plain = Pattern(n, static_cast<uint32_t>(n));
    Result<Bytes> sealed = aead_.Seal(plain);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    ASSERT_EQ(sealed->size(), n + kSealOverhead);
    EXPECT_EQ((*sealed)[0], 0x01);
    if (n >= 16) {  // the plaintext does not appear in the clear
      EXPECT_NE(Hex(ByteView(*sealed).subspan(kSealHeaderSize, 16)),
                Hex(ByteView(plain).first(16)));
    }
    Bytes opened = {1, 2, 3};  // Open replaces previous contents
    ASSERT_TRUE(aead_.Open(*sealed, &opened).ok()) << n;
    EXPECT_EQ(opened, plain) << n;
    Result<Bytes> opened2 = aead_.Open(*sealed);
    ASSERT_TRUE(opened2.ok());
    EXPECT_EQ(*opened2, plain);
  }
}

TEST_F(AeadTest, OpenInPiecesYieldsThePlaintextThenChecksTheTag) {
  for (size_t n : {size_t{0}, size_t{1}, Aead::kOpenPieceSize, Aead::kOpenPieceSize + 1,
                   size_t{3} * Aead::kOpenPieceSize + 17}) {
    const Bytes plain = Pattern(n, static_cast<uint32_t>(n + 1));
    Result<Bytes> sealed = aead_.Seal(plain);
    ASSERT_TRUE(sealed.ok());
    Bytes got;
    size_t pieces = 0;
    Status st = aead_.OpenInPieces(*sealed, [&](ByteView piece) {
      EXPECT_LE(piece.size(), Aead::kOpenPieceSize);
      got.insert(got.end(), piece.begin(), piece.end());
      pieces++;
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << n << ": " << st.ToString();
    EXPECT_EQ(got, plain) << n;
    EXPECT_EQ(pieces, (n + Aead::kOpenPieceSize - 1) / Aead::kOpenPieceSize) << n;

    // A flipped bit in the ciphertext or the tag: the pieces may have been seen, but the result
    // is an authentication failure.
    if (n == 0) continue;
    for (size_t at : {kSealHeaderSize + n / 2, sealed->size() - 1, size_t{3}}) {
      Bytes bad = *sealed;
      bad[at] ^= 0x04;
      EXPECT_EQ(aead_.OpenInPieces(bad, [](ByteView) { return Status::Ok(); }).code(),
                StatusCode::kCorruption)
          << n << " at " << at;
    }
    // The sink's error stops it and comes back unchanged.
    EXPECT_EQ(aead_
                  .OpenInPieces(*sealed,
                                [](ByteView) { return Status::InvalidArgument("enough"); })
                  .message(),
              "enough");
  }
  EXPECT_EQ(aead_.OpenInPieces(Bytes(kSealOverhead - 1), [](ByteView) { return Status::Ok(); })
                .code(),
            StatusCode::kCorruption);
}

TEST_F(AeadTest, SealAppendKeepsPrefix) {
  Bytes out = {0xaa, 0xbb};
  const Bytes p1 = Pattern(100, 1), p2 = Pattern(33, 2);
  ASSERT_TRUE(aead_.SealAppend(p1, &out).ok());
  ASSERT_TRUE(aead_.SealAppend(p2, &out).ok());
  ASSERT_EQ(out.size(), 2 + p1.size() + p2.size() + 2 * kSealOverhead);
  EXPECT_EQ(out[0], 0xaa);
  EXPECT_EQ(out[1], 0xbb);
  Bytes got;
  ASSERT_TRUE(aead_.Open(ByteView(out).subspan(2, p1.size() + kSealOverhead), &got).ok());
  EXPECT_EQ(got, p1);
  ASSERT_TRUE(aead_.Open(ByteView(out).subspan(2 + p1.size() + kSealOverhead), &got).ok());
  EXPECT_EQ(got, p2);
}

TEST_F(AeadTest, SealsOfSamePlaintextDiffer) {
  const Bytes plain = Pattern(64);
  Result<Bytes> a = aead_.Seal(plain), b = aead_.Seal(plain);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  // Fresh seed, and the ciphertext differs too (different per-object key).
  EXPECT_NE(Hex(ByteView(*a).subspan(1, kSealSeedSize)),
            Hex(ByteView(*b).subspan(1, kSealSeedSize)));
  EXPECT_NE(Hex(ByteView(*a).subspan(kSealHeaderSize)), Hex(ByteView(*b).subspan(kSealHeaderSize)));
}

TEST_F(AeadTest, EveryBitFlipIsRejected) {
  const Bytes plain = Pattern(64, 9);
  Result<Bytes> sealed = aead_.Seal(plain);
  ASSERT_TRUE(sealed.ok());
  Bytes out;
  for (size_t bit = 0; bit < sealed->size() * 8; ++bit) {
    Bytes bad = *sealed;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    out = {7, 7, 7};
    Status s = aead_.Open(bad, &out);
    ASSERT_EQ(s.code(), StatusCode::kCorruption) << "bit " << bit;
    EXPECT_EQ(s.message(), "authentication failed");
    EXPECT_TRUE(out.empty()) << "bit " << bit;
  }
  ASSERT_TRUE(aead_.Open(*sealed, &out).ok());  // the original still opens
  EXPECT_EQ(out, plain);
}

TEST_F(AeadTest, TruncationAndExtensionRejected) {
  Result<Bytes> sealed = aead_.Seal(Pattern(64, 4));
  ASSERT_TRUE(sealed.ok());
  Bytes out;
  for (size_t len = 0; len < sealed->size(); ++len) {
    EXPECT_TRUE(aead_.Open(ByteView(*sealed).first(len), &out).IsCorruption()) << len;
    EXPECT_TRUE(aead_.Open(ByteView(*sealed).last(len), &out).IsCorruption()) << len;
  }
  Bytes longer = *sealed;
  longer.push_back(0);
  EXPECT_TRUE(aead_.Open(longer, &out).IsCorruption());
  // An empty plaintext's seal, truncated, also fails.
  Result<Bytes> empty = aead_.Seal({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(aead_.Open(ByteView(*empty).first(kSealOverhead - 1), &out).IsCorruption());
}

TEST_F(AeadTest, WrongKeyAndVersionRejected) {
  Result<Bytes> sealed = aead_.Seal(Pattern(64, 5));
  ASSERT_TRUE(sealed.ok());
  Bytes out;
  Aead other(SecretKey::Random());
  Status s = other.Open(*sealed, &out);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "authentication failed");
  for (int v : {0, 2, 0x81, 0xff}) {
    Bytes bad = *sealed;
    bad[0] = static_cast<uint8_t>(v);
    EXPECT_TRUE(aead_.Open(bad, &out).IsCorruption()) << v;
  }
}

// Pins the byte layout and the key derivation: a vector produced by an independent implementation
// (Python `hmac` + `cryptography` AESGCM) following the format in aead.h.
TEST(AeadFormatTest, KnownAnswer) {
  Bytes raw;
  for (int i = 0; i < 32; ++i) raw.push_back(static_cast<uint8_t>(i));
  Aead aead(KeyWithPrefix(raw));
  const Bytes sealed = Unhex(
      "01404142434445464748494a4b4c4d4e4f5051525354555657dae864619f4aeecb10e19aac648ebcf08c8bc26b9"
      "ba7ad4a6e244016880c82681110614127978f6494760fe11f2c8a0d");
  Bytes out;
  ASSERT_TRUE(aead.Open(sealed, &out).ok());
  EXPECT_EQ(AsString(out), "lifeboat sealed-object format v1");
}

// Decrypts our own Seal output with raw OpenSSL calls that follow the documented format.
TEST(AeadFormatTest, SealFollowsDocumentedFormat) {
  const SecretKey key = SecretKey::Random();
  const Bytes plain = Pattern(100, 11);
  Result<Bytes> sealed = Aead(key).Seal(plain);
  ASSERT_TRUE(sealed.ok());
  ByteView s = *sealed;
  ASSERT_EQ(s[0], 1);
  const Digest k = HmacSha256(key).Mac2(AsBytes("lifeboat-aead-v1"), s.subspan(1, 24));
  const uint8_t iv[12] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_NE(ctx, nullptr);
  Bytes out(plain.size());
  int len = 0;
  ASSERT_EQ(EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), k.data(), iv, nullptr), 1);
  ASSERT_EQ(EVP_DecryptUpdate(ctx, nullptr, &len, s.data(), 25), 1);
  ASSERT_EQ(EVP_DecryptUpdate(ctx, out.data(), &len, s.data() + 25, static_cast<int>(plain.size())),
            1);
  Bytes tag(s.end() - 16, s.end());
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag.data()), 1);
  uint8_t fin[16];
  EXPECT_EQ(EVP_DecryptFinal_ex(ctx, fin, &len), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(out, plain);
}

TEST_F(AeadTest, CopiedAeadInteroperates) {
  Aead copy = aead_;
  Result<Bytes> sealed = copy.Seal(Pattern(10));
  ASSERT_TRUE(sealed.ok());
  Bytes out;
  EXPECT_TRUE(aead_.Open(*sealed, &out).ok());
  EXPECT_EQ(out, Pattern(10));
}

TEST_F(AeadTest, ConcurrentSealOpen) {
  constexpr int kThreads = 8;
  constexpr int kIterations = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Objects sealed by one thread are opened by another, too.
  std::vector<Bytes> shared(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    Result<Bytes> s = aead_.Seal(Pattern(1000, 1000 + t));
    ASSERT_TRUE(s.ok());
    shared[t] = std::move(*s);
  }
  const HmacSha256 mac(key_);
  const Digest mac_want = mac.Mac(Pattern(5000, 5));
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        const Bytes plain = Pattern(static_cast<size_t>(i * 37 + t), static_cast<uint32_t>(i + t));
        Result<Bytes> sealed = aead_.Seal(plain);
        Bytes out;
        if (!sealed.ok() || !aead_.Open(*sealed, &out).ok() || out != plain) ++failures;
        const int peer = (t + i) % kThreads;
        if (!aead_.Open(shared[peer], &out).ok() || out != Pattern(1000, 1000 + peer)) ++failures;
        Bytes bad = *sealed;
        bad.back() ^= 1;
        if (aead_.Open(bad, &out).code() != StatusCode::kCorruption) ++failures;
        if (mac.Mac(Pattern(5000, 5)) != mac_want) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace lifeboat::crypto
