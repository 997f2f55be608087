#include "common/ledger_verifier.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "common/test_chain.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Status AddAll(LedgerVerifier& verifier, const std::vector<Block>& blocks) {
  for (const Block& block : blocks) {
    if (absl::Status status = verifier.AddBlock(block); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// A verifier that has verified every block of `chain`.
LedgerVerifier VerifiedChain(const TestChain& chain) {
  LedgerVerifier verifier(chain.ledger_id());
  absl::Status status = AddAll(verifier, chain.blocks());
  EXPECT_TRUE(status.ok()) << status;
  return verifier;
}

void ExpectFailure(const LedgerVerifier& verifier, const absl::Status& status,
                   uint64_t position, absl::string_view rule) {
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), StartsWith(std::string(rule)))
      << status;
  ASSERT_TRUE(verifier.failure().has_value());
  EXPECT_EQ(verifier.failure()->block_position, position);
  EXPECT_THAT(verifier.failure()->rule, StartsWith(std::string(rule)));
}

TEST(LedgerVerifierTest, VerifiesSingleOwnerChain) {
  TestChain chain;
  chain.AppendEvents(5);
  LedgerVerifier verifier = VerifiedChain(chain);
  EXPECT_EQ(verifier.block_count(), 6u);
  EXPECT_EQ(verifier.ledger_id(), chain.ledger_id());
  EXPECT_EQ(verifier.state().head_fingerprint, chain.state().head_fingerprint);
  EXPECT_EQ(verifier.state().controllers, chain.state().controllers);
  EXPECT_FALSE(verifier.failure().has_value());
}

TEST(LedgerVerifierTest, VerifiesTwoOfThreeMultisig) {
  TestChain chain(3, 2);
  chain.AppendEvents(3);
  LedgerVerifier verifier = VerifiedChain(chain);
  EXPECT_EQ(verifier.block_count(), 4u);
  EXPECT_EQ(verifier.state().controllers.threshold, 2);
}

TEST(LedgerVerifierTest, VerifiesOwnershipTransfer) {
  TestChain chain;
  chain.AppendEvents(1);
  Controllers custodians{1, {chain.stranger(0).public_key_text()}};
  chain.Append(chain.Make({{"event", "transferred ownership"}}, custodians));
  chain.Append(chain.Make({{"event", "signed by the new custodian"}}));
  LedgerVerifier verifier = VerifiedChain(chain);
  EXPECT_EQ(verifier.block_count(), 4u);
  EXPECT_EQ(verifier.state().controllers, custodians);
}

TEST(LedgerVerifierTest, RejectsBlockByOldCustodianAfterTransfer) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "transferred ownership"}},
                          Controllers{1, {chain.stranger(0).public_key_text()}}));
  LedgerVerifier verifier = VerifiedChain(chain);
  const Block stale = chain.Reseal(chain.Make({{"event", "x"}}), {&chain.owner(0)});
  ExpectFailure(verifier, verifier.AddBlock(stale), 4, "owner signatures");
}

TEST(LedgerVerifierTest, VerifiesSealsAndAttachments) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("report"), DigestText("")}));
  chain.AppendEvents(1);
  LedgerVerifier verifier = VerifiedChain(chain);
  EXPECT_TRUE(verifier.AddAttachment(DigestText("report"), "report").ok());
  EXPECT_TRUE(verifier.AddAttachment(DigestText(""), "").ok());
  EXPECT_TRUE(verifier.AddAttachment(DigestText("report"), "report").ok());
  EXPECT_FALSE(verifier.failure().has_value());
}

TEST(LedgerVerifierTest, RejectsAttachmentWithUnknownSeal) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("report")}));
  LedgerVerifier verifier = VerifiedChain(chain);
  ExpectFailure(verifier, verifier.AddAttachment(DigestText("other"), "other"), 0,
                "attachment");
  EXPECT_THAT(verifier.failure()->rule, HasSubstr("not a seal"));
}

