// Forgetting through a mirror and retention of idle ledgers (issue #11,
// part 6). An owner-signed ForgetLedger (SPEC §10) sent to a mirror deletes
// the mirror's copy (reads answer NOT_FOUND "was forgotten", the id cannot
// be followed again); one signed for another head, or by keys not in
// force, is FAILED_PRECONDITION and changes nothing. With --retain_idle, an
// unfollowed ledger nobody reads is dropped, a followed one is kept, and so
// is an unfollowed one that is being read.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/owner_chain.h"
#include "tests/mirror/mirror_test_util.h"

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

grpc::Status Unfollow(v1::MirrorAdmin::Stub& admin, const std::string& ledger) {
  v1::UnfollowRequest request;
  request.set_ledger_id(ledger);
  v1::UnfollowResponse response;
  return admin.Unfollow(Deadline10s().get(), request, &response);
}

// A ledger of `blocks` blocks made on the host with local owner keys.
OwnerChain MakeChain(HostStub& host, int blocks) {
  OwnerChain chain = CreateChain(host);
  for (int i = 0; i < blocks; ++i) {
    grpc::Status status = AppendBlock(host, chain, chain.Next());
    EXPECT_TRUE(status.ok()) << Msg(status);
  }
  return chain;
}

TEST(MirrorForgetTest, AnOwnerSignedForgetDeletesTheMirrorsCopy) {
  auto host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(host.ok()) << host.status();
  auto host_stub = Connect((*host)->address());
  OwnerChain chain = MakeChain(*host_stub, 3);
  OwnerChain tail_chain = MakeChain(*host_stub, 4);
  OwnerChain stranger = MakeChain(*host_stub, 1);
  const std::string ledger = chain.ledger_id();

  auto mirror = MirrorProcess::Start({"--storage=memory", AdminSocketFlag(),
                                      "--max_backoff_ms=200"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto admin = (*mirror)->Admin();
  auto stub = (*mirror)->Stub();
  ASSERT_TRUE(Follow(*admin, ledger, (*host)->address()).ok());
  ASSERT_TRUE(Follow(*admin, tail_chain.ledger_id(), (*host)->address(),
                     v1::MIRROR_MODE_TAIL).ok());
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 3));
  ASSERT_TRUE(WaitForVerifiedSize(*admin, tail_chain.ledger_id(), 4));

  // Signed for head 3; the ledger moves on to 4 before it arrives.
  const std::string old_head = chain.state().head_fingerprint;
  const std::vector<BlockSignature> old_signatures = chain.SignForget();
  ASSERT_TRUE(AppendBlock(*host_stub, chain, chain.Next()).ok());
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 4));
  grpc::Status status = ForgetLedger(*stub, ledger, old_head, old_signatures);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  // The right head, signed by a key that is not in force.
  std::vector<BlockSignature> wrong_keys;
  const std::string message =
      ForgetRequestMessage(ledger, chain.state().head_fingerprint);
  wrong_keys.push_back({"owner", "Ed25519", stranger.owner(0).public_key_text(),
                        stranger.owner(0).SignText(message)});
  status = ForgetLedger(*stub, ledger, chain.state().head_fingerprint, wrong_keys);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  EXPECT_EQ(HeadOf(*stub, ledger), 4u) << "a refused forget changed something";

  status = ForgetLedger(*stub, ledger, chain.state().head_fingerprint, chain.SignForget());
  ASSERT_TRUE(status.ok()) << Msg(status);
  v1::GetLedgerResponse info;
  status = GetLedger(*stub, ledger, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "was forgotten")) << Msg(status);
  std::vector<std::string> blocks;
  status = Blocks(*stub, ledger, 1, 0, &blocks);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  EXPECT_TRUE(blocks.empty());
  std::string note;
  status = CheckpointNote(*stub, ledger, 0, &note);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  // Forgotten twice: NOT_FOUND; followed again: FAILED_PRECONDITION.
  status = ForgetLedger(*stub, ledger, chain.state().head_fingerprint, chain.SignForget());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  status = Follow(*admin, ledger, (*host)->address());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  // The mirror does not fetch it back, and the host still has it (a forget
  // sent to a mirror is for the mirror's copy).
  ASSERT_TRUE(AppendBlock(*host_stub, chain, chain.Next()).ok());
  absl::SleepFor(absl::Milliseconds(300));
  status = GetLedger(*stub, ledger, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  EXPECT_EQ(HeadOf(*host_stub, ledger), 5u);

  // A tail mirror cannot check the controllers in force (it holds the
  // upstream's word for them, which a lying upstream could make threshold 0
  // or its own key): it refuses forgets, even correctly signed ones, and
  // keeps serving.
  status = ForgetLedger(*stub, tail_chain.ledger_id(), tail_chain.state().head_fingerprint,
                        tail_chain.SignForget());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "cannot check the controllers"))
      << Msg(status);
  status = GetLedger(*stub, tail_chain.ledger_id(), &info);
  EXPECT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(HeadOf(*stub, tail_chain.ledger_id()), 4u);
}

TEST(MirrorRetentionTest, IdleUnfollowedLedgersAreDroppedFollowedOnesKept) {
  auto host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(host.ok()) << host.status();
  auto host_stub = Connect((*host)->address());
  OwnerChain idle = MakeChain(*host_stub, 2);
  OwnerChain followed = MakeChain(*host_stub, 2);
  OwnerChain read = MakeChain(*host_stub, 2);

  auto mirror = MirrorProcess::Start({"--storage=memory", AdminSocketFlag(),
                                      "--retain_idle=2s", "--max_backoff_ms=200"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto admin = (*mirror)->Admin();
  auto stub = (*mirror)->Stub();
  for (const OwnerChain* chain : {&idle, &followed, &read}) {
    ASSERT_TRUE(Follow(*admin, chain->ledger_id(), (*host)->address()).ok());
    ASSERT_TRUE(WaitForVerifiedSize(*admin, chain->ledger_id(), 2));
  }
  ASSERT_TRUE(Unfollow(*admin, idle.ledger_id()).ok());
  ASSERT_TRUE(Unfollow(*admin, read.ledger_id()).ok());
  const absl::Time unfollowed = absl::Now();

  // Status does not count as use; reads do.
  bool dropped = WaitFor(
      [&] {
        EXPECT_EQ(HeadOf(*stub, read.ledger_id()), 2u);
        return MirrorStatus(*admin, idle.ledger_id()).status().code() ==
               absl::StatusCode::kNotFound;
      },
      absl::Seconds(8));
  ASSERT_TRUE(dropped) << "the idle ledger was not dropped";
  EXPECT_GE(absl::Now() - unfollowed, absl::Milliseconds(1900)) << "dropped too early";
  v1::GetLedgerResponse info;
  grpc::Status status = GetLedger(*stub, idle.ledger_id(), &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  EXPECT_FALSE(absl::StrContains(status.error_message(), "forgotten")) << Msg(status);

  // Kept: the followed one (untouched by readers) and the one being read.
  // Wait a further sweep past its idle time too.
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_EQ(HeadOf(*stub, followed.ledger_id()), 2u);
  EXPECT_EQ(HeadOf(*stub, read.ledger_id()), 2u);
  absl::StatusOr<v1::MirroredLedger> view = MirrorStatus(*admin, followed.ledger_id());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->state(), "following");
  // And a dropped ledger can be followed again.
  ASSERT_TRUE(Follow(*admin, idle.ledger_id(), (*host)->address()).ok());
  EXPECT_TRUE(WaitForVerifiedSize(*admin, idle.ledger_id(), 2));
}

}  // namespace
}  // namespace microledger
