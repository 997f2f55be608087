#include "owner_agent/owner_agent.h"

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bundle.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/ledger_verifier.h"
#include "common/merkle.h"
#include "common/timestamp.h"

namespace microledger {

struct OwnerAgent::Ledger {
  absl::Mutex mu;
  LedgerRecord record ABSL_GUARDED_BY(mu);  // The verified head.
  MerkleFrontier frontier ABSL_GUARDED_BY(mu);
  ChainState drafted ABSL_GUARDED_BY(mu);  // Verified + in flight.
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  int inflight ABSL_GUARDED_BY(mu) = 0;
  // Re-read the head from the host before the next block.
  bool needs_sync ABSL_GUARDED_BY(mu) = true;
  // False while CosignBlock checks a proposal for a ledger the agent does
  // not know yet: nothing of it is saved until the checks pass.
  bool saved_in_registry ABSL_GUARDED_BY(mu) = true;
};

struct OwnerAgent::Pending {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<v1::CommittedBlock> result ABSL_GUARDED_BY(mu);  // Wait() only.
  std::shared_ptr<HostClient> host;
  // Async appends: the result goes here, once; the watchdog sets timed_out
  // after `deadline` and cancels the host stream.
  CommittedCallback on_done ABSL_GUARDED_BY(mu);
  bool timed_out ABSL_GUARDED_BY(mu) = false;
  std::chrono::steady_clock::time_point deadline;
};

namespace {

Controllers FromProto(const v1::Controllers& c) {
  Controllers out;
  out.threshold = static_cast<int>(c.threshold());
  out.keys.assign(c.keys().begin(), c.keys().end());
  return out;
}

void ToProto(const Controllers& c, v1::Controllers* out) {
  out->set_threshold(c.threshold);
  for (const std::string& key : c.keys) out->add_keys(key);
}

absl::Status Prefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// Parses optional extra event members: a JSON object without the reserved
// member names.
absl::StatusOr<Json> ParseExtras(const std::string& text,
                                 std::initializer_list<const char*> taken) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok()) return Prefix(json.status(), "extra members: ");
  if (!json->is_object()) {
    return absl::InvalidArgumentError("extra members: must be a JSON object");
  }
  for (const char* name : taken) {
    if (json->contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra members: \"", name, "\" is set by the agent"));
    }
  }
  if (json->contains("event")) {
    return absl::InvalidArgumentError("extra members: \"event\" is set by the agent");
  }
  return json;
}

v1::LedgerStatus StatusOf(const ChainState& state) {
  switch (LifecycleOf(state)) {
    case LedgerLifecycle::kClosed:
      return v1::LEDGER_STATUS_CLOSED;
    case LedgerLifecycle::kMoved:
      return v1::LEDGER_STATUS_MOVED;
    case LedgerLifecycle::kOpen:
      return v1::LEDGER_STATUS_OPEN;
    case LedgerLifecycle::kNoGenesis:
      break;
  }
  return v1::LEDGER_STATUS_UNSPECIFIED;
}

std::vector<v1::Attachment> ToVector(
    const google::protobuf::RepeatedPtrField<v1::Attachment>& list) {
  return std::vector<v1::Attachment>(list.begin(), list.end());
}

void ToProto(const EvidenceRecord& e, v1::Evidence* out) {
  out->set_ledger_id(e.ledger_id);
  out->set_host_address(e.host_address);
  out->set_kind(e.kind);
  out->set_held_checkpoint(e.held_checkpoint);
  out->set_served_checkpoint(e.served_checkpoint);
  out->set_detail(e.detail);
  out->set_detected_unix_millis(e.detected_unix_millis);
}

// CheckNextBlock(kOwnerSigned) for a block whose owner signatures this agent
// has just made itself (SignHeld: distinct controller keys, ascending, as
// many as the threshold needs): every rule but the signature verification,
// which cannot fail for a signature made with the key (one Ed25519 verify,
// ~55 us, saved per block). Genesis blocks get the full check.
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

// The host signature of a complete block (its last signature): by the
// ledger's host key and valid over the block's signed message.
absl::Status CheckHostSignatureOf(const std::string& ledger_id, const Block& block) {
  if (block.signatures.empty()) {
    return absl::FailedPreconditionError("host signature: missing");
  }
  const BlockSignature& host = block.signatures.back();
  absl::StatusOr<std::string> host_key = PublicKeyTextFromLedgerId(ledger_id);
  if (!host_key.ok()) return host_key.status();
  if (host.key != *host_key) {
    return absl::FailedPreconditionError("host signature: is not by the ledger's host key");
  }
  return VerifyEd25519Text(host.key, BlockSignedMessage(block.fingerprint), host.sig,
                           "host signature");
}

// False when a failed append may still have been committed by the host (the
// stream broke, the reply did not come or did not verify): then the agent
// keeps what it knows and re-synchronises.
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

// The tree size of the record's saved checkpoint (0 when there is none).
uint64_t HeldTreeSize(const LedgerRecord& record) {
  if (record.checkpoint.empty()) return 0;
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(record.checkpoint, record.ledger_id);
  return held.ok() ? held->tree_size : 0;
}

void WarnOnStderr(absl::string_view message) {
  std::fprintf(stderr, "ml-owner: warning: %s\n", std::string(message).c_str());
}

// What ReadHostCopy hands to its caller, in bundle order: each block, the
// checkpoint and each attachment, once verified. An error stops the read.
struct HostCopyVisitor {
  std::function<absl::Status(const Block&)> block;
  std::function<absl::Status(const std::string& checkpoint)> checkpoint;
  std::function<absl::Status(const v1::GetAttachmentResponse&)> attachment;
};

