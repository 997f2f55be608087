#include "common/cosignature.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kEmDashSpace = "\xE2\x80\x94 ";

// The example of C2SP tlog-cosignature: a checkpoint of the log
// "example.com/behind-the-sofa" and the cosignature line of the witness
// "witness.example.com/w1" on it (its public key is not published), and the
// message that line signs.
constexpr absl::string_view kC2spNoteText =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
constexpr absl::string_view kC2spCosignatureLine =
    "\xE2\x80\x94 witness.example.com/w1 "
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin"
    "1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
constexpr absl::string_view kC2spSignedMessage =
    "cosignature/v1\n"
    "time 1679315147\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

// Computed independently with Python (cryptography's Ed25519, hashlib,
// base64): the witness "witness.example/w1" with seed 32 x 0x02, its vkey and
// private key text, and its cosignature at 1679315147 of the checkpoint of
// checkpoint_test.cc's golden ledger (seed 32 x 0x01, size 42, root bytes
// 0..31).
constexpr absl::string_view kGoldenWitnessName = "witness.example/w1";
constexpr absl::string_view kGoldenVkey =
    "witness.example/w1+df1c0a35+BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU";
constexpr absl::string_view kGoldenPrivateKey =
    "PRIVATE+KEY+witness.example/w1+df1c0a35+"
    "BAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC\n";
constexpr absl::string_view kGoldenNoteText =
    "jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w\n"
    "42\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
constexpr absl::string_view kGoldenLedgerId =
    "jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w";
constexpr uint64_t kGoldenTimestamp = 1679315147;
constexpr absl::string_view kGoldenCosignatureLine =
    "\xE2\x80\x94 witness.example/w1 "
    "3xwKNQAAAABkGFDL7qmCa6TmVRGs3wtSRzjnH5LDpqH1jBattdINEfL2lgXMFoClLttZb0Rc"
    "gByb9MWLyaerjZBCw++5HM4i0DpACw==\n";

