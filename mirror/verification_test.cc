#include "mirror/verification.h"

#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "common/encoding.h"
#include "common/test_chain.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

std::vector<MerkleHash> Leaves(const TestChain& chain) {
  std::vector<MerkleHash> leaves;
  for (const Block& block : chain.blocks()) leaves.push_back(*BlockLeafHash(block));
  return leaves;
}

// The reference audit path of `index` in the first `size` leaves.
std::vector<MerkleHash> AuditPath(const std::vector<MerkleHash>& leaves, uint64_t index,
                                  uint64_t size) {
  MerkleFrontier full;
  std::vector<std::pair<MerkleNodeId, MerkleHash>> stored;
  for (uint64_t i = 0; i < size; ++i) {
    for (auto& node : full.Append(leaves[i])) stored.push_back(node);
  }
  class Reader : public MerkleNodeReader {
   public:
    explicit Reader(const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes)
        : nodes_(nodes) {}
    absl::StatusOr<MerkleHash> ReadNode(int level, uint64_t index) const override {
      for (const auto& [node_id, hash] : nodes_) {
        if (node_id == MerkleNodeId{level, index}) return hash;
      }
      return absl::NotFoundError("no node");
    }

   private:
    const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes_;
  } reader(stored);
  return *MerkleInclusionProof(reader, index, size);
}

VerifiedCheckpoint CheckpointOf(const TestChain& chain, uint64_t size) {
  return *VerifyCheckpointOf(chain.ledger_id(), chain.SignedCheckpoint(size), size);
}

TEST(VerifyNextBlockTest, AcceptsTheChainAndRefusesTamperedBlocksAndCheckpoints) {
  TestChain chain;
  chain.AppendEvents(4);
  ChainState state = ChainState::Empty(chain.ledger_id());
  MerkleFrontier frontier;
  for (const Block& block : chain.blocks()) {
    const std::string bytes = SerializeBlock(block);
    absl::StatusOr<VerifiedBlock> verified =
        VerifyNextBlock(state, frontier, bytes, chain.SignedCheckpoint(block.number));
    ASSERT_TRUE(verified.ok()) << verified.status();
    // A checkpoint of another size, or of the same size by a bad signature.
    EXPECT_FALSE(
        VerifyNextBlock(state, frontier, bytes,
                        chain.SignedCheckpoint(block.number == 1 ? 2 : block.number - 1))
            .ok());
    std::string bad_note = chain.SignedCheckpoint(block.number);
    bad_note[bad_note.size() - 3] ^= 1;
    EXPECT_FALSE(VerifyNextBlock(state, frontier, bytes, bad_note).ok());
    state = verified->state;
    frontier = verified->frontier;
  }
  // A block whose event was changed after signing no longer verifies.
  TestChain other;
  other.AppendEvents(1);
  std::string tampered = SerializeBlock(other.blocks()[1]);
  tampered = absl::StrReplaceAll(tampered, {{"\"n\":0", "\"n\":9"}});
  ASSERT_NE(tampered, SerializeBlock(other.blocks()[1]));
  ChainState first = ChainState::Empty(other.ledger_id());
  absl::StatusOr<VerifiedBlock> genesis = VerifyNextBlock(
      first, MerkleFrontier(), SerializeBlock(other.blocks()[0]), other.SignedCheckpoint(1));
  ASSERT_TRUE(genesis.ok());
  EXPECT_FALSE(VerifyNextBlock(genesis->state, genesis->frontier, tampered,
                               other.SignedCheckpoint(2))
                   .ok());
}

TEST(VerifyCheckpointOfTest, KeepsOnlyTheNoteTextAndTheLedgerKeysLine) {
  TestChain chain;
  chain.AppendEvents(2);
  const std::string note = chain.SignedCheckpoint(3);
  // Well-formed lines of other keys (witness cosignatures, or padding) before
  // and after the ledger key's line.
  const std::string foreign =
      "\u2014 witness.example/w1 " + EncodeBase64Std(std::string(72, 'x')) + "\n";
  const size_t blank = note.find("\n\n");
  std::string padded = note.substr(0, blank + 2) + foreign + note.substr(blank + 2);
  for (int i = 0; i < 50; ++i) padded += foreign;
  absl::StatusOr<VerifiedCheckpoint> verified =
      VerifyCheckpointOf(chain.ledger_id(), padded, 3);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->note, note);
}

