// Merkle tree properties at every size up to a bound, against the naive
// recursive definitions of RFC 9162 §2.1, and the node reads of stored trees.
#include "common/merkle.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

void FlipBit(MerkleHash& hash, int bit) { hash[bit / 8] ^= 1 << (bit % 8); }

// The naive recursive definitions of RFC 9162 §2.1, over leaf hashes
// [begin, end).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

MerkleHash NaiveRoot(const std::vector<MerkleHash>& leaves, uint64_t begin,
                     uint64_t end) {
  if (begin == end) return EmptyMerkleRoot();
  if (end - begin == 1) return leaves[begin];
  const uint64_t middle = begin + SplitPoint(end - begin);
  return HashMerkleChildren(NaiveRoot(leaves, begin, middle),
                            NaiveRoot(leaves, middle, end));
}

std::vector<MerkleHash> NaivePath(const std::vector<MerkleHash>& leaves,
                                  uint64_t m, uint64_t begin, uint64_t end) {
  if (end - begin <= 1) return {};
  const uint64_t k = SplitPoint(end - begin);
  std::vector<MerkleHash> path;
  if (m < k) {
    path = NaivePath(leaves, m, begin, begin + k);
    path.push_back(NaiveRoot(leaves, begin + k, end));
  } else {
    path = NaivePath(leaves, m - k, begin + k, end);
    path.push_back(NaiveRoot(leaves, begin, begin + k));
  }
  return path;
}

std::vector<MerkleHash> NaiveSubproof(const std::vector<MerkleHash>& leaves,
                                      uint64_t m, uint64_t begin, uint64_t end,
                                      bool complete) {
  if (m == end - begin) {
    if (complete) return {};
    return {NaiveRoot(leaves, begin, end)};
  }
  const uint64_t k = SplitPoint(end - begin);
  std::vector<MerkleHash> proof;
  if (m <= k) {
    proof = NaiveSubproof(leaves, m, begin, begin + k, complete);
    proof.push_back(NaiveRoot(leaves, begin + k, end));
  } else {
    proof = NaiveSubproof(leaves, m - k, begin + k, end, false);
    proof.push_back(NaiveRoot(leaves, begin, begin + k));
  }
  return proof;
}

constexpr uint64_t kMaxSize = 300;

