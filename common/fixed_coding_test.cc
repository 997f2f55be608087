#include "common/fixed_coding.h"

#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(FixedCodingTest, IntegersAreBigEndianAndRoundTrip) {
  std::string out;
  PutFixed8(out, 0xab);
  PutFixed32BE(out, 0x01020304);
  PutFixed64BE(out, 0x1122334455667788);
  EXPECT_EQ(out, std::string("\xab\x01\x02\x03\x04\x11\x22\x33\x44\x55\x66\x77\x88", 13));
  FixedReader in(out);
  uint8_t a = 0;
  uint32_t b = 0;
  uint64_t c = 0;
  ASSERT_TRUE(in.ReadFixed8(&a));
  ASSERT_TRUE(in.ReadFixed32BE(&b));
  ASSERT_TRUE(in.ReadFixed64BE(&c));
  EXPECT_EQ(a, 0xab);
  EXPECT_EQ(b, 0x01020304u);
  EXPECT_EQ(c, 0x1122334455667788u);
  EXPECT_TRUE(in.empty());
}

TEST(FixedCodingTest, EncodedIntegersSortNumerically) {
  std::string small, large;
  PutFixed64BE(small, 255);
  PutFixed64BE(large, 256);
  EXPECT_LT(small, large);
}

TEST(FixedCodingTest, LengthPrefixedRoundTripsBinaryBytes) {
  std::string out;
  PutLengthPrefixed(out, std::string("\x00\xff", 2));
  PutLengthPrefixed(out, "");
  EXPECT_EQ(out, std::string("\0\0\0\2\x00\xff\0\0\0\0", 10));
  FixedReader in(out);
  std::string first = "x", second = "y";
  ASSERT_TRUE(in.ReadLengthPrefixed(&first));
  ASSERT_TRUE(in.ReadLengthPrefixed(&second));
  EXPECT_EQ(first, std::string("\x00\xff", 2));
  EXPECT_EQ(second, "");
  EXPECT_TRUE(in.empty());
}

TEST(FixedCodingTest, ShortInputFailsAndConsumesNothing) {
  std::string out;
  PutLengthPrefixed(out, "abc");
  for (size_t length = 0; length < out.size(); ++length) {
    FixedReader in(absl::string_view(out).substr(0, length));
    std::string value;
    EXPECT_FALSE(in.ReadLengthPrefixed(&value)) << "length " << length;
    EXPECT_EQ(in.remaining(), length);
  }
  FixedReader in(absl::string_view(out).substr(0, 7));
  uint64_t value = 0;
  EXPECT_FALSE(in.ReadFixed64BE(&value));
  EXPECT_EQ(in.remaining(), 7u);
  absl::string_view view;
  EXPECT_FALSE(in.ReadBytes(8, &view));
  EXPECT_TRUE(in.ReadBytes(7, &view));
  EXPECT_TRUE(in.empty());
}

}  // namespace
}  // namespace microledger
