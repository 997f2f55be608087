// Full, tail and sparse mirrors of a ledger made through the owner agent
// (with sealed attachments); then the host stops and a reader reads and
// verifies from the mirrors alone (issue #11, part 1). Also: mirrors are
// read-only, a tail mirror refuses blocks before its start naming what it
// holds, a sparse mirror fetches a cold range while the host is up and
// serves it warm once the host is gone, and `mlctl verify --from=MIRROR`.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/owner_chain.h"
#include "tests/mirror/mirror_test_util.h"

namespace microledger {
namespace {

constexpr char kAttachment3[] = "the contract, sealed in block 3";
constexpr char kAttachment7[] = "the annex, sealed in block 7";

std::unique_ptr<MirrorProcess> StartMirror(const std::string& follow) {
  auto mirror = MirrorProcess::Start(
      {"--storage=memory", AdminSocketFlag(),
       "--follow=" + follow, "--poll_ms=100", "--max_backoff_ms=300",
       "--upstream_timeout_ms=3000"});
  EXPECT_TRUE(mirror.ok()) << mirror.status();
  return mirror.ok() ? *std::move(mirror) : nullptr;
}

bool Covers(const std::vector<std::pair<uint64_t, uint64_t>>& held, uint64_t n) {
  for (const auto& [first, last] : held) {
    if (first <= n && n <= last) return true;
  }
  return false;
}

TEST(MirrorReadTest, FullTailAndSparseServeVerifiedReadsWithTheHostStopped) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger;
  // Blocks 1..2, 3 (attachment), 4..6, 7 (attachment): the tail starts at 7.
  ASSERT_TRUE(world.NewLedger(1, &ledger));
  ASSERT_TRUE(world.AppendNoted(ledger, kAttachment3));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(world.AppendNoted(ledger));
  ASSERT_TRUE(world.AppendNoted(ledger, kAttachment7));
  ASSERT_EQ(HostHead(world.host->address(), ledger), 7u);
  const std::string upstream = world.host->address();

