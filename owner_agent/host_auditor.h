// Internal to owner_agent/: checks everything a host serves about a ledger
// against what the agent has verified before (DESIGN §4), advances the
// verified head only with what passes, and records equivocation: a checkpoint
// that does not extend the held one (rollback, fork, no valid consistency
// proof) is stored as evidence, the ledger is marked and refused from then on
// (DATA_LOSS "host equivocation on ledger …").
//
// Thread safety: the auditor itself is stateless (the registry and host pool
// are thread-safe); every method that takes a LedgerState needs its mutex.
#ifndef MICROLEDGER_OWNER_AGENT_HOST_AUDITOR_H_
#define MICROLEDGER_OWNER_AGENT_HOST_AUDITOR_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/block.h"
#include "microledger/v1/host.pb.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/host_client.h"
#include "owner_agent/host_pool.h"
#include "owner_agent/ledger_registry.h"
#include "owner_agent/ledger_state.h"

namespace microledger {

// The host signature of a complete block (its last signature): by the
// ledger's host key and valid over the block's signed message.
absl::Status CheckHostSignatureOf(const std::string& ledger_id, const Block& block);

// The tree size of the record's saved checkpoint (0 when there is none or it
// does not verify).
uint64_t HeldTreeSize(const LedgerRecord& record);

class HostAuditor {
 public:
  HostAuditor(LedgerRegistry& registry, HostPool& hosts) : registry_(registry), hosts_(hosts) {}

  // Stores the evidence, marks the ledger (saved when it is in the registry)
  // and returns the DATA_LOSS error that reports it.
  absl::Status Equivocation(LedgerState& ledger, const std::string& kind,
                            const std::string& served, const std::string& detail)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // A checkpoint the host serves: valid, and extending the held one.
  absl::Status CheckServedCheckpoint(LedgerState& ledger, HostClient& host,
                                     const std::string& served)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Brings the verified head up to the host's (GetLedger, its checkpoint
  // checked, the blocks appended meanwhile fetched and verified), saves the
  // record durably and resets the drafted head to it. Needs no append in
  // flight.
  absl::Status Sync(LedgerState& ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Verifies the host's reply to `block` (its signature and a checkpoint of
  // exactly the block's size that extends the verified tree), advances the
  // verified head and describes the block in *committed. The record is saved
  // durably for a genesis or terminal block; for any other block
  // *save_later is set and the caller saves it.
  absl::Status AcceptReply(LedgerState& ledger, Block block,
                           const v1::AppendResponse& response, v1::CommittedBlock* committed,
                           bool* save_later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

 private:
  LedgerRegistry& registry_;
  HostPool& hosts_;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_HOST_AUDITOR_H_
