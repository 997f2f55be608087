#include "common/evidence.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/block.h"
#include "common/block_builder.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/test_chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A `leaves` side as §11 writes it.
Json LeafJson(const LeafClaim& claim) {
  Json proof = Json::array();
  for (const MerkleHash& hash : claim.proof) proof.push_back(EncodeMultibase(MerkleHashBytes(hash)));
  return {{"checkpoint", claim.checkpoint},
          {"index", static_cast<double>(claim.index)},
          {"leaf", claim.leaf},
          {"proof", std::move(proof)}};
}

// The message of `bytes`' rejection ("" if accepted).
std::string Rejection(absl::string_view bytes) {
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes);
  if (info.ok()) return "";
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(info.status().message());
}

// An evidence object with `a` and `b` as given (not reordered, not validated).
std::string RawEvidence(absl::string_view ledger, absl::string_view kind, Json a, Json b) {
  return CanonicalJson(Json{{"evidence", std::string(kEvidenceFormat)},
                            {"ledger", std::string(ledger)},
                            {"kind", std::string(kind)},
                            {"a", std::move(a)},
                            {"b", std::move(b)}});
}

// The same with `a` and `b` in the order §11 requires.
std::string SortedEvidence(absl::string_view ledger, absl::string_view kind, Json x,
                           Json y) {
  if (CanonicalJson(y) < CanonicalJson(x)) std::swap(x, y);
  return RawEvidence(ledger, kind, std::move(x), std::move(y));
}

// `bytes` (an evidence object) after `mutate` edits its JSON.
template <typename Mutate>
std::string Mutated(absl::string_view bytes, Mutate mutate) {
  Json json = *ParseJson(bytes, kMaxJsonDepth + 1);
  mutate(json);
  return CanonicalJson(json);
}

// `block` (JSON) with its fingerprint recomputed and its last signature
// replaced by one of `host`: a block that breaks only the rule a test broke.
Json Resealed(Json block, const SigningKey& host) {
  const std::string fingerprint = DigestText(BlockJcs(block).without);
  block["fingerprint"] = fingerprint;
  Json& signatures = block["signatures"];
  if (!signatures.is_array() || signatures.empty()) return block;
  Json& last = signatures.back();
  last["key"] = host.public_key_text();
  last["sig"] = host.SignText(BlockSignedMessage(fingerprint));
  return block;
}

// Two owners (threshold 1), three blocks, then a fork at block 4: `left_` and
// `right_` are two different blocks 4 signed by the one host key.
class EvidenceTest : public testing::Test {
 protected:
  void SetUp() override {
    chain_.AppendEvents(2);
    left_ = chain_.Make({{"event", "paid"}, {"to", "alice"}});
    right_ = chain_.Make({{"event", "paid"}, {"to", "mallory"}});
  }

  const std::string& ledger() const { return chain_.ledger_id(); }

  // The leaves (raw multihash of each fingerprint) of the chain then `extra`.
  MemoryMerkleTree Tree(const std::vector<std::string>& extra_fingerprints) const {
    MemoryMerkleTree tree;
    for (const Block& block : chain_.blocks()) tree.AppendLeaf(*DecodeDigest(block.fingerprint));
    for (const std::string& fingerprint : extra_fingerprints) {
      tree.AppendLeaf(*DecodeDigest(fingerprint));
    }
    return tree;
  }
  MemoryMerkleTree LeftTree() const {
    return Tree({left_.fingerprint, DigestText("block 5 of the left history")});
  }
  MemoryMerkleTree RightTree() const { return Tree({right_.fingerprint}); }

  std::string Note(const MemoryMerkleTree& tree, uint64_t size,
                   const SigningKey* key = nullptr) const {
    return SignCheckpoint({ledger(), size, *MerkleRootAt(tree, size)},
                          key == nullptr ? chain_.host() : *key);
  }

  LeafClaim Claim(const MemoryMerkleTree& tree, uint64_t size, uint64_t index,
                  const std::string& leaf) const {
    return {Note(tree, size), index, leaf, *MerkleInclusionProof(tree, index, size)};
  }
  LeafClaim LeftClaim() const { return Claim(LeftTree(), 5, 3, left_.fingerprint); }
  LeafClaim RightClaim() const { return Claim(RightTree(), 4, 3, right_.fingerprint); }

  std::string ValidCheckpoints() const {
    return *BuildCheckpointsEvidence(ledger(), Note(LeftTree(), 4), Note(RightTree(), 4));
  }
  std::string ValidBlocks() const {
    return *BuildBlocksEvidence(ledger(), SerializeBlock(left_), SerializeBlock(right_));
  }
  std::string ValidLeaves() const {
    return *BuildLeavesEvidence(ledger(), LeftClaim(), RightClaim());
  }

  // Blocks evidence of `x` and `y` (JSON), sorted, not validated.
  std::string Blocks(Json x, Json y) const {
    return SortedEvidence(ledger(), "blocks", std::move(x), std::move(y));
  }
  // Blocks evidence of `right_` and `left_` after `mutate` and resealing.
  template <typename Mutate>
  std::string BlocksWithLeft(Mutate mutate) const {
    Json block = BlockJson(left_);
    mutate(block);
    return Blocks(Resealed(std::move(block), chain_.host()), BlockJson(right_));
  }

