#include "common/chain_validator.h"

#include "absl/strings/str_cat.h"
#include "common/block_builder.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/test_chain.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using testing::HasSubstr;
using testing::StartsWith;

absl::Status Check(const TestChain& chain, const Block& block,
                   const BlockRuleOptions& options = BlockRuleOptions()) {
  return CheckNextBlock(chain.state(), block, SignatureStage::kComplete, options);
}

void ExpectBroken(const absl::Status& status, absl::StatusCode code,
                  absl::string_view rule) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(rule)) << status;
}

TEST(ChainValidatorTest, AcceptsSingleOwnerChain) {
  TestChain chain;
  chain.AppendEvents(5);
  EXPECT_EQ(chain.state().head_number, 6u);
  EXPECT_EQ(chain.state().head_fingerprint, chain.blocks().back().fingerprint);
}

TEST(ChainValidatorTest, AcceptsTwoOfThreeMultisig) {
  TestChain chain(3, 2);
  chain.AppendEvents(3);
  EXPECT_EQ(chain.blocks()[1].signatures.size(), 3u);
}

TEST(ChainValidatorTest, RejectsWrongLedger) {
  TestChain chain, other;
  chain.AppendEvents(1);
  other.AppendEvents(1);
  ExpectBroken(Check(chain, other.Make({{"event", "x"}})),
               absl::StatusCode::kFailedPrecondition, "ledger");
}

TEST(ChainValidatorTest, RejectsGap) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.number += 1;
  ExpectBroken(Check(chain, chain.Reseal(block)),
               absl::StatusCode::kFailedPrecondition, "number");
}

TEST(ChainValidatorTest, RejectsReplayedBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  ExpectBroken(Check(chain, chain.blocks()[1]), absl::StatusCode::kFailedPrecondition,
               "number");
}

TEST(ChainValidatorTest, RejectsWrongPrevious) {
  TestChain chain;
  chain.AppendEvents(2);
  Block block = chain.Make({{"event", "x"}});
  block.previous = chain.blocks()[0].fingerprint;
  ExpectBroken(Check(chain, chain.Reseal(block)),
               absl::StatusCode::kFailedPrecondition, "previous");
}

TEST(ChainValidatorTest, RejectsTimeGoingBackwards) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.time_millis = chain.state().head_time_millis - 1;
  block.time = FormatTimestampMillis(block.time_millis);
  ExpectBroken(Check(chain, chain.Reseal(block)),
               absl::StatusCode::kFailedPrecondition, "time");
}

TEST(ChainValidatorTest, AcceptsEqualTimes) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.time_millis = chain.state().head_time_millis;
  block.time = FormatTimestampMillis(block.time_millis);
  EXPECT_TRUE(Check(chain, chain.Reseal(block)).ok());
}

TEST(ChainValidatorTest, HostRejectsClockSkew) {
  TestChain chain;
  chain.AppendEvents(1);
  const Block block = chain.Make({{"event", "x"}});
  EXPECT_TRUE(Check(chain, block, BlockRuleOptions::HostDefaults(block.time_millis)).ok());
  ExpectBroken(
      Check(chain, block, BlockRuleOptions::HostDefaults(block.time_millis + 300001)),
      absl::StatusCode::kFailedPrecondition, "time");
  ExpectBroken(
      Check(chain, block, BlockRuleOptions::HostDefaults(block.time_millis - 300001)),
      absl::StatusCode::kFailedPrecondition, "time");
}

TEST(ChainValidatorTest, GenesisMustOpenOrBecome) {
  TestChain chain;
  Block genesis = chain.MakeGenesis();
  genesis.event = {{"event", "updated"}};
  ExpectBroken(Check(chain, chain.Reseal(genesis)), absl::StatusCode::kInvalidArgument,
               "genesis event");
}

TEST(ChainValidatorTest, GenesisNeedsControllers) {
  TestChain chain;
  Block genesis = chain.MakeGenesis();
  genesis.controllers.reset();
  ExpectBroken(Check(chain, chain.Reseal(genesis)), absl::StatusCode::kInvalidArgument,
               "controllers");
}

TEST(ChainValidatorTest, OpenedDocumentNeedsDocumentType) {
  TestChain chain;
  Block genesis = chain.MakeGenesis();
  genesis.event.erase("document type");
  ExpectBroken(Check(chain, chain.Reseal(genesis)), absl::StatusCode::kInvalidArgument,
               "event opened document");
}

