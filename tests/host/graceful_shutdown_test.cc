// The real ml-host stops as serving/grpc_server.h promises, under append load
// (RocksDB storage, --drain_seconds=2 --shutdown_grace_seconds=10): at SIGTERM
// readiness ("microledger.v1.HostService") answers NOT_SERVING while liveness
// ("") stays SERVING, and appends begun after that are still acknowledged (the
// drain); then the listener closes, so every appender's calls end in failure,
// and the host exits with status 0. Restarted on the same data dir it holds
// every block it acknowledged, at its number, byte for byte (fingerprint and
// signatures included): a graceful shutdown loses nothing acknowledged.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kHostService[] = "microledger.v1.HostService";
constexpr int kLedgers = 4;
// Bounds of each appender: it normally stops at its first failed call, once
// the listener has closed a few seconds after SIGTERM.
constexpr int kMaxAppendsPerLedger = 20000;
constexpr auto kAppendTimeLimit = std::chrono::seconds(90);
// Drain (2 s) + grace (10 s) + a margin for a busy machine.
constexpr auto kExitLimit = std::chrono::seconds(30);

// How one Append call ended, and whether it began after the test had seen
// readiness NOT_SERVING (so the host was draining).
struct AppendOutcome {
  grpc::StatusCode code;
  bool began_while_draining;
};

// Appends blocks to one ledger from its own thread on its own stub until a
// call fails, a bound is reached, or it is destroyed. The chain and outcomes
// may be read once Join has returned.
class LedgerAppender {
 public:
  LedgerAppender(const std::string& address, OwnerChain chain, const std::atomic<bool>& draining)
      : stub_(Connect(address)),
        chain_(std::move(chain)),
        draining_(draining),
        thread_([this] { Run(); }) {}
  ~LedgerAppender() {
    stop_ = true;
    Join();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_; }
  const OwnerChain& chain() const { return chain_; }
  const std::vector<AppendOutcome>& outcomes() const { return outcomes_; }

 private:
  void Run() {
    const auto deadline = Clock::now() + kAppendTimeLimit;
    for (int i = 0; i < kMaxAppendsPerLedger && !stop_ && Clock::now() < deadline; ++i) {
      const bool began_while_draining = draining_;
      const grpc::Status status = AppendBlock(*stub_, chain_, chain_.Next());
      outcomes_.push_back({status.error_code(), began_while_draining});
      if (!status.ok()) return;
      ++acknowledged_;
    }
  }

  std::unique_ptr<HostStub> stub_;
  OwnerChain chain_;
  const std::atomic<bool>& draining_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  std::vector<AppendOutcome> outcomes_;
  std::thread thread_;
};