SigningKey KeyFromFill(uint8_t fill) {
  std::array<uint8_t, kEd25519SeedSize> seed;
  seed.fill(fill);
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(seed);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

WitnessSigner SignerFromFill(uint8_t fill, absl::string_view name) {
  absl::StatusOr<WitnessSigner> signer =
      WitnessSigner::Create(name, KeyFromFill(fill));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

std::string Cosign(const WitnessSigner& signer, absl::string_view note_text,
                   uint64_t timestamp) {
  absl::StatusOr<std::string> line = signer.Cosign(note_text, timestamp);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? *line : std::string();
}

// A line of `name` carrying `payload` as it is.
std::string LineWithPayload(absl::string_view name, absl::string_view payload) {
  return absl::StrCat(kEmDashSpace, name, " ", EncodeBase64Std(payload), "\n");
}

// The payload of a line made by Cosign.
std::string PayloadOf(absl::string_view line) {
  line.remove_suffix(1);
  absl::StatusOr<NoteSignatureLine> parsed = ParseNoteSignatureLine(line);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? parsed->payload : std::string();
}

TEST(CosignatureKnownAnswerTest, C2spExampleLineParses) {
  absl::StatusOr<NoteSignatureLine> line =
      ParseNoteSignatureLine(kC2spCosignatureLine);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->key_name, "witness.example.com/w1");
  absl::StatusOr<Cosignature> cosignature = ParseCosignature(*line);
  ASSERT_TRUE(cosignature.ok()) << cosignature.status();
  EXPECT_EQ(absl::BytesToHexString(cosignature->key_id), "8d66cf3f");
  EXPECT_EQ(cosignature->timestamp, 1679315147u);
  EXPECT_EQ(cosignature->signature.size(), kEd25519SignatureSize);
}

TEST(CosignatureKnownAnswerTest, C2spExampleSignedMessage) {
  EXPECT_EQ(CosignatureMessage(kC2spNoteText, 1679315147), kC2spSignedMessage);
}

TEST(CosignatureKnownAnswerTest, MatchesIndependentImplementation) {
  const WitnessSigner signer = SignerFromFill(0x02, kGoldenWitnessName);
  EXPECT_EQ(FormatWitnessVkey(signer.key()), kGoldenVkey);
  EXPECT_EQ(FormatWitnessPrivateKey(signer), kGoldenPrivateKey);
  EXPECT_EQ(Cosign(signer, kGoldenNoteText, kGoldenTimestamp),
            kGoldenCosignatureLine);

  absl::StatusOr<WitnessKey> parsed = ParseWitnessVkey(kGoldenVkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<uint64_t> timestamp =
      VerifyCosignatureLine(kGoldenCosignatureLine, kGoldenNoteText, *parsed);
  ASSERT_TRUE(timestamp.ok()) << timestamp.status();
  EXPECT_EQ(*timestamp, kGoldenTimestamp);
}

TEST(WitnessKeyTest, KeyIdIsFirstFourBytesOfTypedHash) {
  const std::string key(32, '\x07');
  EXPECT_EQ(WitnessKeyId("w", key),
            Sha256(absl::StrCat("w\n\x04", key)).substr(0, 4));
  EXPECT_NE(WitnessKeyId("w", key), WitnessKeyId("v", key));
}

TEST(WitnessKeyTest, WitnessKeyNames) {
  EXPECT_TRUE(IsWitnessKeyName("witness.example/w1"));
  EXPECT_TRUE(IsWitnessKeyName("jlinx"));
  EXPECT_TRUE(IsWitnessKeyName("t\xC3\xA9moin"));
  EXPECT_FALSE(IsWitnessKeyName(""));
  EXPECT_FALSE(IsWitnessKeyName("jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w"));
  EXPECT_FALSE(IsWitnessKeyName("jlinx:"));
  EXPECT_FALSE(IsWitnessKeyName("a+b"));
  EXPECT_FALSE(IsWitnessKeyName("a b"));
  EXPECT_FALSE(IsWitnessKeyName("a\tb"));
  EXPECT_FALSE(IsWitnessKeyName(absl::string_view("a\0b", 3)));
  EXPECT_FALSE(IsWitnessKeyName("a\x01" "b"));
  EXPECT_FALSE(IsWitnessKeyName("a\xC2\xA0" "b"));      // U+00A0
  EXPECT_FALSE(IsWitnessKeyName("a\xE3\x80\x80" "b"));  // U+3000
  EXPECT_FALSE(IsWitnessKeyName("a\xFF" "b"));          // Not UTF-8.
}

TEST(WitnessKeyTest, MakeRejectsBadNameAndKeyLength) {
  EXPECT_FALSE(MakeWitnessKey("jlinx:x", std::string(32, '\x01')).ok());
  EXPECT_FALSE(MakeWitnessKey("w", std::string(31, '\x01')).ok());
  EXPECT_FALSE(MakeWitnessKey("w", std::string(33, '\x01')).ok());
  EXPECT_TRUE(MakeWitnessKey("w", std::string(32, '\x01')).ok());
}

TEST(WitnessKeyTest, VkeyRoundTrips) {
  const WitnessSigner signer = SignerFromFill(0x05, "w.example/round");
  const std::string vkey = FormatWitnessVkey(signer.key());
  absl::StatusOr<WitnessKey> parsed = ParseWitnessVkey(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->name, "w.example/round");
  EXPECT_EQ(parsed->public_key, signer.key().public_key);
  EXPECT_EQ(parsed->key_id, signer.key().key_id);
}

void ExpectVkeyRejected(absl::string_view vkey, absl::string_view why) {
  absl::StatusOr<WitnessKey> parsed = ParseWitnessVkey(vkey);
  ASSERT_FALSE(parsed.ok()) << "accepted " << vkey;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr(why)) << vkey;
}

TEST(WitnessKeyTest, VkeyRejections) {
  const std::string key_base64 = "BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU";
  ExpectVkeyRejected("witness.example/w1+df1c0a35", "is not <name>");
  ExpectVkeyRejected("witness.example/w1", "is not <name>");
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+DF1C0A35+", key_base64),
                     "lowercase hex");
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+df1c0a3+", key_base64),
                     "lowercase hex");
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+df1c0a350+", key_base64),
                     "lowercase hex");
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+df1c0a36+", key_base64),
                     "does not match");
  // Another name with the same key: its key id differs.
  ExpectVkeyRejected(absl::StrCat("witness.example/w2+df1c0a35+", key_base64),
                     "does not match");
  ExpectVkeyRejected(absl::StrCat("+df1c0a35+", key_base64), "witness key name");
  ExpectVkeyRejected(absl::StrCat("jlinx:u+df1c0a35+", key_base64),
                     "witness key name");
  ExpectVkeyRejected(absl::StrCat("wit ness+df1c0a35+", key_base64),
                     "witness key name");
  // A signed-note Ed25519 key (type 0x01), not a cosignature key.
  ExpectVkeyRejected(
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
      "0x04 and 32 bytes");
  // One byte short, one byte long.
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+df1c0a35+",
                                  EncodeBase64Std(absl::StrCat(
                                      "\x04", std::string(31, '\x01')))),
                     "0x04 and 32 bytes");
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+df1c0a35+",
                                  EncodeBase64Std(absl::StrCat(
                                      "\x04", std::string(33, '\x01')))),
                     "0x04 and 32 bytes");
  // Not canonical standard base64: padding where none belongs, a character
  // short, another alphabet, a trailing "+".
  ExpectVkeyRejected("witness.example/w1+df1c0a35+"
                     "BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU=",
                     "canonical standard base64");
  ExpectVkeyRejected("witness.example/w1+df1c0a35+"
                     "BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybO",
                     "canonical standard base64");
  ExpectVkeyRejected("witness.example/w1+df1c0a35+"
                     "BIE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPyb_U",
                     "canonical standard base64");
  ExpectVkeyRejected(absl::StrCat("witness.example/w1+df1c0a35+", key_base64,
                                  "+"),
                     "canonical standard base64");
}