  // Leaves evidence of RightClaim() and LeftClaim() as JSON after `mutate`.
  template <typename Mutate>
  std::string LeavesWithLeft(Mutate mutate) const {
    Json json = *ParseJson(ValidLeaves());
    Json& left = json["a"]["leaf"] == left_.fingerprint ? json["a"] : json["b"];
    mutate(left);
    return SortedEvidence(ledger(), "leaves", json["a"], json["b"]);
  }

  TestChain chain_{2, 1};
  Block left_;
  Block right_;
};

// --- Valid evidence of each kind; ids; builders. ---

TEST_F(EvidenceTest, CheckpointsEvidenceIsValid) {
  const std::string bytes = ValidCheckpoints();
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->ledger, ledger());
  EXPECT_EQ(info->kind, EvidenceKind::kCheckpoints);
  EXPECT_EQ(info->id, EvidenceId(bytes));
  EXPECT_THAT(bytes, StartsWith("{\"a\":\"jlinx:"));
}

TEST_F(EvidenceTest, BlocksEvidenceIsValid) {
  const std::string bytes = ValidBlocks();
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, EvidenceKind::kBlocks);
  EXPECT_EQ(info->ledger, ledger());
}

TEST_F(EvidenceTest, LeavesEvidenceOfTwoSizesIsValid) {
  const std::string bytes = ValidLeaves();
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, EvidenceKind::kLeaves);
}

TEST_F(EvidenceTest, LeavesEvidenceOfEqualSizesIsValid) {
  const LeafClaim left = Claim(LeftTree(), 4, 3, left_.fingerprint);
  absl::StatusOr<std::string> bytes = BuildLeavesEvidence(ledger(), left, RightClaim());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
}

TEST_F(EvidenceTest, LeavesEvidenceOfATreeOfOneLeafHasAnEmptyProof) {
  // Two genesis blocks: a fork at index 0, each in a tree of size 1.
  const Block genesis_2 = chain_.Reseal([&] {
    Block block = chain_.blocks()[0];
    block.event["document type"] = "another document";
    return block;
  }());
  MemoryMerkleTree first, second;
  first.AppendLeaf(*DecodeDigest(chain_.blocks()[0].fingerprint));
  second.AppendLeaf(*DecodeDigest(genesis_2.fingerprint));
  const LeafClaim one = Claim(first, 1, 0, chain_.blocks()[0].fingerprint);
  const LeafClaim two = Claim(second, 1, 0, genesis_2.fingerprint);
  EXPECT_TRUE(one.proof.empty());
  absl::StatusOr<std::string> bytes = BuildLeavesEvidence(ledger(), one, two);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
}

TEST_F(EvidenceTest, EvidenceIdIsTheDigestOfTheBytes) {
  const std::string bytes = ValidBlocks();
  EXPECT_EQ(EvidenceId(bytes), DigestText(bytes));
  EXPECT_EQ(ValidateEvidence(bytes)->id, DigestText(bytes));
  EXPECT_EQ(DecodeDigest(EvidenceId(bytes))->size(), kSha256MultihashSize);
  EXPECT_NE(EvidenceId(bytes), EvidenceId(ValidCheckpoints()));
}

TEST_F(EvidenceTest, BuildersOrderTheirInputs) {
  EXPECT_EQ(*BuildCheckpointsEvidence(ledger(), Note(RightTree(), 4), Note(LeftTree(), 4)),
            ValidCheckpoints());
  EXPECT_EQ(*BuildBlocksEvidence(ledger(), SerializeBlock(right_), SerializeBlock(left_)),
            ValidBlocks());
  EXPECT_EQ(*BuildLeavesEvidence(ledger(), RightClaim(), LeftClaim()), ValidLeaves());
}

TEST_F(EvidenceTest, BuildersRefuseWhatIsNotEquivocation) {
  const std::string note = Note(LeftTree(), 4);
  EXPECT_FALSE(BuildCheckpointsEvidence(ledger(), note, note).ok());
  EXPECT_FALSE(BuildCheckpointsEvidence(ledger(), Note(LeftTree(), 4), Note(LeftTree(), 5)).ok());
  EXPECT_FALSE(
      BuildBlocksEvidence(ledger(), SerializeBlock(left_), SerializeBlock(left_)).ok());
  EXPECT_FALSE(BuildLeavesEvidence(ledger(), LeftClaim(), LeftClaim()).ok());
  TestChain other;
  EXPECT_FALSE(BuildCheckpointsEvidence(other.ledger_id(), Note(LeftTree(), 4),
                                        Note(RightTree(), 4))
                   .ok());
}

TEST_F(EvidenceTest, BuildBlocksEvidenceRefusesBlocksThatAreNotJcsBytes) {
  const std::string spaced = " " + SerializeBlock(left_);
  absl::StatusOr<std::string> built =
      BuildBlocksEvidence(ledger(), spaced, SerializeBlock(right_));
  ASSERT_FALSE(built.ok());
  EXPECT_THAT(std::string(built.status().message()), HasSubstr("block 1 is not JCS bytes"));
  EXPECT_FALSE(BuildBlocksEvidence(ledger(), "{", SerializeBlock(right_)).ok());
}

TEST_F(EvidenceTest, BuildLeavesEvidenceRefusesAnIndexThatNoJsonNumberHolds) {
  LeafClaim left = LeftClaim();
  left.index = (uint64_t{1} << 53) + 1;
  absl::StatusOr<std::string> built = BuildLeavesEvidence(ledger(), left, RightClaim());
  ASSERT_FALSE(built.ok());
  EXPECT_THAT(std::string(built.status().message()), HasSubstr("not exact as a JSON number"));
}

