#include "owner_agent/ledger_registry.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string(base ? base : "/tmp") + "/" + name;
}

// What a starting agent finds: Recover's report, then every saved record.
struct Started {
  LedgerRegistry::Recovered recovered;
  std::vector<LedgerRecord> records;
};

absl::StatusOr<Started> Start(LedgerRegistry& registry) {
  Started started;
  absl::StatusOr<LedgerRegistry::Recovered> recovered = registry.Recover();
  if (!recovered.ok()) return recovered.status();
  started.recovered = *std::move(recovered);
  absl::StatusOr<size_t> unreadable = registry.ForEachRecord(
      [&started](LedgerRecord record) { started.records.push_back(std::move(record)); });
  if (!unreadable.ok()) return unreadable.status();
  if (*unreadable != 0) return absl::DataLossError("unreadable records after Recover");
  if (started.records.size() != started.recovered.records) {
    return absl::InternalError("Recover counted another number of records");
  }
  return started;
}

LedgerRecord SampleRecord() {
  LedgerRecord r;
  r.ledger_id = "jlinx:uAAAA";
  r.host_address = "127.0.0.1:1";
  r.ledger_token = std::string("\x00\x01\xff", 3);
  r.document_type = "didDocument";
  r.original_id = "jlinx:uAAAA";
  r.state = ChainState::Empty(r.ledger_id);
  r.state.head_number = 7;
  r.state.head_fingerprint = "uFP";
  r.state.head_time_millis = 1234567;
  r.state.controllers = Controllers{2, {"uK1", "uK2", "uK3"}};
  r.state.terminal_event = "closed document";
  r.checkpoint = "note\n";
  r.frontier = std::string("\x00\x00\x01", 3);
  r.previous_frontier = std::string("\x00\x00\x02", 3);
  r.equivocation = true;
  r.evidence_id = "uEvidence";
  r.move_new_id = "jlinx:uBBBB";
  r.move_token = "tok";
  return r;
}

TEST(LedgerRegistryTest, RecordRoundTrip) {
  LedgerRecord r = SampleRecord();
  absl::StatusOr<LedgerRecord> back = LedgerRecordFromJson(LedgerRecordToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ledger_id, r.ledger_id);
  EXPECT_EQ(back->ledger_token, r.ledger_token);
  EXPECT_EQ(back->state.head_number, 7u);
  EXPECT_EQ(back->state.head_fingerprint, "uFP");
  EXPECT_EQ(back->state.head_time_millis, 1234567);
  EXPECT_EQ(back->state.controllers, r.state.controllers);
  EXPECT_EQ(back->state.terminal_event, "closed document");
  EXPECT_EQ(back->checkpoint, "note\n");
  EXPECT_EQ(back->frontier, r.frontier);
  EXPECT_EQ(back->previous_frontier, r.previous_frontier);
  EXPECT_TRUE(back->equivocation);
  EXPECT_EQ(back->evidence_id, "uEvidence");
  EXPECT_EQ(back->move_new_id, "jlinx:uBBBB");
  EXPECT_EQ(back->move_token, "tok");
}

