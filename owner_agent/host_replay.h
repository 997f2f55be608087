// Internal to owner_agent/: the one loop that reads a range of a ledger's
// blocks from a host and replays them through a check, used by the host
// auditor's catch-up (a ChainState and Merkle frontier resumed from the
// verified head) and by the read-back of a whole ledger (LedgerVerifier,
// host_copy_reader.h). Every block the host serves is untrusted: it is parsed
// as a complete block and checked before anything else sees it.
// Thread-safe as far as `check` and `visit` are.
#ifndef MICROLEDGER_OWNER_AGENT_HOST_REPLAY_H_
#define MICROLEDGER_OWNER_AGENT_HOST_REPLAY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/block.h"
#include "owner_agent/host_client.h"

namespace microledger {

// The block that stopped a replay.
struct ReplayRejection {
  // Its position in the chain (1-based): `from` + the blocks before it.
  uint64_t position = 0;
  // Why: ParseBlock's or `check`'s error.
  absl::Status status;
  // The host served more blocks than `from`..`to` (status is then OK).
  bool beyond_range = false;
};

// Reads blocks `from`..`to` of `ledger_id` from `host`. Each served block is
// parsed (SignatureStage::kComplete) and passed to `check`; a block that does
// not parse, that `check` refuses or that lies beyond `to` stops the read and
// is returned. Blocks that pass go to `visit` (may be empty), whose error
// stops the read and is returned as the error. Other errors are the
// transport's ("reading blocks: …"). Fewer blocks than asked is not an error
// here: the caller knows how many it needs.
absl::StatusOr<std::optional<ReplayRejection>> ReplayHostBlocks(
    HostClient& host, const std::string& ledger_id, uint64_t from, uint64_t to,
    BlockRead read, const std::function<absl::Status(const Block&)>& check,
    const std::function<absl::Status(const Block&)>& visit);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_HOST_REPLAY_H_