TEST(FrontierFromLastLeafTest, ExtendsLikeTheFullTreeForEverySize) {
  TestChain chain;
  chain.AppendEvents(20);
  const std::vector<MerkleHash> leaves = Leaves(chain);
  for (uint64_t size = 1; size <= leaves.size(); ++size) {
    const VerifiedCheckpoint checkpoint = CheckpointOf(chain, size);
    absl::StatusOr<MerkleFrontier> frontier = FrontierFromLastLeaf(
        leaves[size - 1], AuditPath(leaves, size - 1, size), checkpoint);
    ASSERT_TRUE(frontier.ok()) << size << ": " << frontier.status();
    EXPECT_EQ(frontier->size(), size);
    // Appending the rest gives the root of the whole chain.
    for (uint64_t i = size; i < leaves.size(); ++i) frontier->Append(leaves[i]);
    EXPECT_EQ(frontier->Root(), CheckpointOf(chain, leaves.size()).root) << size;
    // Another leaf does not give the root.
    if (size > 1) {
      EXPECT_FALSE(FrontierFromLastLeaf(leaves[0], AuditPath(leaves, size - 1, size),
                                        checkpoint)
                       .ok());
    }
  }
}

TEST(ProofNodesTest, GivesExactlyTheStoredNodesOfTheFullTree) {
  TestChain chain;
  chain.AppendEvents(12);
  const std::vector<MerkleHash> leaves = Leaves(chain);
  MerkleFrontier full;
  std::vector<std::pair<MerkleNodeId, MerkleHash>> stored;
  for (const MerkleHash& leaf : leaves) {
    for (auto& node : full.Append(leaf)) stored.push_back(node);
  }
  for (uint64_t size = 1; size <= leaves.size(); ++size) {
    for (uint64_t index = 0; index < size; ++index) {
      for (const auto& [id, hash] :
           ProofNodes(index, size, leaves[index], AuditPath(leaves, index, size))) {
        bool found = false;
        for (const auto& [stored_id, stored_hash] : stored) {
          if (stored_id == id) {
            EXPECT_EQ(stored_hash, hash) << id.level << "/" << id.index;
            found = true;
          }
        }
        EXPECT_TRUE(found) << "node " << id.level << "/" << id.index << " size " << size;
      }
    }
  }
}

TEST(VerifyIncludedBlockTest, NeedsTheHostSignatureAndTheInclusion) {
  TestChain chain;
  chain.AppendEvents(6);
  const std::vector<MerkleHash> leaves = Leaves(chain);
  const VerifiedCheckpoint checkpoint = CheckpointOf(chain, 7);
  const std::string block3 = SerializeBlock(chain.blocks()[2]);
  EXPECT_TRUE(VerifyIncludedBlock(chain.ledger_id(), 3, block3, AuditPath(leaves, 2, 7),
                                  checkpoint)
                  .ok());
  // The path of another leaf, or another number.
  EXPECT_FALSE(VerifyIncludedBlock(chain.ledger_id(), 3, block3, AuditPath(leaves, 3, 7),
                                   checkpoint)
                   .ok());
  EXPECT_FALSE(VerifyIncludedBlock(chain.ledger_id(), 4, block3, AuditPath(leaves, 3, 7),
                                   checkpoint)
                   .ok());
  // A block of another ledger.
  TestChain other;
  other.AppendEvents(2);
  EXPECT_FALSE(VerifyHostSignedBlock(chain.ledger_id(), SerializeBlock(other.blocks()[2])).ok());
  // Without its host signature.
  Block unsigned_block = chain.blocks()[2];
  unsigned_block.signatures.pop_back();
  EXPECT_FALSE(VerifyHostSignedBlock(chain.ledger_id(), SerializeBlock(unsigned_block)).ok());
}

}  // namespace
}  // namespace microledger
