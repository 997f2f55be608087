// A mirror following another mirror (issue #11, part 2): a full mirror of a
// full mirror, and a tail mirror of it; blocks appended at the host flow
// through both, byte for byte.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/owner_chain.h"
#include "tests/mirror/mirror_test_util.h"

namespace microledger {
namespace {

std::unique_ptr<MirrorProcess> StartMirror(const std::string& follow) {
  auto mirror = MirrorProcess::Start({"--storage=memory", AdminSocketFlag(),
                                      "--follow=" + follow, "--poll_ms=100",
                                      "--max_backoff_ms=300"});
  EXPECT_TRUE(mirror.ok()) << mirror.status();
  return mirror.ok() ? *std::move(mirror) : nullptr;
}

TEST(MirrorChainTest, NewBlocksFlowThroughAMirrorOfAMirror) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger;
  ASSERT_TRUE(world.NewLedger(3, &ledger));
  auto first = StartMirror(ledger + "@" + world.host->address());
  ASSERT_TRUE(first);
  auto second = StartMirror(ledger + "@" + first->address() + "#full");
  auto tail = StartMirror(ledger + "@" + first->address() + "#tail");
  ASSERT_TRUE(second && tail);
  auto second_admin = second->Admin();
  auto tail_admin = tail->Admin();
  ASSERT_TRUE(WaitForVerifiedSize(*second_admin, ledger, 4));
  ASSERT_TRUE(WaitForVerifiedSize(*tail_admin, ledger, 4));

  for (int i = 0; i < 4; ++i) ASSERT_TRUE(world.AppendNoted(ledger, i == 2 ? "late" : ""));
  const uint64_t n = 8;
  ASSERT_EQ(HostHead(world.host->address(), ledger), n);
  ASSERT_TRUE(WaitForVerifiedSize(*second_admin, ledger, n));
  ASSERT_TRUE(WaitForVerifiedSize(*tail_admin, ledger, n));

  auto host_stub = Connect(world.host->address());
  std::vector<std::string> expected;
  ASSERT_TRUE(Blocks(*host_stub, ledger, 1, 0, &expected).ok());
  ASSERT_EQ(expected.size(), n);

  absl::StatusOr<v1::MirroredLedger> status = MirrorStatus(*second_admin, ledger);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->upstream(), first->address());
  EXPECT_EQ(status->state(), "following");
  EXPECT_EQ(status->lag(), 0u);
  EXPECT_EQ(status->last_error(), "");

  // The second mirror needs neither the host nor the first mirror now.
  world.agent->Stop();
  world.host->Stop();
  first->Stop();
  auto second_stub = second->Stub();
  std::vector<std::string> got;
  grpc::Status read = Blocks(*second_stub, ledger, 1, 0, &got);
  ASSERT_TRUE(read.ok()) << Msg(read);
  EXPECT_EQ(got, expected);
  for (uint64_t number = 1; number <= n; ++number) {
    EXPECT_TRUE(ProvesInclusion(*second_stub, ledger, number, n, expected[number - 1]));
  }
  EXPECT_TRUE(ProvesConsistency(*second_stub, ledger, 2, n));
  std::string data;
  EXPECT_TRUE(Attachment(*second_stub, ledger, DigestText("late"), &data).ok());
  EXPECT_EQ(data, "late");

  auto tail_stub = tail->Stub();
  v1::GetLedgerResponse info;
  ASSERT_TRUE(GetLedger(*tail_stub, ledger, &info).ok());
  EXPECT_EQ(HeldOf(info), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 1}, {4, n}}));
  got.clear();
  ASSERT_TRUE(Blocks(*tail_stub, ledger, 4, 0, &got).ok());
  EXPECT_EQ(got, std::vector<std::string>(expected.begin() + 3, expected.end()));
  EXPECT_TRUE(ProvesConsistency(*tail_stub, ledger, 4, n));
}

}  // namespace
}  // namespace microledger
