#include "common/json.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

// Canonicalizes `text`, failing the test if it is rejected.
std::string CanonicalOrDie(absl::string_view text) {
  absl::StatusOr<std::string> canonical = Canonicalize(text);
  EXPECT_TRUE(canonical.ok()) << canonical.status();
  return canonical.value_or("<rejected>");
}

// Expects `text` to be rejected as InvalidArgument with a message containing
// `message_part`.
void ExpectRejected(absl::string_view text, absl::string_view message_part,
                    int max_depth = kMaxJsonDepth) {
  const absl::StatusOr<Json> parsed = ParseJson(text, max_depth);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << CanonicalJson(*parsed);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr(message_part));
}

double FromBits(std::uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

std::string Nested(int depth, absl::string_view open, absl::string_view close) {
  std::string text;
  for (int i = 0; i < depth; ++i) absl::StrAppend(&text, open);
  for (int i = 0; i < depth; ++i) absl::StrAppend(&text, close);
  return text;
}

// ---------------------------------------------------------------------------
// RFC 8785 known answers.

TEST(Rfc8785Test, SampleObjectOfSection322) {
  const std::string input = R"({
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})";
  EXPECT_EQ(CanonicalOrDie(input),
            "{\"literals\":[null,true,false],"
            "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(Rfc8785Test, SortingExampleOfSection323) {
  const std::string input = R"({
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
})";
  EXPECT_EQ(CanonicalOrDie(input),
            "{\"\\r\":\"Carriage Return\","
            "\"1\":\"One\","
            "\"\xC2\x80\":\"Control\","
            "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\","
            "\"\xE2\x82\xAC\":\"Euro Sign\","
            "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

struct NumberCase {
  std::uint64_t ieee_bits;
  const char* expected;
};

class Rfc8785NumberTest : public ::testing::TestWithParam<NumberCase> {};

TEST_P(Rfc8785NumberTest, FormatsAsAppendixB) {
  EXPECT_EQ(FormatJsonNumber(FromBits(GetParam().ieee_bits)),
            GetParam().expected);
}

TEST_P(Rfc8785NumberTest, FormattedNumberParsesBackToSameDouble) {
  const double value = FromBits(GetParam().ieee_bits);
  const absl::StatusOr<Json> parsed = ParseJson(GetParam().expected);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->get<double>(), value);  // Also true for -0 and 0.
}