TEST(WitnessPrivateKeyTest, RoundTripsAndSignsTheSame) {
  absl::StatusOr<WitnessSigner> parsed =
      ParseWitnessPrivateKey(kGoldenPrivateKey);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(FormatWitnessVkey(parsed->key()), kGoldenVkey);
  EXPECT_EQ(Cosign(*parsed, kGoldenNoteText, kGoldenTimestamp),
            kGoldenCosignatureLine);
  absl::string_view without_newline = kGoldenPrivateKey;
  without_newline.remove_suffix(1);
  EXPECT_TRUE(ParseWitnessPrivateKey(without_newline).ok());
}

TEST(WitnessPrivateKeyTest, Rejections) {
  const std::string seed_base64 =
      "BAICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC";
  const std::vector<std::string> rejected = {
      "",
      "PRIVATE+KEY+witness.example/w1+df1c0a35",
      absl::StrCat("private+key+witness.example/w1+df1c0a35+", seed_base64),
      absl::StrCat("PRIVATE+KEY+witness.example/w1+df1c0a36+", seed_base64),
      absl::StrCat("PRIVATE+KEY+witness.example/w2+df1c0a35+", seed_base64),
      absl::StrCat("PRIVATE+KEY+jlinx:w+df1c0a35+", seed_base64),
      absl::StrCat("PRIVATE+KEY+witness.example/w1+df1c0a35+", seed_base64,
                   "\n\n"),
      absl::StrCat("PRIVATE+KEY+witness.example/w1+df1c0a35+", seed_base64,
                   "\r\n"),
      // Type 0x01 (a signed-note signer key), and a short seed.
      absl::StrCat("PRIVATE+KEY+witness.example/w1+df1c0a35+",
                   EncodeBase64Std(absl::StrCat("\x01", std::string(32, '\x02')))),
      absl::StrCat("PRIVATE+KEY+witness.example/w1+df1c0a35+",
                   EncodeBase64Std(absl::StrCat("\x04", std::string(31, '\x02')))),
  };
  for (const std::string& text : rejected) {
    absl::StatusOr<WitnessSigner> parsed = ParseWitnessPrivateKey(text);
    ASSERT_FALSE(parsed.ok()) << "accepted " << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()),
                ::testing::Not(HasSubstr(seed_base64)));
  }
}

