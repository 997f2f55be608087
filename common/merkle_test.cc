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

MerkleHash HashFromHex(const std::string& hex) {
  const std::string bytes = absl::HexStringToBytes(hex);
  MerkleHash hash{};
  EXPECT_EQ(bytes.size(), hash.size()) << hex;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

std::vector<MerkleHash> HashesFromHex(const std::vector<std::string>& hexes) {
  std::vector<MerkleHash> hashes;
  for (const std::string& hex : hexes) hashes.push_back(HashFromHex(hex));
  return hashes;
}

void FlipBit(MerkleHash& hash, int bit) { hash[bit / 8] ^= 1 << (bit % 8); }

// RFC 6962 / RFC 9162 reference test data (Certificate Transparency, Trillian).
std::vector<std::string> ReferenceLeaves() {
  return {absl::HexStringToBytes(""),
          absl::HexStringToBytes("00"),
          absl::HexStringToBytes("10"),
          absl::HexStringToBytes("2021"),
          absl::HexStringToBytes("3031"),
          absl::HexStringToBytes("40414243"),
          absl::HexStringToBytes("5051525354555657"),
          absl::HexStringToBytes("606162636465666768696a6b6c6d6e6f")};
}

const char* const kReferenceRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

MemoryMerkleTree ReferenceTree() {
  MemoryMerkleTree tree;
  for (const std::string& leaf : ReferenceLeaves()) tree.AppendLeaf(leaf);
  return tree;
}

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

TEST(MerkleTest, EmptyRoot) {
  EXPECT_EQ(EmptyMerkleRoot(),
            HashFromHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
                        "91b7852b855"));
  EXPECT_EQ(MerkleFrontier().Root(), EmptyMerkleRoot());
  EXPECT_EQ(MemoryMerkleTree().Root(), EmptyMerkleRoot());
  absl::StatusOr<MerkleHash> root = MerkleRootAt(MemoryMerkleTree(), 0);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, EmptyMerkleRoot());
}

TEST(MerkleTest, ReferenceRoots) {
  const std::vector<std::string> leaves = ReferenceLeaves();
  MemoryMerkleTree tree;
  for (size_t size = 1; size <= leaves.size(); ++size) {
    tree.AppendLeaf(leaves[size - 1]);
    const MerkleHash expected = HashFromHex(kReferenceRoots[size - 1]);
    EXPECT_EQ(tree.Root(), expected) << "size " << size;
    absl::StatusOr<MerkleHash> root = MerkleRootAt(tree, size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, expected) << "size " << size;
  }
  for (size_t size = 1; size <= leaves.size(); ++size) {
    absl::StatusOr<MerkleHash> root = MerkleRootAt(tree, size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, HashFromHex(kReferenceRoots[size - 1])) << "size " << size;
  }
}

