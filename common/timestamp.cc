#include "common/timestamp.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/error_text.h"

namespace microledger {
namespace {

constexpr absl::string_view kTemplate = "dddd-dd-ddTdd:dd:dd.dddZ";

int Digits(absl::string_view text, size_t pos, size_t count) {
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

absl::Status Malformed(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("time \"", QuoteForError(text, 40), "\" ", why,
                   " (want YYYY-MM-DDTHH:MM:SS.mmmZ)"));
}

}  // namespace

absl::StatusOr<int64_t> ParseTimestampMillis(absl::string_view text) {
  if (text.size() != kTemplate.size()) return Malformed(text, "has the wrong length");
  for (size_t i = 0; i < kTemplate.size(); ++i) {
    const bool ok = kTemplate[i] == 'd' ? (text[i] >= '0' && text[i] <= '9')
                                        : text[i] == kTemplate[i];
    if (!ok) return Malformed(text, "is not in the required form");
  }
  const int year = Digits(text, 0, 4), month = Digits(text, 5, 2),
            day = Digits(text, 8, 2), hour = Digits(text, 11, 2),
            minute = Digits(text, 14, 2), second = Digits(text, 17, 2),
            millis = Digits(text, 20, 3);
  const absl::CivilDay civil_day(year, month, day);
  if (month < 1 || month > 12 || day < 1 || civil_day.year() != year ||
      civil_day.month() != month || civil_day.day() != day) {
    return Malformed(text, "is not a calendar date");
  }
  if (hour > 23 || minute > 59 || second > 59) {
    return Malformed(text, "is not a time of day");
  }
  const absl::Time day_start = absl::FromCivil(civil_day, absl::UTCTimeZone());
  return absl::ToUnixMillis(day_start) +
         ((hour * 60 + minute) * 60 + second) * int64_t{1000} + millis;
}

std::string FormatTimestampMillis(int64_t unix_millis) {
  static const int64_t kEarliest = *ParseTimestampMillis("0000-01-01T00:00:00.000Z");
  static const int64_t kLatest = *ParseTimestampMillis("9999-12-31T23:59:59.999Z");
  unix_millis = std::clamp(unix_millis, kEarliest, kLatest);
  const absl::Time time = absl::FromUnixMillis(unix_millis);
  const absl::CivilSecond civil = absl::ToCivilSecond(time, absl::UTCTimeZone());
  const int64_t millis = ((unix_millis % 1000) + 1000) % 1000;
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", civil.year(),
                         civil.month(), civil.day(), civil.hour(), civil.minute(),
                         civil.second(), millis);
}

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace microledger
