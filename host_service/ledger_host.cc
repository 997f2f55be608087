#include "host_service/ledger_host.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/synchronization/mutex.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/evidence.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "serving/log.h"

namespace microledger {
namespace {

// Prefixes a status message with the block number, keeping the code.
absl::Status AtBlock(uint64_t number, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("block ", number, ": ", status.message()));
}

}  // namespace

LedgerHost::LedgerHost(std::unique_ptr<KvStore> store, MasterSecret master,
                       HostOptions options)
    : store_(std::move(store)),
      master_(std::move(master)),
      options_(std::move(options)),
      evidence_(store_.get()),
      cache_(options_.max_cached_ledgers),
      node_cache_(options_.max_cached_merkle_nodes),
      reader_(store_.get(), &cache_, &node_cache_),
      committer_(store_.get(), options_.metrics) {}

LedgerHost::~LedgerHost() = default;

int64_t LedgerHost::Now() const {
  return options_.clock ? options_.clock() : NowMillis();
}

absl::Status LedgerHost::LoadLocked(LedgerEntry& entry, absl::string_view ledger_key) {
  const uint64_t epoch = entry.epoch.load(std::memory_order_acquire);
  if (entry.loaded && entry.loaded_epoch == epoch) return absl::OkStatus();
  // Storage holds exactly the committed appends: nothing of this epoch is
  // queued (the entry is new, or a failed commit bumped the epoch and every
  // older queued append will fail).
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(ledger_key));
  if (absl::IsNotFound(bytes.status())) {
    absl::StatusOr<bool> forgotten = HasTombstone(*store_, ledger_key);
    if (!forgotten.ok()) return forgotten.status();
    if (*forgotten) {
      if (absl::Status s = LoadFrozenLocked(entry, ledger_key); !s.ok()) return s;
    }
    entry.loaded = true;
    entry.loaded_epoch = epoch;
    entry.exists = false;
    entry.forgotten = *forgotten;
    entry.state = ChainState();
    entry.frontier = MerkleFrontier();
    entry.nonce.clear();
    entry.key.reset();
    absl::MutexLock lock(&entry.commit_mu);
    entry.committed_known = true;
    entry.committed_exists = false;
    entry.committed_forgotten = *forgotten;
    entry.committed_head = 0;
    return absl::OkStatus();
  }
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<HeadRecord> head = DecodeHeadRecord(*bytes);
  if (!head.ok()) return head.status();
  absl::StatusOr<SigningKey> key = master_.DeriveLedgerKey(head->nonce);
  if (!key.ok()) return absl::DataLossError("storage: head record nonce unusable");
  if (absl::Status s = LoadFrozenLocked(entry, ledger_key); !s.ok()) return s;
  entry.state = std::move(head->state);
  entry.frontier = std::move(head->frontier);
  entry.nonce = std::move(head->nonce);
  entry.key.emplace(*std::move(key));
  entry.exists = true;
  entry.forgotten = false;
  entry.loaded = true;
  entry.loaded_epoch = epoch;
  absl::MutexLock lock(&entry.commit_mu);
  entry.committed_known = true;
  entry.committed_exists = true;
  entry.committed_head = entry.state.head_number;
  return absl::OkStatus();
}

