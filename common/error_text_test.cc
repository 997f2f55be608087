#include "common/error_text.h"

#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(QuoteForErrorTest, ShortTextIsUnchanged) {
  EXPECT_EQ(QuoteForError("z6Mk ledger"), "z6Mk ledger");
  EXPECT_EQ(QuoteForError("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(QuoteForErrorTest, LongTextIsCutAndSized) {
  const std::string big(5 << 20, 'a');
  const std::string quoted = QuoteForError(big);
  EXPECT_EQ(quoted, std::string(kMaxQuotedInputBytes, 'a') + "… (5242880 bytes)");
}

TEST(QuoteForErrorTest, CutsAtCharacterBoundary) {
  // Two-byte characters: a limit of 5 bytes keeps two of them, not two and a half.
  EXPECT_EQ(QuoteForError("\xc3\xa9\xc3\xa9\xc3\xa9", 5), "\xc3\xa9\xc3\xa9… (6 bytes)");
}

TEST(QuoteForErrorTest, EscapesControlsAndInvalidUtf8) {
  EXPECT_EQ(QuoteForError(std::string("a\nb\0c", 5)), "a\\x0Ab\\x00c");
  EXPECT_EQ(QuoteForError("\xff\xfe"), "\\xFF\\xFE");
}

}  // namespace
}  // namespace microledger