INSTANTIATE_TEST_SUITE_P(
    AppendixB, Rfc8785NumberTest,
    ::testing::Values(
        NumberCase{0x0000000000000000, "0"},
        NumberCase{0x8000000000000000, "0"},
        NumberCase{0x0000000000000001, "5e-324"},
        NumberCase{0x8000000000000001, "-5e-324"},
        NumberCase{0x7fefffffffffffff, "1.7976931348623157e+308"},
        NumberCase{0xffefffffffffffff, "-1.7976931348623157e+308"},
        NumberCase{0x4340000000000000, "9007199254740992"},
        NumberCase{0xc340000000000000, "-9007199254740992"},
        NumberCase{0x4430000000000000, "295147905179352830000"},
        NumberCase{0x44b52d02c7e14af5, "9.999999999999997e+22"},
        NumberCase{0x44b52d02c7e14af6, "1e+23"},
        NumberCase{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
        NumberCase{0x444b1ae4d6e2ef4e, "999999999999999700000"},
        NumberCase{0x444b1ae4d6e2ef4f, "999999999999999900000"},
        NumberCase{0x444b1ae4d6e2ef50, "1e+21"},
        NumberCase{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
        NumberCase{0x3eb0c6f7a0b5ed8d, "0.000001"},
        NumberCase{0x41b3de4355555553, "333333333.3333332"},
        NumberCase{0x41b3de4355555554, "333333333.33333325"},
        NumberCase{0x41b3de4355555555, "333333333.3333333"},
        NumberCase{0x41b3de4355555556, "333333333.3333334"},
        NumberCase{0x41b3de4355555557, "333333333.33333343"},
        NumberCase{0xbecbf647612f3696, "-0.0000033333333333333333"},
        NumberCase{0x43143ff3c1cb0959, "1424953923781206.2"}));

// ---------------------------------------------------------------------------
// FormatJsonNumber around the ECMAScript layout boundaries.

struct LayoutCase {
  double value;
  const char* expected;
};

class FormatJsonNumberTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(FormatJsonNumberTest, MatchesEcmaScript) {
  EXPECT_EQ(FormatJsonNumber(GetParam().value), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, FormatJsonNumberTest,
    ::testing::Values(
        LayoutCase{1, "1"}, LayoutCase{-1, "-1"}, LayoutCase{-0.0, "0"},
        LayoutCase{0.1, "0.1"}, LayoutCase{100, "100"},
        LayoutCase{123.456, "123.456"}, LayoutCase{-4.5, "-4.5"},
        LayoutCase{1e20, "100000000000000000000"}, LayoutCase{1e21, "1e+21"},
        LayoutCase{1.5e21, "1.5e+21"}, LayoutCase{1e-6, "0.000001"},
        LayoutCase{1.5e-6, "0.0000015"}, LayoutCase{1e-7, "1e-7"},
        LayoutCase{-1.25e-7, "-1.25e-7"}, LayoutCase{1e300, "1e+300"},
        LayoutCase{2.5e-300, "2.5e-300"},
        LayoutCase{0.30000000000000004, "0.30000000000000004"}));

TEST(FormatJsonNumberDeathTest, NonFiniteIsABrokenPrecondition) {
  EXPECT_DEATH(FormatJsonNumber(std::numeric_limits<double>::infinity()),
               "non-finite");
  EXPECT_DEATH(FormatJsonNumber(std::nan("")), "non-finite");
}

// ---------------------------------------------------------------------------
// Serialisation details.

TEST(CanonicalJsonTest, SortsByUtf16CodeUnitsNotUtf8Bytes) {
  // U+1F600 is D83D DE00 in UTF-16, so it sorts before U+E000 and U+FFFD; in
  // UTF-8 (F0 ... versus EE/EF ...) it would sort after them.
  EXPECT_EQ(CanonicalOrDie(R"({"\ue000":1,"\ufffd":2,"\ud83d\ude00":3})"),
            "{\"\xF0\x9F\x98\x80\":3,\"\xEE\x80\x80\":1,\"\xEF\xBF\xBD\":2}");
}

TEST(CanonicalJsonTest, SortsAPrefixBeforeItsExtensions) {
  EXPECT_EQ(CanonicalOrDie(R"({"ab":1,"a":2,"":3,"b":4})"),
            R"({"":3,"a":2,"ab":1,"b":4})");
}

TEST(CanonicalJsonTest, SortsNestedObjectsAndKeepsArrayOrder) {
  EXPECT_EQ(
      CanonicalOrDie(R"({"z":[{"y":1,"x":2},3,1],"a":{"c":null,"b":[]}})"),
      R"({"a":{"b":[],"c":null},"z":[{"x":2,"y":1},3,1]})");
}

TEST(CanonicalJsonTest, DropsAllWhitespace) {
  EXPECT_EQ(CanonicalOrDie(" \t\r\n{ \"b\" : [ 1 , 2 ] ,\n\"a\" : true } \n"),
            R"({"a":true,"b":[1,2]})");
}

TEST(CanonicalJsonTest, WritesLiteralsAsIs) {
  EXPECT_EQ(CanonicalOrDie("[true,false,null]"), "[true,false,null]");
  EXPECT_EQ(CanonicalOrDie("null"), "null");
}

TEST(CanonicalJsonTest, EscapesShortControlCharacters) {
  EXPECT_EQ(CanonicalOrDie(R"("\u0008\u000c\u000a\u000d\u0009")"),
            R"("\b\f\n\r\t")");
}

TEST(CanonicalJsonTest, EscapesOtherControlCharactersInLowercaseHex) {
  EXPECT_EQ(CanonicalOrDie(R"("\u0000\u0001\u001F\u000B")"),
            R"("\u0000\u0001\u001f\u000b")");
}

TEST(CanonicalJsonTest, EscapesQuoteAndBackslashOnly) {
  EXPECT_EQ(CanonicalOrDie(R"("\"\\\/<>&'")"), R"("\"\\/<>&'")");
}

TEST(CanonicalJsonTest, WritesDeleteAndNonAsciiRaw) {
  EXPECT_EQ(CanonicalOrDie(R"("\u007f\u00e9\u20ac\ud83d\ude00")"),
            "\"\x7F\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"");
}

TEST(CanonicalJsonTest, WritesLineSeparatorRaw) {
  EXPECT_EQ(CanonicalOrDie(R"("\u2028\u2029")"),
            "\"\xE2\x80\xA8\xE2\x80\xA9\"");
}

TEST(CanonicalJsonTest, EscapesMemberNamesLikeValues) {
  EXPECT_EQ(CanonicalOrDie(R"({"a\u0000\n\"":1})"), R"({"a\u0000\n\"":1})");
}

TEST(CanonicalJsonTest, EscapesRoundTrip) {
  const std::string canonical =
      CanonicalOrDie(R"(["\u0041\/\\\"\b\f\n\r\t\u0001\u00e9\ud834\udd1e"])");
  EXPECT_EQ(canonical,
            "[\"A/\\\\\\\"\\b\\f\\n\\r\\t\\u0001\xC3\xA9\xF0\x9D\x84\x9E\"]");
  const absl::StatusOr<Json> reparsed = ParseJson(canonical);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ((*reparsed)[0].get<std::string>(),
            "A/\\\"\b\f\n\r\t\x01\xC3\xA9\xF0\x9D\x84\x9E");
}

TEST(CanonicalJsonTest, EscapesBetweenRunsOfPlainBytes) {
  EXPECT_EQ(CanonicalOrDie(R"(["ab\tcd\u0001ef\"gh\\"])"),
            R"(["ab\tcd\u0001ef\"gh\\"])");
}

// Long enough for AppendQuoted to scan 8 bytes at a time; nlohmann's dump()
// escapes strings the way JCS does.
TEST(CanonicalJsonTest, EscapesEveryByteAtEveryPosition) {
  std::vector<std::string> characters;
  for (int byte = 0; byte < 0x80; ++byte) {
    characters.push_back(std::string(1, static_cast<char>(byte)));
  }
  characters.push_back("\xC3\xA9");
  characters.push_back("\xF0\x9F\x98\x80");
  for (const std::string& character : characters) {
    for (size_t position = 0; position <= 20; ++position) {
      std::string text(20, 'a');
      text.insert(position, character);
      EXPECT_EQ(CanonicalJson(Json(text)), Json(text).dump())
          << "byte " << static_cast<int>(character[0]) << " at " << position;
    }
  }
}

TEST(CanonicalJsonTest, SortsAsciiNamesAmongOthersByUtf16) {
  EXPECT_EQ(CanonicalOrDie(R"({"b":1,"\ue000":2,"a":3,"\ud83d\ude00":4})"),
            "{\"a\":3,\"b\":1,\"\xF0\x9F\x98\x80\":4,\"\xEE\x80\x80\":2}");
}

TEST(CanonicalJsonTest, EqualNumbersHaveOneForm) {
  for (const char* text :
       {"1", "1.0", "1e0", "10e-1", "0.1e1", "1.000000000000000000001"}) {
    EXPECT_EQ(CanonicalOrDie(text), "1") << text;
  }
}

TEST(CanonicalJsonTest, IntegersBuiltInCodeSerialiseAsDoubles) {
  Json value = {{"signed", -7},
                {"unsigned", std::numeric_limits<std::uint64_t>::max()},
                {"big", std::numeric_limits<std::int64_t>::min()},
                {"float", 2.5},
                {"list", {1, "two", nullptr, false}}};
  EXPECT_EQ(CanonicalJson(value), R"({"big":-9223372036854776000,"float":2.5,)"
                                  R"("list":[1,"two",null,false],"signed":-7,)"
                                  R"("unsigned":18446744073709552000})");
}

// Checks CanonicalJsonWithout(`value`, `omitted`) against CanonicalJson of
// `value` and of `value` with the members removed.
void ExpectSplit(const Json& value,
                 std::initializer_list<absl::string_view> omitted) {
  Json reduced = value;
  if (reduced.is_object()) {
    for (absl::string_view name : omitted) reduced.erase(std::string(name));
  }
  const CanonicalJsonSplit split = CanonicalJsonWithout(value, omitted);
  EXPECT_EQ(split.whole, CanonicalJson(value));
  EXPECT_EQ(split.without, CanonicalJson(reduced));
}

TEST(CanonicalJsonWithoutTest, OmitsTheNamedMembersOnly) {
  const absl::StatusOr<Json> value = ParseJson(
      R"({"c":{"a":1,"b":2},"a":[1,{"a":3}],"b":"x","\ud83d\ude00":4,"\ue000":5})");
  ASSERT_TRUE(value.ok()) << value.status();
  const CanonicalJsonSplit split =
      CanonicalJsonWithout(*value, {"a", "\xEE\x80\x80"});
  EXPECT_EQ(split.whole, CanonicalJson(*value));
  // Nested members named "a" stay.
  EXPECT_EQ(split.without,
            "{\"b\":\"x\",\"c\":{\"a\":1,\"b\":2},\"\xF0\x9F\x98\x80\":4}");
  ExpectSplit(*value, {"a"});
  ExpectSplit(*value, {"c"});
  ExpectSplit(*value, {"\xEE\x80\x80"});
  ExpectSplit(*value, {"a", "b", "c", "\xF0\x9F\x98\x80", "\xEE\x80\x80"});
  ExpectSplit(*value, {"not a member"});
  ExpectSplit(*value, {});
}

TEST(CanonicalJsonWithoutTest, OmitsFromAnyPosition) {
  const Json value = {{"a", 1}, {"b", 2}, {"c", 3}};
  EXPECT_EQ(CanonicalJsonWithout(value, {"a"}).without, R"({"b":2,"c":3})");
  EXPECT_EQ(CanonicalJsonWithout(value, {"b"}).without, R"({"a":1,"c":3})");
  EXPECT_EQ(CanonicalJsonWithout(value, {"c"}).without, R"({"a":1,"b":2})");
  EXPECT_EQ(CanonicalJsonWithout(value, {"a", "b", "c"}).without, "{}");
  EXPECT_EQ(CanonicalJsonWithout(Json::object(), {"a"}).without, "{}");
}

TEST(CanonicalJsonWithoutTest, ValueThatIsNotAnObjectIsWhole) {
  for (const Json& value : {Json::array({1, "a"}), Json("a"), Json(nullptr)}) {
    const CanonicalJsonSplit split = CanonicalJsonWithout(value, {"a"});
    EXPECT_EQ(split.whole, CanonicalJson(value));
    EXPECT_EQ(split.without, split.whole);
  }
}

TEST(CanonicalJsonDeathTest, NonFiniteNumberIsABrokenPrecondition) {
  EXPECT_DEATH(CanonicalJson(Json{{"x", std::nan("")}}), "non-finite");
}

TEST(CanonicalJsonDeathTest, BinaryValueIsABrokenPrecondition) {
  EXPECT_DEATH(CanonicalJson(Json::binary({1, 2, 3})), "binary");
}

// ---------------------------------------------------------------------------
// What ParseJson accepts and how it stores numbers.

TEST(ParseJsonTest, StoresEveryNumberAsDouble) {
  const absl::StatusOr<Json> parsed =
      ParseJson(R"([0, -3, 18446744073709551615, 1.5, -9223372036854775809])");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  for (const Json& number : *parsed) {
    EXPECT_TRUE(number.is_number_float()) << number;
  }
  EXPECT_EQ((*parsed)[1].get<double>(), -3.0);
}

TEST(ParseJsonTest, LargeIntegersRoundAsDoubles) {
  EXPECT_EQ(CanonicalOrDie("18446744073709551615"), "18446744073709552000");
  EXPECT_EQ(CanonicalOrDie("18446744073709551616"), "18446744073709552000");
  EXPECT_EQ(CanonicalOrDie("-9223372036854775808"), "-9223372036854776000");
  EXPECT_EQ(CanonicalOrDie("9007199254740993"), "9007199254740992");
  EXPECT_EQ(CanonicalOrDie("9007199254740995"), "9007199254740996");
}

TEST(ParseJsonTest, NegativeZeroIsZero) {
  EXPECT_EQ(CanonicalOrDie("-0"), "0");
  EXPECT_EQ(CanonicalOrDie("-0.0"), "0");
  EXPECT_EQ(CanonicalOrDie("-0e5"), "0");
}

TEST(ParseJsonTest, UnderflowBecomesZero) {
  EXPECT_EQ(CanonicalOrDie("1e-400"), "0");
  EXPECT_EQ(CanonicalOrDie("-1e-400"), "0");
  EXPECT_EQ(CanonicalOrDie("[2.4703282292062327e-324]"), "[0]");
}

TEST(ParseJsonTest, AcceptsTheLargestFiniteDouble) {
  EXPECT_EQ(CanonicalOrDie("1.7976931348623157e308"),
            "1.7976931348623157e+308");
}

TEST(ParseJsonTest, AcceptsScalarsAtTopLevel) {
  for (const char* text : {"0", "\"\"", "true", "false", "null", " 12 "}) {
    EXPECT_TRUE(ParseJson(text).ok()) << text;
  }
}

TEST(ParseJsonTest, AcceptsEqualNamesInDifferentObjects) {
  EXPECT_EQ(CanonicalOrDie(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})"),
            R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})");
}

