#include "mirror/mirror_record.h"

#include <algorithm>

#include "absl/status/status.h"
#include "common/fixed_coding.h"

namespace microledger {

absl::string_view MirrorModeName(MirrorMode mode) {
  switch (mode) {
    case MirrorMode::kFull:
      return "full";
    case MirrorMode::kTail:
      return "tail";
    case MirrorMode::kSparse:
      return "sparse";
  }
  return "unknown";
}

std::string MirrorRecordKey(absl::string_view ledger_key) {
  std::string key(1, kMirrorRecordTable);
  key.append(ledger_key.data(), ledger_key.size());
  return key;
}

std::string EncodeMirrorRecord(const MirrorRecord& record) {
  std::string out;
  PutFixed8(out, 1);
  PutFixed8(out, static_cast<uint8_t>(record.mode));
  PutFixed8(out, record.following ? 1 : 0);
  PutFixed64BE(out, record.tail_start);
  PutFixed64BE(out, static_cast<uint64_t>(record.last_used_millis));
  PutLengthPrefixed(out, record.ledger_id);
  PutLengthPrefixed(out, record.upstream);
  PutFixed32BE(out, static_cast<uint32_t>(record.fetched.size()));
  for (const BlockSpan& span : record.fetched) {
    PutFixed64BE(out, span.first);
    PutFixed64BE(out, span.last);
  }
  return out;
}

absl::StatusOr<MirrorRecord> DecodeMirrorRecord(absl::string_view bytes) {
  const absl::Status corrupt = absl::DataLossError("storage: corrupt mirror record");
  FixedReader reader(bytes);
  uint8_t version = 0, mode = 0, following = 0;
  uint64_t last_used = 0;
  uint32_t spans = 0;
  MirrorRecord record;
  if (!reader.ReadFixed8(&version) || version != 1 || !reader.ReadFixed8(&mode) ||
      mode < 1 || mode > 3 || !reader.ReadFixed8(&following) || following > 1 ||
      !reader.ReadFixed64BE(&record.tail_start) || !reader.ReadFixed64BE(&last_used) ||
      !reader.ReadLengthPrefixed(&record.ledger_id) ||
      !reader.ReadLengthPrefixed(&record.upstream) || !reader.ReadFixed32BE(&spans) ||
      reader.remaining() != size_t{spans} * 16) {
    return corrupt;
  }
  record.mode = static_cast<MirrorMode>(mode);
  record.following = following == 1;
  record.last_used_millis = static_cast<int64_t>(last_used);
  for (uint32_t i = 0; i < spans; ++i) {
    BlockSpan span;
    if (!reader.ReadFixed64BE(&span.first) || !reader.ReadFixed64BE(&span.last) ||
        span.first == 0 || span.first > span.last) {
      return corrupt;
    }
    record.fetched.push_back(span);
  }
  return record;
}

void AddSpan(std::vector<BlockSpan>& spans, BlockSpan span) {
  std::vector<BlockSpan> merged;
  bool placed = false;
  for (const BlockSpan& existing : spans) {
    if (existing.last + 1 < span.first) {
      merged.push_back(existing);
    } else if (span.last + 1 < existing.first) {
      if (!placed) merged.push_back(span);
      placed = true;
      merged.push_back(existing);
    } else {
      span.first = std::min(span.first, existing.first);
      span.last = std::max(span.last, existing.last);
    }
  }
  if (!placed) merged.push_back(span);
  spans = std::move(merged);
}

bool SpansCover(const std::vector<BlockSpan>& spans, uint64_t first, uint64_t last) {
  for (const BlockSpan& span : spans) {
    if (span.first <= first && last <= span.last) return true;
  }
  return false;
}

}  // namespace microledger
