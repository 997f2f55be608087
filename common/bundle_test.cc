#include "common/bundle.h"

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/checkpoint.h"
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

struct TestAttachment {
  std::string seal;
  std::string name;
  std::string data;
};

std::string WriteBundle(absl::string_view ledger_id, const std::vector<Block>& blocks,
                        const std::vector<std::string>& checkpoints = {},
                        const std::vector<TestAttachment>& attachments = {}) {
  std::ostringstream out;
  BundleWriter writer(out);
  EXPECT_TRUE(writer.WriteHeader(ledger_id).ok());
  for (const Block& block : blocks) EXPECT_TRUE(writer.WriteBlock(block).ok());
  for (const std::string& note : checkpoints) {
    EXPECT_TRUE(writer.WriteCheckpoint(note).ok());
  }
  for (const TestAttachment& attachment : attachments) {
    EXPECT_TRUE(
        writer.WriteAttachment(attachment.seal, attachment.name, attachment.data).ok());
  }
  return out.str();
}

std::string BundleOf(const TestChain& chain) {
  return WriteBundle(chain.ledger_id(), chain.blocks());
}

BundleVerifyOptions Workers(int workers, size_t window_lines = 256) {
  BundleVerifyOptions options;
  options.workers = workers;
  options.window_lines = window_lines;
  return options;
}

// Serial verification, then parallel verification with several worker counts
// and windows (down to one line in flight), which must all agree.
const std::vector<BundleVerifyOptions>& AllModes() {
  static const auto* modes = new std::vector<BundleVerifyOptions>{
      Workers(1), Workers(0), Workers(2), Workers(2, 1), Workers(3, 2),
      Workers(4, 7)};
  return *modes;
}

// The verdict line of the bundle `text` with `options`.
std::string VerifyWith(const std::string& text, const BundleVerifyOptions& options) {
  std::istringstream in(text);
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in, nullptr, options);
  EXPECT_TRUE(verdict.ok()) << verdict.status();
  return verdict.ok() ? verdict->Line() : "";
}

// The verdict line of the bundle `text`, serially; every parallel mode must
// give the same line.
std::string Verify(const std::string& text) {
  const std::string serial = VerifyWith(text, Workers(1));
  for (const BundleVerifyOptions& options : AllModes()) {
    EXPECT_EQ(VerifyWith(text, options), serial)
        << "workers " << options.workers << ", window " << options.window_lines;
  }
  return serial;
}

// The lines of `text`, each without its "\n".
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// `lines`, each followed by "\n".
std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
  return text;
}

std::string OkLine(const TestChain& chain, size_t blocks) {
  return absl::StrCat("OK ", chain.ledger_id(), " ", blocks, " blocks");
}

// Bundles of valid ledgers.

TEST(BundleTest, VerifiesSingleOwnerLedgerWithCheckpoints) {
  TestChain chain;
  chain.AppendEvents(5);
  const std::string text = WriteBundle(
      chain.ledger_id(), chain.blocks(),
      {chain.SignedCheckpoint(6), chain.SignedCheckpoint(2), chain.SignedCheckpoint(6)});
  EXPECT_EQ(Verify(text), OkLine(chain, 6));
}

TEST(BundleTest, VerifiesTwoOfThreeMultisig) {
  TestChain chain(3, 2);
  chain.AppendEvents(3);
  EXPECT_EQ(Verify(BundleOf(chain)), OkLine(chain, 4));
}

TEST(BundleTest, VerifiesOwnershipTransfer) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "transferred ownership"}},
                          Controllers{2,
                                      {chain.stranger(0).public_key_text(),
                                       chain.stranger(1).public_key_text()}}));
  chain.Append(chain.Make({{"event", "signed by the new custodians"}}));
  EXPECT_EQ(Verify(BundleOf(chain)), OkLine(chain, 4));
}

