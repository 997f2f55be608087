#include "ledger_store/witness_cosignatures.h"

#include <utility>

#include "ledger_store/storage_layout.h"

namespace microledger {

absl::StatusOr<std::optional<uint64_t>> WitnessCosignatures::CosignedSize(
    absl::string_view ledger_key, size_t witness) const {
  const WitnessKey& key = witnesses_.at(witness);
  absl::StatusOr<std::string> bytes = store_->Get(CosignatureKey(ledger_key, key.key_id, key.name));
  if (absl::IsNotFound(bytes.status())) return std::optional<uint64_t>();
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<CosignatureRecord> record = DecodeCosignatureRecord(*bytes);
  if (!record.ok()) return record.status();
  return std::optional<uint64_t>(record->tree_size);
}

absl::StatusOr<bool> WitnessCosignatures::Record(absl::string_view ledger_key, size_t witness,
                                                 uint64_t tree_size, const std::string& line) {
  absl::MutexLock lock(&record_mu_);
  std::vector<std::string> keys;
  for (const WitnessKey& key : witnesses_) {
    keys.push_back(CosignatureKey(ledger_key, key.key_id, key.name));
  }
  keys.push_back(WitnessedKey(ledger_key));
  const std::vector<absl::StatusOr<std::string>> found = store_->MultiGet(keys);
  KvBatch batch;
  batch.puts.emplace_back(keys.at(witness), EncodeCosignatureRecord({tree_size, line}));
  WitnessedRecord quorum;
  quorum.tree_size = tree_size;
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    if (i == witness) {
      quorum.lines.push_back(line);
      continue;
    }
    if (absl::IsNotFound(found[i].status())) continue;
    if (!found[i].ok()) return found[i].status();
    absl::StatusOr<CosignatureRecord> other = DecodeCosignatureRecord(*found[i]);
    if (!other.ok()) return other.status();
    if (other->tree_size == tree_size) quorum.lines.push_back(std::move(other->line));
  }
  bool witnessed = false;
  if (quorum.lines.size() >= quorum_) {
    const absl::StatusOr<std::string>& current = found.back();
    witnessed = absl::IsNotFound(current.status());
    if (!witnessed) {
      if (!current.ok()) return current.status();
      absl::StatusOr<WitnessedRecord> record = DecodeWitnessedRecord(*current);
      if (!record.ok()) return record.status();
      witnessed = tree_size > record->tree_size ||
                  (tree_size == record->tree_size && quorum.lines.size() > record->lines.size());
    }
    if (witnessed) batch.puts.emplace_back(keys.back(), EncodeWitnessedRecord(quorum));
  }
  if (absl::Status written = store_->Write(batch); !written.ok()) return written;
  return witnessed;
}

}  // namespace microledger