// Reads the host's copy of a ledger up to `checkpoint` (the agent's verified
// one) through `verifier`: blocks 1..size, then the checkpoint, then the
// attachment of every seal that the host holds one for. The first
// verification failure (a block that does not parse counts, at its position)
// stops the read and lands in *failure; the return value is for everything
// else (transport, saved state, a visitor's error).
absl::Status ReadHostCopy(HostClient& host, const std::string& ledger_id,
                          const std::string& checkpoint, LedgerVerifier& verifier,
                          std::optional<VerifyFailure>* failure,
                          const HostCopyVisitor& visit) {
  absl::StatusOr<Checkpoint> verified = VerifyCheckpoint(checkpoint, ledger_id);
  if (!verified.ok()) {
    return Prefix(absl::DataLossError(verified.status().message()), "saved state: ");
  }
  auto context = host.NewContext();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(1);
  request.set_to_number(verified->tree_size);
  auto reader = host.stub().GetBlocks(context.get(), request);
  v1::GetBlocksResponse response;
  std::vector<std::string> seals;
  absl::Status stopped;
  while (!failure->has_value() && stopped.ok() && reader->Read(&response)) {
    if (verifier.block_count() >= verified->tree_size) {
      stopped = absl::DataLossError(absl::StrCat("the host served more than the ",
                                                 verified->tree_size, " blocks asked for"));
      break;
    }
    absl::StatusOr<Block> block = ParseBlock(response.block(), SignatureStage::kComplete);
    if (!block.ok()) {
      *failure = VerifyFailure{verifier.block_count() + 1, FailureRule(block.status())};
    } else if (!verifier.AddBlock(*block).ok()) {
      *failure = verifier.failure();
    } else {
      if (block->seals.has_value()) {
        seals.insert(seals.end(), block->seals->begin(), block->seals->end());
      }
      if (visit.block) stopped = visit.block(*block);
    }
  }
  if (failure->has_value() || !stopped.ok()) context->TryCancel();
  const absl::Status finished = FromGrpc(reader->Finish());
  if (!stopped.ok() || failure->has_value()) return stopped;
  if (!finished.ok()) return Prefix(finished, "reading blocks: ");
  if (!verifier.AddCheckpoint(checkpoint).ok()) {
    *failure = verifier.failure();
    return absl::OkStatus();
  }
  if (visit.checkpoint) {
    if (absl::Status s = visit.checkpoint(checkpoint); !s.ok()) return s;
  }
  std::set<std::string> fetched;
  for (const std::string& seal : seals) {
    if (!fetched.insert(seal).second) continue;
    auto attachment_context = host.NewContext();
    v1::GetAttachmentRequest attachment_request;
    attachment_request.set_ledger_id(ledger_id);
    attachment_request.set_seal(seal);
    v1::GetAttachmentResponse attachment;
    if (!host.stub()
             .GetAttachment(attachment_context.get(), attachment_request, &attachment)
             .ok()) {
      continue;  // A seal need not have an attachment.
    }
    if (!verifier.AddAttachment(attachment.seal(), attachment.data()).ok()) {
      *failure = verifier.failure();
      return absl::OkStatus();
    }
    if (visit.attachment) {
      if (absl::Status s = visit.attachment(attachment); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<OwnerAgent>> OwnerAgent::Create(
    std::unique_ptr<Keystore> keystore, OwnerAgentOptions options) {
  if (keystore == nullptr) return absl::InvalidArgumentError("no keystore");
  absl::StatusOr<std::unique_ptr<LedgerRegistry>> registry =
      LedgerRegistry::Open(keystore->dir() + "/agent");
  if (!registry.ok()) return registry.status();
  absl::StatusOr<LedgerRegistry::Loaded> loaded = (*registry)->LoadAll();
  if (!loaded.ok()) return loaded.status();
  absl::StatusOr<std::unique_ptr<RequestJournal>> journal = RequestJournal::Open(
      keystore->dir() + "/agent/requests.jsonl", options.max_remembered_requests);
  if (!journal.ok()) return journal.status();
  if (!options.warn) options.warn = WarnOnStderr;
  for (const LedgerRegistry::QuarantinedRecord& q : loaded->quarantined) {
    options.warn(absl::StrCat("a damaged ledger record was moved to ", q.path, " (",
                              q.reason, "); its ledger is not served until it is repaired"));
  }
  std::unique_ptr<OwnerAgent> agent(new OwnerAgent(
      std::move(keystore), *std::move(registry), *std::move(journal), std::move(options)));
  agent->quarantined_ = std::move(loaded->quarantined);
  for (LedgerRecord& record : loaded->records) agent->AddLedger(std::move(record));
  OwnerAgent* raw = agent.get();
  agent->background_ = std::thread([raw] { raw->BackgroundLoop(); });
  return agent;
}

OwnerAgent::OwnerAgent(std::unique_ptr<Keystore> keystore,
                       std::unique_ptr<LedgerRegistry> registry,
                       std::unique_ptr<RequestJournal> journal, OwnerAgentOptions options)
    : keystore_(std::move(keystore)),
      registry_(std::move(registry)),
      journal_(std::move(journal)),
      options_(std::move(options)) {}

OwnerAgent::~OwnerAgent() {
  absl::flat_hash_map<std::string, std::shared_ptr<HostClient>> hosts;
  {
    absl::MutexLock lock(&mu_);
    hosts.swap(hosts_);
  }
  hosts.clear();  // Ends the streams; waiting appends fail.
  {
    absl::MutexLock lock(&background_mu_);
    stopping_ = true;
  }
  if (background_.joinable()) background_.join();  // Flushes the dirty records.
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
    CheckTimeouts();
    if (Clock::now() >= next_flush) {
      FlushDirty();
      next_flush = Clock::now() + options_.state_flush_interval;
    }
  }
  FlushDirty();
}

absl::Status OwnerAgent::SaveHeadLocked(const std::shared_ptr<Ledger>& ledger) {
  if (options_.state_flush_interval.count() <= 0) {
    return registry_->Save(ledger->record, /*sync=*/true);
  }
  {
    // Marked before the log line is written: a line in a log that FlushDirty
    // rotates away always belongs to a ledger its flush saves.
    absl::MutexLock lock(&dirty_mu_);
    dirty_.emplace(ledger.get(), ledger);
  }
  return registry_->AppendHead(ledger->record, /*sync=*/false);
}

void OwnerAgent::FlushDirty() {
  absl::StatusOr<uint64_t> rotation = registry_->RotateHeadLog();
  if (!rotation.ok()) {
    options_.warn(absl::StrCat("cannot rotate the head log: ", rotation.status().message()));
  }
  absl::flat_hash_map<Ledger*, std::shared_ptr<Ledger>> dirty;
  {
    absl::MutexLock lock(&dirty_mu_);
    dirty.swap(dirty_);
  }
  bool all_saved = rotation.ok();
  for (auto& [raw, ledger] : dirty) {
    // Under the ledger's mutex, like every other Save of the record, so an
    // older copy never overwrites a newer one.
    absl::MutexLock lock(&ledger->mu);
    if (absl::Status s = registry_->Save(ledger->record, /*sync=*/true); !s.ok()) {
      options_.warn(absl::StrCat("cannot sync a ledger record: ", s.message()));
      all_saved = false;
      absl::MutexLock dirty_lock(&dirty_mu_);
      dirty_.emplace(raw, ledger);  // Tried again at the next flush.
    }
  }
  if (all_saved) {
    if (absl::Status s = registry_->DropHeadLogs(*rotation); !s.ok()) {
      options_.warn(absl::StrCat("cannot drop a head log: ", s.message()));
    }
  }
  if (absl::Status s = journal_->Sync(); !s.ok()) {
    options_.warn(absl::StrCat("cannot sync the request journal: ", s.message()));
  }
}

void OwnerAgent::CheckTimeouts() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Pending>> expired;
  {
    absl::MutexLock lock(&timeouts_mu_);
    while (!timeouts_.empty()) {
      std::shared_ptr<Pending> pending = timeouts_.front().lock();
      if (pending != nullptr) {
        bool done;
        {
          absl::MutexLock pending_lock(&pending->mu);
          done = pending->done;
        }
        if (!done) {
          if (pending->deadline > now) break;
          expired.push_back(std::move(pending));
        }
      }
      timeouts_.pop_front();
    }
  }
  for (std::shared_ptr<Pending>& pending : expired) {
    {
      absl::MutexLock lock(&pending->mu);
      if (pending->done) continue;
      pending->timed_out = true;
    }
    // Fails every append waiting on that stream; the ledgers re-sync.
    pending->host->CancelStream();
  }
}

std::shared_ptr<HostClient> OwnerAgent::Host(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<HostClient>& host = hosts_[address];
  if (host == nullptr) host = std::make_shared<HostClient>(address, options_.host_client);
  return host;
}

std::shared_ptr<OwnerAgent::Ledger> OwnerAgent::AddLedger(LedgerRecord record) {
  const std::string id = record.ledger_id;
  std::shared_ptr<Ledger> ledger = NewLedger(std::move(record));
  RegisterLedger(id, ledger);
  return ledger;
}

bool OwnerAgent::RegisterLedger(const std::string& ledger_id,
                                const std::shared_ptr<Ledger>& ledger) {
  absl::MutexLock lock(&mu_);
  return ledgers_.emplace(ledger_id, ledger).second;
}

void OwnerAgent::UnregisterLedger(const std::string& ledger_id) {
  absl::MutexLock lock(&mu_);
  ledgers_.erase(ledger_id);
}

std::shared_ptr<OwnerAgent::Ledger> OwnerAgent::NewLedger(LedgerRecord record) {
  auto ledger = std::make_shared<Ledger>();
  absl::MutexLock ledger_lock(&ledger->mu);
  absl::StatusOr<MerkleFrontier> frontier = MerkleFrontier::Deserialize(record.frontier);
  if (frontier.ok()) ledger->frontier = *std::move(frontier);
  if (!frontier.ok() || ledger->frontier.size() != record.state.head_number) {
    // A record without a usable frontier (written before frontiers were
    // saved, or damaged): the chain is rebuilt from the host on the next
    // sync, still checked against the saved checkpoint when it verifies.
    ledger->frontier = MerkleFrontier();
    record.frontier = ledger->frontier.Serialize();
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

absl::StatusOr<std::shared_ptr<OwnerAgent::Ledger>> OwnerAgent::FindLedger(
    const std::string& ledger_id) {
  absl::MutexLock lock(&mu_);
  auto it = ledgers_.find(ledger_id);
  if (it == ledgers_.end()) {
    return absl::NotFoundError(absl::StrCat("ledger ", QuoteForError(ledger_id),
                                            " is not in this agent's registry"));
  }
  return it->second;
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

absl::StatusOr<int> OwnerAgent::SignHeld(Block& block, const Controllers& authorising) {
  std::set<std::string> signed_keys;
  for (const BlockSignature& s : block.signatures) signed_keys.insert(s.key);
  const std::string message = BlockSignedMessage(block.fingerprint);
  for (const std::string& key : authorising.keys) {
    if (signed_keys.count(key) > 0 || !keystore_->HasKey(key)) continue;
    absl::StatusOr<std::string> sig = keystore_->SignText(key, message);
    if (!sig.ok()) return sig.status();
    block.signatures.push_back(
        {std::string(kOwnerRole), std::string(kEd25519Alg), key, *sig});
    signed_keys.insert(key);
  }
  std::sort(block.signatures.begin(), block.signatures.end(),
            [](const BlockSignature& a, const BlockSignature& b) { return a.key < b.key; });
  return static_cast<int>(block.signatures.size());
}

// ---------------------------------------------------------------- host checks

absl::Status OwnerAgent::EquivocationLocked(Ledger& ledger, const std::string& kind,
                                            const std::string& served,
                                            const std::string& detail) {
  LedgerRecord& record = ledger.record;
  EvidenceRecord evidence;
  evidence.ledger_id = record.ledger_id;
  evidence.host_address = record.host_address;
  evidence.kind = kind;
  evidence.held_checkpoint = record.checkpoint;
  evidence.served_checkpoint = served;
  evidence.detail = detail;
  evidence.detected_unix_millis = NowMillis();
  absl::Status stored = registry_->AddEvidence(evidence);
  record.equivocation = true;
  absl::Status saved =
      ledger.saved_in_registry ? registry_->Save(record, /*sync=*/true) : absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "host equivocation on ledger ", record.ledger_id, " (", kind, "): ", detail,
      stored.ok() ? "; evidence kept in " + registry_->dir() + "/evidence"
                  : absl::StrCat("; evidence NOT stored: ", stored.message()),
      saved.ok() ? "" : absl::StrCat("; state not saved: ", saved.message())));
}

absl::Status OwnerAgent::CheckServedCheckpointLocked(Ledger& ledger, HostClient& host,
                                                     const std::string& served) {
  LedgerRecord& record = ledger.record;
  absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(served, record.ledger_id);
  if (!cp.ok()) {
    return absl::DataLossError(absl::StrCat("host ", host.address(),
                                            " served an invalid checkpoint of ledger ",
                                            record.ledger_id, ": ", cp.status().message()));
  }
  if (record.checkpoint.empty()) return absl::OkStatus();
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(record.checkpoint, record.ledger_id);
  if (!held.ok()) return absl::InternalError("the agent's saved checkpoint is invalid");
  if (cp->tree_size < held->tree_size) {
    return EquivocationLocked(
        ledger, "rollback", served,
        absl::StrCat("the host serves a tree of ", cp->tree_size,
                     " blocks after signing a checkpoint of ", held->tree_size, " blocks"));
  }
  if (cp->tree_size == held->tree_size) {
    if (cp->root_hash != held->root_hash) {
      return EquivocationLocked(
          ledger, "fork", served,
          absl::StrCat("two checkpoints of size ", cp->tree_size, " with different roots"));
    }
    return absl::OkStatus();
  }
  auto context = host.NewContext();
  v1::GetConsistencyProofRequest request;
  request.set_ledger_id(record.ledger_id);
  request.set_old_size(held->tree_size);
  request.set_new_size(cp->tree_size);
  v1::GetConsistencyProofResponse response;
  absl::Status status =
      FromGrpc(host.stub().GetConsistencyProof(context.get(), request, &response));
  if (!status.ok()) return Prefix(status, "consistency proof: ");
  absl::StatusOr<std::vector<MerkleHash>> proof = MerkleHashesFromBytes(response.hashes());
  absl::Status consistent =
      proof.ok() ? VerifyMerkleConsistency(held->tree_size, cp->tree_size, held->root_hash,
                                           cp->root_hash, *proof)
                 : proof.status();
  if (!consistent.ok()) {
    return EquivocationLocked(
        ledger, "fork", served,
        absl::StrCat("no valid consistency proof from size ", held->tree_size, " to ",
                     cp->tree_size, ": ", consistent.message()));
  }
  return absl::OkStatus();
}

absl::Status OwnerAgent::SyncLocked(Ledger& ledger) {
  LedgerRecord& record = ledger.record;
  std::shared_ptr<HostClient> host = Host(record.host_address);
  v1::GetLedgerResponse info;
  {
    auto context = host->NewContext();
    v1::GetLedgerRequest request;
    request.set_ledger_id(record.ledger_id);
    absl::Status status = FromGrpc(host->stub().GetLedger(context.get(), request, &info));
    if (absl::IsNotFound(status) && record.state.head_number == 0 &&
        record.checkpoint.empty()) {
      ledger.drafted = record.state;
      ledger.needs_sync = false;
      return absl::OkStatus();
    }
    if (absl::IsNotFound(status)) {
      return EquivocationLocked(ledger, "rollback", "",
                                absl::StrCat("the host no longer knows the ledger after "
                                             "signing ",
                                             std::max<uint64_t>(record.state.head_number,
                                                                HeldTreeSize(record)),
                                             " blocks"));
    }
    if (!status.ok()) {
      return Prefix(status, absl::StrCat("host ", record.host_address, ": "));
    }
  }
  if (absl::Status s = CheckServedCheckpointLocked(ledger, *host, info.checkpoint());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(info.checkpoint(), record.ledger_id);
  if (cp->tree_size > record.state.head_number) {
    auto context = host->NewContext();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::GetBlocksRequest request;
    request.set_ledger_id(record.ledger_id);
    request.set_from_number(record.state.head_number + 1);
    request.set_to_number(cp->tree_size);
    auto reader = host->stub().GetBlocks(context.get(), request);
    v1::GetBlocksResponse response;
    ChainState state = record.state;
    MerkleFrontier frontier = ledger.frontier;
    std::string document_type = record.document_type, original_id = record.original_id;
    absl::Status failure;
    while (failure.ok() && reader->Read(&response)) {
      if (state.head_number >= cp->tree_size) {
        failure = absl::DataLossError(absl::StrCat("more blocks than the checkpoint's ",
                                                   cp->tree_size));
        break;
      }
      absl::StatusOr<Block> block = ParseBlock(response.block(), SignatureStage::kComplete);
      if (!block.ok()) {
        failure = block.status();
        break;
      }
      failure = CheckNextBlock(state, *block, SignatureStage::kComplete, BlockRuleOptions{});
      if (!failure.ok()) {
        failure = Prefix(failure, absl::StrCat("block ", block->number, ": "));
        break;
      }
      if (block->number == 1) {
        document_type = block->event.value("document type", "");
        original_id = block->event.value("original id", record.ledger_id);
      }
      absl::StatusOr<std::string> leaf = DecodeDigest(block->fingerprint);
      frontier.Append(HashMerkleLeaf(*leaf));
      state = AdvanceChain(state, *block);
    }
    if (!failure.ok()) context->TryCancel();
    absl::Status finished = FromGrpc(reader->Finish());
    if (!failure.ok()) {
      return absl::DataLossError(absl::StrCat("host ", record.host_address,
                                              " served a block of ledger ", record.ledger_id,
                                              " that fails verification: ",
                                              failure.message()));
    }
    if (!finished.ok()) return Prefix(finished, "reading blocks: ");
    if (state.head_number != cp->tree_size ||
        frontier.Root() != cp->root_hash) {
      return EquivocationLocked(
          ledger, "fork", info.checkpoint(),
          absl::StrCat("the blocks served (", state.head_number,
                       ") do not match the checkpoint of size ", cp->tree_size));
    }
    record.state = state;
    record.document_type = document_type;
    record.original_id = original_id;
    ledger.frontier = frontier;
    record.frontier = frontier.Serialize();
    record.ledger_token.clear();
  }
  if (cp->tree_size >= record.state.head_number) record.checkpoint = info.checkpoint();
  if (ledger.saved_in_registry) {
    if (absl::Status s = registry_->Save(record, /*sync=*/true); !s.ok()) return s;
  }
  ledger.drafted = record.state;
  ++ledger.generation;
  ledger.needs_sync = false;
  return absl::OkStatus();
}

bool NoneInflight(OwnerAgent::Ledger* ledger) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return ledger->inflight == 0;
}

absl::Status OwnerAgent::PrepareLocked(Ledger& ledger) {
  if (ledger.record.equivocation) {
    return absl::DataLossError(absl::StrCat(
        "host equivocation on ledger ", ledger.record.ledger_id,
        ": the agent refuses to write to it (see GetEvidence)"));
  }
  const Controllers& controllers = ledger.drafted.controllers;
  bool shared = false;
  for (const std::string& key : controllers.keys) {
    if (!keystore_->HasKey(key)) shared = true;
  }
  if (ledger.needs_sync || shared) {
    ledger.mu.Await(absl::Condition(&NoneInflight, &ledger));
    return SyncLocked(ledger);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- appends

absl::Status OwnerAgent::AcceptReplyLocked(Ledger& ledger, Block block,
                                           const v1::AppendResponse& response,
                                           v1::CommittedBlock* committed, bool* save_later) {
  *save_later = false;
  LedgerRecord& record = ledger.record;
  const std::string where = absl::StrCat("block ", block.number, " of ledger ",
                                         record.ledger_id, ": ");
  if (response.ledger_id() != record.ledger_id || response.number() != block.number ||
      response.fingerprint() != block.fingerprint) {
    return absl::DataLossError(
        absl::StrCat(where, "the host's reply names another block"));
  }
  const v1::Signature& s = response.host_signature();
  block.signatures.push_back({s.role(), s.alg(), s.key(), s.sig()});
  // A block that follows the verified head (same number and previous as when
  // it was drafted) passed every block rule and owner-signature check against
  // this very head before it was sent (MakeBlock, CosignBlock); only the host
  // signature is new. Anything else gets the full check.
  const ChainState& head = record.state;
  const bool follows_head = block.number > 1 && block.ledger == head.ledger &&
                            head.terminal_event.empty() &&
                            block.number == head.head_number + 1 &&
                            block.previous == head.head_fingerprint;
  if (absl::Status checked =
          follows_head ? CheckHostSignatureOf(record.ledger_id, block)
                       : CheckNextBlock(head, block, SignatureStage::kComplete,
                                        BlockRuleOptions{});
      !checked.ok()) {
    return absl::DataLossError(
        absl::StrCat(where, "the host's signature does not verify: ", checked.message()));
  }
  absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(response.checkpoint(), record.ledger_id);
  if (!cp.ok()) {
    return absl::DataLossError(
        absl::StrCat(where, "invalid checkpoint: ", cp.status().message()));
  }
  if (cp->tree_size != block.number) {
    return absl::DataLossError(absl::StrCat(where, "the checkpoint is of size ",
                                            cp->tree_size));
  }
  MerkleFrontier frontier = ledger.frontier;
  absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  frontier.Append(HashMerkleLeaf(*leaf));
  if (frontier.Root() != cp->root_hash) {
    return EquivocationLocked(
        ledger, "fork", response.checkpoint(),
        absl::StrCat("the checkpoint of size ", cp->tree_size,
                     " does not extend the agent's tree with block ", block.number));
  }
  record.state = AdvanceChain(record.state, block);
  record.checkpoint = response.checkpoint();
  record.ledger_token.clear();
  ledger.frontier = std::move(frontier);
  record.frontier = ledger.frontier.Serialize();
  if (block.number == 1) {
    record.document_type = block.event.value("document type", "");
    record.original_id = block.event.value("original id", record.ledger_id);
  }
  if (block.number == 1 || !record.state.terminal_event.empty()) {
    if (absl::Status s = registry_->Save(record, /*sync=*/true); !s.ok()) {
      options_.warn(absl::StrCat("cannot save a ledger record: ", s.message()));
    }
  } else {
    *save_later = true;
  }
  committed->set_ledger_id(record.ledger_id);
  committed->set_number(block.number);
  committed->set_fingerprint(block.fingerprint);
  committed->set_block(SerializeBlock(block));
  committed->set_checkpoint(response.checkpoint());
  return absl::OkStatus();
}

std::shared_ptr<OwnerAgent::Pending> OwnerAgent::SubmitLocked(
    std::shared_ptr<Ledger> ledger, Block block, std::string bytes,
    const std::vector<v1::Attachment>& attachments, CommittedCallback on_done) {
  auto pending = std::make_shared<Pending>();
  pending->host = Host(ledger->record.host_address);
  const bool async = on_done != nullptr;
  if (async) {
    absl::MutexLock lock(&pending->mu);
    pending->on_done = std::move(on_done);
    pending->deadline = std::chrono::steady_clock::now() + options_.append_timeout;
  }
  v1::AppendRequest request;
  request.set_block(std::move(bytes));
  for (const v1::Attachment& a : attachments) *request.add_attachments() = a;
  if (block.number == 1) request.set_ledger_token(ledger->record.ledger_token);
  const uint64_t generation = ledger->generation;
  ledger->inflight++;
  ledger->drafted = AdvanceChain(ledger->drafted, block);
  if (async) {
    absl::MutexLock lock(&timeouts_mu_);
    timeouts_.push_back(pending);
  }
  pending->host->Submit(
      std::move(request),
      [this, ledger, generation, block = std::move(block), pending](
          absl::Status status, const v1::AppendResponse& response) mutable {
        const uint64_t number = block.number;
        const std::string ledger_id = block.ledger;
        v1::CommittedBlock committed;
        {
          absl::MutexLock lock(&ledger->mu);
          ledger->inflight--;
          bool save_later = false;
          if (status.ok()) {
            status = AcceptReplyLocked(*ledger, std::move(block), response, &committed,
                                       &save_later);
          }
          if (!status.ok()) {
            if (generation == ledger->generation) {
              ++ledger->generation;
              ledger->drafted = ledger->record.state;
            }
            ledger->needs_sync = true;
          } else if (save_later) {
            if (absl::Status s = SaveHeadLocked(ledger); !s.ok()) {
              options_.warn(absl::StrCat("cannot save a ledger record: ", s.message()));
            }
          }
        }
        absl::StatusOr<v1::CommittedBlock> result;
        if (status.ok()) {
          result = std::move(committed);
        } else {
          result = Prefix(status,
                          absl::StrCat("append of block ", number, " to ", ledger_id, ": "));
        }
        CommittedCallback done;
        {
          absl::MutexLock lock(&pending->mu);
          pending->done = true;
          if (pending->on_done) {
            done = std::move(pending->on_done);
            pending->on_done = nullptr;
            if (pending->timed_out) {
              result = result.ok() ? result
                                   : absl::DeadlineExceededError(absl::StrCat(
                                         "the host did not answer the append in time: ",
                                         result.status().message()));
            }
          } else {
            pending->result = std::move(result);
          }
        }
        if (done) done(std::move(result));
      });
  return pending;
}

absl::StatusOr<v1::CommittedBlock> OwnerAgent::Wait(const std::shared_ptr<Ledger>& ledger,
                                                    const std::shared_ptr<Pending>& pending) {
  absl::MutexLock lock(&pending->mu);
  auto done = [](Pending* p) ABSL_NO_THREAD_SAFETY_ANALYSIS { return p->done; };
  if (!pending->mu.AwaitWithTimeout(
          absl::Condition(+done, pending.get()),
          absl::Milliseconds(options_.append_timeout.count()))) {
    // Fails every append waiting on that stream; the ledger re-syncs.
    pending->host->CancelStream();
    pending->mu.AwaitWithTimeout(absl::Condition(+done, pending.get()), absl::Seconds(10));
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

absl::StatusOr<std::optional<v1::CommittedBlock>> OwnerAgent::CommittedAttemptLocked(
    Ledger& ledger, const std::string& request_id) {
  LedgerRecord& record = ledger.record;
  const std::vector<RequestAttempt> attempts =
      journal_->Attempts(record.ledger_id, request_id);
  if (attempts.empty()) return std::nullopt;
  // The host's head is the truth: wait for this agent's own appends, then
  // bring the verified head up to the host's.
  ledger.mu.Await(absl::Condition(&NoneInflight, &ledger));
  if (absl::Status s = SyncLocked(ledger); !s.ok()) {
    return Prefix(s, "cannot tell whether the request was committed: ");
  }
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(record.checkpoint, record.ledger_id);
  for (const RequestAttempt& attempt : attempts) {
    if (!held.ok() || attempt.number == 0 || attempt.number > held->tree_size) continue;
    std::shared_ptr<HostClient> host = Host(record.host_address);
    // Block `number` as served, then proof that it is that leaf of the
    // verified tree: a host cannot make a committed request look
    // uncommitted (or the reverse) without failing the proof.
    std::string bytes;
    {
      auto context = host->NewContext();
      v1::GetBlocksRequest request;
      request.set_ledger_id(record.ledger_id);
      request.set_from_number(attempt.number);
      request.set_to_number(attempt.number);
      auto reader = host->stub().GetBlocks(context.get(), request);
      v1::GetBlocksResponse response;
      if (reader->Read(&response)) bytes = response.block();
      context->TryCancel();
      reader->Finish();
    }
    absl::StatusOr<Block> block = ParseBlock(bytes, SignatureStage::kComplete);
    if (!block.ok() || block->number != attempt.number || block->ledger != record.ledger_id ||
        !CheckHostSignatureOf(record.ledger_id, *block).ok()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot tell whether the request was committed: the host did not serve block ",
          attempt.number, " with a valid host signature"));
    }
    v1::GetInclusionProofResponse proof;
    {
      auto context = host->NewContext();
      v1::GetInclusionProofRequest request;
      request.set_ledger_id(record.ledger_id);
      request.set_number(attempt.number);
      request.set_tree_size(held->tree_size);
      if (absl::Status s =
              FromGrpc(host->stub().GetInclusionProof(context.get(), request, &proof));
          !s.ok()) {
        return Prefix(s, "cannot tell whether the request was committed: inclusion proof: ");
      }
    }
    absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(proof.hashes());
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
    v1::CommittedBlock committed;
    committed.set_ledger_id(record.ledger_id);
    committed.set_number(block->number);
    committed.set_fingerprint(block->fingerprint);
    committed.set_block(std::move(bytes));
    committed.set_checkpoint(record.checkpoint);
    return committed;
  }
  return std::nullopt;
}

std::shared_ptr<OwnerAgent::Pending> OwnerAgent::DraftAndSubmitLocked(
    const std::shared_ptr<Ledger>& ledger, BlockContent content,
    const std::vector<v1::Attachment>& attachments, const std::string& request_id,
    absl::StatusOr<v1::BlockOutcome>& outcome, CommittedCallback on_done) {
  if (absl::Status s = PrepareLocked(*ledger); !s.ok()) {
    outcome = s;
    return nullptr;
  }
  if (!request_id.empty()) {
    absl::StatusOr<std::optional<v1::CommittedBlock>> earlier =
        CommittedAttemptLocked(*ledger, request_id);
    if (!earlier.ok()) {
      outcome = earlier.status();
      return nullptr;
    }
    if (earlier->has_value()) {
      v1::BlockOutcome retried;
      *retried.mutable_committed() = **std::move(earlier);
      outcome = std::move(retried);
      return nullptr;
    }
  }
  const ChainState& state = ledger->drafted;
  if (!state.terminal_event.empty()) {
    outcome = absl::FailedPreconditionError(
        absl::StrCat("terminal: ledger ", state.ledger, " ended with \"",
                     state.terminal_event, "\" at block ", state.head_number));
    return nullptr;
  }
  if (state.head_number == 0 && !content.controllers.has_value()) {
    outcome = absl::FailedPreconditionError(absl::StrCat(
        "genesis: ledger ", state.ledger,
        " has no committed genesis block on its host (the host does not know it); only "
        "CreateLedger or MoveLedger write block 1"));
    return nullptr;
  }
  Block block = DraftNextBlock(state, std::move(content));
  const Controllers& authorising = block.number == 1 ? *block.controllers : state.controllers;
  absl::StatusOr<int> signatures = SignHeld(block, authorising);
  if (!signatures.ok()) {
    outcome = signatures.status();
    return nullptr;
  }
  if (*signatures == 0) {
    outcome = absl::FailedPreconditionError(absl::StrCat(
        "authority: this agent holds none of the controllers' keys of ledger ", state.ledger,
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
    proposal->set_block(SerializeBlock(block));
    if (block.number == 1) proposal->set_ledger_token(ledger->record.ledger_token);
    for (const v1::Attachment& a : attachments) *proposal->add_attachments() = a;
    ToProto(authorising, proposal->mutable_controllers());
    for (const std::string& key : authorising.keys) {
      bool has = false;
      for (const BlockSignature& s : block.signatures) has |= s.key == key;
      if (!has) proposal->add_missing_keys(key);
    }
    ledger->needs_sync = true;  // Another agent may commit it.
    outcome = std::move(proposal_outcome);
    return nullptr;
  }
  // Every owner signature was made just now by SignHeld with this agent's
  // keys: the rules are checked, the signatures not re-verified.
  BlockRuleOptions rules = BlockRuleOptions::HostDefaults(NowMillis());
  if (absl::Status s = CheckOwnSignedBlock(state, block, rules); !s.ok()) {
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
        journal_->Record(state.ledger, request_id, {block.number, block.fingerprint});
    if (recorded.ok() && options_.state_flush_interval.count() <= 0) {
      recorded = journal_->Sync();
    }
    if (!recorded.ok()) {
      outcome = Prefix(recorded, "request journal: ");
      return nullptr;
    }
  }
  return SubmitLocked(ledger, std::move(block), std::move(bytes), attachments,
                      std::move(on_done));
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::MakeBlock(
    const std::shared_ptr<Ledger>& ledger, BlockContent content,
    const std::vector<v1::Attachment>& attachments, const std::string& request_id) {
  std::shared_ptr<Pending> pending;
  absl::StatusOr<v1::BlockOutcome> outcome;
  {
    absl::MutexLock lock(&ledger->mu);
    pending = DraftAndSubmitLocked(ledger, std::move(content), attachments, request_id,
                                   outcome, nullptr);
  }
  if (pending == nullptr) return outcome;
  absl::StatusOr<v1::CommittedBlock> committed = Wait(ledger, pending);
  if (!committed.ok()) return committed.status();
  v1::BlockOutcome result;
  *result.mutable_committed() = *std::move(committed);
  return result;
}

void OwnerAgent::MakeBlockAsync(const std::shared_ptr<Ledger>& ledger, BlockContent content,
                                const std::vector<v1::Attachment>& attachments,
                                const std::string& request_id, OutcomeCallback done) {
  std::shared_ptr<Pending> pending;
  absl::StatusOr<v1::BlockOutcome> outcome;
  {
    absl::MutexLock lock(&ledger->mu);
    pending = DraftAndSubmitLocked(
        ledger, std::move(content), attachments, request_id, outcome,
        [done](absl::StatusOr<v1::CommittedBlock> committed) {
          if (!committed.ok()) {
            done(committed.status());
            return;
          }
          v1::BlockOutcome result;
          *result.mutable_committed() = *std::move(committed);
          done(std::move(result));
        });
  }
  if (pending == nullptr) done(std::move(outcome));
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
  Controllers controllers{1, {key}};
  if (request.has_controllers()) {
    controllers = FromProto(request.controllers());
    if (std::find(controllers.keys.begin(), controllers.keys.end(), key) ==
        controllers.keys.end()) {
      return absl::InvalidArgumentError(
          "controllers: the signing key must be one of the controllers' keys");
    }
    if (controllers.threshold < 1 ||
        static_cast<size_t>(controllers.threshold) > controllers.keys.size()) {
      return absl::InvalidArgumentError(
          "controllers: threshold must be a whole number from 1 to the number of keys");
    }
  }
  absl::StatusOr<Json> event =
      ParseExtras(request.extra_members_json(),
                  {"document type", "cryptographic signing key", "host url",
                   "hyperswarm id", "signature"});
  if (!event.ok()) return event.status();
  (*event)["event"] = std::string(kOpenedDocument);
  (*event)["document type"] = request.document_type();
  (*event)["cryptographic signing key"] = key;
  if (!request.host_url().empty()) (*event)["host url"] = request.host_url();
  if (!request.hyperswarm_id().empty()) (*event)["hyperswarm id"] = request.hyperswarm_id();

  std::shared_ptr<HostClient> host = Host(address);
  v1::CreateLedgerResponse created;
  {
    auto context = host->NewContext();
    absl::Status status = FromGrpc(
        host->stub().CreateLedger(context.get(), v1::CreateLedgerRequest(), &created));
    if (!status.ok()) return Prefix(status, absl::StrCat("host ", address, ": "));
  }
  LedgerRecord record;
  record.ledger_id = created.ledger_id();
  record.host_address = address;
  record.ledger_token = created.ledger_token();
  record.document_type = request.document_type();
  record.original_id = created.ledger_id();
  record.state = ChainState::Empty(created.ledger_id());
  if (absl::Status s = registry_->Save(record, /*sync=*/true); !s.ok()) return s;
  std::shared_ptr<Ledger> ledger = AddLedger(record);
  {
    absl::MutexLock lock(&ledger->mu);
    ledger->needs_sync = false;
  }
  BlockContent content;
  content.event = *std::move(event);
  content.controllers = controllers;
  content.time_millis = NowMillis();
  absl::StatusOr<v1::BlockOutcome> genesis = MakeBlock(ledger, std::move(content), {});
  if (!genesis.ok()) {
    if (OutcomeIsKnown(genesis.status())) {
      // The host refused the genesis (or it was never sent): no ledger.
      UnregisterLedger(record.ledger_id);
      if (absl::Status s = registry_->Remove(record.ledger_id); !s.ok()) {
        options_.warn(absl::StrCat("cannot remove a failed ledger's record: ", s.message()));
      }
    }
    return genesis.status();
  }
  v1::OwnerCreateLedgerResponse response;
  response.set_ledger_id(created.ledger_id());
  response.set_key(key);
  *response.mutable_genesis() = *std::move(genesis);
  return response;
}

namespace {

// The block content of an AppendEventRequest (event checks, seals).
absl::Status EventContent(const v1::AppendEventRequest& request, BlockContent& content,
                          std::vector<v1::Attachment>& attachments) {
  if (request.request_id().size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request id: longer than ",
                                                   kMaxRequestIdBytes, " bytes"));
  }
  absl::StatusOr<Json> event = ParseJson(request.event_json());
  if (!event.ok()) return Prefix(event.status(), "event: ");
  auto name = event->is_object() ? event->find("event") : event->end();
  if (!event->is_object() || name == event->end() || !name->is_string()) {
    return absl::InvalidArgumentError(
        "event: must be a JSON object with a string member \"event\"");
  }
  if (IsReservedEvent(name->get_ref<const std::string&>())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event: \"", name->get_ref<const std::string&>(),
        "\" is reserved; use CreateLedger, CloseLedger, MoveLedger or TransferOwnership"));
  }
  content.event = *std::move(event);
  content.time_millis = NowMillis();
  if (request.attachments_size() > 0) {
    std::vector<std::string> seals;
    for (const v1::Attachment& a : request.attachments()) {
      std::string seal = DigestText(a.data());
      if (std::find(seals.begin(), seals.end(), seal) != seals.end()) continue;
      seals.push_back(seal);
      attachments.push_back(a);
    }
    content.seals = std::move(seals);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::BlockOutcome> OwnerAgent::AppendEvent(
    const v1::AppendEventRequest& request) {
  absl::StatusOr<std::shared_ptr<Ledger>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) return ledger.status();
  BlockContent content;
  std::vector<v1::Attachment> attachments;
  if (absl::Status s = EventContent(request, content, attachments); !s.ok()) return s;
  return MakeBlock(*ledger, std::move(content), attachments, request.request_id());
}

void OwnerAgent::AppendEventAsync(const v1::AppendEventRequest& request,
                                  OutcomeCallback done) {
  absl::StatusOr<std::shared_ptr<Ledger>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) {
    done(ledger.status());
    return;
  }
  BlockContent content;
  std::vector<v1::Attachment> attachments;
  if (absl::Status s = EventContent(request, content, attachments); !s.ok()) {
    done(s);
    return;
  }
  MakeBlockAsync(*ledger, std::move(content), attachments, request.request_id(),
                 std::move(done));
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::CloseLedger(
    const v1::CloseLedgerRequest& request) {
  absl::StatusOr<std::shared_ptr<Ledger>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) return ledger.status();
  BlockContent content;
  content.event = Json{{"event", std::string(kClosedDocument)}};
  content.time_millis = NowMillis();
  return MakeBlock(*ledger, std::move(content), {});
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::TransferOwnership(
    const v1::TransferOwnershipRequest& request) {
  absl::StatusOr<std::shared_ptr<Ledger>> ledger = FindLedger(request.ledger_id());
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<Json> event = ParseExtras(request.extra_members_json(), {"signature"});
  if (!event.ok()) return event.status();
  (*event)["event"] = std::string(kTransferredOwnership);
  BlockContent content;
  content.event = *std::move(event);
  content.controllers = FromProto(request.new_controllers());
  content.time_millis = NowMillis();
  return MakeBlock(*ledger, std::move(content), {});
}

absl::StatusOr<v1::CommittedBlock> OwnerAgent::FinishMove(
    const std::shared_ptr<Ledger>& old_ledger) {
  LedgerRecord old;
  {
    absl::MutexLock lock(&old_ledger->mu);
    old = old_ledger->record;
  }
  std::shared_ptr<Ledger> ledger;
  {
    absl::StatusOr<std::shared_ptr<Ledger>> found = FindLedger(old.move_new_id);
    if (found.ok()) {
      ledger = *found;
    } else {
      LedgerRecord record;
      record.ledger_id = old.move_new_id;
      record.host_address = old.move_host;
      record.ledger_token = old.move_token;
      record.document_type = old.document_type;
      record.original_id = old.original_id;
      record.state = ChainState::Empty(old.move_new_id);
      if (absl::Status s = registry_->Save(record, /*sync=*/true); !s.ok()) return s;
      ledger = AddLedger(record);
    }
  }
  BlockContent content;
  content.event = Json{{"event", std::string(kBecameDocument)},
                       {"document type", old.document_type},
                       {"cryptographic signing key", old.move_new_key},
                       {"original id", old.original_id.empty() ? old.ledger_id : old.original_id},
                       {"moved from", old.ledger_id},
                       {"moved from block", old.move_block_fingerprint}};
  content.controllers = Controllers{1, {old.move_new_key}};
  content.time_millis = NowMillis();
  absl::StatusOr<v1::BlockOutcome> became = MakeBlock(ledger, std::move(content), {});
  if (!became.ok()) return Prefix(became.status(), "became document: ");
  if (!became->has_committed()) return absl::InternalError("became document: not committed");
  absl::MutexLock lock(&old_ledger->mu);
  LedgerRecord& record = old_ledger->record;
  record.moved_to = record.move_new_id;
  record.move_host.clear();
  record.move_token.clear();
  (void)registry_->Save(record, /*sync=*/true);
  return became->committed();
}

absl::StatusOr<v1::MoveLedgerResponse> OwnerAgent::MoveLedger(
    const v1::MoveLedgerRequest& request) {
  absl::StatusOr<std::shared_ptr<Ledger>> found = FindLedger(request.ledger_id());
  if (!found.ok()) return found.status();
  std::shared_ptr<Ledger> ledger = *found;
  v1::MoveLedgerResponse response;
  bool resume = false;
  std::string new_key;
  {
    absl::MutexLock lock(&ledger->mu);
    if (absl::Status s = PrepareLocked(*ledger); !s.ok()) return s;
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
      std::shared_ptr<HostClient> host = Host(address);
      v1::CreateLedgerResponse created;
      auto context = host->NewContext();
      absl::Status status = FromGrpc(
          host->stub().CreateLedger(context.get(), v1::CreateLedgerRequest(), &created));
      if (!status.ok()) return Prefix(status, absl::StrCat("host ", address, ": "));
      record.move_host = address;
      record.move_new_id = created.ledger_id();
      record.move_token = created.ledger_token();
      record.move_new_key = new_key;
      if (absl::Status s = registry_->Save(record, /*sync=*/true); !s.ok()) return s;
    }
  }
  if (!resume) {
    BlockContent content;
    std::string new_id;
    {
      absl::MutexLock lock(&ledger->mu);
      new_id = ledger->record.move_new_id;
    }
    content.event = Json{{"event", std::string(kMovedDocument)},
                         {"new id", new_id},
                         {"new cryptographic signing key", new_key}};
    content.time_millis = NowMillis();
    absl::StatusOr<v1::BlockOutcome> moved = MakeBlock(ledger, std::move(content), {});
    if (!moved.ok()) return Prefix(moved.status(), "moved document: ");
    if (!moved->has_committed()) return absl::InternalError("moved document: not committed");
    *response.mutable_moved() = moved->committed();
  }
  {
    absl::MutexLock lock(&ledger->mu);
    ledger->record.move_block_fingerprint = ledger->record.state.head_fingerprint;
    new_key = ledger->record.move_new_key;
    response.set_new_ledger_id(ledger->record.move_new_id);
    (void)registry_->Save(ledger->record, /*sync=*/true);
  }
  response.set_new_key(new_key);
  absl::StatusOr<v1::CommittedBlock> became = FinishMove(ledger);
  if (!became.ok()) return became.status();
  *response.mutable_became() = *std::move(became);
  return response;
}

absl::StatusOr<v1::BlockOutcome> OwnerAgent::CosignBlock(
    const v1::CosignBlockRequest& request) {
  const v1::BlockProposal& proposal = request.proposal();
  absl::StatusOr<Block> parsed = ParseBlock(proposal.block(), SignatureStage::kOwnerSigned);
  if (!parsed.ok()) return Prefix(parsed.status(), "proposal: ");
  Block block = *std::move(parsed);
  std::shared_ptr<Ledger> ledger;
  {
    absl::StatusOr<std::shared_ptr<Ledger>> found = FindLedger(block.ledger);
    if (found.ok()) {
      ledger = *found;
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
  }
  std::vector<v1::Attachment> attachments = ToVector(proposal.attachments());
  std::shared_ptr<Pending> pending;
  v1::BlockOutcome outcome;
  {
    absl::MutexLock lock(&ledger->mu);
    ledger->needs_sync = true;
    if (absl::Status s = PrepareLocked(*ledger); !s.ok()) return s;
    const ChainState& state = ledger->drafted;
    if (block.number == 1 && ledger->record.ledger_token.empty()) {
      ledger->record.ledger_token = proposal.ledger_token();
    }
    if (block.number != state.head_number + 1 ||
        (block.number > 1 && block.previous != state.head_fingerprint)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "previous: the proposal is for block ", block.number, " but the ledger's head is ",
          state.head_number, " (", state.head_fingerprint, ")"));
    }
    if (block.number == 1 && !block.controllers.has_value()) {
      return absl::InvalidArgumentError("controllers: required in the genesis block");
    }
    const Controllers authorising = block.number == 1 ? *block.controllers : state.controllers;
    const std::string message = BlockSignedMessage(block.fingerprint);
    for (const BlockSignature& s : block.signatures) {
      if (std::find(authorising.keys.begin(), authorising.keys.end(), s.key) ==
          authorising.keys.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "authority: block ", block.number, " is signed by ", s.key,
            ", not a controller in force"));
      }
      if (absl::Status v = VerifyEd25519Text(s.key, message, s.sig, "owner signature");
          !v.ok()) {
        return Prefix(v, absl::StrCat("block ", block.number, ": "));
      }
    }
    const size_t before = block.signatures.size();
    absl::StatusOr<int> count = SignHeld(block, authorising);
    if (!count.ok()) return count.status();
    if (static_cast<size_t>(*count) == before && *count < authorising.threshold) {
      return absl::FailedPreconditionError(absl::StrCat(
          "authority: this agent holds none of the missing controller keys of block ",
          block.number));
    }
    if (*count < authorising.threshold) {
      v1::BlockProposal* out = outcome.mutable_proposal();
      *out = proposal;
      out->set_host_address(ledger->record.host_address);
      out->set_block(SerializeBlock(block));
      out->clear_missing_keys();
      ToProto(authorising, out->mutable_controllers());
      for (const std::string& key : authorising.keys) {
        bool has = false;
        for (const BlockSignature& s : block.signatures) has |= s.key == key;
        if (!has) out->add_missing_keys(key);
      }
      return outcome;
    }
    if (absl::Status s = CheckNextBlock(state, block, SignatureStage::kOwnerSigned,
                                        BlockRuleOptions::HostDefaults(NowMillis()));
        !s.ok()) {
      return Prefix(s, absl::StrCat("block ", block.number, ": "));
    }
    if (!ledger->saved_in_registry) {
      if (absl::Status s = registry_->Save(ledger->record, /*sync=*/true); !s.ok()) return s;
      if (!RegisterLedger(block.ledger, ledger)) {
        return absl::AbortedError(
            "another call added this ledger to the agent meanwhile; retry the CosignBlock");
      }
      ledger->saved_in_registry = true;
    }
    std::string bytes = SerializeBlock(block);
    pending = SubmitLocked(ledger, std::move(block), std::move(bytes), attachments);
  }
  absl::StatusOr<v1::CommittedBlock> committed = Wait(ledger, pending);
  if (!committed.ok()) return committed.status();
  *outcome.mutable_committed() = *std::move(committed);
  return outcome;
}

absl::StatusOr<v1::OwnerGetLedgerResponse> OwnerAgent::GetLedger(
    const v1::OwnerGetLedgerRequest& request) {
  absl::StatusOr<std::shared_ptr<Ledger>> found = FindLedger(request.ledger_id());
  if (!found.ok()) return found.status();
  std::shared_ptr<Ledger> ledger = *found;
  v1::OwnerGetLedgerResponse response;
  {
    absl::MutexLock lock(&ledger->mu);
    if (!request.offline()) {
      if (ledger->record.equivocation) {
        if (absl::Status s = PrepareLocked(*ledger); !s.ok()) return s;
      }
      ledger->mu.Await(absl::Condition(&NoneInflight, ledger.get()));
      if (absl::Status s = SyncLocked(*ledger); !s.ok()) return s;
    }
    const LedgerRecord& record = ledger->record;
    response.set_ledger_id(record.ledger_id);
    response.set_host_address(record.host_address);
    response.set_status(StatusOf(record.state));
    response.set_head_number(record.state.head_number);
    response.set_head_fingerprint(record.state.head_fingerprint);
    ToProto(record.state.controllers, response.mutable_controllers());
    response.set_checkpoint(record.checkpoint);
    for (const std::string& key : record.state.controllers.keys) {
      if (keystore_->HasKey(key)) response.add_held_keys(key);
    }
    response.set_document_type(record.document_type);
    response.set_original_id(record.original_id);
    response.set_moved_to(record.moved_to.empty() && record.state.terminal_event == kMovedDocument
                              ? record.move_new_id
                              : record.moved_to);
    response.set_equivocation(record.equivocation);
  }
  absl::StatusOr<std::vector<EvidenceRecord>> evidence =
      registry_->ListEvidence(request.ledger_id());
  if (evidence.ok()) {
    for (const EvidenceRecord& e : *evidence) ToProto(e, response.add_evidence());
  }
  return response;
}

v1::ListLedgersResponse OwnerAgent::ListLedgers() {
  std::vector<std::shared_ptr<Ledger>> ledgers;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, ledger] : ledgers_) ledgers.push_back(ledger);
  }
  v1::ListLedgersResponse response;
  for (auto& ledger : ledgers) {
    absl::MutexLock lock(&ledger->mu);
    auto* entry = response.add_ledgers();
    entry->set_ledger_id(ledger->record.ledger_id);
    entry->set_host_address(ledger->record.host_address);
    entry->set_head_number(ledger->record.state.head_number);
  }
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

