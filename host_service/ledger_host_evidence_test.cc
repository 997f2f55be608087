// Equivocation evidence (SPEC §11) at the host: real forks, made the way they
// happen — a second host with the same master secret over a copy of the
// first one's store (a restored backup) countersigns another block n — then
// reported: the ledger freezes (appends refused naming the first evidence id,
// across restarts, cache eviction and appends racing the report), reads go
// on, evidence is kept in order, deduplicated, and survives a forget.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/block.h"
#include "common/evidence.h"
#include "common/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host_service/ledger_host.h"
#include "host_service/ledger_host_fixture.h"
#include "host_service/ledger_host_testing.h"
#include "ledger_store/kv_store.h"
#include "tests/host/owner_chain.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A ledger forked at block 4: blocks 1..3 on both hosts, then each host
// countersigned its own block 4. The chain follows host_'s side.
struct Fork {
  std::string ledger_id;
  std::string block_a, block_b;  // Complete blocks 4 of host_ and of backup_.
  std::string checkpoint_a, checkpoint_b;
};

class LedgerHostEvidenceTest : public LedgerHostTest {
 protected:
  // A store holding everything host_'s holds now, as a backup restored
  // elsewhere would: RocksDB in a new directory, or memory.
  std::unique_ptr<KvStore> CopyOfStore() {
    std::unique_ptr<KvStore> copy;
    if (GetParam() == "rocksdb") {
      absl::StatusOr<std::unique_ptr<KvStore>> opened =
          OpenRocksDbKvStore(TempDir("ledger_host_backup"), true);
      EXPECT_TRUE(opened.ok()) << opened.status();
      if (!opened.ok()) return NewMemoryKvStore();
      copy = *std::move(opened);
    } else {
      copy = NewMemoryKvStore();
    }
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> all =
        host_->reader().store().Scan("", std::string(1, '\xff'),
                                     std::numeric_limits<size_t>::max());
    EXPECT_TRUE(all.ok()) << all.status();
    KvBatch batch;
    batch.puts = *std::move(all);
    EXPECT_TRUE(copy->Write(batch).ok());
    return copy;
  }

  // A new host_ over the same data: RocksDB reopened, or a copy of memory.
  void Restart(HostOptions options = HostOptions()) {
    if (GetParam() == "rocksdb") {
      Open(options);
      return;
    }
    std::unique_ptr<KvStore> copy = CopyOfStore();
    host_.reset();
    host_ = std::make_unique<LedgerHost>(std::move(copy), FixedSecret(), options);
  }

  Fork MakeFork(OwnerChain& chain) {
    AppendN(chain, 3);
    backup_ = std::make_unique<LedgerHost>(CopyOfStore(), FixedSecret(), HostOptions());
    const Block a = chain.Next(Json{{"event", "forked"}, {"side", "a"}});
    const Block b = chain.Next(Json{{"event", "forked"}, {"side", "b"}});
    absl::StatusOr<AppendResult> on_backup =
        AppendAndWait(*backup_, AppendInput{OwnerChain::Bytes(b), {}, ""});
    EXPECT_TRUE(on_backup.ok()) << on_backup.status();
    absl::StatusOr<AppendResult> on_host = Send(chain, a);
    EXPECT_TRUE(on_host.ok()) << on_host.status();
    if (!on_backup.ok() || !on_host.ok()) return Fork{};
    EXPECT_EQ(on_backup->number, 4u);
    EXPECT_EQ(on_host->host_signature.key, on_backup->host_signature.key);
    return Fork{chain.ledger_id(), on_host->complete_block, on_backup->complete_block,
                on_host->checkpoint, on_backup->checkpoint};
  }

  static std::string BlocksEvidence(const Fork& fork) {
    absl::StatusOr<std::string> evidence =
        BuildBlocksEvidence(fork.ledger_id, fork.block_a, fork.block_b);
    EXPECT_TRUE(evidence.ok()) << evidence.status();
    return evidence.ok() ? *evidence : "";
  }

  static std::string CheckpointsEvidence(const Fork& fork) {
    absl::StatusOr<std::string> evidence =
        BuildCheckpointsEvidence(fork.ledger_id, fork.checkpoint_b, fork.checkpoint_a);
    EXPECT_TRUE(evidence.ok()) << evidence.status();
    return evidence.ok() ? *evidence : "";
  }