TEST(ParseJsonTest, AcceptsSurrogatePairEscapes) {
  EXPECT_EQ(CanonicalOrDie(R"("\uD83D\uDE00")"), "\"\xF0\x9F\x98\x80\"");
}

// Only a byte-order mark that starts the input is rejected; U+FEFF inside a
// string is an ordinary character.
TEST(ParseJsonTest, AcceptsZeroWidthNoBreakSpaceInStrings) {
  EXPECT_EQ(CanonicalOrDie("[\"\xEF\xBB\xBF\",\"\\ufeff\"]"),
            "[\"\xEF\xBB\xBF\",\"\xEF\xBB\xBF\"]");
}

// SPEC.md names no rule against noncharacters, so they pass like any other.
TEST(ParseJsonTest, AcceptsNoncharacters) {
  EXPECT_EQ(CanonicalOrDie(R"(["\uffff","\ufdd0"])"),
            "[\"\xEF\xBF\xBF\",\"\xEF\xB7\x90\"]");
}

TEST(ParseJsonTest, AcceptsMaximumDepthOfArrays) {
  EXPECT_TRUE(ParseJson(Nested(32, "[", "]")).ok());
}

TEST(ParseJsonTest, AcceptsMaximumDepthOfObjects) {
  std::string text = Nested(31, "{\"a\":", "}");
  text.insert(31 * 5, "{}");
  EXPECT_TRUE(ParseJson(text).ok()) << text;
}

