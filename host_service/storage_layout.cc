#include "host_service/storage_layout.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/json.h"

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

std::string EncodeHeadRecord(const HeadRecord& record) {
  const ChainState& s = record.state;
  Json json = {
      {"ledger", s.ledger},
      {"number", s.head_number},
      {"fingerprint", s.head_fingerprint},
      {"time", s.head_time_millis},
      {"threshold", s.controllers.threshold},
      {"keys", s.controllers.keys},
      {"terminal", s.terminal_event},
      {"frontier", EncodeBase64Url(record.frontier.Serialize())},
      {"nonce", EncodeBase64Url(record.nonce)},
  };
  return json.dump();
}

absl::StatusOr<HeadRecord> DecodeHeadRecord(absl::string_view bytes) {
  Json json = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Corrupt("head record");
  HeadRecord record;
  try {
    ChainState& s = record.state;
    s.ledger = json.at("ledger").get<std::string>();
    s.head_number = json.at("number").get<uint64_t>();
    s.head_fingerprint = json.at("fingerprint").get<std::string>();
    s.head_time_millis = json.at("time").get<int64_t>();
    s.controllers.threshold = json.at("threshold").get<int>();
    s.controllers.keys = json.at("keys").get<std::vector<std::string>>();
    s.terminal_event = json.at("terminal").get<std::string>();
    absl::StatusOr<std::string> frontier =
        DecodeBase64Url(json.at("frontier").get<std::string>());
    if (!frontier.ok()) return Corrupt("head record frontier");
    absl::StatusOr<MerkleFrontier> parsed = MerkleFrontier::Deserialize(*frontier);
    if (!parsed.ok()) return Corrupt("head record frontier");
    record.frontier = *std::move(parsed);
    absl::StatusOr<std::string> nonce = DecodeBase64Url(json.at("nonce").get<std::string>());
    if (!nonce.ok()) return Corrupt("head record nonce");
    record.nonce = *std::move(nonce);
  } catch (const std::exception&) {
    return Corrupt("head record");
  }
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

}  // namespace microledger
