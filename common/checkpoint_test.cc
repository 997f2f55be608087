#include "common/checkpoint.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

// The ledger id of the key with seed 32 x 0x01, and the signed note of
// SampleCheckpoint() by that key, both computed independently with Python
// (cryptography's Ed25519, hashlib, base64).
constexpr absl::string_view kGoldenLedgerId =
    "jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w";
constexpr absl::string_view kGoldenSignedNote =
    "jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w\n"
    "42\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    "\n"
    "\xE2\x80\x94 jlinx:uiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w "
    "yIdACWWntYc22W1IfR5DmVmtTZWVnFQWv1fMqjMaRxD2KIaFPLUKcTgle68xEzb4AJ36oTFt"
    "dEiFDHmbCMsyn+0AVQo=\n";
// Base64 of bytes 0..31, the root hash of SampleCheckpoint().
constexpr absl::string_view kSampleRootBase64 =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

SigningKey KeyFromFill(uint8_t fill) {
  std::array<uint8_t, kEd25519SeedSize> seed;
  seed.fill(fill);
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(seed);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string LedgerIdOf(const SigningKey& key) {
  return LedgerIdFromPublicKeyText(key.public_key_text());
}

Checkpoint SampleCheckpoint(absl::string_view ledger_id) {
  Checkpoint checkpoint;
  checkpoint.origin = std::string(ledger_id);
  checkpoint.tree_size = 42;
  for (size_t i = 0; i < checkpoint.root_hash.size(); ++i) {
    checkpoint.root_hash[i] = static_cast<uint8_t>(i);
  }
  return checkpoint;
}

// A signature line by `key` under `name` over `note_text`, built by hand.
std::string SignatureLine(absl::string_view note_text, const SigningKey& key,
                          absl::string_view name) {
  const std::string payload = absl::StrCat(
      SignedNoteKeyHash(name, key.public_key()), key.Sign(note_text));
  return absl::StrCat("\xE2\x80\x94 ", name, " ", EncodeBase64Std(payload),
                      "\n");
}

// `note_text` signed by `key` as the ledger `name`, whatever the text says,
// so that a rejection is due to the text and not to the signature.
std::string SignText(absl::string_view note_text, const SigningKey& key,
                     absl::string_view name) {
  return absl::StrCat(note_text, "\n", SignatureLine(note_text, key, name));
}

class CheckpointTest : public testing::Test {
 protected:
  CheckpointTest()
      : key_(KeyFromFill(0x01)),
        ledger_id_(LedgerIdOf(key_)),
        checkpoint_(SampleCheckpoint(ledger_id_)),
        signed_note_(SignCheckpoint(checkpoint_, key_)) {}

  // Signs the sample note text with line `index` (0 origin, 1 size, 2 root)
  // replaced by `replacement`.
  std::string SignWithLine(size_t index, absl::string_view replacement) {
    std::vector<std::string> lines =
        absl::StrSplit(CheckpointNoteText(checkpoint_), '\n');
    lines[index] = std::string(replacement);
    lines.pop_back();  // The empty piece after the last "\n".
    return SignText(absl::StrCat(absl::StrJoin(lines, "\n"), "\n"), key_,
                    ledger_id_);
  }

  void ExpectRejected(absl::string_view signed_note,
                      absl::string_view message) {
    absl::StatusOr<Checkpoint> verified =
        VerifyCheckpoint(signed_note, ledger_id_);
    ASSERT_FALSE(verified.ok()) << "accepted:\n" << signed_note;
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(verified.status().message(), HasSubstr(message));
  }

  void ExpectAccepted(absl::string_view signed_note) {
    absl::StatusOr<Checkpoint> verified =
        VerifyCheckpoint(signed_note, ledger_id_);
    ASSERT_TRUE(verified.ok()) << verified.status() << "\n" << signed_note;
    EXPECT_EQ(verified->tree_size, checkpoint_.tree_size);
    EXPECT_EQ(verified->root_hash, checkpoint_.root_hash);
  }

  const SigningKey key_;
  const std::string ledger_id_;
  const Checkpoint checkpoint_;
  const std::string signed_note_;
};

TEST_F(CheckpointTest, SignThenVerifyRoundTrips) {
  absl::StatusOr<Checkpoint> verified =
      VerifyCheckpoint(signed_note_, ledger_id_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->origin, checkpoint_.origin);
  EXPECT_EQ(verified->tree_size, checkpoint_.tree_size);
  EXPECT_EQ(verified->root_hash, checkpoint_.root_hash);
}

TEST_F(CheckpointTest, RoundTripsWithGeneratedKey) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status();
  Checkpoint checkpoint = SampleCheckpoint(LedgerIdOf(*key));
  checkpoint.tree_size = 1;
  checkpoint.root_hash.fill(0xff);
  absl::StatusOr<Checkpoint> verified =
      VerifyCheckpoint(SignCheckpoint(checkpoint, *key), LedgerIdOf(*key));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tree_size, 1u);
  EXPECT_EQ(verified->root_hash, checkpoint.root_hash);
}