// A tree of kMaxSize leaves with naive roots of every prefix.
class MerklePropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t i = 0; i < kMaxSize; ++i) {
      const std::string data = absl::StrCat("leaf ", i);
      tree_.AppendLeaf(data);
      leaves_.push_back(HashMerkleLeaf(data));
    }
    for (uint64_t size = 0; size <= kMaxSize; ++size) {
      roots_.push_back(NaiveRoot(leaves_, 0, size));
    }
  }

  std::vector<MerkleHash> InclusionProof(uint64_t index, uint64_t size) {
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleInclusionProof(tree_, index, size);
    EXPECT_TRUE(proof.ok()) << proof.status();
    return proof.ok() ? *proof : std::vector<MerkleHash>();
  }

  std::vector<MerkleHash> ConsistencyProof(uint64_t old_size,
                                           uint64_t new_size) {
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleConsistencyProof(tree_, old_size, new_size);
    EXPECT_TRUE(proof.ok()) << proof.status();
    return proof.ok() ? *proof : std::vector<MerkleHash>();
  }

  // Every single-bit change to the proof, the leaf hash or the root, a wrong
  // index or size, and a truncated or extended proof all fail verification.
  void ExpectInclusionTamperingFails(uint64_t index, uint64_t size) {
    const std::vector<MerkleHash> proof = InclusionProof(index, size);
    const MerkleHash& leaf = leaves_[index];
    const MerkleHash& root = roots_[size];
    ASSERT_TRUE(VerifyMerkleInclusion(leaf, index, size, proof, root).ok());
    for (size_t i = 0; i < proof.size(); ++i) {
      for (int bit = 0; bit < 256; ++bit) {
        std::vector<MerkleHash> bad_proof = proof;
        FlipBit(bad_proof[i], bit);
        ASSERT_FALSE(
            VerifyMerkleInclusion(leaf, index, size, bad_proof, root).ok())
            << "index " << index << " size " << size << " element " << i;
      }
    }
    for (int bit = 0; bit < 256; ++bit) {
      MerkleHash bad_leaf = leaf;
      FlipBit(bad_leaf, bit);
      ASSERT_FALSE(VerifyMerkleInclusion(bad_leaf, index, size, proof, root).ok());
      MerkleHash bad_root = root;
      FlipBit(bad_root, bit);
      ASSERT_FALSE(VerifyMerkleInclusion(leaf, index, size, proof, bad_root).ok());
    }
    for (uint64_t other = 0; other < size + 2; ++other) {
      if (other == index) continue;
      ASSERT_FALSE(VerifyMerkleInclusion(leaf, other, size, proof, root).ok())
          << "index " << index << " as " << other << " size " << size;
    }
    for (uint64_t other = 1; other <= kMaxSize; ++other) {
      if (other == size) continue;
      ASSERT_FALSE(
          VerifyMerkleInclusion(leaf, index, other, proof, roots_[other]).ok())
          << "index " << index << " size " << size << " as " << other;
    }
    std::vector<MerkleHash> longer = proof;
    longer.push_back(root);
    ASSERT_FALSE(VerifyMerkleInclusion(leaf, index, size, longer, root).ok());
    if (!proof.empty()) {
      std::vector<MerkleHash> shorter(proof.begin(), proof.end() - 1);
      ASSERT_FALSE(VerifyMerkleInclusion(leaf, index, size, shorter, root).ok());
    }
  }

  void ExpectConsistencyTamperingFails(uint64_t old_size, uint64_t new_size) {
    const std::vector<MerkleHash> proof = ConsistencyProof(old_size, new_size);
    const MerkleHash& old_root = roots_[old_size];
    const MerkleHash& new_root = roots_[new_size];
    ASSERT_TRUE(
        VerifyMerkleConsistency(old_size, new_size, old_root, new_root, proof)
            .ok());
    for (size_t i = 0; i < proof.size(); ++i) {
      for (int bit = 0; bit < 256; ++bit) {
        std::vector<MerkleHash> bad_proof = proof;
        FlipBit(bad_proof[i], bit);
        ASSERT_FALSE(VerifyMerkleConsistency(old_size, new_size, old_root,
                                             new_root, bad_proof)
                         .ok())
            << old_size << " -> " << new_size << " element " << i;
      }
    }
    for (int bit = 0; bit < 256; ++bit) {
      MerkleHash bad_old_root = old_root;
      FlipBit(bad_old_root, bit);
      ASSERT_FALSE(VerifyMerkleConsistency(old_size, new_size, bad_old_root,
                                           new_root, proof)
                       .ok());
      MerkleHash bad_new_root = new_root;
      FlipBit(bad_new_root, bit);
      ASSERT_FALSE(VerifyMerkleConsistency(old_size, new_size, old_root,
                                           bad_new_root, proof)
                       .ok());
    }
    for (uint64_t other = 1; other <= new_size; ++other) {
      if (other == old_size) continue;
      ASSERT_FALSE(VerifyMerkleConsistency(other, new_size, roots_[other],
                                           new_root, proof)
                       .ok())
          << old_size << " as " << other << " -> " << new_size;
    }
    for (uint64_t other = old_size; other <= kMaxSize; ++other) {
      if (other == new_size) continue;
      ASSERT_FALSE(VerifyMerkleConsistency(old_size, other, old_root,
                                           roots_[other], proof)
                       .ok())
          << old_size << " -> " << new_size << " as " << other;
    }
    std::vector<MerkleHash> longer = proof;
    longer.push_back(new_root);
    ASSERT_FALSE(
        VerifyMerkleConsistency(old_size, new_size, old_root, new_root, longer)
            .ok());
    if (!proof.empty()) {
      std::vector<MerkleHash> shorter(proof.begin(), proof.end() - 1);
      ASSERT_FALSE(VerifyMerkleConsistency(old_size, new_size, old_root,
                                           new_root, shorter)
                       .ok());
    }
  }

  MemoryMerkleTree tree_;
  std::vector<MerkleHash> leaves_;
  std::vector<MerkleHash> roots_;  // roots_[size], computed naively
  std::mt19937_64 random_{20240607};
};