TEST(BundleTest, VerifiesSealsWithAttachments) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("report"), DigestText("")}));
  const std::string text = WriteBundle(chain.ledger_id(), chain.blocks(),
                                       {chain.SignedCheckpoint(3)},
                                       {{DigestText("report"), "report.txt", "report"},
                                        {DigestText(""), "", ""},
                                        {DigestText("report"), "again", "report"}});
  EXPECT_EQ(Verify(text), OkLine(chain, 3));
}

TEST(BundleTest, VerifiesMovedDocumentAndSuccessor) {
  TestChain predecessor, successor;
  predecessor.AppendEvents(2);
  predecessor.MoveTo(successor);
  successor.AppendEvents(1);
  EXPECT_EQ(Verify(BundleOf(predecessor)), OkLine(predecessor, 4));
  EXPECT_EQ(Verify(BundleOf(successor)), OkLine(successor, 2));
}

TEST(BundleTest, VerifiesBundleWithoutBlocks) {
  TestChain chain;
  EXPECT_EQ(Verify(WriteBundle(chain.ledger_id(), {})), OkLine(chain, 0));
}

TEST(BundleTest, LastLineMayLackNewline) {
  TestChain chain;
  chain.AppendEvents(2);
  std::string text = BundleOf(chain);
  text.pop_back();
  EXPECT_EQ(Verify(text), OkLine(chain, 3));
}

TEST(BundleTest, WriterWritesJcsLines) {
  TestChain chain;
  chain.AppendEvents(0);
  const std::string seal = DigestText("");
  const std::vector<std::string> lines = Lines(WriteBundle(
      chain.ledger_id(), chain.blocks(), {chain.SignedCheckpoint(1)}, {{seal, "n", ""}}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], absl::StrCat("{\"bundle\":{\"format\":\"microledger-bundle-v1\","
                                   "\"ledger\":\"",
                                   chain.ledger_id(), "\"}}"));
  EXPECT_EQ(lines[1], absl::StrCat("{\"block\":", SerializeBlock(chain.blocks()[0]), "}"));
  EXPECT_THAT(lines[2],
              StartsWith(absl::StrCat("{\"checkpoint\":\"", chain.ledger_id(), "\\n1\\n")));
  EXPECT_EQ(lines[3], absl::StrCat("{\"attachment\":{\"data\":\"u\",\"name\":\"n\","
                                   "\"seal\":\"",
                                   seal, "\"}}"));
}

TEST(BundleTest, ReaderReportsWhetherTheLastLineEndedInNewline) {
  std::istringstream in("a\n\nb");
  BundleLineReader reader(in);
  std::string line;
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, "a");
  EXPECT_TRUE(reader.line_terminated());
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, "b");
  EXPECT_FALSE(reader.line_terminated());
  EXPECT_FALSE(*reader.Next(&line));
  EXPECT_FALSE(*reader.Next(&line));
  EXPECT_EQ(reader.lines_read(), 3u);
  EXPECT_EQ(reader.bytes_read(), 4u);
}

// Lines longer than the reader's limit are cut, not held, and the lines
// after them are read as usual, across the reader's 64 KiB chunks.
TEST(BundleTest, ReaderCutsLinesLongerThanItsLimit) {
  const size_t limit = 200 << 10;
  const std::string fits(limit, 'f'), too_long = "{\"block\":" + std::string(limit, 'x');
  std::istringstream in(fits + "\n" + too_long + "\nshort\n" + too_long);
  BundleLineReader reader(in, limit);
  std::string line;
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, fits);
  EXPECT_FALSE(reader.line_too_long());
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_TRUE(reader.line_too_long());
  EXPECT_TRUE(reader.line_terminated());
  EXPECT_EQ(line, too_long.substr(0, 16));
  EXPECT_LE(line.capacity(), limit);
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, "short");
  EXPECT_FALSE(reader.line_too_long());
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_TRUE(reader.line_too_long());
  EXPECT_FALSE(reader.line_terminated());
  EXPECT_FALSE(*reader.Next(&line));
  EXPECT_EQ(reader.lines_read(), 4u);
  EXPECT_EQ(reader.bytes_read(), fits.size() + 1 + too_long.size() + 1 + 6 + too_long.size());
}

