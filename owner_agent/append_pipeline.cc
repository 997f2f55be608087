#include "owner_agent/append_pipeline.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "owner_agent/multisig.h"
#include "owner_agent/proto_conversions.h"
#include "owner_agent/status_prefix.h"

namespace microledger {

bool OutcomeIsKnown(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
      return false;
    default:
      return true;
  }
}

absl::Status CheckOwnSignedBlock(const ChainState& state, Block& block,
                                 const BlockRuleOptions& rules) {
  if (block.number == 1) {
    return CheckNextBlock(state, block, SignatureStage::kOwnerSigned, rules);
  }
  ChainState relaxed = state;
  relaxed.controllers.threshold = 0;
  std::vector<BlockSignature> signatures;
  signatures.swap(block.signatures);
  absl::Status status = CheckNextBlock(relaxed, block, SignatureStage::kOwnerSigned, rules);
  block.signatures.swap(signatures);
  return status;
}

absl::Status AppendPipeline::SyncIdle(LedgerState& ledger) {
  ledger.mu.Await(absl::Condition(&NoneInflight, &ledger));
  return auditor_.Sync(ledger);
}

absl::Status AppendPipeline::SyncHost(LedgerState& ledger) {
  absl::Status synced = SyncIdle(ledger);
  if (synced.ok() || !ServerUnreachable(synced)) return synced;
  return RelocateHost(ledger, synced);
}

absl::Status AppendPipeline::RelocateHost(LedgerState& ledger, const absl::Status& host_error) {
  if (locator_ == nullptr) return host_error;
  absl::StatusOr<std::vector<LocatedServer>> located = locator_->Locate(ledger.record.ledger_id);
  if (!located.ok()) {
    return absl::Status(host_error.code(), absl::StrCat(host_error.message(), "; DHT: ",
                                                        located.status().message()));
  }
  std::string tried;
  for (const LocatedServer& server : *located) {
    if (server.role != LocatorRole::kHost || server.address == ledger.record.host_address) {
      continue;
    }
    absl::Status adopted = auditor_.AdoptHost(ledger, *hosts_.Get(server.address));
    if (adopted.ok() || ledger.record.equivocation) return adopted;
    absl::StrAppend(&tried, "; DHT host record ", server.address, ": ", adopted.message());
  }
  if (tried.empty()) tried = "; the DHT names no other host";
  return absl::Status(host_error.code(), absl::StrCat(host_error.message(), tried));
}

absl::Status AppendPipeline::Prepare(LedgerState& ledger) {
  if (ledger.record.equivocation) return HostAuditor::WriteRefusal(ledger);
  bool shared = false;
  for (const std::string& key : ledger.drafted.controllers.keys) {
    if (!keystore_.HasKey(key)) shared = true;
  }
  // A ledger a server said was frozen is asked again: valid evidence freezes
  // it for good, a host that no longer says so takes writes again.
  if (ledger.needs_sync || shared || !ledger.server_frozen_id.empty()) {
    if (absl::Status s = SyncHost(ledger); !s.ok()) return s;
    return HostAuditor::WriteRefusal(ledger);
  }
  return absl::OkStatus();
}

std::shared_ptr<PendingAppend> AppendPipeline::Submit(
    const std::shared_ptr<LedgerState>& ledger, Block block, std::string bytes,
    const std::vector<v1::Attachment>& attachments, CommittedCallback on_done,
    HeadSave head_save) {
  auto pending = std::make_shared<PendingAppend>();
  pending->host = hosts_.Get(ledger->record.host_address);
  pending->head_save = head_save;
  const bool async = on_done != nullptr;
  if (async) {
    absl::MutexLock lock(&pending->mu);
    pending->on_done = std::move(on_done);
    pending->deadline = std::chrono::steady_clock::now() + options_.append_timeout;
  }
  v1::AppendRequest request;
  request.set_block(bytes);
  for (const v1::Attachment& a : attachments) *request.add_attachments() = a;
  if (block.number == 1) request.set_ledger_token(ledger->record.ledger_token);
  const uint64_t draft_epoch = ledger->draft_epoch;
  ledger->inflight++;
  ledger->drafted = AdvanceChain(ledger->drafted, block);
  if (async) {
    absl::MutexLock lock(&timeouts_mu_);
    timeouts_.push_back(pending);
  }
  pending->host->Submit(
      std::move(request),
      [this, ledger, draft_epoch, block = std::move(block), bytes = std::move(bytes), pending](
          absl::Status status, const v1::AppendResponse& response) mutable {
        Finish(ledger, draft_epoch, std::move(block), bytes, std::move(status), response,
               pending);
      });
  return pending;
}