TEST(CosignTest, LineIsNameAndKeyIdTimestampSignature) {
  const WitnessSigner signer = SignerFromFill(0x03, "w.example/a");
  const std::string line = Cosign(signer, kGoldenNoteText, 1);
  ASSERT_EQ(line.substr(0, kEmDashSpace.size() + 12),
            absl::StrCat(kEmDashSpace, "w.example/a "));
  ASSERT_EQ(line.back(), '\n');
  const std::string payload = PayloadOf(line);
  ASSERT_EQ(payload.size(), 4u + 8u + 64u);
  EXPECT_EQ(payload.substr(0, 4), signer.key().key_id);
  EXPECT_EQ(payload.substr(4, 8), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_TRUE(VerifyEd25519(signer.key().public_key,
                            absl::StrCat("cosignature/v1\ntime 1\n",
                                         kGoldenNoteText),
                            payload.substr(12)));
}

TEST(CosignTest, TimestampRange) {
  const WitnessSigner signer = SignerFromFill(0x03, "w.example/a");
  EXPECT_FALSE(signer.Cosign(kGoldenNoteText, 0).ok());
  EXPECT_FALSE(signer.Cosign(kGoldenNoteText, kMaxCosignatureTimestamp + 1).ok());
  absl::StatusOr<std::string> latest =
      signer.Cosign(kGoldenNoteText, kMaxCosignatureTimestamp);
  ASSERT_TRUE(latest.ok()) << latest.status();
  absl::StatusOr<uint64_t> timestamp =
      VerifyCosignatureLine(*latest, kGoldenNoteText, signer.key());
  ASSERT_TRUE(timestamp.ok()) << timestamp.status();
  EXPECT_EQ(*timestamp, kMaxCosignatureTimestamp);
}

TEST(CosignTest, MessageHasNoLeadingZeros) {
  EXPECT_EQ(CosignatureMessage("o\n1\nr\n", 1),
            "cosignature/v1\ntime 1\no\n1\nr\n");
  EXPECT_EQ(CosignatureMessage("o\n1\nr\n", 10),
            "cosignature/v1\ntime 10\no\n1\nr\n");
}

class VerifyCosignatureTest : public testing::Test {
 protected:
  VerifyCosignatureTest() : signer_(SignerFromFill(0x02, kGoldenWitnessName)) {}

  void ExpectLineRejected(absl::string_view line, absl::string_view why) {
    absl::StatusOr<uint64_t> timestamp =
        VerifyCosignatureLine(line, kGoldenNoteText, signer_.key());
    ASSERT_FALSE(timestamp.ok()) << "accepted " << line;
    EXPECT_EQ(timestamp.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(timestamp.status().message(), HasSubstr(why));
  }

  // A payload by the witness: its key id, `timestamp`, and its signature of
  // the message at `signed_timestamp`.
  std::string Payload(uint64_t timestamp, uint64_t signed_timestamp) {
    std::string payload = signer_.key().key_id;
    for (int shift = 56; shift >= 0; shift -= 8) {
      payload.push_back(static_cast<char>((timestamp >> shift) & 0xff));
    }
    payload += signer_.signing_key().Sign(
        CosignatureMessage(kGoldenNoteText, signed_timestamp));
    return payload;
  }

  const WitnessSigner signer_;
};

TEST_F(VerifyCosignatureTest, RejectsOtherNote) {
  ExpectLineRejected(
      Cosign(signer_, "jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w\n43\n"
                      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
             kGoldenTimestamp),
      "does not verify");
}

TEST_F(VerifyCosignatureTest, RejectsChangedTimestamp) {
  ExpectLineRejected(
      LineWithPayload(kGoldenWitnessName,
                      Payload(kGoldenTimestamp + 1, kGoldenTimestamp)),
      "does not verify");
}

TEST_F(VerifyCosignatureTest, RejectsTimestampAbove2To63Minus1) {
  const uint64_t too_late = kMaxCosignatureTimestamp + 1;
  ExpectLineRejected(
      LineWithPayload(kGoldenWitnessName, Payload(too_late, too_late)),
      "above 2^63-1");
}

TEST_F(VerifyCosignatureTest, RejectsWrongPayloadLengths) {
  const std::string payload = Payload(kGoldenTimestamp, kGoldenTimestamp);
  ExpectLineRejected(LineWithPayload(kGoldenWitnessName, payload.substr(0, 75)),
                     "4 + 8 + 64 bytes");
  ExpectLineRejected(
      LineWithPayload(kGoldenWitnessName, absl::StrCat(payload, "x")),
      "4 + 8 + 64 bytes");
  ExpectLineRejected(
      LineWithPayload(kGoldenWitnessName, payload.substr(0, 4 + 64)),
      "4 + 8 + 64 bytes");
}

TEST_F(VerifyCosignatureTest, RejectsOtherWitnessNameOrKeyId) {
  ExpectLineRejected(
      LineWithPayload("witness.example/w2",
                      Payload(kGoldenTimestamp, kGoldenTimestamp)),
      "not by this witness");
  std::string payload = Payload(kGoldenTimestamp, kGoldenTimestamp);
  payload[0] = static_cast<char>(payload[0] ^ 1);
  ExpectLineRejected(LineWithPayload(kGoldenWitnessName, payload),
                     "not by this witness");
}

TEST_F(VerifyCosignatureTest, RejectsMalformedLineText) {
  std::string line(kGoldenCosignatureLine);
  ExpectLineRejected(line.substr(0, line.size() - 1), "newline");
  ExpectLineRejected(absl::StrCat(line, line), "more than one line");
  ExpectLineRejected(line.substr(kEmDashSpace.size()), "em dash");
  std::string bad_base64 = line;
  bad_base64[bad_base64.size() - 2] = 'x';  // Replaces the padding.
  ExpectLineRejected(bad_base64, "canonical standard base64");
}

// Cosignature lines appended to the golden ledger's checkpoint.
class WitnessPolicyTest : public testing::Test {
 protected:
  WitnessPolicyTest()
      : ledger_key_(KeyFromFill(0x01)),
        alice_(SignerFromFill(0x0a, "alice.example/w")),
        bob_(SignerFromFill(0x0b, "bob.example/w")),
        carol_(SignerFromFill(0x0c, "carol.example/w")),
        stranger_(SignerFromFill(0x0d, "stranger.example/w")) {
    Checkpoint checkpoint;
    checkpoint.origin = std::string(kGoldenLedgerId);
    checkpoint.tree_size = 42;
    for (size_t i = 0; i < checkpoint.root_hash.size(); ++i) {
      checkpoint.root_hash[i] = static_cast<uint8_t>(i);
    }
    signed_note_ = SignCheckpoint(checkpoint, ledger_key_);
  }

  WitnessPolicy Policy(size_t quorum,
                       std::optional<absl::Duration> max_age = std::nullopt) {
    absl::StatusOr<WitnessPolicy> policy = WitnessPolicy::Create(
        {alice_.key(), bob_.key(), carol_.key()}, quorum, max_age,
        absl::Minutes(5));
    EXPECT_TRUE(policy.ok()) << policy.status();
    return *std::move(policy);
  }

  // The checkpoint with `lines` appended, verified by the ledger key.
  VerifiedCheckpointNote Note(const std::vector<std::string>& lines) {
    std::string note = signed_note_;
    for (const std::string& line : lines) note += line;
    absl::StatusOr<VerifiedCheckpointNote> verified =
        VerifyCheckpointNote(note, kGoldenLedgerId);
    EXPECT_TRUE(verified.ok()) << verified.status();
    return *std::move(verified);
  }

  std::string Line(const WitnessSigner& signer, absl::Time at) {
    return Cosign(signer, kGoldenNoteText,
                  static_cast<uint64_t>(absl::ToUnixSeconds(at)));
  }

  const absl::Time now_ = absl::FromUnixSeconds(1700000000);
  const SigningKey ledger_key_;
  const WitnessSigner alice_;
  const WitnessSigner bob_;
  const WitnessSigner carol_;
  const WitnessSigner stranger_;
  std::string signed_note_;
};

TEST_F(WitnessPolicyTest, CreateRejectsBadPolicies) {
  const absl::Duration skew = absl::Minutes(5);
  EXPECT_FALSE(WitnessPolicy::Create({}, 1, std::nullopt, skew).ok());
  EXPECT_FALSE(
      WitnessPolicy::Create({alice_.key(), bob_.key()}, 0, std::nullopt, skew)
          .ok());
  EXPECT_FALSE(
      WitnessPolicy::Create({alice_.key(), bob_.key()}, 3, std::nullopt, skew)
          .ok());
  EXPECT_FALSE(
      WitnessPolicy::Create({alice_.key(), alice_.key()}, 1, std::nullopt, skew)
          .ok());
  WitnessKey renamed = alice_.key();
  renamed.name = "alias.example/w";
  renamed.key_id = WitnessKeyId(renamed.name, renamed.public_key);
  EXPECT_FALSE(
      WitnessPolicy::Create({alice_.key(), renamed}, 1, std::nullopt, skew).ok());
  absl::StatusOr<WitnessKey> same_name_other_key =
      MakeWitnessKey(alice_.key().name, bob_.key().public_key);
  ASSERT_TRUE(same_name_other_key.ok());
  EXPECT_FALSE(WitnessPolicy::Create({alice_.key(), *same_name_other_key}, 1,
                                     std::nullopt, skew)
                   .ok());
  EXPECT_FALSE(WitnessPolicy::Create({alice_.key()}, 1, absl::Seconds(-1), skew)
                   .ok());
  EXPECT_FALSE(
      WitnessPolicy::Create({alice_.key()}, 1, std::nullopt, absl::Seconds(-1))
          .ok());
  EXPECT_TRUE(
      WitnessPolicy::Create({alice_.key(), bob_.key()}, 2, absl::Hours(1), skew)
          .ok());
}

TEST_F(WitnessPolicyTest, QuorumMetAndNotMet) {
  const VerifiedCheckpointNote note =
      Note({Line(alice_, now_), Line(bob_, now_ - absl::Hours(1))});
  absl::StatusOr<WitnessCount> count = Policy(2).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 2u);
  EXPECT_TRUE(count->witnessed());

  count = Policy(3).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 2u);
  EXPECT_FALSE(count->witnessed());
  EXPECT_EQ(count->Describe(), "witnessed by 2 of 3 required witnesses");
}

