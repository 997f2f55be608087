// UTF-8 decoding for the places that must judge text byte by byte (signed-note
// text, error messages made printable, JCS member-name ordering). Thread-safe.
#ifndef MICROLEDGER_COMMON_UTF8_H_
#define MICROLEDGER_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace microledger {

// Decodes the UTF-8 sequence at text[*pos] (which must be in range) into
// *code_point and advances *pos past it. Returns false, changing nothing, for
// ill-formed UTF-8: bad or missing continuation bytes, overlong forms,
// surrogates and values beyond U+10FFFF.
bool DecodeUtf8(absl::string_view text, size_t* pos, uint32_t* code_point);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_UTF8_H_