void AppendPipeline::Finish(const std::shared_ptr<LedgerState>& ledger, uint64_t draft_epoch,
                            Block block, absl::string_view owner_signed, absl::Status status,
                            const v1::AppendResponse& response,
                            const std::shared_ptr<PendingAppend>& pending) {
  const uint64_t number = block.number;
  const std::string ledger_id = block.ledger;
  v1::CommittedBlock committed;
  {
    absl::MutexLock lock(&ledger->mu);
    ledger->inflight--;
    bool save_later = false;
    if (status.ok()) {
      status = auditor_.AcceptReply(*ledger, std::move(block), owner_signed, response,
                                    &committed, &save_later);
    }
    if (status.ok() && save_later && pending->head_save == HeadSave::kAtFlush) {
      flusher_.MarkDirty(ledger);
    } else if (status.ok() && save_later) {
      // The head is promised to survive a killed agent once reported.
      if (absl::Status saved = flusher_.SaveHead(ledger); !saved.ok()) {
        status = absl::InternalError(absl::StrCat(
            "committed, but the verified head could not be saved: ", saved.message()));
      }
    }
    if (!status.ok()) {
      if (draft_epoch == ledger->draft_epoch) {
        ++ledger->draft_epoch;
        ledger->drafted = ledger->record.state;
      }
      ledger->needs_sync = true;
    }
  }
  absl::StatusOr<v1::CommittedBlock> result;
  if (status.ok()) {
    result = std::move(committed);
  } else {
    result = Prefix(status, absl::StrCat("append of block ", number, " to ", ledger_id, ": "));
  }
  CommittedCallback done;
  {
    absl::MutexLock lock(&pending->mu);
    pending->done = true;
    if (pending->on_done) {
      done = std::move(pending->on_done);
      pending->on_done = nullptr;
      if (pending->timed_out && !result.ok()) {
        result = absl::DeadlineExceededError(absl::StrCat(
            "the host did not answer the append in time: ", result.status().message()));
      }
    } else {
      pending->result = std::move(result);
    }
  }
  if (done) done(std::move(result));
}

namespace {

bool IsDone(PendingAppend* pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pending->mu) {
  return pending->done;
}

}  // namespace

absl::StatusOr<v1::CommittedBlock> AppendPipeline::Wait(
    const std::shared_ptr<PendingAppend>& pending) {
  absl::MutexLock lock(&pending->mu);
  if (!pending->mu.AwaitWithTimeout(absl::Condition(&IsDone, pending.get()),
                                    absl::Milliseconds(options_.append_timeout.count()))) {
    // Fails every append waiting on that stream; the ledger re-syncs.
    pending->host->CancelStream();
    pending->mu.AwaitWithTimeout(absl::Condition(&IsDone, pending.get()), absl::Seconds(10));
    if (!pending->done) {
      return absl::DeadlineExceededError("the host did not answer the append in time");
    }
    if (!pending->result.ok()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the host did not answer the append in time: ", pending->result.status().message()));
    }
  }
  return pending->result;
}

void AppendPipeline::CheckTimeouts() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<PendingAppend>> expired;
  {
    absl::MutexLock lock(&timeouts_mu_);
    while (!timeouts_.empty()) {
      std::shared_ptr<PendingAppend> pending = timeouts_.front().lock();
      if (pending != nullptr) {
        bool done;
        std::chrono::steady_clock::time_point deadline;
        {
          absl::MutexLock pending_lock(&pending->mu);
          done = pending->done;
          deadline = pending->deadline;
        }
        if (!done) {
          if (deadline > now) break;
          expired.push_back(std::move(pending));
        }
      }
      timeouts_.pop_front();
    }
  }
  for (std::shared_ptr<PendingAppend>& pending : expired) {
    {
      absl::MutexLock lock(&pending->mu);
      if (pending->done) continue;
      pending->timed_out = true;
    }
    // Fails every append waiting on that stream; the ledgers re-sync.
    pending->host->CancelStream();
  }
}