TEST(LedgerVerifierTest, RejectsAttachmentWithWrongData) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("report")}));
  LedgerVerifier verifier = VerifiedChain(chain);
  ExpectFailure(verifier, verifier.AddAttachment(DigestText("report"), "forged"), 0,
                "attachment");
  EXPECT_THAT(verifier.failure()->rule, HasSubstr("does not match"));
}

TEST(LedgerVerifierTest, RejectsAttachmentBeforeItsBlock) {
  TestChain chain;
  chain.AppendEvents(1);
  LedgerVerifier verifier = VerifiedChain(chain);
  ExpectFailure(verifier, verifier.AddAttachment(DigestText("report"), "report"), 0,
                "attachment");
}

TEST(LedgerVerifierTest, VerifiesMovedDocumentAndSuccessor) {
  TestChain predecessor, successor;
  predecessor.AppendEvents(2);
  predecessor.MoveTo(successor);
  successor.AppendEvents(2);

  LedgerVerifier old_ledger = VerifiedChain(predecessor);
  EXPECT_EQ(old_ledger.state().terminal_event, "moved document");
  LedgerVerifier new_ledger = VerifiedChain(successor);
  EXPECT_EQ(new_ledger.block_count(), 3u);

  Block after_move = predecessor.Make({{"event", "too late"}});
  ExpectFailure(old_ledger, old_ledger.AddBlock(after_move), 5, "terminal");
}

TEST(LedgerVerifierTest, RejectsBlockAfterClosedDocument) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "closed document"}}));
  LedgerVerifier verifier = VerifiedChain(chain);
  ExpectFailure(verifier, verifier.AddBlock(chain.Make({{"event", "x"}})), 4,
                "terminal");
}

TEST(LedgerVerifierTest, ReportsFirstFailingPositionAndStaysFailed) {
  TestChain chain;
  chain.AppendEvents(3);
  LedgerVerifier verifier(chain.ledger_id());
  ASSERT_TRUE(verifier.AddBlock(chain.blocks()[0]).ok());
  ASSERT_TRUE(verifier.AddBlock(chain.blocks()[1]).ok());
  const absl::Status skipped = verifier.AddBlock(chain.blocks()[3]);
  ExpectFailure(verifier, skipped, 3, "number");
  EXPECT_EQ(verifier.AddBlock(chain.blocks()[2]), skipped);
  EXPECT_EQ(verifier.AddCheckpoint(chain.SignedCheckpoint(1)), skipped);
  EXPECT_EQ(verifier.block_count(), 2u);
  EXPECT_EQ(verifier.failure()->block_position, 3u);
}

TEST(LedgerVerifierTest, RejectsBlockWhoseFingerprintDoesNotMatchItsBody) {
  TestChain chain;
  chain.AppendEvents(1);
  LedgerVerifier verifier = VerifiedChain(chain);
  Block block = chain.Make({{"event", "x"}});
  block.event["event"] = "edited after signing";
  ExpectFailure(verifier, verifier.AddBlock(block), 3, "fingerprint");
}

TEST(LedgerVerifierTest, RejectsBlockOfAnotherLedger) {
  TestChain chain, other;
  other.AppendEvents(1);
  LedgerVerifier verifier(chain.ledger_id());
  ExpectFailure(verifier, verifier.AddBlock(other.blocks()[0]), 1, "ledger");
}

TEST(LedgerVerifierTest, RejectsTimeGoingBackwards) {
  TestChain chain;
  chain.AppendEvents(1);
  LedgerVerifier verifier = VerifiedChain(chain);
  Block block = chain.Make({{"event", "x"}});
  block.time_millis = chain.state().head_time_millis - 1;
  block.time = FormatTimestampMillis(block.time_millis);
  ExpectFailure(verifier, verifier.AddBlock(chain.Reseal(block)), 3, "time");
}

