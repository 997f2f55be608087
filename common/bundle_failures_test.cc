// Bundles that fail at a block: each SPEC §8 rule broken in a block line is
// reported at that block's position, in every worker mode.
#include "common/bundle_test_util.h"

namespace microledger {
namespace bundle_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(BundleTest, BadFingerprintFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(4);
  std::vector<Block> blocks = chain.blocks();
  blocks[2].fingerprint = blocks[1].fingerprint;
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 3: fingerprint: "));
}

TEST(BundleTest, WrongPreviousFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.previous = chain.blocks()[0].fingerprint;
  std::vector<Block> blocks = chain.blocks();
  blocks.push_back(chain.Reseal(block));
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), blocks)),
            "FAIL block 3: previous: is not the fingerprint of block 2");
}

TEST(BundleTest, GapFailsAtThePositionNotTheClaimedNumber) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.number = 4;
  std::vector<Block> blocks = chain.blocks();
  blocks.push_back(chain.Reseal(block));
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), blocks)),
            "FAIL block 3: number: expected block 3, got 4");
}

TEST(BundleTest, NonCanonicalBlockLineFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(3);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[2] += " ";
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 2: canonical form: "));

  lines = Lines(BundleOf(chain));
  lines[3].insert(strlen("{\"block\":"), " ");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 3: canonical form: "));
}

TEST(BundleTest, InvalidJsonInBlockLineFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(3);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[3].resize(lines[3].size() / 2);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 3: json: "));
}

TEST(BundleTest, CarriageReturnInBlockLineFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[2] += "\r";
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 2: line: "));
}

TEST(BundleTest, BlockWrapperWithExtraMemberFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[2].insert(lines[2].size() - 1, ",\"extra\":1");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 2: bundle line: "));
}

TEST(BundleTest, BlockLineThatIsNotABlockFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[2] = "{\"block\":\"not a block\"}";
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 2: members: "));
}

TEST(BundleTest, BlockOfAnotherLedgerFailsAtItsBlock) {
  TestChain chain, other;
  chain.AppendEvents(2);
  other.AppendEvents(2);
  std::vector<Block> blocks = chain.blocks();
  blocks[1] = other.blocks()[1];
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 2: ledger: "));
}

TEST(BundleTest, HeaderNamingAnotherLedgerFailsAtBlockOne) {
  TestChain chain, other;
  chain.AppendEvents(2);
  EXPECT_THAT(Verify(WriteBundle(other.ledger_id(), chain.blocks())),
              StartsWith("FAIL block 1: ledger: "));
}

TEST(BundleTest, TimeGoingBackwardsFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(1);
  Block block = chain.Make({{"event", "x"}});
  block.time_millis = chain.state().head_time_millis - 1;
  block.time = FormatTimestampMillis(block.time_millis);
  std::vector<Block> blocks = chain.blocks();
  blocks.push_back(chain.Reseal(block));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 3: time: "));
}

TEST(BundleTest, BlockAfterClosedDocumentFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "closed document"}}));
  std::vector<Block> blocks = chain.blocks();
  blocks.push_back(chain.Make({{"event", "x"}}));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 4: terminal: "));
}

TEST(BundleTest, UnknownSignatureAlgorithmFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<Block> blocks = chain.blocks();
  blocks[1].signatures[0].alg = "Ed448";
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 2: alg: "));
}

TEST(BundleTest, UnknownMultihashFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<Block> blocks = chain.blocks();
  blocks[1].fingerprint = EncodeMultibase(absl::StrCat("\x13\x20", std::string(32, 'x')));
  const std::string verdict = Verify(WriteBundle(chain.ledger_id(), blocks));
  EXPECT_THAT(verdict, StartsWith("FAIL block 2: fingerprint: "));
  EXPECT_THAT(verdict, HasSubstr("unknown multihash"));
}

TEST(BundleTest, UnknownMultihashInSealFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(1);
  const std::string seal = EncodeMultibase(absl::StrCat("\x13\x20", std::string(32, 'x')));
  std::vector<Block> blocks = chain.blocks();
  blocks.push_back(
      chain.Make({{"event", "sealed"}}, std::nullopt, std::vector<std::string>{seal}));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 3: seals: "));
}

TEST(BundleTest, ThresholdNotMetFailsAtItsBlock) {
  TestChain chain(3, 2);
  chain.AppendEvents(1);
  std::vector<Block> blocks = chain.blocks();
  blocks.push_back(chain.Reseal(chain.Make({{"event", "x"}}), {&chain.owner(0)}));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith("FAIL block 3: threshold: "));
}

TEST(BundleTest, OwnerSignatureThatDoesNotVerifyFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<Block> blocks = chain.blocks();
  // A signature by the right key over another block.
  blocks[2].signatures[0].sig = blocks[1].signatures[0].sig;
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), blocks)),
            absl::StrCat("FAIL block 3: owner signatures: the signature by ",
                         chain.owner(0).public_key_text(), " does not verify"));
}

TEST(BundleTest, OwnerSignatureByAStrangerFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(1);
  std::vector<Block> blocks = chain.blocks();
  // A valid signature, by a key that does not control the ledger.
  blocks.push_back(chain.Reseal(chain.Make({{"event", "x"}}), {&chain.stranger(0)}));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
              StartsWith(absl::StrCat("FAIL block 3: owner signatures: key ",
                                      chain.stranger(0).public_key_text(),
                                      " is not an authorising controller")));
}

