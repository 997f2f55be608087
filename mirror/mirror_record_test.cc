#include "mirror/mirror_record.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(MirrorRecordTest, RoundTripsAndRefusesDamage) {
  MirrorRecord record;
  record.ledger_id = "jlinx:uAAAA";
  record.upstream = "127.0.0.1:7400";
  record.mode = MirrorMode::kSparse;
  record.following = false;
  record.tail_start = 0;
  record.fetched = {{1, 1}, {5, 9}};
  record.last_used_millis = 1790000000123;
  const std::string bytes = EncodeMirrorRecord(record);
  absl::StatusOr<MirrorRecord> decoded = DecodeMirrorRecord(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->ledger_id, record.ledger_id);
  EXPECT_EQ(decoded->upstream, record.upstream);
  EXPECT_EQ(decoded->mode, MirrorMode::kSparse);
  EXPECT_FALSE(decoded->following);
  EXPECT_EQ(decoded->fetched, record.fetched);
  EXPECT_EQ(decoded->last_used_millis, record.last_used_millis);
  // Every truncation, a trailing byte, another version and a bad mode fail.
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(DecodeMirrorRecord(bytes.substr(0, size)).ok()) << size;
  }
  EXPECT_FALSE(DecodeMirrorRecord(bytes + "x").ok());
  std::string version = bytes;
  version[0] = 2;
  EXPECT_FALSE(DecodeMirrorRecord(version).ok());
  std::string mode = bytes;
  mode[1] = 4;
  EXPECT_FALSE(DecodeMirrorRecord(mode).ok());
}

TEST(SpansTest, AddMergesOverlappingAndAdjacentSpans) {
  std::vector<BlockSpan> spans;
  AddSpan(spans, {5, 6});
  AddSpan(spans, {1, 1});
  AddSpan(spans, {9, 12});
  EXPECT_EQ(spans, (std::vector<BlockSpan>{{1, 1}, {5, 6}, {9, 12}}));
  AddSpan(spans, {7, 8});  // Adjacent on both sides.
  EXPECT_EQ(spans, (std::vector<BlockSpan>{{1, 1}, {5, 12}}));
  AddSpan(spans, {2, 4});
  EXPECT_EQ(spans, (std::vector<BlockSpan>{{1, 12}}));
  AddSpan(spans, {20, 20});
  AddSpan(spans, {3, 25});
  EXPECT_EQ(spans, (std::vector<BlockSpan>{{1, 25}}));
}

TEST(SpansTest, CoverNeedsOneSpanHoldingTheWholeRange) {
  const std::vector<BlockSpan> spans = {{1, 1}, {4, 9}};
  EXPECT_TRUE(SpansCover(spans, 1, 1));
  EXPECT_TRUE(SpansCover(spans, 4, 9));
  EXPECT_TRUE(SpansCover(spans, 5, 7));
  EXPECT_FALSE(SpansCover(spans, 1, 4));
  EXPECT_FALSE(SpansCover(spans, 2, 2));
  EXPECT_FALSE(SpansCover(spans, 9, 10));
  EXPECT_FALSE(SpansCover({}, 1, 1));
}

}  // namespace
}  // namespace microledger
