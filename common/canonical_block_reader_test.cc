// ParseBlock's fast path against its slow path (issue 16): for every block line
// of the fuzz seed corpora, blocks of a test chain, and deterministic variants
// of them (byte flips, deletions and insertions; variant events, numbers,
// escapes, member orders and members, with the fingerprint recomputed over the
// text as written so that only the text decides), the fast path either declines
// or returns the slow path's Block, and ParseBlock returns what the slow path
// returns. The fast path must also accept the blocks it exists for.
#include "common/canonical_block_reader.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/block_parse_testing.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/test_chain.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

constexpr SignatureStage kStages[] = {SignatureStage::kOwnerSigned,
                                      SignatureStage::kComplete};

// Checks the promise at both stages; returns how many stages the fast path
// accepted `bytes` at.
int ExpectAgreement(absl::string_view bytes, absl::string_view label) {
  int accepted = 0;
  for (const SignatureStage stage : kStages) {
    EXPECT_EQ(FastPathBreach(bytes, stage), "")
        << label << ", stage " << static_cast<int>(stage) << ": " << bytes;
    accepted += ReadCanonicalBlock(bytes, stage).has_value() ? 1 : 0;
  }
  return accepted;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// The lines of every seed of fuzz/corpus/<name>, and the inner block of each
// bundle line {"block":...}.
std::vector<std::string> CorpusLines(absl::string_view name) {
  const std::filesystem::path directory =
      std::filesystem::path(std::getenv("TEST_SRCDIR")) /
      std::getenv("TEST_WORKSPACE") / "fuzz" / "corpus" / std::string(name);
  std::vector<std::string> lines;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    for (absl::string_view line : absl::StrSplit(ReadFile(entry.path()), '\n')) {
      lines.emplace_back(line);
      constexpr absl::string_view kBlockLine = "{\"block\":";
      if (absl::StartsWith(line, kBlockLine) && absl::EndsWith(line, "}")) {
        lines.emplace_back(
            line.substr(kBlockLine.size(), line.size() - kBlockLine.size() - 1));
      }
    }
  }
  return lines;
}

class CanonicalBlockReaderTest : public testing::Test {
 protected:
  void SetUp() override {
    chain_.AppendEvents(1);
    chain_.Append(chain_.Make({{"event", "updated"}, {"worker", 3.0}, {"n", 17.0}}));
    chain_.Append(chain_.Make(
        {{"event", "updated document"},
         {"patch", {{"op", "replace"}, {"path", "/name"}, {"value", "Alice"}}},
         {"revision", 42.0}}));
    typical_ = SerializeBlock(chain_.blocks().back());
    Block owner_signed = chain_.blocks().back();
    owner_signed.signatures.pop_back();
    owner_signed_ = SerializeBlock(owner_signed);
  }

  // The typical block with its event written as `event_text` and the
  // fingerprint recomputed over it.
  std::string WithEvent(absl::string_view event_text) const {
    RawBlock raw = RawBlock::FromCanonical(typical_);
    raw.Find("event")->value = std::string(event_text);
    return raw.Render();
  }

  TestChain chain_;
  std::string typical_;
  std::string owner_signed_;
};

TEST_F(CanonicalBlockReaderTest, AcceptsTheBlocksItIsFor) {
  for (size_t i = 1; i < chain_.blocks().size(); ++i) {
    const std::string bytes = SerializeBlock(chain_.blocks()[i]);
    const std::optional<Block> block =
        ReadCanonicalBlock(bytes, SignatureStage::kComplete);
    ASSERT_TRUE(block.has_value()) << bytes;
    EXPECT_EQ(BlockDifference(*block, chain_.blocks()[i]), "");
    EXPECT_FALSE(ReadCanonicalBlock(bytes, SignatureStage::kOwnerSigned).has_value());
  }
  EXPECT_TRUE(
      ReadCanonicalBlock(owner_signed_, SignatureStage::kOwnerSigned).has_value());
  EXPECT_FALSE(ReadCanonicalBlock(owner_signed_, SignatureStage::kComplete).has_value());
  EXPECT_EQ(RawBlock::FromCanonical(typical_).Render(), typical_);
}