absl::StatusOr<std::optional<v1::CommittedBlock>> AppendPipeline::CommittedAttempt(
    LedgerState& ledger, const std::string& request_id) {
  LedgerRecord& record = ledger.record;
  const std::vector<RequestAttempt> attempts = journal_.Attempts(record.ledger_id, request_id);
  if (attempts.empty()) return std::nullopt;
  // The host's head is the truth: wait for this agent's own appends, then
  // bring the verified head up to the host's.
  if (absl::Status s = SyncHost(ledger); !s.ok()) {
    return Prefix(s, "cannot tell whether the request was committed: ");
  }
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(record.checkpoint, record.ledger_id);
  for (const RequestAttempt& attempt : attempts) {
    if (!held.ok() || attempt.number == 0 || attempt.number > held->tree_size) continue;
    std::shared_ptr<HostClient> host = hosts_.Get(record.host_address);
    // Block `number` as served, then proof that it is that leaf of the
    // verified tree: a host cannot make a committed request look
    // uncommitted (or the reverse) without failing the proof.
    absl::StatusOr<std::string> bytes = host->GetBlock(record.ledger_id, attempt.number);
    absl::StatusOr<Block> block =
        bytes.ok() ? ParseBlock(*bytes, SignatureStage::kComplete) : bytes.status();
    if (!block.ok() || block->number != attempt.number || block->ledger != record.ledger_id ||
        !CheckHostSignatureOf(record.ledger_id, *block).ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot tell whether the request was committed: the host did not serve block ",
          attempt.number, " with a valid host signature"));
    }
    absl::StatusOr<v1::GetInclusionProofResponse> proof =
        host->GetInclusionProof(record.ledger_id, attempt.number, held->tree_size);
    if (!proof.ok()) {
      return Prefix(proof.status(),
                    "cannot tell whether the request was committed: inclusion proof: ");
    }
    absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(proof->hashes());
    absl::StatusOr<std::string> leaf = DecodeDigest(block->fingerprint);
    if (!leaf.ok() || !path.ok() ||
        !VerifyMerkleInclusion(HashMerkleLeaf(*leaf), attempt.number - 1, held->tree_size,
                               *path, held->root_hash)
             .ok()) {
      return absl::DataLossError(absl::StrCat(
          "cannot tell whether the request was committed: the host's inclusion proof of "
          "block ",
          attempt.number, " does not verify"));
    }
    if (block->fingerprint != attempt.fingerprint) continue;
    return ToCommittedBlock(record.ledger_id, *block, *std::move(bytes), record.checkpoint);
  }
  return std::nullopt;
}

