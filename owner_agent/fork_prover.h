// Internal to owner_agent/: turns a checkpoint that does not extend the
// agent's verified tree into a SPEC §11 evidence object, from what the agent
// holds and what the server that served it (a host or a mirror) answers.
// A failed consistency proof alone proves nothing (the prover may lie), so:
//   - same size, other root: the two signed notes (`checkpoints`);
//   - a larger served tree whose block n (n = the agent's verified size)
//     differs from the agent's head block: the two host-signed blocks
//     (`blocks`) when the agent still has its head block's bytes in memory,
//     else one leaf from each side (`leaves`): the agent's head leaf with its
//     audit path (the roots of the agent's tree before the head block) under
//     its verified checkpoint, and the served block's leaf with the server's
//     inclusion proof under the server's checkpoint.
// A smaller served tree is a rollback, not two histories: not proven here.
//
// Thread-safe (no state; the HostClient is thread-safe).
#ifndef MICROLEDGER_OWNER_AGENT_FORK_PROVER_H_
#define MICROLEDGER_OWNER_AGENT_FORK_PROVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/merkle.h"
#include "owner_agent/host_client.h"

namespace microledger {

// What the agent holds of its verified tree of a ledger.
struct HeldTree {
  std::string ledger_id;
  // The verified checkpoint (tree size n) and the leaf n - 1 (the head
  // block's fingerprint).
  std::string checkpoint;
  std::string head_fingerprint;
  // MerkleFrontier::Serialize() of the tree of size n - 1 ("" = unknown).
  std::string previous_frontier;
  // The complete host-signed head block ("" = not at hand).
  std::string head_block;
};

// The audit path of leaf size - 1 in a tree of `size` leaves, from the
// serialized frontier of the first size - 1 leaves: its subtree roots,
// smallest first. InvalidArgument when the frontier is not of size - 1.
absl::StatusOr<std::vector<MerkleHash>> LastLeafAuditPath(absl::string_view previous_frontier,
                                                          uint64_t size);

// The evidence object (JCS bytes) proving that `served` (a checkpoint of the
// ledger, as `server` served it) and `held` are two histories signed by the
// ledger key. NotFound (saying why) when what the agent holds and the server
// answers prove nothing; the server's errors otherwise.
absl::StatusOr<std::string> ProveFork(const HeldTree& held, HostClient& server,
                                      const std::string& served);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_FORK_PROVER_H_