TEST_F(CanonicalBlockReaderTest, DeclinesControllersAndSealsAndGenesisKeepsItsResult) {
  const std::string genesis = SerializeBlock(chain_.blocks()[0]);
  EXPECT_FALSE(ReadCanonicalBlock(genesis, SignatureStage::kComplete).has_value());
  EXPECT_TRUE(ParseBlock(genesis, SignatureStage::kComplete).ok());
  const Block sealed = chain_.Make({{"event", "attached"}}, std::nullopt,
                                   std::vector<std::string>{DigestText("a")});
  const std::string sealed_bytes = SerializeBlock(sealed);
  EXPECT_FALSE(ReadCanonicalBlock(sealed_bytes, SignatureStage::kComplete).has_value());
  EXPECT_TRUE(ParseBlock(sealed_bytes, SignatureStage::kComplete).ok());
  ExpectAgreement(genesis, "genesis");
  ExpectAgreement(sealed_bytes, "sealed");
}

TEST_F(CanonicalBlockReaderTest, AgreesOnTheSeedCorpora) {
  int lines = 0;
  int accepted = 0;
  for (absl::string_view corpus : {"block", "bundle"}) {
    for (const std::string& line : CorpusLines(corpus)) {
      ++lines;
      accepted += ExpectAgreement(line, corpus);
    }
  }
  EXPECT_GT(lines, 100);
  EXPECT_GT(accepted, 10);  // The seeds' valid blocks take the fast path.
}

TEST_F(CanonicalBlockReaderTest, AgreesOnByteMutations) {
  constexpr char kReplacements[] = {' ', '"', '\\', '0', '1', 'e', '-', '.',
                                    '}', ']', ',', 'u', '\0', '\x1f', '\x7f',
                                    '\x80', '\xc3', '\xff'};
  for (const std::string& base : {typical_, owner_signed_}) {
    for (size_t i = 0; i < base.size(); ++i) {
      const std::string label = absl::StrCat("at byte ", i);
      for (const char c : kReplacements) {
        if (base[i] == c) continue;
        std::string flipped = base;
        flipped[i] = c;
        ExpectAgreement(flipped, label);
      }
      std::string erased = base;
      erased.erase(i, 1);
      ExpectAgreement(erased, label);
      for (const char inserted : {' ', '\\', '\n'}) {
        std::string longer = base;
        longer.insert(i, 1, inserted);
        ExpectAgreement(longer, label);
      }
    }
    ExpectAgreement(base.substr(0, base.size() - 1), "cut");
    ExpectAgreement(base + " ", "trailing space");
    ExpectAgreement("\xEF\xBB\xBF" + base, "byte-order mark");
  }
}