TEST(BundleTest, ReaderLimitIsExact) {
  std::istringstream in("0123456789\n0123456789a\n0123456789");
  BundleLineReader reader(in, 10);
  std::string line;
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, "0123456789");
  EXPECT_FALSE(reader.line_too_long());
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_TRUE(reader.line_too_long());
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line, "0123456789");
  EXPECT_FALSE(reader.line_too_long());
  EXPECT_FALSE(*reader.Next(&line));
}

// A line longer than max_line_bytes fails at its position (SPEC §8): a block
// line at its block, any other line at block 0 with its line number.
TEST(BundleTest, TooLongLinesFailAtTheirPosition) {
  TestChain chain;
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "big"}, {"pad", std::string(5000, 'p')}}));
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText(std::string(5000, 'a'))}));
  const std::string big_block = WriteBundle(chain.ledger_id(), chain.blocks());
  const std::string big_attachment = WriteBundle(
      chain.ledger_id(), chain.blocks(), {chain.SignedCheckpoint(3)},
      {{DigestText(std::string(5000, 'a')), "a", std::string(5000, 'a')}});
  for (BundleVerifyOptions options : AllModes()) {
    options.max_line_bytes = 4096;
    EXPECT_EQ(VerifyWith(big_block, options),
              "FAIL block 3: line: is longer than 4096 bytes, the longest this verifier "
              "reads (mlctl verify --max_line_bytes)");
    options.max_line_bytes = 6000;
    EXPECT_EQ(VerifyWith(big_block, options), OkLine(chain, 4));
    EXPECT_THAT(VerifyWith(big_attachment, options),
                StartsWith("FAIL block 0: line: is longer than 6000 bytes"));
    EXPECT_THAT(VerifyWith(big_attachment, options), HasSubstr("(line 7)"));
  }
}

// The default limit, 16 MiB: a 17 MiB block line is a failure at its block.
TEST(BundleTest, DefaultLimitRefusesASeventeenMebibyteLine) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[2] = "{\"block\":{\"pad\":\"" + std::string(17 << 20, 'x') + "\"}}";
  EXPECT_EQ(VerifyWith(Join(lines), BundleVerifyOptions()),
            "FAIL block 2: line: is longer than 16777216 bytes, the longest this "
            "verifier reads (mlctl verify --max_line_bytes)");
}

// Failures in block lines are reported at the line's position among blocks.

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

TEST(BundleTest, EmptyFileFails) {
  EXPECT_THAT(Verify(""), StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, MissingHeaderFails) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.erase(lines.begin());
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, HeaderTwiceFails) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.insert(lines.begin() + 2, lines[0]);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: header: "));
  lines = Lines(BundleOf(chain));
  lines.insert(lines.begin() + 1, lines[0]);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, HeaderNotFirstFails) {
  TestChain chain;
  chain.AppendEvents(1);
  std::vector<std::string> lines =
      Lines(WriteBundle(chain.ledger_id(), chain.blocks(), {chain.SignedCheckpoint(2)}));
  std::swap(lines[0], lines[3]);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, UnknownLineKindFails) {
  TestChain chain;
  chain.AppendEvents(1);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.push_back("{\"note\":\"hello\"}");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: bundle line: "));
}

TEST(BundleTest, ExtraMemberInHeaderFails) {
  TestChain chain;
  chain.AppendEvents(1);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[0] = absl::StrCat(
      "{\"bundle\":{\"extra\":1,\"format\":\"microledger-bundle-v1\",\"ledger\":\"",
      chain.ledger_id(), "\"}}");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, ExtraMemberInHeaderWrapperFails) {
  TestChain chain;
  chain.AppendEvents(1);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines[0].insert(lines[0].size() - 1, ",\"extra\":1");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: bundle line: "));
}