TEST(LedgerVerifierTest, IgnoresBlockTimesFarFromTheClock) {
  TestChain chain;
  chain.AppendEvents(1);
  LedgerVerifier verifier = VerifiedChain(chain);
  Block block = chain.Make({{"event", "x"}});
  block.time_millis += int64_t{1000} * 86400 * 365;
  block.time = FormatTimestampMillis(block.time_millis);
  EXPECT_TRUE(verifier.AddBlock(chain.Reseal(block)).ok());
}

TEST(LedgerVerifierTest, AcceptsCheckpointsInAnyOrderAndRepeated) {
  TestChain chain;
  chain.AppendEvents(6);
  LedgerVerifier verifier = VerifiedChain(chain);
  for (uint64_t size : {7, 1, 3, 7, 2, 1, 4, 5, 6}) {
    absl::Status status = verifier.AddCheckpoint(chain.SignedCheckpoint(size));
    EXPECT_TRUE(status.ok()) << "size " << size << ": " << status;
  }
}

TEST(LedgerVerifierTest, AcceptsCheckpointOfPrefixWhileStreaming) {
  TestChain chain;
  chain.AppendEvents(4);
  const std::string checkpoint = chain.SignedCheckpoint(3);
  LedgerVerifier verifier(chain.ledger_id());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(verifier.AddBlock(chain.blocks()[i]).ok());
  EXPECT_TRUE(verifier.AddCheckpoint(checkpoint).ok());
  EXPECT_TRUE(verifier.AddBlock(chain.blocks()[3]).ok());
}

TEST(LedgerVerifierTest, RejectsCheckpointWithWrongRoot) {
  TestChain chain;
  chain.AppendEvents(4);
  LedgerVerifier verifier = VerifiedChain(chain);
  Checkpoint checkpoint = *VerifyCheckpoint(chain.SignedCheckpoint(2), chain.ledger_id());
  checkpoint.tree_size = 3;
  ExpectFailure(verifier,
                verifier.AddCheckpoint(SignCheckpoint(checkpoint, chain.host())), 0,
                "checkpoint");
  EXPECT_THAT(verifier.failure()->rule, HasSubstr("root hash"));
}

TEST(LedgerVerifierTest, RejectsCheckpointOfSizeZero) {
  TestChain chain;
  chain.AppendEvents(2);
  LedgerVerifier verifier = VerifiedChain(chain);
  ExpectFailure(verifier, verifier.AddCheckpoint(chain.SignedCheckpoint(0)), 0,
                "checkpoint");
  EXPECT_THAT(verifier.failure()->rule, HasSubstr("tree size 0"));
}

TEST(LedgerVerifierTest, RejectsCheckpointBeyondTheBlocks) {
  TestChain chain;
  chain.AppendEvents(3);
  const std::string checkpoint = chain.SignedCheckpoint(4);
  LedgerVerifier verifier(chain.ledger_id());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(verifier.AddBlock(chain.blocks()[i]).ok());
  ExpectFailure(verifier, verifier.AddCheckpoint(checkpoint), 0, "checkpoint");
  EXPECT_THAT(verifier.failure()->rule, HasSubstr("tree size 4"));
}

TEST(LedgerVerifierTest, RejectsCheckpointWithoutBlocks) {
  TestChain chain;
  chain.AppendEvents(1);
  LedgerVerifier verifier(chain.ledger_id());
  ExpectFailure(verifier, verifier.AddCheckpoint(chain.SignedCheckpoint(1)), 0,
                "checkpoint");
}

TEST(LedgerVerifierTest, RejectsCheckpointOfAnotherLedger) {
  TestChain chain, other;
  chain.AppendEvents(2);
  other.AppendEvents(2);
  LedgerVerifier verifier = VerifiedChain(chain);
  ExpectFailure(verifier, verifier.AddCheckpoint(other.SignedCheckpoint(3)), 0,
                "checkpoint");
}

