#include "host_service/storage_layout.h"

#include "absl/strings/str_cat.h"

namespace microledger {
namespace {

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

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
  AppendBigEndian(key, number, 8);
  return key;
}

std::string NodeKey(absl::string_view ledger_key, int level, uint64_t index) {
  std::string key = Prefixed(kNodeTable, ledger_key);
  AppendBigEndian(key, static_cast<uint64_t>(level), 1);
  AppendBigEndian(key, index, 8);
  return key;
}

std::string CheckpointKey(absl::string_view ledger_key, uint64_t tree_size) {
  std::string key = Prefixed(kCheckpointTable, ledger_key);
  AppendBigEndian(key, tree_size, 8);
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

constexpr char kHeadRecordV1 = 0x01;
constexpr char kTombstoneV1 = 0x01;

void AppendString(std::string& out, absl::string_view text) {
  AppendBigEndian(out, text.size(), 4);
  out.append(text.data(), text.size());
}

class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}
  bool U(int width, uint64_t* value) {
    if (bytes_.size() < static_cast<size_t>(width)) return false;
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes_[i]);
    bytes_.remove_prefix(width);
    *value = v;
    return true;
  }
  bool S(std::string* out) {
    uint64_t size;
    if (!U(4, &size) || bytes_.size() < size) return false;
    out->assign(bytes_.data(), size);
    bytes_.remove_prefix(size);
    return true;
  }
  bool empty() const { return bytes_.empty(); }

 private:
  absl::string_view bytes_;
};

}  // namespace

std::string EncodeHeadRecord(const ChainState& s, const MerkleFrontier& frontier,
                             absl::string_view nonce) {
  std::string out;
  const std::string serialized = frontier.Serialize();
  size_t size = 1 + 8 + 8 + 4 + 4 * 6 + s.ledger.size() + s.head_fingerprint.size() +
                s.terminal_event.size() + serialized.size() + nonce.size();
  for (const std::string& key : s.controllers.keys) size += 4 + key.size();
  out.reserve(size);
  out.push_back(kHeadRecordV1);
  AppendBigEndian(out, s.head_number, 8);
  AppendBigEndian(out, static_cast<uint64_t>(s.head_time_millis), 8);
  AppendBigEndian(out, static_cast<uint64_t>(s.controllers.threshold), 4);
  AppendString(out, s.ledger);
  AppendString(out, s.head_fingerprint);
  AppendString(out, s.terminal_event);
  AppendString(out, serialized);
  AppendString(out, nonce);
  AppendBigEndian(out, s.controllers.keys.size(), 4);
  for (const std::string& key : s.controllers.keys) AppendString(out, key);
  return out;
}

std::string EncodeHeadRecord(const HeadRecord& record) {
  return EncodeHeadRecord(record.state, record.frontier, record.nonce);
}

absl::StatusOr<HeadRecord> DecodeHeadRecord(absl::string_view bytes) {
  if (bytes.empty() || bytes[0] != kHeadRecordV1) return Corrupt("head record");
  Reader in(bytes.substr(1));
  HeadRecord record;
  ChainState& s = record.state;
  uint64_t number, time, threshold, keys;
  std::string frontier;
  if (!in.U(8, &number) || !in.U(8, &time) || !in.U(4, &threshold) || !in.S(&s.ledger) ||
      !in.S(&s.head_fingerprint) || !in.S(&s.terminal_event) || !in.S(&frontier) ||
      !in.S(&record.nonce) || !in.U(4, &keys)) {
    return Corrupt("head record");
  }
  s.head_number = number;
  s.head_time_millis = static_cast<int64_t>(time);
  s.controllers.threshold = static_cast<int>(threshold);
  for (uint64_t i = 0; i < keys; ++i) {
    std::string key;
    if (!in.S(&key)) return Corrupt("head record");
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
  AppendBigEndian(out, name.size(), 4);
  absl::StrAppend(&out, name, data);
  return out;
}

absl::StatusOr<StoredAttachment> DecodeAttachment(absl::string_view bytes) {
  if (bytes.size() < 4) return Corrupt("attachment");
  uint64_t name_size = 0;
  for (int i = 0; i < 4; ++i) {
    name_size = (name_size << 8) | static_cast<unsigned char>(bytes[i]);
  }
  if (bytes.size() - 4 < name_size) return Corrupt("attachment");
  return StoredAttachment{std::string(bytes.substr(4, name_size)),
                          std::string(bytes.substr(4 + name_size))};
}

std::string EncodeTombstone(const Tombstone& tombstone) {
  std::string out(1, kTombstoneV1);
  AppendBigEndian(out, static_cast<uint64_t>(tombstone.forgotten_at_millis), 8);
  AppendBigEndian(out, tombstone.head_number, 8);
  AppendString(out, tombstone.head_fingerprint);
  AppendBigEndian(out, tombstone.evidence.size(), 4);
  for (const std::string& evidence : tombstone.evidence) AppendString(out, evidence);
  return out;
}

absl::StatusOr<Tombstone> DecodeTombstone(absl::string_view bytes) {
  if (bytes.empty() || bytes[0] != kTombstoneV1) return Corrupt("tombstone");
  Reader in(bytes.substr(1));
  Tombstone tombstone;
  uint64_t forgotten_at, count;
  if (!in.U(8, &forgotten_at) || !in.U(8, &tombstone.head_number) ||
      !in.S(&tombstone.head_fingerprint) || !in.U(4, &count)) {
    return Corrupt("tombstone");
  }
  tombstone.forgotten_at_millis = static_cast<int64_t>(forgotten_at);
  for (uint64_t i = 0; i < count; ++i) {
    std::string evidence;
    if (!in.S(&evidence)) return Corrupt("tombstone");
    tombstone.evidence.push_back(std::move(evidence));
  }
  if (!in.empty()) return Corrupt("tombstone");
  return tombstone;
}

}  // namespace microledger