TEST_F(MerklePropertyTest, RootsAgreeAtEverySize) {
  MerkleFrontier frontier;
  MemoryMerkleTree growing;
  for (uint64_t size = 0; size <= kMaxSize; ++size) {
    ASSERT_EQ(frontier.size(), size);
    ASSERT_EQ(growing.size(), size);
    ASSERT_EQ(frontier.Root(), roots_[size]) << "size " << size;
    ASSERT_EQ(growing.Root(), roots_[size]) << "size " << size;
    absl::StatusOr<MerkleHash> root = MerkleRootAt(growing, size);
    ASSERT_TRUE(root.ok()) << root.status();
    ASSERT_EQ(*root, roots_[size]) << "size " << size;
    if (size < kMaxSize) {
      frontier.Append(leaves_[size]);
      growing.AppendLeaf(absl::StrCat("leaf ", size));
    }
  }
  for (uint64_t size = 0; size <= kMaxSize; ++size) {
    absl::StatusOr<MerkleHash> root = MerkleRootAt(tree_, size);
    ASSERT_TRUE(root.ok()) << root.status();
    ASSERT_EQ(*root, roots_[size]) << "size " << size;
  }
}

TEST_F(MerklePropertyTest, AppendedNodesAreThePerfectSubtrees) {
  MerkleFrontier frontier;
  for (uint64_t size = 0; size < kMaxSize; ++size) {
    for (const auto& [id, hash] : frontier.Append(leaves_[size])) {
      ASSERT_EQ((id.index + 1) << id.level, size + 1);
      ASSERT_EQ(hash, NaiveRoot(leaves_, id.index << id.level, size + 1));
      absl::StatusOr<MerkleHash> stored = tree_.ReadNode(id.level, id.index);
      ASSERT_TRUE(stored.ok()) << stored.status();
      ASSERT_EQ(*stored, hash);
    }
  }
}

TEST_F(MerklePropertyTest, FrontierSerializationRoundTrips) {
  MerkleFrontier frontier;
  for (uint64_t size = 0; size <= kMaxSize; ++size) {
    const std::string bytes = frontier.Serialize();
    ASSERT_EQ(bytes.size(), 1 + 8 + 32 * static_cast<size_t>(absl::popcount(size)));
    absl::StatusOr<MerkleFrontier> copy = MerkleFrontier::Deserialize(bytes);
    ASSERT_TRUE(copy.ok()) << copy.status();
    ASSERT_EQ(copy->size(), size);
    ASSERT_EQ(copy->Root(), roots_[size]);
    ASSERT_EQ(copy->Serialize(), bytes);
    if (size < kMaxSize) {
      ASSERT_EQ(copy->Append(leaves_[size]), frontier.Append(leaves_[size]));
      ASSERT_EQ(copy->Root(), frontier.Root());
    }
  }
}

TEST_F(MerklePropertyTest, EveryInclusionProofVerifies) {
  for (uint64_t size = 1; size <= kMaxSize; ++size) {
    for (uint64_t index = 0; index < size; ++index) {
      const std::vector<MerkleHash> proof = InclusionProof(index, size);
      const absl::Status status =
          VerifyMerkleInclusion(leaves_[index], index, size, proof, roots_[size]);
      ASSERT_TRUE(status.ok()) << "index " << index << " size " << size << ": "
                               << status;
      if (size <= 64) {
        ASSERT_EQ(proof, NaivePath(leaves_, index, 0, size))
            << "index " << index << " size " << size;
      }
    }
  }
  std::uniform_int_distribution<uint64_t> any_size(65, kMaxSize);
  for (int i = 0; i < 500; ++i) {
    const uint64_t size = any_size(random_);
    const uint64_t index = random_() % size;
    ASSERT_EQ(InclusionProof(index, size), NaivePath(leaves_, index, 0, size))
        << "index " << index << " size " << size;
  }
}