TEST(LedgerVerifierTest, RejectsCheckpointSignedByAnotherKey) {
  TestChain chain, other;
  chain.AppendEvents(2);
  LedgerVerifier verifier = VerifiedChain(chain);
  Checkpoint checkpoint = *VerifyCheckpoint(chain.SignedCheckpoint(3), chain.ledger_id());
  ExpectFailure(verifier, verifier.AddCheckpoint(SignCheckpoint(checkpoint, other.host())),
                0, "checkpoint");
}

TEST(LedgerVerifierTest, RejectsCheckpointWithBadSignature) {
  TestChain chain;
  chain.AppendEvents(2);
  LedgerVerifier verifier = VerifiedChain(chain);
  // Flip one bit of the Ed25519 signature, keeping the key hash.
  std::vector<std::string> lines = absl::StrSplit(chain.SignedCheckpoint(3), '\n');
  ASSERT_EQ(lines.size(), 6u);
  std::vector<std::string> words = absl::StrSplit(lines[4], ' ');
  ASSERT_EQ(words.size(), 3u);
  std::string payload = *DecodeBase64Std(words[2]);
  payload[10] ^= 1;
  words[2] = EncodeBase64Std(payload);
  lines[4] = absl::StrJoin(words, " ");
  ExpectFailure(verifier, verifier.AddCheckpoint(absl::StrJoin(lines, "\n")), 0,
                "checkpoint");
}

// Prepared blocks.

// PreparedBlock::FromJson of `block`'s JSON value, as a bundle verifier calls it.
absl::StatusOr<PreparedBlock> PrepareFromJson(const Block& block) {
  Json json = BlockJson(block);
  const std::string body_jcs = BlockJcs(json).without;
  return PreparedBlock::FromJson(std::move(json), body_jcs);
}

// The outcome of adding `block` after `chain`'s blocks, every way: AddBlock,
// AddPreparedBlock of PreparedBlock::FromBlock and of PreparedBlock::FromJson
// (whose failures, like a bundle's, are at the block's position too), and
// CheckNextBlock against CheckNextBlockWithSignatureMath. All must agree.
std::string AddEveryWay(const TestChain& chain, const Block& block) {
  LedgerVerifier direct = VerifiedChain(chain);
  const absl::Status status = direct.AddBlock(block);

  LedgerVerifier from_block = VerifiedChain(chain);
  absl::StatusOr<PreparedBlock> prepared = PreparedBlock::FromBlock(block);
  EXPECT_EQ(prepared.ok() ? from_block.AddPreparedBlock(*prepared) : prepared.status(),
            status);
  if (prepared.ok()) {
    EXPECT_EQ(from_block.failure().has_value(), direct.failure().has_value());
    if (direct.failure().has_value() && from_block.failure().has_value()) {
      EXPECT_EQ(from_block.failure()->rule, direct.failure()->rule);
      EXPECT_EQ(from_block.failure()->block_position,
                direct.failure()->block_position);
    }
    EXPECT_EQ(from_block.block_count(), direct.block_count());
    EXPECT_EQ(CheckNextBlockWithSignatureMath(
                  chain.state(), block, SignatureStage::kComplete,
                  BlockRuleOptions(), prepared->signature_math()),
              CheckNextBlock(chain.state(), block, SignatureStage::kComplete,
                             BlockRuleOptions()));
  }

  LedgerVerifier from_json = VerifiedChain(chain);
  absl::StatusOr<PreparedBlock> parsed = PrepareFromJson(block);
  if (parsed.ok()) {
    EXPECT_EQ(from_json.AddPreparedBlock(*parsed), status);
  } else {
    // BlockFromJson finds the same broken rule.
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(std::string(parsed.status().message()).substr(0, 12),
              std::string(status.message()).substr(0, 12));
  }
  return status.ok() ? "OK" : FailureRule(status);
}