TEST(LedgerRegistryTest, CorruptRecordIsDataLoss) {
  EXPECT_EQ(LedgerRecordFromJson("{").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(LedgerRecordFromJson("{\"ledger\":\"x\"}").status().code(),
            absl::StatusCode::kDataLoss);
}

// A record whose members have the wrong types is DataLoss, never an exception.
TEST(LedgerRegistryTest, WrongMemberTypesAreDataLoss) {
  const Json valid = Json::parse(LedgerRecordToJson(SampleRecord()));
  const std::pair<const char*, Json> breaks[] = {
      {"head number", "7"},        {"head number", -1},
      {"head time", "1234567"},    {"head time", 1.5},
      {"controllers", {{"threshold", "2"}, {"keys", Json::array()}}},
      {"controllers", {{"threshold", 2}, {"keys", "uK1"}}},
      {"controllers", {{"threshold", 2}, {"keys", {1, 2}}}},
      {"equivocation", "yes"},
  };
  for (const auto& [member, value] : breaks) {
    Json broken = valid;
    broken[member] = value;
    EXPECT_EQ(LedgerRecordFromJson(broken.dump()).status().code(),
              absl::StatusCode::kDataLoss)
        << member << " = " << value.dump();
  }
}

TEST(LedgerRegistryTest, SaveLoadAndEvidence) {
  auto registry = LedgerRegistry::Open(TempDir("registry"));
  ASSERT_TRUE(registry.ok()) << registry.status();
  LedgerRecord r = SampleRecord();
  ASSERT_TRUE((*registry)->Save(r, true).ok());
  r.state.head_number = 8;
  ASSERT_TRUE((*registry)->Save(r, false).ok());
  auto all = Start(**registry);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->records.size(), 1u);
  EXPECT_EQ(all->records[0].state.head_number, 8u);
  EXPECT_TRUE(all->recovered.quarantined.empty());

  EvidenceRecord e{r.ledger_id, "h", "fork", "a", "b", "detail", 5};
  ASSERT_TRUE((*registry)->AddEvidence(e).ok());
  ASSERT_TRUE((*registry)->AddEvidence(e).ok());
  auto evidence = (*registry)->ListEvidence(r.ledger_id);
  ASSERT_TRUE(evidence.ok());
  EXPECT_EQ(evidence->size(), 2u);
  EXPECT_EQ((*evidence)[0].kind, "fork");
  EXPECT_EQ((*evidence)[0].served_checkpoint, "b");
  EXPECT_TRUE((*evidence)[0].evidence_object.empty());
  e.evidence_object = std::string("{\"evidence\":\0\xff}", 16);  // Any bytes.
  e.evidence_id = "uId";
  ASSERT_TRUE((*registry)->AddEvidence(e).ok());
  evidence = (*registry)->ListEvidence(r.ledger_id);
  ASSERT_TRUE(evidence.ok());
  ASSERT_EQ(evidence->size(), 3u);
  EXPECT_EQ(std::count_if(evidence->begin(), evidence->end(),
                          [&](const EvidenceRecord& kept) {
                            return kept.evidence_id == "uId" &&
                                   kept.evidence_object == e.evidence_object;
                          }),
            1);
  EXPECT_TRUE((*registry)->ListEvidence("other")->empty());
  EXPECT_EQ((*registry)->ListEvidence("")->size(), 3u);
}

// Damaged records (empty, torn, not JSON, or stored under another ledger's
// name) are moved aside and reported; the good ones load; leftover temporary
// files go.
TEST(LedgerRegistryTest, DamagedRecordsAreQuarantined) {
  const std::string dir = TempDir("quarantine");
  auto registry = LedgerRegistry::Open(dir);
  ASSERT_TRUE(registry.ok()) << registry.status();
  LedgerRecord good = SampleRecord();
  ASSERT_TRUE((*registry)->Save(good, true).ok());
  LedgerRecord other = SampleRecord();
  other.ledger_id = "jlinx:uCCCC";
  ASSERT_TRUE((*registry)->Save(other, true).ok());
  const std::string text = LedgerRecordToJson(other);
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(dir + "/ledgers/" + name, std::ios::binary) << data;
  };
  write("empty.json", "");
  write("torn.json", text.substr(0, text.size() / 2));
  write("renamed.json", text);
  write("leftover.json.tmp", "{");
  auto loaded = Start(**registry);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->records.size(), 2u);
  ASSERT_EQ(loaded->recovered.quarantined.size(), 3u);
  for (const auto& q : loaded->recovered.quarantined) {
    EXPECT_TRUE(std::filesystem::exists(q.path)) << q.path;
    EXPECT_FALSE(q.reason.empty());
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/ledgers/leftover.json.tmp"));
  auto again = Start(**registry);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->records.size(), 2u);
  EXPECT_TRUE(again->recovered.quarantined.empty());
}