absl::Status LedgerHost::LoadFrozenLocked(LedgerEntry& entry,
                                          absl::string_view ledger_key) {
  if (!entry.frozen_by.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> first = FirstEvidenceId(*store_, ledger_key);
  if (!first.ok()) return first.status();
  entry.frozen_by = *std::move(first);
  return absl::OkStatus();
}

absl::StatusOr<NewLedger> LedgerHost::CreateLedger() {
  std::string nonce = NewLedgerNonce();
  absl::StatusOr<SigningKey> key = master_.DeriveLedgerKey(nonce);
  if (!key.ok()) return key.status();
  return NewLedger{LedgerIdFromPublicKeyText(key->public_key_text()), std::move(nonce)};
}

void LedgerHost::AppendAsync(AppendInput input, AppendCallback done) {
  if (options_.announcer != nullptr) {
    // Committed: announced (or kept announced) through the DHT, once its
    // head is stored (the announcer's signer reads it). O(1), no I/O.
    done = [announcer = options_.announcer,
            inner = std::move(done)](absl::StatusOr<AppendResult> result) {
      if (result.ok()) announcer->Touch(result->ledger_id);
      inner(std::move(result));
    };
  }
  if (options_.witnesses != nullptr) {
    // Committed: its newest checkpoint goes to the witnesses, later, from
    // the submitter's threads. O(1), no I/O.
    done = [witnesses = options_.witnesses,
            inner = std::move(done)](absl::StatusOr<AppendResult> result) {
      if (result.ok()) witnesses->Touch(result->ledger_id);
      inner(std::move(result));
    };
  }
  absl::Status status = Prepare(input, done);
  if (!status.ok()) {
    if (options_.metrics != nullptr) options_.metrics->AppendRejected(status);
    done(std::move(status));
  }
}

absl::Status LedgerHost::CheckLimits(const AppendInput& input) const {
  if (input.block.size() > options_.max_block_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("block size: ", input.block.size(), " bytes, the limit is ",
                     options_.max_block_bytes));
  }
  if (input.attachments.size() > options_.max_attachments) {
    return absl::ResourceExhaustedError(
        absl::StrCat("attachments: ", input.attachments.size(),
                     " attachments, the limit is ", options_.max_attachments));
  }
  for (size_t i = 0; i < input.attachments.size(); ++i) {
    if (input.attachments[i].data.size() > options_.max_attachment_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "attachment size: attachment ", i, " is ", input.attachments[i].data.size(),
          " bytes, the limit is ", options_.max_attachment_bytes));
    }
  }
  return absl::OkStatus();
}