  std::vector<std::string> EvidenceOf(const LedgerHost& host, const std::string& ledger_id) {
    absl::StatusOr<std::vector<std::string>> evidence =
        host.reader().GetLedgerEvidence(ledger_id);
    EXPECT_TRUE(evidence.ok()) << evidence.status();
    return evidence.ok() ? *evidence : std::vector<std::string>{"error"};
  }

  std::string EvidenceIdOf(const LedgerHost& host, const std::string& ledger_id) {
    absl::StatusOr<LedgerInfo> info = host.reader().GetLedger(ledger_id);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->evidence_id : "error";
  }

  // Block 5 on host_'s side; must be refused naming `evidence_id`.
  void ExpectAppendRefused(OwnerChain& chain, const std::string& evidence_id) {
    absl::StatusOr<AppendResult> refused = Send(chain, chain.Next());
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.status().message(),
                HasSubstr("ledger: frozen by equivocation evidence " + evidence_id));
  }

  std::unique_ptr<LedgerHost> backup_;
};

TEST_P(LedgerHostEvidenceTest, ReportFreezesTheLedgerAndReadsGoOn) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), IsEmpty());
  EXPECT_EQ(EvidenceIdOf(*host_, fork.ledger_id), "");

  absl::StatusOr<EvidenceReport> report = host_->ReportEquivocation(blocks);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ledger_id, fork.ledger_id);
  EXPECT_EQ(report->kind, "blocks");
  EXPECT_EQ(report->evidence_id, EvidenceId(blocks));
  EXPECT_TRUE(report->frozen);

  ExpectAppendRefused(chain, report->evidence_id);
  EXPECT_EQ(HeadOf(fork.ledger_id), 4u);
  EXPECT_EQ(EvidenceIdOf(*host_, fork.ledger_id), report->evidence_id);
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), ElementsAre(blocks));

  // Reads go on: blocks, checkpoints, proofs.
  std::vector<std::string> read;
  ASSERT_TRUE(GetBlocks(*host_, fork.ledger_id, 1, 0, [&](uint64_t, const std::string& b) {
                read.push_back(b);
                return true;
              }).ok());
  ASSERT_EQ(read.size(), 4u);
  EXPECT_EQ(read[3], fork.block_a);
  EXPECT_EQ(*host_->reader().GetCheckpoint(fork.ledger_id, 0), fork.checkpoint_a);
  EXPECT_TRUE(host_->reader().GetInclusionProof(fork.ledger_id, 2, 4).ok());
  EXPECT_TRUE(host_->reader().GetConsistencyProof(fork.ledger_id, 3, 4).ok());

  // The backup, which signed the other side, is not frozen until told.
  EXPECT_EQ(EvidenceIdOf(*backup_, fork.ledger_id), "");
  absl::StatusOr<EvidenceReport> on_backup = backup_->ReportEquivocation(blocks);
  ASSERT_TRUE(on_backup.ok()) << on_backup.status();
  EXPECT_EQ(EvidenceIdOf(*backup_, fork.ledger_id), report->evidence_id);
}

TEST_P(LedgerHostEvidenceTest, MoreEvidenceIsKeptInOrderDuplicatesOnceAndTheFirstIdStays) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  const std::string checkpoints = CheckpointsEvidence(fork);
  ASSERT_NE(blocks, checkpoints);

  ASSERT_TRUE(host_->ReportEquivocation(checkpoints).ok());
  absl::StatusOr<EvidenceReport> second = host_->ReportEquivocation(blocks);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->kind, "blocks");
  EXPECT_TRUE(second->frozen);
  absl::StatusOr<EvidenceReport> again = host_->ReportEquivocation(checkpoints);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->evidence_id, EvidenceId(checkpoints));
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());

  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), ElementsAre(checkpoints, blocks));
  EXPECT_EQ(EvidenceIdOf(*host_, fork.ledger_id), EvidenceId(checkpoints));
  ExpectAppendRefused(chain, EvidenceId(checkpoints));
}

