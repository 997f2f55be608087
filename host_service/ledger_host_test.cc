// The append pipeline, reads, proofs, subscriptions and forgetting, against
// both stores (memory, and RocksDB in a temporary directory).
#include "host_service/ledger_host.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/block_builder.h"
#include "common/checkpoint.h"
#include "common/json.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/owner_chain.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

std::string TempDir(absl::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name, "_", getpid(), "_",
                                 NowMillis(), "_", rand());
  std::filesystem::create_directories(dir);
  return dir;
}

MasterSecret FixedSecret() { return *MasterSecret::FromBytes(std::string(32, '\x07')); }

class LedgerHostTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "rocksdb") dir_ = TempDir("ledger_host_test");
    Open();
  }

  void Open(HostOptions options = HostOptions()) {
    host_.reset();
    std::unique_ptr<KvStore> store;
    if (GetParam() == "rocksdb") {
      absl::StatusOr<std::unique_ptr<KvStore>> opened = OpenRocksDbKvStore(dir_, true);
      ASSERT_TRUE(opened.ok()) << opened.status();
      store = *std::move(opened);
    } else {
      store = NewMemoryKvStore();
    }
    host_ = std::make_unique<LedgerHost>(std::move(store), FixedSecret(), options);
  }

  OwnerChain NewChain(int owners = 1, int threshold = 1) {
    absl::StatusOr<NewLedger> ledger = host_->CreateLedger();
    EXPECT_TRUE(ledger.ok());
    return OwnerChain(ledger->ledger_id, ledger->ledger_token, owners, threshold);
  }

  absl::StatusOr<AppendResult> Send(OwnerChain& chain, const Block& block,
                                    std::vector<AttachmentInput> attachments = {}) {
    AppendInput input{OwnerChain::Bytes(block), std::move(attachments),
                      block.number == 1 ? chain.token() : ""};
    absl::StatusOr<AppendResult> result = host_->Append(input);
    if (result.ok()) {
      absl::Status accepted = chain.Accept(block, result->host_signature);
      EXPECT_TRUE(accepted.ok()) << accepted;
    }
    return result;
  }

  void AppendN(OwnerChain& chain, int count) {
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<AppendResult> result = Send(chain, chain.Next());
      ASSERT_TRUE(result.ok()) << result.status();
    }
  }

  uint64_t HeadOf(const std::string& ledger_id) {
    absl::StatusOr<LedgerInfo> info = host_->GetLedger(ledger_id);
    return info.ok() ? info->state.head_number : 0;
  }

  std::string dir_;
  std::unique_ptr<LedgerHost> host_;
};