absl::Status LedgerHost::Prepare(AppendInput& input, AppendCallback& done) {
  // Limits first: cheap, before any parsing.
  if (absl::Status s = CheckLimits(input); !s.ok()) return s;
  absl::StatusOr<Block> parsed = ParseBlock(input.block, SignatureStage::kOwnerSigned);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat("block: ", parsed.status().message()));
  }
  Block& block = *parsed;
  absl::StatusOr<std::string> ledger_key = LedgerKeyFromId(block.ledger);
  if (!ledger_key.ok()) return AtBlock(block.number, ledger_key.status());

  // Attachments: each must match a seal of the block (SPEC §6).
  std::vector<std::string> attachment_hashes;
  attachment_hashes.reserve(input.attachments.size());
  for (size_t i = 0; i < input.attachments.size(); ++i) {
    const AttachmentInput& attachment = input.attachments[i];
    std::string multihash = Sha256Multihash(attachment.data);
    std::string digest = EncodeMultibase(multihash);
    if (!block.seals.has_value() ||
        std::find(block.seals->begin(), block.seals->end(), digest) ==
            block.seals->end()) {
      return AtBlock(block.number,
                     absl::InvalidArgumentError(absl::StrCat(
                         "attachment: attachment ", i, " (digest ", digest,
                         ") matches no seal of the block")));
    }
    attachment_hashes.push_back(std::move(multihash));
  }
  absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  if (!leaf.ok()) return AtBlock(block.number, leaf.status());

  // Declared before the lock: the queued Pending may be committed (and
  // dropped) before the lock is released.
  std::shared_ptr<LedgerEntry> entry_ref = cache_.GetOrCreate(block.ledger);
  LedgerEntry& entry = *entry_ref;
  auto pending = std::make_unique<PreparedAppend>();
  pending->entry = entry_ref;
  absl::MutexLock lock(&entry.mu);
  if (absl::Status s = LoadLocked(entry, *ledger_key); !s.ok()) {
    return AtBlock(block.number, s);
  }
  if (entry.exists && !entry.frozen_by.empty()) {
    return AtBlock(block.number, absl::FailedPreconditionError(absl::StrCat(
                                     "ledger: frozen by equivocation evidence ",
                                     entry.frozen_by)));
  }
  // A new ledger: its key must derive from the token the host handed out.
  std::optional<SigningKey> new_key;
  if (!entry.exists) {
    if (entry.forgotten) {
      if (block.number != 1) return AtBlock(block.number, ForgottenLedger(block.ledger));
      return AtBlock(block.number,
                     absl::FailedPreconditionError(absl::StrCat(
                         "forgotten ledger: ", block.ledger,
                         " was forgotten; its id is retired and is never "
                         "created again")));
    }
    if (block.number != 1) return AtBlock(block.number, UnknownLedger(block.ledger));
    if (input.ledger_token.empty()) {
      return AtBlock(block.number,
                     absl::InvalidArgumentError(
                         "ledger token: the genesis block needs the ledger_token "
                         "that CreateLedger returned"));
    }
    absl::StatusOr<SigningKey> key = master_.DeriveLedgerKey(input.ledger_token);
    if (!key.ok()) return AtBlock(block.number, key.status());
    if (LedgerIdFromPublicKeyText(key->public_key_text()) != block.ledger) {
      return AtBlock(block.number,
                     absl::FailedPreconditionError(absl::StrCat(
                         "ledger: the ledger token does not belong to ", block.ledger,
                         " (not a ledger of this host)")));
    }
    new_key.emplace(*std::move(key));
  }
  const SigningKey& host_key = entry.exists ? *entry.key : *new_key;

  BlockRuleOptions rules = BlockRuleOptions::HostDefaults(Now());
  rules.max_clock_skew_millis = options_.max_clock_skew_millis;
  {
    const ChainState empty =
        entry.exists ? ChainState() : ChainState::Empty(block.ledger);
    const ChainState& state = entry.exists ? entry.state : empty;
    if (absl::Status s = CheckNextBlock(state, block, SignatureStage::kOwnerSigned, rules);
        !s.ok()) {
      return AtBlock(block.number, s);
    }
  }

  // Countersign: the host signature object spliced into the owner-signed bytes.
  BlockSignature host_signature{std::string(kHostRole), std::string(kEd25519Alg),
                                host_key.public_key_text(),
                                host_key.SignText(BlockSignedMessage(block.fingerprint))};
  std::string complete_bytes = SpliceHostSignature(input.block, host_signature);
  if (complete_bytes.empty()) {  // Not reached for canonical input; be safe.
    Block complete = block;
    complete.signatures.push_back(host_signature);
    complete_bytes = SerializeBlock(complete);
  }
  if (complete_bytes.size() > options_.max_block_bytes) {
    return AtBlock(block.number,
                   absl::ResourceExhaustedError(absl::StrCat(
                       "block size: ", complete_bytes.size(),
                       " bytes with the host signature, the limit is ",
                       options_.max_block_bytes)));
  }

  // Nothing fails from here on: advance the pending head in place.
  if (!entry.exists) {
    entry.state = ChainState::Empty(block.ledger);
    entry.frontier = MerkleFrontier();
    entry.nonce = input.ledger_token;
    entry.key = std::move(new_key);
    entry.exists = true;
  }
  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes =
      entry.frontier.Append(HashMerkleLeaf(*leaf));
  const absl::Time signing_start = absl::Now();
  std::string signed_checkpoint =
      SignCheckpoint(Checkpoint{block.ledger, block.number, entry.frontier.Root()},
                     *entry.key);
  if (options_.metrics != nullptr) {
    options_.metrics->checkpoint_sign_seconds.Observe(
        absl::ToDoubleSeconds(absl::Now() - signing_start));
  }
  entry.state = AdvanceChain(entry.state, block);

  // One atomic batch: block, nodes, checkpoint, attachments, head.
  KvBatch& batch = pending->batch;
  batch.puts.reserve(nodes.size() + attachment_hashes.size() + 3);
  batch.puts.emplace_back(BlockKey(*ledger_key, block.number), complete_bytes);
  for (const auto& [id, hash] : nodes) {
    batch.puts.emplace_back(NodeKey(*ledger_key, id.level, id.index), MerkleHashBytes(hash));
  }
  batch.puts.emplace_back(CheckpointKey(*ledger_key, block.number), signed_checkpoint);
  for (size_t i = 0; i < attachment_hashes.size(); ++i) {
    batch.puts.emplace_back(
        AttachmentKey(*ledger_key, attachment_hashes[i]),
        EncodeAttachment(input.attachments[i].name, input.attachments[i].data));
  }
  batch.puts.emplace_back(HeadKey(*ledger_key),
                          EncodeHeadRecord(entry.state, entry.frontier, entry.nonce));

  AppendResult& result = pending->result;
  result.ledger_id = std::move(block.ledger);
  result.number = block.number;
  result.fingerprint = std::move(block.fingerprint);
  result.host_signature = std::move(host_signature);
  result.checkpoint = std::move(signed_checkpoint);
  result.complete_block = std::move(complete_bytes);
  pending->epoch = entry.loaded_epoch;
  pending->done = std::move(done);
  {
    absl::MutexLock commit_lock(&entry.commit_mu);
    ++entry.inflight;
  }
  // Queued while the prepare mutex is held: the queue keeps each ledger's order.
  committer_.Enqueue(std::move(pending));
  return absl::OkStatus();
}

