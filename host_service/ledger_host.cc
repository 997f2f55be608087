#include "host_service/ledger_host.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/block_builder.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/timestamp.h"

namespace microledger {


struct LedgerHost::Entry {
  // The pending head: the state after every accepted append (committed or
  // queued). Held across validate + sign of one append, never across I/O.
  absl::Mutex mu;
  bool loaded ABSL_GUARDED_BY(mu) = false;
  // The epoch the pending state was loaded in; a failed commit bumps `epoch`,
  // which makes the next prepare reload from storage.
  uint64_t loaded_epoch ABSL_GUARDED_BY(mu) = 0;
  bool exists ABSL_GUARDED_BY(mu) = false;
  // The ledger was forgotten: a tombstone retires its id (never with exists).
  bool forgotten ABSL_GUARDED_BY(mu) = false;
  ChainState state ABSL_GUARDED_BY(mu);
  MerkleFrontier frontier ABSL_GUARDED_BY(mu);
  std::string nonce ABSL_GUARDED_BY(mu);
  std::optional<SigningKey> key ABSL_GUARDED_BY(mu);
  std::atomic<uint64_t> epoch{0};

  // The committed head (what readers and subscribers see). Lock order: mu
  // before commit_mu.
  absl::Mutex commit_mu ABSL_ACQUIRED_AFTER(mu);
  // Whether committed_exists and committed_head are known (the entry was
  // loaded once); until then readers go to storage.
  bool committed_known ABSL_GUARDED_BY(commit_mu) = false;
  bool committed_exists ABSL_GUARDED_BY(commit_mu) = false;
  bool committed_forgotten ABSL_GUARDED_BY(commit_mu) = false;
  uint64_t committed_head ABSL_GUARDED_BY(commit_mu) = 0;
  // Bumped when the ledger is forgotten, so subscribers notice.
  uint64_t generation ABSL_GUARDED_BY(commit_mu) = 0;
  // See ServedCheckpoint; dropped when the ledger is forgotten.
  std::shared_ptr<const ServedCheckpoint> latest_checkpoint ABSL_GUARDED_BY(commit_mu);
  // Appends accepted and not yet committed or failed.
  uint64_t inflight ABSL_GUARDED_BY(commit_mu) = 0;
  uint64_t next_waiter ABSL_GUARDED_BY(commit_mu) = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters
      ABSL_GUARDED_BY(commit_mu);

  // Takes the waiters to run after commit_mu is released.
  std::vector<std::function<void()>> TakeWaitersLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu) {
    std::vector<std::function<void()>> out;
    out.reserve(waiters.size());
    for (auto& [id, wake] : waiters) out.push_back(std::move(wake));
    waiters.clear();
    return out;
  }
};

// One prepared append, queued to the committer.
struct LedgerHost::Pending {
  std::shared_ptr<Entry> entry;
  uint64_t epoch = 0;
  KvBatch batch;
  AppendResult result;
  AppendCallback done;
};

namespace {

// Prefixes a status message with the block number, keeping the code.
absl::Status AtBlock(uint64_t number, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("block ", number, ": ", status.message()));
}

absl::Status UnknownLedger(absl::string_view ledger_id) {
  return absl::NotFoundError(
      absl::StrCat("ledger: ", QuoteForError(ledger_id), " is unknown to this host"));
}

absl::Status ForgottenLedger(absl::string_view ledger_id) {
  return absl::NotFoundError(absl::StrCat(
      "ledger: ", QuoteForError(ledger_id),
      " was forgotten (its data is deleted and its id retired)"));
}

}  // namespace

absl::StatusOr<std::string> LedgerKeyFromId(absl::string_view ledger_id) {
  absl::StatusOr<std::string> text = PublicKeyTextFromLedgerId(ledger_id);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger id: \"", QuoteForError(ledger_id), "\" is not a ledger id"));
  }
  absl::StatusOr<std::string> raw = DecodePublicKeyText(*text);
  if (!raw.ok() || raw->size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger id: \"", QuoteForError(ledger_id), "\" is not a ledger id"));
  }
  return raw;
}