TEST_F(WitnessPolicyTest, NoCosignaturesIsNotWitnessed) {
  absl::StatusOr<WitnessCount> count = Policy(1).Count(Note({}), now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 0u);
  EXPECT_FALSE(count->witnessed());
}

TEST_F(WitnessPolicyTest, AWitnessCountsOnceHoweverManyLines) {
  const VerifiedCheckpointNote note =
      Note({Line(alice_, now_), Line(alice_, now_ - absl::Seconds(1)),
            Line(alice_, now_ - absl::Seconds(2))});
  absl::StatusOr<WitnessCount> count = Policy(2).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 1u);
  EXPECT_FALSE(count->witnessed());
}

TEST_F(WitnessPolicyTest, UnknownWitnessesAreIgnored) {
  // A stranger's line, a line under a trusted name with another key (so
  // another key id), and a line of a foreign signature type.
  absl::StatusOr<WitnessSigner> impostor =
      WitnessSigner::Create(alice_.key().name, KeyFromFill(0x0e));
  ASSERT_TRUE(impostor.ok());
  const VerifiedCheckpointNote note =
      Note({Line(stranger_, now_), Line(*impostor, now_),
            LineWithPayload("other.example/log", std::string(40, '\x01')),
            Line(bob_, now_)});
  absl::StatusOr<WitnessCount> count = Policy(1).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 1u);
  EXPECT_TRUE(count->witnessed());
}

