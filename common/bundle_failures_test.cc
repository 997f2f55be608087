// Bundles that fail at a block: each SPEC §8 rule broken in a block line is
// reported at that block's position, in every worker mode.
#include "common/bundle_test_util.h"

#include <functional>
#include <utility>

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

// Every event, form and authority rule of SPEC §2-§5 that a correctly sealed
// and signed block can break fails at its block, with its rule's name (these
// bundles also feed tests/web:verifier_agreement_test's corpus).
TEST(BundleTest, EveryBlockRuleFailsAtItsBlock) {
  struct Case {
    std::function<Block(TestChain&)> make;  // The block after genesis + 1.
    std::string verdict_prefix;
  };
  const auto later = [](Json event) {
    return [event](TestChain& chain) { return chain.Reseal(chain.Make(event)); };
  };
  const std::string moved_key = TestChain().owner(0).public_key_text();
  const std::vector<Case> cases = {
      {later({{"event", "opened document"}, {"document type", "x"}}),
       "FAIL block 3: event opened document: only the genesis block may carry it"},
      {later({{"event", "transferred ownership"}}),
       "FAIL block 3: event transferred ownership: the block must carry the new controllers"},
      {later({{"event", "closed document"}, {"why", "done"}}),
       "FAIL block 3: event closed document: carries no member but \"event\""},
      {later({{"event", "moved document"}, {"new id", "jlinx:u"}}),
       "FAIL block 3: event moved document: has exactly the members"},
      {later({{"event", "moved document"}, {"new id", "jlinx:u"},
              {"new cryptographic signing key", moved_key}}),
       "FAIL block 3: event moved document: member \"new id\" must be a ledger id"},
      {later({{"event", "x"}, {"signature", "u"}}),
       "FAIL block 3: event: no event may carry a top-level member \"signature\""},
      {[](TestChain& chain) {
         return chain.Reseal(chain.Make({{"event", "x"}}, chain.all_owners(1)));
       },
       "FAIL block 3: controllers: only a \"transferred ownership\" block may carry"},
      {[](TestChain& chain) {
         Block block = chain.Make({{"event", "x"}});
         block.time = "2026-02-29T10:00:00.000Z";
         return chain.Reseal(block);
       },
       "FAIL block 3: time: time \"2026-02-29T10:00:00.000Z\" is not a calendar date"},
      {[](TestChain& chain) {
         Block block = chain.Make({{"event", "x"}});
         block.time = "2026-02-28T24:00:00.000Z";
         return chain.Reseal(block);
       },
       "FAIL block 3: time: time \"2026-02-28T24:00:00.000Z\" is not a time of day"},
      {[](TestChain& chain) {
         Block block = chain.Make({{"event", "x"}});
         block.time = "2026-02-28 10:00:00.000Z";
         return chain.Reseal(block);
       },
       "FAIL block 3: time: time \"2026-02-28 10:00:00.000Z\" is not in the required form"},
      {[](TestChain& chain) {
         Controllers twice = chain.all_owners(1);
         twice.keys.push_back(twice.keys[0]);
         return chain.Reseal(chain.Make({{"event", "transferred ownership"}}, twice));
       },
       "FAIL block 3: controllers: keys must be distinct"},
      {[](TestChain& chain) {
         return chain.Reseal(
             chain.Make({{"event", "transferred ownership"}}, chain.all_owners(2)));
       },
       "FAIL block 3: controllers: threshold must be a whole number from 1 to the "
       "number of keys"},
      {[](TestChain& chain) {
         const std::string seal = DigestText("a");
         return chain.Reseal(chain.Make({{"event", "x"}}, std::nullopt,
                                        std::vector<std::string>{seal, seal}));
       },
       "FAIL block 3: seals: seals must be distinct"},
      {[](TestChain& chain) {
         Block block = chain.Reseal(chain.Make({{"event", "x"}}));
         std::swap(block.signatures.front(), block.signatures.back());
         return block;
       },
       "FAIL block 3: signatures: owner signatures first, then exactly one host "
       "signature, last"},
      {[](TestChain& chain) {
         Block block = chain.Reseal(chain.Make({{"event", "x"}}));
         block.signatures.back().key = block.signatures.front().key;
         return block;
       },
       "FAIL block 3: host signature: is not by the ledger's host key"},
      {[](TestChain& chain) {
         Block block = chain.Reseal(chain.Make({{"event", "x"}}));
         block.signatures.clear();
         return block;
       },
       "FAIL block 3: signatures: the host signature is missing"},
  };
  for (const Case& test_case : cases) {
    TestChain chain;
    chain.AppendEvents(1);
    std::vector<Block> blocks = chain.blocks();
    blocks.push_back(test_case.make(chain));
    EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), blocks)),
                StartsWith(test_case.verdict_prefix));
  }
}

// The genesis event's rules (SPEC §3) fail at block 1.
TEST(BundleTest, EveryGenesisRuleFailsAtBlockOne) {
  const std::vector<std::pair<std::function<void(Block&, TestChain&)>, std::string>> cases = {
      {[](Block& block, TestChain&) { block.event = {{"event", "x"}}; },
       "FAIL block 1: genesis event: the genesis event must be \"opened document\" or "
       "\"became document\""},
      {[](Block& block, TestChain&) { block.controllers.reset(); },
       "FAIL block 1: controllers: the genesis block must carry controllers"},
      {[](Block& block, TestChain&) { block.event.erase("document type"); },
       "FAIL block 1: event opened document: member \"document type\" is required"},
      {[](Block& block, TestChain&) { block.event["document type"] = 7; },
       "FAIL block 1: event opened document: member \"document type\" must be a string"},
      {[](Block& block, TestChain&) { block.event["cryptographic signing key"] = "u"; },
       "FAIL block 1: event opened document: member \"cryptographic signing key\" must "
       "be an Ed25519 key"},
      {[](Block& block, TestChain& chain) {
         block.event["cryptographic signing key"] = chain.stranger(0).public_key_text();
       },
       "FAIL block 1: event opened document: \"cryptographic signing key\" must be one of "
       "controllers.keys"},
      {[](Block& block, TestChain&) { block.event["event"] = "became document"; },
       "FAIL block 1: event became document: member \"original id\" is required"},
  };
  for (const auto& [change, verdict_prefix] : cases) {
    TestChain chain;
    Block genesis = chain.MakeGenesis();
    change(genesis, chain);
    EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), {chain.Reseal(genesis)})),
                StartsWith(verdict_prefix));
  }
}

}  // namespace
}  // namespace bundle_test
}  // namespace microledger
