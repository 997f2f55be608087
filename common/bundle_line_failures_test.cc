// Bundles that fail outside block lines: header, line order, line form,
// checkpoints and attachments (SPEC §9).
#include "common/bundle_test_util.h"

namespace microledger {
namespace bundle_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

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
}  // namespace bundle_test
}  // namespace microledger