TEST(BundleTest, WrongFormatFails) {
  TestChain chain;
  std::vector<std::string> lines = Lines(WriteBundle(chain.ledger_id(), {}));
  lines[0] = absl::StrCat(
      "{\"bundle\":{\"format\":\"microledger-bundle-v2\",\"ledger\":\"",
      chain.ledger_id(), "\"}}");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, HeaderWithInvalidLedgerIdFails) {
  EXPECT_THAT(Verify("{\"bundle\":{\"format\":\"microledger-bundle-v1\","
                     "\"ledger\":\"jlinx:uAAAA\"}}\n"),
              StartsWith("FAIL block 0: header: "));
}

TEST(BundleTest, InvalidUtf8OutsideBlockLinesFails) {
  TestChain chain;
  chain.AppendEvents(1);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.push_back("{\"checkpoint\":\"\xff\"}");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: json: "));
}

TEST(BundleTest, EmptyLineFails) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.insert(lines.begin() + 2, "");
  EXPECT_EQ(Verify(Join(lines)), "FAIL block 0: line: is empty (line 3)");
  EXPECT_THAT(Verify(BundleOf(chain) + "\n"), StartsWith("FAIL block 0: line: "));
}

TEST(BundleTest, CrlfFails) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines = Lines(BundleOf(chain));
  for (std::string& line : lines) line += "\r";
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: line: "));
}

TEST(BundleTest, BlockAfterCheckpointFails) {
  TestChain chain;
  chain.AppendEvents(2);
  std::vector<std::string> lines =
      Lines(WriteBundle(chain.ledger_id(), chain.blocks(), {chain.SignedCheckpoint(2)}));
  std::swap(lines[3], lines[4]);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: line order: "));
}

TEST(BundleTest, BlockAfterAttachmentFails) {
  TestChain chain;
  chain.AppendEvents(0);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("a")}));
  chain.AppendEvents(1);
  std::vector<std::string> lines = Lines(WriteBundle(
      chain.ledger_id(), chain.blocks(), {}, {{DigestText("a"), "a", "a"}}));
  std::swap(lines[3], lines[4]);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: line order: "));
}

TEST(BundleTest, CheckpointAfterAttachmentFails) {
  TestChain chain;
  chain.AppendEvents(0);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("a")}));
  std::vector<std::string> lines =
      Lines(WriteBundle(chain.ledger_id(), chain.blocks(), {chain.SignedCheckpoint(2)},
                        {{DigestText("a"), "a", "a"}}));
  std::swap(lines[3], lines[4]);
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: line order: "));
}

TEST(BundleTest, BadCheckpointFails) {
  TestChain chain, other;
  chain.AppendEvents(2);
  other.AppendEvents(2);
  Checkpoint wrong_root = *VerifyCheckpoint(chain.SignedCheckpoint(2), chain.ledger_id());
  wrong_root.tree_size = 3;
  Checkpoint beyond = wrong_root;
  beyond.tree_size = 4;
  for (const std::string& checkpoint :
       {other.SignedCheckpoint(2), chain.SignedCheckpoint(0),
        SignCheckpoint(beyond, chain.host()),
        SignCheckpoint(wrong_root, chain.host()),
        SignCheckpoint(wrong_root, other.host())}) {
    EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), chain.blocks(),
                                   {chain.SignedCheckpoint(3), checkpoint})),
                StartsWith("FAIL block 0: checkpoint: "));
  }
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.push_back("{\"checkpoint\":3}");
  EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: checkpoint: "));
}

TEST(BundleTest, CheckpointInBundleWithoutBlocksFails) {
  TestChain chain;
  chain.AppendEvents(0);
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), {}, {chain.SignedCheckpoint(1)})),
              StartsWith("FAIL block 0: checkpoint: "));
}

