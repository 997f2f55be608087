// The host's on-disk records (storage_layout.h): round trips, the byte layout,
// one corruption case per truncation point and per wrong version, and the
// records written before the Merkle frontier carried a version.
#include "ledger_store/storage_layout.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/fixed_coding.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

HeadRecord SampleHeadRecord() {
  HeadRecord record;
  record.state.ledger = "jlinx:uabc";
  record.state.head_number = 42;
  record.state.head_fingerprint = "ufp";
  record.state.head_time_millis = 1700000000123;
  record.state.controllers.threshold = 2;
  record.state.controllers.keys = {"ukey1", "ukey2"};
  record.state.terminal_event = "closed document";
  for (int i = 0; i < 42; ++i) {
    MerkleHash leaf{};
    leaf[0] = static_cast<uint8_t>(i);
    record.frontier.Append(leaf);
  }
  record.nonce = std::string("\x00\x01nonce", 7);
  return record;
}

Tombstone SampleTombstone() {
  Tombstone tombstone;
  tombstone.forgotten_at_millis = 1700000000123;
  tombstone.head_number = 9;
  tombstone.head_fingerprint = "ufp";
  return tombstone;
}

// A record's fields in order, as (name, encoded size), to name the
// truncation points.
using Fields = std::vector<std::pair<std::string, size_t>>;

void AddString(Fields& fields, const std::string& name, size_t size) {
  fields.emplace_back(name + " length", 4);
  if (size > 0) fields.emplace_back(name, size);
}

Fields HeadRecordFields(const HeadRecord& record) {
  Fields fields = {{"version", 1}, {"head number", 8}, {"head time", 8}, {"threshold", 4}};
  AddString(fields, "ledger", record.state.ledger.size());
  AddString(fields, "head fingerprint", record.state.head_fingerprint.size());
  AddString(fields, "terminal event", record.state.terminal_event.size());
  AddString(fields, "frontier", record.frontier.Serialize().size());
  AddString(fields, "nonce", record.nonce.size());
  fields.emplace_back("key count", 4);
  for (size_t i = 0; i < record.state.controllers.keys.size(); ++i) {
    AddString(fields, absl::StrCat("key ", i), record.state.controllers.keys[i].size());
  }
  return fields;
}

Fields TombstoneFields(const Tombstone& tombstone) {
  Fields fields = {{"version", 1}, {"forgotten at", 8}, {"head number", 8}};
  AddString(fields, "head fingerprint", tombstone.head_fingerprint.size());
  fields.emplace_back("evidence count", 4);
  return fields;
}

// A truncation point: the record cut to `length` bytes.
struct Truncation {
  std::string name;
  size_t length = 0;
};

// For each field: the record cut just before it, and (for fields of more
// than one byte) one byte short of its end.
std::vector<Truncation> TruncationsOf(const Fields& fields) {
  std::vector<Truncation> out;
  size_t offset = 0;
  for (const auto& [name, size] : fields) {
    out.push_back({absl::StrCat(name, " missing"), offset});
    if (size > 1) out.push_back({absl::StrCat(name, " one byte short"), offset + size - 1});
    offset += size;
  }
  return out;
}

std::string TestName(const ::testing::TestParamInfo<Truncation>& info) {
  std::string name;
  for (char c : info.param.name) {
    name.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) ? c : '_');
  }
  return name;
}

TEST(StorageLayoutTest, HeadRecordRoundTrips) {
  const HeadRecord record = SampleHeadRecord();
  const std::string bytes = EncodeHeadRecord(record);
  absl::StatusOr<HeadRecord> back = DecodeHeadRecord(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state.ledger, record.state.ledger);
  EXPECT_EQ(back->state.head_number, 42u);
  EXPECT_EQ(back->state.head_fingerprint, "ufp");
  EXPECT_EQ(back->state.head_time_millis, 1700000000123);
  EXPECT_EQ(back->state.controllers, record.state.controllers);
  EXPECT_EQ(back->state.terminal_event, "closed document");
  EXPECT_EQ(back->frontier.Serialize(), record.frontier.Serialize());
  EXPECT_EQ(back->nonce, record.nonce);
}

