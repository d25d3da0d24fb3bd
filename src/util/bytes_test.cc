#include "util/bytes.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(BytesTest, HexRoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), b);
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(BytesTest, WriterReaderRoundTrip) {
  ByteWriter w;
  w.PutU8(1);
  w.PutU32(0xdeadbeef);
  w.PutU64(1ull << 40);
  w.PutVarint(300);
  w.PutString("hello");
  ByteReader r(w.data());
  uint8_t a;
  uint32_t b;
  uint64_t c, d;
  std::string s;
  ASSERT_TRUE(r.GetU8(&a) && r.GetU32(&b) && r.GetU64(&c) && r.GetVarint(&d) && r.GetString(&s));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0xdeadbeef);
  EXPECT_EQ(c, 1ull << 40);
  EXPECT_EQ(d, 300u);
  EXPECT_EQ(s, "hello");
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.GetU8(&a));
}

TEST(BytesTest, ReaderRejectsOverlongString) {
  ByteWriter w;
  w.PutVarint(1000);
  w.PutU8(1);
  ByteReader r(w.data());
  std::string s;
  EXPECT_FALSE(r.GetString(&s));
}

}  // namespace
}  // namespace lifeboat