TEST_F(CheckpointTest, SignedNoteMatchesIndependentImplementation) {
  EXPECT_EQ(ledger_id_, kGoldenLedgerId);
  EXPECT_EQ(signed_note_, kGoldenSignedNote);
}

TEST_F(CheckpointTest, NoteTextIsOriginSizeAndRootLines) {
  EXPECT_EQ(CheckpointNoteText(checkpoint_),
            absl::StrCat(ledger_id_, "\n42\n", kSampleRootBase64, "\n"));
}

TEST_F(CheckpointTest, SignatureLineIsEmDashNameAndKeyHashWithSignature) {
  const std::string note_text = CheckpointNoteText(checkpoint_);
  ASSERT_EQ(signed_note_.substr(0, note_text.size() + 1),
            absl::StrCat(note_text, "\n"));
  absl::string_view line = signed_note_;
  line.remove_prefix(note_text.size() + 1);
  const std::string prefix = absl::StrCat("\xE2\x80\x94 ", ledger_id_, " ");
  ASSERT_EQ(line.substr(0, prefix.size()), prefix);
  ASSERT_EQ(line.back(), '\n');
  line.remove_prefix(prefix.size());
  line.remove_suffix(1);

  absl::StatusOr<std::string> payload = DecodeBase64Std(line);
  ASSERT_TRUE(payload.ok()) << payload.status();
  ASSERT_EQ(payload->size(), 4u + 64u);
  const std::string key_hash =
      Sha256(absl::StrCat(ledger_id_, "\n", "\x01", key_.public_key()))
          .substr(0, 4);
  EXPECT_EQ(payload->substr(0, 4), key_hash);
  EXPECT_TRUE(VerifyEd25519(key_.public_key(), note_text, payload->substr(4)));
}

