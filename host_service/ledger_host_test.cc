// The append pipeline's results, reads, proofs and forgetting, against both
// stores (memory, and RocksDB in a temporary directory).
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/block_builder.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host_service/ledger_host.h"
#include "host_service/ledger_host_fixture.h"
#include "host_service/ledger_host_testing.h"
#include "ledger_store/storage_layout.h"
#include "tests/host/owner_chain.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

TEST_P(LedgerHostTest, ChainReadsBackAndProofsVerify) {
  OwnerChain chain = NewChain();
  AppendN(chain, 37);
  std::vector<std::string> blocks;
  ASSERT_TRUE(GetBlocks(*host_, chain.ledger_id(), 1, 0, [&](uint64_t n, const std::string& b) {
                       EXPECT_EQ(n, blocks.size() + 1);
                       blocks.push_back(b);
                       return true;
                     }).ok());
  ASSERT_EQ(blocks.size(), 37u);
  absl::StatusOr<ChainState> state = VerifyChainBytes(chain.ledger_id(), blocks);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->head_fingerprint, chain.state().head_fingerprint);
  for (size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i], SerializeBlock(chain.blocks()[i]));
  }

  absl::StatusOr<LedgerInfo> info = host_->reader().GetLedger(chain.ledger_id());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->genesis_block, blocks[0]);
  EXPECT_EQ(info->state.head_number, 37u);

  MemoryMerkleTree tree;
  for (uint64_t size = 1; size <= 37; ++size) {
    tree.AppendLeaf(*DecodeDigest(chain.blocks()[size - 1].fingerprint));
    absl::StatusOr<std::string> note = host_->reader().GetCheckpoint(chain.ledger_id(), size);
    ASSERT_TRUE(note.ok());
    absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(*note, chain.ledger_id());
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    EXPECT_EQ(checkpoint->tree_size, size);
    EXPECT_EQ(checkpoint->root_hash, tree.Root());
    for (uint64_t number : {uint64_t{1}, (size + 1) / 2, size}) {
      absl::StatusOr<InclusionProofResult> proof =
          host_->reader().GetInclusionProof(chain.ledger_id(), number, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(proof->root, checkpoint->root_hash);
      EXPECT_EQ(proof->checkpoint, *note);
      MerkleHash leaf =
          HashMerkleLeaf(*DecodeDigest(chain.blocks()[number - 1].fingerprint));
      EXPECT_TRUE(VerifyMerkleInclusion(leaf, number - 1, size, proof->hashes,
                                        checkpoint->root_hash)
                      .ok());
    }
    absl::StatusOr<ConsistencyProofResult> consistency =
        host_->reader().GetConsistencyProof(chain.ledger_id(), (size + 1) / 2, 0);
    ASSERT_TRUE(consistency.ok()) << consistency.status();
    absl::StatusOr<Checkpoint> old_cp =
        VerifyCheckpoint(consistency->old_checkpoint, chain.ledger_id());
    absl::StatusOr<Checkpoint> new_cp =
        VerifyCheckpoint(consistency->new_checkpoint, chain.ledger_id());
    ASSERT_TRUE(old_cp.ok() && new_cp.ok());
    EXPECT_EQ(new_cp->tree_size, 37u);
    EXPECT_TRUE(VerifyMerkleConsistency(old_cp->tree_size, new_cp->tree_size,
                                        old_cp->root_hash, new_cp->root_hash,
                                        consistency->hashes)
                    .ok());
  }
  // Range edges.
  int count = 0;
  EXPECT_TRUE(GetBlocks(*host_, chain.ledger_id(), 5, 9, [&](uint64_t n, const std::string&) {
                       EXPECT_EQ(n, 5u + count++);
                       return true;
                     }).ok());
  EXPECT_EQ(count, 5);
  auto ignore = [](uint64_t, const std::string&) { return true; };
  EXPECT_EQ(GetBlocks(*host_, chain.ledger_id(), 0, 3, ignore).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetBlocks(*host_, chain.ledger_id(), 30, 38, ignore).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(host_->reader().GetInclusionProof(chain.ledger_id(), 1, 38).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_P(LedgerHostTest, ReadBlocksReadsChunksWithinTheRangeAndNotAfterAForget) {
  OwnerChain chain = NewChain();
  AppendN(chain, 10);
  std::vector<std::string> stored;
  ASSERT_TRUE(GetBlocks(*host_, chain.ledger_id(), 1, 0, [&](uint64_t, const std::string& b) {
                       stored.push_back(b);
                       return true;
                     }).ok());
  ASSERT_EQ(stored.size(), 10u);
  absl::StatusOr<LedgerReader::BlockRange> range = host_->reader().ResolveBlockRange(chain.ledger_id(), 2, 9);
  ASSERT_TRUE(range.ok()) << range.status();
  absl::StatusOr<std::vector<std::string>> chunk = host_->reader().ReadBlocks(chain.ledger_id(), *range, 2, 3);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(*chunk, std::vector<std::string>(stored.begin() + 1, stored.begin() + 4));
  // A chunk is cut at the end of the range, not at the head.
  chunk = host_->reader().ReadBlocks(chain.ledger_id(), *range, 8, 5);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(*chunk, std::vector<std::string>(stored.begin() + 7, stored.begin() + 9));
  EXPECT_EQ(host_->reader().ReadBlocks(chain.ledger_id(), *range, 10, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->reader().ReadBlocks(chain.ledger_id(), *range, 1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                            chain.SignForget())
                  .ok());
  EXPECT_EQ(host_->reader().ReadBlocks(chain.ledger_id(), *range, 2, 3).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(LedgerHostTest, StateSurvivesReopen) {
  OwnerChain chain = NewChain();
  AppendN(chain, 5);
  if (GetParam() != "rocksdb") GTEST_SKIP() << "memory store does not persist";
  Open();
  EXPECT_EQ(HeadOf(chain.ledger_id()), 5u);
  AppendN(chain, 3);  // The cache reloads state, frontier and key from the head record.
  EXPECT_EQ(HeadOf(chain.ledger_id()), 8u);
  absl::StatusOr<std::string> note = host_->reader().GetCheckpoint(chain.ledger_id(), 0);
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(VerifyCheckpoint(*note, chain.ledger_id()).ok());
}

// Proofs equal MemoryMerkleTree's, whether the ledger's head comes from the
// ledger cache or (after a reopen) from its head record.
TEST_P(LedgerHostTest, ProofsEqualInMemoryTreeProofsCachedOrNot) {
  OwnerChain chain = NewChain();
  AppendN(chain, 21);
  MemoryMerkleTree tree;
  for (const Block& block : chain.blocks()) {
    tree.AppendLeaf(*DecodeDigest(block.fingerprint));
  }
  auto expect_exact_proofs = [&] {
    for (uint64_t size = 1; size <= 21; ++size) {
      absl::StatusOr<std::string> note = host_->reader().GetCheckpoint(chain.ledger_id(), size);
      ASSERT_TRUE(note.ok()) << note.status();
      for (uint64_t number = 1; number <= size; ++number) {
        absl::StatusOr<InclusionProofResult> proof =
            host_->reader().GetInclusionProof(chain.ledger_id(), number, size);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_EQ(proof->hashes, *MerkleInclusionProof(tree, number - 1, size));
        EXPECT_EQ(proof->root, *MerkleRootAt(tree, size));
        EXPECT_EQ(proof->checkpoint, *note);
      }
      for (uint64_t old_size = 1; old_size <= size; ++old_size) {
        absl::StatusOr<ConsistencyProofResult> proof =
            host_->reader().GetConsistencyProof(chain.ledger_id(), old_size, size);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_EQ(proof->hashes, *MerkleConsistencyProof(tree, old_size, size));
        EXPECT_EQ(proof->old_checkpoint,
                  *host_->reader().GetCheckpoint(chain.ledger_id(), old_size));
        EXPECT_EQ(proof->new_checkpoint, *note);
      }
    }
    absl::StatusOr<InclusionProofResult> latest =
        host_->reader().GetInclusionProof(chain.ledger_id(), 3, 0);
    ASSERT_TRUE(latest.ok()) << latest.status();
    EXPECT_EQ(latest->tree_size, 21u);
    EXPECT_EQ(latest->hashes, *MerkleInclusionProof(tree, 2, 21));
  };
  expect_exact_proofs();
  if (GetParam() == "rocksdb") {
    Open();
    expect_exact_proofs();
  }
}

// Proofs of the latest tree (tree size 0) follow the head as it moves.
TEST_P(LedgerHostTest, LatestProofsFollowTheHead) {
  OwnerChain chain = NewChain();
  MemoryMerkleTree tree;
  for (uint64_t size = 1; size <= 12; ++size) {
    AppendN(chain, 1);
    tree.AppendLeaf(*DecodeDigest(chain.blocks().back().fingerprint));
    const std::string note = *host_->reader().GetCheckpoint(chain.ledger_id(), size);
    for (int repeat = 0; repeat < 2; ++repeat) {
      for (uint64_t number = 1; number <= size; ++number) {
        absl::StatusOr<InclusionProofResult> proof =
            host_->reader().GetInclusionProof(chain.ledger_id(), number, 0);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_EQ(proof->tree_size, size);
        EXPECT_EQ(proof->hashes, *MerkleInclusionProof(tree, number - 1, size));
        EXPECT_EQ(proof->root, tree.Root());
        EXPECT_EQ(proof->checkpoint, note);
      }
      absl::StatusOr<ConsistencyProofResult> consistency =
          host_->reader().GetConsistencyProof(chain.ledger_id(), 1, 0);
      ASSERT_TRUE(consistency.ok()) << consistency.status();
      EXPECT_EQ(consistency->hashes, *MerkleConsistencyProof(tree, 1, size));
      EXPECT_EQ(consistency->new_checkpoint, note);
      EXPECT_EQ(*host_->reader().GetCheckpoint(chain.ledger_id(), 0), note);
    }
  }
}

// A forgotten ledger whose id is taken again (its token reused) serves proofs
// of its new blocks only: nothing kept for the old ones survives the forget.
TEST_P(LedgerHostTest, ProofsAfterForgetAreNotFoundNotServedFromCache) {
  OwnerChain chain = NewChain();
  AppendN(chain, 6);
  for (uint64_t number = 1; number <= 6; ++number) {
    ASSERT_TRUE(host_->reader().GetInclusionProof(chain.ledger_id(), number, 0).ok());
  }
  ASSERT_TRUE(host_->reader().GetConsistencyProof(chain.ledger_id(), 2, 0).ok());
  ASSERT_TRUE(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                            chain.SignForget())
                  .ok());
  for (uint64_t tree_size : {uint64_t{0}, uint64_t{6}}) {
    for (uint64_t number = 1; number <= 6; ++number) {
      absl::Status status =
          host_->reader().GetInclusionProof(chain.ledger_id(), number, tree_size).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
      EXPECT_THAT(status.message(), HasSubstr("was forgotten"));
    }
  }
  EXPECT_EQ(host_->reader().GetConsistencyProof(chain.ledger_id(), 2, 0).status().code(),
            absl::StatusCode::kNotFound);
}

// A forgotten ledger's id is retired: its tombstone refuses a genesis block
// (even with the creation token, even the original genesis replayed within
// the clock skew), on every store and after a reopen, and every read says the
// ledger was forgotten.
TEST_P(LedgerHostTest, ForgetRetiresTheIdForEver) {
  OwnerChain chain = NewChain();
  AppendN(chain, 3);
  const std::string original_genesis = OwnerChain::Bytes(chain.blocks()[0]);
  const Block sealed_genesis = chain.blocks()[0];
  ASSERT_TRUE(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                            chain.SignForget())
                  .ok());
  const auto expect_retired = [&](const std::string& when) {
    // The owner-signed original genesis, replayed with its token.
    Block owner_signed = sealed_genesis;
    owner_signed.signatures.pop_back();
    absl::Status replay =
        AppendAndWait(*host_, {OwnerChain::Bytes(owner_signed), {}, chain.token()}).status();
    EXPECT_EQ(replay.code(), absl::StatusCode::kFailedPrecondition) << when << replay;
    EXPECT_THAT(replay.message(), HasSubstr("block 1: forgotten ledger")) << when;
    EXPECT_THAT(replay.message(), HasSubstr("retired")) << when;
    // A new genesis with other contents and the creation token.
    OwnerChain again(chain.ledger_id(), chain.token());
    absl::Status recreate =
        AppendAndWait(*host_, {OwnerChain::Bytes(again.Next()), {}, chain.token()}).status();
    EXPECT_EQ(recreate.code(), absl::StatusCode::kFailedPrecondition) << when << recreate;
    absl::Status later = AppendAndWait(*host_, {OwnerChain::Bytes(chain.Next()), {}, ""}).status();
    EXPECT_EQ(later.code(), absl::StatusCode::kNotFound) << when << later;
    EXPECT_THAT(later.message(), HasSubstr("was forgotten")) << when;
    for (const absl::Status& read :
         {host_->reader().GetLedger(chain.ledger_id()).status(),
          host_->reader().GetCheckpoint(chain.ledger_id(), 0).status(),
          host_->reader().ResolveBlockRange(chain.ledger_id(), 1, 0).status(),
          host_->reader().GetInclusionProof(chain.ledger_id(), 1, 0).status(),
          host_->reader().GetConsistencyProof(chain.ledger_id(), 1, 0).status(),
          host_->reader().GetAttachment(chain.ledger_id(), DigestText("x")).status(),
          host_->reader().WatchLedger(chain.ledger_id()).status(),
          host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                        chain.SignForget())}) {
      EXPECT_EQ(read.code(), absl::StatusCode::kNotFound) << when << read;
      EXPECT_THAT(read.message(), HasSubstr("was forgotten")) << when << read;
    }
  };
  expect_retired("cached");
  Open();  // A new LedgerHost: nothing cached.
  if (GetParam() == "rocksdb") {
    expect_retired("after a reopen");
  } else {
    // The memory store starts empty: the id is unknown, not forgotten.
    EXPECT_EQ(host_->reader().GetLedger(chain.ledger_id()).status().code(),
              absl::StatusCode::kNotFound);
  }
}

TEST_P(LedgerHostTest, ProofsOfUnknownLedgersAreNotFound) {
  absl::StatusOr<NewLedger> never_appended = host_->CreateLedger();
  ASSERT_TRUE(never_appended.ok());
  EXPECT_EQ(host_->reader().GetInclusionProof(never_appended->ledger_id, 1, 0).status().code(),
            absl::StatusCode::kNotFound);
  // A genesis without its token is rejected after the ledger's entry is loaded:
  // a cached entry of a ledger that does not exist.
  OwnerChain chain = NewChain();
  EXPECT_EQ(AppendAndWait(*host_, {OwnerChain::Bytes(chain.Next()), {}, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->reader().GetInclusionProof(chain.ledger_id(), 1, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetConsistencyProof(chain.ledger_id(), 1, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetCheckpoint(chain.ledger_id(), 0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(LedgerHostTest, AttachmentsAreStoredBySeal) {
  OwnerChain chain = NewChain();
  AppendN(chain, 1);
  const std::string data = "attached bytes";
  Block block = chain.Next(nullptr, std::vector<std::string>{DigestText(data), DigestText("")});
  ASSERT_TRUE(Send(chain, block, {{"a.txt", data}, {"", ""}}).ok());
  absl::StatusOr<StoredAttachment> got = host_->reader().GetAttachment(chain.ledger_id(), DigestText(data));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "a.txt");
  EXPECT_EQ(got->data, data);
  got = host_->reader().GetAttachment(chain.ledger_id(), DigestText(""));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "");
  EXPECT_EQ(host_->reader().GetAttachment(chain.ledger_id(), DigestText("other")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetAttachment(chain.ledger_id(), "nonsense").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(LedgerHostTest, ForgetNeedsControllersAndDeletesEverything) {
  OwnerChain chain = NewChain(2, 2);
  AppendN(chain, 1);
  const std::string data = "sealed";
  ASSERT_TRUE(Send(chain, chain.Next(nullptr, std::vector<std::string>{DigestText(data)}),
                   {{"n", data}})
                  .ok());
  std::atomic<bool> subscribed_done{false};
  absl::Status sub_status;
  std::thread subscriber([&] {
    sub_status = Subscribe(*host_,
        chain.ledger_id(), 1, [](uint64_t, const std::string&, const std::string&) { return true; },
        [] { return false; }, 20);
    subscribed_done = true;
  });
  std::vector<BlockSignature> signatures = chain.SignForget();
  // One signature is below the threshold.
  EXPECT_EQ(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                          {signatures[0]})
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Signed for another head.
  EXPECT_EQ(host_->Forget(chain.ledger_id(), chain.blocks()[0].fingerprint, signatures).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HeadOf(chain.ledger_id()), 2u);
  ASSERT_TRUE(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint, signatures).ok());
  subscriber.join();
  EXPECT_EQ(sub_status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetLedger(chain.ledger_id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetCheckpoint(chain.ledger_id(), 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetInclusionProof(chain.ledger_id(), 1, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->reader().GetAttachment(chain.ledger_id(), DigestText(data)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint, signatures).code(),
            absl::StatusCode::kNotFound);
  // Appending block 3 now: the ledger was forgotten.
  EXPECT_EQ(AppendAndWait(*host_, {OwnerChain::Bytes(chain.Next()), {}, ""}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(LedgerHostTest, SplicedCompleteBlockEqualsSerializeBlock) {
  OwnerChain chain = NewChain(2, 2);
  AppendN(chain, 2);
  const std::string data = "sealed";
  std::vector<Block> blocks = {
      chain.Next(),
      chain.Next(Json{{"event", "x"}, {"note", "a \"quoted\" \u00e9 ]"}}),
      chain.Next(nullptr, std::vector<std::string>{DigestText(data)})};
  for (const Block& block : blocks) {
    SigningKey key = *SigningKey::Generate();
    Block complete = block;
    SignAsHost(complete, key);
    EXPECT_EQ(SpliceHostSignature(SerializeBlock(block), complete.signatures.back()),
              SerializeBlock(complete));
  }
  // And what the host stores is exactly the re-serialised complete block.
  absl::StatusOr<AppendResult> result =
      Send(chain, blocks[2], {{"n", data}});
  ASSERT_TRUE(result.ok()) << result.status();
  Block complete = blocks[2];
  complete.signatures.push_back(result->host_signature);
  EXPECT_EQ(result->complete_block, SerializeBlock(complete));
  std::string stored;
  ASSERT_TRUE(GetBlocks(*host_, chain.ledger_id(), 3, 3, [&](uint64_t, const std::string& b) {
                     stored = b;
                     return true;
                   }).ok());
  EXPECT_EQ(stored, SerializeBlock(complete));
}


INSTANTIATE_TEST_SUITE_P(Stores, LedgerHostTest, ::testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace microledger
