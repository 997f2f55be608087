// Append under load, kill -9 the host, restart it on the same data dir: every
// acknowledged block is there and the chains verify.
#include <atomic>
#include <thread>

#include "common/checkpoint.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

TEST(DurabilityTest, AcknowledgedAppendsSurviveKill9) {
  const std::string dir = NewTempDir("durability");
  constexpr int kWriters = 6;
  std::vector<OwnerChain> chains;
  {
    absl::StatusOr<std::unique_ptr<HostProcess>> host =
        HostProcess::Start({"--data_dir=" + dir, "--sync=true"});
    ASSERT_TRUE(host.ok()) << host.status();
    auto stub = Connect((*host)->address());
    for (int i = 0; i < kWriters; ++i) chains.push_back(CreateChain(*stub));
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back([&, i] {
        auto writer_stub = Connect((*host)->address());
        // Bounded: at most 2000 blocks per writer.
        for (int b = 0; b < 2000 && !stop; ++b) {
          if (!AppendBlock(*writer_stub, chains[i], chains[i].Next()).ok()) break;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    (*host)->Kill9();  // Mid-load: some appends are in flight.
    stop = true;
    for (std::thread& t : writers) t.join();
  }
  absl::StatusOr<std::unique_ptr<HostProcess>> host =
      HostProcess::Start({"--data_dir=" + dir});
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = Connect((*host)->address());
  uint64_t total = 0;
  for (OwnerChain& chain : chains) {
    const uint64_t acknowledged = chain.state().head_number;
    ASSERT_GT(acknowledged, 0u);
    total += acknowledged;
    std::vector<std::string> blocks;
    ASSERT_TRUE(ReadBlocks(*stub, chain.ledger_id(), 1, 0, &blocks).ok());
    // Every acknowledged block is there (one more may have committed unacked).
    ASSERT_GE(blocks.size(), acknowledged);
    ASSERT_LE(blocks.size(), acknowledged + 1);
    for (uint64_t n = 0; n < acknowledged; ++n) {
      EXPECT_EQ(blocks[n], SerializeBlock(chain.blocks()[n]));
    }
    absl::StatusOr<ChainState> state = VerifyChainBytes(chain.ledger_id(), blocks);
    EXPECT_TRUE(state.ok()) << state.status();
    grpc::ClientContext context;
    v1::GetCheckpointRequest request;
    request.set_ledger_id(chain.ledger_id());
    v1::GetCheckpointResponse response;
    ASSERT_TRUE(stub->GetCheckpoint(&context, request, &response).ok());
    absl::StatusOr<Checkpoint> checkpoint =
        VerifyCheckpoint(response.checkpoint(), chain.ledger_id());
    ASSERT_TRUE(checkpoint.ok());
    EXPECT_EQ(checkpoint->tree_size, blocks.size());
    // The restarted host continues the chain (state reloaded from the head record).
    if (blocks.size() == acknowledged) {
      EXPECT_TRUE(AppendBlock(*stub, chain, chain.Next()).ok());
    }
  }
  std::cerr << "acknowledged before kill -9: " << total << " blocks\n";
}

}  // namespace
}  // namespace microledger