TEST_P(LedgerHostEvidenceTest, TheFirstReportIsLoggedOnceWithoutTheLedgerId) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());
  const std::string first = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(first, HasSubstr("EQUIVOCATION evidence " + EvidenceId(blocks) +
                               " (blocks): a ledger key of this host signed two histories; "
                               "its master secret is live elsewhere; the ledger is frozen"));
  EXPECT_EQ(std::count(first.begin(), first.end(), '\n'), 1) << first;
  const std::string key_text = fork.ledger_id.substr(std::string("jlinx:").size());
  EXPECT_THAT(first, Not(HasSubstr(key_text)));

  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(host_->ReportEquivocation(CheckpointsEvidence(fork)).ok());
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());
  Restart();
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_P(LedgerHostEvidenceTest, InvalidEvidenceIsRefusedAndChangesNothing) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  absl::StatusOr<Json> parsed = ParseJson(blocks);
  ASSERT_TRUE(parsed.ok());
  Json swapped = *parsed;
  std::swap(swapped["a"], swapped["b"]);
  Json same = *parsed;
  same["b"] = same["a"];
  for (const std::string& bad :
       {std::string(), std::string("{}"), blocks + "\n", blocks.substr(0, blocks.size() - 1),
        CanonicalJson(swapped), CanonicalJson(same)}) {
    absl::StatusOr<EvidenceReport> report = host_->ReportEquivocation(bad);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument)
        << bad.substr(0, 80) << ": " << report.status();
    EXPECT_FALSE(report.status().message().empty());
  }
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), IsEmpty());
  EXPECT_EQ(EvidenceIdOf(*host_, fork.ledger_id), "");
  AppendN(chain, 1);  // Not frozen.
  EXPECT_EQ(HeadOf(fork.ledger_id), 5u);
}

TEST_P(LedgerHostEvidenceTest, ALedgerThisHostNeverHeldIsNotFound) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  // Same master secret, empty store: it could derive the key, but never held
  // the ledger.
  LedgerHost stranger(NewMemoryKvStore(), FixedSecret(), HostOptions());
  absl::StatusOr<EvidenceReport> report = stranger.ReportEquivocation(BlocksEvidence(fork));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr("is unknown to this host"));
  EXPECT_EQ(stranger.reader().GetLedgerEvidence(fork.ledger_id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(stranger.reader().GetLedgerEvidence("jlinx:nope").status().code(),
            absl::StatusCode::kInvalidArgument);
  // A held ledger without evidence lists none.
  OwnerChain other = NewChain();
  AppendN(other, 1);
  EXPECT_THAT(EvidenceOf(*host_, other.ledger_id()), IsEmpty());
}

TEST_P(LedgerHostEvidenceTest, ForgettingKeepsTheEvidenceAndAForgottenLedgerTakesMore) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  const std::string checkpoints = CheckpointsEvidence(fork);
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());
  ASSERT_TRUE(
      host_->Forget(fork.ledger_id, chain.state().head_fingerprint, chain.SignForget()).ok());
  EXPECT_EQ(host_->reader().GetLedger(fork.ledger_id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), ElementsAre(blocks));

  absl::StatusOr<EvidenceReport> more = host_->ReportEquivocation(checkpoints);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_TRUE(more->frozen);
  Restart();
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), ElementsAre(blocks, checkpoints));
  // Still forgotten: an append is refused as such.
  absl::StatusOr<AppendResult> refused = Send(chain, chain.Next());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound) << refused.status();
}

TEST_P(LedgerHostEvidenceTest, EvidenceForALedgerForgottenBeforeIsKept) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  ASSERT_TRUE(
      host_->Forget(fork.ledger_id, chain.state().head_fingerprint, chain.SignForget()).ok());
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), IsEmpty());
  const std::string blocks = BlocksEvidence(fork);
  absl::StatusOr<EvidenceReport> report = host_->ReportEquivocation(blocks);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->frozen);
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), ElementsAre(blocks));
}