TEST(ParseJsonTest, AcceptsMaximumDepthOfMixedContainers) {
  std::string text = Nested(16, "[{\"k\":", "}]");
  text.insert(16 * 6, "0");
  EXPECT_TRUE(ParseJson(text).ok()) << text;
}

TEST(ParseJsonTest, HonoursACustomDepth) {
  EXPECT_TRUE(ParseJson("[]", 1).ok());
  EXPECT_TRUE(ParseJson("7", 0).ok());
  ExpectRejected("[[]]", "nesting deeper than 1 levels", 1);
  ExpectRejected("{}", "nesting deeper than 0 levels", 0);
}

// ---------------------------------------------------------------------------
// What ParseJson rejects: one test per rule of SPEC.md §1.

TEST(ParseJsonRejectTest, ByteOrderMark) {
  ExpectRejected("\xEF\xBB\xBF{}", "byte-order mark not allowed");
  ExpectRejected("\xEF\xBB\xBF", "byte-order mark not allowed");
}

TEST(ParseJsonRejectTest, ByteOrderMarkAfterWhitespace) {
  ExpectRejected(" \xEF\xBB\xBF{}", "invalid JSON");
}

TEST(ParseJsonRejectTest, DuplicateMemberName) {
  ExpectRejected(R"({"a":1,"a":2})", "duplicate member name \"a\"");
}

