#include "ledger_store/storage_layout.h"

#include "absl/strings/str_cat.h"
#include "common/fixed_coding.h"

namespace microledger {
namespace {

std::string Prefixed(char table, absl::string_view ledger_key) {
  std::string key(1, table);
  key.append(ledger_key.data(), ledger_key.size());
  return key;
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("storage: corrupt ", what));
}

}  // namespace

std::string HeadKey(absl::string_view ledger_key) {
  return Prefixed(kHeadTable, ledger_key);
}

std::string BlockKey(absl::string_view ledger_key, uint64_t number) {
  std::string key = Prefixed(kBlockTable, ledger_key);
  PutFixed64BE(key, number);
  return key;
}

std::string NodeKey(absl::string_view ledger_key, int level, uint64_t index) {
  std::string key = Prefixed(kNodeTable, ledger_key);
  PutFixed8(key, static_cast<uint8_t>(level));
  PutFixed64BE(key, index);
  return key;
}

std::string CheckpointKey(absl::string_view ledger_key, uint64_t tree_size) {
  std::string key = Prefixed(kCheckpointTable, ledger_key);
  PutFixed64BE(key, tree_size);
  return key;
}

std::string AttachmentKey(absl::string_view ledger_key,
                          absl::string_view seal_multihash) {
  std::string key = Prefixed(kAttachmentTable, ledger_key);
  key.append(seal_multihash.data(), seal_multihash.size());
  return key;
}

std::string TombstoneKey(absl::string_view ledger_key) {
  return Prefixed(kTombstoneTable, ledger_key);
}

namespace {

// Evidence subspaces of a ledger (see the table in storage_layout.h).
constexpr char kEvidenceObjects = '\x00';
constexpr char kEvidenceIds = '\x01';
constexpr char kEvidenceCount = '\x02';

std::string EvidencePrefix(absl::string_view ledger_key, char subspace) {
  std::string key = Prefixed(kEvidenceTable, ledger_key);
  key.push_back(subspace);
  return key;
}

// [prefix, the successor of the prefix): every key that starts with `prefix`.
std::pair<std::string, std::string> PrefixRange(std::string prefix) {
  // The successor: drop trailing 0xff bytes, increment the last.
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return {std::move(prefix), std::move(end)};
}

}  // namespace

std::string EvidenceKey(absl::string_view ledger_key, uint64_t seq) {
  std::string key = EvidencePrefix(ledger_key, kEvidenceObjects);
  PutFixed64BE(key, seq);
  return key;
}

std::pair<std::string, std::string> EvidenceKeyRange(absl::string_view ledger_key) {
  return PrefixRange(EvidencePrefix(ledger_key, kEvidenceObjects));
}

std::string EvidenceIdKey(absl::string_view ledger_key, absl::string_view id_multihash) {
  std::string key = EvidencePrefix(ledger_key, kEvidenceIds);
  key.append(id_multihash.data(), id_multihash.size());
  return key;
}

std::string EvidenceCountKey(absl::string_view ledger_key) {
  return EvidencePrefix(ledger_key, kEvidenceCount);
}

namespace {

// Witness subspaces of a ledger (see the table in storage_layout.h).
constexpr char kWitnessCosignatures = '\x00';
constexpr char kWitnessWitnessed = '\x01';

}  // namespace

std::string CosignatureKey(absl::string_view ledger_key, absl::string_view witness_key_id,
                           absl::string_view witness_name) {
  std::string key = Prefixed(kWitnessTable, ledger_key);
  key.push_back(kWitnessCosignatures);
  key.append(witness_key_id.data(), witness_key_id.size());
  key.append(witness_name.data(), witness_name.size());
  return key;
}

std::pair<std::string, std::string> CosignatureKeyRange(absl::string_view ledger_key) {
  std::string prefix = Prefixed(kWitnessTable, ledger_key);
  prefix.push_back(kWitnessCosignatures);
  return PrefixRange(std::move(prefix));
}