// Events written in many ways, each with a fingerprint that matches its text.
TEST_F(CanonicalBlockReaderTest, AgreesOnEventTexts) {
  const std::vector<std::string> events = {
      R"({"event":"x"})",
      R"({"event":"café"})",
      R"({"event":"caf\u00e9"})",
      R"({"event":"a\/b"})",
      R"({"event":"\u001f"})",
      R"({"event":"\u001F"})",
      R"({"event":"\u000a"})",
      R"({"event":"\n\t\r\b\f\"\\"})",
      R"({"event":"\u0000"})",
      R"({"event":"\u007f"})",
      "{\"event\":\"\x7f\"}",
      "{\"event\":\"a\nb\"}",
      "{\"event\":\"\xF0\x9F\x98\x80\"}",
      R"({"event":"\ud83d\ude00"})",
      R"({"event":"\ud83d"})",
      "{\"event\":\"\xED\xA0\x80\"}",
      "{\"event\":\"\xC0\xAF\"}",
      "{\"event\":\"\xF4\x90\x80\x80\"}",
      "{\"event\":\"\xC3\"}",
      "{\"event\":\"\xEF\xBB\xBF\"}",
      "{\"event\":\"\xE2\x80\xA8\"}",
      R"({"event":"x","n":1})",
      R"({"event":"x","n":1.0})",
      R"({"event":"x","n":1e2})",
      R"({"event":"x","n":100})",
      R"({"event":"x","n":-0})",
      R"({"event":"x","n":0})",
      R"({"event":"x","n":-1})",
      R"({"event":"x","n":01})",
      R"({"event":"x","n":1E2})",
      R"({"event":"x","n":1e+21})",
      R"({"event":"x","n":1e21})",
      R"({"event":"x","n":100000000000000000000})",
      R"({"event":"x","n":1000000000000000000000})",
      R"({"event":"x","n":0.1})",
      R"({"event":"x","n":.1})",
      R"({"event":"x","n":1.})",
      R"({"event":"x","n":+1})",
      R"({"event":"x","n":1e-7})",
      R"({"event":"x","n":0.000001})",
      R"({"event":"x","n":5e-324})",
      R"({"event":"x","n":1e-400})",
      R"({"event":"x","n":1e400})",
      R"({"event":"x","n":-1e400})",
      R"({"event":"x","n":9007199254740993})",
      R"({"event":"x","n":9007199254740992})",
      R"({"event":"x","n":123456789012345})",
      R"({"event":"x","n":1234567890123456})",
      R"({"event":"x","n":18446744073709551616})",
      R"({"event":"x","n":-9223372036854775809})",
      R"({"event":"x","n":0.30000000000000004})",
      R"({"event":"x","n":1.7976931348623157e+308})",
      R"({"event":"x","n":Infinity})",
      R"({"event":"x","n":NaN})",
      R"({"event":"x","b":true,"c":false,"d":null,"e":[],"f":{}})",
      R"({"event":"x","b":tru})",
      R"({"event":"x","b":True})",
      R"({"event":"x","event":"y"})",
      R"({"a":"y","a":"z","event":"x"})",
      R"({"n":1,"event":"x"})",
      R"({"Z":1,"a":2,"event":"x"})",
      R"({"":1,"event":"x"})",
      R"({"\u0065vent":"x"})",
      R"({"event":"x",})",
      R"({"event":"x","a":[1,]})",
      R"({"event":"x","a":[1 ,2]})",
      R"({ "event":"x"})",
      R"({"event" :"x"})",
      R"({"event": "x"})",
      R"({"event":"x" })",
      R"({"event":1})",
      R"({"event":null})",
      R"({"other":"x"})",
      R"({})",
      R"([])",
      R"("event")",
      R"(1)",
      R"(null)",
      R"({"event":"x"}{})",
      R"({"event":"x")",
      "",
  };
  int accepted = 0;
  for (const std::string& event : events) {
    const std::string bytes = WithEvent(event);
    const int stages = ExpectAgreement(bytes, event);
    accepted += stages;
    // With ASCII member names the fast path takes every block the slow path
    // takes (here: complete blocks only).
    EXPECT_EQ(stages, ParseBlockThroughJsonTree(bytes, SignatureStage::kComplete).ok()
                          ? 1
                          : 0)
        << event;
  }
  EXPECT_GE(accepted, 25);
  // Member names outside ASCII: JCS orders them by UTF-16 code units, which is
  // not byte order past U+E000; the fast path leaves them to the slow one.
  for (absl::string_view event :
       {"{\"\xC3\xA9\":1,\"event\":\"x\"}",
        "{\"event\":\"x\",\"\xEE\x80\x80\":1,\"\xF0\x9F\x98\x80\":2}",
        "{\"event\":\"x\",\"\xF0\x9F\x98\x80\":2,\"\xEE\x80\x80\":1}"}) {
    EXPECT_EQ(ExpectAgreement(WithEvent(event), event), 0);
  }
}

// Every byte of a rich canonical event flipped, removed or preceded by a
// space, with the fingerprint recomputed over the text as written.
TEST_F(CanonicalBlockReaderTest, AgreesOnEventMutationsThatKeepTheFingerprint) {
  const std::string event = *Canonicalize(
      "{\"event\":\"caf\xC3\xA9 \\\"q\\\" \\\\ \\n\\t\\u001f \xF0\x9F\x98\x80\","
      "\"a\":[1,-2.5,1e21,true,false,null,{},[]],\"n\":0.1,\"z\":\"\","
      "\"deep\":{\"x\":[{\"y\":5e-324}]}}");
  ASSERT_GT(ExpectAgreement(WithEvent(event), "rich event"), 0);
  constexpr char kReplacements[] = {' ', '"', '\\', '0', '9', 'e', 'E', '-', '+',
                                    '.', '}', ']', ',', ':', 'u', '/', '\x1f',
                                    '\x80', '\xc3', '\xed', '\xff'};
  for (size_t i = 0; i < event.size(); ++i) {
    const std::string label = absl::StrCat("event byte ", i);
    for (const char c : kReplacements) {
      std::string flipped = event;
      flipped[i] = c;
      ExpectAgreement(WithEvent(flipped), label);
    }
    std::string erased = event;
    erased.erase(i, 1);
    ExpectAgreement(WithEvent(erased), label);
    std::string spaced = event;
    spaced.insert(i, 1, ' ');
    ExpectAgreement(WithEvent(spaced), label);
  }
}