// ---------------------------------------------------------------- verify/export

absl::StatusOr<OwnerAgent::HostCopy> OwnerAgent::SyncedHostCopy(
    const std::string& ledger_id) {
  absl::StatusOr<std::shared_ptr<Ledger>> found = FindLedger(ledger_id);
  if (!found.ok()) return found.status();
  std::shared_ptr<Ledger> ledger = *found;
  absl::MutexLock lock(&ledger->mu);
  ledger->mu.Await(absl::Condition(&NoneInflight, ledger.get()));
  if (absl::Status s = SyncLocked(*ledger); !s.ok()) return s;
  return HostCopy{ledger->record.host_address, ledger->record.checkpoint};
}

absl::StatusOr<v1::VerifyLedgerResponse> OwnerAgent::VerifyLedger(
    const v1::VerifyLedgerRequest& request) {
  absl::StatusOr<HostCopy> copy = SyncedHostCopy(request.ledger_id());
  if (!copy.ok()) return copy.status();
  LedgerVerifier verifier(request.ledger_id());
  std::optional<VerifyFailure> failure;
  if (!copy->checkpoint.empty()) {
    if (absl::Status s = ReadHostCopy(*Host(copy->host_address), request.ledger_id(),
                                      copy->checkpoint, verifier, &failure,
                                      HostCopyVisitor());
        !s.ok()) {
      return s;
    }
  }
  BundleVerdict verdict;
  verdict.ledger = request.ledger_id();
  verdict.ok = !failure.has_value();
  if (failure.has_value()) verdict.failure = *failure;
  verdict.blocks = verifier.block_count();
  v1::VerifyLedgerResponse response;
  response.set_ok(verdict.ok);
  response.set_blocks(verdict.blocks);
  response.set_failure_block(verdict.ok ? 0 : verdict.failure.block_position);
  response.set_rule(verdict.ok ? "" : verdict.failure.rule);
  response.set_verdict(verdict.Line());
  return response;
}