TEST(ParseJsonRejectTest, DuplicateMemberNameAfterDecodingEscapes) {
  ExpectRejected(R"({"a":1,"\u0061":2})", "duplicate member name \"a\"");
  ExpectRejected(R"({"\u00e9":1,"\u00E9":2})",
                 "duplicate member name \"\xC3\xA9\"");
}

TEST(ParseJsonRejectTest, DuplicateMemberNameInNestedObject) {
  ExpectRejected(R"([{"x":{"b":null,"b":null}}])",
                 "duplicate member name \"b\"");
}

TEST(ParseJsonRejectTest, DuplicateMemberNameIsEscapedInMessage) {
  ExpectRejected(R"({"\n\"":1,"\n\"":1})", R"(duplicate member name "\n\"")");
}

class LoneSurrogateEscapeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LoneSurrogateEscapeTest, IsRejected) {
  ExpectRejected(GetParam(), "lone surrogate");
}

INSTANTIATE_TEST_SUITE_P(Escaped, LoneSurrogateEscapeTest,
                         ::testing::Values(R"("\ud800")", R"("\udc00x")",
                                           R"("\udbff")", R"("\ud800\u0041")",
                                           R"("\ud800\ud800")", R"("a\udfff")",
                                           R"({"\ud83d":1})"));

