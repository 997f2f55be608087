#include "owner_agent/fork_prover.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/merkle.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

// The head leaf's audit path from the previous frontier equals RFC 9162
// PATH(n - 1, D[0:n]) for every size up to 70 (every shape of the last
// subtree), and proves the leaf under the root.
TEST(LastLeafAuditPathTest, EqualsTheRfc9162PathOfTheLastLeaf) {
  MemoryMerkleTree tree;
  for (uint64_t n = 1; n <= 70; ++n) {
    const std::string previous = tree.frontier().Serialize();
    const std::string leaf = absl::StrCat("leaf ", n);
    tree.AppendLeaf(leaf);
    absl::StatusOr<std::vector<MerkleHash>> path = LastLeafAuditPath(previous, n);
    ASSERT_TRUE(path.ok()) << path.status();
    absl::StatusOr<std::vector<MerkleHash>> expected = MerkleInclusionProof(tree, n - 1, n);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(*path, *expected) << "size " << n;
    EXPECT_TRUE(
        VerifyMerkleInclusion(HashMerkleLeaf(leaf), n - 1, n, *path, tree.Root()).ok());
  }
}

TEST(LastLeafAuditPathTest, RefusesAFrontierOfAnotherSize) {
  MemoryMerkleTree tree;
  for (int i = 0; i < 5; ++i) tree.AppendLeaf("x");
  EXPECT_FALSE(LastLeafAuditPath(tree.frontier().Serialize(), 5).ok());
  EXPECT_FALSE(LastLeafAuditPath(tree.frontier().Serialize(), 0).ok());
  EXPECT_FALSE(LastLeafAuditPath("", 6).ok());
  EXPECT_TRUE(LastLeafAuditPath(tree.frontier().Serialize(), 6).ok());
}

}  // namespace
}  // namespace microledger
