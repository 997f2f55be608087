#include "ledger_store/merkle_node_cache.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

const std::string kLedgerA(32, 'a');
const std::string kLedgerB(32, 'b');

MerkleHash HashOf(absl::string_view ledger_key, const MerkleNodeId& id) {
  return HashMerkleLeaf(absl::StrCat(ledger_key, "/", id.level, "/", id.index));
}

void InsertNode(MerkleNodeCache& cache, absl::string_view ledger_key,
                const MerkleNodeId& id) {
  const std::pair<MerkleNodeId, MerkleHash> node(id, HashOf(ledger_key, id));
  cache.Insert(ledger_key, {&node, 1});
}

bool IsCached(MerkleNodeCache& cache, absl::string_view ledger_key,
              const MerkleNodeId& id) {
  MerkleNodeSet nodes;
  if (!cache.Lookup(ledger_key, {&id, 1}, nodes).empty()) return false;
  EXPECT_EQ(nodes.ReadNode(id.level, id.index).value(), HashOf(ledger_key, id));
  return true;
}

TEST(MerkleNodeCacheTest, LookupReturnsCachedNodesAndTheMissingIds) {
  MerkleNodeCache cache(1 << 10);
  InsertNode(cache, kLedgerA, {0, 4});
  InsertNode(cache, kLedgerA, {3, 1});
  InsertNode(cache, kLedgerB, {0, 5});
  const std::vector<MerkleNodeId> ids = {{0, 5}, {3, 1}, {0, 4}, {1, 4}};
  MerkleNodeSet nodes;
  const std::vector<MerkleNodeId> missing = cache.Lookup(kLedgerA, ids, nodes);
  EXPECT_EQ(missing, (std::vector<MerkleNodeId>{{0, 5}, {1, 4}}));
  EXPECT_EQ(nodes.ReadNode(3, 1).value(), HashOf(kLedgerA, {3, 1}));
  EXPECT_EQ(nodes.ReadNode(0, 4).value(), HashOf(kLedgerA, {0, 4}));
  EXPECT_FALSE(nodes.ReadNode(0, 5).ok());
  EXPECT_TRUE(IsCached(cache, kLedgerB, {0, 5}));
}

TEST(MerkleNodeCacheTest, EraseLedgerDropsOnlyThatLedger) {
  MerkleNodeCache cache(1 << 10);
  for (uint64_t index = 0; index < 8; ++index) {
    InsertNode(cache, kLedgerA, {0, index});
    InsertNode(cache, kLedgerB, {0, index});
  }
  cache.EraseLedger(kLedgerA);
  for (uint64_t index = 0; index < 8; ++index) {
    EXPECT_FALSE(IsCached(cache, kLedgerA, {0, index}));
    EXPECT_TRUE(IsCached(cache, kLedgerB, {0, index}));
  }
}

TEST(MerkleNodeCacheTest, KeepsAtMostItsCapacityAndTheNewestNodes) {
  const size_t capacity = 512;  // Generations of 512 / 32 = 16 nodes.
  MerkleNodeCache cache(capacity);
  for (uint64_t index = 0; index < 1000; ++index) InsertNode(cache, kLedgerA, {0, index});
  // Lookups move nodes between generations: check the newest first.
  for (uint64_t index = 1000 - 16; index < 1000; ++index) {
    EXPECT_TRUE(IsCached(cache, kLedgerA, {0, index})) << index;
  }
  size_t cached = 0;
  for (uint64_t index = 0; index < 1000; ++index) {
    if (IsCached(cache, kLedgerA, {0, index})) ++cached;
  }
  EXPECT_LE(cached, capacity);
}

TEST(MerkleNodeCacheTest, NodesFoundInTheOlderGenerationSurviveARotation) {
  MerkleNodeCache cache(512);  // Generations of 16 nodes.
  for (uint64_t index = 0; index < 16; ++index) InsertNode(cache, kLedgerA, {0, index});
  // All 16 are now the older generation; finding one makes it recent.
  EXPECT_TRUE(IsCached(cache, kLedgerA, {0, 0}));
  for (uint64_t index = 100; index < 115; ++index) InsertNode(cache, kLedgerA, {0, index});
  EXPECT_TRUE(IsCached(cache, kLedgerA, {0, 0}));
  EXPECT_FALSE(IsCached(cache, kLedgerA, {0, 1}));
  EXPECT_TRUE(IsCached(cache, kLedgerA, {0, 114}));
}

TEST(MerkleNodeCacheTest, TooSmallACapacityCachesNothing) {
  MerkleNodeCache cache(31);
  InsertNode(cache, kLedgerA, {0, 1});
  EXPECT_FALSE(IsCached(cache, kLedgerA, {0, 1}));
}

}  // namespace
}  // namespace microledger