TEST_P(LedgerHostTest, ChainReadsBackAndProofsVerify) {
  OwnerChain chain = NewChain();
  AppendN(chain, 37);
  std::vector<std::string> blocks;
  ASSERT_TRUE(host_->GetBlocks(chain.ledger_id(), 1, 0, [&](uint64_t n, const std::string& b) {
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

  absl::StatusOr<LedgerInfo> info = host_->GetLedger(chain.ledger_id());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->genesis_block, blocks[0]);
  EXPECT_EQ(info->state.head_number, 37u);

  MemoryMerkleTree tree;
  for (uint64_t size = 1; size <= 37; ++size) {
    tree.AppendLeaf(*DecodeDigest(chain.blocks()[size - 1].fingerprint));
    absl::StatusOr<std::string> note = host_->GetCheckpoint(chain.ledger_id(), size);
    ASSERT_TRUE(note.ok());
    absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(*note, chain.ledger_id());
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    EXPECT_EQ(checkpoint->tree_size, size);
    EXPECT_EQ(checkpoint->root_hash, tree.Root());
    for (uint64_t number : {uint64_t{1}, (size + 1) / 2, size}) {
      absl::StatusOr<InclusionProofResult> proof =
          host_->GetInclusionProof(chain.ledger_id(), number, size);
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
        host_->GetConsistencyProof(chain.ledger_id(), (size + 1) / 2, 0);
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
  EXPECT_TRUE(host_->GetBlocks(chain.ledger_id(), 5, 9, [&](uint64_t n, const std::string&) {
                       EXPECT_EQ(n, 5u + count++);
                       return true;
                     }).ok());
  EXPECT_EQ(count, 5);
  auto ignore = [](uint64_t, const std::string&) { return true; };
  EXPECT_EQ(host_->GetBlocks(chain.ledger_id(), 0, 3, ignore).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->GetBlocks(chain.ledger_id(), 30, 38, ignore).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(host_->GetInclusionProof(chain.ledger_id(), 1, 38).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_P(LedgerHostTest, ReadBlocksReadsChunksWithinTheRangeAndNotAfterAForget) {
  OwnerChain chain = NewChain();
  AppendN(chain, 10);
  std::vector<std::string> stored;
  ASSERT_TRUE(host_->GetBlocks(chain.ledger_id(), 1, 0, [&](uint64_t, const std::string& b) {
                       stored.push_back(b);
                       return true;
                     }).ok());
  ASSERT_EQ(stored.size(), 10u);
  absl::StatusOr<LedgerHost::BlockRange> range = host_->ResolveBlockRange(chain.ledger_id(), 2, 9);
  ASSERT_TRUE(range.ok()) << range.status();
  absl::StatusOr<std::vector<std::string>> chunk = host_->ReadBlocks(chain.ledger_id(), *range, 2, 3);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(*chunk, std::vector<std::string>(stored.begin() + 1, stored.begin() + 4));
  // A chunk is cut at the end of the range, not at the head.
  chunk = host_->ReadBlocks(chain.ledger_id(), *range, 8, 5);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_EQ(*chunk, std::vector<std::string>(stored.begin() + 7, stored.begin() + 9));
  EXPECT_EQ(host_->ReadBlocks(chain.ledger_id(), *range, 10, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->ReadBlocks(chain.ledger_id(), *range, 1, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                            chain.SignForget())
                  .ok());
  EXPECT_EQ(host_->ReadBlocks(chain.ledger_id(), *range, 2, 3).status().code(),
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
  absl::StatusOr<std::string> note = host_->GetCheckpoint(chain.ledger_id(), 0);
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
      absl::StatusOr<std::string> note = host_->GetCheckpoint(chain.ledger_id(), size);
      ASSERT_TRUE(note.ok()) << note.status();
      for (uint64_t number = 1; number <= size; ++number) {
        absl::StatusOr<InclusionProofResult> proof =
            host_->GetInclusionProof(chain.ledger_id(), number, size);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_EQ(proof->hashes, *MerkleInclusionProof(tree, number - 1, size));
        EXPECT_EQ(proof->root, *MerkleRootAt(tree, size));
        EXPECT_EQ(proof->checkpoint, *note);
      }
      for (uint64_t old_size = 1; old_size <= size; ++old_size) {
        absl::StatusOr<ConsistencyProofResult> proof =
            host_->GetConsistencyProof(chain.ledger_id(), old_size, size);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_EQ(proof->hashes, *MerkleConsistencyProof(tree, old_size, size));
        EXPECT_EQ(proof->old_checkpoint,
                  *host_->GetCheckpoint(chain.ledger_id(), old_size));
        EXPECT_EQ(proof->new_checkpoint, *note);
      }
    }
    absl::StatusOr<InclusionProofResult> latest =
        host_->GetInclusionProof(chain.ledger_id(), 3, 0);
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
    const std::string note = *host_->GetCheckpoint(chain.ledger_id(), size);
    for (int repeat = 0; repeat < 2; ++repeat) {
      for (uint64_t number = 1; number <= size; ++number) {
        absl::StatusOr<InclusionProofResult> proof =
            host_->GetInclusionProof(chain.ledger_id(), number, 0);
        ASSERT_TRUE(proof.ok()) << proof.status();
        EXPECT_EQ(proof->tree_size, size);
        EXPECT_EQ(proof->hashes, *MerkleInclusionProof(tree, number - 1, size));
        EXPECT_EQ(proof->root, tree.Root());
        EXPECT_EQ(proof->checkpoint, note);
      }
      absl::StatusOr<ConsistencyProofResult> consistency =
          host_->GetConsistencyProof(chain.ledger_id(), 1, 0);
      ASSERT_TRUE(consistency.ok()) << consistency.status();
      EXPECT_EQ(consistency->hashes, *MerkleConsistencyProof(tree, 1, size));
      EXPECT_EQ(consistency->new_checkpoint, note);
      EXPECT_EQ(*host_->GetCheckpoint(chain.ledger_id(), 0), note);
    }
  }
}

// A forgotten ledger whose id is taken again (its token reused) serves proofs
// of its new blocks only: nothing kept for the old ones survives the forget.
TEST_P(LedgerHostTest, ProofsAfterForgetAreNotFoundNotServedFromCache) {
  OwnerChain chain = NewChain();
  AppendN(chain, 6);
  for (uint64_t number = 1; number <= 6; ++number) {
    ASSERT_TRUE(host_->GetInclusionProof(chain.ledger_id(), number, 0).ok());
  }
  ASSERT_TRUE(host_->GetConsistencyProof(chain.ledger_id(), 2, 0).ok());
  ASSERT_TRUE(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint,
                            chain.SignForget())
                  .ok());
  for (uint64_t tree_size : {uint64_t{0}, uint64_t{6}}) {
    for (uint64_t number = 1; number <= 6; ++number) {
      absl::Status status =
          host_->GetInclusionProof(chain.ledger_id(), number, tree_size).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
      EXPECT_THAT(status.message(), HasSubstr("was forgotten"));
    }
  }
  EXPECT_EQ(host_->GetConsistencyProof(chain.ledger_id(), 2, 0).status().code(),
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
        host_->Append({OwnerChain::Bytes(owner_signed), {}, chain.token()}).status();
    EXPECT_EQ(replay.code(), absl::StatusCode::kFailedPrecondition) << when << replay;
    EXPECT_THAT(replay.message(), HasSubstr("block 1: forgotten ledger")) << when;
    EXPECT_THAT(replay.message(), HasSubstr("retired")) << when;
    // A new genesis with other contents and the creation token.
    OwnerChain again(chain.ledger_id(), chain.token());
    absl::Status recreate =
        host_->Append({OwnerChain::Bytes(again.Next()), {}, chain.token()}).status();
    EXPECT_EQ(recreate.code(), absl::StatusCode::kFailedPrecondition) << when << recreate;
    absl::Status later = host_->Append({OwnerChain::Bytes(chain.Next()), {}, ""}).status();
    EXPECT_EQ(later.code(), absl::StatusCode::kNotFound) << when << later;
    EXPECT_THAT(later.message(), HasSubstr("was forgotten")) << when;
    for (const absl::Status& read :
         {host_->GetLedger(chain.ledger_id()).status(),
          host_->GetCheckpoint(chain.ledger_id(), 0).status(),
          host_->ResolveBlockRange(chain.ledger_id(), 1, 0).status(),
          host_->GetInclusionProof(chain.ledger_id(), 1, 0).status(),
          host_->GetConsistencyProof(chain.ledger_id(), 1, 0).status(),
          host_->GetAttachment(chain.ledger_id(), DigestText("x")).status(),
          host_->WatchLedger(chain.ledger_id()).status(),
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
    EXPECT_EQ(host_->GetLedger(chain.ledger_id()).status().code(),
              absl::StatusCode::kNotFound);
  }
}

TEST_P(LedgerHostTest, ProofsOfUnknownLedgersAreNotFound) {
  absl::StatusOr<NewLedger> never_appended = host_->CreateLedger();
  ASSERT_TRUE(never_appended.ok());
  EXPECT_EQ(host_->GetInclusionProof(never_appended->ledger_id, 1, 0).status().code(),
            absl::StatusCode::kNotFound);
  // A genesis without its token is rejected after the ledger's entry is loaded:
  // a cached entry of a ledger that does not exist.
  OwnerChain chain = NewChain();
  EXPECT_EQ(host_->Append({OwnerChain::Bytes(chain.Next()), {}, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->GetInclusionProof(chain.ledger_id(), 1, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetConsistencyProof(chain.ledger_id(), 1, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetCheckpoint(chain.ledger_id(), 0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(LedgerHostTest, AttachmentsAreStoredBySeal) {
  OwnerChain chain = NewChain();
  AppendN(chain, 1);
  const std::string data = "attached bytes";
  Block block = chain.Next(nullptr, std::vector<std::string>{DigestText(data), DigestText("")});
  ASSERT_TRUE(Send(chain, block, {{"a.txt", data}, {"", ""}}).ok());
  absl::StatusOr<StoredAttachment> got = host_->GetAttachment(chain.ledger_id(), DigestText(data));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "a.txt");
  EXPECT_EQ(got->data, data);
  got = host_->GetAttachment(chain.ledger_id(), DigestText(""));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "");
  EXPECT_EQ(host_->GetAttachment(chain.ledger_id(), DigestText("other")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetAttachment(chain.ledger_id(), "nonsense").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// One bad input: the code, a message naming the rule (and block number), and
// an unchanged head.
struct BadCase {
  absl::StatusCode code;
  std::string message_part;
};

class BadInputTest : public LedgerHostTest {
 protected:
  void SetUp() override {
    LedgerHostTest::SetUp();
    chain_ = std::make_unique<OwnerChain>(NewChain(2, 2));
    AppendN(*chain_, 3);
  }
  void ExpectRejected(const AppendInput& input, absl::StatusCode code,
                      absl::string_view part) {
    const uint64_t head = HeadOf(chain_->ledger_id());
    absl::StatusOr<LedgerInfo> before = host_->GetLedger(chain_->ledger_id());
    absl::StatusOr<AppendResult> result = host_->Append(input);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(std::string(part)));
    EXPECT_EQ(HeadOf(chain_->ledger_id()), head);
    absl::StatusOr<LedgerInfo> after = host_->GetLedger(chain_->ledger_id());
    EXPECT_EQ(after->checkpoint, before->checkpoint);
  }
  AppendInput Input(const Block& block) { return {OwnerChain::Bytes(block), {}, ""}; }
  std::unique_ptr<OwnerChain> chain_;
};

TEST_P(BadInputTest, MalformedBytes) {
  std::string bytes = OwnerChain::Bytes(chain_->Next());
  ExpectRejected({bytes + " ", {}, ""}, absl::StatusCode::kInvalidArgument, "block:");
  ExpectRejected({"{\"ledger\":1}", {}, ""}, absl::StatusCode::kInvalidArgument, "block:");
  Block block = chain_->Next();
  block.fingerprint = DigestText("x");
  ExpectRejected(Input(block), absl::StatusCode::kInvalidArgument, "fingerprint");
}

TEST_P(BadInputTest, WrongPrevious) {
  Block block = chain_->Next();
  block.previous = DigestText("not the head");
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 4: previous");
}

TEST_P(BadInputTest, Gap) {
  Block block = chain_->Next();
  block.number = 6;
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 6: number: expected block 4");
}

TEST_P(BadInputTest, ThresholdNotMet) {
  ExpectRejected(Input(chain_->Reseal(chain_->Next(), 1)),
                 absl::StatusCode::kFailedPrecondition, "block 4: threshold");
}

TEST_P(BadInputTest, ForeignSigner) {
  Block block = chain_->Next();
  SigningKey stranger = *SigningKey::Generate();
  block.signatures.clear();
  SignAsOwners(block, {&chain_->owner(0), &stranger});
  ExpectRejected(Input(block), absl::StatusCode::kFailedPrecondition,
                 "block 4: owner signatures");
}

TEST_P(BadInputTest, Replay) {
  ExpectRejected(Input(chain_->Reseal(chain_->blocks()[2])),
                 absl::StatusCode::kFailedPrecondition, "block 3: number: expected block 4");
}

TEST_P(BadInputTest, ClockSkew) {
  Block block = chain_->Next();
  block.time_millis += 3600 * 1000;
  block.time = FormatTimestampMillis(block.time_millis);
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 4: time");
}

TEST_P(BadInputTest, AfterClosed) {
  ASSERT_TRUE(Send(*chain_, chain_->Next({{"event", "closed document"}})).ok());
  ExpectRejected(Input(chain_->Next()), absl::StatusCode::kFailedPrecondition,
                 "block 5: terminal");
  absl::StatusOr<LedgerInfo> info = host_->GetLedger(chain_->ledger_id());
  EXPECT_EQ(info->state.terminal_event, "closed document");
}

TEST_P(BadInputTest, BlockForAnotherLedger) {
  // A block whose ledger names a ledger of this host, chained on another's head.
  OwnerChain other = NewChain(2, 2);
  AppendN(other, 3);
  Block block = chain_->Next();
  block.ledger = other.ledger_id();
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 4:");
}

TEST_P(BadInputTest, GenesisWithWrongToken) {
  OwnerChain fresh = NewChain();
  AppendInput input{OwnerChain::Bytes(fresh.Next()), {}, chain_->token()};
  EXPECT_EQ(host_->Append(input).status().code(), absl::StatusCode::kFailedPrecondition);
  input.ledger_token = "";
  EXPECT_EQ(host_->Append(input).status().code(), absl::StatusCode::kInvalidArgument);
  input.ledger_token = "short";
  EXPECT_EQ(host_->Append(input).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->GetLedger(fresh.ledger_id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(BadInputTest, UnknownLedger) {
  OwnerChain fresh = NewChain();
  Block genesis = fresh.Next();
  ASSERT_TRUE(fresh.Accept(genesis, {"host", "Ed25519", "u", "u"}).ok() == false);
  Block block = chain_->Next();
  block.ledger = fresh.ledger_id();
  absl::StatusOr<AppendResult> result = host_->Append(Input(chain_->Reseal(block)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("block 4: ledger"));
  EXPECT_EQ(host_->GetLedger(fresh.ledger_id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(BadInputTest, Limits) {
  Block block = chain_->Next({{"event", "big"}, {"pad", std::string(70000, 'x')}});
  ExpectRejected(Input(block), absl::StatusCode::kResourceExhausted, "block size");
  Block sealed = chain_->Next(nullptr, std::vector<std::string>{DigestText("a")});
  AppendInput input = Input(sealed);
  input.attachments.assign(17, {"", "a"});
  ExpectRejected(input, absl::StatusCode::kResourceExhausted, "attachments");
  input.attachments.assign(1, {"", std::string((1 << 20) + 1, 'a')});
  ExpectRejected(input, absl::StatusCode::kResourceExhausted, "attachment size");
}

TEST_P(BadInputTest, AttachmentMatchingNoSeal) {
  Block sealed = chain_->Next(nullptr, std::vector<std::string>{DigestText("a")});
  AppendInput input = Input(sealed);
  input.attachments.push_back({"x", "b"});
  ExpectRejected(input, absl::StatusCode::kInvalidArgument,
                 "block 4: attachment: attachment 0");
}

TEST_P(LedgerHostTest, RacingOwnersExactlyOneCommits) {
  OwnerChain chain = NewChain();
  AppendN(chain, 2);
  std::vector<Block> candidates;
  for (int i = 0; i < 8; ++i) {
    candidates.push_back(chain.Next({{"event", "racer"}, {"i", static_cast<double>(i)}}));
  }
  std::atomic<int> ok{0}, rejected{0};
  std::vector<std::thread> threads;
  for (const Block& block : candidates) {
    threads.emplace_back([&, block] {
      absl::StatusOr<AppendResult> r = host_->Append({OwnerChain::Bytes(block), {}, ""});
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++rejected;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(rejected.load(), 7);
  EXPECT_EQ(HeadOf(chain.ledger_id()), 3u);
}

TEST_P(LedgerHostTest, ManyLedgersInParallel) {
  constexpr int kLedgers = 20, kBlocks = 8, kThreads = 4;
  std::vector<OwnerChain> chains;
  for (int i = 0; i < kLedgers; ++i) chains.push_back(NewChain());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBlocks; ++b) {
        for (int i = t; i < kLedgers; i += kThreads) {
          absl::StatusOr<AppendResult> r = Send(chains[i], chains[i].Next());
          EXPECT_TRUE(r.ok()) << r.status();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (OwnerChain& chain : chains) {
    std::vector<std::string> blocks;
    ASSERT_TRUE(host_->GetBlocks(chain.ledger_id(), 1, 0, [&](uint64_t, const std::string& b) {
                         blocks.push_back(b);
                         return true;
                       }).ok());
    ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks));
    EXPECT_TRUE(VerifyChainBytes(chain.ledger_id(), blocks).ok());
  }
}

TEST_P(LedgerHostTest, EvictedLedgersReloadAndKeepTheirOrder) {
  HostOptions options;
  options.max_cached_ledgers = 64;  // One per shard: nearly every append reloads.
  Open(options);
  constexpr int kLedgers = 200, kBlocks = 5, kThreads = 4;
  std::vector<OwnerChain> chains;
  for (int i = 0; i < kLedgers; ++i) {
    chains.push_back(NewChain());
    AppendN(chains.back(), 1);
  }
  std::vector<uint64_t> delivered;
  std::atomic<bool> stop{false};
  std::thread subscriber([&] {
    EXPECT_TRUE(host_
                    ->Subscribe(
                        chains[0].ledger_id(), 1,
                        [&](uint64_t number, const std::string&, const std::string&) {
                          delivered.push_back(number);
                          return number < kBlocks + 1;
                        },
                        [&] { return stop.load(); }, 20)
                    .ok());
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBlocks; ++b) {
        for (int i = t; i < kLedgers; i += kThreads) {
          absl::StatusOr<AppendResult> r = Send(chains[i], chains[i].Next());
          EXPECT_TRUE(r.ok()) << r.status();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  subscriber.join();
  EXPECT_EQ(delivered, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  for (OwnerChain& chain : chains) {
    std::vector<std::string> blocks;
    ASSERT_TRUE(host_->GetBlocks(chain.ledger_id(), 1, 0, [&](uint64_t, const std::string& b) {
                         blocks.push_back(b);
                         return true;
                       }).ok());
    ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks + 1));
    EXPECT_TRUE(VerifyChainBytes(chain.ledger_id(), blocks).ok());
  }
}

TEST_P(LedgerHostTest, SubscribeSeesStoredThenNewBlocks) {
  OwnerChain chain = NewChain();
  AppendN(chain, 4);
  std::vector<uint64_t> seen;
  std::atomic<bool> stop{false};
  absl::Status status;
  const std::string ledger_id = chain.ledger_id();  // The writer mutates `chain`.
  std::thread subscriber([&] {
    status = host_->Subscribe(
        ledger_id, 2,
        [&](uint64_t n, const std::string& block, const std::string& checkpoint) {
          EXPECT_TRUE(ParseBlock(block, SignatureStage::kComplete).ok());
          absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(checkpoint, ledger_id);
          EXPECT_TRUE(cp.ok()) << cp.status() << "\n" << checkpoint;
          if (cp.ok()) {
            EXPECT_EQ(cp->tree_size, n);
          }
          seen.push_back(n);
          return n < 12;
        },
        [&] { return stop.load(); }, 20);
  });
  AppendN(chain, 8);
  subscriber.join();
  EXPECT_TRUE(status.ok()) << status;
  std::vector<uint64_t> expected;
  for (uint64_t n = 2; n <= 12; ++n) expected.push_back(n);
  EXPECT_EQ(seen, expected);
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
    sub_status = host_->Subscribe(
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
  EXPECT_EQ(host_->GetLedger(chain.ledger_id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetCheckpoint(chain.ledger_id(), 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetInclusionProof(chain.ledger_id(), 1, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetAttachment(chain.ledger_id(), DigestText(data)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->Forget(chain.ledger_id(), chain.state().head_fingerprint, signatures).code(),
            absl::StatusCode::kNotFound);
  // Appending block 3 now: the ledger was forgotten.
  EXPECT_EQ(host_->Append({OwnerChain::Bytes(chain.Next()), {}, ""}).status().code(),
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
  ASSERT_TRUE(host_->GetBlocks(chain.ledger_id(), 3, 3, [&](uint64_t, const std::string& b) {
                     stored = b;
                     return true;
                   }).ok());
  EXPECT_EQ(stored, SerializeBlock(complete));
}

TEST_P(LedgerHostTest, PipelinedAsyncAppendsCommitInOrder) {
  OwnerChain chain = NewChain();
  AppendN(chain, 1);
  std::vector<Block> ahead = chain.DraftAhead(40);
  // Block 21 (index 19) is broken: it and everything after it must fail.
  Block broken = ahead[19];
  broken.time = "2001-01-01T00:00:00.000Z";
  absl::Mutex mu;
  std::vector<std::pair<uint64_t, absl::StatusCode>> replies;
  int done = 0;
  for (size_t i = 0; i < ahead.size(); ++i) {
    const Block& block = i == 19 ? broken : ahead[i];
    host_->AppendAsync({OwnerChain::Bytes(block), {}, ""},
                       [&, number = block.number](absl::StatusOr<AppendResult> r) {
                         absl::MutexLock lock(&mu);
                         replies.emplace_back(number, r.status().code());
                         ++done;
                       });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* d) { return *d == 40; }, &done));
  }
  // Accepted blocks complete in order; rejected ones are answered inline.
  uint64_t last_ok = 0;
  int ok = 0;
  for (const auto& [number, code] : replies) {
    if (code == absl::StatusCode::kOk) {
      EXPECT_GT(number, last_ok);
      last_ok = number;
      ++ok;
      EXPECT_LT(number, 21u);
    } else {
      EXPECT_GE(number, 21u);
    }
  }
  EXPECT_EQ(ok, 19);
  EXPECT_EQ(HeadOf(chain.ledger_id()), 20u);
}

INSTANTIATE_TEST_SUITE_P(Stores, LedgerHostTest, ::testing::Values("memory", "rocksdb"));
INSTANTIATE_TEST_SUITE_P(Stores, BadInputTest, ::testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace microledger
