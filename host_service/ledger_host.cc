#include "host_service/ledger_host.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/block_builder.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/timestamp.h"

namespace microledger {

inline constexpr absl::string_view kForgetMessagePrefix = "microledger-forget-v1 ";

struct LedgerHost::Entry {
  absl::Mutex mu;
  bool loaded ABSL_GUARDED_BY(mu) = false;
  bool exists ABSL_GUARDED_BY(mu) = false;
  // Bumped when the ledger is forgotten, so subscribers notice.
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;
  ChainState state ABSL_GUARDED_BY(mu);
  MerkleFrontier frontier ABSL_GUARDED_BY(mu);
  std::string nonce ABSL_GUARDED_BY(mu);
  std::optional<SigningKey> key ABSL_GUARDED_BY(mu);
};

namespace {

// Prefixes a status message with the block number, keeping the code.
absl::Status AtBlock(uint64_t number, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("block ", number, ": ", status.message()));
}

absl::Status UnknownLedger(absl::string_view ledger_id) {
  return absl::NotFoundError(
      absl::StrCat("ledger: ", ledger_id, " is unknown to this host"));
}

class StoreNodeReader : public MerkleNodeReader {
 public:
  StoreNodeReader(const KvStore& store, absl::string_view ledger_key)
      : store_(store), ledger_key_(ledger_key) {}

  absl::StatusOr<MerkleHash> ReadNode(int level, uint64_t index) const override {
    if (level < 0 || level > 64) return absl::NotFoundError("merkle node: bad level");
    absl::StatusOr<std::string> bytes = store_.Get(NodeKey(ledger_key_, level, index));
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() != 32) return absl::DataLossError("storage: corrupt merkle node");
    MerkleHash hash;
    std::copy(bytes->begin(), bytes->end(), hash.begin());
    return hash;
  }

 private:
  const KvStore& store_;
  std::string ledger_key_;
};

std::string HashBytes(const MerkleHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

}  // namespace

absl::StatusOr<std::string> LedgerKeyFromId(absl::string_view ledger_id) {
  absl::StatusOr<std::string> text = PublicKeyTextFromLedgerId(ledger_id);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger id: \"", ledger_id, "\" is not a ledger id"));
  }
  absl::StatusOr<std::string> raw = DecodePublicKeyText(*text);
  if (!raw.ok() || raw->size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger id: \"", ledger_id, "\" is not a ledger id"));
  }
  return raw;
}

LedgerHost::LedgerHost(std::unique_ptr<KvStore> store, MasterSecret master,
                       HostOptions options)
    : store_(std::move(store)), master_(std::move(master)), options_(std::move(options)) {}

LedgerHost::~LedgerHost() = default;

int64_t LedgerHost::Now() const {
  return options_.clock ? options_.clock() : NowMillis();
}

std::shared_ptr<LedgerHost::Entry> LedgerHost::GetEntry(const std::string& ledger_id) {
  Shard& shard = shards_[absl::Hash<std::string>()(ledger_id) % kShards];
  absl::MutexLock lock(&shard.mu);
  CachedEntry& cached = shard.entries[ledger_id];
  cached.last_used = ++shard.clock;
  if (cached.entry == nullptr) cached.entry = std::make_shared<Entry>();
  std::shared_ptr<Entry> entry = cached.entry;
  EvictIdleLocked(shard);
  return entry;
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
  if (entry.loaded) return absl::OkStatus();
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(ledger_key));
  if (absl::IsNotFound(bytes.status())) {
    entry.loaded = true;
    entry.exists = false;
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
  entry.loaded = true;
  return absl::OkStatus();
}

absl::StatusOr<NewLedger> LedgerHost::CreateLedger() {
  std::string nonce = NewLedgerNonce();
  absl::StatusOr<SigningKey> key = master_.DeriveLedgerKey(nonce);
  if (!key.ok()) return key.status();
  return NewLedger{LedgerIdFromPublicKeyText(key->public_key_text()), std::move(nonce)};
}

