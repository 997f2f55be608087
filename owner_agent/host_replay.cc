#include "owner_agent/host_replay.h"

namespace microledger {

absl::StatusOr<std::optional<ReplayRejection>> ReplayHostBlocks(
    HostClient& host, const std::string& ledger_id, uint64_t from, uint64_t to,
    BlockRead read, const std::function<absl::Status(const Block&)>& check,
    const std::function<absl::Status(const Block&)>& visit) {
  std::optional<ReplayRejection> rejection;
  uint64_t position = from;
  absl::Status read_status = host.GetBlocks(
      ledger_id, from, to, read, [&](const std::string& bytes) -> absl::Status {
        if (position > to) {
          rejection = ReplayRejection{position, absl::OkStatus(), /*beyond_range=*/true};
          return absl::CancelledError("replay stopped");
        }
        absl::StatusOr<Block> block = ParseBlock(bytes, SignatureStage::kComplete);
        absl::Status checked = block.ok() ? check(*block) : block.status();
        if (!checked.ok()) {
          rejection = ReplayRejection{position, std::move(checked), false};
          return absl::CancelledError("replay stopped");
        }
        ++position;
        return visit ? visit(*block) : absl::OkStatus();
      });
  if (rejection.has_value()) return rejection;
  if (!read_status.ok()) return read_status;
  return std::optional<ReplayRejection>();
}

}  // namespace microledger