TEST(ChainValidatorTest, SigningKeyMustBeController) {
  TestChain chain;
  Block genesis = chain.MakeGenesis();
  genesis.event["cryptographic signing key"] = chain.stranger(0).public_key_text();
  absl::Status status = Check(chain, chain.Reseal(genesis));
  ExpectBroken(status, absl::StatusCode::kInvalidArgument, "event opened document");
  EXPECT_THAT(std::string(status.message()), HasSubstr("controllers.keys"));
}

TEST(ChainValidatorTest, OpenedDocumentOptionalMembersMustBeStrings) {
  TestChain chain;
  Block genesis = chain.MakeGenesis();
  genesis.event["host url"] = 7.0;
  ExpectBroken(Check(chain, chain.Reseal(genesis)), absl::StatusCode::kInvalidArgument,
               "event opened document");
}

TEST(ChainValidatorTest, OpenedDocumentMayCarryApplicationMembers) {
  TestChain chain;
  Block genesis = chain.MakeGenesis();
  genesis.event["application"] = {{"nested", {1.0, 2.0}}};
  EXPECT_TRUE(Check(chain, chain.Reseal(genesis)).ok());
}

TEST(ChainValidatorTest, BecameDocumentNeedsItsMembers) {
  TestChain chain, predecessor;
  predecessor.AppendEvents(1);
  Block genesis = chain.MakeGenesis();
  genesis.event = {{"event", "became document"},
                   {"document type", "didDocument"},
                   {"cryptographic signing key", chain.owner(0).public_key_text()},
                   {"original id", predecessor.ledger_id()},
                   {"moved from", predecessor.ledger_id()},
                   {"moved from block", predecessor.state().head_fingerprint}};
  EXPECT_TRUE(Check(chain, chain.Reseal(genesis)).ok());
  for (const char* member : {"original id", "moved from", "moved from block"}) {
    Block broken = genesis;
    broken.event.erase(member);
    ExpectBroken(Check(chain, chain.Reseal(broken)), absl::StatusCode::kInvalidArgument,
                 "event became document");
  }
  Block bad_digest = genesis;
  bad_digest.event["moved from block"] = "not a digest";
  ExpectBroken(Check(chain, chain.Reseal(bad_digest)),
               absl::StatusCode::kInvalidArgument, "event became document");
}

TEST(ChainValidatorTest, GenesisEventsOnlyAtGenesis) {
  TestChain chain;
  chain.AppendEvents(1);
  Json event = chain.blocks()[0].event;
  ExpectBroken(Check(chain, chain.Make(event)), absl::StatusCode::kInvalidArgument,
               "event opened document");
}

TEST(ChainValidatorTest, ClosedDocumentHasNoOtherMember) {
  TestChain chain;
  chain.AppendEvents(1);
  ExpectBroken(Check(chain, chain.Make({{"event", "closed document"}, {"why", "x"}})),
               absl::StatusCode::kInvalidArgument, "event closed document");
}

TEST(ChainValidatorTest, MovedDocumentWithExtraMember) {
  TestChain chain, successor;
  chain.AppendEvents(1);
  Json event = {{"event", "moved document"},
                {"new id", successor.ledger_id()},
                {"new cryptographic signing key", successor.owner(0).public_key_text()}};
  EXPECT_TRUE(Check(chain, chain.Make(event)).ok());
  event["reason"] = "extra";
  ExpectBroken(Check(chain, chain.Make(event)), absl::StatusCode::kInvalidArgument,
               "event moved document");
}

TEST(ChainValidatorTest, MovedDocumentNeedsValidIdAndKey) {
  TestChain chain, successor;
  chain.AppendEvents(1);
  ExpectBroken(Check(chain, chain.Make({{"event", "moved document"},
                                        {"new id", "elsewhere"},
                                        {"new cryptographic signing key",
                                         successor.owner(0).public_key_text()}})),
               absl::StatusCode::kInvalidArgument, "event moved document");
  ExpectBroken(Check(chain, chain.Make({{"event", "moved document"},
                                        {"new id", successor.ledger_id()},
                                        {"new cryptographic signing key", "uAA"}})),
               absl::StatusCode::kInvalidArgument, "event moved document");
}