TEST_P(LedgerHostEvidenceTest, TheFreezeSurvivesARestart) {
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());
  Restart();
  ExpectAppendRefused(chain, EvidenceId(blocks));
  EXPECT_EQ(EvidenceIdOf(*host_, fork.ledger_id), EvidenceId(blocks));
  EXPECT_THAT(EvidenceOf(*host_, fork.ledger_id), ElementsAre(blocks));
  EXPECT_EQ(HeadOf(fork.ledger_id), 4u);
}

TEST_P(LedgerHostEvidenceTest, TheFreezeSurvivesCacheEviction) {
  HostOptions options;
  options.max_cached_ledgers = 64;  // One per shard.
  Open(options);
  OwnerChain chain = NewChain();
  const Fork fork = MakeFork(chain);
  const std::string blocks = BlocksEvidence(fork);
  ASSERT_TRUE(host_->ReportEquivocation(blocks).ok());
  // Enough other ledgers that the frozen one's entry is evicted and reloaded.
  for (int i = 0; i < 200; ++i) {
    OwnerChain other = NewChain();
    AppendN(other, 1);
  }
  ExpectAppendRefused(chain, EvidenceId(blocks));
}

// Appends pipelined while the report runs: each either committed before the
// report returned or is refused as frozen; none commits after. Returns how
// many of the `count` appends committed (all of them when every append was
// committed before the report took the ledger: no race that time).
int AppendsRacingAReport(LedgerHost& host, OwnerChain& chain, const std::string& ledger_id,
                         const std::string& evidence, int count) {
  const std::vector<Block> drafts = chain.DraftAhead(count);
  absl::Mutex mu;
  std::vector<absl::StatusOr<AppendResult>> results(count);
  int answered = 0, committed = 0;
  std::thread appender([&] {
    for (int i = 0; i < count; ++i) {
      host.AppendAsync(AppendInput{OwnerChain::Bytes(drafts[i]), {}, ""},
                       [&, i](absl::StatusOr<AppendResult> result) {
                         absl::MutexLock lock(&mu);
                         if (result.ok()) ++committed;
                         results[i] = std::move(result);
                         ++answered;
                       });
    }
  });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n >= 5; }, &committed));
  }
  absl::StatusOr<EvidenceReport> report = host.ReportEquivocation(evidence);
  EXPECT_TRUE(report.ok()) << report.status();
  absl::StatusOr<LedgerInfo> at_report = host.reader().GetLedger(ledger_id);
  appender.join();
  {
    struct AllAnswered {
      const int* answered;
      int count;
      bool Done() const { return *answered == count; }
    } all_answered{&answered, count};
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&all_answered, &AllAnswered::Done));
  }
  absl::StatusOr<LedgerInfo> after = host.reader().GetLedger(ledger_id);
  EXPECT_TRUE(at_report.ok() && after.ok());
  if (!report.ok() || !at_report.ok() || !after.ok()) return count;
  EXPECT_EQ(after->state.head_number, at_report->state.head_number);
  int ok = 0;
  for (int i = 0; i < count; ++i) {
    if (i == ok && results[i].ok()) {
      ++ok;
      continue;
    }
    EXPECT_EQ(results[i].status().code(), absl::StatusCode::kFailedPrecondition) << i;
    EXPECT_THAT(results[i].status().message(),
                HasSubstr("ledger: frozen by equivocation evidence " + report->evidence_id))
        << i;
  }
  EXPECT_GE(ok, 5);
  EXPECT_EQ(at_report->state.head_number, 4u + ok);
  return ok;
}

// On a fast store all appends may commit before the report takes the ledger;
// new ledgers are tried (at most 10) until one races, which must happen.
TEST_P(LedgerHostEvidenceTest, AppendsRacingTheReportCommitBeforeItOrAreRefused) {
  constexpr int kBlocks = 300;
  bool raced = false;
  for (int attempt = 0; attempt < 10 && !raced && !HasFailure(); ++attempt) {
    OwnerChain chain = NewChain();
    const Fork fork = MakeFork(chain);
    raced = AppendsRacingAReport(*host_, chain, fork.ledger_id, BlocksEvidence(fork),
                                 kBlocks) < kBlocks;
  }
  EXPECT_TRUE(raced) << "no attempt had appends left when the report came";
}

INSTANTIATE_TEST_SUITE_P(Stores, LedgerHostEvidenceTest,
                         ::testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace microledger