TEST(MerkleTest, ReferenceInclusionProofs) {
  const MemoryMerkleTree tree = ReferenceTree();
  struct Case {
    uint64_t index;
    uint64_t size;
    std::vector<std::string> path;
  };
  const Case cases[] = {
      {0, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3,
       {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {0, 1, {}},
  };
  const std::vector<std::string> leaves = ReferenceLeaves();
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleInclusionProof(tree, c.index, c.size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, HashesFromHex(c.path))
        << "leaf " << c.index << " size " << c.size;
    EXPECT_TRUE(VerifyMerkleInclusion(HashMerkleLeaf(leaves[c.index]), c.index,
                                      c.size, *proof,
                                      HashFromHex(kReferenceRoots[c.size - 1]))
                    .ok());
  }
}

TEST(MerkleTest, ReferenceConsistencyProofs) {
  const MemoryMerkleTree tree = ReferenceTree();
  struct Case {
    uint64_t old_size;
    uint64_t new_size;
    std::vector<std::string> proof;
  };
  const Case cases[] = {
      {1, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {8, 8, {}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleConsistencyProof(tree, c.old_size, c.new_size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, HashesFromHex(c.proof))
        << c.old_size << " -> " << c.new_size;
    EXPECT_TRUE(
        VerifyMerkleConsistency(c.old_size, c.new_size,
                                HashFromHex(kReferenceRoots[c.old_size - 1]),
                                HashFromHex(kReferenceRoots[c.new_size - 1]),
                                *proof)
            .ok());
  }
}

TEST(MerkleTest, AppendReturnsCompletedNodes) {
  MerkleFrontier frontier;
  std::vector<MerkleHash> leaves;
  for (int i = 0; i < 4; ++i) {
    leaves.push_back(HashMerkleLeaf(absl::StrCat("leaf ", i)));
  }
  const MerkleHash node_1_0 = HashMerkleChildren(leaves[0], leaves[1]);
  const MerkleHash node_1_1 = HashMerkleChildren(leaves[2], leaves[3]);
  using Completed = std::vector<std::pair<MerkleNodeId, MerkleHash>>;
  EXPECT_EQ(frontier.Append(leaves[0]), (Completed{{{0, 0}, leaves[0]}}));
  EXPECT_EQ(frontier.Append(leaves[1]),
            (Completed{{{0, 1}, leaves[1]}, {{1, 0}, node_1_0}}));
  EXPECT_EQ(frontier.Append(leaves[2]), (Completed{{{0, 2}, leaves[2]}}));
  EXPECT_EQ(frontier.Append(leaves[3]),
            (Completed{{{0, 3}, leaves[3]},
                       {{1, 1}, node_1_1},
                       {{2, 0}, HashMerkleChildren(node_1_0, node_1_1)}}));
  EXPECT_EQ(frontier.size(), 4u);
}

TEST(MerkleTest, ReadNodeOfIncompleteNodeIsNotFound) {
  const MemoryMerkleTree tree = ReferenceTree();
  EXPECT_TRUE(tree.ReadNode(3, 0).ok());
  EXPECT_EQ(tree.ReadNode(0, 8).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tree.ReadNode(4, 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tree.ReadNode(-1, 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MerkleRootAt(tree, 9).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MerkleInclusionProof(tree, 0, 9).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MerkleConsistencyProof(tree, 3, 9).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(MerkleTest, InvalidArguments) {
  const MemoryMerkleTree tree = ReferenceTree();
  const MerkleHash root = tree.Root();
  const MerkleHash leaf = HashMerkleLeaf("");
  EXPECT_EQ(MerkleInclusionProof(tree, 8, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MerkleInclusionProof(tree, 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MerkleConsistencyProof(tree, 0, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MerkleConsistencyProof(tree, 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MerkleConsistencyProof(tree, 5, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyMerkleInclusion(leaf, 8, 8, {}, root).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyMerkleInclusion(leaf, 0, 0, {}, EmptyMerkleRoot()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      VerifyMerkleConsistency(0, 8, EmptyMerkleRoot(), root, {}).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyMerkleConsistency(5, 4, root, root, {}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MerkleTest, ConsistencyOfEqualSizes) {
  const MerkleHash root = ReferenceTree().Root();
  MerkleHash other_root = root;
  FlipBit(other_root, 0);
  EXPECT_TRUE(VerifyMerkleConsistency(8, 8, root, root, {}).ok());
  EXPECT_FALSE(VerifyMerkleConsistency(8, 8, root, other_root, {}).ok());
  EXPECT_FALSE(VerifyMerkleConsistency(8, 8, root, root, {root}).ok());
  EXPECT_FALSE(VerifyMerkleConsistency(7, 8, root, root, {}).ok());
}

TEST(MerkleTest, VerificationErrorMessages) {
  const MemoryMerkleTree tree = ReferenceTree();
  const MerkleHash leaf = HashMerkleLeaf("");
  absl::StatusOr<std::vector<MerkleHash>> proof =
      MerkleInclusionProof(tree, 0, 8);
  ASSERT_TRUE(proof.ok()) << proof.status();
  MerkleHash wrong_root = tree.Root();
  FlipBit(wrong_root, 7);
  EXPECT_EQ(VerifyMerkleInclusion(leaf, 0, 8, *proof, wrong_root).message(),
            "inclusion proof does not match root");
  std::vector<MerkleHash> shorter(proof->begin(), proof->end() - 1);
  EXPECT_EQ(VerifyMerkleInclusion(leaf, 0, 8, shorter, tree.Root()).message(),
            "inclusion proof is too short for leaf 0 in tree size 8");
}

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

MerkleFrontier FrontierOfThreeLeaves() {
  MerkleFrontier frontier;
  frontier.Append(HashMerkleLeaf("a"));
  frontier.Append(HashMerkleLeaf("b"));
  frontier.Append(HashMerkleLeaf("c"));
  return frontier;
}

// Version 0: the unversioned form (size, then hashes) of the same frontier.
std::string UnversionedBytes(const MerkleFrontier& frontier) {
  return frontier.Serialize().substr(1);
}

TEST(MerkleTest, FrontierSerializationLayout) {
  const MerkleFrontier frontier = FrontierOfThreeLeaves();
  const MerkleHash node = HashMerkleChildren(HashMerkleLeaf("a"), HashMerkleLeaf("b"));
  const MerkleHash leaf_2 = HashMerkleLeaf("c");
  const std::string expected =
      std::string("\1\0\0\0\0\0\0\0\3", 9) +
      std::string(node.begin(), node.end()) +
      std::string(leaf_2.begin(), leaf_2.end());
  EXPECT_EQ(frontier.Serialize(), expected);
}

TEST(MerkleTest, FrontierDeserializeReadsTheUnversionedForm) {
  const MerkleFrontier frontier = FrontierOfThreeLeaves();
  absl::StatusOr<MerkleFrontier> old = MerkleFrontier::Deserialize(UnversionedBytes(frontier));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->size(), 3u);
  EXPECT_EQ(old->Root(), frontier.Root());
  EXPECT_EQ(old->Serialize(), frontier.Serialize());
  absl::StatusOr<MerkleFrontier> empty = MerkleFrontier::Deserialize(std::string(8, '\0'));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->size(), 0u);
}

void ExpectFrontierRejected(absl::string_view bytes, absl::string_view why) {
  EXPECT_EQ(MerkleFrontier::Deserialize(bytes).status().code(),
            absl::StatusCode::kInvalidArgument)
      << why;
}

TEST(MerkleTest, FrontierDeserializeRejectsAnEmptyInput) {
  ExpectFrontierRejected("", "no version byte");
}

TEST(MerkleTest, FrontierDeserializeRejectsATruncatedSize) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  ExpectFrontierRejected(bytes.substr(0, 1), "version only");
  ExpectFrontierRejected(bytes.substr(0, 8), "size short by one byte");
  ExpectFrontierRejected(UnversionedBytes(FrontierOfThreeLeaves()).substr(0, 7),
                         "unversioned size short by one byte");
}

TEST(MerkleTest, FrontierDeserializeRejectsTruncatedHashes) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();  // two hashes
  ASSERT_EQ(bytes.size(), 1u + 8u + 64u);
  ExpectFrontierRejected(bytes.substr(0, 9), "no hash");
  ExpectFrontierRejected(bytes.substr(0, 9 + 31), "first hash short");
  ExpectFrontierRejected(bytes.substr(0, 9 + 32), "second hash missing");
  ExpectFrontierRejected(bytes.substr(0, bytes.size() - 1), "second hash short");
  ExpectFrontierRejected(UnversionedBytes(FrontierOfThreeLeaves()).substr(0, 8 + 32),
                         "unversioned, second hash missing");
}

TEST(MerkleTest, FrontierDeserializeRejectsEveryTruncation) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  for (size_t length = 0; length < bytes.size(); ++length) {
    ExpectFrontierRejected(bytes.substr(0, length), absl::StrCat("length ", length));
  }
}

TEST(MerkleTest, FrontierDeserializeRejectsTrailingBytes) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  ExpectFrontierRejected(bytes + "x", "one byte more");
  ExpectFrontierRejected(bytes + std::string(32, 'x'), "one hash more");
}

TEST(MerkleTest, FrontierDeserializeRejectsASizeThatDoesNotMatchTheHashes) {
  std::string bytes = FrontierOfThreeLeaves().Serialize();
  bytes[8] = 4;  // size 4 needs one hash, not two
  ExpectFrontierRejected(bytes, "size 4 with two hashes");
}

TEST(MerkleTest, FrontierDeserializeRejectsUnknownVersions) {
  const std::string bytes = FrontierOfThreeLeaves().Serialize();
  for (int version : {2, 0x7f, 0xff}) {
    std::string other = bytes;
    other[0] = static_cast<char>(version);
    ExpectFrontierRejected(other, absl::StrCat("version ", version));
  }
  ExpectFrontierRejected(std::string(8, '\xff'), "version 0xff, all ones");
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
