// ParseBlock's fast path (issue 16): reads the common shape of a valid block —
// canonical JSON bytes with `event`, `fingerprint`, `ledger`, `number`,
// `previous` (when number > 1), `signatures` and `time`, no `controllers`, no
// `seals` — in one pass over the bytes, checking that every token is written
// exactly as JCS writes it while reading, without a JSON tree for the block
// and without serialising it again.
//
// The reader never reports an error: it either returns the very Block that
// ParseBlockThroughJsonTree (block.h) returns for the same bytes and stage, or
// declines (std::nullopt), and then ParseBlock takes the slow path, which
// gives the result and every error text. It declines whatever it is not sure
// of: any byte that breaks a rule, any escape JCS would not write, a number
// that is not exactly its JCS form, a member name outside ASCII in the event,
// nesting deeper than kMaxJsonDepth, the members `controllers` and `seals`.
// Thread-safe: a pure function.
#ifndef MICROLEDGER_COMMON_CANONICAL_BLOCK_READER_H_
#define MICROLEDGER_COMMON_CANONICAL_BLOCK_READER_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "common/block.h"

namespace microledger {

// The Block ParseBlock returns for `bytes` at `stage`, or std::nullopt when the
// bytes are not a valid block of the common shape above.
std::optional<Block> ReadCanonicalBlock(absl::string_view bytes,
                                        SignatureStage stage);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_CANONICAL_BLOCK_READER_H_