absl::Status OwnerAgent::ExportLedger(const v1::ExportLedgerRequest& request,
                                      const std::function<bool(const std::string&)>& sink) {
  absl::StatusOr<HostCopy> copy = SyncedHostCopy(request.ledger_id());
  if (!copy.ok()) return copy.status();
  std::ostringstream buffer;
  BundleWriter writer(buffer);
  constexpr size_t kChunk = 64 * 1024;
  // Hands the buffered bundle text to `sink` once a chunk is full (or `force`).
  auto flush = [&](absl::Status written, bool force) -> absl::Status {
    if (!written.ok()) return written;
    if (buffer.tellp() <= 0) return absl::OkStatus();
    if (!force && static_cast<size_t>(buffer.tellp()) < kChunk) return absl::OkStatus();
    const std::string data = buffer.str();
    buffer.str("");
    buffer.clear();
    return sink(data) ? absl::OkStatus() : absl::CancelledError("export cancelled");
  };
  if (absl::Status s = writer.WriteHeader(request.ledger_id()); !s.ok()) return s;
  if (!copy->checkpoint.empty()) {
    HostCopyVisitor visit;
    visit.block = [&](const Block& block) { return flush(writer.WriteBlock(block), false); };
    visit.checkpoint = [&](const std::string& note) {
      return flush(writer.WriteCheckpoint(note), false);
    };
    visit.attachment = [&](const v1::GetAttachmentResponse& attachment) {
      return flush(
          writer.WriteAttachment(attachment.seal(), attachment.name(), attachment.data()),
          false);
    };
    LedgerVerifier verifier(request.ledger_id());
    std::optional<VerifyFailure> failure;
    if (absl::Status s = ReadHostCopy(*Host(copy->host_address), request.ledger_id(),
                                      copy->checkpoint, verifier, &failure, visit);
        !s.ok()) {
      return s;
    }
    if (failure.has_value()) {
      return absl::DataLossError(absl::StrCat("the host's copy fails verification at block ",
                                              failure->block_position, ": ", failure->rule));
    }
  }
  return flush(absl::OkStatus(), true);
}

}  // namespace microledger