  auto full = StartMirror(ledger + "@" + upstream + "#full");
  auto tail = StartMirror(ledger + "@" + upstream + "#tail");
  auto sparse = StartMirror(ledger + "@" + upstream + "#sparse");
  ASSERT_TRUE(full && tail && sparse);
  auto full_admin = full->Admin();
  auto tail_admin = tail->Admin();
  auto sparse_admin = sparse->Admin();
  ASSERT_TRUE(WaitForVerifiedSize(*tail_admin, ledger, 7));
  ASSERT_TRUE(WaitForVerifiedSize(*sparse_admin, ledger, 7));
  // New blocks after the mirrors started reach all three.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(world.AppendNoted(ledger));
  const uint64_t n = 10;
  for (auto* admin : {full_admin.get(), tail_admin.get(), sparse_admin.get()}) {
    ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, n));
    absl::StatusOr<v1::MirroredLedger> status = MirrorStatus(*admin, ledger);
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_EQ(status->state(), "following");
    EXPECT_EQ(status->upstream(), upstream);
    EXPECT_EQ(status->verified_size(), n);
    EXPECT_EQ(status->lag(), 0u);
  }

  // What the host serves, to compare byte for byte.
  auto host_stub = Connect(upstream);
  std::vector<std::string> expected;
  ASSERT_TRUE(Blocks(*host_stub, ledger, 1, 0, &expected).ok());
  ASSERT_EQ(expected.size(), n);
  ASSERT_TRUE(VerifyChainBytes(ledger, expected).ok());

  // The sparse mirror fetches a cold range (with block 3's attachment) from
  // the host while it is up, and a proof it does not hold yet.
  auto sparse_stub = sparse->Stub();
  {
    v1::GetLedgerResponse info;
    ASSERT_TRUE(GetLedger(*sparse_stub, ledger, &info).ok());
    EXPECT_FALSE(Covers(HeldOf(info), 3)) << "block 3 should be cold";
    std::vector<std::string> cold;
    grpc::Status status = Blocks(*sparse_stub, ledger, 2, 4, &cold);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(cold, std::vector<std::string>(expected.begin() + 1, expected.begin() + 4));
    EXPECT_TRUE(ProvesInclusion(*sparse_stub, ledger, 3, n, expected[2]));
    EXPECT_TRUE(ProvesConsistency(*sparse_stub, ledger, 7, n));
  }

  world.agent->Stop();
  world.host->Stop();
  ASSERT_EQ(HeadOf(*host_stub, ledger), 0u) << "the host is still up";

  // Full: everything, from the mirror alone.
  auto full_stub = full->Stub();
  {
    std::vector<std::string> got;
    grpc::Status status = Blocks(*full_stub, ledger, 1, 0, &got);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(got, expected);
    EXPECT_TRUE(VerifyChainBytes(ledger, got).ok());
    v1::GetLedgerResponse info;
    ASSERT_TRUE(GetLedger(*full_stub, ledger, &info).ok());
    EXPECT_EQ(info.head_number(), n);
    EXPECT_EQ(info.genesis_block(), expected[0]);
    EXPECT_EQ(HeldOf(info), (std::vector<std::pair<uint64_t, uint64_t>>{{1, n}}));
    Checkpoint latest;
    EXPECT_TRUE(CheckpointOf(ledger, info.checkpoint(), n, &latest));
    for (uint64_t size = 1; size <= n; ++size) {
      for (uint64_t number = 1; number <= size; ++number) {
        EXPECT_TRUE(ProvesInclusion(*full_stub, ledger, number, size, expected[number - 1]));
      }
      EXPECT_TRUE(ProvesConsistency(*full_stub, ledger, size, n));
    }
    std::string data;
    grpc::Status got3 = Attachment(*full_stub, ledger, DigestText(kAttachment3), &data);
    EXPECT_TRUE(got3.ok()) << Msg(got3);
    EXPECT_EQ(data, kAttachment3);
    grpc::Status got7 = Attachment(*full_stub, ledger, DigestText(kAttachment7), &data);
    EXPECT_TRUE(got7.ok()) << Msg(got7);
    EXPECT_EQ(data, kAttachment7);

    auto [code, output] = ServerProcess::RunToExit(
        {"tools/mlctl", {"verify", ledger, "--from=" + full->address()}, {}});
    EXPECT_EQ(code, 0) << output;
  }

  // Tail: block 1 and 7..n.
  auto tail_stub = tail->Stub();
  {
    v1::GetLedgerResponse info;
    ASSERT_TRUE(GetLedger(*tail_stub, ledger, &info).ok());
    EXPECT_EQ(info.head_number(), n);
    EXPECT_EQ(info.genesis_block(), expected[0]);
    EXPECT_EQ(HeldOf(info), (std::vector<std::pair<uint64_t, uint64_t>>{{1, 1}, {7, n}}));
    std::vector<std::string> got;
    grpc::Status status = Blocks(*tail_stub, ledger, 7, 0, &got);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(got, std::vector<std::string>(expected.begin() + 6, expected.end()));
    got.clear();
    ASSERT_TRUE(Blocks(*tail_stub, ledger, 1, 1, &got).ok());
    EXPECT_EQ(got, std::vector<std::string>{expected[0]});
    got.clear();
    status = Blocks(*tail_stub, ledger, 2, 8, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), absl::StrCat("1, 7-", n)))
        << status.error_message();
    EXPECT_TRUE(got.empty());
    for (uint64_t number = 7; number <= n; ++number) {
      EXPECT_TRUE(ProvesInclusion(*tail_stub, ledger, number, n, expected[number - 1]));
    }
    EXPECT_TRUE(ProvesInclusion(*tail_stub, ledger, 8, 9, expected[7]));
    EXPECT_TRUE(ProvesConsistency(*tail_stub, ledger, 7, n));
    EXPECT_TRUE(ProvesConsistency(*tail_stub, ledger, 8, 9));
    v1::GetInclusionProofRequest request;
    request.set_ledger_id(ledger);
    request.set_number(3);
    request.set_tree_size(n);
    v1::GetInclusionProofResponse proof;
    status = tail_stub->GetInclusionProof(Deadline10s().get(), request, &proof);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    std::string data;
    status = Attachment(*tail_stub, ledger, DigestText(kAttachment7), &data);
    EXPECT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(data, kAttachment7);
  }

  // Sparse: what it fetched, warm; nothing else.
  {
    v1::GetLedgerResponse info;
    ASSERT_TRUE(GetLedger(*sparse_stub, ledger, &info).ok());
    EXPECT_EQ(info.head_number(), n);
    const auto held = HeldOf(info);
    for (uint64_t number : {1, 2, 3, 4, 7, 10}) {
      EXPECT_TRUE(Covers(held, number)) << number;
    }
    for (uint64_t number : {5, 6}) EXPECT_FALSE(Covers(held, number)) << number;
    std::vector<std::string> warm;
    grpc::Status status = Blocks(*sparse_stub, ledger, 1, 4, &warm);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(warm, std::vector<std::string>(expected.begin(), expected.begin() + 4));
    warm.clear();
    ASSERT_TRUE(Blocks(*sparse_stub, ledger, n, n, &warm).ok());
    EXPECT_EQ(warm, std::vector<std::string>{expected[n - 1]});
    EXPECT_TRUE(ProvesInclusion(*sparse_stub, ledger, 3, n, expected[2]));
    EXPECT_TRUE(ProvesInclusion(*sparse_stub, ledger, n, n, expected[n - 1]));
    std::string data;
    status = Attachment(*sparse_stub, ledger, DigestText(kAttachment3), &data);
    EXPECT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(data, kAttachment3);
    // A cold block with no upstream: an error, never unverified bytes.
    warm.clear();
    status = Blocks(*sparse_stub, ledger, 5, 6, &warm);
    EXPECT_FALSE(status.ok());
    EXPECT_TRUE(warm.empty());
  }
}