TEST(ChainValidatorTest, NothingFollowsClosedDocument) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "closed document"}}));
  absl::Status status = Check(chain, chain.Make({{"event", "x"}}));
  ExpectBroken(status, absl::StatusCode::kFailedPrecondition, "terminal");
  EXPECT_THAT(std::string(status.message()), HasSubstr("closed document"));
}

TEST(ChainValidatorTest, NothingFollowsMovedDocument) {
  TestChain chain, successor;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "moved document"},
                           {"new id", successor.ledger_id()},
                           {"new cryptographic signing key",
                            successor.owner(0).public_key_text()}}));
  ExpectBroken(Check(chain, chain.Make({{"event", "x"}})),
               absl::StatusCode::kFailedPrecondition, "terminal");
}

TEST(ChainValidatorTest, TransferNeedsControllers) {
  TestChain chain;
  chain.AppendEvents(1);
  ExpectBroken(Check(chain, chain.Make({{"event", "transferred ownership"}})),
               absl::StatusCode::kInvalidArgument, "event transferred ownership");
}

TEST(ChainValidatorTest, ControllersOnlyWithTransfer) {
  TestChain chain;
  chain.AppendEvents(1);
  ExpectBroken(Check(chain, chain.Make({{"event", "x"}}, chain.all_owners(1))),
               absl::StatusCode::kInvalidArgument, "controllers");
}

TEST(ChainValidatorTest, TransferMovesAuthorityToNewCustodians) {
  TestChain chain;
  chain.AppendEvents(1);
  const SigningKey& new_owner = chain.stranger(0);
  const Controllers new_controllers{1, {new_owner.public_key_text()}};
  // The transfer itself is signed by the old custodian.
  chain.Append(chain.Make({{"event", "transferred ownership"}}, new_controllers));
  Block by_old = chain.Reseal(chain.Make({{"event", "x"}}), {&chain.owner(0)});
  absl::Status status = Check(chain, by_old);
  ExpectBroken(status, absl::StatusCode::kFailedPrecondition, "owner signatures");
  EXPECT_THAT(std::string(status.message()), HasSubstr("not an authorising controller"));
  EXPECT_TRUE(Check(chain, chain.Reseal(by_old, {&new_owner})).ok());
}

TEST(ChainValidatorTest, TransferMayRestateControllers) {
  TestChain chain;
  chain.AppendEvents(1);
  EXPECT_TRUE(Check(chain, chain.Make({{"event", "transferred ownership"}},
                                      chain.state().controllers))
                  .ok());
}

TEST(ChainValidatorTest, NoTopLevelSignatureMember) {
  TestChain chain;
  chain.AppendEvents(1);
  ExpectBroken(Check(chain, chain.Make({{"event", "x"}, {"signature", "u"}})),
               absl::StatusCode::kInvalidArgument, "event");
}

TEST(ChainValidatorTest, ReservedEventNamesMatchExactly) {
  TestChain chain;
  chain.AppendEvents(1);
  // Not the reserved "closed document": an application event, so members are free.
  EXPECT_TRUE(Check(chain, chain.Make({{"event", "Closed Document"}, {"x", 1.0}})).ok());
}

TEST(ChainValidatorTest, ThresholdNotMet) {
  TestChain chain(3, 2);
  chain.AppendEvents(1);
  absl::Status status =
      Check(chain, chain.Reseal(chain.Make({{"event", "x"}}), {&chain.owner(1)}));
  ExpectBroken(status, absl::StatusCode::kFailedPrecondition, "threshold");
  EXPECT_THAT(std::string(status.message()), HasSubstr("needs 2"));
}

TEST(ChainValidatorTest, ThresholdMetByAnyTwoOfThree) {
  TestChain chain(3, 2);
  chain.AppendEvents(1);
  EXPECT_TRUE(Check(chain, chain.Reseal(chain.Make({{"event", "x"}}),
                                        {&chain.owner(0), &chain.owner(2)}))
                  .ok());
  EXPECT_TRUE(Check(chain, chain.Reseal(chain.Make({{"event", "x"}}),
                                        {&chain.owner(0), &chain.owner(1),
                                         &chain.owner(2)}))
                  .ok());
}

