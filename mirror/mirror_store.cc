#include "mirror/mirror_store.h"

#include <functional>

#include "absl/synchronization/mutex.h"
#include "ledger_store/ledger_entry.h"
#include "ledger_store/ledger_lookup.h"

namespace microledger {
namespace {

void PutNodes(KvBatch& batch, absl::string_view ledger_key,
              const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes) {
  for (const auto& [id, hash] : nodes) {
    batch.puts.emplace_back(NodeKey(ledger_key, id.level, id.index), MerkleHashBytes(hash));
  }
}

void PutAttachments(KvBatch& batch, absl::string_view ledger_key,
                    const std::vector<VerifiedAttachment>& attachments) {
  for (const VerifiedAttachment& attachment : attachments) {
    batch.puts.emplace_back(AttachmentKey(ledger_key, attachment.seal_multihash),
                            EncodeAttachment(attachment.name, attachment.data));
  }
}

}  // namespace

MirrorStore::MirrorStore(std::unique_ptr<KvStore> store, size_t max_cached_ledgers,
                         size_t max_cached_merkle_nodes)
    : store_(std::move(store)),
      cache_(max_cached_ledgers),
      node_cache_(max_cached_merkle_nodes),
      reader_(store_.get(), &cache_, &node_cache_) {}

absl::StatusOr<std::optional<MirrorRecord>> MirrorStore::Record(
    absl::string_view ledger_id) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> bytes = store_->Get(MirrorRecordKey(*key));
  if (absl::IsNotFound(bytes.status())) return std::optional<MirrorRecord>();
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<MirrorRecord> record = DecodeMirrorRecord(*bytes);
  if (!record.ok()) return record.status();
  return std::optional<MirrorRecord>(*std::move(record));
}

absl::StatusOr<std::vector<MirrorRecord>> MirrorStore::Records() const {
  const std::string begin(1, kMirrorRecordTable);
  const std::string end(1, kMirrorRecordTable + 1);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      store_->Scan(begin, end, SIZE_MAX);
  if (!entries.ok()) return entries.status();
  std::vector<MirrorRecord> records;
  for (const auto& entry : *entries) {
    absl::StatusOr<MirrorRecord> record = DecodeMirrorRecord(entry.second);
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

absl::Status MirrorStore::PutRecord(const MirrorRecord& record) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(record.ledger_id);
  if (!key.ok()) return key.status();
  KvBatch batch;
  batch.puts.emplace_back(MirrorRecordKey(*key), EncodeMirrorRecord(record));
  return store_->Write(batch);
}

absl::StatusOr<HeadRecord> MirrorStore::Head(absl::string_view ledger_id) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(*key));
  if (!bytes.ok()) return bytes.status();
  return DecodeHeadRecord(*bytes);
}

absl::Status MirrorStore::CommitBlocks(absl::string_view ledger_id,
                                       const std::vector<VerifiedBlock>& blocks,
                                       const std::vector<VerifiedAttachment>& attachments) {
  if (blocks.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  KvBatch batch;
  for (const VerifiedBlock& verified : blocks) {
    batch.puts.emplace_back(BlockKey(*key, verified.block.number), verified.bytes);
    PutNodes(batch, *key, verified.nodes);
    batch.puts.emplace_back(CheckpointKey(*key, verified.block.number),
                            verified.checkpoint.note);
  }
  PutAttachments(batch, *key, attachments);
  const VerifiedBlock& last = blocks.back();
  batch.puts.emplace_back(HeadKey(*key), EncodeHeadRecord(last.state, last.frontier, ""));
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  Publish(ledger_id, last.block.number, last.checkpoint);
  return absl::OkStatus();
}

absl::Status MirrorStore::CommitHeadAt(
    absl::string_view ledger_id, const std::vector<HeldBlock>& blocks,
    const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes,
    const VerifiedCheckpoint& checkpoint, const ChainState& state,
    const MerkleFrontier& frontier, const std::vector<VerifiedAttachment>& attachments,
    const MirrorRecord& record) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  KvBatch batch;
  for (const HeldBlock& block : blocks) {
    batch.puts.emplace_back(BlockKey(*key, block.number), block.bytes);
  }
  PutNodes(batch, *key, nodes);
  PutAttachments(batch, *key, attachments);
  batch.puts.emplace_back(CheckpointKey(*key, checkpoint.tree_size), checkpoint.note);
  batch.puts.emplace_back(HeadKey(*key), EncodeHeadRecord(state, frontier, ""));
  batch.puts.emplace_back(MirrorRecordKey(*key), EncodeMirrorRecord(record));
  if (absl::Status s = store_->Write(batch); !s.ok()) return s;
  Publish(ledger_id, checkpoint.tree_size, checkpoint);
  return absl::OkStatus();
}

absl::Status MirrorStore::StoreFetched(
    absl::string_view ledger_id, const std::vector<HeldBlock>& blocks,
    const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes,
    const std::vector<VerifiedAttachment>& attachments, const MirrorRecord& record) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  KvBatch batch;
  for (const HeldBlock& block : blocks) {
    batch.puts.emplace_back(BlockKey(*key, block.number), block.bytes);
  }
  PutNodes(batch, *key, nodes);
  PutAttachments(batch, *key, attachments);
  batch.puts.emplace_back(MirrorRecordKey(*key), EncodeMirrorRecord(record));
  return store_->Write(batch);
}

absl::Status MirrorStore::Delete(absl::string_view ledger_id,
                                 const std::optional<Tombstone>& tombstone) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  KvBatch batch;
  batch.delete_ranges = LedgerKeyRanges(*key);
  const std::string record_key = MirrorRecordKey(*key);
  batch.delete_ranges.emplace_back(record_key, record_key + std::string(1, '\0'));
  if (tombstone.has_value()) {
    batch.puts.emplace_back(TombstoneKey(*key), EncodeTombstone(*tombstone));
  }
  std::shared_ptr<LedgerEntry> entry = cache_.GetOrCreate(ledger_id);
  std::vector<std::function<void()>> wake;
  {
    // Held across the delete, as the host's forget does: no read that starts
    // after the data is gone is answered from the cached head or nodes.
    absl::MutexLock lock(&entry->commit_mu);
    if (absl::Status s = store_->Write(batch); !s.ok()) return s;
    entry->committed_known = true;
    entry->committed_exists = false;
    entry->committed_forgotten = tombstone.has_value();
    entry->committed_head = 0;
    ++entry->forget_count;
    entry->latest_checkpoint.reset();
    node_cache_.EraseLedger(*key);
    wake = entry->TakeWaitersLocked();
  }
  for (auto& w : wake) w();
  return absl::OkStatus();
}

void MirrorStore::Publish(absl::string_view ledger_id, uint64_t head,
                          const VerifiedCheckpoint& checkpoint) {
  std::shared_ptr<LedgerEntry> entry = cache_.GetOrCreate(ledger_id);
  std::vector<std::function<void()>> wake;
  {
    absl::MutexLock lock(&entry->commit_mu);
    entry->committed_known = true;
    entry->committed_exists = true;
    entry->committed_forgotten = false;
    entry->committed_head = head;
    entry->latest_checkpoint = std::make_shared<const ServedCheckpoint>(
        ServedCheckpoint{checkpoint.tree_size, checkpoint.note, checkpoint.root});
    wake = entry->TakeWaitersLocked();
  }
  for (auto& w : wake) w();
}

}  // namespace microledger