// --- The object: bytes, members, format, ledger, kind, size, order. ---

TEST_F(EvidenceTest, RejectsNonCanonicalBytes) {
  const std::string bytes = ValidCheckpoints();
  // Whitespace, and the members out of JCS order: the same value, other bytes.
  EXPECT_THAT(Rejection("{ " + bytes.substr(1)), HasSubstr("evidence: canonical form"));
  Json json = *ParseJson(bytes);
  const size_t ledger_at = bytes.find(",\"ledger\":");
  const std::string reordered =
      absl::StrCat("{", bytes.substr(ledger_at + 1, bytes.size() - ledger_at - 2), ",",
                   bytes.substr(1, ledger_at - 1), "}");
  ASSERT_EQ(*ParseJson(reordered), json);
  EXPECT_THAT(Rejection(reordered), HasSubstr("evidence: canonical form"));
  // An escape JCS does not use.
  std::string escaped = bytes;
  escaped.replace(escaped.find("\"kind\""), 6, "\"\\u006bind\"");
  EXPECT_THAT(Rejection(escaped), HasSubstr("evidence: canonical form"));
}

TEST_F(EvidenceTest, RejectsByteOrderMark) {
  EXPECT_THAT(Rejection("\xEF\xBB\xBF" + ValidCheckpoints()), StartsWith("evidence: json"));
}

TEST_F(EvidenceTest, RejectsTrailingNewline) {
  EXPECT_THAT(Rejection(ValidCheckpoints() + "\n"), HasSubstr("evidence: canonical form"));
}

TEST_F(EvidenceTest, RejectsNonJson) {
  EXPECT_THAT(Rejection(""), StartsWith("evidence: json"));
  EXPECT_THAT(Rejection("[]"), HasSubstr("evidence: members: must be a JSON object"));
}

TEST_F(EvidenceTest, RejectsAMissingMember) {
  for (const char* name : {"evidence", "ledger", "kind", "a", "b"}) {
    EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(), [&](Json& j) { j.erase(name); })),
                HasSubstr(absl::StrCat("evidence: members: member \"", name,
                                       "\" is missing")))
        << name;
  }
}

TEST_F(EvidenceTest, RejectsAnExtraMember) {
  EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(), [](Json& j) { j["c"] = "x"; })),
              HasSubstr("evidence: members: unknown member \"c\""));
}

TEST_F(EvidenceTest, RejectsAnotherFormat) {
  EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(),
                                [](Json& j) { j["evidence"] = "microledger-equivocation-v2"; })),
              HasSubstr("evidence: format"));
  EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(), [](Json& j) { j["evidence"] = 1; })),
              HasSubstr("evidence: format"));
}

TEST_F(EvidenceTest, RejectsALedgerThatIsNotALedgerId) {
  for (const Json& ledger :
       {Json("jlinx:uAAAA"), Json("did:" + chain_.host().public_key_text()), Json(7)}) {
    EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(), [&](Json& j) { j["ledger"] = ledger; })),
                HasSubstr("evidence: ledger: "))
        << ledger;
  }
}

TEST_F(EvidenceTest, RejectsAnUnknownKind) {
  for (const Json& kind : {Json("Checkpoints"), Json("forks"), Json(1)}) {
    EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(), [&](Json& j) { j["kind"] = kind; })),
                HasSubstr("evidence: kind: "))
        << kind;
  }
}

TEST_F(EvidenceTest, RejectsAKindThatDoesNotMatchTheValues) {
  EXPECT_THAT(Rejection(Mutated(ValidCheckpoints(), [](Json& j) { j["kind"] = "blocks"; })),
              HasSubstr("evidence a: members"));
  EXPECT_THAT(Rejection(Mutated(ValidBlocks(), [](Json& j) { j["kind"] = "leaves"; })),
              HasSubstr("evidence a: members"));
  EXPECT_THAT(Rejection(Mutated(ValidLeaves(), [](Json& j) { j["kind"] = "checkpoints"; })),
              HasSubstr("evidence a: checkpoint: must be a string"));
}

// Blocks evidence of `left` padded with `pad` bytes in its event.
class EvidenceSizeTest : public EvidenceTest {
 protected:
  std::string PaddedBlocks(size_t pad) const {
    const Block padded = chain_.Make({{"event", "paid"}, {"pad", std::string(pad, 'x')}});
    return Blocks(BlockJson(padded), BlockJson(right_));
  }
};

TEST_F(EvidenceSizeTest, LimitIs65536BytesInclusive) {
  const size_t base = PaddedBlocks(0).size();
  ASSERT_LT(base, kMaxEvidenceBytes);
  const std::string at_limit = PaddedBlocks(kMaxEvidenceBytes - base);
  ASSERT_EQ(at_limit.size(), 65536u);
  EXPECT_EQ(Rejection(at_limit), "");
  const std::string over = PaddedBlocks(kMaxEvidenceBytes - base + 1);
  ASSERT_EQ(over.size(), 65537u);
  EXPECT_THAT(Rejection(over), HasSubstr("evidence: size: 65537 bytes"));

  const Block padded = chain_.Make(
      {{"event", "paid"}, {"pad", std::string(kMaxEvidenceBytes - base + 1, 'x')}});
  absl::StatusOr<std::string> built =
      BuildBlocksEvidence(ledger(), SerializeBlock(padded), SerializeBlock(right_));
  ASSERT_FALSE(built.ok());
  EXPECT_THAT(std::string(built.status().message()), HasSubstr("evidence: size"));
}