// Many records, read on several threads: every good one is loaded once,
// with its own contents, and every damaged one among them is quarantined.
TEST(LedgerRegistryTest, ManyRecordsLoadWithTheDamagedOnesQuarantined) {
  const std::string dir = TempDir("many");
  std::filesystem::remove_all(dir);
  auto registry = LedgerRegistry::Open(dir);
  ASSERT_TRUE(registry.ok()) << registry.status();
  constexpr int kRecords = 500;
  for (int i = 0; i < kRecords; ++i) {
    LedgerRecord record = SampleRecord();
    record.ledger_id = "jlinx:u" + std::to_string(i);
    record.state.head_number = i;
    ASSERT_TRUE((*registry)->Save(record, false).ok());
  }
  for (int i = 0; i < 7; ++i) {
    std::ofstream(dir + "/ledgers/damaged-" + std::to_string(i) + ".json") << "{\"format\": 1";
  }
  auto loaded = Start(**registry);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->records.size(), static_cast<size_t>(kRecords));
  std::vector<bool> seen(kRecords, false);
  for (const LedgerRecord& record : loaded->records) {
    const int i = std::stoi(record.ledger_id.substr(std::string("jlinx:u").size()));
    ASSERT_TRUE(i >= 0 && i < kRecords) << record.ledger_id;
    EXPECT_FALSE(seen[i]) << record.ledger_id << " loaded twice";
    seen[i] = true;
    EXPECT_EQ(record.state.head_number, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(loaded->recovered.quarantined.size(), 7u);
  for (const auto& q : loaded->recovered.quarantined) EXPECT_TRUE(std::filesystem::exists(q.path));
}

// Heads appended to the log win over older saved records at the next
// Recover (a killed agent), also from a rotated log that was never dropped;
// a torn last line is ignored; after DropHeadLogs the saved records alone
// carry the state.
TEST(LedgerRegistryTest, HeadLogIsReplayedAfterAKill) {
  const std::string dir = TempDir("headlog");
  LedgerRecord record = SampleRecord();
  record.state.head_number = 10;
  {
    auto registry = LedgerRegistry::Open(dir);
    ASSERT_TRUE(registry.ok()) << registry.status();
    ASSERT_TRUE((*registry)->Save(record, true).ok());
    ASSERT_TRUE(Start(**registry).ok());
    record.state.head_number = 11;
    ASSERT_TRUE((*registry)->AppendHead(record, false).ok());
    ASSERT_TRUE((*registry)->RotateHeadLog().ok());  // A flush that never finished.
    record.state.head_number = 12;
    ASSERT_TRUE((*registry)->AppendHead(record, false).ok());
    LedgerRecord other = SampleRecord();
    other.ledger_id = "jlinx:uNEW";
    other.state.head_number = 3;
    ASSERT_TRUE((*registry)->AppendHead(other, false).ok());
    std::ofstream(dir + "/heads.log", std::ios::app) << "{\"ledger\":\"jlinx:uAA";
  }
  {
    auto registry = LedgerRegistry::Open(dir);
    ASSERT_TRUE(registry.ok());
    auto loaded = Start(**registry);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_EQ(loaded->records.size(), 2u);
    for (const LedgerRecord& r : loaded->records) {
      EXPECT_EQ(r.state.head_number, r.ledger_id == "jlinx:uNEW" ? 3u : 12u);
    }
    EXPECT_FALSE(std::filesystem::exists(dir + "/heads.1.log"));
    // A checkpoint: rotate, save, drop.
    record.state.head_number = 13;
    ASSERT_TRUE((*registry)->AppendHead(record, false).ok());
    auto rotation = (*registry)->RotateHeadLog();
    ASSERT_TRUE(rotation.ok());
    ASSERT_TRUE((*registry)->Save(record, true).ok());
    ASSERT_TRUE((*registry)->DropHeadLogs(*rotation).ok());
    EXPECT_FALSE(std::filesystem::exists(dir + "/heads.1.log"));
  }
  auto registry = LedgerRegistry::Open(dir);
  auto loaded = Start(**registry);
  ASSERT_TRUE(loaded.ok());
  for (const LedgerRecord& r : loaded->records) {
    EXPECT_EQ(r.state.head_number, r.ledger_id == "jlinx:uNEW" ? 3u : 13u);
  }
}

// One record is read when the agent needs it: NotFound without a record,
// DataLoss for a record damaged after the start (without the file's path:
// the message reaches the agent's clients).
TEST(LedgerRegistryTest, LoadReadsOneRecord) {
  const std::string dir = TempDir("load-one");
  std::filesystem::remove_all(dir);
  auto registry = LedgerRegistry::Open(dir);
  ASSERT_TRUE(registry.ok()) << registry.status();
  ASSERT_TRUE((*registry)->Recover().ok());
  EXPECT_FALSE((*registry)->Contains(SampleRecord().ledger_id));
  absl::StatusOr<LedgerRecord> missing = (*registry)->Load(SampleRecord().ledger_id);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();

  ASSERT_TRUE((*registry)->Save(SampleRecord(), true).ok());
  EXPECT_TRUE((*registry)->Contains(SampleRecord().ledger_id));
  absl::StatusOr<LedgerRecord> loaded = (*registry)->Load(SampleRecord().ledger_id);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(LedgerRecordToJson(*loaded), LedgerRecordToJson(SampleRecord()));

  // Damaged after the start: Load says so and ForEachRecord skips it.
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/ledgers")) {
    std::ofstream(entry.path(), std::ios::trunc) << "{\"format\": 1";
  }
  absl::StatusOr<LedgerRecord> damaged = (*registry)->Load(SampleRecord().ledger_id);
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss) << damaged.status();
  EXPECT_THAT(std::string(damaged.status().message()),
              testing::HasSubstr("quarantined at the agent's next start"));
  EXPECT_THAT(std::string(damaged.status().message()), testing::Not(testing::HasSubstr(dir)));
  int visited = 0;
  absl::StatusOr<size_t> unreadable =
      (*registry)->ForEachRecord([&visited](LedgerRecord) { ++visited; });
  ASSERT_TRUE(unreadable.ok()) << unreadable.status();
  EXPECT_EQ(*unreadable, 1u);
  EXPECT_EQ(visited, 0);
}

