// The MirrorAdmin API over the mirror's Unix socket (issue #11, part 3):
// Follow at run time, Status (state, lag, upstream, last_error, held),
// Unfollow, the codes of mirror.proto, an upstream that is down and then
// comes up, and --admin_listen refusing a non-loopback address without
// mutual TLS.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/mirror/mirror_test_util.h"

namespace microledger {
namespace {

grpc::Status Follow(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                    const std::string& upstream, v1::MirrorMode mode,
                    v1::FollowResponse* response = nullptr) {
  v1::FollowRequest request;
  request.set_ledger_id(ledger);
  request.set_upstream(upstream);
  request.set_mode(mode);
  v1::FollowResponse ignored;
  return admin.Follow(Deadline10s().get(), request, response ? response : &ignored);
}

grpc::Status Unfollow(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                      bool drop_data = false) {
  v1::UnfollowRequest request;
  request.set_ledger_id(ledger);
  request.set_drop_data(drop_data);
  v1::UnfollowResponse response;
  return admin.Unfollow(Deadline10s().get(), request, &response);
}

std::unique_ptr<MirrorProcess> StartMirror() {
  auto mirror = MirrorProcess::Start(
      {"--storage=memory", AdminSocketFlag(), "--poll_ms=100", "--max_backoff_ms=200"});
  EXPECT_TRUE(mirror.ok()) << mirror.status();
  return mirror.ok() ? *std::move(mirror) : nullptr;
}

// --follow is repeatable: every occurrence is followed (Abseil alone keeps
// only the last one of a repeated flag).
TEST(MirrorAdminTest, EveryFollowFlagIsFollowed) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string first, second;
  ASSERT_TRUE(world.NewLedger(1, &first));
  ASSERT_TRUE(world.NewLedger(2, &second));
  auto mirror = MirrorProcess::Start(
      {"--storage=memory", AdminSocketFlag(), "--follow=" + first + "@" + world.host->address(),
       "--follow", second + "@" + world.host->address() + "#tail"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  auto admin = (*mirror)->Admin();
  EXPECT_TRUE(WaitForVerifiedSize(*admin, first, 2));
  EXPECT_TRUE(WaitForVerifiedSize(*admin, second, 3));
  absl::StatusOr<v1::MirroredLedger> tail = MirrorStatus(*admin, second);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(tail->mode(), v1::MIRROR_MODE_TAIL);
}

TEST(MirrorAdminTest, FollowStatusUnfollow) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger, other;
  ASSERT_TRUE(world.NewLedger(2, &ledger));
  ASSERT_TRUE(world.NewLedger(0, &other));
  auto mirror = StartMirror();
  ASSERT_TRUE(mirror);
  EXPECT_TRUE(absl::StartsWith(mirror->admin_address(), "unix:"));
  auto admin = mirror->Admin();
  const std::string upstream = world.host->address();

  v1::FollowResponse followed;
  grpc::Status status = Follow(*admin, ledger, upstream, v1::MIRROR_MODE_UNSPECIFIED, &followed);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(followed.ledger().ledger_id(), ledger);
  EXPECT_EQ(followed.ledger().upstream(), upstream);
  EXPECT_EQ(followed.ledger().mode(), v1::MIRROR_MODE_FULL);
  ASSERT_TRUE(Follow(*admin, other, upstream, v1::MIRROR_MODE_TAIL).ok());
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 3));
  ASSERT_TRUE(WaitForVerifiedSize(*admin, other, 1));

