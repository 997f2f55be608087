// Internal to owner_agent/: checks everything a host (or, for reads, a
// mirror: the same HostService read API, trusted no more) serves about a
// ledger against what the agent has verified before (DESIGN §4), advances the
// verified head only with what passes, and records equivocation:
//   - a checkpoint that does not extend the held one is stored as evidence
//     and the ledger is marked; when the ledger key signed two histories the
//     SPEC §11 object is built (fork_prover.h), kept with the record, handed
//     to the ledger's host and to the server that served it
//     (HostService.ReportEquivocation: best effort, once; a server that
//     cannot take it, UNIMPLEMENTED or unreachable, gets a warning and the
//     object stays in GetEvidence) and the ledger is frozen for ever: writes
//     are refused with FAILED_PRECONDITION naming the evidence id;
//   - a host that serves a smaller tree than one it signed lost blocks (a
//     restored backup) but proved no two histories: the ledger is marked
//     without an object and writes are refused with DATA_LOSS
//     "host equivocation on ledger …", as is a fork the agent cannot prove;
//   - a server whose GetLedger says frozen: its evidence (GetLedgerEvidence)
//     is validated and kept, and the ledger frozen; until valid evidence
//     comes, writes are refused (FAILED_PRECONDITION with the server's
//     evidence id) without anything saved: an unsigned claim proves nothing.
// Every checkpoint it accepts is offered to the agent's witnesses
// (witness_submitter.h), if it has any.
// A mirror that is merely behind the agent (a smaller tree) is not a
// rollback: it cannot serve the read, nothing is recorded.
//
// Thread safety: the auditor keeps no state of its own (the registry and
// host pool are thread-safe); every method that takes a LedgerState needs
// its mutex.
#ifndef MICROLEDGER_OWNER_AGENT_HOST_AUDITOR_H_
#define MICROLEDGER_OWNER_AGENT_HOST_AUDITOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/block.h"
#include "microledger/v1/host.pb.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/agent_metrics.h"
#include "owner_agent/host_client.h"
#include "owner_agent/host_pool.h"
#include "owner_agent/ledger_registry.h"
#include "owner_agent/ledger_state.h"
#include "owner_agent/record_flusher.h"
#include "owner_agent/witness_submitter.h"

namespace microledger {

// The host signature of a complete block (its last signature): by the
// ledger's host key and valid over the block's signed message.
absl::Status CheckHostSignatureOf(const std::string& ledger_id, const Block& block);

// The tree size of the record's saved checkpoint (0 when there is none or it
// does not verify).
uint64_t HeldTreeSize(const LedgerRecord& record);

class HostAuditor {
 public:
  // `warn` gets the evidence that could not be handed to a server.
  // `metrics` (may be null) counts rejected replies, equivocations and
  // registry write failures; `witnesses` (may be null: the agent has none)
  // is offered every checkpoint the auditor accepts (a reply, a sync). Both
  // must outlive the auditor. Records are saved through `flusher`
  // (RecordFlusher::SaveNow: a failed save keeps the ledger dirty).
  HostAuditor(LedgerRegistry& registry, RecordFlusher& flusher, HostPool& hosts,
              std::function<void(absl::string_view)> warn, AgentMetrics* metrics = nullptr,
              WitnessSubmitter* witnesses = nullptr)
      : registry_(registry),
        flusher_(flusher),
        hosts_(hosts),
        warn_(std::move(warn)),
        metrics_(metrics),
        witnesses_(witnesses) {}

  // Why the ledger takes no write now (OK when it does): FAILED_PRECONDITION
  // naming the evidence id when it is frozen (or a server says so),
  // DATA_LOSS when its host equivocated without SPEC §11 evidence.
  static absl::Status WriteRefusal(const LedgerState& ledger)
      ABSL_SHARED_LOCKS_REQUIRED(ledger.mu);

  // Stores the evidence, marks the ledger (saved when it is in the registry)
  // and returns the DATA_LOSS error that reports it. With `server` (who
  // served `served`) the SPEC §11 object is built when the agent can prove
  // two histories, and then the ledger is frozen and the object reported.
  absl::Status Equivocation(LedgerState& ledger, const std::string& kind,
                            const std::string& served, const std::string& detail,
                            HostClient* server) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Keeps `evidence` (a valid SPEC §11 object in evidence_object and
  // evidence_id) unless the ledger already has one of that id, and freezes
  // the ledger for ever. The storage error, if any.
  absl::Status Freeze(LedgerState& ledger, const EvidenceRecord& evidence)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Hands the evidence object to each server (HostService.ReportEquivocation),
  // best effort: a failure is a warning.
  void Report(const std::string& evidence_object, const std::string& evidence_id,
              const std::vector<std::string>& addresses);

  // A checkpoint `server` serves: valid, and extending the held one. A
  // mirror's smaller tree is FAILED_PRECONDITION (behind), not a rollback.
  absl::Status CheckServedCheckpoint(LedgerState& ledger, HostClient& server,
                                     const std::string& served, bool mirror)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Brings the verified head up to the host's (GetLedger, its checkpoint
  // checked, the blocks appended meanwhile fetched and verified), saves the
  // record durably and resets the drafted head to it. Needs no append in
  // flight.
  absl::Status Sync(LedgerState& ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // The same from a mirror, for reads while the host is unreachable: the
  // same checks; the ledger still re-syncs with its host before a write.
  absl::Status SyncFromMirror(LedgerState& ledger, HostClient& mirror)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // The ledger's recorded host is unreachable and `candidate` is named by a
  // host locator record in the DHT: synced as from a mirror first (nothing
  // served from there is taken as the host's word: a candidate behind the
  // agent cannot serve, another history is equivocation evidence), then, if
  // that passes, `candidate` becomes the ledger's host (saved durably, a
  // warning says so without naming the ledger) and the ledger syncs with it
  // as with its host. Needs no append in flight.
  absl::Status AdoptHost(LedgerState& ledger, HostClient& candidate)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Verifies the host's reply to `block` (its signature and a checkpoint of
  // exactly the block's size that extends the verified tree), advances the
  // verified head and describes the block in *committed. The record is saved
  // durably for a genesis or terminal block; for any other block
  // *save_later is set and the caller saves it. Makes no network call (it
  // runs on a stream's reader thread): a checkpoint that does not extend
  // the tree is recorded without a SPEC §11 object.
  // `owner_signed` is the block's bytes as sent to the host: the committed
  // bytes are those with the verified host signature spliced in.
  absl::Status AcceptReply(LedgerState& ledger, Block block, absl::string_view owner_signed,
                           const v1::AppendResponse& response, v1::CommittedBlock* committed,
                           bool* save_later) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

 private:
  // AcceptReply without counting a rejected reply.
  absl::Status CheckAndAcceptReply(LedgerState& ledger, Block block,
                                   absl::string_view owner_signed,
                                   const v1::AppendResponse& response,
                                   v1::CommittedBlock* committed, bool* save_later)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  absl::Status SyncWith(LedgerState& ledger, HostClient& server, bool mirror)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // A server's GetLedger said frozen: its evidence, validated, is kept and
  // freezes the ledger; without valid evidence the refusal is in memory only.
  void AdoptServerEvidence(LedgerState& ledger, HostClient& server,
                           const std::string& evidence_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  LedgerRegistry& registry_;
  RecordFlusher& flusher_;
  HostPool& hosts_;
  const std::function<void(absl::string_view)> warn_;
  AgentMetrics* const metrics_;
  WitnessSubmitter* const witnesses_;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_HOST_AUDITOR_H_