TEST(LedgerVerifierTest, PreparedBlocksGiveTheSameResultAsAddBlock) {
  TestChain chain(3, 2);
  chain.AppendEvents(2);
  const Block good = chain.Make({{"event", "x"}});
  EXPECT_EQ(AddEveryWay(chain, good), "OK");

  Block edited = good;  // Body changed after signing.
  edited.event["event"] = "y";
  EXPECT_THAT(AddEveryWay(chain, edited), StartsWith("fingerprint: "));

  Block bad_owner = good;
  bad_owner.signatures[1].sig = chain.blocks()[1].signatures[1].sig;
  EXPECT_THAT(AddEveryWay(chain, bad_owner), StartsWith("owner signatures: the signature by"));

  Block swapped = good;
  std::swap(swapped.signatures[0], swapped.signatures[1]);
  EXPECT_THAT(AddEveryWay(chain, swapped), StartsWith("owner signatures: keys must"));

  Block bad_host = good;
  bad_host.signatures.back().sig = chain.blocks()[1].signatures.back().sig;
  EXPECT_EQ(AddEveryWay(chain, bad_host),
            "host signature: signature does not verify");

  Block too_few = good;
  too_few.signatures.erase(too_few.signatures.begin());
  EXPECT_THAT(AddEveryWay(chain, too_few), StartsWith("threshold: "));

  Block stale = good;
  stale.previous = chain.blocks()[0].fingerprint;
  EXPECT_THAT(AddEveryWay(chain, chain.Reseal(stale)), StartsWith("previous: "));

  // A broken signature is not what fails when an earlier rule does.
  Block early = chain.Reseal(stale);
  early.signatures.back().sig = chain.blocks()[1].signatures.back().sig;
  EXPECT_THAT(AddEveryWay(chain, early), StartsWith("previous: "));
}

TEST(LedgerVerifierTest, PreparedBlockFromBlockChecksTheFingerprint) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.event["event"] = "edited after signing";
  absl::StatusOr<PreparedBlock> prepared = PreparedBlock::FromBlock(block);
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().message(),
            "fingerprint: is not the sha2-256 digest of the block body's JCS bytes");
}