  absl::StatusOr<v1::MirroredLedger> view = MirrorStatus(*admin, ledger);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->state(), "following");
  EXPECT_EQ(view->upstream(), upstream);
  EXPECT_EQ(view->mode(), v1::MIRROR_MODE_FULL);
  EXPECT_EQ(view->verified_size(), 3u);
  EXPECT_EQ(view->upstream_size(), 3u);
  EXPECT_EQ(view->lag(), 0u);
  EXPECT_EQ(view->last_error(), "");
  ASSERT_EQ(view->held_size(), 1);
  EXPECT_EQ(view->held(0).first(), 1u);
  EXPECT_EQ(view->held(0).last(), 3u);
  EXPECT_GT(view->last_used_unix_millis(), 0);
  // Following again with the same upstream and mode is fine; in another mode
  // it is not.
  EXPECT_TRUE(Follow(*admin, ledger, upstream, v1::MIRROR_MODE_FULL).ok());
  status = Follow(*admin, ledger, upstream, v1::MIRROR_MODE_SPARSE);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  // (The Follow before it started a new follower: "connecting" a moment.)
  EXPECT_TRUE(WaitFor([&] {
    view = MirrorStatus(*admin, ledger);
    return view.ok() && view->state() == "following";
  })) << "a refused Follow stopped the follower";
  EXPECT_EQ(view->mode(), v1::MIRROR_MODE_FULL);

  // Every ledger at once.
  {
    v1::MirrorStatusResponse all;
    ASSERT_TRUE(admin->Status(Deadline10s().get(), v1::MirrorStatusRequest(), &all).ok());
    std::vector<std::string> ids;
    for (const auto& one : all.ledgers()) ids.push_back(one.ledger_id());
    std::sort(ids.begin(), ids.end());
    std::vector<std::string> want = {ledger, other};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(ids, want);
  }

  // A block at the host arrives; then Unfollow: the next one does not, and
  // what was verified is still served.
  ASSERT_TRUE(world.AppendNoted(ledger));
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 4));
  status = Unfollow(*admin, ledger);
  ASSERT_TRUE(status.ok()) << Msg(status);
  view = MirrorStatus(*admin, ledger);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->state(), "stopped");
  EXPECT_EQ(view->verified_size(), 4u);
  ASSERT_TRUE(world.AppendNoted(ledger));
  auto stub = mirror->Stub();
  EXPECT_FALSE(WaitFor([&] { return HeadOf(*stub, ledger) == 5; }, absl::Milliseconds(800)));
  EXPECT_EQ(HeadOf(*stub, ledger), 4u);
  // Following again catches up.
  ASSERT_TRUE(Follow(*admin, ledger, upstream, v1::MIRROR_MODE_FULL).ok());
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 5));

  // Unfollow with drop_data: gone.
  ASSERT_TRUE(Unfollow(*admin, other, /*drop_data=*/true).ok());
  EXPECT_EQ(MirrorStatus(*admin, other).status().code(), absl::StatusCode::kNotFound);
  v1::GetLedgerResponse info;
  EXPECT_EQ(GetLedger(*stub, other, &info).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(MirrorAdminTest, ErrorCodes) {
  auto mirror = StartMirror();
  ASSERT_TRUE(mirror);
  auto admin = mirror->Admin();
  const std::string unknown = "jlinx:uAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
  grpc::Status status = Follow(*admin, "not-a-ledger", "127.0.0.1:1", v1::MIRROR_MODE_FULL);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
  status = Follow(*admin, unknown, "no-port", v1::MIRROR_MODE_FULL);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
  status = Follow(*admin, unknown, "127.0.0.1:1", static_cast<v1::MirrorMode>(9));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
  status = Unfollow(*admin, unknown);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
  EXPECT_EQ(MirrorStatus(*admin, unknown).status().code(), absl::StatusCode::kNotFound);
}

TEST(MirrorAdminTest, AnUpstreamThatIsDownThenUp) {
  // The host's port is known before it runs: nothing listens there yet.
  const std::string data_dir = NewTempDir("host");
  const std::string upstream = absl::StrCat("127.0.0.1:", FreePort());
  HostAndAgent world;
  ASSERT_TRUE(world.Start({"--storage=rocksdb", "--data_dir=" + data_dir,
                           "--listen=" + upstream}));
  std::string ledger;
  ASSERT_TRUE(world.NewLedger(2, &ledger));
  world.agent->Stop();
  world.host->Stop();

  auto mirror = StartMirror();
  ASSERT_TRUE(mirror);
  auto admin = mirror->Admin();
  ASSERT_TRUE(Follow(*admin, ledger, upstream, v1::MIRROR_MODE_FULL).ok());
  absl::StatusOr<v1::MirroredLedger> view;
  EXPECT_TRUE(WaitFor([&] {
    view = MirrorStatus(*admin, ledger);
    return view.ok() && !view->last_error().empty();
  }));
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->state(), "connecting");
  EXPECT_NE(view->last_error(), "");
  EXPECT_GT(view->last_error_unix_millis(), 0);
  EXPECT_EQ(view->verified_size(), 0u);
  EXPECT_EQ(view->upstream(), upstream);

  // The host comes up: the mirror catches up, and the error is over.
  auto host = HostProcess::Start(
      {"--storage=rocksdb", "--data_dir=" + data_dir, "--listen=" + upstream});
  ASSERT_TRUE(host.ok()) << host.status();
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 3));
  EXPECT_TRUE(WaitFor([&] {
    view = MirrorStatus(*admin, ledger);
    return view.ok() && view->state() == "following" && view->last_error().empty();
  })) << (view.ok() ? view->state() + " / " + view->last_error() : view.status().ToString());

  // Following an address where nothing listens, then Unfollow.
  const std::string nowhere = absl::StrCat("127.0.0.1:", FreePort());
  ASSERT_TRUE(Follow(*admin, ledger, nowhere, v1::MIRROR_MODE_FULL).ok());
  EXPECT_TRUE(WaitFor([&] {
    view = MirrorStatus(*admin, ledger);
    return view.ok() && view->state() == "connecting" && !view->last_error().empty();
  }));
  EXPECT_EQ(view->upstream(), nowhere);
  EXPECT_EQ(view->verified_size(), 3u);
  ASSERT_TRUE(Unfollow(*admin, ledger).ok());
  view = MirrorStatus(*admin, ledger);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state(), "stopped");
  auto stub = mirror->Stub();
  EXPECT_EQ(HeadOf(*stub, ledger), 3u);
}

TEST(MirrorAdminTest, AdminListenRefusesNonLoopbackWithoutMutualTls) {
  for (const std::string address : {"0.0.0.0:0", "[::]:0", "192.0.2.1:7501"}) {
    auto [code, output] = MirrorProcess::RunToExit(
        {"--storage=memory", "--admin_listen=" + address});
    EXPECT_NE(code, 0) << address << ": " << output;
    EXPECT_TRUE(absl::StrContains(output, "--admin_listen=" + address)) << output;
    EXPECT_TRUE(absl::StrContains(output, "mutual TLS")) << output;
    EXPECT_FALSE(absl::StrContains(output, "listening on")) << output;
  }
  // Loopback is fine.
  auto mirror = MirrorProcess::Start({"--storage=memory", "--admin_listen=127.0.0.1:0"});
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  EXPECT_TRUE(absl::StartsWith((*mirror)->admin_address(), "127.0.0.1:"));
  EXPECT_NE((*mirror)->admin_address(), "127.0.0.1:0");
  auto admin = (*mirror)->Admin();
  v1::MirrorStatusResponse all;
  EXPECT_TRUE(admin->Status(Deadline10s().get(), v1::MirrorStatusRequest(), &all).ok());
}

}  // namespace
}  // namespace microledger