TEST(StorageLayoutTest, HeadRecordLayoutIsTheFieldsInOrder) {
  const HeadRecord record = SampleHeadRecord();
  const std::string bytes = EncodeHeadRecord(record);
  size_t total = 0;
  for (const auto& field : HeadRecordFields(record)) total += field.second;
  EXPECT_EQ(bytes.size(), total);
  EXPECT_EQ(bytes[0], '\x01');
  EXPECT_EQ(bytes.substr(1, 8), std::string("\0\0\0\0\0\0\0\x2a", 8));
}

// Head records written before the frontier carried a version byte hold the
// unversioned (version 0) frontier; they still load.
TEST(StorageLayoutTest, HeadRecordWithAnUnversionedFrontierStillLoads) {
  const HeadRecord record = SampleHeadRecord();
  const ChainState& s = record.state;
  std::string bytes;
  PutFixed8(bytes, 0x01);
  PutFixed64BE(bytes, s.head_number);
  PutFixed64BE(bytes, static_cast<uint64_t>(s.head_time_millis));
  PutFixed32BE(bytes, static_cast<uint32_t>(s.controllers.threshold));
  PutLengthPrefixed(bytes, s.ledger);
  PutLengthPrefixed(bytes, s.head_fingerprint);
  PutLengthPrefixed(bytes, s.terminal_event);
  PutLengthPrefixed(bytes, record.frontier.Serialize().substr(1));
  PutLengthPrefixed(bytes, record.nonce);
  PutFixed32BE(bytes, static_cast<uint32_t>(s.controllers.keys.size()));
  for (const std::string& key : s.controllers.keys) PutLengthPrefixed(bytes, key);
  absl::StatusOr<HeadRecord> back = DecodeHeadRecord(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->frontier.Root(), record.frontier.Root());
  EXPECT_EQ(back->frontier.size(), 42u);
  EXPECT_EQ(EncodeHeadRecord(*back), EncodeHeadRecord(record));
}

void ExpectCorrupt(const absl::StatusOr<HeadRecord>& decoded, absl::string_view what) {
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << what;
}

TEST(StorageLayoutTest, HeadRecordRefusesOtherVersions) {
  const std::string bytes = EncodeHeadRecord(SampleHeadRecord());
  for (int version : {0x00, 0x02, 0xff}) {
    std::string other = bytes;
    other[0] = static_cast<char>(version);
    ExpectCorrupt(DecodeHeadRecord(other), absl::StrCat("version ", version));
  }
}

TEST(StorageLayoutTest, HeadRecordRefusesAFrontierOfAnUnknownVersion) {
  HeadRecord record = SampleHeadRecord();
  std::string bytes = EncodeHeadRecord(record);
  const std::string frontier = record.frontier.Serialize();
  const size_t at = bytes.find(frontier);
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\x02';
  absl::StatusOr<HeadRecord> decoded = DecodeHeadRecord(bytes);
  ExpectCorrupt(decoded, "frontier version 2");
  EXPECT_EQ(decoded.status().message(), "storage: corrupt head record frontier");
}

TEST(StorageLayoutTest, HeadRecordRefusesAFrontierLengthMismatch) {
  HeadRecord record = SampleHeadRecord();
  std::string bytes = EncodeHeadRecord(record);
  const std::string frontier = record.frontier.Serialize();
  const size_t at = bytes.find(frontier);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] = static_cast<char>(bytes[at + 8] + 1);  // size 43: four hashes
  ExpectCorrupt(DecodeHeadRecord(bytes), "frontier size 43 with three hashes");
}

TEST(StorageLayoutTest, HeadRecordRefusesAKeyCountPastTheEnd) {
  std::string bytes = EncodeHeadRecord(SampleHeadRecord());
  // The key count sits before the two keys (4 + 5 bytes each).
  const size_t count_at = bytes.size() - 2 * (4 + 5) - 4;
  ASSERT_EQ(bytes.substr(count_at, 4), std::string("\0\0\0\2", 4));
  bytes[count_at + 3] = 3;
  ExpectCorrupt(DecodeHeadRecord(bytes), "three keys announced, two present");
}

TEST(StorageLayoutTest, HeadRecordRefusesTrailingBytes) {
  ExpectCorrupt(DecodeHeadRecord(EncodeHeadRecord(SampleHeadRecord()) + "x"),
                "a byte more");
}

TEST(StorageLayoutTest, HeadRecordRefusesEveryPrefix) {
  const std::string bytes = EncodeHeadRecord(SampleHeadRecord());
  for (size_t length = 0; length < bytes.size(); ++length) {
    ExpectCorrupt(DecodeHeadRecord(bytes.substr(0, length)), absl::StrCat("length ", length));
  }
}