class InvalidUtf8Test : public ::testing::TestWithParam<const char*> {};

TEST_P(InvalidUtf8Test, IsRejected) {
  ExpectRejected(GetParam(), "invalid UTF-8");
}

INSTANTIATE_TEST_SUITE_P(
    InStrings, InvalidUtf8Test,
    ::testing::Values("\"\xED\xA0\x80\"",  // Raw lone high surrogate.
                      "\"\xED\xBF\xBF\"",  // Raw lone low surrogate.
                      "\"\xED\xA0\xBD\xED\xB8\x80\"",  // Raw pair (CESU-8).
                      "\"\xC0\xAF\"",                  // Overlong '/'.
                      "\"\xE0\x80\xAF\"",              // Overlong '/'.
                      "\"\x80\"",                      // Stray continuation.
                      "\"\xC3\"",                      // Truncated sequence.
                      "\"\xE2\x82\"",                  // Truncated sequence.
                      "\"\xF4\x90\x80\x80\"",          // Above U+10FFFF.
                      "\"\xFF\"",                      // Never valid.
                      "{\"\xFE\":1}"));                // In a member name.

TEST(ParseJsonRejectTest, InvalidUtf8OutsideStrings) {
  ExpectRejected("\xFF", "invalid JSON");
  ExpectRejected("[1]\xC3\xA9", "invalid JSON");
}

// An error quotes at most ~200 bytes of the input (common/error_text.h),
// however long the token it failed on.
TEST(ParseJsonRejectTest, MessagesQuoteLongInputBoundedly) {
  const std::string long_text(8 << 20, 'x');
  for (const std::string& input :
       {"{\"event\":\"" + long_text,                          // Unterminated string.
        "[1e" + std::string(1 << 20, '9') + "]",                // Bad number.
        "{\"" + long_text + "\":1,\"" + long_text + "\":2}",   // Duplicate name.
        "[" + std::string(1 << 20, '1') + "e999999]"}) {        // Overflow.
    const absl::StatusOr<Json> parsed = ParseJson(input);
    ASSERT_FALSE(parsed.ok());
    EXPECT_LT(parsed.status().message().size(), 1024u) << parsed.status().message().substr(0, 300);
    EXPECT_THAT(parsed.status().message(), HasSubstr(" bytes)"));
  }
}

TEST(ParseJsonRejectTest, MessagesQuotingBadBytesStayAscii) {
  const absl::StatusOr<Json> parsed = ParseJson("[\xC3\xA9]");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("\\xC3"));
  for (const char c : parsed.status().message()) {
    EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  }
}

class OverflowTest : public ::testing::TestWithParam<const char*> {};

TEST_P(OverflowTest, IsRejected) {
  ExpectRejected(GetParam(), "number overflows to infinity");
}

