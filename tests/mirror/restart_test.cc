// kill -9 of a mirror (RocksDB storage) while the host takes appends
// (issue #11, part 4): restarted on the same data directory with no
// --follow, it follows what it followed before and catches up with nothing
// lost or duplicated: blocks 1..n, each exactly the host's bytes, and the
// checkpoint of every size equal to the host's.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/mirror/mirror_test_util.h"

namespace microledger {
namespace {

TEST(MirrorRestartTest, Kill9WhileTheHostTakesAppendsThenResume) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger;
  ASSERT_TRUE(world.NewLedger(3, &ledger));
  const std::string upstream = world.host->address();
  const std::string data_dir = NewTempDir("mirror_data");
  const std::vector<std::string> flags = {"--storage=rocksdb", "--data_dir=" + data_dir,
                                          "--max_backoff_ms=200"};

  std::vector<std::string> first_flags = flags;
  first_flags.push_back(AdminSocketFlag());
  first_flags.push_back("--follow=" + ledger + "@" + upstream);
  auto mirror = MirrorProcess::Start(first_flags);
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto stub = (*mirror)->Stub();
  ASSERT_TRUE(WaitForHead(*stub, ledger, 4));

  // Appends go on through the agent (its own stub: one thread each).
  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::atomic<bool> failed{false};
  std::thread appender([&] {
    auto agent = world.agent->Stub();
    // Bounded: at most 2000 appends, and 40 s.
    const absl::Time end = absl::Now() + absl::Seconds(40);
    for (int i = 0; i < 2000 && !stop && absl::Now() < end; ++i) {
      v1::BlockOutcome outcome;
      grpc::Status status =
          Append(*agent, ledger, absl::StrCat("{\"event\":\"noted\",\"i\":", i, "}"), &outcome);
      if (!status.ok()) {
        failed = true;
        return;
      }
      ++appended;
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  // Kill it mid-stream, once it has taken some of the new blocks.
  const bool caught_some = WaitForHead(*stub, ledger, 12);
  (*mirror)->Kill9();
  const int at_kill = appended;
  EXPECT_TRUE(caught_some);
  // More blocks arrive while it is down.
  EXPECT_TRUE(WaitFor([&] { return appended >= at_kill + 10 || failed; }))
      << appended << " appended, " << at_kill << " at kill";

  std::vector<std::string> second_flags = flags;
  second_flags.push_back(AdminSocketFlag());
  auto restarted = MirrorProcess::Start(second_flags);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  auto admin = (*restarted)->Admin();
  absl::StatusOr<v1::MirroredLedger> status = MirrorStatus(*admin, ledger);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->upstream(), upstream);
  EXPECT_EQ(status->mode(), v1::MIRROR_MODE_FULL);
  EXPECT_NE(status->state(), "stopped");
  // Still following: some more appends while it catches up, then stop.
  const int at_restart = appended;
  EXPECT_TRUE(WaitFor([&] { return appended >= at_restart + 10 || failed; }))
      << appended << " appended, " << at_restart << " at restart";
  stop = true;
  appender.join();
  ASSERT_FALSE(failed);

  auto host_stub = Connect(upstream);
  const uint64_t n = HeadOf(*host_stub, ledger);
  ASSERT_EQ(n, 4u + appended);
  auto mirror_stub = (*restarted)->Stub();
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, n));
  std::vector<std::string> expected, got;
  ASSERT_TRUE(Blocks(*host_stub, ledger, 1, 0, &expected).ok());
  grpc::Status read = Blocks(*mirror_stub, ledger, 1, 0, &got);
  ASSERT_TRUE(read.ok()) << Msg(read);
  ASSERT_EQ(got.size(), n);
  EXPECT_TRUE(got == expected) << "the mirror's blocks differ from the host's";
  EXPECT_TRUE(VerifyChainBytes(ledger, got).ok());
  for (uint64_t size = 1; size <= n; ++size) {
    std::string ours, theirs;
    ASSERT_TRUE(CheckpointNote(*host_stub, ledger, size, &theirs).ok());
    grpc::Status got_note = CheckpointNote(*mirror_stub, ledger, size, &ours);
    ASSERT_TRUE(got_note.ok()) << size << ": " << Msg(got_note);
    EXPECT_EQ(ours, theirs) << "checkpoint of size " << size;
  }
  EXPECT_TRUE(ProvesConsistency(*mirror_stub, ledger, 1, n));
  EXPECT_TRUE(ProvesInclusion(*mirror_stub, ledger, n / 2, n, expected[n / 2 - 1]));
}

}  // namespace
}  // namespace microledger