absl::StatusOr<AppendResult> LedgerHost::Append(const AppendInput& input) {
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
  const Block& block = *parsed;
  absl::StatusOr<std::string> ledger_key = LedgerKeyFromId(block.ledger);
  if (!ledger_key.ok()) return AtBlock(block.number, ledger_key.status());

  // Attachments: each must match a seal of the block (SPEC §6).
  std::vector<std::pair<std::string, const AttachmentInput*>> attachments;
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
    attachments.emplace_back(std::move(multihash), &attachment);
  }

  std::shared_ptr<Entry> entry = GetEntry(block.ledger);
  absl::MutexLock lock(&entry->mu);
  if (absl::Status s = LoadLocked(*entry, *ledger_key); !s.ok()) {
    return AtBlock(block.number, s);
  }
  // A new ledger: its key must derive from the token the host handed out.
  std::optional<SigningKey> new_key;
  ChainState state = entry->exists ? entry->state : ChainState::Empty(block.ledger);
  if (!entry->exists) {
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
  const SigningKey& host_key = entry->exists ? *entry->key : *new_key;

  BlockRuleOptions rules = BlockRuleOptions::HostDefaults(Now());
  rules.max_clock_skew_millis = options_.max_clock_skew_millis;
  if (absl::Status s = CheckNextBlock(state, block, SignatureStage::kOwnerSigned, rules);
      !s.ok()) {
    return AtBlock(block.number, s);
  }

  // Countersign.
  Block complete = block;
  SignAsHost(complete, host_key);
  std::string complete_bytes = SerializeBlock(complete);
  if (complete_bytes.size() > options_.max_block_bytes) {
    return AtBlock(block.number,
                   absl::ResourceExhaustedError(absl::StrCat(
                       "block size: ", complete_bytes.size(),
                       " bytes with the host signature, the limit is ",
                       options_.max_block_bytes)));
  }

  // Merkle tree and checkpoint.
  absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  if (!leaf.ok()) return AtBlock(block.number, leaf.status());
  MerkleFrontier frontier = entry->exists ? entry->frontier : MerkleFrontier();
  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes =
      frontier.Append(HashMerkleLeaf(*leaf));
  Checkpoint checkpoint{block.ledger, block.number, frontier.Root()};
  std::string signed_checkpoint = SignCheckpoint(checkpoint, host_key);
  ChainState next_state = AdvanceChain(state, block);
  const std::string& nonce = entry->exists ? entry->nonce : input.ledger_token;

  // One atomic batch: block, nodes, checkpoint, attachments, head.
  KvBatch batch;
  batch.puts.reserve(nodes.size() + attachments.size() + 3);
  batch.puts.emplace_back(BlockKey(*ledger_key, block.number), complete_bytes);
  for (const auto& [id, hash] : nodes) {
    batch.puts.emplace_back(NodeKey(*ledger_key, id.level, id.index), HashBytes(hash));
  }
  batch.puts.emplace_back(CheckpointKey(*ledger_key, block.number), signed_checkpoint);
  for (const auto& [multihash, attachment] : attachments) {
    batch.puts.emplace_back(AttachmentKey(*ledger_key, multihash),
                            EncodeAttachment(attachment->name, attachment->data));
  }
  batch.puts.emplace_back(HeadKey(*ledger_key),
                          EncodeHeadRecord(HeadRecord{next_state, frontier, nonce}));
  if (absl::Status s = store_->Write(batch); !s.ok()) {
    return AtBlock(block.number, absl::UnavailableError(s.message()));
  }

  // Publish: the in-memory state follows the store.
  AppendResult result;
  result.ledger_id = block.ledger;
  result.number = block.number;
  result.fingerprint = block.fingerprint;
  result.host_signature = complete.signatures.back();
  result.checkpoint = std::move(signed_checkpoint);
  result.complete_block = std::move(complete_bytes);
  if (!entry->exists) {
    entry->nonce = input.ledger_token;
    entry->key = std::move(new_key);
    entry->exists = true;
  }
  entry->state = std::move(next_state);
  entry->frontier = std::move(frontier);
  return result;
}

absl::StatusOr<HeadRecord> LedgerHost::ReadHead(absl::string_view ledger_id,
                                                std::string* ledger_key) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(*key));
  if (absl::IsNotFound(bytes.status())) return UnknownLedger(ledger_id);
  if (!bytes.ok()) return bytes.status();
  *ledger_key = *std::move(key);
  return DecodeHeadRecord(*bytes);
}