TEST(SignedNoteKeyHashTest, MatchesKnownAnswers) {
  // hashlib.sha256(b"example.com/log\n\x01" + bytes([2] * 32)).digest()[:4]
  EXPECT_EQ(absl::BytesToHexString(SignedNoteKeyHash(
                "example.com/log", std::string(32, '\x02'))),
            "cc1c72b1");
  const SigningKey key = KeyFromFill(0x01);
  EXPECT_EQ(absl::BytesToHexString(key.public_key()),
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  EXPECT_EQ(absl::BytesToHexString(
                SignedNoteKeyHash(kGoldenLedgerId, key.public_key())),
            "c8874009");
}

TEST_F(CheckpointTest, AcceptsTreeSizeZero) {
  absl::StatusOr<Checkpoint> verified =
      VerifyCheckpoint(SignWithLine(1, "0"), ledger_id_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tree_size, 0u);
}

TEST_F(CheckpointTest, AcceptsLargestTreeSize) {
  absl::StatusOr<Checkpoint> verified =
      VerifyCheckpoint(SignWithLine(1, "18446744073709551615"), ledger_id_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tree_size, UINT64_MAX);
}

TEST_F(CheckpointTest, RejectsWrongOrigin) {
  const std::string other_id = LedgerIdOf(KeyFromFill(0x02));
  ExpectRejected(SignWithLine(0, other_id), "origin is not the ledger id");
}

TEST_F(CheckpointTest, RejectsCheckpointOfAnotherLedger) {
  const SigningKey other = KeyFromFill(0x02);
  ExpectRejected(SignCheckpoint(SampleCheckpoint(LedgerIdOf(other)), other),
                 "origin is not the ledger id");
}

TEST_F(CheckpointTest, RejectsInvalidLedgerId) {
  absl::StatusOr<Checkpoint> verified =
      VerifyCheckpoint(signed_note_, "jlinx:uAAAA");
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(verified.status().message(), HasSubstr("ledger id"));
}

TEST_F(CheckpointTest, RejectsTreeSizeWithLeadingZeros) {
  ExpectRejected(SignWithLine(1, "042"), "tree size has leading zeros");
  ExpectRejected(SignWithLine(1, "00"), "tree size has leading zeros");
}

TEST_F(CheckpointTest, RejectsNonNumericTreeSize) {
  ExpectRejected(SignWithLine(1, "4x2"), "tree size is not a decimal number");
  ExpectRejected(SignWithLine(1, "+42"), "tree size is not a decimal number");
  ExpectRejected(SignWithLine(1, "-1"), "tree size is not a decimal number");
  ExpectRejected(SignWithLine(1, " 42"), "tree size is not a decimal number");
  ExpectRejected(SignWithLine(1, "0x2a"), "tree size is not a decimal number");
}

TEST_F(CheckpointTest, RejectsEmptyTreeSize) {
  ExpectRejected(SignWithLine(1, ""), "note text is not the three lines");
}

TEST_F(CheckpointTest, RejectsTreeSizeOverflow) {
  ExpectRejected(SignWithLine(1, "18446744073709551616"),
                 "tree size does not fit in 64 bits");
  ExpectRejected(SignWithLine(1, "100000000000000000000"),
                 "tree size does not fit in 64 bits");
}

TEST_F(CheckpointTest, RejectsRootOfWrongLength) {
  ExpectRejected(SignWithLine(2, EncodeBase64Std(std::string(31, '\0'))),
                 "root hash is 31 bytes, not 32");
  ExpectRejected(SignWithLine(2, EncodeBase64Std(std::string(33, '\0'))),
                 "root hash is 33 bytes, not 32");
}

TEST_F(CheckpointTest, RejectsNonCanonicalRootBase64) {
  // Same bytes as kSampleRootBase64 but non-zero unused trailing bits.
  ExpectRejected(
      SignWithLine(2, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9="),
      "root hash is not canonical standard base64");
}

TEST_F(CheckpointTest, RejectsRootWithoutPadding) {
  ExpectRejected(
      SignWithLine(2, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
      "root hash is not canonical standard base64");
}

TEST_F(CheckpointTest, RejectsRootInBase64Url) {
  std::string root(32, '\xfb');
  ExpectRejected(SignWithLine(2, EncodeBase64Url(root)),
                 "root hash is not canonical standard base64");
}

TEST_F(CheckpointTest, RejectsExtensionLine) {
  const std::string text =
      absl::StrCat(CheckpointNoteText(checkpoint_), "extension\n");
  ExpectRejected(SignText(text, key_, ledger_id_), "extension lines");
}

TEST_F(CheckpointTest, RejectsMissingBlankLine) {
  const std::string text = CheckpointNoteText(checkpoint_);
  ExpectRejected(absl::StrCat(text, SignatureLine(text, key_, ledger_id_)),
                 "no blank line between note text and signatures");
}

TEST_F(CheckpointTest, RejectsNoteWithoutSignatureLines) {
  ExpectRejected(absl::StrCat(CheckpointNoteText(checkpoint_), "\n"),
                 "no signature lines");
}

TEST_F(CheckpointTest, RejectsNoteWithoutLedgerKeyLine) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const SigningKey witness = KeyFromFill(0x03);
  ExpectRejected(SignText(text, witness, "witness.example/w1"),
                 "no signature by the ledger key");
}

TEST_F(CheckpointTest, RejectsBadSignature) {
  const std::string text = CheckpointNoteText(checkpoint_);
  std::string payload = absl::StrCat(
      SignedNoteKeyHash(ledger_id_, key_.public_key()), key_.Sign(text));
  payload[10] ^= 0x01;
  ExpectRejected(absl::StrCat(text, "\n\xE2\x80\x94 ", ledger_id_, " ",
                              EncodeBase64Std(payload), "\n"),
                 "ledger key signature does not verify");
}

TEST_F(CheckpointTest, RejectsLedgerKeyLineOfWrongLength) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const std::string payload =
      absl::StrCat(SignedNoteKeyHash(ledger_id_, key_.public_key()),
                   key_.Sign(text).substr(0, 63));
  ExpectRejected(absl::StrCat(text, "\n\xE2\x80\x94 ", ledger_id_, " ",
                              EncodeBase64Std(payload), "\n"),
                 "ledger key signature is not 4 + 64 bytes");
}

TEST_F(CheckpointTest, RejectsTamperedTreeSize) {
  std::string tampered = signed_note_;
  const size_t size_line = ledger_id_.size() + 1;
  ASSERT_EQ(tampered.substr(size_line, 3), "42\n");
  tampered[size_line + 1] = '3';
  ExpectRejected(tampered, "ledger key signature does not verify");
}

TEST_F(CheckpointTest, RejectsTamperedRootHash) {
  std::string tampered = signed_note_;
  const size_t root_line = ledger_id_.size() + 1 + 3;
  ASSERT_EQ(tampered.substr(root_line, 4), "AAEC");
  tampered[root_line + 1] = 'B';
  ExpectRejected(tampered, "ledger key signature does not verify");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithoutEmDash) {
  const std::string witness_line = "-- witness.example/w1 AAAAAAAAAAAA\n";
  ExpectRejected(absl::StrCat(signed_note_, witness_line),
                 "malformed signature line 2: does not start with an em dash");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithoutSpaceAfterEmDash) {
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94witness AAAAAAAAAAAA\n"),
      "malformed signature line 2: does not start with an em dash");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithoutSignature) {
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 witness\n"),
                 "malformed signature line 2: no space");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithEmptyKeyName) {
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94  AAAAAAAAAAAA\n"),
                 "malformed signature line 2: key name");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithPlusInKeyName) {
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94 wit+ness AAAAAAAAAAAA\n"),
      "malformed signature line 2: key name");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithUnicodeSpaceInKeyName) {
  // U+00A0 NO-BREAK SPACE.
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94 wit\xC2\xA0ness AAAAAAAAAAAA\n"),
      "malformed signature line 2: key name");
}

