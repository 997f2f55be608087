// What a mirror remembers of each ledger it follows or holds, besides the
// ledger's data (which is in the host's storage layout, ledger_store/
// storage_layout.h): the upstream, the mode, whether it still follows, the
// first block of a tail, the block ranges a sparse mirror fetched, and when
// the ledger was last used (for --retain_idle). Stored under the key
// 'M' + the ledger's raw host key, a table of the mirror's own.
//
// Thread-safe: pure functions and value types.
#ifndef MICROLEDGER_MIRROR_MIRROR_RECORD_H_
#define MICROLEDGER_MIRROR_MIRROR_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {

inline constexpr char kMirrorRecordTable = 'M';

enum class MirrorMode : uint8_t { kFull = 1, kTail = 2, kSparse = 3 };
absl::string_view MirrorModeName(MirrorMode mode);  // "full", "tail", "sparse"

struct BlockSpan {
  uint64_t first = 0;
  uint64_t last = 0;  // Inclusive.
  friend bool operator==(const BlockSpan& a, const BlockSpan& b) {
    return a.first == b.first && a.last == b.last;
  }
};

struct MirrorRecord {
  std::string ledger_id;
  std::string upstream;  // host:port of the host or mirror followed.
  MirrorMode mode = MirrorMode::kFull;
  bool following = true;  // False once unfollowed.
  // Tail mode: the upstream's head when following began (the tail holds
  // block 1 and blocks tail_start.. on). 0 otherwise.
  uint64_t tail_start = 0;
  // Sparse mode: the blocks fetched for readers, ascending and disjoint.
  std::vector<BlockSpan> fetched;
  int64_t last_used_millis = 0;
};

std::string MirrorRecordKey(absl::string_view ledger_key);
// Version 0x01, then mode, following, tail_start, last_used, the ledger id
// and upstream (length-prefixed) and the fetched spans (u32 count, then
// first and last of each). DataLoss on anything else.
std::string EncodeMirrorRecord(const MirrorRecord& record);
absl::StatusOr<MirrorRecord> DecodeMirrorRecord(absl::string_view bytes);

// Adds `span` to the ascending, disjoint `spans`, merging overlapping and
// adjacent ones.
void AddSpan(std::vector<BlockSpan>& spans, BlockSpan span);
// Whether [first, last] lies inside `spans`.
bool SpansCover(const std::vector<BlockSpan>& spans, uint64_t first, uint64_t last);

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_MIRROR_RECORD_H_
