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

std::vector<std::pair<std::string, std::string>> LedgerKeyRanges(
    absl::string_view ledger_key) {
  std::vector<std::pair<std::string, std::string>> ranges;
  for (char table :
       {kHeadTable, kBlockTable, kNodeTable, kCheckpointTable, kAttachmentTable}) {
    std::string begin = Prefixed(table, ledger_key);
    // The successor of the prefix: drop trailing 0xff bytes, increment the last.
    std::string end = begin;
    while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
    ranges.emplace_back(std::move(begin), std::move(end));
  }
  return ranges;
}

namespace {

constexpr uint8_t kHeadRecordV1 = 0x01;
constexpr uint8_t kTombstoneV1 = 0x01;

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
  PutFixed32BE(out, static_cast<uint32_t>(tombstone.evidence.size()));
  for (const std::string& evidence : tombstone.evidence) PutLengthPrefixed(out, evidence);
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
  for (uint32_t i = 0; i < count; ++i) {
    std::string evidence;
    if (!in.ReadLengthPrefixed(&evidence)) return Corrupt("tombstone");
    tombstone.evidence.push_back(std::move(evidence));
  }
  if (!in.empty()) return Corrupt("tombstone");
  return tombstone;
}

}  // namespace microledger
