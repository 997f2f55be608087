// Bounded quoting of untrusted input inside error messages: a message that
// echoes a 5 MiB ledger id or an 8 MiB event would itself exceed gRPC's
// message limits and hide the real error. Every error that names a value
// taken from a request, a peer or a file quotes it through QuoteForError.
// Thread-safe (pure functions).
#ifndef MICROLEDGER_COMMON_ERROR_TEXT_H_
#define MICROLEDGER_COMMON_ERROR_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace microledger {

// Most bytes of one input that an error message quotes.
inline constexpr size_t kMaxQuotedInputBytes = 200;

// `input` for an error message: at most `max_bytes` bytes of it, cut at a
// UTF-8 character boundary, control characters and invalid UTF-8 escaped
// (\xNN, upper-case hex like the verifier's rule text), followed by "… (N bytes)" when it was cut.
std::string QuoteForError(absl::string_view input, size_t max_bytes = kMaxQuotedInputBytes);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_ERROR_TEXT_H_