TEST_F(EvidenceTest, RejectsBAfterA) {
  Json json = *ParseJson(ValidCheckpoints());
  EXPECT_THAT(Rejection(RawEvidence(ledger(), "checkpoints", json["b"], json["a"])),
              HasSubstr("evidence: order"));
}

TEST_F(EvidenceTest, RejectsEqualAAndB) {
  const std::string note = Note(LeftTree(), 4);
  EXPECT_THAT(Rejection(RawEvidence(ledger(), "checkpoints", note, note)),
              HasSubstr("evidence: order"));
}

TEST_F(EvidenceTest, OrderIsUnsignedBytesNotUtf16) {
  // U+E000 is EE 80 80 in UTF-8 and 0xE000 in UTF-16; U+10000 is F0 90 80 80
  // and the surrogates D800 DC00. Bytes put U+E000 first, UTF-16 U+10000.
  const Block private_use = chain_.Make({{"event", "\xEE\x80\x80"}});
  const Block supplementary = chain_.Make({{"event", "\xF0\x90\x80\x80"}});
  const std::string bytes = *BuildBlocksEvidence(ledger(), SerializeBlock(supplementary),
                                                 SerializeBlock(private_use));
  Json json = *ParseJson(bytes);
  EXPECT_EQ(json["a"]["fingerprint"], private_use.fingerprint);
  EXPECT_EQ(Rejection(bytes), "");
  EXPECT_THAT(Rejection(RawEvidence(ledger(), "blocks", BlockJson(supplementary),
                                    BlockJson(private_use))),
              HasSubstr("evidence: order"));
}

TEST_F(EvidenceTest, AProperPrefixSortsFirst) {
  // "1" is a proper prefix of "12": passes the order rule (and fails the kind's).
  EXPECT_THAT(Rejection(RawEvidence(ledger(), "checkpoints", 1, 12)),
              HasSubstr("evidence a: checkpoint: must be a string"));
  EXPECT_THAT(Rejection(RawEvidence(ledger(), "checkpoints", 12, 1)),
              HasSubstr("evidence: order"));
}

TEST_F(EvidenceTest, NestingLimitDoesNotCountTheEvidenceObject) {
  // A block is level 1, its event level 2: `arrays` nested arrays in the event
  // make a block of depth 2 + arrays.
  const auto deep_block = [&](int arrays) {
    Json deep = Json::array();
    for (int i = 1; i < arrays; ++i) {
      Json outer = Json::array();
      outer.push_back(std::move(deep));
      deep = std::move(outer);
    }
    return chain_.Make({{"event", "deep"}, {"deep", std::move(deep)}});
  };
  const Block at_limit = deep_block(kMaxJsonDepth - 2);
  ASSERT_TRUE(ParseBlock(SerializeBlock(at_limit), SignatureStage::kComplete).ok());
  EXPECT_EQ(Rejection(Blocks(BlockJson(at_limit), BlockJson(right_))), "");

  const Block too_deep = deep_block(kMaxJsonDepth - 1);
  ASSERT_FALSE(ParseBlock(SerializeBlock(too_deep), SignatureStage::kComplete).ok());
  EXPECT_THAT(Rejection(Blocks(BlockJson(too_deep), BlockJson(right_))),
              StartsWith("evidence: json"));
}

TEST_F(EvidenceTest, ErrorsQuoteAtMost200BytesOfInput) {
  const std::string long_name(10000, 'n');
  const std::string message =
      Rejection(Mutated(ValidCheckpoints(), [&](Json& j) { j[long_name] = 1; }));
  EXPECT_THAT(message, HasSubstr("unknown member"));
  EXPECT_LT(message.size(), 400u);
  EXPECT_LT(Rejection(Mutated(ValidCheckpoints(), [&](Json& j) { j["kind"] = long_name; }))
                .size(),
            400u);
}

// --- kind checkpoints ---

TEST_F(EvidenceTest, CheckpointsMustBeNoteStrings) {
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "checkpoints", Note(LeftTree(), 4),
                                       Json::object({{"note", Note(RightTree(), 4)}}))),
              ContainsRegex("^evidence [ab]: checkpoint: must be a string"));
}

TEST_F(EvidenceTest, CheckpointsMustVerifyByTheLedgerKey) {
  const SigningKey& stranger = chain_.stranger(0);
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "checkpoints", Note(LeftTree(), 4),
                                       Note(RightTree(), 4, &stranger))),
              ContainsRegex("^evidence [ab]: checkpoint: "));
  // A ledger-key line that does not verify.
  std::string tampered = Note(RightTree(), 4);
  tampered[tampered.size() - 6] = tampered[tampered.size() - 6] == 'A' ? 'B' : 'A';
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "checkpoints", Note(LeftTree(), 4), tampered)),
              ContainsRegex("^evidence [ab]: checkpoint: "));
}