std::shared_ptr<PendingAppend> AppendPipeline::DraftAndSubmit(
    const std::shared_ptr<LedgerState>& ledger, BlockContent content,
    const std::vector<v1::Attachment>& attachments, const std::string& request_id,
    absl::StatusOr<v1::BlockOutcome>& outcome, CommittedCallback on_done, HeadSave head_save,
    const std::function<absl::Status()>& before_draft) {
  if (before_draft) {
    // A sync waits for the appends in flight anyway; their outcomes (which
    // `before_draft` may depend on) are known once none is left.
    if (ledger->needs_sync) ledger->mu.Await(absl::Condition(&NoneInflight, ledger.get()));
    if (absl::Status s = before_draft(); !s.ok()) {
      outcome = s;
      return nullptr;
    }
  }
  if (absl::Status s = Prepare(*ledger); !s.ok()) {
    outcome = s;
    return nullptr;
  }
  if (!request_id.empty()) {
    absl::StatusOr<std::optional<v1::CommittedBlock>> earlier =
        CommittedAttempt(*ledger, request_id);
    if (!earlier.ok()) {
      outcome = earlier.status();
      return nullptr;
    }
    if (earlier->has_value()) {
      outcome = CommittedOutcome(**std::move(earlier));
      return nullptr;
    }
  }
  if (!ledger->drafted.terminal_event.empty()) {
    outcome = absl::FailedPreconditionError(
        absl::StrCat("terminal: ledger ", ledger->drafted.ledger, " ended with \"",
                     ledger->drafted.terminal_event, "\" at block ", ledger->drafted.head_number));
    return nullptr;
  }
  if (ledger->drafted.head_number == 0 && !content.controllers.has_value()) {
    outcome = absl::FailedPreconditionError(absl::StrCat(
        "genesis: ledger ", ledger->drafted.ledger,
        " has no committed genesis block on its host (the host does not know it); only "
        "CreateLedger or MoveLedger write block 1"));
    return nullptr;
  }
  Block block = DraftNextBlock(ledger->drafted, std::move(content));
  const Controllers& authorising = block.number == 1 ? *block.controllers : ledger->drafted.controllers;
  absl::StatusOr<int> signatures = SignWithHeldKeys(keystore_, block, authorising);
  if (!signatures.ok()) {
    outcome = signatures.status();
    return nullptr;
  }
  if (*signatures == 0) {
    outcome = absl::FailedPreconditionError(absl::StrCat(
        "authority: this agent holds none of the controllers' keys of ledger ", ledger->drafted.ledger,
        " for block ", block.number));
    return nullptr;
  }
  if (*signatures < authorising.threshold) {
    if (block.number > 1) {
      if (absl::Status s = CheckEventRules(block, kDefaultMaxEventMemberNameBytes); !s.ok()) {
        outcome = Prefix(s, absl::StrCat("block ", block.number, ": "));
        return nullptr;
      }
    }
    v1::BlockOutcome proposal_outcome;
    v1::BlockProposal* proposal = proposal_outcome.mutable_proposal();
    proposal->set_host_address(ledger->record.host_address);
    if (block.number == 1) proposal->set_ledger_token(ledger->record.ledger_token);
    for (const v1::Attachment& a : attachments) *proposal->add_attachments() = a;
    DescribeProposal(block, authorising, proposal);
    ledger->needs_sync = true;  // Another agent may commit it.
    outcome = std::move(proposal_outcome);
    return nullptr;
  }
  // Every owner signature was made just now with this agent's keys: the
  // rules are checked, the signatures not re-verified.
  BlockRuleOptions rules = BlockRuleOptions::HostDefaults(NowMillis());
  if (absl::Status s = CheckOwnSignedBlock(ledger->drafted, block, rules); !s.ok()) {
    outcome = Prefix(s, absl::StrCat("block ", block.number, ": "));
    return nullptr;
  }
  std::string bytes = SerializeBlock(block);
  if (bytes.size() > kDefaultMaxBlockBytes) {
    outcome = absl::ResourceExhaustedError(absl::StrCat(
        "block ", block.number, ": larger than ", kDefaultMaxBlockBytes, " bytes"));
    return nullptr;
  }
  if (!request_id.empty()) {
    // Remembered before the host can see the block, so that a retry after
    // any crash asks the host about it.
    absl::Status recorded =
        journal_.Record(ledger->drafted.ledger, request_id, {block.number, block.fingerprint});
    if (recorded.ok() && options_.sync_journal_before_send) recorded = journal_.Sync();
    if (!recorded.ok()) {
      outcome = Prefix(recorded, "request journal: ");
      return nullptr;
    }
  }
  return Submit(ledger, std::move(block), std::move(bytes), attachments, std::move(on_done),
                head_save);
}

absl::StatusOr<v1::BlockOutcome> AppendPipeline::MakeBlock(
    const std::shared_ptr<LedgerState>& ledger, BlockContent content,
    const std::vector<v1::Attachment>& attachments, const std::string& request_id) {
  std::shared_ptr<PendingAppend> pending;
  absl::StatusOr<v1::BlockOutcome> outcome;
  {
    absl::MutexLock lock(&ledger->mu);
    pending = DraftAndSubmit(ledger, std::move(content), attachments, request_id, outcome,
                             nullptr, HeadSave::kBeforeReport, nullptr);
  }
  if (pending == nullptr) return outcome;
  absl::StatusOr<v1::CommittedBlock> committed = Wait(pending);
  if (!committed.ok()) return committed.status();
  return CommittedOutcome(*std::move(committed));
}

void AppendPipeline::MakeBlockAsync(const std::shared_ptr<LedgerState>& ledger,
                                    BlockContent content,
                                    const std::vector<v1::Attachment>& attachments,
                                    const std::string& request_id, OutcomeCallback done,
                                    HeadSave head_save,
                                    const std::function<absl::Status()>& before_draft) {
  std::shared_ptr<PendingAppend> pending;
  absl::StatusOr<v1::BlockOutcome> outcome;
  {
    absl::MutexLock lock(&ledger->mu);
    pending = DraftAndSubmit(ledger, std::move(content), attachments, request_id, outcome,
                             [done](absl::StatusOr<v1::CommittedBlock> committed) {
                               if (!committed.ok()) {
                                 done(committed.status());
                                 return;
                               }
                               done(CommittedOutcome(*std::move(committed)));
                             },
                             head_save, before_draft);
  }
  if (pending == nullptr) done(std::move(outcome));
}

}  // namespace microledger
