// The owner agent core (DESIGN §1, §4): builds and signs blocks with the keys
// of its keystore, sends them to hosts, and verifies every host reply before
// it reports success. The gRPC service (owner_grpc_service.h) is a thin layer
// over this class; tests call it directly too.
//
// Per ledger the agent keeps two states: the verified head (host signature,
// checkpoint and Merkle frontier checked; persisted in the LedgerRegistry) and
// the drafted head (verified plus the blocks signed and sent but not answered
// yet). AppendEvent drafts and signs on the drafted head under the ledger's
// mutex and queues the block on the host's AppendStream, so one ledger's blocks
// are signed in order and pipelined; replies are verified in order on the
// stream's reader thread. A failed append resets the drafted head to the
// verified one and marks the ledger for re-synchronisation with the host
// (GetLedger, consistency proof from the held checkpoint, missing blocks
// fetched and verified) before its next block. Different ledgers proceed in
// parallel.
//
// A host whose checkpoint does not extend the agent's held checkpoint (other
// root at the same size, no valid consistency proof, smaller tree, or a
// checkpoint that does not cover the block it just countersigned) has
// equivocated: the ledger is marked, both checkpoints are stored as evidence
// and every later write to the ledger is refused with DATA_LOSS
// "host equivocation on ledger ...".
//
// Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_OWNER_AGENT_H_
#define MICROLEDGER_OWNER_AGENT_OWNER_AGENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/block.h"
#include "common/block_builder.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/host_client.h"
#include "owner_agent/keystore.h"
#include "owner_agent/ledger_registry.h"

namespace microledger {

struct OwnerAgentOptions {
  // Host of new ledgers when a request names none.
  std::string default_host;
  HostClientOptions host_client;
  // How long an append waits for the host's reply.
  std::chrono::milliseconds append_timeout{30000};
};

class OwnerAgent {
 public:
  // The agent's state lives in <keystore dir>/agent.
  static absl::StatusOr<std::unique_ptr<OwnerAgent>> Create(
      std::unique_ptr<Keystore> keystore, OwnerAgentOptions options);
  ~OwnerAgent();

  absl::StatusOr<v1::CreateKeyResponse> CreateKey(const v1::CreateKeyRequest& request);
  v1::ListKeysResponse ListKeys() const;
  absl::StatusOr<v1::OwnerCreateLedgerResponse> CreateLedger(
      const v1::OwnerCreateLedgerRequest& request);
  absl::StatusOr<v1::BlockOutcome> AppendEvent(const v1::AppendEventRequest& request);
  absl::StatusOr<v1::BlockOutcome> CloseLedger(const v1::CloseLedgerRequest& request);
  absl::StatusOr<v1::MoveLedgerResponse> MoveLedger(const v1::MoveLedgerRequest& request);
  absl::StatusOr<v1::BlockOutcome> TransferOwnership(
      const v1::TransferOwnershipRequest& request);
  absl::StatusOr<v1::BlockOutcome> CosignBlock(const v1::CosignBlockRequest& request);
  absl::StatusOr<v1::OwnerGetLedgerResponse> GetLedger(
      const v1::OwnerGetLedgerRequest& request);
  v1::ListLedgersResponse ListLedgers();
  absl::StatusOr<v1::VerifyLedgerResponse> VerifyLedger(
      const v1::VerifyLedgerRequest& request);
  // Streams the bundle to `sink` in chunks; stops (Cancelled) when sink
  // returns false.
  absl::Status ExportLedger(const v1::ExportLedgerRequest& request,
                            const std::function<bool(const std::string&)>& sink);
  absl::StatusOr<v1::GetEvidenceResponse> GetEvidence(
      const v1::GetEvidenceRequest& request);

  struct Ledger;
  struct Pending;

 private:
  OwnerAgent(std::unique_ptr<Keystore> keystore, std::unique_ptr<LedgerRegistry> registry,
             OwnerAgentOptions options);

  std::shared_ptr<HostClient> Host(const std::string& address);
  absl::StatusOr<std::shared_ptr<Ledger>> FindLedger(const std::string& ledger_id);
  std::shared_ptr<Ledger> AddLedger(LedgerRecord record);

  // All *Locked functions need ledger.mu held.
  absl::Status SyncLocked(Ledger& ledger) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  absl::Status PrepareLocked(Ledger& ledger) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  absl::Status CheckServedCheckpointLocked(Ledger& ledger, HostClient& host,
                                           const std::string& served)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  absl::Status EquivocationLocked(Ledger& ledger, const std::string& kind,
                                  const std::string& served, const std::string& detail)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  absl::Status AcceptReplyLocked(Ledger& ledger, Block block,
                                 const v1::AppendResponse& response,
                                 v1::CommittedBlock* committed)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Signs `block` with the held keys among `authorising` (merging with its
  // signatures); returns how many owner signatures it carries afterwards.
  absl::StatusOr<int> SignHeld(Block& block, const Controllers& authorising);
  // Sends a fully signed block; the ledger's drafted head advances.
  std::shared_ptr<Pending> SubmitLocked(std::shared_ptr<Ledger> ledger, const Block& block,
                                        const std::vector<v1::Attachment>& attachments)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  absl::StatusOr<v1::CommittedBlock> Wait(const std::shared_ptr<Ledger>& ledger,
                                          const std::shared_ptr<Pending>& pending);
  // Drafts the next block of `ledger` with `content`, signs and sends it (or
  // returns a proposal when this agent's keys do not meet the threshold).
  absl::StatusOr<v1::BlockOutcome> MakeBlock(const std::shared_ptr<Ledger>& ledger,
                                             BlockContent content,
                                             const std::vector<v1::Attachment>& attachments);
  absl::StatusOr<v1::CommittedBlock> FinishMove(const std::shared_ptr<Ledger>& old_ledger);

  std::unique_ptr<Keystore> keystore_;
  std::unique_ptr<LedgerRegistry> registry_;
  const OwnerAgentOptions options_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Ledger>> ledgers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<HostClient>> hosts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_OWNER_AGENT_H_