TEST_F(CheckpointTest, RejectsSignatureLineWithNonCanonicalBase64) {
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 witness AAAAAAB=\n"),
                 "malformed signature line 2: signature is not canonical");
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 witness AAAAAAA\n"),
                 "malformed signature line 2: signature is not canonical");
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94 witness AAAA AAAA\n"),
      "malformed signature line 2: signature is not canonical");
}

TEST_F(CheckpointTest, RejectsSignatureLineShorterThanFiveBytes) {
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 witness AAAAAA==\n"),
                 "malformed signature line 2: signature is shorter than 5");
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 witness \n"),
                 "malformed signature line 2: signature is shorter than 5");
}

TEST_F(CheckpointTest, RejectsMalformedLineBeforeLedgerLine) {
  const std::string text = CheckpointNoteText(checkpoint_);
  ExpectRejected(absl::StrCat(text, "\nnot a signature\n",
                              SignatureLine(text, key_, ledger_id_)),
                 "malformed signature line 1");
}

TEST_F(CheckpointTest, RejectsEmptyLineAfterSignatures) {
  ExpectRejected(absl::StrCat(signed_note_, "\n"),
                 "malformed signature line 2");
}

TEST_F(CheckpointTest, IgnoresWitnessCosignatures) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const SigningKey witness = KeyFromFill(0x03);
  const std::string witness_line =
      SignatureLine(text, witness, "witness.example/w1");
  // Not a valid Ed25519 signature of anything: witness lines are not verified.
  const std::string opaque_line =
      absl::StrCat("\xE2\x80\x94 witness.example/w2 ",
                   EncodeBase64Std("\x01\x02\x03\x04timestamped cosignature"),
                   "\n");
  ExpectAccepted(absl::StrCat(signed_note_, witness_line, opaque_line));
  ExpectAccepted(absl::StrCat(text, "\n", witness_line, opaque_line,
                              SignatureLine(text, key_, ledger_id_)));
}

TEST_F(CheckpointTest, IgnoresLedgerNameWithAnotherKeyHash) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const SigningKey other = KeyFromFill(0x02);
  const std::string other_key_line = SignatureLine(text, other, ledger_id_);
  ExpectAccepted(absl::StrCat(signed_note_, other_key_line));
  ExpectRejected(absl::StrCat(text, "\n", other_key_line),
                 "no signature by the ledger key");
}

TEST_F(CheckpointTest, AcceptsTwoValidLedgerKeyLines) {
  const std::string text = CheckpointNoteText(checkpoint_);
  ExpectAccepted(
      absl::StrCat(signed_note_, SignatureLine(text, key_, ledger_id_)));
}

TEST_F(CheckpointTest, RejectsTwoLedgerKeyLinesWhenOneIsBad) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const std::string other_text = absl::StrCat(ledger_id_, "\n43\n",
                                              kSampleRootBase64, "\n");
  const std::string bad_line = SignatureLine(other_text, key_, ledger_id_);
  ExpectRejected(absl::StrCat(signed_note_, bad_line),
                 "ledger key signature does not verify");
  ExpectRejected(absl::StrCat(text, "\n", bad_line,
                              SignatureLine(text, key_, ledger_id_)),
                 "ledger key signature does not verify");
}

TEST_F(CheckpointTest, RejectsCrlfLineEndings) {
  ExpectRejected(absl::StrReplaceAll(signed_note_, {{"\n", "\r\n"}}),
                 "note contains a carriage return");
}

TEST_F(CheckpointTest, RejectsCarriageReturnInsideLine) {
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 wit\rness AAAAAAAA\n"),
                 "note contains a carriage return");
}