TEST(ChainValidatorTest, SignatureOrderMatters) {
  TestChain chain(3, 2);
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  std::swap(block.signatures[0], block.signatures[1]);
  ExpectBroken(Check(chain, block), absl::StatusCode::kFailedPrecondition,
               "owner signatures");
}

TEST(ChainValidatorTest, DuplicateOwnerSignatureRejected) {
  TestChain chain(3, 2);
  chain.AppendEvents(1);
  Block block = chain.Reseal(chain.Make({{"event", "x"}}), {&chain.owner(0)});
  block.signatures.insert(block.signatures.begin(), block.signatures[0]);
  ExpectBroken(Check(chain, block), absl::StatusCode::kFailedPrecondition,
               "owner signatures");
}

TEST(ChainValidatorTest, NonControllerSignatureRejectedEvenAboveThreshold) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Reseal(chain.Make({{"event", "x"}}),
                             {&chain.owner(0), &chain.stranger(0)});
  ExpectBroken(Check(chain, block), absl::StatusCode::kFailedPrecondition,
               "owner signatures");
}

TEST(ChainValidatorTest, BadOwnerSignatureRejectedEvenAboveThreshold) {
  TestChain chain(3, 1);
  chain.AppendEvents(1);
  Block block = chain.Reseal(chain.Make({{"event", "x"}}),
                             {&chain.owner(0), &chain.owner(1)});
  block.signatures[1].sig = chain.owner(1).SignText("something else");
  ExpectBroken(Check(chain, block), absl::StatusCode::kFailedPrecondition,
               "owner signatures");
}

TEST(ChainValidatorTest, HostSignatureByOtherKeyRejected) {
  TestChain chain, other;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.signatures.pop_back();
  SignAsHost(block, other.host());
  ExpectBroken(Check(chain, block), absl::StatusCode::kFailedPrecondition,
               "host signature");
}

TEST(ChainValidatorTest, HostSignatureMustVerify) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.signatures.back().sig = chain.host().SignText("other");
  ExpectBroken(Check(chain, block), absl::StatusCode::kFailedPrecondition,
               "host signature");
}

// The raw key and signature of each of `block`'s signatures.
std::vector<RawSignature> RawSignaturesOf(const Block& block) {
  std::vector<RawSignature> raw;
  for (const BlockSignature& signature : block.signatures) {
    raw.push_back({*DecodePublicKeyText(signature.key),
                   *DecodeMultibase(signature.sig)});
  }
  return raw;
}

TEST(ChainValidatorTest, SignatureMathFromRawBytesEqualsMathFromTexts) {
  TestChain chain(2, 2);
  chain.AppendEvents(1);
  const Block good = chain.Make({{"event", "x"}});
  Block bad = good;  // A bad owner signature and a bad host signature.
  bad.signatures[0].sig = chain.owner(0).SignText("other");
  bad.signatures.back().sig = chain.host().SignText("other");
  for (const Block& block : {good, bad}) {
    const SignatureMath from_texts =
        ComputeSignatureMath(block, SignatureStage::kComplete);
    const SignatureMath from_raw = ComputeSignatureMath(
        block, SignatureStage::kComplete, RawSignaturesOf(block));
    EXPECT_EQ(from_raw.outcomes, from_texts.outcomes);
  }
  const SignatureMath bad_math = ComputeSignatureMath(
      bad, SignatureStage::kComplete, RawSignaturesOf(bad));
  ASSERT_EQ(bad_math.outcomes.size(), 3u);
  EXPECT_EQ(bad_math.outcomes[0].message(),
            "owner signatures: signature does not verify");
  EXPECT_TRUE(bad_math.outcomes[1].ok());
  EXPECT_EQ(bad_math.outcomes[2].message(),
            "host signature: signature does not verify");
}

TEST(ChainValidatorTest, OwnerSignedStageSkipsHost) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.signatures.pop_back();
  EXPECT_TRUE(CheckNextBlock(chain.state(), block, SignatureStage::kOwnerSigned,
                             BlockRuleOptions())
                  .ok());
}

TEST(ChainValidatorTest, HostLimitsEventMemberNames) {
  TestChain chain;
  chain.AppendEvents(1);
  const Block block =
      chain.Make({{"event", "x"}, {"nested", {{std::string(257, 'n'), 1.0}}}});
  EXPECT_TRUE(Check(chain, block).ok());
  ExpectBroken(Check(chain, block, BlockRuleOptions::HostDefaults(block.time_millis)),
               absl::StatusCode::kResourceExhausted, "event member names");
}