TEST(LedgerVerifierTest, BlocksPreparedOnOtherThreadsAreAddedInOrder) {
  TestChain chain;
  chain.AppendEvents(40);
  const std::vector<Block>& blocks = chain.blocks();
  std::vector<absl::StatusOr<PreparedBlock>> prepared(
      blocks.size(), absl::UnknownError("not prepared"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < blocks.size(); i += 2) {
        prepared[i] = PrepareFromJson(blocks[i]);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  LedgerVerifier verifier(chain.ledger_id());
  for (size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_TRUE(prepared[i].ok()) << prepared[i].status();
    // Mixed with AddBlock: both kinds may feed one verifier.
    absl::Status status = i % 5 == 0 ? verifier.AddBlock(blocks[i])
                                     : verifier.AddPreparedBlock(*prepared[i]);
    ASSERT_TRUE(status.ok()) << status;
  }
  EXPECT_EQ(verifier.block_count(), blocks.size());
  EXPECT_EQ(verifier.state().head_fingerprint, chain.state().head_fingerprint);
  EXPECT_TRUE(verifier.AddCheckpoint(chain.SignedCheckpoint(41)).ok());
  EXPECT_TRUE(verifier.AddCheckpoint(chain.SignedCheckpoint(17)).ok());
}

TEST(LedgerVerifierTest, FailureRuleIsOneLineOfUtf8) {
  EXPECT_EQ(FailureRule(absl::InvalidArgumentError("alg: \"a\nb\r\"")),
            "alg: \"a\\x0Ab\\x0D\"");
  EXPECT_EQ(FailureRule(absl::InvalidArgumentError("cut \xC3")), "cut \\xC3");
  EXPECT_EQ(FailureRule(absl::InvalidArgumentError("caf\xC3\xA9 \xE2\x80\xA6")),
            "caf\xC3\xA9 \xE2\x80\xA6");
  EXPECT_EQ(FailureRule(absl::InvalidArgumentError("surrogate \xED\xA0\x80")),
            "surrogate \\xED\\xA0\\x80");
}

// Witness policies (SPEC §12): two witnesses, quorum given, no maximum age.
class WitnessedCheckpointTest : public testing::Test {
 protected:
  WitnessedCheckpointTest()
      : alice_(Signer("alice.example/w")), bob_(Signer("bob.example/w")) {
    chain_.AppendEvents(2);
  }

  static WitnessSigner Signer(absl::string_view name) {
    absl::StatusOr<SigningKey> key = SigningKey::Generate();
    EXPECT_TRUE(key.ok());
    absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
    EXPECT_TRUE(signer.ok()) << signer.status();
    return *std::move(signer);
  }

  LedgerVerifier Verifier(size_t quorum) {
    LedgerVerifier verifier = VerifiedChain(chain_);
    absl::StatusOr<WitnessPolicy> policy = WitnessPolicy::Create(
        {alice_.key(), bob_.key()}, quorum, std::nullopt, absl::Minutes(5));
    EXPECT_TRUE(policy.ok()) << policy.status();
    verifier.RequireWitnesses(*std::move(policy), now_);
    return verifier;
  }

  // The checkpoint of all blocks with a cosignature of each of `signers`.
  std::string Cosigned(const std::vector<const WitnessSigner*>& signers) {
    const std::string note = chain_.SignedCheckpoint();
    const std::string text = note.substr(0, note.find("\n\n") + 1);
    std::string cosigned = note;
    for (const WitnessSigner* signer : signers) {
      absl::StatusOr<std::string> line = signer->Cosign(
          text, static_cast<uint64_t>(absl::ToUnixSeconds(now_)));
      EXPECT_TRUE(line.ok()) << line.status();
      cosigned += *line;
    }
    return cosigned;
  }

  const absl::Time now_ = absl::FromUnixSeconds(1700000000);
  TestChain chain_;
  const WitnessSigner alice_;
  const WitnessSigner bob_;
};

TEST_F(WitnessedCheckpointTest, QuorumMetIsAccepted) {
  LedgerVerifier verifier = Verifier(2);
  EXPECT_FALSE(verifier.CheckWitnessedCheckpointSeen().ok());
  EXPECT_TRUE(verifier.AddCheckpoint(Cosigned({&alice_, &bob_})).ok());
  EXPECT_TRUE(verifier.CheckWitnessedCheckpointSeen().ok());
}

TEST_F(WitnessedCheckpointTest, QuorumNotMetFailsSayingHowFar) {
  LedgerVerifier verifier = Verifier(2);
  ExpectFailure(verifier, verifier.AddCheckpoint(Cosigned({&alice_, &alice_})), 0,
                "checkpoint: witnessed by 1 of 2 required witnesses");
  EXPECT_FALSE(verifier.CheckWitnessedCheckpointSeen().ok());
}

TEST_F(WitnessedCheckpointTest, FailingTrustedLineRejects) {
  std::string note = Cosigned({&alice_, &bob_});
  // Flip a bit in the last signature byte of bob's line (its last base64
  // character before the padding carries signature bits only).
  const size_t pad = note.rfind("==\n");
  ASSERT_NE(pad, std::string::npos);
  note[pad - 1] = note[pad - 1] == 'A' ? 'Q' : 'A';
  LedgerVerifier verifier = Verifier(1);
  ExpectFailure(verifier, verifier.AddCheckpoint(note), 0,
                "checkpoint: witness bob.example/w: cosignature does not verify");
}

TEST_F(WitnessedCheckpointTest, WithoutPolicyCosignaturesAreIgnored) {
  LedgerVerifier verifier = VerifiedChain(chain_);
  EXPECT_TRUE(verifier.AddCheckpoint(chain_.SignedCheckpoint()).ok());
  EXPECT_TRUE(verifier.CheckWitnessedCheckpointSeen().ok());
  LedgerVerifier empty = VerifiedChain(chain_);
  EXPECT_TRUE(empty.CheckWitnessedCheckpointSeen().ok());
}

}  // namespace
}  // namespace microledger