TEST(LedgerRegistryTest, RemoveDeletesTheRecord) {
  auto registry = LedgerRegistry::Open(TempDir("remove"));
  ASSERT_TRUE(registry.ok()) << registry.status();
  ASSERT_TRUE((*registry)->Save(SampleRecord(), true).ok());
  ASSERT_TRUE((*registry)->Remove(SampleRecord().ledger_id).ok());
  ASSERT_TRUE((*registry)->Remove(SampleRecord().ledger_id).ok());
  EXPECT_TRUE(Start(**registry)->records.empty());
}

}  // namespace
}  // namespace microledger

namespace microledger {
namespace {

// Every proper prefix of a saved record (a write cut short anywhere) is
// DataLoss, never a record with missing members.
TEST(LedgerRecordFormatTest, EveryTruncationIsDataLoss) {
  const std::string text = LedgerRecordToJson(SampleRecord());
  ASSERT_TRUE(LedgerRecordFromJson(text).ok());
  for (size_t size = 0; size < text.size(); ++size) {
    absl::StatusOr<LedgerRecord> record = LedgerRecordFromJson(text.substr(0, size));
    EXPECT_EQ(record.status().code(), absl::StatusCode::kDataLoss) << "size " << size;
  }
}

TEST(LedgerRecordFormatTest, CarriesItsVersionAndRefusesOthers) {
  Json json = Json::parse(LedgerRecordToJson(SampleRecord()));
  EXPECT_EQ(json["format"], kLedgerRecordFormat);
  for (const Json& wrong : {Json(2), Json(0), Json(-1), Json("1"), Json(nullptr)}) {
    json["format"] = wrong;
    absl::StatusOr<LedgerRecord> record = LedgerRecordFromJson(json.dump());
    EXPECT_EQ(record.status().code(), absl::StatusCode::kDataLoss) << wrong.dump();
    EXPECT_EQ(record.status().message(), "ledger record: not of format version 1");
  }
}

// Records written before formats were numbered still load (version 1).
TEST(LedgerRecordFormatTest, RecordWithoutVersionIsVersionOne) {
  Json json = Json::parse(LedgerRecordToJson(SampleRecord()));
  json.erase("format");
  absl::StatusOr<LedgerRecord> record = LedgerRecordFromJson(json.dump());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(LedgerRecordToJson(*record), LedgerRecordToJson(SampleRecord()));
}

TEST(LedgerRecordFormatTest, RecordOfAnotherVersionIsQuarantined) {
  const std::string dir = TempDir("wrong-version");
  auto registry = LedgerRegistry::Open(dir);
  ASSERT_TRUE(registry.ok());
  ASSERT_TRUE((*registry)->Save(SampleRecord(), true).ok());
  ASSERT_TRUE(Start(**registry).ok());
  std::string path;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/ledgers")) {
    path = entry.path().string();
  }
  Json json = Json::parse(LedgerRecordToJson(SampleRecord()));
  json["format"] = 2;
  std::ofstream(path, std::ios::trunc) << json.dump();
  auto reopened = LedgerRegistry::Open(dir);
  auto loaded = Start(**reopened);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->records.empty());
  ASSERT_EQ(loaded->recovered.quarantined.size(), 1u);
  EXPECT_EQ(loaded->recovered.quarantined[0].reason, "ledger record: not of format version 1");
}