// SPEC §4: the genesis block is signed by at least `threshold` of its own
// controllers: one of two required signatures, or a stranger's, is refused.
TEST(ChainValidatorTest, GenesisNeedsThresholdOfItsOwnControllers) {
  TestChain chain(3, 2);
  const Block genesis = chain.MakeGenesis();
  ExpectBroken(Check(chain, chain.Reseal(genesis, {&chain.owner(0)})),
               absl::StatusCode::kFailedPrecondition, "threshold");
  absl::Status status = Check(chain, chain.Reseal(genesis, {&chain.owner(0), &chain.stranger(0)}));
  ExpectBroken(status, absl::StatusCode::kFailedPrecondition, "owner signatures");
  EXPECT_THAT(std::string(status.message()), HasSubstr("not an authorising controller"));
  EXPECT_TRUE(Check(chain, chain.Reseal(genesis, {&chain.owner(0), &chain.owner(1)})).ok());
}

// SPEC §5: owner and host sign `microledger-block-v1 ` + fingerprint; a valid
// Ed25519 signature of the bare fingerprint (no prefix) is refused.
TEST(ChainValidatorTest, SignaturesOfTheBareFingerprintAreRefused) {
  TestChain chain;
  chain.AppendEvents(1);
  Block by_owner = chain.Make({{"event", "x"}});
  by_owner.signatures.front().sig = chain.owner(0).SignText(by_owner.fingerprint);
  ExpectBroken(Check(chain, by_owner), absl::StatusCode::kFailedPrecondition,
               "owner signatures");
  Block by_host = chain.Make({{"event", "x"}});
  by_host.signatures.back().sig = chain.host().SignText(by_host.fingerprint);
  ExpectBroken(Check(chain, by_host), absl::StatusCode::kFailedPrecondition, "host signature");
}

// SPEC §10: a signed request (here a forget) is checked against the
// controllers in force after the head block: when the head transferred
// ownership, the old custodian's signature is refused and the new one's
// accepted; signatures must also reach the threshold and be in key order.
TEST(ChainValidatorTest, SignedRequestNeedsTheControllersAfterTheHead) {
  TestChain chain;
  chain.AppendEvents(1);
  const SigningKey& new_owner = chain.stranger(0);
  chain.Append(chain.Make({{"event", "transferred ownership"}},
                          Controllers{1, {new_owner.public_key_text()}}));
  const std::string message = absl::StrCat("microledger-forget-v1 ", chain.ledger_id(), " ",
                                           chain.state().head_fingerprint);
  auto signature_by = [&](const SigningKey& key) {
    return BlockSignature{"owner", "Ed25519", key.public_key_text(), key.SignText(message)};
  };
  const absl::Status by_old = CheckOwnerSignatures(
      chain.state().controllers, message, {signature_by(chain.owner(0))}, "the forget request");
  EXPECT_EQ(by_old.code(), absl::StatusCode::kFailedPrecondition) << by_old;
  EXPECT_THAT(std::string(by_old.message()), HasSubstr("not an authorising controller"));
  EXPECT_TRUE(CheckOwnerSignatures(chain.state().controllers, message,
                                   {signature_by(new_owner)}, "the forget request")
                  .ok());

  TestChain two_of_three(3, 2);
  two_of_three.AppendEvents(1);
  const std::string request = absl::StrCat("microledger-forget-v1 ", two_of_three.ledger_id(),
                                           " ", two_of_three.state().head_fingerprint);
  auto owner_signature = [&](int i) {
    const SigningKey& key = two_of_three.owner(i);
    return BlockSignature{"owner", "Ed25519", key.public_key_text(), key.SignText(request)};
  };
  EXPECT_EQ(CheckOwnerSignatures(two_of_three.state().controllers, request,
                                 {owner_signature(0)}, "the forget request")
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckOwnerSignatures(two_of_three.state().controllers, request,
                                 {owner_signature(1), owner_signature(0)}, "the forget request")
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckOwnerSignatures(two_of_three.state().controllers, request,
                                   {owner_signature(0), owner_signature(1)}, "the forget request")
                  .ok());
}

}  // namespace
}  // namespace microledger
