#include "witness/witness_store.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/fixed_coding.h"

namespace microledger {
namespace {

constexpr char kCheckpointTable = 'c';
constexpr char kEvidenceTable = 'e';
constexpr char kFrozenTable = 'f';
constexpr uint8_t kCheckpointRecordVersion = 1;
// Note text (3 lines), the ledger key's line, the witness's line.
constexpr int kRecordTextLines = 5;
// Evidence objects of one ledger read at most (only the first freezes it; the
// witness keeps one per ledger, see witness.h).
constexpr size_t kMaxEvidenceRead = 1024;

std::string Key(char table, absl::string_view origin_hash) {
  return absl::StrCat(absl::string_view(&table, 1), origin_hash);
}

std::string EvidenceKey(absl::string_view origin_hash, uint64_t seq) {
  std::string key = Key(kEvidenceTable, origin_hash);
  PutFixed64BE(key, seq);
  return key;
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("witness store: ", what));
}

absl::StatusOr<CosignedCheckpoint> ParseCheckpointRecord(absl::string_view record) {
  FixedReader reader(record);
  uint8_t version = 0;
  CosignedCheckpoint checkpoint;
  absl::string_view root;
  if (!reader.ReadFixed8(&version) || version != kCheckpointRecordVersion ||
      !reader.ReadFixed64BE(&checkpoint.tree_size) ||
      !reader.ReadBytes(checkpoint.root.size(), &root)) {
    return Corrupt("checkpoint record has an unknown version or is cut short");
  }
  std::copy(root.begin(), root.end(), checkpoint.root.begin());
  absl::string_view text;
  reader.ReadBytes(reader.remaining(), &text);
  size_t line_ends[kRecordTextLines];
  size_t from = 0;
  for (size_t& end : line_ends) {
    end = text.find('\n', from);
    if (end == absl::string_view::npos) return Corrupt("checkpoint record has too few lines");
    from = end + 1;
  }
  if (from != text.size()) return Corrupt("checkpoint record has too many lines");
  checkpoint.note_text = std::string(text.substr(0, line_ends[2] + 1));
  checkpoint.ledger_key_line =
      std::string(text.substr(line_ends[2] + 1, line_ends[3] - line_ends[2]));
  checkpoint.cosignature_line = std::string(text.substr(line_ends[3] + 1));
  return checkpoint;
}

}  // namespace

std::string OriginHash(absl::string_view origin) { return Sha256(origin); }

std::string OriginHashHex(absl::string_view origin_hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(origin_hash.size() * 2);
  for (const char c : origin_hash) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0x0f];
  }
  return hex;
}

absl::StatusOr<std::string> OriginHashFromHex(absl::string_view hex) {
  if (hex.size() != 2 * kSha256Size) {
    return absl::InvalidArgumentError("an origin hash is 64 lowercase hex digits");
  }
  std::string raw;
  raw.reserve(kSha256Size);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int byte = 0;
    for (const char c : hex.substr(i, 2)) {
      int nibble;
      if (c >= '0' && c <= '9') {
        nibble = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        nibble = c - 'a' + 10;
      } else {
        return absl::InvalidArgumentError("an origin hash is 64 lowercase hex digits");
      }
      byte = byte * 16 + nibble;
    }
    raw += static_cast<char>(byte);
  }
  return raw;
}

std::string CosignedCheckpoint::SignedNote() const {
  return absl::StrCat(note_text, "\n", ledger_key_line, cosignature_line);
}

WitnessStore::WitnessStore(std::unique_ptr<KvStore> store) : store_(std::move(store)) {}

absl::StatusOr<WitnessLedgerState> WitnessStore::Read(absl::string_view origin_hash) const {
  const std::vector<absl::StatusOr<std::string>> found = store_->MultiGet(
      {Key(kCheckpointTable, origin_hash), Key(kFrozenTable, origin_hash)});
  WitnessLedgerState state;
  for (const absl::StatusOr<std::string>& value : found) {
    if (!value.ok() && !absl::IsNotFound(value.status())) return value.status();
  }
  if (found[0].ok()) {
    absl::StatusOr<CosignedCheckpoint> checkpoint = ParseCheckpointRecord(*found[0]);
    if (!checkpoint.ok()) return checkpoint.status();
    state.checkpoint = *std::move(checkpoint);
  }
  if (found[1].ok()) state.frozen_evidence_id = *found[1];
  return state;
}

absl::Status WitnessStore::PutCheckpoint(absl::string_view origin_hash,
                                         const CosignedCheckpoint& checkpoint) {
  std::string record;
  PutFixed8(record, kCheckpointRecordVersion);
  PutFixed64BE(record, checkpoint.tree_size);
  record.append(reinterpret_cast<const char*>(checkpoint.root.data()), checkpoint.root.size());
  absl::StrAppend(&record, checkpoint.note_text, checkpoint.ledger_key_line,
                  checkpoint.cosignature_line);
  KvBatch batch;
  batch.puts.emplace_back(Key(kCheckpointTable, origin_hash), std::move(record));
  return store_->Write(batch);
}

absl::StatusOr<bool> WitnessStore::AddEvidence(absl::string_view origin_hash,
                                               absl::string_view evidence) {
  const std::string evidence_id = EvidenceId(evidence);
  absl::StatusOr<std::vector<std::string>> kept = Evidence(origin_hash);
  if (!kept.ok()) return kept.status();
  for (const std::string& object : *kept) {
    if (EvidenceId(object) == evidence_id) return false;
  }
  KvBatch batch;
  batch.puts.emplace_back(EvidenceKey(origin_hash, kept->size()), std::string(evidence));
  if (kept->empty()) batch.puts.emplace_back(Key(kFrozenTable, origin_hash), evidence_id);
  absl::Status written = store_->Write(batch);
  if (!written.ok()) return written;
  return true;
}

absl::StatusOr<std::vector<std::string>> WitnessStore::Evidence(
    absl::string_view origin_hash) const {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
      store_->Scan(EvidenceKey(origin_hash, 0),
                   EvidenceKey(origin_hash, std::numeric_limits<uint64_t>::max()),
                   kMaxEvidenceRead);
  if (!rows.ok()) return rows.status();
  std::vector<std::string> objects;
  objects.reserve(rows->size());
  for (auto& [key, value] : *rows) objects.push_back(std::move(value));
  return objects;
}

}  // namespace microledger