TEST_F(EvidenceTest, CheckpointsMustHaveTheLedgerAsOrigin) {
  // Notes of this ledger in evidence naming another ledger, and the other way.
  TestChain other;
  EXPECT_THAT(Rejection(SortedEvidence(other.ledger_id(), "checkpoints", Note(LeftTree(), 4),
                                       Note(RightTree(), 4))),
              ContainsRegex("^evidence a: checkpoint: .*origin"));
  const std::string other_note =
      SignCheckpoint({other.ledger_id(), 4, *MerkleRootAt(RightTree(), 4)}, other.host());
  EXPECT_THAT(
      Rejection(SortedEvidence(ledger(), "checkpoints", Note(LeftTree(), 4), other_note)),
      ContainsRegex("^evidence [ab]: checkpoint: .*origin"));
}

TEST_F(EvidenceTest, CheckpointsMustNotBeOfTheEmptyTree) {
  // Size 0, two roots, both signed: not evidence.
  const std::string zero_1 = SignCheckpoint({ledger(), 0, LeftTree().Root()}, chain_.host());
  const std::string zero_2 = SignCheckpoint({ledger(), 0, RightTree().Root()}, chain_.host());
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "checkpoints", zero_1, zero_2)),
              ContainsRegex("^evidence a: checkpoint: tree size 0"));
}

TEST_F(EvidenceTest, CheckpointsMustHaveTheSameTreeSize) {
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "checkpoints", Note(LeftTree(), 5),
                                       Note(RightTree(), 4))),
              HasSubstr("evidence: checkpoints: tree sizes differ"));
}

TEST_F(EvidenceTest, CheckpointsMustHaveDifferentRoots) {
  // One checkpoint, with and without a witness line: two notes, one root.
  const std::string note = Note(LeftTree(), 4);
  const std::string witnessed =
      note + "\xE2\x80\x94 witness.example " + EncodeBase64Std(std::string(72, 'w')) + "\n";
  ASSERT_TRUE(VerifyCheckpoint(witnessed, ledger()).ok());
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "checkpoints", note, witnessed)),
              HasSubstr("evidence: checkpoints: the roots are equal"));
}

// --- kind blocks: the §2 form, checked on its own ---

TEST_F(EvidenceTest, BlocksMustBeObjectsWithTheBlockMembers) {
  EXPECT_THAT(Rejection(BlocksWithLeft([](Json& b) { b["extra"] = 1; })),
              ContainsRegex("^evidence [ab]: members: .*unknown member \"extra\""));
  EXPECT_THAT(Rejection(Blocks("block", BlockJson(right_))),
              ContainsRegex("^evidence [ab]: members: a block is a JSON object"));
}

TEST_F(EvidenceTest, BlocksMustHaveMembersOfTheirKindsAndEncodings) {
  const std::string owner = chain_.owner(0).public_key_text();
  const std::string digest = DigestText("seal");
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> cases = {
      {"ledger", [](Json& b) { b["ledger"] = "jlinx:uAAAA"; }},
      {"number", [](Json& b) { b["number"] = 4.5; }},
      {"number", [](Json& b) { b["number"] = "4"; }},
      {"previous", [](Json& b) { b["previous"] = "uAAAA"; }},
      {"time", [](Json& b) { b["time"] = "2026-11-22T10:04:05Z"; }},
      {"time", [](Json& b) { b.erase("time"); }},
      {"controllers", [](Json& b) { b["controllers"] = {{"threshold", 1}}; }},
      {"controllers", [&](Json& b) { b["controllers"] = {{"threshold", 2}, {"keys", {owner}}}; }},
      {"controllers", [&](Json& b) { b["controllers"] = {{"threshold", 1}, {"keys", {owner, owner}}}; }},
      {"controllers", [](Json& b) { b["controllers"] = {{"threshold", 1}, {"keys", {"uAAAA"}}}; }},
      {"seals", [](Json& b) { b["seals"] = {"x"}; }},
      {"seals", [&](Json& b) { b["seals"] = {digest, digest}; }},
      {"event", [](Json& b) { b["event"] = "paid"; }},
      {"event", [](Json& b) { b["event"] = {{"to", "alice"}}; }},
      {"event", [](Json& b) { b.erase("event"); }},
      {"signatures", [](Json& b) { b["signatures"] = Json::object(); }},
  };
  for (const auto& test_case : cases) {
    const auto& rule = test_case.first;
    const auto& mutate = test_case.second;
    EXPECT_THAT(Rejection(BlocksWithLeft(mutate)),
                ContainsRegex(absl::StrCat("^evidence [ab]: ", rule, ": ")))
        << rule << " " << CanonicalJson([&] { Json b = BlockJson(left_); mutate(b); return b; }());
  }
}

TEST_F(EvidenceTest, BlocksNeedPreviousIfAndOnlyIfNumberAboveOne) {
  EXPECT_THAT(Rejection(BlocksWithLeft([](Json& b) { b.erase("previous"); })),
              ContainsRegex("^evidence [ab]: previous: "));
  // A genesis fork whose one side carries `previous`.
  Json genesis = BlockJson(chain_.blocks()[0]);
  Json with_previous = genesis;
  with_previous["previous"] = chain_.blocks()[0].fingerprint;
  EXPECT_THAT(Rejection(Blocks(genesis, Resealed(with_previous, chain_.host()))),
              ContainsRegex("^evidence [ab]: previous: the genesis block has no"));
}

TEST_F(EvidenceTest, BlocksNeedControllersInTheGenesisBlock) {
  Json genesis = BlockJson(chain_.blocks()[0]);
  Json without = genesis;
  without.erase("controllers");
  without = Resealed(without, chain_.host());
  // ParseBlock alone accepts it (the rule is a chain rule there); §11 does not.
  ASSERT_TRUE(ParseBlock(CanonicalJson(without), SignatureStage::kComplete).ok());
  EXPECT_THAT(Rejection(Blocks(genesis, without)),
              ContainsRegex("^evidence [ab]: controllers: required in the genesis block"));
}

