#include "common/block.h"

#include "absl/strings/str_replace.h"
#include "common/block_builder.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/test_chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using testing::HasSubstr;
using testing::StartsWith;

class BlockTest : public testing::Test {
 protected:
  void SetUp() override { chain_.AppendEvents(2); }

  // Serialises `block` after `mutate` edits its JSON (no re-signing).
  template <typename Mutate>
  std::string Mutated(const Block& block, Mutate mutate) {
    Json json = BlockJson(block);
    mutate(json);
    return CanonicalJson(json);
  }

  absl::Status ParseComplete(absl::string_view bytes) {
    return ParseBlock(bytes, SignatureStage::kComplete).status();
  }

  TestChain chain_;
};

TEST_F(BlockTest, RoundTripsThroughCanonicalBytes) {
  for (const Block& block : chain_.blocks()) {
    const std::string bytes = SerializeBlock(block);
    absl::StatusOr<Block> parsed = ParseBlock(bytes, SignatureStage::kComplete);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(SerializeBlock(*parsed), bytes);
    EXPECT_EQ(parsed->fingerprint, block.fingerprint);
    EXPECT_EQ(parsed->number, block.number);
  }
}

TEST_F(BlockTest, SerialisedMembersAreInJcsOrder) {
  const std::string bytes = SerializeBlock(chain_.blocks()[1]);
  EXPECT_THAT(bytes, StartsWith("{\"event\":{"));
  EXPECT_LT(bytes.find("\"fingerprint\""), bytes.find("\"ledger\""));
  EXPECT_LT(bytes.find("\"previous\""), bytes.find("\"signatures\""));
}

TEST_F(BlockTest, BlockJcsIsTheBlockAndItsBody) {
  for (const Block& block : chain_.blocks()) {
    const CanonicalJsonSplit jcs = BlockJcs(BlockJson(block));
    EXPECT_EQ(jcs.whole, SerializeBlock(block));
    EXPECT_EQ(jcs.without, CanonicalJson(BlockBodyJson(block)));
    EXPECT_EQ(DigestText(jcs.without), block.fingerprint);
  }
}

TEST_F(BlockTest, BlockFromJsonGivesWhatItDecoded) {
  const Block& block = chain_.blocks()[1];
  const Json json = BlockJson(block);
  BlockBinaries binaries;
  ASSERT_TRUE(BlockFromJson(json, BlockJcs(json).without,
                            SignatureStage::kComplete, &binaries)
                  .ok());
  EXPECT_EQ(binaries.leaf, *DecodeDigest(block.fingerprint));
  ASSERT_EQ(binaries.signatures.size(), block.signatures.size());
  for (size_t i = 0; i < block.signatures.size(); ++i) {
    EXPECT_EQ(binaries.signatures[i].key,
              *DecodePublicKeyText(block.signatures[i].key));
    EXPECT_EQ(binaries.signatures[i].sig,
              *DecodeMultibase(block.signatures[i].sig));
  }
}

TEST_F(BlockTest, BlockFromJsonGivesNothingForARejectedBlock) {
  Json json = BlockJson(chain_.blocks()[1]);
  json["event"]["n"] = 99.0;  // The fingerprint no longer matches.
  BlockBinaries binaries;
  const absl::StatusOr<Block> block = BlockFromJson(
      json, BlockJcs(json).without, SignatureStage::kComplete, &binaries);
  EXPECT_THAT(std::string(block.status().message()), StartsWith("fingerprint"));
  EXPECT_TRUE(binaries.leaf.empty());
  EXPECT_TRUE(binaries.signatures.empty());
}

TEST_F(BlockTest, FingerprintIsDigestOfBodyJcs) {
  const Block& block = chain_.blocks()[1];
  EXPECT_EQ(block.fingerprint, DigestText(CanonicalJson(BlockBodyJson(block))));
  EXPECT_EQ(BlockSignedMessage(block.fingerprint),
            "microledger-block-v1 " + block.fingerprint);
}

TEST_F(BlockTest, RejectsNonCanonicalBytes) {
  const std::string bytes = SerializeBlock(chain_.blocks()[0]);
  absl::Status status = ParseComplete(" " + bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("canonical form"));
  status = ParseComplete(absl::StrReplaceAll(bytes, {{"\":", "\": "}}));
  EXPECT_THAT(std::string(status.message()), StartsWith("canonical form"));
}

TEST_F(BlockTest, RejectsMalformedJson) {
  absl::Status status = ParseComplete("{\"number\":1,}");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("json"));
}

TEST_F(BlockTest, RejectsUnknownMember) {
  absl::Status status = ParseComplete(
      Mutated(chain_.blocks()[1], [](Json& j) { j["extra"] = true; }));
  EXPECT_THAT(std::string(status.message()), StartsWith("members"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("extra"));
}

TEST_F(BlockTest, RejectsMissingMembers) {
  for (const char* name : {"ledger", "number", "time", "event", "fingerprint",
                           "signatures", "previous"}) {
    absl::Status status = ParseComplete(
        Mutated(chain_.blocks()[1], [name](Json& j) { j.erase(name); }));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(status.message()), StartsWith(name)) << status;
  }
}