absl::Status LedgerHost::Forget(absl::string_view ledger_id,
                                absl::string_view head_fingerprint,
                                const std::vector<BlockSignature>& signatures) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  for (const BlockSignature& signature : signatures) {
    if (signature.role != kOwnerRole) {
      return absl::InvalidArgumentError(
          absl::StrCat("forget: signature role must be \"owner\", got \"",
                       QuoteForError(signature.role), "\""));
    }
    if (signature.alg != kEd25519Alg) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forget: signature alg must be \"Ed25519\", got \"",
          QuoteForError(signature.alg), "\""));
    }
  }
  std::shared_ptr<LedgerEntry> entry_ref = cache_.GetOrCreate(ledger_id);
  LedgerEntry& entry = *entry_ref;
  absl::MutexLock lock(&entry.mu);
  {
    // Queued appends of this ledger finish first (no new ones: mu is held).
    absl::MutexLock commit_lock(&entry.commit_mu);
    entry.commit_mu.Await(absl::Condition(&entry, &LedgerEntry::NothingInflightLocked));
  }
  if (absl::Status s = LoadLocked(entry, *key); !s.ok()) return s;
  if (entry.forgotten) return ForgottenLedger(ledger_id);
  if (!entry.exists) return UnknownLedger(ledger_id);
  if (head_fingerprint != entry.state.head_fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        "forget: the request is signed for head ", QuoteForError(head_fingerprint),
        ", the head is block ", entry.state.head_number, " ",
        entry.state.head_fingerprint));
  }
  const std::string message = ForgetRequestMessage(ledger_id, head_fingerprint);
  if (absl::Status s =
          CheckOwnerSignatures(entry.state.controllers, message, signatures,
                               absl::StrCat("the forget request at block ",
                                            entry.state.head_number));
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("forget: ", s.message()));
  }
  KvBatch batch;
  batch.delete_ranges = LedgerKeyRanges(*key);
  Tombstone tombstone;
  tombstone.forgotten_at_millis = Now();
  tombstone.head_number = entry.state.head_number;
  tombstone.head_fingerprint = entry.state.head_fingerprint;
  batch.puts.emplace_back(TombstoneKey(*key), EncodeTombstone(tombstone));
  std::vector<std::function<void()>> wake;
  {
    // Held across the delete (forgets are rare): a read that starts after
    // the data is gone cannot be answered from the cached head, checkpoint
    // or nodes.
    absl::MutexLock commit_lock(&entry.commit_mu);
    if (absl::Status s = store_->Write(batch); !s.ok()) {
      return absl::UnavailableError(s.message());
    }
    entry.committed_exists = false;
    entry.committed_forgotten = true;
    entry.committed_head = 0;
    ++entry.forget_count;
    entry.latest_checkpoint.reset();
    node_cache_.EraseLedger(*key);
    wake = entry.TakeWaitersLocked();
  }
  entry.exists = false;
  entry.forgotten = true;
  entry.state = ChainState::Empty(ledger_id);
  entry.frontier = MerkleFrontier();
  entry.nonce.clear();
  entry.key.reset();
  for (auto& w : wake) w();
  if (options_.announcer != nullptr) options_.announcer->Forget(ledger_id);
  return absl::OkStatus();
}

