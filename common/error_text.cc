#include "common/error_text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/utf8.h"

namespace microledger {

std::string QuoteForError(absl::string_view input, size_t max_bytes) {
  std::string out;
  size_t pos = 0;
  while (pos < input.size()) {
    size_t next = pos;
    uint32_t code_point = 0;
    if (!DecodeUtf8(input, &next, &code_point)) {
      if (pos + 1 > max_bytes) break;
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(input[pos]));
      ++pos;
      continue;
    }
    if (next > max_bytes) break;
    if (code_point < 0x20 || code_point == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02X", code_point);
    } else {
      out.append(input.data() + pos, next - pos);
    }
    pos = next;
  }
  if (pos < input.size()) absl::StrAppend(&out, "… (", input.size(), " bytes)");
  return out;
}

}  // namespace microledger