TEST(BundleTest, AttachmentNotMatchingAnySealFails) {
  TestChain chain;
  chain.AppendEvents(0);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("a")}));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), chain.blocks(), {},
                                 {{DigestText("b"), "b", "b"}})),
              StartsWith("FAIL block 0: attachment: "));
  EXPECT_THAT(Verify(WriteBundle(chain.ledger_id(), chain.blocks(), {},
                                 {{DigestText("a"), "a", "not a"}})),
              StartsWith("FAIL block 0: attachment: "));
}

TEST(BundleTest, MalformedAttachmentFails) {
  TestChain chain;
  chain.AppendEvents(0);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText("a")}));
  const std::string seal = DigestText("a");
  for (const std::string& attachment :
       {absl::StrCat("{\"attachment\":{\"data\":\"uYQ\",\"extra\":\"\",\"name\":\"a\","
                     "\"seal\":\"", seal, "\"}}"),
        absl::StrCat("{\"attachment\":{\"data\":\"uYQ\",\"seal\":\"", seal, "\"}}"),
        absl::StrCat("{\"attachment\":{\"data\":\"uYQ\",\"name\":1,\"seal\":\"", seal,
                     "\"}}"),
        absl::StrCat("{\"attachment\":{\"data\":\"uYR\",\"name\":\"a\",\"seal\":\"",
                     seal, "\"}}"),
        absl::StrCat("{\"attachment\":{\"data\":\"YQ\",\"name\":\"a\",\"seal\":\"", seal,
                     "\"}}")}) {
    std::vector<std::string> lines = Lines(BundleOf(chain));
    lines.push_back(attachment);
    EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: attachment: "))
        << attachment;
  }
  std::vector<std::string> lines = Lines(BundleOf(chain));
  lines.push_back(absl::StrCat("{\"attachment\":{\"data\":\"uYQ\",\"name\":\"a\","
                               "\"seal\":\"", seal, "\"}}"));
  EXPECT_EQ(Verify(Join(lines)), OkLine(chain, 2));
}

// Reading and progress.

// A stream buffer whose every read fails.
class FailingBuffer : public std::streambuf {
 protected:
  int_type underflow() override { throw std::runtime_error("read error"); }
};

TEST(BundleTest, UnreadableStreamIsAnErrorNotAVerdict) {
  for (const BundleVerifyOptions& options : AllModes()) {
    FailingBuffer buffer;
    std::istream failing(&buffer);
    EXPECT_FALSE(VerifyBundle(failing, nullptr, options).ok());

    std::istringstream failed("{}");
    failed.setstate(std::ios::failbit);
    EXPECT_FALSE(VerifyBundle(failed, nullptr, options).ok());
  }
}

// A stream buffer that serves `text`, then fails.
class FailingAfterBuffer : public std::streambuf {
 public:
  explicit FailingAfterBuffer(std::string text) : text_(std::move(text)) {
    setg(text_.data(), text_.data(), text_.data() + text_.size());
  }

 protected:
  int_type underflow() override { throw std::runtime_error("read error"); }

 private:
  std::string text_;
};

// A read error counts only when every line before it passes: a verifier that
// reads ahead must still report a failing line before it as the verdict.
TEST(BundleTest, ReadErrorAfterAFailingLineIsTheVerdict) {
  TestChain chain;
  chain.AppendEvents(20);
  std::vector<Block> blocks = chain.blocks();
  const std::string good = BundleOf(chain);
  blocks[4].signatures.back().sig = blocks[3].signatures.back().sig;
  const std::string bad = WriteBundle(chain.ledger_id(), blocks);
  for (const BundleVerifyOptions& options : AllModes()) {
    FailingAfterBuffer bad_buffer(bad);
    std::istream bad_in(&bad_buffer);
    absl::StatusOr<BundleVerdict> verdict = VerifyBundle(bad_in, nullptr, options);
    ASSERT_TRUE(verdict.ok()) << verdict.status();
    EXPECT_EQ(verdict->Line(), "FAIL block 5: host signature: signature does not verify");

    FailingAfterBuffer good_buffer(good);
    std::istream good_in(&good_buffer);
    EXPECT_FALSE(VerifyBundle(good_in, nullptr, options).ok());
  }
}