TEST_F(MerklePropertyTest, TamperedInclusionProofsFail) {
  for (uint64_t size = 1; size <= 24; ++size) {
    for (uint64_t index = 0; index < size; ++index) {
      ExpectInclusionTamperingFails(index, size);
      if (HasFatalFailure()) return;
    }
  }
  std::uniform_int_distribution<uint64_t> any_size(25, kMaxSize);
  for (int i = 0; i < 40; ++i) {
    const uint64_t size = any_size(random_);
    ExpectInclusionTamperingFails(random_() % size, size);
    if (HasFatalFailure()) return;
  }
}

TEST_F(MerklePropertyTest, EveryConsistencyProofVerifies) {
  auto check = [this](uint64_t old_size, uint64_t new_size) {
    const std::vector<MerkleHash> proof = ConsistencyProof(old_size, new_size);
    ASSERT_EQ(proof, NaiveSubproof(leaves_, old_size, 0, new_size, true))
        << old_size << " -> " << new_size;
    const absl::Status status = VerifyMerkleConsistency(
        old_size, new_size, roots_[old_size], roots_[new_size], proof);
    ASSERT_TRUE(status.ok()) << old_size << " -> " << new_size << ": "
                             << status;
  };
  for (uint64_t new_size = 1; new_size <= 64; ++new_size) {
    for (uint64_t old_size = 1; old_size <= new_size; ++old_size) {
      check(old_size, new_size);
      if (HasFatalFailure()) return;
    }
  }
  std::uniform_int_distribution<uint64_t> any_size(1, kMaxSize);
  for (int i = 0; i < 2000; ++i) {
    uint64_t old_size = any_size(random_);
    uint64_t new_size = any_size(random_);
    if (old_size > new_size) std::swap(old_size, new_size);
    check(old_size, new_size);
    if (HasFatalFailure()) return;
  }
}

// Records the node reads of the functions that serve stored trees.
class RecordingReader : public MerkleNodeReader {
 public:
  explicit RecordingReader(const MerkleNodeReader& nodes) : nodes_(nodes) {}
  absl::StatusOr<MerkleHash> ReadNode(int level,
                                      uint64_t index) const override {
    reads_.push_back(MerkleNodeId{level, index});
    return nodes_.ReadNode(level, index);
  }
  std::vector<MerkleNodeId> TakeReads() const {
    return std::exchange(reads_, {});
  }

 private:
  const MerkleNodeReader& nodes_;
  mutable std::vector<MerkleNodeId> reads_;
};

TEST_F(MerklePropertyTest, NodeReadsAreLogarithmic) {
  const RecordingReader reader(tree_);
  for (uint64_t size = 1; size <= kMaxSize; ++size) {
    const size_t levels = absl::bit_width(size);
    ASSERT_TRUE(MerkleRootAt(reader, size).ok());
    ASSERT_EQ(reader.TakeReads().size(), absl::popcount(size))
        << "size " << size;
    for (uint64_t index = 0; index < size; ++index) {
      ASSERT_TRUE(MerkleInclusionProof(reader, index, size).ok());
      ASSERT_LE(reader.TakeReads().size(), 2 * levels)
          << "index " << index << " size " << size;
    }
    for (uint64_t old_size = 1; old_size <= size; ++old_size) {
      ASSERT_TRUE(MerkleConsistencyProof(reader, old_size, size).ok());
      ASSERT_LE(reader.TakeReads().size(), 2 * levels + 1)
          << old_size << " -> " << size;
    }
  }
}