TEST_F(EvidenceTest, BlocksCheckControllersElsewhereForFormOnly) {
  // Controllers in a block that does not transfer ownership: a §3 rule, not
  // checked.
  const std::string bytes = BlocksWithLeft(
      [&](Json& b) { b["controllers"] = {{"threshold", 1}, {"keys", {chain_.owner(1).public_key_text()}}}; });
  EXPECT_EQ(Rejection(bytes), "");
}

TEST_F(EvidenceTest, BlocksMustBeOfTheEvidenceLedger) {
  // A well-formed block naming another ledger, host-signed by this ledger's key.
  TestChain other;
  EXPECT_THAT(Rejection(BlocksWithLeft([&](Json& b) { b["ledger"] = other.ledger_id(); })),
              ContainsRegex("^evidence [ab]: ledger: the block's ledger is not the evidence's"));
  // Another ledger's genuine blocks.
  other.AppendEvents(1);
  const Block other_2 = other.Make({{"event", "x"}});
  EXPECT_THAT(Rejection(Blocks(BlockJson(other.blocks()[1]), BlockJson(other_2))),
              ContainsRegex("^evidence a: ledger: the block's ledger is not"));
}

TEST_F(EvidenceTest, BlocksMustHaveARecomputingFingerprint) {
  Json tampered = BlockJson(left_);
  tampered["event"]["to"] = "bob";
  EXPECT_THAT(Rejection(Blocks(tampered, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: fingerprint: is not the sha2-256 digest"));
  Json bad_text = BlockJson(left_);
  bad_text["fingerprint"] = "uAAAA";
  EXPECT_THAT(Rejection(Blocks(bad_text, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: fingerprint: "));
}

TEST_F(EvidenceTest, BlocksNeedExactlyOneHostSignatureLast) {
  Json no_host = BlockJson(left_);
  no_host["signatures"].erase(no_host["signatures"].size() - 1);
  EXPECT_THAT(Rejection(Blocks(no_host, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: signatures: owner signatures first"));
  Json none = BlockJson(left_);
  none["signatures"] = Json::array();
  EXPECT_THAT(Rejection(Blocks(none, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: signatures: the host signature is missing"));
  Json two_hosts = BlockJson(left_);
  two_hosts["signatures"].push_back(two_hosts["signatures"].back());
  EXPECT_THAT(Rejection(Blocks(two_hosts, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: signatures: owner signatures first"));
  Json host_first = BlockJson(left_);
  std::swap(host_first["signatures"][0], host_first["signatures"][1]);
  EXPECT_THAT(Rejection(Blocks(host_first, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: signatures: owner signatures first"));
}

TEST_F(EvidenceTest, BlocksNeedSignatureObjectsOfFourStringMembers) {
  const std::vector<std::function<void(Json&)>> cases = {
      [](Json& s) { s["extra"] = "x"; },
      [](Json& s) { s.erase("sig"); },
      [](Json& s) { s["key"] = 1; },
      [](Json& s) { s = "signature"; },
  };
  for (size_t signature : {size_t{0}, size_t{1}}) {  // Owner, then host.
    for (const auto& mutate : cases) {
      Json block = BlockJson(left_);
      mutate(block["signatures"][signature]);
      EXPECT_THAT(Rejection(Blocks(block, BlockJson(right_))),
                  ContainsRegex("^evidence [ab]: signatures: "))
          << signature << " " << CanonicalJson(block);
    }
  }
}

TEST_F(EvidenceTest, BlocksNeedRolesOwnerOrHost) {
  Json block = BlockJson(left_);
  block["signatures"][0]["role"] = "custodian";
  EXPECT_THAT(Rejection(Blocks(block, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: signatures: owner signatures first"));
}

TEST_F(EvidenceTest, BlocksNeedAlgEd25519) {
  for (size_t signature : {size_t{0}, size_t{1}}) {  // Owner, then host.
    Json block = BlockJson(left_);
    block["signatures"][signature]["alg"] = "Ed448";
    EXPECT_THAT(Rejection(Blocks(block, BlockJson(right_))),
                ContainsRegex("^evidence [ab]: alg: unsupported signature algorithm"))
        << signature;
  }
}

TEST_F(EvidenceTest, BlocksNeedTheHostSignatureByTheLedgerKey) {
  const std::string bytes = Blocks(Resealed(BlockJson(left_), chain_.stranger(0)),
                                   BlockJson(right_));
  EXPECT_THAT(Rejection(bytes), ContainsRegex("^evidence [ab]: host signature: not by the ledger key"));
}

TEST_F(EvidenceTest, BlocksNeedAHostSignatureThatVerifies) {
  Json block = BlockJson(left_);
  block["signatures"].back()["sig"] = chain_.host().SignText("microledger-block-v1 other");
  EXPECT_THAT(Rejection(Blocks(block, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: host signature: does not verify"));
  Json undecodable = BlockJson(left_);
  undecodable["signatures"].back()["sig"] = "uAAAA";
  EXPECT_THAT(Rejection(Blocks(undecodable, BlockJson(right_))),
              ContainsRegex("^evidence [ab]: signatures: sig is not an Ed25519 signature"));
}

TEST_F(EvidenceTest, BlocksMustHaveTheSameNumber) {
  EXPECT_THAT(Rejection(Blocks(BlockJson(left_), BlockJson(chain_.blocks()[2]))),
              HasSubstr("evidence: blocks: numbers differ"));
}

TEST_F(EvidenceTest, BlocksMustHaveDifferentFingerprints) {
  // One block, once with and once without its owner signature.
  Json fewer = BlockJson(left_);
  fewer["signatures"].erase(0);
  EXPECT_THAT(Rejection(Blocks(BlockJson(left_), fewer)),
              HasSubstr("evidence: blocks: the fingerprints are equal"));
}

// What §11 does not check on a block (and ParseBlock or the chain rules do).

TEST_F(EvidenceTest, BlocksAcceptOwnerSignaturesOutOfOrder) {
  Block both = chain_.Reseal(left_, {&chain_.owner(0), &chain_.owner(1)});
  ASSERT_EQ(both.signatures.size(), 3u);
  std::swap(both.signatures[0], both.signatures[1]);
  EXPECT_FALSE(CheckNextBlock(chain_.state(), both, SignatureStage::kComplete,
                              BlockRuleOptions())
                   .ok());
  EXPECT_EQ(Rejection(Blocks(BlockJson(both), BlockJson(right_))), "");
}

TEST_F(EvidenceTest, BlocksAcceptOwnerSignaturesThatDoNotVerify) {
  Block block = left_;
  block.signatures[0].sig = chain_.owner(0).SignText("something else");
  EXPECT_FALSE(CheckNextBlock(chain_.state(), block, SignatureStage::kComplete,
                              BlockRuleOptions())
                   .ok());
  EXPECT_EQ(Rejection(Blocks(BlockJson(block), BlockJson(right_))), "");
}

TEST_F(EvidenceTest, BlocksAcceptOwnerKeysAndSigsThatDoNotDecode) {
  Json block = BlockJson(left_);
  block["signatures"][0]["key"] = "not a key";
  block["signatures"][0]["sig"] = "";
  // ParseBlock decodes every signature; §11 leaves owner signatures alone.
  ASSERT_FALSE(ParseBlock(CanonicalJson(block), SignatureStage::kComplete).ok());
  EXPECT_EQ(Rejection(Blocks(block, BlockJson(right_))), "");
}

TEST_F(EvidenceTest, BlocksAcceptNoOrDuplicateOwnerSignatures) {
  Json none = BlockJson(left_);
  none["signatures"].erase(0);
  EXPECT_EQ(Rejection(Blocks(none, BlockJson(right_))), "");
  Json twice = BlockJson(left_);
  twice["signatures"].insert(twice["signatures"].begin(), twice["signatures"][0]);
  EXPECT_EQ(Rejection(Blocks(twice, BlockJson(right_))), "");
}

TEST_F(EvidenceTest, BlocksIgnoreEventRules) {
  // A genesis event at block 4, a `signature` member, a transfer without
  // controllers: each breaks §3, none is checked.
  for (const Json& event :
       {Json{{"event", "opened document"}}, Json{{"event", "paid"}, {"signature", "u"}},
        Json{{"event", "transferred ownership"}}}) {
    const std::string bytes = BlocksWithLeft([&](Json& b) { b["event"] = event; });
    EXPECT_EQ(Rejection(bytes), "") << event;
  }
  // A genesis block whose event is not a genesis event.
  Json genesis = BlockJson(chain_.blocks()[0]);
  Json updated = genesis;
  updated["event"] = {{"event", "updated"}};
  EXPECT_EQ(Rejection(Blocks(genesis, Resealed(updated, chain_.host()))), "");
}

// --- kind leaves ---

TEST_F(EvidenceTest, LeavesMustBeObjectsOfExactlyTheFourMembers) {
  EXPECT_THAT(Rejection(LeavesWithLeft([](Json& s) { s.erase("proof"); })),
              ContainsRegex("^evidence [ab]: members: an object of exactly"));
  EXPECT_THAT(Rejection(LeavesWithLeft([](Json& s) { s["size"] = 5; })),
              ContainsRegex("^evidence [ab]: members: an object of exactly"));
  EXPECT_THAT(Rejection(LeavesWithLeft([](Json& s) { s = Json::array(); })),
              ContainsRegex("^evidence [ab]: members: an object of exactly"));
}

TEST_F(EvidenceTest, LeavesNeedNotesThatVerifyByTheLedgerKey) {
  const MemoryMerkleTree tree = LeftTree();
  const std::string foreign = Note(tree, 5, &chain_.stranger(0));
  EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["checkpoint"] = foreign; })),
              ContainsRegex("^evidence [ab]: checkpoint: "));
  TestChain other;
  const std::string other_origin =
      SignCheckpoint({other.ledger_id(), 5, *MerkleRootAt(tree, 5)}, other.host());
  EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["checkpoint"] = other_origin; })),
              ContainsRegex("^evidence [ab]: checkpoint: .*origin"));
  EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["checkpoint"] = 5; })),
              ContainsRegex("^evidence [ab]: checkpoint: must be a string"));
}

TEST_F(EvidenceTest, LeavesNeedAnIntegerIndexInTheTree) {
  const std::vector<std::pair<Json, std::string>> cases = {
      {Json("3"), "must be a number"},
      {Json(3.5), "must be an integer, at least 0"},
      {Json(-1), "must be an integer, at least 0"},
      {Json(5), "must be below the note's tree size 5"},  // The tree size.
      {Json(6), "must be below the note's tree size 5"},
      {Json(1e20), "must be below the note's tree size 5"},  // Above 2^64.
  };
  for (const auto& test_case : cases) {
    const Json& index = test_case.first;
    const auto& why = test_case.second;
    EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["index"] = index; })),
                ContainsRegex(absl::StrCat("^evidence [ab]: index: ", why)))
        << index;
  }
}

TEST_F(EvidenceTest, LeavesNeedASha256Digest) {
  const std::string unknown_code = EncodeMultibase(std::string("\x13\x20", 2) + std::string(32, 'x'));
  for (const Json& leaf : {Json(unknown_code), Json("uAAAA"), Json(3)}) {
    EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["leaf"] = leaf; })),
                ContainsRegex("^evidence [ab]: leaf: "))
        << leaf;
  }
}

TEST_F(EvidenceTest, LeavesNeedAnAuditPathOfExactlyTheRightLength) {
  // Index 3 of 5 leaves needs 3 hashes.
  ASSERT_EQ(LeftClaim().proof.size(), 3u);
  EXPECT_THAT(Rejection(LeavesWithLeft([](Json& s) { s["proof"].erase(2); })),
              ContainsRegex("^evidence [ab]: proof: inclusion proof is too short"));
  EXPECT_THAT(Rejection(LeavesWithLeft([](Json& s) { s["proof"].push_back(s["proof"][0]); })),
              ContainsRegex("^evidence [ab]: proof: inclusion proof is too long"));
}

TEST_F(EvidenceTest, LeavesProofHasAtMost63Hashes) {
  const std::string hash = EncodeMultibase(std::string(32, 'h'));
  EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["proof"] = Json(std::vector<std::string>(64, hash)); })),
              ContainsRegex("^evidence [ab]: proof: 64 hashes, more than 63"));
}