// A head-log line cut at any point, or of another version, is skipped and
// counted; the saved record stands.
TEST(LedgerRecordFormatTest, DamagedHeadLogLinesAreSkipped) {
  LedgerRecord newer = SampleRecord();
  newer.state.head_number = SampleRecord().state.head_number + 5;
  const std::string line = Json::parse(LedgerRecordToJson(newer)).dump();
  Json wrong_version = Json::parse(line);
  wrong_version["format"] = 2;
  std::vector<std::string> damaged = {wrong_version.dump()};
  for (size_t size = 1; size < line.size(); ++size) damaged.push_back(line.substr(0, size));
  for (size_t i = 0; i < damaged.size(); ++i) {
    const std::string dir = TempDir("headlog-damage-" + std::to_string(i));
    {
      auto registry = LedgerRegistry::Open(dir);
      ASSERT_TRUE(registry.ok());
      ASSERT_TRUE((*registry)->Save(SampleRecord(), true).ok());
      ASSERT_TRUE(Start(**registry).ok());
    }
    std::ofstream(dir + "/heads.log", std::ios::app) << damaged[i];
    auto registry = LedgerRegistry::Open(dir);
    auto loaded = Start(**registry);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_EQ(loaded->records.size(), 1u) << damaged[i];
    EXPECT_EQ(loaded->records[0].state.head_number, SampleRecord().state.head_number)
        << damaged[i];
    EXPECT_EQ(loaded->recovered.unreadable_head_lines, 1u) << damaged[i];
  }
}

}  // namespace
}  // namespace microledger

namespace microledger {
namespace {

// Strings that exercise JSON escaping: every ASCII byte, multi-byte UTF-8.
std::vector<std::string> AwkwardStrings() {
  std::string ascii;
  for (int c = 0; c < 0x80; ++c) ascii.push_back(static_cast<char>(c));
  return {"",
          ascii,
          "quote \" backslash \\ slash / tab \t newline \n",
          "\xc3\xa9t\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 \xef\xbb\xbf",
          std::string("nul \0 inside", 12),
          "\x7f del"};
}

// The head-log line is written without a JSON tree, but must be exactly what
// nlohmann::json writes for the record, and read back as the same record.
TEST(LedgerRecordLineTest, IsTheCompactJsonOfTheRecordByteForByte) {
  std::vector<LedgerRecord> records;
  records.push_back(SampleRecord());
  uint64_t seed = 7;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  const std::vector<std::string> awkward = AwkwardStrings();
  for (int i = 0; i < 200; ++i) {
    LedgerRecord r = SampleRecord();
    auto pick = [&] { return awkward[next() % awkward.size()]; };
    auto bytes = [&] {
      std::string b(next() % 100, '\0');
      for (char& c : b) c = static_cast<char>(next());
      return b;
    };
    r.ledger_id = pick() + "jlinx:u" + std::to_string(i);
    r.host_address = pick();
    r.ledger_token = bytes();
    r.document_type = pick();
    r.original_id = pick();
    r.moved_to = pick();
    r.state.head_number = i % 3 == 0 ? UINT64_MAX : next();
    r.state.head_time_millis = i % 5 == 0 ? INT64_MIN : static_cast<int64_t>(next()) - 1000000;
    r.state.head_fingerprint = pick();
    r.state.controllers.threshold = static_cast<int>(next() % 5);
    r.state.controllers.keys.clear();
    for (uint64_t k = next() % 4; k > 0; --k) r.state.controllers.keys.push_back(pick());
    r.state.terminal_event = pick();
    r.checkpoint = pick() + "\n2\nroot\n\n\xe2\x80\x94 sig\n";
    r.frontier = bytes();
    r.previous_frontier = bytes();
    r.equivocation = next() % 2 == 0;
    r.evidence_id = pick();
    r.move_host = pick();
    r.move_new_id = pick();
    r.move_token = bytes();
    r.move_new_key = pick();
    r.move_block_fingerprint = pick();
    records.push_back(r);
  }
  for (const LedgerRecord& r : records) {
    const std::string line = LedgerRecordToLine(r);
    EXPECT_EQ(line, Json::parse(LedgerRecordToJson(r)).dump()) << r.ledger_id;
    absl::StatusOr<LedgerRecord> back = LedgerRecordFromJson(line);
    ASSERT_TRUE(back.ok()) << back.status() << " " << line;
    EXPECT_EQ(LedgerRecordToJson(*back), LedgerRecordToJson(r));
  }
}

// A string that is not UTF-8 (never made by the agent) cannot crash the
// writer; its line does not parse, so a replay skips it.
TEST(LedgerRecordLineTest, InvalidUtf8MakesALineThatDoesNotParse) {
  LedgerRecord r = SampleRecord();
  r.document_type = "\xff\xfe";
  const std::string line = LedgerRecordToLine(r);
  EXPECT_EQ(LedgerRecordFromJson(line).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace microledger
