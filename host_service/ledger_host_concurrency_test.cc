// Concurrent and pipelined appends, eviction from the ledger cache, and
// subscriptions, against both stores.
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

class LedgerHostConcurrencyTest : public LedgerHostTest {};

TEST_P(LedgerHostConcurrencyTest, RacingOwnersExactlyOneCommits) {
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
      absl::StatusOr<AppendResult> r = AppendAndWait(*host_, {OwnerChain::Bytes(block), {}, ""});
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

TEST_P(LedgerHostConcurrencyTest, ManyLedgersInParallel) {
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
    ASSERT_TRUE(GetBlocks(*host_, chain.ledger_id(), 1, 0, [&](uint64_t, const std::string& b) {
                         blocks.push_back(b);
                         return true;
                       }).ok());
    ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks));
    EXPECT_TRUE(VerifyChainBytes(chain.ledger_id(), blocks).ok());
  }
}

TEST_P(LedgerHostConcurrencyTest, EvictedLedgersReloadAndKeepTheirOrder) {
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
    EXPECT_TRUE(Subscribe(
                    *host_,
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
    ASSERT_TRUE(GetBlocks(*host_, chain.ledger_id(), 1, 0, [&](uint64_t, const std::string& b) {
                         blocks.push_back(b);
                         return true;
                       }).ok());
    ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks + 1));
    EXPECT_TRUE(VerifyChainBytes(chain.ledger_id(), blocks).ok());
  }
}

TEST_P(LedgerHostConcurrencyTest, SubscribeSeesStoredThenNewBlocks) {
  OwnerChain chain = NewChain();
  AppendN(chain, 4);
  std::vector<uint64_t> seen;
  std::atomic<bool> stop{false};
  absl::Status status;
  const std::string ledger_id = chain.ledger_id();  // The writer mutates `chain`.
  std::thread subscriber([&] {
    status = Subscribe(*host_,
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

TEST_P(LedgerHostConcurrencyTest, PipelinedAsyncAppendsCommitInOrder) {
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

INSTANTIATE_TEST_SUITE_P(Stores, LedgerHostConcurrencyTest,
                         ::testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace microledger
