#include "common/encoding.h"

#include <sodium.h>

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(Base64UrlTest, RoundTripsAllLengths) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    absl::StatusOr<std::string> decoded = DecodeBase64Url(EncodeBase64Url(bytes));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64UrlTest, KnownAnswer) {
  EXPECT_EQ(EncodeBase64Url("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(EncodeBase64Url("f"), "Zg");
  EXPECT_EQ(EncodeBase64Url(""), "");
}

TEST(Base64UrlTest, RejectsPadding) { EXPECT_FALSE(DecodeBase64Url("Zg==").ok()); }

TEST(Base64UrlTest, RejectsNonZeroTrailingBits) {
  EXPECT_TRUE(DecodeBase64Url("Zg").ok());
  EXPECT_FALSE(DecodeBase64Url("Zh").ok());
}

TEST(Base64UrlTest, RejectsStandardAlphabet) {
  EXPECT_FALSE(DecodeBase64Url("+/+/").ok());
}

// Bytes outside the alphabet, high ones included (Debian's libsodium decodes
// 0x80..0xff as the value 63: "__" and "\xc3\xbf" would name the same bytes).
TEST(Base64UrlTest, RejectsBytesOutsideTheAlphabet) {
  ASSERT_TRUE(DecodeBase64Url("__8").ok());
  for (const char* text : {"\xc3\xbf" "8", "_\xff" "8", "\x80\x80\x80\x80", "Zm9v ", "Zm9v\n",
                           "Zm=v", "Zm.v"}) {
    EXPECT_FALSE(DecodeBase64Url(text).ok()) << text;
  }
  EXPECT_FALSE(DecodeBase64Std("Zm9v\xff===").ok());
  EXPECT_FALSE(DecodeBase64Std("Zm9-").ok());
  EXPECT_FALSE(DecodeMultibase("u\xc3\xbf" "8").ok());
}

// The decoder agrees with libsodium's strict decoder (whole text consumed) on
// every text over the alphabet and '=': same verdict, same bytes.
TEST(Base64Test, AgreesWithLibsodiumOnRandomTexts) {
  ASSERT_GE(sodium_init(), 0);
  std::mt19937 random(16);
  for (const int variant :
       {sodium_base64_VARIANT_URLSAFE_NO_PADDING, sodium_base64_VARIANT_ORIGINAL}) {
    const std::string alphabet =
        variant == sodium_base64_VARIANT_ORIGINAL
            ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=";
    // Few distinct digits near the end, so that padding and trailing-bit
    // cases come up often.
    const std::string ends = "AQgw=";
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string text(random() % 11, 'A');
      for (size_t k = 0; k < text.size(); ++k) {
        const std::string& from = k + 3 >= text.size() ? ends : alphabet;
        text[k] = from[random() % from.size()];
      }
      std::string expected(text.size() + 3, '\0');
      size_t length = 0;
      const char* end = nullptr;
      const bool sodium_ok =
          sodium_base642bin(reinterpret_cast<unsigned char*>(expected.data()), expected.size(),
                            text.data(), text.size(), nullptr, &length, &end, variant) == 0 &&
          end == text.data() + text.size();
      expected.resize(length);
      const absl::StatusOr<std::string> decoded =
          variant == sodium_base64_VARIANT_ORIGINAL ? DecodeBase64Std(text)
                                                    : DecodeBase64Url(text);
      ASSERT_EQ(decoded.ok(), sodium_ok) << text;
      if (sodium_ok) {
        EXPECT_EQ(*decoded, expected) << text;
        ++accepted;
      }
    }
    EXPECT_GT(accepted, 1000);
  }
}

TEST(Base64UrlTest, RejectsImpossibleLength) { EXPECT_FALSE(DecodeBase64Url("Z").ok()); }

TEST(Base64StdTest, RequiresPaddingAndCanonicalBits) {
  EXPECT_EQ(EncodeBase64Std("f"), "Zg==");
  EXPECT_TRUE(DecodeBase64Std("Zg==").ok());
  EXPECT_FALSE(DecodeBase64Std("Zg").ok());
  EXPECT_FALSE(DecodeBase64Std("Zh==").ok());
  EXPECT_FALSE(DecodeBase64Std("-_-_").ok());
}

TEST(MultibaseTest, RequiresUPrefix) {
  EXPECT_EQ(EncodeMultibase("f"), "uZg");
  EXPECT_EQ(*DecodeMultibase("uZg"), "f");
  EXPECT_FALSE(DecodeMultibase("Zg").ok());
  EXPECT_FALSE(DecodeMultibase("mZg==").ok());
  EXPECT_FALSE(DecodeMultibase("").ok());
}

TEST(DigestTest, Sha256KnownAnswer) {
  // SHA-256("abc"), FIPS 180-2.
  const std::string digest = Sha256("abc");
  EXPECT_EQ(EncodeBase64Url(digest), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  EXPECT_EQ(DigestText("abc"), "uEiC6eBa_jwHP6kFBQN5driIjsANho5YXepy0EP9h8gAVrQ");
}

TEST(DigestTest, DecodesSha256Multihash) {
  absl::StatusOr<std::string> raw = DecodeDigest(DigestText("abc"));
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(*raw, Sha256Multihash("abc"));
  EXPECT_EQ(raw->size(), kSha256MultihashSize);
}

TEST(DigestTest, RejectsUnknownMultihashCode) {
  std::string sha512_like = Sha256Multihash("abc");
  sha512_like[0] = 0x13;
  absl::StatusOr<std::string> raw = DecodeDigest(EncodeMultibase(sha512_like));
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.status().message().find("unknown multihash code 0x13"),
            std::string::npos)
      << raw.status();
}

TEST(DigestTest, RejectsMultiByteVarintCode) {
  std::string bytes = "\x92\x01\x20" + Sha256("abc");
  absl::StatusOr<std::string> raw = DecodeDigest(EncodeMultibase(bytes));
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.status().message().find("0x92"), std::string::npos) << raw.status();
}

TEST(DigestTest, RejectsWrongLength) {
  std::string truncated = Sha256Multihash("abc").substr(0, 33);
  EXPECT_FALSE(DecodeDigest(EncodeMultibase(truncated)).ok());
  std::string wrong_length_byte = Sha256Multihash("abc");
  wrong_length_byte[1] = 0x1f;
  EXPECT_FALSE(DecodeDigest(EncodeMultibase(wrong_length_byte)).ok());
}

TEST(LedgerIdTest, RoundTrips) {
  const std::string key_text = EncodeMultibase(std::string(32, '\x07'));
  const std::string id = LedgerIdFromPublicKeyText(key_text);
  EXPECT_EQ(id, "jlinx:" + key_text);
  EXPECT_EQ(*PublicKeyTextFromLedgerId(id), key_text);
}

TEST(LedgerIdTest, RejectsBadIds) {
  const std::string key_text = EncodeMultibase(std::string(32, '\x07'));
  EXPECT_FALSE(PublicKeyTextFromLedgerId(key_text).ok());
  EXPECT_FALSE(PublicKeyTextFromLedgerId("JLINX:" + key_text).ok());
  EXPECT_FALSE(
      PublicKeyTextFromLedgerId("jlinx:" + EncodeMultibase(std::string(31, 'x'))).ok());
}

}  // namespace
}  // namespace microledger