absl::StatusOr<EvidenceReport> LedgerHost::ReportEquivocation(
    absl::string_view evidence) {
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(evidence);
  if (!info.ok()) return info.status();
  absl::StatusOr<std::string> key = LedgerKeyFromId(info->ledger);
  if (!key.ok()) return key.status();
  std::shared_ptr<LedgerEntry> entry_ref = cache_.GetOrCreate(info->ledger);
  LedgerEntry& entry = *entry_ref;
  absl::MutexLock lock(&entry.mu);
  {
    // Appends prepared before the report commit first (no new ones: mu is
    // held), so none commits after the report returns.
    absl::MutexLock commit_lock(&entry.commit_mu);
    entry.commit_mu.Await(absl::Condition(&entry, &LedgerEntry::NothingInflightLocked));
  }
  if (absl::Status s = LoadLocked(entry, *key); !s.ok()) return s;
  if (!entry.exists && !entry.forgotten) return UnknownLedger(info->ledger);
  absl::StatusOr<bool> added = evidence_.Add(*key, evidence);
  if (!added.ok()) return absl::UnavailableError(added.status().message());
  const std::string kind(EvidenceKindName(info->kind));
  if (entry.frozen_by.empty()) {
    entry.frozen_by = info->id;
    // Loud, once per ledger; no ledger id in logs (ids are capabilities).
    Log(LogLevel::kError, "equivocation",
        absl::StrCat("EQUIVOCATION evidence ", info->id, " (", kind,
                     "): a ledger key of this host signed two histories; its master "
                     "secret is live elsewhere; the ledger is frozen"),
        {{"evidence_id", info->id}, {"kind", kind}, {"frozen", true}});
  }
  if (options_.announcer != nullptr && *added && entry.exists) {
    // Published beside the ledger's record; a too-large object is still kept
    // here (SPEC §13: a fork is published as smaller evidence by whoever can).
    options_.announcer->PutEvidence(info->ledger, evidence).IgnoreError();
  }
  return EvidenceReport{std::move(info->ledger), kind, std::move(info->id), true};
}

absl::StatusOr<std::string> LedgerHost::SignLocator(const std::string& ledger_id,
                                                    LocatorRecord record) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(*key));
  if (absl::IsNotFound(bytes.status())) return UnknownLedger(ledger_id);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<HeadRecord> head = DecodeHeadRecord(*bytes);
  if (!head.ok()) return head.status();
  absl::StatusOr<SigningKey> signing_key = master_.DeriveLedgerKey(head->nonce);
  if (!signing_key.ok()) return signing_key.status();
  return SignLocatorRecord(std::move(record), *signing_key);
}

absl::Status LedgerHost::ForEachLedger(
    const std::function<void(const std::string& ledger_id, int64_t head_time_millis)>& visit)
    const {
  constexpr size_t kBatch = 1024;
  std::string begin(1, kHeadTable);
  const std::string end(1, kHeadTable + 1);
  while (true) {
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> heads =
        store_->Scan(begin, end, kBatch);
    if (!heads.ok()) return heads.status();
    for (const auto& [key, value] : *heads) {
      // A damaged head record is skipped here (its ledger's reads and
      // appends report it); it must not stop the others being announced.
      absl::StatusOr<HeadRecord> head = DecodeHeadRecord(value);
      if (head.ok()) visit(head->state.ledger, head->state.head_time_millis);
    }
    if (heads->size() < kBatch) return absl::OkStatus();
    begin = heads->back().first + std::string(1, '\0');
  }
}

}  // namespace microledger
