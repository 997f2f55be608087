// Internal to owner_agent/: how a block gets from a draft to a verified
// commit (DESIGN §4). MakeBlock drafts the ledger's next block on its drafted
// head, signs it with the held keys (or returns a proposal when they do not
// meet the threshold), checks it, remembers the request id (RequestJournal),
// queues it on the host's AppendStream and waits; the host's reply is
// verified by the HostAuditor on the stream's reader thread, and the new head
// is saved through the RecordFlusher before the outcome is reported. A failed
// append resets the drafted head to the verified one and marks the ledger for
// re-synchronisation. Async appends are failed by CheckTimeouts (the agent's
// background thread) once past the append timeout.
//
// A retried request id is answered with the block an earlier attempt
// committed, if the host proves (block and inclusion proof in the verified
// tree) that one was.
//
// With a LedgerLocator (ml-owner --dht_proxy), a write whose ledger's
// recorded host is unreachable looks the ledger up in the DHT and syncs with
// the first server a host locator record names that serves the verified
// history (HostAuditor::AdoptHost): it becomes the ledger's host. Writes
// never go to a server named only by a mirror record.
//
// Thread-safe. Functions that take a LedgerState say which of its mutex they
// need; the pipeline's own state (the watchdog queue) has its own mutex.
#ifndef MICROLEDGER_OWNER_AGENT_APPEND_PIPELINE_H_
#define MICROLEDGER_OWNER_AGENT_APPEND_PIPELINE_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/block_builder.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/host_auditor.h"
#include "owner_agent/host_pool.h"
#include "owner_agent/keystore.h"
#include "owner_agent/ledger_locator.h"
#include "owner_agent/ledger_state.h"
#include "owner_agent/record_flusher.h"
#include "owner_agent/request_journal.h"

namespace microledger {

// False when a failed append may still have been committed by the host (the
// stream broke, the reply did not come or did not verify): then the agent
// keeps what it knows and re-synchronises.
bool OutcomeIsKnown(const absl::Status& status);

// CheckNextBlock(kOwnerSigned) for a block whose owner signatures this agent
// has just made itself (SignWithHeldKeys: distinct controller keys,
// ascending, as many as the threshold needs): every rule but the signature
// verification, which cannot fail for a signature made with the key (one
// Ed25519 verify, ~55 us, saved per block). Genesis blocks get the full check.
absl::Status CheckOwnSignedBlock(const ChainState& state, Block& block,
                                 const BlockRuleOptions& rules);

struct AppendPipelineOptions {
  // How long an append waits for the host's reply.
  std::chrono::milliseconds append_timeout{30000};
  // fsync the request journal before a block is sent (else the flusher does).
  bool sync_journal_before_send = false;
};

class AppendPipeline {
 public:
  using OutcomeCallback = std::function<void(absl::StatusOr<v1::BlockOutcome>)>;

  // `locator` may be null (no DHT failover).
  AppendPipeline(const Keystore& keystore, RequestJournal& journal, HostPool& hosts,
                 HostAuditor& auditor, RecordFlusher& flusher, const LedgerLocator* locator,
                 AppendPipelineOptions options)
      : keystore_(keystore),
        journal_(journal),
        hosts_(hosts),
        auditor_(auditor),
        flusher_(flusher),
        locator_(locator),
        options_(options) {}

