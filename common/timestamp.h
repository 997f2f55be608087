// Block time imprints (SPEC §1): exactly "YYYY-MM-DDTHH:MM:SS.mmmZ", RFC 3339 UTC
// with millisecond precision, a real calendar date, hours 00-23, seconds 00-59
// (no leap second). Times are carried as milliseconds since the Unix epoch, so
// comparing two parsed times compares the instants. Thread-safe.
#ifndef MICROLEDGER_COMMON_TIMESTAMP_H_
#define MICROLEDGER_COMMON_TIMESTAMP_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace microledger {

// Parses `text`; anything but the exact form is InvalidArgument.
absl::StatusOr<int64_t> ParseTimestampMillis(absl::string_view text);

// Formats milliseconds since the epoch; instants outside years 0000-9999 (which
// the format cannot express) are clamped to the nearest expressible one.
std::string FormatTimestampMillis(int64_t unix_millis);

// The current time, truncated to milliseconds.
int64_t NowMillis();

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_TIMESTAMP_H_
