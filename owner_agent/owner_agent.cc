#include "owner_agent/owner_agent.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/error_text.h"
#include "common/evidence.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "owner_agent/agent_metrics.h"
#include "owner_agent/append_pipeline.h"
#include "owner_agent/event_builder.h"
#include "owner_agent/host_auditor.h"
#include "owner_agent/host_copy_reader.h"
#include "owner_agent/host_pool.h"
#include "owner_agent/ledger_state.h"
#include "owner_agent/multisig.h"
#include "owner_agent/proto_conversions.h"
#include "owner_agent/record_flusher.h"
#include "owner_agent/witness_reads.h"
#include "owner_agent/witness_submitter.h"
#include "owner_agent/status_prefix.h"
#include "serving/log.h"

namespace microledger {
namespace {

void WarnOnStderr(absl::string_view message) {
  Log(LogLevel::kWarning, "agent_warning", message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<OwnerAgent>> OwnerAgent::Create(
    std::unique_ptr<Keystore> keystore, OwnerAgentOptions options) {
  if (keystore == nullptr) return absl::InvalidArgumentError("no keystore");
  absl::StatusOr<std::unique_ptr<LedgerRegistry>> registry =
      LedgerRegistry::Open(keystore->dir() + "/agent");
  if (!registry.ok()) return registry.status();
  absl::StatusOr<LedgerRegistry::Recovered> loaded = (*registry)->Recover();
  if (!loaded.ok()) return loaded.status();
  if (!options.warn) options.warn = WarnOnStderr;
  absl::StatusOr<std::unique_ptr<RequestJournal>> journal =
      RequestJournal::Open(keystore->dir() + "/agent/requests.jsonl",
                           options.max_remembered_requests);
  if (!journal.ok()) return journal.status();
  if (loaded->unreadable_head_lines > 0) {
    options.warn(absl::StrCat(loaded->unreadable_head_lines,
                              " head-log line(s) could not be read (torn by a crash or of "
                              "another format) and were skipped"));
  }
  if ((*journal)->unreadable_lines() > 0) {
    options.warn(absl::StrCat((*journal)->unreadable_lines(),
                              " request journal line(s) could not be read (torn by a crash "
                              "or of another format) and were skipped"));
  }
  for (const LedgerRegistry::QuarantinedRecord& q : loaded->quarantined) {
    options.warn(absl::StrCat("a damaged ledger record was moved to ", q.path, " (",
                              q.reason, "); its ledger is not served until it is repaired"));
  }
  std::vector<AgentWitness> witnesses;
  if (!options.witnesses.empty()) {
    if (options.witness_quorum == 0) options.witness_quorum = options.witnesses.size() / 2 + 1;
    if (options.witness_quorum > options.witnesses.size()) {
      return absl::InvalidArgumentError(absl::StrCat("witness quorum ", options.witness_quorum,
                                                     " is more than the ",
                                                     options.witnesses.size(), " witnesses"));
    }
    const absl::Duration timeout = absl::FromChrono(options.witness_request_timeout);
    for (const WitnessEndpoint& endpoint : options.witnesses) {
      absl::StatusOr<std::unique_ptr<WitnessClient>> client =
          NewHttpWitnessClient(endpoint, timeout);
      if (!client.ok()) return client.status();
      absl::StatusOr<std::unique_ptr<WitnessReads>> reads =
          NewHttpWitnessReads(endpoint.url, timeout);
      if (!reads.ok()) return reads.status();
      witnesses.push_back({*std::move(client), *std::move(reads)});
    }
  }
  std::unique_ptr<OwnerAgent> agent(new OwnerAgent(std::move(keystore), *std::move(registry),
                                                   *std::move(journal), std::move(options),
                                                   std::move(witnesses)));
  agent->quarantined_ = std::move(loaded->quarantined);
  OwnerAgent* raw = agent.get();
  agent->background_ = std::thread([raw] { raw->BackgroundLoop(); });
  return agent;
}

OwnerAgent::OwnerAgent(std::unique_ptr<Keystore> keystore,
                       std::unique_ptr<LedgerRegistry> registry,
                       std::unique_ptr<RequestJournal> journal, OwnerAgentOptions options,
                       std::vector<AgentWitness> witnesses)
    : keystore_(std::move(keystore)),
      registry_(std::move(registry)),
      journal_(std::move(journal)),
      options_(std::move(options)),
      hosts_(std::make_unique<HostPool>(options_.host_client)),
      witnesses_(MakeWitnessSubmitter(std::move(witnesses))),
      locator_(options_.dht == nullptr
                   ? nullptr
                   : std::make_unique<LedgerLocator>(options_.dht,
                                                     !options_.host_client.tls_ca_pem.empty())),
      flusher_(std::make_unique<RecordFlusher>(*registry_, *journal_,
                                               options_.state_flush_interval, options_.warn)),
      auditor_(std::make_unique<HostAuditor>(*registry_, *flusher_, *hosts_, options_.warn,
                                             options_.metrics, witnesses_.get())),
      resident_(options_.max_resident_ledgers) {
  if (options_.metrics != nullptr) {
    registry_->CountWriteFailuresIn(&options_.metrics->registry_write_failures);
  }
  AppendPipelineOptions pipeline;
  pipeline.append_timeout = options_.append_timeout;
  pipeline.sync_journal_before_send = options_.state_flush_interval.count() <= 0;
  pipeline_ = std::make_unique<AppendPipeline>(*keystore_, *journal_, *hosts_, *auditor_,
                                               *flusher_, locator_.get(), pipeline);
}

void OwnerAgent::StopWitnessing() {
  if (witnesses_ != nullptr) witnesses_->Stop();
}

OwnerAgent::~OwnerAgent() {
  // Waiters are answered "not witnessed"; later offers are ignored.
  if (witnesses_ != nullptr) witnesses_->Stop();
  hosts_->Clear();  // Ends the streams; waiting appends fail.
  {
    absl::MutexLock lock(&background_mu_);
    stopping_ = true;
  }
  if (background_.joinable()) background_.join();  // Flushes the dirty records.
}

std::unique_ptr<WitnessSubmitter> OwnerAgent::MakeWitnessSubmitter(
    std::vector<AgentWitness> witnesses) {
  if (witnesses.empty()) return nullptr;
  WitnessSubmitterOptions submitter;
  submitter.quorum = options_.witness_quorum;
  submitter.threads = std::min<size_t>(16, 2 * witnesses.size());
  submitter.warn = options_.warn;
  submitter.max_ledgers = options_.max_resident_ledgers;
  auto proofs = [this](const std::string& ledger_id, const std::string& host_address,
                       uint64_t old_size,
                       uint64_t new_size) -> absl::StatusOr<HostConsistencyProof> {
    absl::StatusOr<v1::GetConsistencyProofResponse> response =
        hosts_->Get(host_address)->GetConsistencyProof(ledger_id, old_size, new_size);
    if (!response.ok()) return response.status();
    absl::StatusOr<std::vector<MerkleHash>> hashes = MerkleHashesFromBytes(response->hashes());
    if (!hashes.ok()) return hashes.status();
    return HostConsistencyProof{response->old_checkpoint(), *std::move(hashes)};
  };
  absl::StatusOr<std::unique_ptr<WitnessSubmitter>> made = WitnessSubmitter::Create(
      std::move(witnesses), std::move(submitter), std::move(proofs),
      [this](EvidenceRecord evidence) { KeepWitnessEvidence(std::move(evidence)); });
  if (!made.ok()) {
    // Create() checked the quorum: not reached.
    options_.warn(absl::StrCat("no witness policy: ", made.status().message()));
    return nullptr;
  }
  return *std::move(made);
}

void OwnerAgent::KeepWitnessEvidence(EvidenceRecord evidence) {
  absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(evidence.ledger_id);
  if (absl::IsNotFound(found.status())) return;  // Not a ledger of this agent.
  if (!found.ok()) {
    // The record cannot be read now: the evidence is kept all the same.
    options_.warn(absl::StrCat("a witness's equivocation evidence ", evidence.evidence_id,
                               " is kept, but its ledger's record cannot be read to freeze "
                               "it: ", found.status().message()));
    if (absl::Status s = registry_->AddEvidence(evidence); !s.ok()) {
      options_.warn(absl::StrCat("cannot keep equivocation evidence: ", s.message()));
    }
    return;
  }
  std::shared_ptr<LedgerState> ledger = *found;
  bool known = false;
  absl::Status stored;
  std::string host_address;
  {
    absl::MutexLock lock(&ledger->mu);
    known = ledger->record.evidence_id == evidence.evidence_id;
    stored = auditor_->Freeze(*ledger, evidence);
    host_address = ledger->record.host_address;
  }
  if (known) return;
  if (options_.metrics != nullptr) options_.metrics->equivocations_detected.Increment();
  // No ledger id: the evidence id names the evidence, not the ledger.
  Log(LogLevel::kError, "equivocation",
      absl::StrCat(evidence.kind == "witness"
                       ? "EQUIVOCATION: a witness of this agent holds another history of a ledger"
                       : "EQUIVOCATION: a witness of this agent serves evidence that a ledger "
                         "was forked",
                   " (", evidence.kind, "); SPEC §11 evidence kept, the ledger is frozen"),
      {{"kind", evidence.kind},
       {"evidence_id", evidence.evidence_id},
       {"frozen", true},
       {"evidence_stored", stored.ok()}});
  auditor_->Report(evidence.evidence_object, evidence.evidence_id, {host_address});
}

absl::Status OwnerAgent::CheckWitnessWait(const v1::AppendEventRequest& request) const {
  if (request.wait_witnessed() && witnesses_ == nullptr) {
    return absl::FailedPreconditionError(
        "wait_witnessed: this agent has no witnesses (ml-owner --witness)");
  }
  return absl::OkStatus();
}

OwnerAgent::OutcomeCallback OwnerAgent::WaitWitnessedIfAsked(
    const v1::AppendEventRequest& request, LedgerState& ledger, OutcomeCallback done) {
  if (!request.wait_witnessed() || witnesses_ == nullptr) return done;
  const std::chrono::milliseconds timeout =
      request.witness_timeout_millis() == 0
          ? options_.witness_timeout
          : std::min<std::chrono::milliseconds>(
                std::chrono::milliseconds(request.witness_timeout_millis()),
                options_.max_witness_timeout);
  WitnessSubmitter* witnesses = witnesses_.get();
  std::string host_address;
  {
    absl::MutexLock lock(&ledger.mu);
    host_address = ledger.record.host_address;
  }
  return [witnesses, ledger_id = request.ledger_id(), host_address = std::move(host_address),
          timeout, done = std::move(done)](absl::StatusOr<v1::BlockOutcome> outcome) {
    if (!outcome.ok() || !outcome->has_committed()) {
      done(std::move(outcome));
      return;
    }
    const uint64_t number = outcome->committed().number();
    const std::string& checkpoint = outcome->committed().checkpoint();
    if (!witnesses->Knows(ledger_id, number) && !host_address.empty()) {
      // Verified when the block was committed; checked again for its size.
      if (absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(checkpoint, ledger_id); cp.ok()) {
        witnesses->Offer(ledger_id, cp->tree_size, checkpoint, host_address);
      }
    }
    witnesses->AwaitWitnessed(
        ledger_id, number, absl::Now() + absl::FromChrono(timeout),
        [done, committed = *std::move(outcome)](Witnessing witnessing) mutable {
          committed.set_witnessed(witnessing.witnessed);
          committed.set_witnessed_checkpoint(std::move(witnessing.checkpoint));
          committed.set_witness_detail(std::move(witnessing.detail));
          done(std::move(committed));
        });
  };
}

void OwnerAgent::BackgroundLoop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_flush = Clock::now() + options_.state_flush_interval;
  while (true) {
    {
      absl::MutexLock lock(&background_mu_);
      if (background_mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                                          absl::Milliseconds(100))) {
        break;
      }
    }
    pipeline_->CheckTimeouts();
    if (Clock::now() >= next_flush) {
      flusher_->Flush();
      next_flush = Clock::now() + options_.state_flush_interval;
    }
  }
  flusher_->Flush();
}

absl::StatusOr<std::shared_ptr<LedgerState>> OwnerAgent::RegisterNewLedger(
    LedgerRecord record, bool needs_sync) {
  // Registered before it is saved: a concurrent call for the same id finds
  // this one instead of saving an older record over it.
  const std::string id = record.ledger_id;
  LedgerRecord saved = record;
  std::shared_ptr<LedgerState> ledger = NewLedger(std::move(record));
  if (!RegisterLedger(id, ledger)) return FindLedger(id);
  absl::MutexLock lock(&ledger->mu);
  if (absl::Status s = registry_->Save(saved, /*sync=*/true); !s.ok()) {
    ForgetNewLedger(id);
    return s;
  }
  ledger->needs_sync = needs_sync;
  return ledger;
}

bool OwnerAgent::RegisterLedger(const std::string& ledger_id,
                                const std::shared_ptr<LedgerState>& ledger) {
  absl::MutexLock lock(&registration_mu_);
  if (registry_->Contains(ledger_id)) return false;
  return resident_.Add(ledger_id, ledger);
}

void OwnerAgent::ForgetNewLedger(const std::string& ledger_id) {
  absl::MutexLock lock(&registration_mu_);
  resident_.Remove(ledger_id);
  if (absl::Status s = registry_->Remove(ledger_id); !s.ok()) {
    options_.warn(absl::StrCat("cannot remove a failed ledger's record: ", s.message()));
  }
}

std::shared_ptr<LedgerState> OwnerAgent::NewLedger(LedgerRecord record) {
  auto ledger = std::make_shared<LedgerState>();
  absl::MutexLock ledger_lock(&ledger->mu);
  absl::StatusOr<MerkleFrontier> frontier = MerkleFrontier::Deserialize(record.frontier);
  if (frontier.ok()) ledger->frontier = *std::move(frontier);
  if (!frontier.ok() || ledger->frontier.size() != record.state.head_number) {
    // A record without a usable frontier (written before frontiers were
    // saved, or damaged): the chain is rebuilt from the host on the next
    // sync, still checked against the saved checkpoint when it verifies.
    ledger->frontier = MerkleFrontier();
    record.frontier = ledger->frontier.Serialize();
    record.previous_frontier.clear();
    record.state = ChainState::Empty(record.ledger_id);
    if (!record.checkpoint.empty() &&
        !VerifyCheckpoint(record.checkpoint, record.ledger_id).ok()) {
      options_.warn("a ledger record's saved checkpoint does not verify; its host is "
                    "not checked for rollback this time");
      record.checkpoint.clear();
    }
  }
  ledger->drafted = record.state;
  ledger->needs_sync = true;
  ledger->record = std::move(record);
  return ledger;
}

absl::StatusOr<std::shared_ptr<LedgerState>> OwnerAgent::FindLedger(
    const std::string& ledger_id) {
  if (std::shared_ptr<LedgerState> ledger = resident_.Find(ledger_id)) return ledger;
  // The record is read under the lock: one read before it, while another call
  // loaded the ledger, saved a newer head and dropped it again, would bring
  // the older state back.
  absl::MutexLock lock(&registration_mu_);
  // Another call may have loaded or registered it meanwhile.
  if (std::shared_ptr<LedgerState> ledger = resident_.Find(ledger_id)) return ledger;
  absl::StatusOr<LedgerRecord> record = registry_->Load(ledger_id);
  if (absl::IsNotFound(record.status())) {
    return absl::NotFoundError(absl::StrCat("ledger ", QuoteForError(ledger_id),
                                            " is not in this agent's registry"));
  }
  if (!record.ok()) return record.status();
  std::shared_ptr<LedgerState> ledger = NewLedger(*std::move(record));
  resident_.Add(ledger_id, ledger);
  return ledger;
}

// ---------------------------------------------------------------- keys

absl::StatusOr<v1::CreateKeyResponse> OwnerAgent::CreateKey(
    const v1::CreateKeyRequest& request) {
  absl::StatusOr<std::string> key = keystore_->CreateKey(request.label());
  if (!key.ok()) return key.status();
  v1::CreateKeyResponse response;
  response.set_key(*key);
  return response;
}

v1::ListKeysResponse OwnerAgent::ListKeys() const {
  v1::ListKeysResponse response;
  for (const KeyInfo& info : keystore_->ListKeys()) {
    v1::OwnerKey* key = response.add_keys();
    key->set_key(info.public_key_text);
    key->set_label(info.label);
    key->set_created_unix_millis(info.created_unix_millis);
  }
  return response;
}

// ---------------------------------------------------------------- ledgers

absl::StatusOr<v1::OwnerCreateLedgerResponse> OwnerAgent::CreateLedger(
    const v1::OwnerCreateLedgerRequest& request) {
  if (request.document_type().empty()) {
    return absl::InvalidArgumentError("document type: required");
  }
  const std::string address =
      request.host_address().empty() ? options_.default_host : request.host_address();
  if (address.empty()) return absl::InvalidArgumentError("no host address (and no --host)");
  std::string key = request.key();
  if (key.empty()) {
    absl::StatusOr<std::string> created = keystore_->CreateKey(request.document_type());
    if (!created.ok()) return created.status();
    key = *created;
  } else if (!keystore_->HasKey(key)) {
    return absl::NotFoundError(absl::StrCat("key ", key, " is not in the keystore"));
  }
  absl::StatusOr<Controllers> controllers = GenesisControllers(request, key);
  if (!controllers.ok()) return controllers.status();
  absl::StatusOr<BlockContent> content =
      GenesisContent(request, key, *controllers, NowMillis());
  if (!content.ok()) return content.status();

  absl::StatusOr<v1::CreateLedgerResponse> created = hosts_->Get(address)->CreateLedger();
  if (!created.ok()) return Prefix(created.status(), absl::StrCat("host ", address, ": "));
  LedgerRecord record;
  record.ledger_id = created->ledger_id();
  record.host_address = address;
  record.ledger_token = created->ledger_token();
  record.document_type = request.document_type();
  record.original_id = created->ledger_id();
  record.state = ChainState::Empty(created->ledger_id());
  absl::StatusOr<std::shared_ptr<LedgerState>> ledger =
      RegisterNewLedger(std::move(record), /*needs_sync=*/false);
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<v1::BlockOutcome> genesis = pipeline_->MakeBlock(*ledger, *std::move(content), {});
  if (!genesis.ok()) {
    if (OutcomeIsKnown(genesis.status())) {
      // The host refused the genesis (or it was never sent): no ledger.
      ForgetNewLedger(created->ledger_id());
    }
    return genesis.status();
  }
  v1::OwnerCreateLedgerResponse response;
  response.set_ledger_id(created->ledger_id());
  response.set_key(key);
  *response.mutable_genesis() = *std::move(genesis);
  return response;
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::AppendEvent(
    const v1::AppendEventRequest& request) {
  absl::StatusOr<v1::BlockOutcome> outcome = AppendEventUncounted(request);
  if (options_.metrics != nullptr) options_.metrics->AppendAnswered(outcome.status());
  return outcome;
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::AppendEventUncounted(
    const v1::AppendEventRequest& request) {
  if (absl::Status s = CheckWitnessWait(request); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<LedgerState>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<EventAppend> append = EventContent(request, NowMillis());
  if (!append.ok()) return append.status();
  absl::StatusOr<v1::BlockOutcome> outcome = pipeline_->MakeBlock(
      *ledger, std::move(append->content), append->attachments, request.request_id());
  if (!request.wait_witnessed()) return outcome;
  absl::Notification answered;
  absl::StatusOr<v1::BlockOutcome> waited;
  WaitWitnessedIfAsked(request, **ledger, [&](absl::StatusOr<v1::BlockOutcome> witnessed) {
    waited = std::move(witnessed);
    answered.Notify();
  })(std::move(outcome));
  answered.WaitForNotification();
  return waited;
}

void OwnerAgent::FlushState() { flusher_->Flush(); }

void OwnerAgent::CountRefusedAppend(const absl::Status& refusal) const {
  if (options_.metrics != nullptr) options_.metrics->AppendAnswered(refusal);
}

void OwnerAgent::AppendEventAsync(const v1::AppendEventRequest& request,
                                  OutcomeCallback done, HeadSave head_save,
                                  const std::function<absl::Status()>& before_draft) {
  if (options_.metrics != nullptr) {
    done = [metrics = options_.metrics,
            inner = std::move(done)](absl::StatusOr<v1::BlockOutcome> outcome) {
      metrics->AppendAnswered(outcome.status());
      inner(std::move(outcome));
    };
  }
  if (absl::Status s = CheckWitnessWait(request); !s.ok()) {
    done(s);
    return;
  }
  absl::StatusOr<std::shared_ptr<LedgerState>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) {
    done(ledger.status());
    return;
  }
  done = WaitWitnessedIfAsked(request, **ledger, std::move(done));
  absl::StatusOr<EventAppend> append = EventContent(request, NowMillis());
  if (!append.ok()) {
    done(append.status());
    return;
  }
  pipeline_->MakeBlockAsync(*ledger, std::move(append->content), append->attachments,
                            request.request_id(), std::move(done), head_save, before_draft);
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::CloseLedger(
    const v1::CloseLedgerRequest& request) {
  absl::StatusOr<std::shared_ptr<LedgerState>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) return ledger.status();
  return pipeline_->MakeBlock(*ledger, ClosedContent(NowMillis()), {});
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::TransferOwnership(
    const v1::TransferOwnershipRequest& request) {
  absl::StatusOr<std::shared_ptr<LedgerState>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<BlockContent> content = TransferContent(request, NowMillis());
  if (!content.ok()) return content.status();
  return pipeline_->MakeBlock(*ledger, *std::move(content), {});
}

// ---------------------------------------------------------------- moves

absl::StatusOr<v1::CommittedBlock> OwnerAgent::FinishMove(
    const std::shared_ptr<LedgerState>& old_ledger) {
  LedgerRecord old;
  {
    absl::MutexLock lock(&old_ledger->mu);
    old = old_ledger->record;
  }
  std::shared_ptr<LedgerState> ledger;
  if (absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(old.move_new_id);
      found.ok()) {
    ledger = *found;
  } else if (!absl::IsNotFound(found.status())) {
    return found.status();
  } else {
    LedgerRecord record;
    record.ledger_id = old.move_new_id;
    record.host_address = old.move_host;
    record.ledger_token = old.move_token;
    record.document_type = old.document_type;
    record.original_id = old.original_id;
    record.state = ChainState::Empty(old.move_new_id);
    absl::StatusOr<std::shared_ptr<LedgerState>> added =
        RegisterNewLedger(std::move(record), /*needs_sync=*/true);
    if (!added.ok()) return added.status();
    ledger = *added;
  }
  absl::StatusOr<v1::BlockOutcome> became =
      pipeline_->MakeBlock(ledger, BecameContent(old, NowMillis()), {});
  if (!became.ok()) return Prefix(became.status(), "became document: ");
  if (!became->has_committed()) return absl::InternalError("became document: not committed");
  absl::MutexLock lock(&old_ledger->mu);
  LedgerRecord& record = old_ledger->record;
  record.moved_to = record.move_new_id;
  record.move_host.clear();
  record.move_token.clear();
  if (absl::Status s = flusher_->SaveNow(*old_ledger); !s.ok()) {
    return Prefix(s, "became document committed, but the moved ledger's record could not "
                     "be saved: ");
  }
  return became->committed();
}

absl::StatusOr<v1::MoveLedgerResponse> OwnerAgent::MoveLedger(
    const v1::MoveLedgerRequest& request) {
  absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(request.ledger_id());
  if (!found.ok()) return found.status();
  std::shared_ptr<LedgerState> ledger = *found;
  v1::MoveLedgerResponse response;
  bool resume = false;
  std::string new_key;
  {
    absl::MutexLock lock(&ledger->mu);
    if (absl::Status s = pipeline_->Prepare(*ledger); !s.ok()) return s;
    // Nothing in flight and the verified head is the host's: a moved block
    // of an earlier call (a retry's original) is either committed, and this
    // call finishes it, or not, and its reserved new id may be replaced.
    if (absl::Status s = pipeline_->SyncIdle(*ledger); !s.ok()) return s;
    LedgerRecord& record = ledger->record;
    if (record.state.terminal_event == kMovedDocument && !record.move_new_id.empty() &&
        record.moved_to.empty()) {
      resume = true;  // The moved block is committed; finish the genesis there.
    } else {
      if (!record.state.terminal_event.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("terminal: ledger ", record.ledger_id, " ended with \"",
                         record.state.terminal_event, "\""));
      }
      int held = 0;
      for (const std::string& key : record.state.controllers.keys) {
        held += keystore_->HasKey(key) ? 1 : 0;
      }
      if (held < record.state.controllers.threshold) {
        return absl::FailedPreconditionError(
            "authority: MoveLedger needs keys meeting the threshold in this agent");
      }
      new_key = request.new_key();
      if (new_key.empty()) {
        absl::StatusOr<std::string> created = keystore_->CreateKey(record.document_type);
        if (!created.ok()) return created.status();
        new_key = *created;
      } else if (!keystore_->HasKey(new_key)) {
        return absl::NotFoundError(absl::StrCat("key ", new_key, " is not in the keystore"));
      }
      const std::string address =
          request.host_address().empty() ? record.host_address : request.host_address();
      absl::StatusOr<v1::CreateLedgerResponse> created = hosts_->Get(address)->CreateLedger();
      if (!created.ok()) return Prefix(created.status(), absl::StrCat("host ", address, ": "));
      record.move_host = address;
      record.move_new_id = created->ledger_id();
      record.move_token = created->ledger_token();
      record.move_new_key = new_key;
      if (absl::Status s = flusher_->SaveNow(*ledger); !s.ok()) return s;
    }
  }
  if (!resume) {
    std::string new_id;
    {
      absl::MutexLock lock(&ledger->mu);
      new_id = ledger->record.move_new_id;
    }
    absl::StatusOr<v1::BlockOutcome> moved =
        pipeline_->MakeBlock(ledger, MovedContent(new_id, new_key, NowMillis()), {});
    if (!moved.ok()) return Prefix(moved.status(), "moved document: ");
    if (!moved->has_committed()) return absl::InternalError("moved document: not committed");
    *response.mutable_moved() = moved->committed();
  }
  {
    absl::MutexLock lock(&ledger->mu);
    ledger->record.move_block_fingerprint = ledger->record.state.head_fingerprint;
    new_key = ledger->record.move_new_key;
    response.set_new_ledger_id(ledger->record.move_new_id);
    if (absl::Status s = flusher_->SaveNow(*ledger); !s.ok()) {
      return Prefix(s, "moved document committed, but the ledger's record could not be "
                       "saved (MoveLedger again to finish the move): ");
    }
  }
  response.set_new_key(new_key);
  absl::StatusOr<v1::CommittedBlock> became = FinishMove(ledger);
  if (!became.ok()) return became.status();
  *response.mutable_became() = *std::move(became);
  return response;
}

// ---------------------------------------------------------------- multisig

absl::StatusOr<v1::BlockOutcome> OwnerAgent::CosignBlock(
    const v1::CosignBlockRequest& request) {
  const v1::BlockProposal& proposal = request.proposal();
  absl::StatusOr<Block> parsed = ParseBlock(proposal.block(), SignatureStage::kOwnerSigned);
  if (!parsed.ok()) return Prefix(parsed.status(), "proposal: ");
  Block block = *std::move(parsed);
  std::shared_ptr<LedgerState> ledger;
  if (absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(block.ledger);
      found.ok()) {
    ledger = *found;
  } else if (!absl::IsNotFound(found.status())) {
    return found.status();  // A record that cannot be read is not a new ledger.
  } else {
    if (proposal.host_address().empty()) {
      return absl::InvalidArgumentError("proposal: no host address");
    }
    LedgerRecord record;
    record.ledger_id = block.ledger;
    record.host_address = proposal.host_address();
    record.ledger_token = proposal.ledger_token();
    record.original_id = block.ledger;
    record.state = ChainState::Empty(block.ledger);
    record.frontier = MerkleFrontier().Serialize();
    // Kept in memory only until the proposal has passed every check.
    ledger = NewLedger(std::move(record));
    absl::MutexLock lock(&ledger->mu);
    ledger->saved_in_registry = false;
  }
  std::vector<v1::Attachment> attachments = ToVector(proposal.attachments());
  std::shared_ptr<PendingAppend> pending;
  {
    absl::MutexLock lock(&ledger->mu);
    ledger->needs_sync = true;
    if (absl::Status s = pipeline_->Prepare(*ledger); !s.ok()) return s;
    if (block.number == 1 && ledger->record.ledger_token.empty()) {
      ledger->record.ledger_token = proposal.ledger_token();
    }
    if (absl::Status s = CheckProposalFollows(ledger->drafted, block); !s.ok()) return s;
    if (block.number == 1 && !block.controllers.has_value()) {
      return absl::InvalidArgumentError("controllers: required in the genesis block");
    }
    const Controllers authorising = block.number == 1 ? *block.controllers : ledger->drafted.controllers;
    if (absl::Status s = CheckProposalSignatures(block, authorising); !s.ok()) return s;
    const size_t before = block.signatures.size();
    absl::StatusOr<int> count = SignWithHeldKeys(*keystore_, block, authorising);
    if (!count.ok()) return count.status();
    if (static_cast<size_t>(*count) == before && *count < authorising.threshold) {
      return absl::FailedPreconditionError(absl::StrCat(
          "authority: this agent holds none of the missing controller keys of block ",
          block.number));
    }
    if (*count < authorising.threshold) {
      v1::BlockOutcome outcome;
      v1::BlockProposal* out = outcome.mutable_proposal();
      *out = proposal;
      out->set_host_address(ledger->record.host_address);
      DescribeProposal(block, authorising, out);
      return outcome;
    }
    if (absl::Status s = CheckNextBlock(ledger->drafted, block, SignatureStage::kOwnerSigned,
                                        BlockRuleOptions::HostDefaults(NowMillis()));
        !s.ok()) {
      return Prefix(s, absl::StrCat("block ", block.number, ": "));
    }
    if (!ledger->saved_in_registry) {
      // Registered first: a concurrent call that added the ledger meanwhile
      // keeps its record, this one saves nothing.
      if (!RegisterLedger(block.ledger, ledger)) {
        return absl::AbortedError(
            "another call added this ledger to the agent meanwhile; retry the CosignBlock");
      }
      if (absl::Status s = registry_->Save(ledger->record, /*sync=*/true); !s.ok()) {
        ForgetNewLedger(block.ledger);
        return s;
      }
      ledger->saved_in_registry = true;
    }
    std::string bytes = SerializeBlock(block);
    pending = pipeline_->Submit(ledger, std::move(block), std::move(bytes), attachments,
                                nullptr);
  }
  absl::StatusOr<v1::CommittedBlock> committed = pipeline_->Wait(pending);
  if (!committed.ok()) return committed.status();
  return CommittedOutcome(*std::move(committed));
}

// ---------------------------------------------------------------- reads

absl::StatusOr<v1::OwnerGetLedgerResponse> OwnerAgent::GetLedger(
    const v1::OwnerGetLedgerRequest& request) {
  absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(request.ledger_id());
  if (!found.ok()) return found.status();
  std::shared_ptr<LedgerState> ledger = *found;
  v1::OwnerGetLedgerResponse response;
  {
    absl::MutexLock lock(&ledger->mu);
    // An equivocated ledger is not synced again: its verified state is
    // the answer (reads go on; writes are refused).
    if (!request.offline() && !ledger->record.equivocation) {
      absl::Status synced = pipeline_->SyncIdle(*ledger);
      if (!synced.ok() && ServerUnreachable(synced)) synced = SyncFromMirrors(*ledger, synced);
      if (!synced.ok()) return synced;
    }
    response.set_ledger_id(ledger->record.ledger_id);
    response.set_host_address(ledger->record.host_address);
    response.set_status(StatusOf(ledger->record.state));
    response.set_head_number(ledger->record.state.head_number);
    response.set_head_fingerprint(ledger->record.state.head_fingerprint);
    ToProto(ledger->record.state.controllers, response.mutable_controllers());
    response.set_checkpoint(ledger->record.checkpoint);
    for (const std::string& key : ledger->record.state.controllers.keys) {
      if (keystore_->HasKey(key)) response.add_held_keys(key);
    }
    response.set_document_type(ledger->record.document_type);
    response.set_original_id(ledger->record.original_id);
    response.set_moved_to(ledger->record.moved_to.empty() && ledger->record.state.terminal_event == kMovedDocument
                              ? ledger->record.move_new_id
                              : ledger->record.moved_to);
    response.set_equivocation(ledger->record.equivocation);
  }
  absl::StatusOr<std::vector<EvidenceRecord>> evidence =
      registry_->ListEvidence(request.ledger_id());
  if (!evidence.ok()) {
    options_.warn(absl::StrCat("cannot list a ledger's evidence: ",
                               evidence.status().message()));
    return response;
  }
  for (const EvidenceRecord& e : *evidence) ToProto(e, response.add_evidence());
  return response;
}

v1::ListLedgersResponse OwnerAgent::ListLedgers() {
  // Saved records, overlaid by the resident states (whose heads may not be
  // saved yet).
  absl::flat_hash_map<std::string, v1::ListLedgersResponse::Entry> listed;
  auto list = [&listed](const LedgerRecord& record) {
    v1::ListLedgersResponse::Entry& entry = listed[record.ledger_id];
    entry.set_ledger_id(record.ledger_id);
    entry.set_host_address(record.host_address);
    entry.set_head_number(record.state.head_number);
  };
  absl::StatusOr<size_t> unreadable = registry_->ForEachRecord(list);
  if (!unreadable.ok()) {
    options_.warn(absl::StrCat("cannot list the ledger records: ", unreadable.status().message()));
  } else if (*unreadable > 0) {
    options_.warn(absl::StrCat(*unreadable, " ledger record(s) could not be read and are not "
                               "listed; they are quarantined at the next start"));
  }
  for (const std::shared_ptr<LedgerState>& ledger : resident_.All()) {
    absl::MutexLock lock(&ledger->mu);
    if (ledger->saved_in_registry) list(ledger->record);
  }
  v1::ListLedgersResponse response;
  response.mutable_ledgers()->Reserve(static_cast<int>(listed.size()));
  for (auto& [id, entry] : listed) *response.add_ledgers() = std::move(entry);
  std::sort(response.mutable_ledgers()->begin(), response.mutable_ledgers()->end(),
            [](const auto& a, const auto& b) { return a.ledger_id() < b.ledger_id(); });
  return response;
}

absl::StatusOr<v1::GetEvidenceResponse> OwnerAgent::GetEvidence(
    const v1::GetEvidenceRequest& request) {
  absl::StatusOr<std::vector<EvidenceRecord>> evidence =
      registry_->ListEvidence(request.ledger_id());
  if (!evidence.ok()) return evidence.status();
  v1::GetEvidenceResponse response;
  for (const EvidenceRecord& e : *evidence) ToProto(e, response.add_evidence());
  return response;
}

absl::StatusOr<v1::ReportEquivocationResponse> OwnerAgent::ReportEquivocation(
    const v1::ReportEquivocationRequest& request) {
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(request.evidence());
  if (!info.ok()) return Prefix(info.status(), "evidence: ");
  absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(info->ledger);
  if (!found.ok()) return found.status();
  std::shared_ptr<LedgerState> ledger = *found;
  EvidenceRecord evidence;
  evidence.ledger_id = info->ledger;
  evidence.kind = "reported";
  evidence.detected_unix_millis = NowMillis();
  evidence.evidence_object = request.evidence();
  evidence.evidence_id = info->id;
  std::string host_address;
  {
    absl::MutexLock lock(&ledger->mu);
    if (absl::Status s = auditor_->Freeze(*ledger, evidence); !s.ok()) {
      return Prefix(s, "the evidence could not be kept: ");
    }
    host_address = ledger->record.host_address;
  }
  // The ledger's host freezes it too (best effort, outside the ledger's lock).
  auditor_->Report(evidence.evidence_object, evidence.evidence_id, {host_address});
  v1::ReportEquivocationResponse response;
  response.set_ledger_id(info->ledger);
  response.set_kind(std::string(EvidenceKindName(info->kind)));
  response.set_evidence_id(info->id);
  response.set_frozen(true);
  return response;
}

// ---------------------------------------------------------------- verify/export

std::vector<LocatedServer> OwnerAgent::DhtServers(const std::string& ledger_id,
                                                  const std::string& host_address,
                                                  std::string* tried) {
  if (locator_ == nullptr) return {};
  absl::StatusOr<std::vector<LocatedServer>> located = locator_->Locate(ledger_id);
  if (!located.ok()) {
    absl::StrAppend(tried, "; DHT: ", located.status().message());
    return {};
  }
  std::vector<LocatedServer> servers;
  for (LocatedServer& server : *located) {
    if (server.address == host_address ||
        std::find(options_.mirrors.begin(), options_.mirrors.end(), server.address) !=
            options_.mirrors.end()) {
      continue;
    }
    servers.push_back(std::move(server));
  }
  return servers;
}

absl::Status OwnerAgent::SyncFromDhtServer(LedgerState& ledger, const LocatedServer& server) {
  HostClient& client = *hosts_->Get(server.address);
  absl::Status synced = server.role == LocatorRole::kHost
                            ? auditor_->AdoptHost(ledger, client)
                            : auditor_->SyncFromMirror(ledger, client);
  return Prefix(synced, server.role == LocatorRole::kHost ? "DHT host record: "
                                                          : "DHT mirror record: ");
}

absl::Status OwnerAgent::SyncFromMirrors(LedgerState& ledger, const absl::Status& host_error) {
  ledger.mu.Await(absl::Condition(&NoneInflight, &ledger));
  std::string tried;
  for (const std::string& address : options_.mirrors) {
    absl::Status synced = auditor_->SyncFromMirror(ledger, *hosts_->Get(address));
    if (synced.ok() || ledger.record.equivocation) return synced;
    absl::StrAppend(&tried, "; ", synced.message());
  }
  for (const LocatedServer& server :
       DhtServers(ledger.record.ledger_id, ledger.record.host_address, &tried)) {
    absl::Status synced = SyncFromDhtServer(ledger, server);
    if (synced.ok() || ledger.record.equivocation) return synced;
    absl::StrAppend(&tried, "; ", synced.message());
  }
  return absl::Status(host_error.code(), absl::StrCat(host_error.message(), tried));
}

absl::Status OwnerAgent::ReadLedgerCopy(const std::string& ledger_id, const CopyRead& read) {
  absl::StatusOr<std::shared_ptr<LedgerState>> found = FindLedger(ledger_id);
  if (!found.ok()) return found.status();
  std::shared_ptr<LedgerState> ledger = *found;
  // The host first, then each mirror in order, then each server the DHT
  // names, while the host is unreachable and nothing has reached the caller.
  // An equivocated ledger is not synced again: its copy is read up to the
  // checkpoint the agent verified.
  enum class Kind { kHost, kMirror, kDht };
  struct Source {
    Kind kind;
    LocatedServer server;  // Its address (not for kHost) and role (kDht).
  };
  std::vector<Source> sources = {{Kind::kHost, {}}};
  for (const std::string& mirror : options_.mirrors) {
    sources.push_back({Kind::kMirror, {mirror, LocatorRole::kMirror}});
  }
  bool located = false;
  absl::Status host_error;
  std::string tried;
  for (size_t i = 0; i < sources.size() || !located; ++i) {
    if (i == sources.size()) {
      located = true;
      std::string host_address;
      {
        absl::MutexLock lock(&ledger->mu);
        host_address = ledger->record.host_address;
      }
      for (LocatedServer& server : DhtServers(ledger_id, host_address, &tried)) {
        sources.push_back({Kind::kDht, std::move(server)});
      }
      if (i == sources.size()) break;
    }
    const Source& source = sources[i];
    const bool host = source.kind == Kind::kHost;
    std::shared_ptr<HostClient> server;
    std::string checkpoint;
    {
      absl::MutexLock lock(&ledger->mu);
      server = hosts_->Get(host ? ledger->record.host_address : source.server.address);
      if (!ledger->record.equivocation) {
        absl::Status synced;
        if (host) {
          synced = pipeline_->SyncIdle(*ledger);
        } else {
          ledger->mu.Await(absl::Condition(&NoneInflight, ledger.get()));
          synced = source.kind == Kind::kMirror ? auditor_->SyncFromMirror(*ledger, *server)
                                                : SyncFromDhtServer(*ledger, source.server);
        }
        if (!synced.ok()) {
          if (host) {
            if (!ServerUnreachable(synced)) return synced;
            host_error = synced;
            continue;
          }
          if (ledger->record.equivocation) return synced;
          absl::StrAppend(&tried, "; ", synced.message());
          continue;
        }
      }
      checkpoint = ledger->record.checkpoint;
    }
    bool started = false;
    absl::Status status = read(*server, checkpoint, &started);
    if (status.ok() || started) return status;
    if (host) {
      if (!ServerUnreachable(status)) return status;
      host_error = status;
      continue;
    }
    absl::StrAppend(&tried, "; ", source.kind == Kind::kMirror ? "mirror " : "DHT server ",
                    server->address(), ": ", status.message());
  }
  return absl::Status(host_error.code(), absl::StrCat(host_error.message(), tried));
}

absl::StatusOr<v1::VerifyLedgerResponse> OwnerAgent::VerifyLedger(
    const v1::VerifyLedgerRequest& request) {
  v1::VerifyLedgerResponse response;
  absl::Status status = ReadLedgerCopy(
      request.ledger_id(),
      [&](HostClient& server, const std::string& checkpoint, bool*) -> absl::Status {
        absl::StatusOr<v1::VerifyLedgerResponse> verified =
            VerifyHostCopy(server, request.ledger_id(), checkpoint, options_.warn);
        if (!verified.ok()) return verified.status();
        response = *std::move(verified);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return response;
}

absl::Status OwnerAgent::ExportLedger(const v1::ExportLedgerRequest& request,
                                      const std::function<bool(const std::string&)>& sink) {
  return ReadLedgerCopy(
      request.ledger_id(),
      [&](HostClient& server, const std::string& checkpoint, bool* started) {
        return ExportHostCopy(
            server, request.ledger_id(), checkpoint,
            [&](const std::string& chunk) {
              *started = true;
              return sink(chunk);
            },
            options_.warn);
      });
}

}  // namespace microledger