  // Before a write: refuses an equivocated or frozen ledger
  // (HostAuditor::WriteRefusal); re-syncs a ledger marked for it, with
  // controller keys held elsewhere (another agent may have appended) or that
  // a server said was frozen, and refuses it if the sync froze it.
  absl::Status Prepare(LedgerState& ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Waits until no append of the ledger is in flight, then re-syncs it.
  absl::Status SyncIdle(LedgerState& ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // After the ledger's recorded host failed with `host_error` (unreachable):
  // the first server the ledger's DHT host records name (other than the
  // recorded host) that HostAuditor::AdoptHost accepts becomes its host and
  // the ledger is synced with it; else `host_error` (its code) with each
  // candidate's reason, or the DHT's error. Stops at a candidate that proves
  // equivocation. `host_error` alone without a locator. Needs no append in
  // flight.
  absl::Status RelocateHost(LedgerState& ledger, const absl::Status& host_error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);

  // Sends a fully signed block (`bytes` = SerializeBlock(block)); the
  // ledger's drafted head advances. With `on_done` the result goes to it
  // instead of to Wait, and CheckTimeouts enforces the append timeout.
  std::shared_ptr<PendingAppend> Submit(const std::shared_ptr<LedgerState>& ledger,
                                        Block block, std::string bytes,
                                        const std::vector<v1::Attachment>& attachments,
                                        CommittedCallback on_done,
                                        HeadSave head_save = HeadSave::kBeforeReport)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger->mu);
  absl::StatusOr<v1::CommittedBlock> Wait(const std::shared_ptr<PendingAppend>& pending);

  // Drafts the next block of `ledger` with `content`, signs and sends it and
  // waits for the verified outcome (or returns a proposal). `request_id` may
  // be empty.
  absl::StatusOr<v1::BlockOutcome> MakeBlock(const std::shared_ptr<LedgerState>& ledger,
                                             BlockContent content,
                                             const std::vector<v1::Attachment>& attachments,
                                             const std::string& request_id = "")
      ABSL_LOCKS_EXCLUDED(ledger->mu);
  // The same without waiting: `done` gets the outcome exactly once. A retry
  // of a remembered request id waits for the host's answer before `done`.
  // `before_draft` (may be null) is asked under the ledger's lock before
  // anything is drafted or synced — once no append of the ledger is in
  // flight when the ledger must be synced first — and an error from it is
  // the outcome (AppendEvents: an earlier event of the stream failed).
  void MakeBlockAsync(const std::shared_ptr<LedgerState>& ledger, BlockContent content,
                      const std::vector<v1::Attachment>& attachments,
                      const std::string& request_id, OutcomeCallback done,
                      HeadSave head_save = HeadSave::kBeforeReport,
                      const std::function<absl::Status()>& before_draft = nullptr)
      ABSL_LOCKS_EXCLUDED(ledger->mu);

  // Fails the async appends past their deadline (cancels their host stream).
  void CheckTimeouts() ABSL_LOCKS_EXCLUDED(timeouts_mu_);

 private:
  // The drafting part of MakeBlock: a proposal, an earlier attempt's
  // committed block or an error in `outcome`, or the pending append.
  std::shared_ptr<PendingAppend> DraftAndSubmit(const std::shared_ptr<LedgerState>& ledger,
                                                BlockContent content,
                                                const std::vector<v1::Attachment>& attachments,
                                                const std::string& request_id,
                                                absl::StatusOr<v1::BlockOutcome>& outcome,
                                                CommittedCallback on_done, HeadSave head_save,
                                                const std::function<absl::Status()>& before_draft)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger->mu);
  // SyncIdle, then RelocateHost when the recorded host is unreachable.
  absl::Status SyncHost(LedgerState& ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // The committed block of an earlier attempt of `request_id`, if the host
  // proves one is in the verified tree (after a sync).
  absl::StatusOr<std::optional<v1::CommittedBlock>> CommittedAttempt(
      LedgerState& ledger, const std::string& request_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // The host's reply to a submitted block, on the stream's reader thread.
  // `owner_signed`: the bytes sent to the host.
  void Finish(const std::shared_ptr<LedgerState>& ledger, uint64_t draft_epoch, Block block,
              absl::string_view owner_signed, absl::Status status,
              const v1::AppendResponse& response,
              const std::shared_ptr<PendingAppend>& pending)
      ABSL_LOCKS_EXCLUDED(ledger->mu, pending->mu);

  const Keystore& keystore_;
  RequestJournal& journal_;
  HostPool& hosts_;
  HostAuditor& auditor_;
  RecordFlusher& flusher_;
  const LedgerLocator* const locator_;
  const AppendPipelineOptions options_;
  // Async appends in submission order (= deadline order), for CheckTimeouts.
  absl::Mutex timeouts_mu_;
  std::deque<std::weak_ptr<PendingAppend>> timeouts_ ABSL_GUARDED_BY(timeouts_mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_APPEND_PIPELINE_H_
