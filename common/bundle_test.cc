// Bundles that verify, the writer and the line reader, reading errors and
// progress (SPEC §9).
#include "common/bundle_test_util.h"

namespace microledger {
namespace bundle_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

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

}  // namespace
}  // namespace bundle_test
}  // namespace microledger