TEST_F(CheckpointTest, RejectsMissingFinalNewline) {
  ExpectRejected(signed_note_.substr(0, signed_note_.size() - 1),
                 "note does not end with a newline");
}

TEST_F(CheckpointTest, RejectsEmptyNote) {
  ExpectRejected("", "note does not end with a newline");
}

TEST_F(CheckpointTest, RejectsInvalidUtf8) {
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94 wit\xFFness AAAAAAAA\n"),
      "note is not valid UTF-8");
  // Overlong encoding of '/'.
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94 wit\xC0\xAFness AAAAAAAA\n"),
      "note is not valid UTF-8");
  // Encoded surrogate U+D800.
  ExpectRejected(
      absl::StrCat(signed_note_, "\xE2\x80\x94 wit\xED\xA0\x80ness AAAAAAAA\n"),
      "note is not valid UTF-8");
  // Truncated sequence at the end of a line.
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 witness \xE2\x80\n"),
                 "note is not valid UTF-8");
}

TEST_F(CheckpointTest, RejectsControlCharacters) {
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 wit\tness AAAAAAAA\n"),
                 "note contains a control character");
  ExpectRejected(absl::StrCat(signed_note_, "\xE2\x80\x94 wit",
                              std::string(1, '\0'), "ness AAAAAAAA\n"),
                 "note contains a control character");
}

// C2SP bans only controls below U+0020: a witness named with DEL is well formed,
// and as a line of an unknown key it is ignored.
TEST_F(CheckpointTest, IgnoresWitnessNameWithDel) {
  absl::StatusOr<Checkpoint> parsed = VerifyCheckpoint(
      absl::StrCat(signed_note_, "\xE2\x80\x94 wit\x7Fness AAAAAAAA\n"), ledger_id_);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
}

TEST_F(CheckpointTest, AcceptsUnicodeWitnessName) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const SigningKey witness = KeyFromFill(0x03);
  ExpectAccepted(absl::StrCat(signed_note_,
                              SignatureLine(text, witness, "t\xC3\xA9moin")));
}

// SPEC §7: verifiers accept at least 16 signature lines. Fifteen witness
// cosignatures come before the ledger key's line, which is the sixteenth; a
// verifier that stopped reading earlier would miss it and reject the note.
TEST_F(CheckpointTest, AcceptsSixteenSignatureLinesWithTheLedgerLineLast) {
  const std::string text = CheckpointNoteText(checkpoint_);
  std::string note = absl::StrCat(text, "\n");
  for (int i = 0; i < 15; ++i) {
    const SigningKey witness = KeyFromFill(static_cast<uint8_t>(0x40 + i));
    absl::StrAppend(&note, SignatureLine(text, witness, absl::StrCat("witness.example/w", i)));
  }
  absl::StrAppend(&note, SignatureLine(text, key_, ledger_id_));
  ExpectAccepted(note);
}

TEST_F(CheckpointTest, VerifyCheckpointNoteHandsOverTextAndEveryLine) {
  const std::string text = CheckpointNoteText(checkpoint_);
  const SigningKey witness = KeyFromFill(0x03);
  const std::string witness_line = SignatureLine(text, witness, "w.example/1");
  absl::StatusOr<VerifiedCheckpointNote> verified = VerifyCheckpointNote(
      absl::StrCat(text, "\n", witness_line, SignatureLine(text, key_, ledger_id_)),
      ledger_id_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->checkpoint.tree_size, 42u);
  EXPECT_EQ(verified->note_text, text);
  ASSERT_EQ(verified->signatures.size(), 2u);
  EXPECT_EQ(verified->signatures[0].key_name, "w.example/1");
  EXPECT_EQ(verified->signatures[0].payload,
            absl::StrCat(SignedNoteKeyHash("w.example/1", witness.public_key()),
                         witness.Sign(text)));
  EXPECT_EQ(verified->signatures[1].key_name, ledger_id_);
}

TEST(NoteKeyNameTest, RejectsControlCharactersAndSpaces) {
  EXPECT_TRUE(IsValidNoteKeyName("w.example/1"));
  EXPECT_TRUE(IsValidNoteKeyName("wit\x7Fness"));
  EXPECT_FALSE(IsValidNoteKeyName(""));
  EXPECT_FALSE(IsValidNoteKeyName("a\x01" "b"));
  EXPECT_FALSE(IsValidNoteKeyName("a\x1F" "b"));
  EXPECT_FALSE(IsValidNoteKeyName("a b"));
  EXPECT_FALSE(IsValidNoteKeyName("a+b"));
  EXPECT_FALSE(IsValidNoteKeyName("a\xE2\x80\x83" "b"));  // U+2003
}

}  // namespace
}  // namespace microledger
