#include "common/ed25519.h"

#include <string>

#include "absl/strings/escaping.h"
#include "common/encoding.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

struct Rfc8032Vector {
  const char* secret_hex;
  const char* public_hex;
  const char* message_hex;
  const char* signature_hex;
};

// RFC 8032 §7.1, TEST 1-3.
const Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a3"
     "3bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15"
     "996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16"
     "f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

class Rfc8032Test : public testing::TestWithParam<Rfc8032Vector> {};

TEST_P(Rfc8032Test, SignsAndVerifies) {
  const Rfc8032Vector& v = GetParam();
  const std::string seed = absl::HexStringToBytes(v.secret_hex);
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(absl::BytesToHexString(key->public_key()), v.public_hex);
  const std::string message = absl::HexStringToBytes(v.message_hex);
  EXPECT_EQ(absl::BytesToHexString(key->Sign(message)), v.signature_hex);
  EXPECT_TRUE(VerifyEd25519(key->public_key(), message,
                            absl::HexStringToBytes(v.signature_hex)));
}

INSTANTIATE_TEST_SUITE_P(Vectors, Rfc8032Test, testing::ValuesIn(kVectors));

TEST(Ed25519Test, TamperedMessageOrSignatureFails) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  std::string signature = key->Sign("hello");
  EXPECT_TRUE(VerifyEd25519(key->public_key(), "hello", signature));
  EXPECT_FALSE(VerifyEd25519(key->public_key(), "hellO", signature));
  signature[10] ^= 1;
  EXPECT_FALSE(VerifyEd25519(key->public_key(), "hello", signature));
}

TEST(Ed25519Test, RejectsSmallOrderPublicKey) {
  // The identity point (small order): RFC 8032 alone would accept (R=identity, S=0).
  const std::string identity = absl::HexStringToBytes(
      "0100000000000000000000000000000000000000000000000000000000000000");
  const std::string signature = identity + std::string(32, '\0');
  EXPECT_FALSE(VerifyEd25519(identity, "anything", signature));
}

TEST(Ed25519Test, RejectsNonCanonicalS) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  std::string signature = key->Sign("m");
  // Add L to S: same value mod L but S >= L.
  const std::string l = absl::HexStringToBytes(
      "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  int carry = 0;
  for (int i = 0; i < 32; ++i) {
    int sum = static_cast<uint8_t>(signature[32 + i]) + static_cast<uint8_t>(l[i]) + carry;
    signature[32 + i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  EXPECT_FALSE(VerifyEd25519(key->public_key(), "m", signature));
}

TEST(Ed25519Test, TextVerification) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  const std::string signature = key->SignText("msg");
  EXPECT_TRUE(VerifyEd25519Text(key->public_key_text(), "msg", signature, "owner").ok());
  absl::Status bad = VerifyEd25519Text(key->public_key_text(), "other", signature, "owner");
  EXPECT_EQ(bad.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(VerifyEd25519Text("uAAA", "msg", signature, "owner").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEd25519Text(key->public_key_text(), "msg", "uAAA", "owner").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, SeedRoundTripsAndMoveKeepsKey) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  absl::StatusOr<SigningKey> again = SigningKey::FromSeed(key->seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key_text(), key->public_key_text());
  SigningKey moved = std::move(*again);
  EXPECT_TRUE(VerifyEd25519(moved.public_key(), "x", moved.Sign("x")));
  EXPECT_EQ(EncodePublicKeyText(moved.public_key()), moved.public_key_text());
}

TEST(Ed25519Test, FromSeedRejectsWrongSize) {
  const uint8_t short_seed[31] = {};
  EXPECT_FALSE(SigningKey::FromSeed(short_seed).ok());
}

}  // namespace
}  // namespace microledger