absl::StatusOr<LedgerInfo> LedgerHost::GetLedger(absl::string_view ledger_id) const {
  std::string key;
  absl::StatusOr<HeadRecord> head = ReadHead(ledger_id, &key);
  if (!head.ok()) return head.status();
  absl::StatusOr<std::string> genesis = store_->Get(BlockKey(key, 1));
  if (absl::IsNotFound(genesis.status())) return UnknownLedger(ledger_id);
  if (!genesis.ok()) return genesis.status();
  absl::StatusOr<std::string> checkpoint =
      store_->Get(CheckpointKey(key, head->state.head_number));
  if (absl::IsNotFound(checkpoint.status())) return UnknownLedger(ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  return LedgerInfo{std::string(ledger_id), *std::move(genesis), std::move(head->state),
                    *std::move(checkpoint)};
}

absl::StatusOr<std::string> LedgerHost::GetCheckpoint(absl::string_view ledger_id,
                                                      uint64_t tree_size) const {
  std::string key;
  absl::StatusOr<HeadRecord> head = ReadHead(ledger_id, &key);
  if (!head.ok()) return head.status();
  const uint64_t size = tree_size == 0 ? head->state.head_number : tree_size;
  if (size > head->state.head_number) {
    return absl::OutOfRangeError(absl::StrCat("checkpoint: tree size ", size,
                                              " is past the head (block ",
                                              head->state.head_number, ")"));
  }
  absl::StatusOr<std::string> checkpoint = store_->Get(CheckpointKey(key, size));
  if (absl::IsNotFound(checkpoint.status())) return UnknownLedger(ledger_id);
  return checkpoint;
}

absl::Status LedgerHost::GetBlocks(
    absl::string_view ledger_id, uint64_t from, uint64_t to,
    const std::function<bool(uint64_t, const std::string&)>& sink) const {
  std::string key;
  absl::StatusOr<HeadRecord> head = ReadHead(ledger_id, &key);
  if (!head.ok()) return head.status();
  const uint64_t head_number = head->state.head_number;
  const uint64_t last = to == 0 ? head_number : to;
  if (from == 0 || from > last) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blocks: the range [", from, ", ", last, "] is empty or starts below 1"));
  }
  if (last > head_number) {
    return absl::OutOfRangeError(absl::StrCat("blocks: block ", last,
                                              " is past the head (block ", head_number,
                                              ")"));
  }
  for (uint64_t number = from; number <= last; ++number) {
    absl::StatusOr<std::string> block = store_->Get(BlockKey(key, number));
    if (absl::IsNotFound(block.status())) return UnknownLedger(ledger_id);
    if (!block.ok()) return block.status();
    if (!sink(number, *block)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<InclusionProofResult> LedgerHost::GetInclusionProof(
    absl::string_view ledger_id, uint64_t number, uint64_t tree_size) const {
  std::string key;
  absl::StatusOr<HeadRecord> head = ReadHead(ledger_id, &key);
  if (!head.ok()) return head.status();
  const uint64_t head_number = head->state.head_number;
  const uint64_t size = tree_size == 0 ? head_number : tree_size;
  if (size > head_number) {
    return absl::OutOfRangeError(absl::StrCat("inclusion proof: tree size ", size,
                                              " is past the head (block ",
                                              head_number, ")"));
  }
  if (number == 0 || number > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof: block ", number, " is not in the tree of size ", size));
  }
  StoreNodeReader reader(*store_, key);
  InclusionProofResult result;
  result.leaf_index = number - 1;
  result.tree_size = size;
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleInclusionProof(reader, number - 1, size);
  if (absl::IsNotFound(proof.status())) return UnknownLedger(ledger_id);
  if (!proof.ok()) return proof.status();
  result.hashes = *std::move(proof);
  absl::StatusOr<MerkleHash> root = MerkleRootAt(reader, size);
  if (absl::IsNotFound(root.status())) return UnknownLedger(ledger_id);
  if (!root.ok()) return root.status();
  result.root = *root;
  absl::StatusOr<std::string> checkpoint = store_->Get(CheckpointKey(key, size));
  if (absl::IsNotFound(checkpoint.status())) return UnknownLedger(ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  result.checkpoint = *std::move(checkpoint);
  return result;
}

absl::StatusOr<ConsistencyProofResult> LedgerHost::GetConsistencyProof(
    absl::string_view ledger_id, uint64_t old_size, uint64_t new_size) const {
  std::string key;
  absl::StatusOr<HeadRecord> head = ReadHead(ledger_id, &key);
  if (!head.ok()) return head.status();
  const uint64_t head_number = head->state.head_number;
  const uint64_t size = new_size == 0 ? head_number : new_size;
  if (size > head_number) {
    return absl::OutOfRangeError(absl::StrCat("consistency proof: tree size ", size,
                                              " is past the head (block ",
                                              head_number, ")"));
  }
  if (old_size == 0 || old_size > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof: needs 1 <= old size (", old_size, ") <= new size (", size,
        ")"));
  }
  StoreNodeReader reader(*store_, key);
  ConsistencyProofResult result;
  result.old_size = old_size;
  result.new_size = size;
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleConsistencyProof(reader, old_size, size);
  if (absl::IsNotFound(proof.status())) return UnknownLedger(ledger_id);
  if (!proof.ok()) return proof.status();
  result.hashes = *std::move(proof);
  for (auto [tree, out] : {std::pair<uint64_t, std::string*>{old_size, &result.old_checkpoint},
                           {size, &result.new_checkpoint}}) {
    absl::StatusOr<std::string> checkpoint = store_->Get(CheckpointKey(key, tree));
    if (absl::IsNotFound(checkpoint.status())) return UnknownLedger(ledger_id);
    if (!checkpoint.ok()) return checkpoint.status();
    *out = *std::move(checkpoint);
  }
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
    return absl::NotFoundError(absl::StrCat("attachment: no attachment with seal ", seal,
                                            " in ledger ", ledger_id));
  }
  if (!bytes.ok()) return bytes.status();
  return DecodeAttachment(*bytes);
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
  std::shared_ptr<Entry> entry = GetEntry(std::string(ledger_id));
  uint64_t generation;
  {
    absl::MutexLock lock(&entry->mu);
    if (absl::Status s = LoadLocked(*entry, *key); !s.ok()) return s;
    if (!entry->exists) return UnknownLedger(ledger_id);
    generation = entry->generation;
  }
  uint64_t next = from;
  while (!cancelled()) {
    uint64_t head;
    {
      absl::MutexLock lock(&entry->mu);
      auto ready = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return entry->generation != generation || entry->state.head_number >= next;
      };
      entry->mu.AwaitWithTimeout(absl::Condition(&ready),
                                 absl::Milliseconds(poll_millis));
      if (entry->generation != generation) {
        return absl::NotFoundError(
            absl::StrCat("ledger: ", ledger_id, " was forgotten"));
      }
      head = entry->state.head_number;
    }
    // Every block <= head is committed: the state moves only after the write.
    for (; next <= head; ++next) {
      if (cancelled()) return absl::OkStatus();
      absl::StatusOr<std::string> block = store_->Get(BlockKey(*key, next));
      absl::StatusOr<std::string> checkpoint = store_->Get(CheckpointKey(*key, next));
      if (absl::IsNotFound(block.status()) || absl::IsNotFound(checkpoint.status())) {
        return absl::NotFoundError(
            absl::StrCat("ledger: ", ledger_id, " was forgotten"));
      }
      if (!block.ok()) return block.status();
      if (!checkpoint.ok()) return checkpoint.status();
      if (!sink(next, *block, *checkpoint)) return absl::OkStatus();
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
                       signature.role, "\""));
    }
    if (signature.alg != kEd25519Alg) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forget: signature alg must be \"Ed25519\", got \"", signature.alg, "\""));
    }
  }
  std::shared_ptr<Entry> entry = GetEntry(std::string(ledger_id));
  absl::MutexLock lock(&entry->mu);
  if (absl::Status s = LoadLocked(*entry, *key); !s.ok()) return s;
  if (!entry->exists) return UnknownLedger(ledger_id);
  if (head_fingerprint != entry->state.head_fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        "forget: the request is signed for head ", head_fingerprint,
        ", the head is block ", entry->state.head_number, " ",
        entry->state.head_fingerprint));
  }
  const std::string message =
      absl::StrCat(kForgetMessagePrefix, ledger_id, " ", head_fingerprint);
  if (absl::Status s =
          CheckOwnerSignatures(entry->state.controllers, message, signatures,
                               absl::StrCat("the forget request at block ",
                                            entry->state.head_number));
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("forget: ", s.message()));
  }
  KvBatch batch;
  batch.delete_ranges = LedgerKeyRanges(*key);
  if (absl::Status s = store_->Write(batch); !s.ok()) {
    return absl::UnavailableError(s.message());
  }
  entry->exists = false;
  entry->state = ChainState::Empty(ledger_id);
  entry->frontier = MerkleFrontier();
  entry->nonce.clear();
  entry->key.reset();
  ++entry->generation;
  return absl::OkStatus();
}

}  // namespace microledger
