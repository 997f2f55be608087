// Follow again (same or new upstream) while a tail or sparse follower is
// committing new heads: the old follower must stop and the call must return
// (bounded), and the new one must go on following.
#include <atomic>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/owner_chain.h"
#include "tests/mirror/mirror_test_util.h"

namespace microledger {
namespace {

class RefollowTest : public testing::TestWithParam<v1::MirrorMode> {};

TEST_P(RefollowTest, FollowAgainWhileTheFollowerCommits) {
  auto host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(host.ok()) << host.status();
  auto host_stub = Connect((*host)->address());
  OwnerChain chain = CreateChain(*host_stub);
  ASSERT_TRUE(AppendBlock(*host_stub, chain, chain.Next()).ok());
  const std::string ledger = chain.ledger_id();
  auto mirror = MirrorProcess::Start({"--storage=memory", AdminSocketFlag(), "--poll_ms=1",
                                      "--max_backoff_ms=100"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto admin = (*mirror)->Admin();

  auto follow = [&]() {
    v1::FollowRequest request;
    request.set_ledger_id(ledger);
    request.set_upstream((*host)->address());
    request.set_mode(GetParam());
    v1::FollowResponse response;
    auto context = Deadline10s();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return admin->Follow(context.get(), request, &response);
  };
  ASSERT_TRUE(follow().ok());
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 1));

  std::atomic<bool> stop{false};
  std::thread appender([&] {
    const absl::Time end = absl::Now() + absl::Seconds(20);
    for (int i = 0; i < 3000 && !stop && absl::Now() < end; ++i) {
      if (!AppendBlock(*host_stub, chain, chain.Next()).ok()) return;
    }
  });
  int refollowed = 0;
  for (int i = 0; i < 150; ++i) {
    grpc::Status status = follow();
    if (!status.ok()) {
      ADD_FAILURE() << "Follow #" << i << ": " << Msg(status);
      break;
    }
    ++refollowed;
    absl::SleepFor(absl::Milliseconds(i % 3));
  }
  stop = true;
  appender.join();
  EXPECT_EQ(refollowed, 150);
  const uint64_t n = HeadOf(*host_stub, ledger);
  EXPECT_TRUE(WaitForVerifiedSize(*admin, ledger, n)) << n;
}

INSTANTIATE_TEST_SUITE_P(Modes, RefollowTest,
                         testing::Values(v1::MIRROR_MODE_TAIL, v1::MIRROR_MODE_SPARSE));

}  // namespace
}  // namespace microledger
