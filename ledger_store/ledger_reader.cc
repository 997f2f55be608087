#include "ledger_store/ledger_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "ledger_store/ledger_lookup.h"

namespace microledger {

absl::StatusOr<LedgerInfo> LedgerReader::GetLedger(absl::string_view ledger_id) const {
  absl::StatusOr<std::string> ledger_key = LedgerKeyFromId(ledger_id);
  if (!ledger_key.ok()) return ledger_key.status();
  const std::string& key = *ledger_key;
  absl::StatusOr<std::string> head_bytes = store_->Get(HeadKey(key));
  if (absl::IsNotFound(head_bytes.status())) return MissingLedger(*store_, key, ledger_id);
  if (!head_bytes.ok()) return head_bytes.status();
  absl::StatusOr<HeadRecord> head = DecodeHeadRecord(*head_bytes);
  if (!head.ok()) return head.status();
  absl::StatusOr<std::string> genesis = store_->Get(BlockKey(key, 1));
  if (absl::IsNotFound(genesis.status())) return MissingLedger(*store_, key, ledger_id);
  if (!genesis.ok()) return genesis.status();
  absl::StatusOr<std::string> checkpoint =
      store_->Get(CheckpointKey(key, head->state.head_number));
  if (absl::IsNotFound(checkpoint.status())) return MissingLedger(*store_, key, ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<std::string> evidence_id = FirstEvidenceId(*store_, key);
  if (!evidence_id.ok()) return evidence_id.status();
  return LedgerInfo{std::string(ledger_id), *std::move(genesis), std::move(head->state),
                    *std::move(checkpoint), *std::move(evidence_id)};
}

absl::StatusOr<std::vector<std::string>> LedgerReader::GetLedgerEvidence(
    absl::string_view ledger_id) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<std::string>> evidence = ListEvidence(*store_, *key);
  if (!evidence.ok() || !evidence->empty()) return evidence;
  absl::StatusOr<std::string> head = store_->Get(HeadKey(*key));
  if (head.ok()) return evidence;
  if (!absl::IsNotFound(head.status())) return head.status();
  absl::StatusOr<bool> forgotten = HasTombstone(*store_, *key);
  if (!forgotten.ok()) return forgotten.status();
  if (!*forgotten) return UnknownLedger(ledger_id);
  return evidence;
}

absl::StatusOr<std::string> LedgerReader::GetCheckpoint(absl::string_view ledger_id,
                                                      uint64_t tree_size) const {
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
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
  if (absl::IsNotFound(checkpoint.status())) return MissingLedger(*store_, view->ledger_key, ledger_id);
  return checkpoint;
}

absl::StatusOr<std::string> LedgerReader::GetWitnessedCheckpoint(
    absl::string_view ledger_id) const {
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
  if (!view.ok()) return view.status();
  absl::StatusOr<std::string> bytes = store_->Get(WitnessedKey(view->ledger_key));
  if (absl::IsNotFound(bytes.status())) {
    return absl::FailedPreconditionError(
        "checkpoint: no checkpoint of this ledger is witnessed yet");
  }
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<WitnessedRecord> record = DecodeWitnessedRecord(*bytes);
  if (!record.ok()) return record.status();
  if (record->tree_size == 0 || record->tree_size > view->head) {
    return absl::DataLossError("storage: witnessed record past the head");
  }
  absl::StatusOr<std::string> note = GetCheckpoint(ledger_id, record->tree_size);
  if (!note.ok()) return note.status();
  for (const std::string& line : record->lines) note->append(line);
  return note;
}

absl::StatusOr<LedgerReader::BlockRange> LedgerReader::ResolveBlockRange(
    absl::string_view ledger_id, uint64_t from, uint64_t to) const {
  // A request that can never be answered is INVALID_ARGUMENT; one past the
  // current head (it may be answered later) is OUT_OF_RANGE.
  if (from == 0 || (to != 0 && from > to)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blocks: the range [", from, ", ", to, "] is empty or starts below 1"));
  }
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
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

absl::StatusOr<std::vector<std::string>> LedgerReader::ReadBlocks(
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
  if (entries->size() != count) return MissingLedger(*store_, range.ledger_key, ledger_id);
  std::vector<std::string> blocks;
  blocks.reserve(count);
  for (auto& entry : *entries) blocks.push_back(std::move(entry.second));
  return blocks;
}

absl::StatusOr<uint64_t> LedgerReader::CommittedHead(absl::string_view ledger_id) const {
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
  if (!view.ok()) return view.status();
  return view->head;
}

absl::StatusOr<std::string> LedgerReader::ReadTile(absl::string_view ledger_id, int level,
                                                  const TileIndex& tile) const {
  absl::StatusOr<CommittedView> view = ViewCommitted(*store_, *cache_, ledger_id);
  if (!view.ok()) return view.status();
  if (!TreeHoldsTile(view->head, level, tile)) {
    return absl::OutOfRangeError(absl::StrCat("tile: ", TilePath(level, tile),
                                              " is not in the tree of ", view->head,
                                              " blocks"));
  }
  const int height = level * kTileHeight;
  const uint64_t first = tile.index * kTileWidth;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> nodes =
      store_->Scan(NodeKey(view->ledger_key, height, first),
                   NodeKey(view->ledger_key, height, first + tile.width), tile.width);
  if (!nodes.ok()) return nodes.status();
  // Committed nodes are never deleted but by a forget, which removes all.
  if (nodes->size() != static_cast<size_t>(tile.width)) {
    return MissingLedger(*store_, view->ledger_key, ledger_id);
  }
  std::string hashes;
  hashes.reserve(nodes->size() * sizeof(MerkleHash));
  for (const auto& node : *nodes) {
    if (node.second.size() != sizeof(MerkleHash)) {
      return absl::DataLossError("storage: corrupt Merkle node");
    }
    hashes += node.second;
  }
  return hashes;
}

absl::StatusOr<StoredAttachment> LedgerReader::GetAttachment(absl::string_view ledger_id,
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
    absl::StatusOr<bool> forgotten = HasTombstone(*store_, *key);
    if (!forgotten.ok()) return forgotten.status();
    if (*forgotten) return ForgottenLedger(ledger_id);
    return absl::NotFoundError(absl::StrCat("attachment: no attachment with seal ",
                                            QuoteForError(seal), " in ledger ",
                                            QuoteForError(ledger_id)));
  }
  if (!bytes.ok()) return bytes.status();
  return DecodeAttachment(*bytes);
}

absl::StatusOr<std::shared_ptr<CommitWatch>> LedgerReader::WatchLedger(
    absl::string_view ledger_id) const {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  std::shared_ptr<LedgerEntry> entry = cache_->GetOrCreate(ledger_id);
  uint64_t forget_count;
  {
    LedgerEntry& loaded = *entry;
    if (absl::Status s = LoadCommitted(loaded, *key); !s.ok()) return s;
    absl::MutexLock commit_lock(&loaded.commit_mu);
    if (loaded.committed_forgotten) return ForgottenLedger(ledger_id);
    if (!loaded.committed_exists) return UnknownLedger(ledger_id);
    forget_count = loaded.forget_count;
  }
  return NewCommitWatch(store_, std::move(entry), std::string(ledger_id),
                        *std::move(key), forget_count);
}

absl::Status LedgerReader::LoadCommitted(LedgerEntry& entry,
                                         absl::string_view ledger_key) const {
  {
    absl::MutexLock lock(&entry.commit_mu);
    if (entry.committed_known) return absl::OkStatus();
  }
  // Storage holds exactly what is committed. A writer that loads or commits
  // meanwhile sets committed_known itself, and then wins.
  absl::StatusOr<std::string> bytes = store_->Get(HeadKey(ledger_key));
  bool exists = false;
  bool forgotten = false;
  uint64_t head = 0;
  if (absl::IsNotFound(bytes.status())) {
    absl::StatusOr<bool> tombstone = HasTombstone(*store_, ledger_key);
    if (!tombstone.ok()) return tombstone.status();
    forgotten = *tombstone;
  } else if (!bytes.ok()) {
    return bytes.status();
  } else {
    absl::StatusOr<HeadRecord> record = DecodeHeadRecord(*bytes);
    if (!record.ok()) return record.status();
    exists = true;
    head = record->state.head_number;
  }
  absl::MutexLock lock(&entry.commit_mu);
  if (entry.committed_known) return absl::OkStatus();
  entry.committed_known = true;
  entry.committed_exists = exists;
  entry.committed_forgotten = forgotten;
  entry.committed_head = head;
  return absl::OkStatus();
}

}  // namespace microledger