std::string WitnessedKey(absl::string_view ledger_key) {
  std::string key = Prefixed(kWitnessTable, ledger_key);
  key.push_back(kWitnessWitnessed);
  return key;
}

std::vector<std::pair<std::string, std::string>> LedgerKeyRanges(
    absl::string_view ledger_key) {
  std::vector<std::pair<std::string, std::string>> ranges;
  for (char table : {kHeadTable, kBlockTable, kNodeTable, kCheckpointTable, kAttachmentTable,
                     kWitnessTable}) {
    ranges.push_back(PrefixRange(Prefixed(table, ledger_key)));
  }
  return ranges;
}

namespace {

constexpr uint8_t kHeadRecordV1 = 0x01;
constexpr uint8_t kTombstoneV1 = 0x01;
constexpr uint8_t kCosignatureRecordV1 = 0x01;
constexpr uint8_t kWitnessedRecordV1 = 0x01;

// The record's version byte; false if it is absent or not `version`.
bool ReadVersion(FixedReader& in, uint8_t version) {
  uint8_t found = 0;
  return in.ReadFixed8(&found) && found == version;
}

}  // namespace

std::string EncodeHeadRecord(const ChainState& s, const MerkleFrontier& frontier,
                             absl::string_view nonce) {
  std::string out;
  const std::string serialized = frontier.Serialize();
  size_t size = 1 + 8 + 8 + 4 + 4 * 6 + s.ledger.size() + s.head_fingerprint.size() +
                s.terminal_event.size() + serialized.size() + nonce.size();
  for (const std::string& key : s.controllers.keys) size += 4 + key.size();
  out.reserve(size);
  PutFixed8(out, kHeadRecordV1);
  PutFixed64BE(out, s.head_number);
  PutFixed64BE(out, static_cast<uint64_t>(s.head_time_millis));
  PutFixed32BE(out, static_cast<uint32_t>(s.controllers.threshold));
  PutLengthPrefixed(out, s.ledger);
  PutLengthPrefixed(out, s.head_fingerprint);
  PutLengthPrefixed(out, s.terminal_event);
  PutLengthPrefixed(out, serialized);
  PutLengthPrefixed(out, nonce);
  PutFixed32BE(out, static_cast<uint32_t>(s.controllers.keys.size()));
  for (const std::string& key : s.controllers.keys) PutLengthPrefixed(out, key);
  return out;
}

std::string EncodeHeadRecord(const HeadRecord& record) {
  return EncodeHeadRecord(record.state, record.frontier, record.nonce);
}

absl::StatusOr<HeadRecord> DecodeHeadRecord(absl::string_view bytes) {
  FixedReader in(bytes);
  HeadRecord record;
  ChainState& s = record.state;
  uint64_t time = 0;
  uint32_t threshold = 0, keys = 0;
  std::string frontier;
  if (!ReadVersion(in, kHeadRecordV1) || !in.ReadFixed64BE(&s.head_number) ||
      !in.ReadFixed64BE(&time) || !in.ReadFixed32BE(&threshold) ||
      !in.ReadLengthPrefixed(&s.ledger) || !in.ReadLengthPrefixed(&s.head_fingerprint) ||
      !in.ReadLengthPrefixed(&s.terminal_event) || !in.ReadLengthPrefixed(&frontier) ||
      !in.ReadLengthPrefixed(&record.nonce) || !in.ReadFixed32BE(&keys)) {
    return Corrupt("head record");
  }
  s.head_time_millis = static_cast<int64_t>(time);
  s.controllers.threshold = static_cast<int>(threshold);
  for (uint32_t i = 0; i < keys; ++i) {
    std::string key;
    if (!in.ReadLengthPrefixed(&key)) return Corrupt("head record");
    s.controllers.keys.push_back(std::move(key));
  }
  if (!in.empty()) return Corrupt("head record");
  absl::StatusOr<MerkleFrontier> parsed = MerkleFrontier::Deserialize(frontier);
  if (!parsed.ok()) return Corrupt("head record frontier");
  record.frontier = *std::move(parsed);
  return record;
}