TEST(BundleTest, VerifiesLargeBundleWithProgress) {
  constexpr int kEvents = 20000;
  TestChain chain;
  chain.AppendEvents(kEvents - 1);
  std::stringstream bundle;
  BundleWriter writer(bundle);
  ASSERT_TRUE(writer.WriteHeader(chain.ledger_id()).ok());
  for (const Block& block : chain.blocks()) ASSERT_TRUE(writer.WriteBlock(block).ok());
  ASSERT_TRUE(writer.WriteCheckpoint(chain.SignedCheckpoint(kEvents)).ok());
  ASSERT_TRUE(writer.WriteCheckpoint(chain.SignedCheckpoint(12345)).ok());

  const std::string text = bundle.str();

  // Serially, then in parallel: the same verdict and the same progress calls.
  std::vector<uint64_t> serial_reports;
  std::istringstream serial_in(text);
  absl::StatusOr<BundleVerdict> serial = VerifyBundle(
      serial_in, [&](uint64_t blocks) { serial_reports.push_back(blocks); },
      Workers(1));
  ASSERT_TRUE(serial.ok()) << serial.status();
  EXPECT_EQ(serial->Line(), OkLine(chain, kEvents));

  std::vector<uint64_t> reports;
  std::istringstream in(text);
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(
      in, [&reports](uint64_t blocks) { reports.push_back(blocks); }, Workers(2));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->Line(), OkLine(chain, kEvents));
  EXPECT_EQ(reports, serial_reports);

  // The same bundle with its block 15000 broken: the same failure both ways.
  std::vector<std::string> lines = Lines(text);
  lines[15000] = "{\"block\":{}}";
  const std::string broken = Join(lines);
  const std::string parallel_line = VerifyWith(broken, Workers(2));
  EXPECT_EQ(parallel_line, VerifyWith(broken, Workers(1)));
  EXPECT_THAT(parallel_line, StartsWith("FAIL block 15000: "));
  // One report per kProgressBlockInterval blocks, and more for every
  // kProgressByteInterval bytes.
  ASSERT_GE(reports.size(), kEvents / kProgressBlockInterval);
  uint64_t milestones = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    if (reports[i] % kProgressBlockInterval == 0) ++milestones;
    if (i > 0) {
      EXPECT_GE(reports[i], reports[i - 1]);
    }
  }
  EXPECT_EQ(milestones, kEvents / kProgressBlockInterval);
  EXPECT_EQ(reports.back(), static_cast<uint64_t>(kEvents));
}

// SPEC §9: every line is the JCS serialisation of its object; a header,
// checkpoint or attachment line with one extra space is not, and fails as
// block 0 (§8), whatever it holds.
TEST(BundleTest, NonCanonicalLinesOutsideBlocksFail) {
  TestChain chain;
  chain.AppendEvents(1);
  const std::string data = "attached";
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText(data)}));
  const std::string checkpoint_line =
      CanonicalJson(Json{{"checkpoint", chain.SignedCheckpoint()}});
  const std::string attachment_line = CanonicalJson(
      Json{{"attachment",
            {{"seal", DigestText(data)}, {"name", "a"}, {"data", EncodeMultibase(data)}}}});
  const std::vector<std::string> valid = [&] {
    std::vector<std::string> lines = Lines(BundleOf(chain));
    lines.push_back(checkpoint_line);
    lines.push_back(attachment_line);
    return lines;
  }();
  ASSERT_THAT(Verify(Join(valid)), StartsWith("OK "));
  for (size_t index : {size_t{0}, valid.size() - 2, valid.size() - 1}) {
    std::vector<std::string> lines = valid;
    lines[index].insert(1, " ");
    EXPECT_THAT(Verify(Join(lines)), StartsWith("FAIL block 0: ")) << index;
  }
}

}  // namespace
}  // namespace microledger