INSTANTIATE_TEST_SUITE_P(Numbers, OverflowTest,
                         ::testing::Values("1e400", "-1e400", "[1e309]",
                                           R"({"a":1.7976931348623159e308})"));

TEST(ParseJsonRejectTest, IntegerLiteralThatOverflows) {
  ExpectRejected("1" + std::string(400, '0'), "number overflows to infinity");
  ExpectRejected("-1" + std::string(400, '0'), "number overflows to infinity");
}

class NotJsonTest : public ::testing::TestWithParam<const char*> {};

TEST_P(NotJsonTest, IsRejected) { ExpectRejected(GetParam(), "invalid JSON"); }

INSTANTIATE_TEST_SUITE_P(
    Syntax, NotJsonTest,
    ::testing::Values("", "   ", "// comment\n1", "/* comment */ 1",
                      "1 /* comment */", "[1,]", R"({"a":1,})", "[,1]", "NaN",
                      "-NaN", "Infinity", "-Infinity", "[nan]", "01", "-01",
                      "00", "'a'", "{'a':1}", "{a:1}", "1 2", "{} x", "[1]]",
                      "[", "{", R"({"a"})", R"({"a":})", "[1 2]", "tru", "True",
                      "NULL", "+1", ".5", "1.", "1e", "1e+", "-", "0x10",
                      R"("\x41")", R"("\u12")", R"("\U0041")", "\"tab\there\"",
                      "\"new\nline\"", "\"unterminated", "\f1", "\v1",
                      "\xC2\xA0"
                      "1",
                      "[1,\n2\n,]"));

TEST(ParseJsonRejectTest, RawNulInString) {
  ExpectRejected(std::string("\"a\0b\"", 5), "at byte 3: raw NUL byte");
}

// nlohmann's lexer alone would take the NUL for the end of the input.
TEST(ParseJsonRejectTest, RawNulAfterValue) {
  ExpectRejected(std::string("[1]\0", 4), "at byte 4: raw NUL byte");
  ExpectRejected(std::string("{}\0{}", 5), "raw NUL byte");
}

TEST(ParseJsonRejectTest, TrailingGarbageReportsItsPosition) {
  ExpectRejected("[1] x", "at byte 5");
}

TEST(ParseJsonRejectTest, NestingDeeperThanLimitOfArrays) {
  ExpectRejected(Nested(33, "[", "]"), "nesting deeper than 32 levels");
}

TEST(ParseJsonRejectTest, NestingDeeperThanLimitOfObjects) {
  std::string text = Nested(32, "{\"a\":", "}");
  text.insert(32 * 5, "{}");
  ExpectRejected(text, "nesting deeper than 32 levels");
}

TEST(ParseJsonRejectTest, NestingDeeperThanLimitOfMixedContainers) {
  std::string text = Nested(16, "[{\"k\":", "}]");
  text.insert(16 * 6, "[]");
  ExpectRejected(text, "nesting deeper than 32 levels");
}

TEST(ParseJsonRejectTest, VeryDeepNestingStopsEarly) {
  ExpectRejected(std::string(1000000, '['), "nesting deeper than 32 levels");
}

// ---------------------------------------------------------------------------
// Canonical form is a fixed point.

class IdempotenceTest : public ::testing::TestWithParam<const char*> {};

TEST_P(IdempotenceTest, CanonicalizingTwiceChangesNothing) {
  const std::string once = CanonicalOrDie(GetParam());
  EXPECT_EQ(CanonicalOrDie(once), once);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, IdempotenceTest,
    ::testing::Values(
        "null", "-0", "1E30", "0.000001", "1e-7", "123456789012345678901234",
        R"("\u2028\u001f\ud83d\ude00\"\\\/")",
        R"({"b":[1,{"d":4.50,"c":3}],"a":"x","\ue000":0,"\ud83d\ude00":1})",
        R"([333333333.33333329, 1E30, 4.50, 2e-3, 1e-27, -5e-324])",
        R"({"ledger":"jlinx:uAAAA","number":1,"event":{"event":"opened document"}})"));

}  // namespace
}  // namespace microledger
