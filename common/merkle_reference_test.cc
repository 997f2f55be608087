// RFC 6962 / RFC 9162 known answers (the Certificate Transparency and
// Trillian test data): roots, inclusion and consistency proofs, and the
// argument checks around them.
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

}  // namespace
}  // namespace microledger