TEST(BundleTest, OwnerSignaturesOutOfOrderFailAtTheirBlock) {
  TestChain chain(3, 2);
  chain.AppendEvents(1);
  std::vector<Block> blocks = chain.blocks();
  Block block = chain.Reseal(chain.Make({{"event", "x"}}),
                             {&chain.owner(0), &chain.owner(1)});
  // Signatures are not in the body: swapping them keeps the fingerprint.
  std::swap(block.signatures[0], block.signatures[1]);
  blocks.push_back(block);
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), blocks)),
            "FAIL block 3: owner signatures: keys must be distinct and in "
            "ascending byte order");
}

TEST(BundleTest, HostSignatureThatDoesNotVerifyFailsAtItsBlock) {
  TestChain chain;
  chain.AppendEvents(3);
  std::vector<Block> blocks = chain.blocks();
  blocks[3].signatures.back().sig = blocks[2].signatures.back().sig;
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), blocks)),
            "FAIL block 4: host signature: signature does not verify");
}

TEST(BundleTest, HostSignatureByAnotherKeyFailsAtItsBlock) {
  TestChain chain, other;
  chain.AppendEvents(1);
  other.AppendEvents(1);
  std::vector<Block> blocks = chain.blocks();
  // A valid signature by the other ledger's host.
  blocks[1].signatures.back() = other.blocks()[1].signatures.back();
  blocks[1].signatures.back().sig = other.host().SignText(
      BlockSignedMessage(blocks[1].fingerprint));
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), blocks)),
            "FAIL block 2: host signature: is not by the ledger's host key");
}

// With several lines failing, the first in file order wins, whichever fails
// faster: here block 3 fails late (after all its signature math) and block 5
// and the last lines fail on their bytes.
TEST(BundleTest, FirstFailingLineWinsInEveryMode) {
  TestChain chain;
  chain.AppendEvents(40);
  std::vector<Block> blocks = chain.blocks();
  blocks[2].signatures.back().sig = blocks[1].signatures.back().sig;
  std::vector<std::string> lines = Lines(WriteBundle(chain.ledger_id(), blocks));
  lines[5] = "{\"block\":not json";
  lines[20] = "";
  lines.push_back("{\"checkpoint\":1}");
  const std::string text = Join(lines);
  EXPECT_EQ(Verify(text), "FAIL block 3: host signature: signature does not verify");

  // Without the first failure, the next one wins.
  blocks[2] = chain.blocks()[2];
  lines = Lines(WriteBundle(chain.ledger_id(), blocks));
  lines[5] = "{\"block\":not json";
  lines[20] = "";
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 5: json: "));

  // Then the empty line, not a block line: block 0.
  lines = Lines(WriteBundle(chain.ledger_id(), chain.blocks()));
  lines[20] = "";
  EXPECT_EQ(Verify(Join(lines)), "FAIL block 0: line: is empty (line 21)");
}

// Many bundles, each with one block broken in one way at a random-ish
// position: serial and parallel verdicts are the same line.
TEST(BundleTest, ParallelAndSerialVerdictsAgreeOnManyBundles) {
  TestChain chain(3, 2);
  chain.AppendEvents(30);
  const std::vector<Block>& good = chain.blocks();
  const std::string valid = WriteBundle(chain.ledger_id(), good,
                                        {chain.SignedCheckpoint(31), chain.SignedCheckpoint(7)});
  EXPECT_EQ(Verify(valid), OkLine(chain, 31));
  int checked = 0;
  for (size_t position : {0, 1, 2, 9, 17, 30}) {
    for (int breakage = 0; breakage < 8; ++breakage) {
      std::vector<Block> blocks = good;
      Block& block = blocks[position];
      switch (breakage) {
        case 0: block.signatures.front().sig = good[(position + 1) % good.size()].signatures.front().sig; break;
        case 1: block.signatures.back().sig = good[(position + 1) % good.size()].signatures.back().sig; break;
        case 2: block.fingerprint = good[(position + 1) % good.size()].fingerprint; break;
        case 3: block.event["event"] = "changed after signing"; break;
        case 4: std::swap(block.signatures[0], block.signatures[1]); break;
        case 5: block.signatures.erase(block.signatures.begin()); break;
        case 6: block.time = "2000-01-01T00:00:00.000Z"; block = chain.Reseal(block); break;
        case 7: block.ledger = "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; break;
      }
      std::vector<std::string> lines = Lines(WriteBundle(
          chain.ledger_id(), blocks, {chain.SignedCheckpoint(31)}));
      // A later line broken too, which must not win.
      lines.back() = "{\"checkpoint\":\"x\"}";
      const std::string line = Verify(Join(lines));
      EXPECT_THAT(line, StartsWith("FAIL block ")) << breakage;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 48);
}

TEST(BundleTest, WrapperIsNotCountedInTheDepthLimit) {
  TestChain chain;
  chain.AppendEvents(0);
  // The block is level 1 and its event level 2, so `arrays` nested arrays
  // reach level 2 + arrays.
  const auto with_nesting = [&chain](int arrays) {
    Json nested = Json::array();
    for (int i = 1; i < arrays; ++i) nested = Json::array({nested});
    std::vector<Block> blocks = chain.blocks();
    blocks.push_back(chain.Make({{"event", "deep"}, {"value", nested}}));
    return WriteBundle(chain.ledger_id(), blocks);
  };
  EXPECT_EQ(Verify(with_nesting(30)), OkLine(chain, 2));
  EXPECT_THAT(Verify(with_nesting(31)), StartsWith("FAIL block 2: json: "));
}

// Failures outside block lines are reported at block 0.

}  // namespace
}  // namespace bundle_test
}  // namespace microledger