TEST_F(EvidenceTest, LeavesProofHashesAreCanonicalBase64UrlOf32Bytes) {
  std::string not_canonical = EncodeMultibase(std::string(32, 'h'));
  // 32 bytes use 43 characters, the last with two unused bits: set one.
  ASSERT_EQ(not_canonical.back(), 'g');
  not_canonical.back() = 'h';
  for (const Json& hash : {Json(EncodeMultibase(std::string(31, 'h'))),
                           Json(EncodeBase64Url(std::string(32, 'h'))), Json(not_canonical),
                           Json(7)}) {
    EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["proof"][0] = hash; })),
                ContainsRegex("^evidence [ab]: proof: hash 0 is not u \\+ base64url of 32 bytes"))
        << hash;
  }
  EXPECT_THAT(Rejection(LeavesWithLeft([](Json& s) { s["proof"] = "u"; })),
              ContainsRegex("^evidence [ab]: proof: must be an array"));
}

TEST_F(EvidenceTest, LeavesProofMustProveTheLeafUnderTheRoot) {
  // A hash of the path changed.
  const std::string other = EncodeMultibase(std::string(32, 'o'));
  EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["proof"][1] = other; })),
              ContainsRegex("^evidence [ab]: proof: inclusion proof does not match root"));
  // Another leaf under the same path.
  EXPECT_THAT(Rejection(LeavesWithLeft([&](Json& s) { s["leaf"] = DigestText("other"); })),
              ContainsRegex("^evidence [ab]: proof: inclusion proof does not match root"));
}

