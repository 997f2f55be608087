#include "common/timestamp.h"

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(TimestampTest, ParsesAndFormats) {
  absl::StatusOr<int64_t> millis = ParseTimestampMillis("2026-11-22T10:04:05.123Z");
  ASSERT_TRUE(millis.ok()) << millis.status();
  EXPECT_EQ(*millis, 1795341845123);
  EXPECT_EQ(FormatTimestampMillis(*millis), "2026-11-22T10:04:05.123Z");
}

TEST(TimestampTest, EpochAndLeapDay) {
  EXPECT_EQ(*ParseTimestampMillis("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_TRUE(ParseTimestampMillis("2024-02-29T23:59:59.999Z").ok());
  EXPECT_TRUE(ParseTimestampMillis("2000-02-29T00:00:00.000Z").ok());
}

TEST(TimestampTest, OrdersAsInstants) {
  EXPECT_LT(*ParseTimestampMillis("2026-11-22T10:04:05.123Z"),
            *ParseTimestampMillis("2026-11-22T10:04:05.124Z"));
}

TEST(TimestampTest, FormatsFourDigitYearsAndRoundTrips) {
  for (const char* text : {"0000-01-01T00:00:00.000Z", "0999-12-31T23:59:59.999Z",
                           "1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"}) {
    absl::StatusOr<int64_t> millis = ParseTimestampMillis(text);
    ASSERT_TRUE(millis.ok()) << text;
    EXPECT_EQ(FormatTimestampMillis(*millis), text);
  }
}

TEST(TimestampTest, ClampsInstantsTheFormatCannotExpress) {
  EXPECT_EQ(FormatTimestampMillis(*ParseTimestampMillis("0000-01-01T00:00:00.000Z") - 1),
            "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestampMillis(*ParseTimestampMillis("9999-12-31T23:59:59.999Z") + 1),
            "9999-12-31T23:59:59.999Z");
}

class BadTimestampTest : public testing::TestWithParam<const char*> {};

TEST_P(BadTimestampTest, IsRejected) {
  absl::StatusOr<int64_t> millis = ParseTimestampMillis(GetParam());
  ASSERT_FALSE(millis.ok()) << GetParam();
  EXPECT_EQ(millis.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(
    SpecForm, BadTimestampTest,
    testing::Values("2026-11-22T10:04:05Z",          // no fraction
                    "2026-11-22T10:04:05.12Z",       // two digits
                    "2026-11-22T10:04:05.1234Z",     // four digits
                    "2026-11-22t10:04:05.123Z",      // lowercase t
                    "2026-11-22T10:04:05.123z",      // lowercase z
                    "2026-11-22T10:04:05.123+00:00", // offset
                    "2026-11-22 10:04:05.123Z",      // space
                    "2026-02-29T10:04:05.123Z",      // not a leap year
                    "1900-02-29T10:04:05.123Z",      // century, not leap
                    "2026-13-01T10:04:05.123Z",      // month 13
                    "2026-00-01T10:04:05.123Z",      // month 0
                    "2026-04-31T10:04:05.123Z",      // April 31
                    "2026-11-00T10:04:05.123Z",      // day 0
                    "2026-11-22T24:00:00.000Z",      // hour 24
                    "2026-11-22T10:60:05.123Z",      // minute 60
                    "2026-11-22T23:59:60.000Z",      // leap second
                    "+026-11-22T10:04:05.123Z",      // sign
                    "2026-11-22T10:04:0５.123Z",     // non-ASCII digit
                    ""));

}  // namespace
}  // namespace microledger