LedgerHost::LedgerHost(std::unique_ptr<KvStore> store, MasterSecret master,
                       HostOptions options)
    : store_(std::move(store)),
      master_(std::move(master)),
      options_(std::move(options)),
      node_cache_(options_.max_cached_merkle_nodes) {
  committer_ = std::thread([this] { CommitterLoop(); });
}

LedgerHost::~LedgerHost() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  committer_.join();
}

int64_t LedgerHost::Now() const {
  return options_.clock ? options_.clock() : NowMillis();
}

LedgerHost::Shard& LedgerHost::ShardOf(absl::string_view ledger_id) const {
  return shards_[absl::Hash<absl::string_view>()(ledger_id) % kShards];
}

std::shared_ptr<LedgerHost::Entry> LedgerHost::GetEntry(const std::string& ledger_id) {
  Shard& shard = ShardOf(ledger_id);
  absl::MutexLock lock(&shard.mu);
  CachedEntry& cached = shard.entries[ledger_id];
  cached.last_used = ++shard.clock;
  if (cached.entry == nullptr) cached.entry = std::make_shared<Entry>();
  std::shared_ptr<Entry> entry = cached.entry;
  EvictIdleLocked(shard);
  return entry;
}

std::shared_ptr<LedgerHost::Entry> LedgerHost::FindEntry(
    absl::string_view ledger_id) const {
  Shard& shard = ShardOf(ledger_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(ledger_id);
  if (it == shard.entries.end()) return nullptr;
  it->second.last_used = ++shard.clock;
  return it->second.entry;
}

void LedgerHost::EvictIdleLocked(Shard& shard) {
  const size_t capacity =
      std::max<size_t>(1, options_.max_cached_ledgers / kShards);
  if (shard.entries.size() <= capacity) return;
  // Evict down to 7/8 of the capacity at once, so the scan is amortised.
  std::vector<std::pair<uint64_t, std::string>> idle;
  for (const auto& [ledger_id, cached] : shard.entries) {
    if (cached.entry.use_count() == 1) idle.emplace_back(cached.last_used, ledger_id);
  }
  const size_t target = capacity - capacity / 8;
  const size_t excess = shard.entries.size() - std::min(target, shard.entries.size());
  const size_t count = std::min(excess, idle.size());
  std::nth_element(idle.begin(), idle.begin() + count, idle.end());
  for (size_t i = 0; i < count; ++i) shard.entries.erase(idle[i].second);
}

absl::Status LedgerHost::LoadLocked(Entry& entry, absl::string_view ledger_key)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const uint64_t epoch = entry.epoch.load(std::memory_order_acquire);
  if (entry.loaded && entry.loaded_epoch == epoch) return absl::OkStatus();
  // Storage holds exactly the committed appends: nothing of this epoch is
  // queued (the entry is new, or a failed commit bumped the epoch and every
  // older queued append will fail).
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(ledger_key));
  if (absl::IsNotFound(bytes.status())) {
    absl::StatusOr<bool> forgotten = HasTombstone(ledger_key);
    if (!forgotten.ok()) return forgotten.status();
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

absl::StatusOr<bool> LedgerHost::HasTombstone(absl::string_view ledger_key) const {
  absl::StatusOr<std::string> bytes = store_->Get(TombstoneKey(ledger_key));
  if (absl::IsNotFound(bytes.status())) return false;
  if (!bytes.ok()) return bytes.status();
  return true;
}

absl::Status LedgerHost::MissingLedger(absl::string_view ledger_key,
                                       absl::string_view ledger_id) const {
  absl::StatusOr<bool> forgotten = HasTombstone(ledger_key);
  if (!forgotten.ok()) return forgotten.status();
  return *forgotten ? ForgottenLedger(ledger_id) : UnknownLedger(ledger_id);
}

absl::StatusOr<NewLedger> LedgerHost::CreateLedger() {
  std::string nonce = NewLedgerNonce();
  absl::StatusOr<SigningKey> key = master_.DeriveLedgerKey(nonce);
  if (!key.ok()) return key.status();
  return NewLedger{LedgerIdFromPublicKeyText(key->public_key_text()), std::move(nonce)};
}

absl::StatusOr<AppendResult> LedgerHost::Append(const AppendInput& input) {
  absl::Notification done;
  absl::StatusOr<AppendResult> out;
  AppendAsync(input, [&](absl::StatusOr<AppendResult> result) {
    out = std::move(result);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

void LedgerHost::AppendAsync(AppendInput input, AppendCallback done) {
  absl::Status status = Prepare(input, done);
  if (!status.ok()) done(std::move(status));
}

absl::Status LedgerHost::Prepare(AppendInput& input, AppendCallback& done) {
  // Limits first: cheap, before any parsing.
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
  std::shared_ptr<Entry> entry_ref = GetEntry(block.ledger);
  Entry& entry = *entry_ref;
  auto pending = std::make_unique<Pending>();
  pending->entry = entry_ref;
  absl::MutexLock lock(&entry.mu);
  if (absl::Status s = LoadLocked(entry, *ledger_key); !s.ok()) {
    return AtBlock(block.number, s);
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
  std::string signed_checkpoint =
      SignCheckpoint(Checkpoint{block.ledger, block.number, entry.frontier.Root()},
                     *entry.key);
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
  absl::MutexLock queue_lock(&queue_mu_);
  queue_.push_back(std::move(pending));
  return absl::OkStatus();
}

void LedgerHost::CommitterLoop() {
  std::vector<std::unique_ptr<Pending>> group;
  while (true) {
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return !queue_.empty() || stopping_;
      };
      queue_mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // Stopping, and everything is committed.
      group.swap(queue_);
    }
    FinishGroup(group);
    group.clear();
  }
}

void LedgerHost::FinishGroup(std::vector<std::unique_ptr<Pending>>& group) {
  // Appends behind a failed commit of their ledger fail too.
  std::vector<bool> stale(group.size(), false);
  KvBatch merged;
  size_t puts = 0;
  for (const auto& pending : group) puts += pending->batch.puts.size();
  merged.puts.reserve(puts);
  bool any = false;
  for (size_t i = 0; i < group.size(); ++i) {
    Pending& pending = *group[i];
    if (pending.epoch != pending.entry->epoch.load(std::memory_order_acquire)) {
      stale[i] = true;
      continue;
    }
    any = true;
    for (auto& put : pending.batch.puts) merged.puts.push_back(std::move(put));
  }
  absl::Status written = any ? store_->Write(merged) : absl::OkStatus();
  if (!written.ok()) {
    // Reload every affected ledger from storage; fail what is queued behind.
    for (size_t i = 0; i < group.size(); ++i) {
      if (!stale[i]) group[i]->entry->epoch.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  // Every committed head of the group advances before any callback runs, so
  // a reader told of block N by one callback never sees a head below N.
  std::vector<std::function<void()>> wake;
  for (size_t i = 0; i < group.size(); ++i) {
    Entry& entry = *group[i]->entry;
    absl::MutexLock lock(&entry.commit_mu);
    --entry.inflight;
    if (!stale[i] && written.ok()) {
      entry.committed_exists = true;
      entry.committed_head = group[i]->result.number;
      for (auto& w : entry.TakeWaitersLocked()) wake.push_back(std::move(w));
    }
  }
  for (auto& w : wake) w();
  for (size_t i = 0; i < group.size(); ++i) {
    Pending& pending = *group[i];
    if (stale[i]) {
      pending.done(AtBlock(pending.result.number,
                           absl::UnavailableError(
                               "storage: an earlier block of this ledger failed to "
                               "commit; nothing of this block was stored")));
    } else if (!written.ok()) {
      pending.done(AtBlock(pending.result.number,
                           absl::UnavailableError(written.message())));
    } else {
      pending.done(std::move(pending.result));
    }
  }
}

absl::StatusOr<HeadRecord> LedgerHost::ReadHead(absl::string_view ledger_id,
                                                std::string* ledger_key) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(*key));
  if (absl::IsNotFound(bytes.status())) return MissingLedger(*key, ledger_id);
  if (!bytes.ok()) return bytes.status();
  *ledger_key = *std::move(key);
  return DecodeHeadRecord(*bytes);
}

absl::StatusOr<LedgerHost::CommittedView> LedgerHost::ViewCommitted(
    absl::string_view ledger_id) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  CommittedView view;
  view.ledger_key = *std::move(key);
  view.entry = FindEntry(ledger_id);
  if (view.entry != nullptr) {
    absl::MutexLock lock(&view.entry->commit_mu);
    view.generation = view.entry->generation;
    view.latest = view.entry->latest_checkpoint;
    if (view.entry->committed_known) {
      if (view.entry->committed_forgotten) return ForgottenLedger(ledger_id);
      if (!view.entry->committed_exists) return UnknownLedger(ledger_id);
      view.head = view.entry->committed_head;
      return view;
    }
  }
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(view.ledger_key));
  if (absl::IsNotFound(bytes.status())) return MissingLedger(view.ledger_key, ledger_id);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<HeadRecord> head = DecodeHeadRecord(*bytes);
  if (!head.ok()) return head.status();
  view.head = head->state.head_number;
  return view;
}

absl::Status LedgerHost::ReadProofInputs(absl::string_view ledger_id,
                                         const CommittedView& view,
                                         absl::Span<const MerkleNodeId> ids,
                                         absl::Span<const uint64_t> checkpoint_sizes,
                                         MerkleNodeSet& nodes,
                                         std::vector<std::string>& checkpoints) const {
  std::vector<MerkleNodeId> unique_ids;
  unique_ids.reserve(ids.size());
  for (const MerkleNodeId& id : ids) {
    if (std::find(unique_ids.begin(), unique_ids.end(), id) == unique_ids.end()) {
      unique_ids.push_back(id);
    }
  }
  const std::vector<MerkleNodeId> missing =
      node_cache_.Lookup(view.ledger_key, unique_ids, nodes);
  std::vector<std::string> keys;
  keys.reserve(missing.size() + checkpoint_sizes.size());
  for (const MerkleNodeId& id : missing) {
    keys.push_back(NodeKey(view.ledger_key, id.level, id.index));
  }
  for (uint64_t size : checkpoint_sizes) {
    keys.push_back(CheckpointKey(view.ledger_key, size));
  }
  std::vector<absl::StatusOr<std::string>> values;
  if (!keys.empty()) values = store_->MultiGet(keys);
  for (const absl::StatusOr<std::string>& value : values) {
    if (absl::IsNotFound(value.status())) return MissingLedger(view.ledger_key, ledger_id);
    if (!value.ok()) return value.status();
  }
  std::vector<std::pair<MerkleNodeId, MerkleHash>> read;
  read.reserve(missing.size());
  for (size_t i = 0; i < missing.size(); ++i) {
    const std::string& bytes = *values[i];
    if (bytes.size() != sizeof(MerkleHash)) {
      return absl::DataLossError("storage: corrupt merkle node");
    }
    MerkleHash hash;
    std::copy(bytes.begin(), bytes.end(), hash.begin());
    nodes.Add(missing[i], hash);
    read.emplace_back(missing[i], hash);
  }
  // Forget bumps the generation and erases the ledger's cached nodes under
  // commit_mu: nodes read before a forget are never cached after it.
  if (view.entry != nullptr && !read.empty()) {
    absl::MutexLock lock(&view.entry->commit_mu);
    if (view.entry->generation == view.generation) {
      node_cache_.Insert(view.ledger_key, read);
    }
  }
  checkpoints.clear();
  for (size_t i = missing.size(); i < values.size(); ++i) {
    checkpoints.push_back(*std::move(values[i]));
  }
  return absl::OkStatus();
}

void LedgerHost::RememberCheckpoint(
    const CommittedView& view, std::shared_ptr<const ServedCheckpoint> checkpoint) const {
  if (view.entry == nullptr || checkpoint->tree_size != view.head) return;
  absl::MutexLock lock(&view.entry->commit_mu);
  const std::shared_ptr<const ServedCheckpoint>& latest = view.entry->latest_checkpoint;
  if (view.entry->generation != view.generation ||
      (latest != nullptr && latest->tree_size >= checkpoint->tree_size)) {
    return;
  }
  view.entry->latest_checkpoint = std::move(checkpoint);
}

absl::StatusOr<LedgerInfo> LedgerHost::GetLedger(absl::string_view ledger_id) const {
  std::string key;
  absl::StatusOr<HeadRecord> head = ReadHead(ledger_id, &key);
  if (!head.ok()) return head.status();
  absl::StatusOr<std::string> genesis = store_->Get(BlockKey(key, 1));
  if (absl::IsNotFound(genesis.status())) return MissingLedger(key, ledger_id);
  if (!genesis.ok()) return genesis.status();
  absl::StatusOr<std::string> checkpoint =
      store_->Get(CheckpointKey(key, head->state.head_number));
  if (absl::IsNotFound(checkpoint.status())) return MissingLedger(key, ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  return LedgerInfo{std::string(ledger_id), *std::move(genesis), std::move(head->state),
                    *std::move(checkpoint)};
}

absl::StatusOr<std::string> LedgerHost::GetCheckpoint(absl::string_view ledger_id,
                                                      uint64_t tree_size) const {
  absl::StatusOr<CommittedView> view = ViewCommitted(ledger_id);
  if (!view.ok()) return view.status();
  const uint64_t size = tree_size == 0 ? view->head : tree_size;
  if (size > view->head) {
    return absl::OutOfRangeError(absl::StrCat("checkpoint: tree size ", size,
                                              " is past the head (block ",
                                              view->head, ")"));
  }
  if (view->latest != nullptr && view->latest->tree_size == size) {
    return view->latest->note;
  }
  absl::StatusOr<std::string> checkpoint =
      store_->Get(CheckpointKey(view->ledger_key, size));
  if (absl::IsNotFound(checkpoint.status())) return MissingLedger(view->ledger_key, ledger_id);
  return checkpoint;
}

absl::StatusOr<LedgerHost::BlockRange> LedgerHost::ResolveBlockRange(
    absl::string_view ledger_id, uint64_t from, uint64_t to) const {
  // A request that can never be answered is INVALID_ARGUMENT; one past the
  // current head (it may be answered later) is OUT_OF_RANGE.
  if (from == 0 || (to != 0 && from > to)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blocks: the range [", from, ", ", to, "] is empty or starts below 1"));
  }
  absl::StatusOr<CommittedView> view = ViewCommitted(ledger_id);
  if (!view.ok()) return view.status();
  const uint64_t head_number = view->head;
  BlockRange range;
  range.ledger_key = std::move(view->ledger_key);
  const uint64_t last = to == 0 ? head_number : to;
  if (from > head_number || last > head_number) {
    return absl::OutOfRangeError(absl::StrCat("blocks: block ", std::max(from, last),
                                              " is past the head (block ", head_number,
                                              ")"));
  }
  range.first = from;
  range.last = last;
  return range;
}

absl::StatusOr<std::vector<std::string>> LedgerHost::ReadBlocks(
    absl::string_view ledger_id, const BlockRange& range, uint64_t first,
    size_t max_count) const {
  if (first < range.first || first > range.last || max_count == 0) {
    return absl::InvalidArgumentError(absl::StrCat("blocks: block ", first,
                                                   " is not in the range being read"));
  }
  const uint64_t count = std::min<uint64_t>(max_count, range.last - first + 1);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      store_->Scan(BlockKey(range.ledger_key, first),
                   BlockKey(range.ledger_key, first + count), count);
  if (!entries.ok()) return entries.status();
  // Committed blocks are never deleted but by a forget, which removes all.
  if (entries->size() != count) return MissingLedger(range.ledger_key, ledger_id);
  std::vector<std::string> blocks;
  blocks.reserve(count);
  for (auto& entry : *entries) blocks.push_back(std::move(entry.second));
  return blocks;
}

absl::Status LedgerHost::GetBlocks(
    absl::string_view ledger_id, uint64_t from, uint64_t to,
    const std::function<bool(uint64_t, const std::string&)>& sink) const {
  constexpr size_t kChunk = 256;
  absl::StatusOr<BlockRange> range = ResolveBlockRange(ledger_id, from, to);
  if (!range.ok()) return range.status();
  for (uint64_t number = range->first; number <= range->last;) {
    absl::StatusOr<std::vector<std::string>> blocks =
        ReadBlocks(ledger_id, *range, number, kChunk);
    if (!blocks.ok()) return blocks.status();
    for (const std::string& block : *blocks) {
      if (!sink(number++, block)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<InclusionProofResult> LedgerHost::GetInclusionProof(
    absl::string_view ledger_id, uint64_t number, uint64_t tree_size) const {
  if (number == 0 || (tree_size != 0 && number > tree_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof: block ", number, " is not in the tree of size ", tree_size));
  }
  absl::StatusOr<CommittedView> view = ViewCommitted(ledger_id);
  if (!view.ok()) return view.status();
  const uint64_t size = tree_size == 0 ? view->head : tree_size;
  if (size > view->head || number > size) {
    return absl::OutOfRangeError(absl::StrCat(
        "inclusion proof: block ", number, " in the tree of size ", size,
        " is past the head (block ", view->head, ")"));
  }
  // The root and checkpoint of the latest tree are usually kept by the entry.
  const bool latest_kept = view->latest != nullptr && view->latest->tree_size == size;
  std::vector<MerkleNodeId> ids = MerkleInclusionProofNodeIds(number - 1, size);
  std::vector<uint64_t> checkpoint_sizes;
  if (!latest_kept) {
    const std::vector<MerkleNodeId> root_ids = MerkleRootNodeIds(size);
    ids.insert(ids.end(), root_ids.begin(), root_ids.end());
    checkpoint_sizes.push_back(size);
  }
  MerkleNodeSet nodes;
  std::vector<std::string> checkpoints;
  if (absl::Status s =
          ReadProofInputs(ledger_id, *view, ids, checkpoint_sizes, nodes, checkpoints);
      !s.ok()) {
    return s;
  }
  InclusionProofResult result;
  result.leaf_index = number - 1;
  result.tree_size = size;
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleInclusionProof(nodes, number - 1, size);
  if (!proof.ok()) return proof.status();
  result.hashes = *std::move(proof);
  if (latest_kept) {
    result.root = view->latest->root;
    result.checkpoint = view->latest->note;
    return result;
  }
  absl::StatusOr<MerkleHash> root = MerkleRootAt(nodes, size);
  if (!root.ok()) return root.status();
  result.root = *root;
  result.checkpoint = checkpoints[0];
  RememberCheckpoint(*view, std::make_shared<const ServedCheckpoint>(
                                ServedCheckpoint{size, std::move(checkpoints[0]), *root}));
  return result;
}

absl::StatusOr<ConsistencyProofResult> LedgerHost::GetConsistencyProof(
    absl::string_view ledger_id, uint64_t old_size, uint64_t new_size) const {
  if (old_size == 0 || (new_size != 0 && old_size > new_size)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof: needs 1 <= old size (", old_size, ") <= new size (",
        new_size, ")"));
  }
  absl::StatusOr<CommittedView> view = ViewCommitted(ledger_id);
  if (!view.ok()) return view.status();
  const uint64_t size = new_size == 0 ? view->head : new_size;
  if (size > view->head || old_size > size) {
    return absl::OutOfRangeError(absl::StrCat(
        "consistency proof: tree sizes ", old_size, " and ", size,
        " must not pass the head (block ", view->head, ")"));
  }
  const bool latest_kept = view->latest != nullptr && view->latest->tree_size == size;
  std::vector<uint64_t> checkpoint_sizes = {old_size};
  if (!latest_kept) checkpoint_sizes.push_back(size);
  MerkleNodeSet nodes;
  std::vector<std::string> checkpoints;
  if (absl::Status s = ReadProofInputs(ledger_id, *view,
                                       MerkleConsistencyProofNodeIds(old_size, size),
                                       checkpoint_sizes, nodes, checkpoints);
      !s.ok()) {
    return s;
  }
  ConsistencyProofResult result;
  result.old_size = old_size;
  result.new_size = size;
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleConsistencyProof(nodes, old_size, size);
  if (!proof.ok()) return proof.status();
  result.hashes = *std::move(proof);
  result.old_checkpoint = std::move(checkpoints[0]);
  result.new_checkpoint = latest_kept ? view->latest->note : std::move(checkpoints[1]);
  return result;
}

absl::StatusOr<StoredAttachment> LedgerHost::GetAttachment(absl::string_view ledger_id,
                                                           absl::string_view seal) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> multihash = DecodeDigest(seal);
  if (!multihash.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attachment: seal is not a digest: ", multihash.status().message()));
  }
  absl::StatusOr<std::string> bytes = store_->Get(AttachmentKey(*key, *multihash));
  if (absl::IsNotFound(bytes.status())) {
    absl::StatusOr<bool> forgotten = HasTombstone(*key);
    if (!forgotten.ok()) return forgotten.status();
    if (*forgotten) return ForgottenLedger(ledger_id);
    return absl::NotFoundError(absl::StrCat("attachment: no attachment with seal ",
                                            QuoteForError(seal), " in ledger ",
                                            QuoteForError(ledger_id)));
  }
  if (!bytes.ok()) return bytes.status();
  return DecodeAttachment(*bytes);
}

class LedgerHost::Watch : public CommitWatch {
 public:
  Watch(const LedgerHost* host, std::shared_ptr<Entry> entry, std::string ledger_id,
        std::string ledger_key, uint64_t generation)
      : host_(host),
        entry_(std::move(entry)),
        ledger_id_(std::move(ledger_id)),
        ledger_key_(std::move(ledger_key)),
        generation_(generation) {}

  Poll PollOrWait(uint64_t seen, std::function<void()> wake) override {
    Poll poll;
    absl::MutexLock lock(&entry_->commit_mu);
    poll.forgotten = entry_->generation != generation_;
    poll.head = entry_->committed_head;
    if (!poll.forgotten && poll.head <= seen && wake) {
      poll.registered = true;
      poll.waiter_id = ++entry_->next_waiter;
      entry_->waiters.emplace_back(poll.waiter_id, std::move(wake));
    }
    return poll;
  }

  bool CancelWait(uint64_t waiter_id) override {
    absl::MutexLock lock(&entry_->commit_mu);
    auto& waiters = entry_->waiters;
    for (auto it = waiters.begin(); it != waiters.end(); ++it) {
      if (it->first == waiter_id) {
        waiters.erase(it);
        return true;
      }
    }
    return false;
  }

  absl::Status Read(uint64_t number, std::string* block,
                    std::string* checkpoint) const override {
    absl::StatusOr<std::string> b = host_->store_->Get(BlockKey(ledger_key_, number));
    absl::StatusOr<std::string> c =
        host_->store_->Get(CheckpointKey(ledger_key_, number));
    if (absl::IsNotFound(b.status()) || absl::IsNotFound(c.status())) {
      return absl::NotFoundError(absl::StrCat("ledger: ", ledger_id_, " was forgotten"));
    }
    if (!b.ok()) return b.status();
    if (!c.ok()) return c.status();
    *block = *std::move(b);
    *checkpoint = *std::move(c);
    return absl::OkStatus();
  }

 private:
  const LedgerHost* host_;
  std::shared_ptr<Entry> entry_;
  std::string ledger_id_;
  std::string ledger_key_;
  uint64_t generation_;
};

absl::StatusOr<std::shared_ptr<CommitWatch>> LedgerHost::WatchLedger(
    absl::string_view ledger_id) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  std::shared_ptr<Entry> entry = GetEntry(std::string(ledger_id));
  uint64_t generation;
  {
    absl::MutexLock lock(&entry->mu);
    if (absl::Status s = LoadLocked(*entry, *key); !s.ok()) return s;
    absl::MutexLock commit_lock(&entry->commit_mu);
    if (entry->committed_forgotten) return ForgottenLedger(ledger_id);
    if (!entry->committed_exists) return UnknownLedger(ledger_id);
    generation = entry->generation;
  }
  return std::shared_ptr<CommitWatch>(std::make_shared<Watch>(
      this, std::move(entry), std::string(ledger_id), *std::move(key), generation));
}

absl::Status LedgerHost::Subscribe(
    absl::string_view ledger_id, uint64_t from,
    const std::function<bool(uint64_t, const std::string&, const std::string&)>& sink,
    const std::function<bool()>& cancelled, int poll_millis) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  if (from == 0) {
    return absl::InvalidArgumentError("subscribe: from_number must be at least 1");
  }
  absl::StatusOr<std::shared_ptr<CommitWatch>> watch = WatchLedger(ledger_id);
  if (!watch.ok()) return watch.status();
  uint64_t next = from;
  std::string block, checkpoint;
  while (!cancelled()) {
    CommitWatch::Poll poll = (*watch)->PollOrWait(next - 1, nullptr);
    if (poll.head < next && !poll.forgotten) {
      // Wait for a commit (or time out to poll `cancelled`).
      auto notified = std::make_shared<absl::Notification>();
      poll = (*watch)->PollOrWait(next - 1, [notified] { notified->Notify(); });
      if (poll.registered) {
        if (!notified->WaitForNotificationWithTimeout(absl::Milliseconds(poll_millis))) {
          (*watch)->CancelWait(poll.waiter_id);
        }
        continue;
      }
    }
    if (poll.forgotten) {
      return absl::NotFoundError(absl::StrCat("ledger: ", ledger_id, " was forgotten"));
    }
    // Every block <= head is committed: the head moves only after the write.
    for (; next <= poll.head; ++next) {
      if (cancelled()) return absl::OkStatus();
      if (absl::Status s = (*watch)->Read(next, &block, &checkpoint); !s.ok()) return s;
      if (!sink(next, block, checkpoint)) return absl::OkStatus();
    }
  }
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
  std::shared_ptr<Entry> entry = GetEntry(std::string(ledger_id));
  absl::MutexLock lock(&entry->mu);
  {
    // Queued appends of this ledger finish first (no new ones: mu is held).
    absl::MutexLock commit_lock(&entry->commit_mu);
    auto idle = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return entry->inflight == 0; };
    entry->commit_mu.Await(absl::Condition(&idle));
  }
  if (absl::Status s = LoadLocked(*entry, *key); !s.ok()) return s;
  if (entry->forgotten) return ForgottenLedger(ledger_id);
  if (!entry->exists) return UnknownLedger(ledger_id);
  if (head_fingerprint != entry->state.head_fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        "forget: the request is signed for head ", QuoteForError(head_fingerprint),
        ", the head is block ", entry->state.head_number, " ",
        entry->state.head_fingerprint));
  }
  const std::string message = ForgetRequestMessage(ledger_id, head_fingerprint);
  if (absl::Status s =
          CheckOwnerSignatures(entry->state.controllers, message, signatures,
                               absl::StrCat("the forget request at block ",
                                            entry->state.head_number));
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("forget: ", s.message()));
  }
  KvBatch batch;
  batch.delete_ranges = LedgerKeyRanges(*key);
  Tombstone tombstone;
  tombstone.forgotten_at_millis = Now();
  tombstone.head_number = entry->state.head_number;
  tombstone.head_fingerprint = entry->state.head_fingerprint;
  batch.puts.emplace_back(TombstoneKey(*key), EncodeTombstone(tombstone));
  std::vector<std::function<void()>> wake;
  {
    // Held across the delete (forgets are rare): a read that starts after
    // the data is gone cannot be answered from the cached head, checkpoint
    // or nodes.
    absl::MutexLock commit_lock(&entry->commit_mu);
    if (absl::Status s = store_->Write(batch); !s.ok()) {
      return absl::UnavailableError(s.message());
    }
    entry->committed_exists = false;
    entry->committed_forgotten = true;
    entry->committed_head = 0;
    ++entry->generation;
    entry->latest_checkpoint.reset();
    node_cache_.EraseLedger(*key);
    wake = entry->TakeWaitersLocked();
  }
  entry->exists = false;
  entry->forgotten = true;
  entry->state = ChainState::Empty(ledger_id);
  entry->frontier = MerkleFrontier();
  entry->nonce.clear();
  entry->key.reset();
  for (auto& w : wake) w();
  return absl::OkStatus();
}

}  // namespace microledger