// Sorted by (level, index), for comparing sets of node ids.
std::vector<std::pair<int, uint64_t>> SortedIds(
    const std::vector<MerkleNodeId>& ids) {
  std::vector<std::pair<int, uint64_t>> sorted;
  for (const MerkleNodeId& id : ids) sorted.emplace_back(id.level, id.index);
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

bool AllDistinct(const std::vector<MerkleNodeId>& ids) {
  const std::vector<std::pair<int, uint64_t>> sorted = SortedIds(ids);
  return std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
}

MerkleNodeSet NodeSetOf(const MerkleNodeReader& tree,
                        const std::vector<MerkleNodeId>& ids) {
  MerkleNodeSet set;
  for (const MerkleNodeId& id : ids) {
    absl::StatusOr<MerkleHash> hash = tree.ReadNode(id.level, id.index);
    EXPECT_TRUE(hash.ok()) << hash.status();
    if (hash.ok()) set.Add(id, *hash);
  }
  return set;
}

// The NodeIds functions name exactly the nodes read, each once, and a
// MerkleNodeSet of just those nodes yields the same root and proofs.
TEST_F(MerklePropertyTest, NodeIdsAreTheNodesRead) {
  const RecordingReader reader(tree_);
  for (uint64_t size = 1; size <= kMaxSize; ++size) {
    const std::vector<MerkleNodeId> root_ids = MerkleRootNodeIds(size);
    ASSERT_TRUE(MerkleRootAt(reader, size).ok());
    ASSERT_EQ(SortedIds(reader.TakeReads()), SortedIds(root_ids))
        << "size " << size;
    ASSERT_EQ(MerkleRootAt(NodeSetOf(tree_, root_ids), size).value(),
              roots_[size]);
    for (uint64_t index = 0; index < size; ++index) {
      const std::vector<MerkleNodeId> ids =
          MerkleInclusionProofNodeIds(index, size);
      ASSERT_TRUE(AllDistinct(ids)) << "index " << index << " size " << size;
      ASSERT_TRUE(MerkleInclusionProof(reader, index, size).ok());
      ASSERT_EQ(SortedIds(reader.TakeReads()), SortedIds(ids))
          << "index " << index << " size " << size;
      ASSERT_EQ(
          MerkleInclusionProof(NodeSetOf(tree_, ids), index, size).value(),
          InclusionProof(index, size));
    }
    for (uint64_t old_size = 1; old_size <= size; ++old_size) {
      const std::vector<MerkleNodeId> ids =
          MerkleConsistencyProofNodeIds(old_size, size);
      ASSERT_TRUE(AllDistinct(ids)) << old_size << " -> " << size;
      ASSERT_TRUE(MerkleConsistencyProof(reader, old_size, size).ok());
      ASSERT_EQ(SortedIds(reader.TakeReads()), SortedIds(ids))
          << old_size << " -> " << size;
      ASSERT_EQ(
          MerkleConsistencyProof(NodeSetOf(tree_, ids), old_size, size).value(),
          ConsistencyProof(old_size, size));
    }
  }
}

TEST(MerkleTest, NodeIdsOfRejectedArgumentsAreEmpty) {
  EXPECT_TRUE(MerkleRootNodeIds(0).empty());
  EXPECT_TRUE(MerkleInclusionProofNodeIds(8, 8).empty());
  EXPECT_TRUE(MerkleInclusionProofNodeIds(0, 0).empty());
  EXPECT_TRUE(MerkleConsistencyProofNodeIds(0, 8).empty());
  EXPECT_TRUE(MerkleConsistencyProofNodeIds(5, 4).empty());
  EXPECT_TRUE(MerkleConsistencyProofNodeIds(8, 8).empty());
}

TEST(MerkleTest, NodeSetServesOnlyItsNodes) {
  const MerkleHash first = HashMerkleLeaf("first");
  const MerkleHash second = HashMerkleLeaf("second");
  MerkleNodeSet set;
  set.Add({2, 5}, first);
  set.Add({2, 5}, second);
  set.Add({0, 5}, second);
  EXPECT_EQ(set.ReadNode(2, 5).value(), first);
  EXPECT_EQ(set.ReadNode(0, 5).value(), second);
  EXPECT_EQ(set.ReadNode(2, 4).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(set.ReadNode(1, 5).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MerklePropertyTest, TamperedConsistencyProofsFail) {
  for (uint64_t new_size = 2; new_size <= 20; ++new_size) {
    for (uint64_t old_size = 1; old_size < new_size; ++old_size) {
      ExpectConsistencyTamperingFails(old_size, new_size);
      if (HasFatalFailure()) return;
    }
  }
  std::uniform_int_distribution<uint64_t> any_size(1, kMaxSize);
  for (int i = 0; i < 40; ++i) {
    uint64_t old_size = any_size(random_);
    uint64_t new_size = any_size(random_);
    if (old_size > new_size) std::swap(old_size, new_size);
    if (old_size == new_size) continue;
    ExpectConsistencyTamperingFails(old_size, new_size);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace microledger