TEST_F(EvidenceTest, LeafHashIsOfTheRawMultihashBytes) {
  // A tree whose leaves are the fingerprint texts (not their raw multihash):
  // its proofs are genuine for that tree but not §7 leaves.
  MemoryMerkleTree text_tree;
  for (const Block& block : chain_.blocks()) text_tree.AppendLeaf(block.fingerprint);
  text_tree.AppendLeaf(left_.fingerprint);
  const LeafClaim text_claim = Claim(text_tree, 4, 3, left_.fingerprint);
  ASSERT_TRUE(VerifyMerkleInclusion(HashMerkleLeaf(left_.fingerprint), 3, 4,
                                    text_claim.proof, text_tree.Root())
                  .ok());
  absl::StatusOr<std::string> built =
      BuildLeavesEvidence(ledger(), text_claim, RightClaim());
  ASSERT_FALSE(built.ok());
  EXPECT_THAT(std::string(built.status().message()), ContainsRegex("^evidence [ab]: proof: inclusion proof does not match root"));
}

TEST_F(EvidenceTest, LeavesMustHaveTheSameIndex) {
  const LeafClaim last = Claim(LeftTree(), 5, 4, DigestText("block 5 of the left history"));
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "leaves", LeafJson(last),
                                       LeafJson(RightClaim()))),
              HasSubstr("evidence: leaves: indexes differ"));
}

TEST_F(EvidenceTest, LeavesMustDiffer) {
  // Block 3 is in both histories: inclusion in both, no equivocation.
  const std::string& common = chain_.blocks()[2].fingerprint;
  const LeafClaim left = Claim(LeftTree(), 5, 2, common);
  const LeafClaim right = Claim(RightTree(), 4, 2, common);
  EXPECT_THAT(Rejection(SortedEvidence(ledger(), "leaves", LeafJson(left), LeafJson(right))),
              HasSubstr("evidence: leaves: the leaves are equal"));
}

}  // namespace
}  // namespace microledger