TEST_F(BlockTest, RejectsTamperedFingerprint) {
  absl::Status status = ParseComplete(Mutated(
      chain_.blocks()[1], [](Json& j) { j["event"]["n"] = 99.0; }));
  EXPECT_THAT(std::string(status.message()), StartsWith("fingerprint"));
}

TEST_F(BlockTest, RejectsUnknownMultihashInFingerprint) {
  std::string raw = Sha256Multihash("x");
  raw[0] = 0x13;
  absl::Status status = ParseComplete(Mutated(
      chain_.blocks()[1], [&](Json& j) { j["fingerprint"] = EncodeMultibase(raw); }));
  EXPECT_THAT(std::string(status.message()), StartsWith("fingerprint"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("unknown multihash code 0x13"));
}

TEST_F(BlockTest, RejectsUnknownMultihashInPrevious) {
  std::string raw = Sha256Multihash("x");
  raw[0] = 0x55;
  Block block = chain_.blocks()[1];
  block.previous = EncodeMultibase(raw);
  absl::Status status = ParseComplete(SerializeBlock(chain_.Reseal(block)));
  EXPECT_THAT(std::string(status.message()), StartsWith("previous"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("0x55"));
}

TEST_F(BlockTest, RejectsUnknownAlg) {
  absl::Status status = ParseComplete(Mutated(
      chain_.blocks()[1], [](Json& j) { j["signatures"][0]["alg"] = "ES256"; }));
  EXPECT_THAT(std::string(status.message()), StartsWith("alg"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("ES256"));
}

TEST_F(BlockTest, RejectsSignatureWithExtraMember) {
  absl::Status status = ParseComplete(Mutated(
      chain_.blocks()[1], [](Json& j) { j["signatures"][0]["note"] = "x"; }));
  EXPECT_THAT(std::string(status.message()), StartsWith("signatures"));
}

TEST_F(BlockTest, RejectsHostSignatureNotLast) {
  absl::Status status = ParseComplete(Mutated(chain_.blocks()[1], [](Json& j) {
    std::swap(j["signatures"][0], j["signatures"][1]);
  }));
  EXPECT_THAT(std::string(status.message()), StartsWith("signatures"));
}

TEST_F(BlockTest, OwnerSignedStageRejectsHostSignature) {
  absl::Status status = ParseBlock(SerializeBlock(chain_.blocks()[1]),
                                   SignatureStage::kOwnerSigned)
                            .status();
  EXPECT_THAT(std::string(status.message()), StartsWith("signatures"));
  Block owner_signed = chain_.blocks()[1];
  owner_signed.signatures.pop_back();
  EXPECT_TRUE(
      ParseBlock(SerializeBlock(owner_signed), SignatureStage::kOwnerSigned).ok());
  EXPECT_FALSE(ParseComplete(SerializeBlock(owner_signed)).ok());
}

TEST_F(BlockTest, RejectsPreviousInGenesis) {
  Block genesis = chain_.blocks()[0];
  genesis.previous = chain_.blocks()[1].fingerprint;
  absl::Status status = ParseComplete(SerializeBlock(chain_.Reseal(genesis)));
  EXPECT_THAT(std::string(status.message()), StartsWith("previous"));
}

TEST_F(BlockTest, RejectsBadNumbers) {
  for (double number : {0.0, 1.5, -1.0, 9007199254740994.0}) {
    absl::Status status = ParseComplete(Mutated(
        chain_.blocks()[1], [number](Json& j) { j["number"] = number; }));
    EXPECT_THAT(std::string(status.message()), StartsWith("number")) << number;
  }
  absl::Status status = ParseComplete(
      Mutated(chain_.blocks()[1], [](Json& j) { j["number"] = "2"; }));
  EXPECT_THAT(std::string(status.message()), StartsWith("number"));
}

TEST_F(BlockTest, RejectsBadTime) {
  Block block = chain_.blocks()[1];
  block.time = "2026-11-22T10:04:05Z";
  EXPECT_THAT(std::string(ParseComplete(SerializeBlock(chain_.Reseal(block))).message()),
              StartsWith("time"));
}

TEST_F(BlockTest, RejectsBadControllers) {
  const Json valid_key = chain_.owner(0).public_key_text();
  const Json cases[] = {
      Json::array(),                                      // not an object
      {{"threshold", 1.0}},                               // no keys
      {{"threshold", 0.0}, {"keys", {valid_key}}},        // threshold 0
      {{"threshold", 2.0}, {"keys", {valid_key}}},        // threshold > keys
      {{"threshold", 1.0}, {"keys", Json::array()}},      // no keys
      {{"threshold", 1.0}, {"keys", {valid_key, valid_key}}},  // duplicate
      {{"threshold", 1.0}, {"keys", {"uAAAA"}}},          // not a key
      {{"threshold", 1.0}, {"keys", {valid_key}}, {"extra", 1.0}},
  };
  for (const Json& controllers : cases) {
    absl::Status status = ParseComplete(Mutated(
        chain_.blocks()[0], [&](Json& j) { j["controllers"] = controllers; }));
    EXPECT_THAT(std::string(status.message()), StartsWith("controllers")) << controllers.dump();
  }
}

TEST_F(BlockTest, RejectsMoreThanSixteenControllers) {
  Json keys = Json::array();
  for (int i = 0; i < 17; ++i) {
    keys.push_back(EncodeMultibase(std::string(31, 'k') + static_cast<char>(i)));
  }
  absl::Status status = ParseComplete(Mutated(chain_.blocks()[0], [&](Json& j) {
    j["controllers"] = {{"threshold", 1.0}, {"keys", keys}};
  }));
  EXPECT_THAT(std::string(status.message()), StartsWith("controllers"));
}

TEST_F(BlockTest, RejectsBadSeals) {
  const std::string seal = DigestText("attachment");
  const Json cases[] = {Json::object(), {seal, seal}, {"not a digest"}, {1.0}};
  for (const Json& seals : cases) {
    absl::Status status = ParseComplete(
        Mutated(chain_.blocks()[1], [&](Json& j) { j["seals"] = seals; }));
    EXPECT_THAT(std::string(status.message()), StartsWith("seals")) << seals.dump();
  }
  Json many = Json::array();
  for (int i = 0; i < 65; ++i) many.push_back(DigestText(std::to_string(i)));
  absl::Status status = ParseComplete(
      Mutated(chain_.blocks()[1], [&](Json& j) { j["seals"] = many; }));
  EXPECT_THAT(std::string(status.message()), StartsWith("seals"));
}

TEST_F(BlockTest, AcceptsEmptyAndFullSeals) {
  Json many = Json::array();
  for (int i = 0; i < 64; ++i) many.push_back(DigestText(std::to_string(i)));
  for (const Json& seals : {Json::array(), many}) {
    Block block = chain_.blocks()[1];
    block.seals = seals.get<std::vector<std::string>>();
    EXPECT_TRUE(ParseComplete(SerializeBlock(chain_.Reseal(block))).ok());
  }
}

TEST_F(BlockTest, RejectsEventWithoutName) {
  for (const Json& event : {Json::array(), Json{{"type", "x"}}, Json{{"event", 1.0}}}) {
    absl::Status status = ParseComplete(
        Mutated(chain_.blocks()[1], [&](Json& j) { j["event"] = event; }));
    EXPECT_THAT(std::string(status.message()), StartsWith("event")) << event.dump();
  }
}

// SPEC §2: a signature object has exactly `role`, `alg`, `key` and `sig`; one
// without any of them is refused at parse, before any signature is verified
// (the message names `signatures`, not the Ed25519 check).
TEST_F(BlockTest, RejectsSignatureWithoutAMember) {
  for (const char* name : {"role", "alg", "key", "sig"}) {
    absl::Status status = ParseComplete(Mutated(
        chain_.blocks()[1], [name](Json& j) { j["signatures"][0].erase(name); }));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(status.message()), StartsWith("signatures")) << name;
  }
}

// SPEC §5: a complete block has exactly one host signature, last; a block
// without one, with two, or with a role that is neither `owner` nor `host` is
// refused naming `signatures`.
TEST_F(BlockTest, RejectsMissingOrSecondHostSignatureAndUnknownRoles) {
  const Block& block = chain_.blocks()[1];
  ASSERT_EQ(block.signatures.size(), 2u);
  const std::string cases[] = {
      Mutated(block, [](Json& j) { j["signatures"].erase(1); }),
      Mutated(block, [](Json& j) { j["signatures"].push_back(j["signatures"][1]); }),
      Mutated(block, [](Json& j) { j["signatures"][0]["role"] = "custodian"; }),
      Mutated(block, [](Json& j) { j["signatures"][1]["role"] = "Host"; }),
  };
  for (const std::string& bytes : cases) {
    absl::Status status = ParseComplete(bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bytes;
    EXPECT_THAT(std::string(status.message()), StartsWith("signatures")) << bytes;
  }
}

// SPEC §1: a signature is 64 raw bytes and a key 32; other lengths are refused
// at parse, naming `signatures`.
TEST_F(BlockTest, RejectsSignatureAndKeyOfWrongLength) {
  const Block& block = chain_.blocks()[1];
  const std::string cases[] = {
      Mutated(block,
              [](Json& j) { j["signatures"][0]["sig"] = EncodeMultibase(std::string(63, 'a')); }),
      Mutated(block,
              [](Json& j) { j["signatures"][0]["sig"] = EncodeMultibase(std::string(65, 'a')); }),
      Mutated(block,
              [](Json& j) { j["signatures"][0]["key"] = EncodeMultibase(std::string(31, 'a')); }),
  };
  for (const std::string& bytes : cases) {
    absl::Status status = ParseComplete(bytes);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bytes;
    EXPECT_THAT(std::string(status.message()), StartsWith("signatures")) << bytes;
  }
}

}  // namespace
}  // namespace microledger