TEST_F(WitnessPolicyTest, FailingTrustedLineRejectsTheNote) {
  // A valid line of alice and one of bob on another note text: bob's fails.
  const std::string other_text =
      "jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w\n41\n"
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
  const VerifiedCheckpointNote note = Note(
      {Line(alice_, now_),
       Cosign(bob_, other_text, static_cast<uint64_t>(absl::ToUnixSeconds(now_)))});
  absl::StatusOr<WitnessCount> count = Policy(1).Count(note, now_);
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(count.status().message(),
              HasSubstr("checkpoint: witness bob.example/w: cosignature does "
                        "not verify"));
}

TEST_F(WitnessPolicyTest, TrustedLineOfWrongLengthRejectsTheNote) {
  const std::string short_payload =
      absl::StrCat(carol_.key().key_id, std::string(8 + 63, '\x01'));
  const VerifiedCheckpointNote note =
      Note({Line(alice_, now_), LineWithPayload(carol_.key().name, short_payload)});
  absl::StatusOr<WitnessCount> count = Policy(1).Count(note, now_);
  ASSERT_FALSE(count.ok());
  EXPECT_THAT(count.status().message(), HasSubstr("witness carol.example/w"));
}

TEST_F(WitnessPolicyTest, TooNewAndTooOldDoNotCount) {
  const VerifiedCheckpointNote note = Note({
      Line(alice_, now_ + absl::Minutes(6)),   // Beyond the 5-minute skew.
      Line(bob_, now_ - absl::Hours(25)),      // Older than the 24 h max age.
      Line(carol_, now_ + absl::Minutes(4)),   // Within the skew: counts.
  });
  absl::StatusOr<WitnessCount> count =
      Policy(2, absl::Hours(24)).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 1u);
  EXPECT_EQ(count->too_new, 1u);
  EXPECT_EQ(count->too_old, 1u);
  EXPECT_FALSE(count->witnessed());
  EXPECT_EQ(count->Describe(),
            "witnessed by 1 of 2 required witnesses; 1 cosignature too far in "
            "the future; 1 cosignature too old");

  // Without a maximum age, bob's old line counts.
  count = Policy(2).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 2u);
  EXPECT_TRUE(count->witnessed());
}

TEST_F(WitnessPolicyTest, OneValidLineOfAWitnessOutweighsItsTooOldOne) {
  const VerifiedCheckpointNote note = Note(
      {Line(alice_, now_ - absl::Hours(48)), Line(alice_, now_ - absl::Hours(1))});
  absl::StatusOr<WitnessCount> count =
      Policy(1, absl::Hours(24)).Count(note, now_);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->counted, 1u);
  EXPECT_EQ(count->too_old, 0u);
}

}  // namespace
}  // namespace microledger