class HeadRecordTruncationTest : public ::testing::TestWithParam<Truncation> {};

TEST_P(HeadRecordTruncationTest, IsCorrupt) {
  const std::string bytes = EncodeHeadRecord(SampleHeadRecord());
  ASSERT_LT(GetParam().length, bytes.size());
  absl::StatusOr<HeadRecord> decoded = DecodeHeadRecord(bytes.substr(0, GetParam().length));
  ExpectCorrupt(decoded, GetParam().name);
  EXPECT_EQ(decoded.status().message(), "storage: corrupt head record");
}

INSTANTIATE_TEST_SUITE_P(EveryField, HeadRecordTruncationTest,
                         ::testing::ValuesIn(TruncationsOf(HeadRecordFields(SampleHeadRecord()))),
                         TestName);

TEST(StorageLayoutTest, TombstoneRoundTrips) {
  const Tombstone tombstone = SampleTombstone();
  const std::string bytes = EncodeTombstone(tombstone);
  size_t total = 0;
  for (const auto& field : TombstoneFields(tombstone)) total += field.second;
  EXPECT_EQ(bytes.size(), total);
  absl::StatusOr<Tombstone> back = DecodeTombstone(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->forgotten_at_millis, 1700000000123);
  EXPECT_EQ(back->head_number, 9u);
  EXPECT_EQ(back->head_fingerprint, "ufp");
}

// The bytes the first tombstone writer produced (it always wrote an evidence
// count of 0) still decode, and are what the encoder writes today.
TEST(StorageLayoutTest, TombstoneOfTheFirstLayoutStillDecodes) {
  std::string bytes;
  PutFixed8(bytes, 0x01);
  PutFixed64BE(bytes, 1700000000123);
  PutFixed64BE(bytes, 9);
  PutLengthPrefixed(bytes, "ufp");
  PutFixed32BE(bytes, 0);
  absl::StatusOr<Tombstone> back = DecodeTombstone(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->head_number, 9u);
  EXPECT_EQ(EncodeTombstone(*back), bytes);
}

TEST(StorageLayoutTest, TombstoneRefusesOtherVersions) {
  const std::string bytes = EncodeTombstone(SampleTombstone());
  for (int version : {0x00, 0x02, 0xff}) {
    std::string other = bytes;
    other[0] = static_cast<char>(version);
    EXPECT_EQ(DecodeTombstone(other).status().code(), absl::StatusCode::kDataLoss)
        << "version " << version;
  }
}

