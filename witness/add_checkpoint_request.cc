#include "witness/add_checkpoint_request.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/utf8.h"

namespace microledger {
namespace {

constexpr absl::string_view kOldPrefix = "old ";

absl::Status BodyError(absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("add-checkpoint body: ", rule));
}

bool IsUtf8(absl::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    uint32_t code_point;
    if (!DecodeUtf8(text, &pos, &code_point)) return false;
  }
  return true;
}

absl::StatusOr<uint64_t> ParseOldSize(absl::string_view digits) {
  if (digits.empty()) return BodyError("old size is empty");
  for (const char c : digits) {
    if (c < '0' || c > '9') return BodyError("old size is not a decimal number");
  }
  if (digits.size() > 1 && digits[0] == '0') return BodyError("old size has leading zeros");
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t size = 0;
  for (const char c : digits) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (size > (kMax - digit) / 10) return BodyError("old size does not fit in 64 bits");
    size = size * 10 + digit;
  }
  return size;
}

// The next line of `rest` without its "\n", removed from `rest`; false when
// no "\n" is left.
bool TakeLine(absl::string_view& rest, absl::string_view& line) {
  const size_t end = rest.find('\n');
  if (end == absl::string_view::npos) return false;
  line = rest.substr(0, end);
  rest.remove_prefix(end + 1);
  return true;
}

}  // namespace

absl::StatusOr<AddCheckpointRequest> ParseAddCheckpointBody(absl::string_view body) {
  if (!IsUtf8(body)) return BodyError("not valid UTF-8");
  absl::string_view rest = body;
  absl::string_view line;
  if (!TakeLine(rest, line)) return BodyError("no old size line");
  if (line.substr(0, kOldPrefix.size()) != kOldPrefix) {
    return BodyError("the first line is not \"old <size>\"");
  }
  AddCheckpointRequest request;
  absl::StatusOr<uint64_t> old_size = ParseOldSize(line.substr(kOldPrefix.size()));
  if (!old_size.ok()) return old_size.status();
  request.old_size = *old_size;
  while (true) {
    if (!TakeLine(rest, line)) return BodyError("no empty line before the checkpoint");
    if (line.empty()) break;
    if (request.proof.size() == kMaxConsistencyProofHashes) {
      return BodyError("more than 63 consistency proof lines");
    }
    absl::StatusOr<std::string> bytes = DecodeBase64Std(line);
    if (!bytes.ok()) return BodyError("a proof line is not canonical standard base64");
    absl::StatusOr<MerkleHash> hash = MerkleHashFromBytes(*bytes);
    if (!hash.ok()) return BodyError("a proof line is not 32 bytes");
    request.proof.push_back(*hash);
  }
  request.note = std::string(rest);
  return request;
}

std::string AddCheckpointBody(const AddCheckpointRequest& request) {
  std::string body = absl::StrCat(kOldPrefix, request.old_size, "\n");
  for (const MerkleHash& hash : request.proof) {
    absl::StrAppend(&body, EncodeBase64Std(MerkleHashBytes(hash)), "\n");
  }
  absl::StrAppend(&body, "\n", request.note);
  return body;
}

}  // namespace microledger