// Polls `done` every 20 ms for up to `limit`; its last answer.
template <typename Condition>
bool WaitUntil(Condition done, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(GracefulShutdownTest, DrainServesAppendsAndNoAcknowledgedBlockIsLost) {
  const std::string data_dir = NewTempDir("graceful_shutdown");
  absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
      {"--data_dir=" + data_dir, "--drain_seconds=2", "--shutdown_grace_seconds=10"});
  ASSERT_TRUE(host.ok()) << host.status();
  const std::string address = (*host)->address();
  std::unique_ptr<HostStub> stub = Connect(address);
  std::vector<OwnerChain> chains;
  for (int i = 0; i < kLedgers; ++i) {
    chains.push_back(CreateChain(*stub));
    ASSERT_FALSE(chains.back().ledger_id().empty());
  }

  std::atomic<bool> draining{false};
  std::vector<std::unique_ptr<LedgerAppender>> appenders;
  for (OwnerChain& chain : chains) {
    appenders.push_back(std::make_unique<LedgerAppender>(address, std::move(chain), draining));
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const auto& appender : appenders) {
          if (appender->acknowledged() < 5) return false;
        }
        return true;
      },
      std::chrono::seconds(30)))
      << "every ledger should have blocks acknowledged before SIGTERM";

  ASSERT_EQ(kill((*host)->pid(), SIGTERM), 0);
  const auto signalled = Clock::now();
  const std::shared_ptr<grpc::Channel> health_channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  int readiness = 0;
  const bool not_ready = WaitUntil(
      [&] {
        return CheckHealth(health_channel, kHostService, &readiness).ok() &&
               readiness == kHealthNotServing;
      },
      std::chrono::seconds(5));
  draining = not_ready;
  int liveness = 0;
  const grpc::Status liveness_status = CheckHealth(health_channel, "", &liveness);
  EXPECT_TRUE(not_ready) << "readiness never answered NOT_SERVING after SIGTERM";
  EXPECT_TRUE(liveness_status.ok()) << liveness_status.error_message();
  EXPECT_EQ(liveness, kHealthServing) << "liveness should stay SERVING during the drain";

  const std::optional<int> exit_status =
      (*host)->WaitForExit(std::chrono::duration_cast<std::chrono::milliseconds>(
          kExitLimit - (Clock::now() - signalled)));
  EXPECT_EQ(exit_status, std::optional<int>(0))
      << "ml-host should exit with status 0 within " << kExitLimit.count() << " s of SIGTERM";
  (*host)->Kill9();  // Reaped already, unless it failed to exit in time.

  int acknowledged_while_draining = 0;
  for (const auto& appender : appenders) {
    appender->Join();
    const std::vector<AppendOutcome>& outcomes = appender->outcomes();
    ASSERT_FALSE(outcomes.empty());
    for (const AppendOutcome& outcome : outcomes) {
      if (outcome.began_while_draining && outcome.code == grpc::StatusCode::OK) {
        ++acknowledged_while_draining;
      }
    }
    EXPECT_NE(outcomes.back().code, grpc::StatusCode::OK)
        << "appends should fail once the listener has closed (this appender hit its bound)";
  }
  std::fprintf(stderr, "appends acknowledged after readiness turned NOT_SERVING: %d\n",
               acknowledged_while_draining);
  EXPECT_GT(acknowledged_while_draining, 0)
      << "appends should still be served during --drain_seconds";

  absl::StatusOr<std::unique_ptr<HostProcess>> restarted =
      HostProcess::Start({"--data_dir=" + data_dir});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  std::unique_ptr<HostStub> restarted_stub = Connect((*restarted)->address());
  for (const auto& appender : appenders) {
    const OwnerChain& chain = appender->chain();
    const std::vector<Block>& acknowledged = chain.blocks();
    EXPECT_GE(HeadNumber(*restarted_stub, chain.ledger_id()), acknowledged.size());
    std::vector<std::string> stored;
    std::vector<uint64_t> numbers;
    const grpc::Status read =
        ReadBlocks(*restarted_stub, chain.ledger_id(), 1, 0, &stored, &numbers);
    ASSERT_TRUE(read.ok()) << read.error_message();
    ASSERT_GE(stored.size(), acknowledged.size()) << "acknowledged blocks were lost";
    for (size_t i = 0; i < acknowledged.size(); ++i) {
      EXPECT_EQ(numbers[i], acknowledged[i].number);
      EXPECT_EQ(stored[i], OwnerChain::Bytes(acknowledged[i]))
          << "block " << acknowledged[i].number << " differs from the acknowledged one";
    }
    std::fprintf(stderr,
                 "ledger %s: %zu blocks acknowledged (last call ended with code %d), %zu "
                 "stored after the restart\n",
                 chain.ledger_id().c_str(), acknowledged.size(),
                 static_cast<int>(appender->outcomes().back().code), stored.size());
    const absl::StatusOr<ChainState> verified = VerifyChainBytes(chain.ledger_id(), stored);
    EXPECT_TRUE(verified.ok()) << verified.status();
  }
}

}  // namespace
}  // namespace microledger