// Evidence lives in the evidence table: a tombstone that claims to carry
// evidence objects was never written by any version and is corrupt.
TEST(StorageLayoutTest, TombstoneRefusesTrailingBytesAndEvidenceObjects) {
  const std::string bytes = EncodeTombstone(SampleTombstone());
  EXPECT_EQ(DecodeTombstone(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  std::string with_evidence = bytes;
  const size_t count_at = 1 + 8 + 8 + 4 + 3;
  ASSERT_EQ(with_evidence.substr(count_at, 4), std::string("\0\0\0\0", 4));
  with_evidence[count_at + 3] = 1;
  PutLengthPrefixed(with_evidence, "{}");
  EXPECT_EQ(DecodeTombstone(with_evidence).status().code(), absl::StatusCode::kDataLoss);
}

class TombstoneTruncationTest : public ::testing::TestWithParam<Truncation> {};

TEST_P(TombstoneTruncationTest, IsCorrupt) {
  const std::string bytes = EncodeTombstone(SampleTombstone());
  ASSERT_LT(GetParam().length, bytes.size());
  absl::StatusOr<Tombstone> decoded = DecodeTombstone(bytes.substr(0, GetParam().length));
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decoded.status().message(), "storage: corrupt tombstone");
}

INSTANTIATE_TEST_SUITE_P(EveryField, TombstoneTruncationTest,
                         ::testing::ValuesIn(TruncationsOf(TombstoneFields(SampleTombstone()))),
                         TestName);

TEST(StorageLayoutTest, TombstoneAndEvidenceAreOutsideTheRangesAForgetDeletes) {
  const std::string key(32, '\x5a');
  const std::string kept[] = {TombstoneKey(key), EvidenceKey(key, 0),
                              EvidenceKey(key, ~uint64_t{0}),
                              EvidenceIdKey(key, std::string(34, '\xff')),
                              EvidenceCountKey(key)};
  for (const auto& [begin, end] : LedgerKeyRanges(key)) {
    for (const std::string& k : kept) EXPECT_FALSE(begin <= k && k < end);
  }
}

TEST(StorageLayoutTest, EvidenceObjectsSortInTheOrderReceivedAndStayInTheirRange) {
  const std::string key(32, '\xff');
  const auto [begin, end] = EvidenceKeyRange(key);
  EXPECT_LT(EvidenceKey(key, 9), EvidenceKey(key, 10));
  for (uint64_t seq : {uint64_t{0}, uint64_t{1} << 40, ~uint64_t{0}}) {
    EXPECT_LE(begin, EvidenceKey(key, seq));
    EXPECT_LT(EvidenceKey(key, seq), end);
  }
  // The index, the count and the next ledger's objects are not in the range.
  for (const std::string& other :
       {EvidenceIdKey(key, std::string(34, '\0')), EvidenceCountKey(key),
        EvidenceKey(std::string(32, '\x01'), 0)}) {
    EXPECT_FALSE(begin <= other && other < end);
  }
}

TEST(StorageLayoutTest, KeysSortByNumber) {
  const std::string key(32, '\x01');
  EXPECT_LT(BlockKey(key, 255), BlockKey(key, 256));
  EXPECT_LT(CheckpointKey(key, 1), CheckpointKey(key, 1 << 20));
  EXPECT_EQ(NodeKey(key, 3, 7).size(), 1 + 32 + 1 + 8);
}

TEST(StorageLayoutTest, AttachmentRoundTripsAndRefusesATruncatedName) {
  const std::string bytes = EncodeAttachment("invoice.pdf", std::string("\0%PDF", 5));
  absl::StatusOr<StoredAttachment> back = DecodeAttachment(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, "invoice.pdf");
  EXPECT_EQ(back->data, std::string("\0%PDF", 5));
  EXPECT_EQ(DecodeAttachment(bytes.substr(0, 3)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeAttachment(bytes.substr(0, 4 + 10)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(StorageLayoutTest, CosignatureRecordsRoundTripAndRefuseDamage) {
  const CosignatureRecord record{42, "\xE2\x80\x94 witness.example AAAA\n"};
  const std::string bytes = EncodeCosignatureRecord(record);
  absl::StatusOr<CosignatureRecord> decoded = DecodeCosignatureRecord(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->tree_size, 42u);
  EXPECT_EQ(decoded->line, record.line);
  EXPECT_EQ(bytes[0], '\x01');
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_EQ(DecodeCosignatureRecord(bytes.substr(0, length)).status().code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(DecodeCosignatureRecord(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCosignatureRecord("\x02" + bytes.substr(1)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(StorageLayoutTest, WitnessedRecordsRoundTripAndRefuseDamage) {
  const WitnessedRecord record{7, {"line one\n", "line two\n"}};
  const std::string bytes = EncodeWitnessedRecord(record);
  absl::StatusOr<WitnessedRecord> decoded = DecodeWitnessedRecord(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->tree_size, 7u);
  EXPECT_EQ(decoded->lines, record.lines);
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_EQ(DecodeWitnessedRecord(bytes.substr(0, length)).status().code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_EQ(DecodeWitnessedRecord(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
}

TEST(StorageLayoutTest, WitnessKeysAreLedgerDataThatAForgetDeletes) {
  const std::string key(32, '\x5a');
  const std::string deleted[] = {CosignatureKey(key, "\xff\xff\xff\xff", "w"),
                                 CosignatureKey(key, std::string(4, '\0'), "a"),
                                 WitnessedKey(key)};
  for (const std::string& k : deleted) {
    bool in_a_range = false;
    for (const auto& [begin, end] : LedgerKeyRanges(key)) {
      in_a_range = in_a_range || (begin <= k && k < end);
    }
    EXPECT_TRUE(in_a_range);
  }
  const auto [begin, end] = CosignatureKeyRange(key);
  EXPECT_TRUE(begin <= deleted[0] && deleted[0] < end);
  EXPECT_FALSE(begin <= WitnessedKey(key) && WitnessedKey(key) < end);
  EXPECT_FALSE(begin <= CosignatureKey(std::string(32, '\x5b'), std::string(4, '\0'), "a") &&
               CosignatureKey(std::string(32, '\x5b'), std::string(4, '\0'), "a") < end);
}

}  // namespace
}  // namespace microledger
