// An upstream that lies (issue #11, part 5): tests/mlctl/lying_server.h, a
// HostService proxy in front of a real ml-host that tells one lie at a time.
// The mirror refuses what does not verify, keeps its verified state (head
// unchanged, nothing unverified served) and says why in Status.last_error.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/mirror/mirror_test_util.h"
#include "tests/mlctl/lying_server.h"

namespace microledger {
namespace {

grpc::Status Follow(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                    const std::string& upstream, v1::MirrorMode mode = v1::MIRROR_MODE_FULL) {
  v1::FollowRequest request;
  request.set_ledger_id(ledger);
  request.set_upstream(upstream);
  request.set_mode(mode);
  v1::FollowResponse response;
  return admin.Follow(Deadline10s().get(), request, &response);
}

struct Case {
  Lie lie;
  const char* error;  // What last_error must say.
};

class LyingUpstreamTest : public testing::TestWithParam<Case> {};

// A full mirror verified blocks 1..4 from the host; then it is pointed at a
// liar in front of the same host, which appends 5..7 (an attachment in 6).
TEST_P(LyingUpstreamTest, TheMirrorKeepsItsVerifiedStateAndSaysWhy) {
  const Case& lie = GetParam();
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger;
  ASSERT_TRUE(world.NewLedger(3, &ledger));
  auto mirror = MirrorProcess::Start({"--storage=memory", AdminSocketFlag(),
                                      "--max_backoff_ms=200", "--upstream_timeout_ms=3000"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto admin = (*mirror)->Admin();
  auto stub = (*mirror)->Stub();
  ASSERT_TRUE(Follow(*admin, ledger, world.host->address()).ok());
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 4));

  LieOptions options;
  options.lie = lie.lie;
  options.block = 6;
  auto liar = LyingServer::Start(world.host->address(), options);
  ASSERT_TRUE(liar.ok()) << liar.status();
  ASSERT_TRUE(Follow(*admin, ledger, (*liar)->address()).ok());
  ASSERT_TRUE(world.AppendNoted(ledger));
  ASSERT_TRUE(world.AppendNoted(ledger, "an attachment in block 6"));
  ASSERT_TRUE(world.AppendNoted(ledger));

  // A bad checkpoint signature spoils every checkpoint, 5's too; the other
  // lies are about block 6, so 5 is fine.
  const uint64_t verifiable = lie.lie == Lie::kBadCheckpointSignature ? 4 : 5;
  absl::StatusOr<v1::MirroredLedger> view;
  EXPECT_TRUE(WaitFor([&] {
    view = MirrorStatus(*admin, ledger);
    return view.ok() && absl::StrContains(view->last_error(), lie.error);
  })) << (view.ok() ? view->last_error() : view.status().ToString());
  // Given time to retry, it takes nothing more.
  absl::SleepFor(absl::Milliseconds(600));
  view = MirrorStatus(*admin, ledger);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->verified_size(), verifiable);
  EXPECT_NE(view->last_error(), "");
  EXPECT_GT(view->last_error_unix_millis(), 0);
  EXPECT_EQ(view->upstream(), (*liar)->address());
  EXPECT_EQ(view->evidence_id(), "") << "a lie is not equivocation";

  EXPECT_EQ(HeadOf(*stub, ledger), verifiable);
  auto host_stub = Connect(world.host->address());
  std::vector<std::string> expected, got;
  ASSERT_TRUE(Blocks(*host_stub, ledger, 1, verifiable, &expected).ok());
  grpc::Status read = Blocks(*stub, ledger, 1, 0, &got);
  ASSERT_TRUE(read.ok()) << Msg(read);
  EXPECT_EQ(got, expected);
  got.clear();
  read = Blocks(*stub, ledger, 6, 6, &got);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::OUT_OF_RANGE) << Msg(read);
  EXPECT_TRUE(got.empty());
  std::string data;
  read = Attachment(*stub, ledger, DigestText("an attachment in block 6"), &data);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(read);
  std::string note;
  ASSERT_TRUE(CheckpointNote(*stub, ledger, 0, &note).ok());
  Checkpoint checkpoint;
  EXPECT_TRUE(CheckpointOf(ledger, note, verifiable, &checkpoint));

  // Pointed back at the honest host, it catches up.
  ASSERT_TRUE(Follow(*admin, ledger, world.host->address()).ok());
  EXPECT_TRUE(WaitForVerifiedSize(*admin, ledger, 7));
}

INSTANTIATE_TEST_SUITE_P(
    Lies, LyingUpstreamTest,
    testing::Values(Case{Lie::kTamperedBlock, "block 6"},
                    Case{Lie::kBadCheckpointSignature, "checkpoint"},
                    Case{Lie::kSwappedAttachment, "attachment"}),
    [](const testing::TestParamInfo<Case>& info) {
      switch (info.param.lie) {
        case Lie::kTamperedBlock:
          return std::string("TamperedBlock");
        case Lie::kBadCheckpointSignature:
          return std::string("BadCheckpointSignature");
        case Lie::kSwappedAttachment:
          return std::string("SwappedAttachment");
        default:
          return std::string("Other");
      }
    });

// A sparse mirror fetching a cold block through a liar: refused, not held,
// never served; an honest block next to it is fetched.
TEST(LyingUpstreamSparseTest, ATamperedColdBlockIsNeverServed) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger;
  ASSERT_TRUE(world.NewLedger(4, &ledger));
  LieOptions options;
  options.lie = Lie::kTamperedBlock;
  options.block = 3;
  auto liar = LyingServer::Start(world.host->address(), options);
  ASSERT_TRUE(liar.ok()) << liar.status();
  auto mirror = MirrorProcess::Start({"--storage=memory", AdminSocketFlag(),
                                      "--follow=" + ledger + "@" + (*liar)->address() +
                                          "#sparse",
                                      "--poll_ms=100", "--max_backoff_ms=200"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto admin = (*mirror)->Admin();
  auto stub = (*mirror)->Stub();
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 5));

  std::vector<std::string> got;
  grpc::Status read = Blocks(*stub, ledger, 3, 3, &got);
  EXPECT_FALSE(read.ok());
  EXPECT_TRUE(got.empty());
  read = Blocks(*stub, ledger, 2, 4, &got);
  EXPECT_FALSE(read.ok());
  EXPECT_TRUE(got.empty());
  got.clear();
  read = Blocks(*stub, ledger, 4, 4, &got);
  ASSERT_TRUE(read.ok()) << Msg(read);
  std::vector<std::string> expected;
  auto host_stub = Connect(world.host->address());
  ASSERT_TRUE(Blocks(*host_stub, ledger, 4, 4, &expected).ok());
  EXPECT_EQ(got, expected);
  v1::GetLedgerResponse info;
  ASSERT_TRUE(GetLedger(*stub, ledger, &info).ok());
  for (const auto& [first, last] : HeldOf(info)) {
    EXPECT_FALSE(first <= 3 && 3 <= last) << "block 3 is listed as held";
  }
}

}  // namespace
}  // namespace microledger