TEST_F(CanonicalBlockReaderTest, AgreesAroundTheNestingLimit) {
  int accepted_depths = 0;
  for (int depth = 26; depth <= 34; ++depth) {
    const std::string arrays =
        absl::StrCat(std::string(depth, '['), std::string(depth, ']'));
    std::string objects = "{}";
    for (int level = 1; level < depth; ++level) {
      objects = absl::StrCat(R"({"a":)", objects, "}");
    }
    for (const std::string& nested : {arrays, objects}) {
      const std::string event = absl::StrCat(R"({"a":)", nested, R"(,"event":"x"})");
      accepted_depths += ExpectAgreement(WithEvent(event), event) > 0 ? 1 : 0;
    }
  }
  // The block is level 1 and the event level 2, so 30 arrays or objects
  // reach level 32.
  EXPECT_EQ(accepted_depths, 10);
}

// The other members written in other ways, reordered, repeated or added.
TEST_F(CanonicalBlockReaderTest, AgreesOnMemberVariants) {
  const RawBlock base = RawBlock::FromCanonical(typical_);
  const std::string number = RawBlock(base).Find("number")->value;
  const std::vector<std::pair<std::string, std::vector<std::string>>> values = {
      {"number",
       {"1", "2", "3.0", absl::StrCat(number, ".0"), absl::StrCat(number, "e0"),
        absl::StrCat("0", number), absl::StrCat("-", number), "1e2", "0", "-0",
        "9007199254740992", "9007199254740993", "9007199254740994",
        absl::StrCat("\"", number, "\""), "null", "2.5"}},
      {"previous", {"\"u\"", "null", "1", absl::StrCat("\"", DigestText("x"), "\"")}},
      {"time",
       {"\"2026-11-22T10:04:05.123Z\"", "\"2026-11-22T10:04:05Z\"",
        "\"2026-11-22T10:04:05.123+00:00\"", "\"2026-13-22T10:04:05.123Z\"", "1"}},
      {"ledger", {"\"jlinx:u\"", "\"\"", "1"}},
      {"signatures",
       {"[]", "{}", "[1]", "[{}]",
        R"([{"alg":"Ed25519","key":"k","role":"owner","sig":"s"}])"}},
  };
  int variants = 0;
  for (const auto& [name, texts] : values) {
    for (const std::string& text : texts) {
      RawBlock raw = base;
      raw.Find(name)->value = text;
      ExpectAgreement(raw.Render(), absl::StrCat(name, " = ", text));
      ++variants;
    }
  }

  // The signature objects' members: escaped, reordered, wrong algorithm,
  // roles swapped, one signature cut off, an extra member.
  const std::string signatures = RawBlock(base).Find("signatures")->value;
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"\"alg\":\"Ed25519\"", "\"alg\":\"ed25519\""},
      {"\"alg\":\"Ed25519\"", "\"alg\":\"Ed\\u0032\\u0035519\""},
      {"\"role\":\"host\"", "\"role\":\"owner\""},
      {"\"role\":\"owner\"", "\"role\":\"host\""},
      {"\"role\":\"owner\"", "\"role\":\"owner\",\"x\":1"},
      {"{\"alg\":", "{\"x\":1,\"alg\":"},
      {"\"key\":\"u", "\"key\":\"\\u0075"},
      {"\"sig\":\"u", "\"sig\":\"uA"},
      {"},{", "} ,{"},
      {"},{", "},"},
  };
  for (const auto& [from, to] : edits) {
    const size_t at = signatures.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    RawBlock raw = base;
    raw.Find("signatures")->value =
        std::string(signatures).replace(at, from.size(), to);
    ExpectAgreement(raw.Render(), to);
    ++variants;
  }

  // Member order, repetition, absence, and members the fast path leaves to
  // the slow one.
  for (size_t i = 0; i + 1 < base.members.size(); ++i) {
    RawBlock swapped = base;
    std::swap(swapped.members[i], swapped.members[i + 1]);
    EXPECT_EQ(ExpectAgreement(swapped.Render(), "swapped"), 0);
    RawBlock repeated = base;
    repeated.members.insert(repeated.members.begin() + i, base.members[i]);
    EXPECT_EQ(ExpectAgreement(repeated.Render(), "repeated"), 0);
    RawBlock missing = base;
    missing.members.erase(missing.members.begin() + i);
    ExpectAgreement(missing.Render(), "missing");
    variants += 3;
  }
  for (const RawBlock::Member& extra :
       {RawBlock::Member{"\"controllers\"", "{\"keys\":[],\"threshold\":1}"},
        RawBlock::Member{"\"seals\"", "[]"}, RawBlock::Member{"\"other\"", "1"},
        RawBlock::Member{"\"\\u0074ime\"", "1"}}) {
    RawBlock raw = base;
    raw.members.push_back(extra);
    ExpectAgreement(raw.Render(), extra.name);
    ++variants;
  }
  EXPECT_GT(variants, 50);
}

}  // namespace
}  // namespace microledger