std::string EncodeAttachment(absl::string_view name, absl::string_view data) {
  std::string out;
  out.reserve(4 + name.size() + data.size());
  PutLengthPrefixed(out, name);
  out.append(data.data(), data.size());
  return out;
}

absl::StatusOr<StoredAttachment> DecodeAttachment(absl::string_view bytes) {
  FixedReader in(bytes);
  StoredAttachment attachment;
  absl::string_view data;
  if (!in.ReadLengthPrefixed(&attachment.name) || !in.ReadBytes(in.remaining(), &data)) {
    return Corrupt("attachment");
  }
  attachment.data.assign(data.data(), data.size());
  return attachment;
}

std::string EncodeTombstone(const Tombstone& tombstone) {
  std::string out;
  PutFixed8(out, kTombstoneV1);
  PutFixed64BE(out, static_cast<uint64_t>(tombstone.forgotten_at_millis));
  PutFixed64BE(out, tombstone.head_number);
  PutLengthPrefixed(out, tombstone.head_fingerprint);
  PutFixed32BE(out, 0);  // Evidence objects: none (see storage_layout.h).
  return out;
}

absl::StatusOr<Tombstone> DecodeTombstone(absl::string_view bytes) {
  FixedReader in(bytes);
  Tombstone tombstone;
  uint64_t forgotten_at = 0;
  uint32_t count = 0;
  if (!ReadVersion(in, kTombstoneV1) || !in.ReadFixed64BE(&forgotten_at) ||
      !in.ReadFixed64BE(&tombstone.head_number) ||
      !in.ReadLengthPrefixed(&tombstone.head_fingerprint) || !in.ReadFixed32BE(&count)) {
    return Corrupt("tombstone");
  }
  tombstone.forgotten_at_millis = static_cast<int64_t>(forgotten_at);
  if (count != 0 || !in.empty()) return Corrupt("tombstone");
  return tombstone;
}

std::string EncodeCosignatureRecord(const CosignatureRecord& record) {
  std::string out;
  PutFixed8(out, kCosignatureRecordV1);
  PutFixed64BE(out, record.tree_size);
  PutLengthPrefixed(out, record.line);
  return out;
}

absl::StatusOr<CosignatureRecord> DecodeCosignatureRecord(absl::string_view bytes) {
  FixedReader in(bytes);
  CosignatureRecord record;
  if (!ReadVersion(in, kCosignatureRecordV1) || !in.ReadFixed64BE(&record.tree_size) ||
      !in.ReadLengthPrefixed(&record.line) || !in.empty()) {
    return Corrupt("cosignature record");
  }
  return record;
}

std::string EncodeWitnessedRecord(const WitnessedRecord& record) {
  std::string out;
  PutFixed8(out, kWitnessedRecordV1);
  PutFixed64BE(out, record.tree_size);
  PutFixed32BE(out, static_cast<uint32_t>(record.lines.size()));
  for (const std::string& line : record.lines) PutLengthPrefixed(out, line);
  return out;
}

absl::StatusOr<WitnessedRecord> DecodeWitnessedRecord(absl::string_view bytes) {
  FixedReader in(bytes);
  WitnessedRecord record;
  uint32_t count = 0;
  if (!ReadVersion(in, kWitnessedRecordV1) || !in.ReadFixed64BE(&record.tree_size) ||
      !in.ReadFixed32BE(&count) || count > in.remaining() / 4) {
    return Corrupt("witnessed record");
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::string line;
    if (!in.ReadLengthPrefixed(&line)) return Corrupt("witnessed record");
    record.lines.push_back(std::move(line));
  }
  if (!in.empty()) return Corrupt("witnessed record");
  return record;
}

}  // namespace microledger