TEST(MirrorReadTest, AMirrorIsReadOnly) {
  HostAndAgent world;
  ASSERT_TRUE(world.Start());
  std::string ledger;
  ASSERT_TRUE(world.NewLedger(2, &ledger));
  auto mirror = StartMirror(ledger + "@" + world.host->address());
  ASSERT_TRUE(mirror);
  auto admin = mirror->Admin();
  ASSERT_TRUE(WaitForVerifiedSize(*admin, ledger, 3));
  auto stub = mirror->Stub();
  std::vector<std::string> blocks;
  ASSERT_TRUE(Blocks(*stub, ledger, 1, 0, &blocks).ok());

  {
    v1::CreateLedgerResponse response;
    grpc::Status status =
        stub->CreateLedger(Deadline10s().get(), v1::CreateLedgerRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "read-only mirror"));
  }
  {
    // Even a block the host would take (a copy of block 3's owner part is
    // refused for another reason there; here nothing is looked at).
    v1::AppendRequest request;
    request.set_block(blocks.back());
    v1::AppendResponse response;
    grpc::Status status = stub->Append(Deadline10s().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "read-only mirror"));
  }
  {
    auto context = Deadline10s();
    auto stream = stub->AppendStream(context.get());
    v1::AppendRequest request;
    request.set_block(blocks.back());
    stream->Write(request);
    stream->WritesDone();
    v1::AppendStreamResponse response;
    while (stream->Read(&response)) {
      ADD_FAILURE() << "a reply from a read-only mirror: " << response.code();
    }
    grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "read-only mirror"));
  }
  EXPECT_EQ(HeadOf(*stub, ledger), 3u);
}

}  // namespace
}  // namespace microledger
