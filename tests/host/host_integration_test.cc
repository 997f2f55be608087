// The real ml-host binary on 127.0.0.1 (port 0), talked to over gRPC.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

MerkleHash ToHash(const std::string& bytes) {
  MerkleHash hash{};
  if (bytes.size() == hash.size()) std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

class HostIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(NewTempDir("host_integration"));
    absl::StatusOr<std::unique_ptr<HostProcess>> host =
        HostProcess::Start({"--data_dir=" + *dir_});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = host->release();
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(host_, nullptr);
    stub_ = Connect(host_->address());
  }

  static HostProcess* host_;
  static std::string* dir_;
  std::unique_ptr<HostStub> stub_;
};

HostProcess* HostIntegrationTest::host_ = nullptr;
std::string* HostIntegrationTest::dir_ = nullptr;

TEST_F(HostIntegrationTest, PipelinedStreamThenEveryBlockAndProofVerifies) {
  constexpr int kBlocks = 120;
  // Two ledgers interleaved in one pipelined stream.
  std::vector<OwnerChain> chains;
  chains.push_back(CreateChain(*stub_));
  chains.push_back(CreateChain(*stub_));
  std::vector<std::vector<Block>> drafts = {chains[0].DraftAhead(kBlocks),
                                            chains[1].DraftAhead(kBlocks)};
  grpc::ClientContext context;
  auto stream = stub_->AppendStream(&context);
  std::thread sender([&] {
    for (int i = 0; i < kBlocks; ++i) {
      for (int c = 0; c < 2; ++c) {
        v1::AppendRequest request;
        request.set_block(OwnerChain::Bytes(drafts[c][i]));
        if (i == 0) request.set_ledger_token(chains[c].token());
        ASSERT_TRUE(stream->Write(request));
      }
    }
    stream->WritesDone();
  });
  v1::AppendStreamResponse reply;
  int replies = 0;
  while (stream->Read(&reply)) {
    const int c = replies % 2, i = replies / 2;
    ASSERT_EQ(reply.code(), 0) << reply.message();
    EXPECT_EQ(reply.result().number(), static_cast<uint64_t>(i + 1));
    EXPECT_EQ(reply.result().ledger_id(), chains[c].ledger_id());
    ASSERT_TRUE(chains[c].Accept(drafts[c][i], FromProto(reply.result().host_signature())).ok());
    ASSERT_TRUE(VerifyCheckpoint(reply.result().checkpoint(), chains[c].ledger_id()).ok());
    ++replies;
  }
  sender.join();
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(replies, 2 * kBlocks);

  const OwnerChain& chain = chains[0];
  std::vector<std::string> blocks;
  ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 1, 0, &blocks).ok());
  ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks));
  absl::StatusOr<ChainState> state = VerifyChainBytes(chain.ledger_id(), blocks);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->head_fingerprint, chain.state().head_fingerprint);

  // Exact ranges.
  std::vector<std::string> range;
  std::vector<uint64_t> numbers;
  ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 17, 33, &range, &numbers).ok());
  ASSERT_EQ(range.size(), 17u);
  for (size_t i = 0; i < range.size(); ++i) {
    EXPECT_EQ(numbers[i], 17 + i);
    EXPECT_EQ(range[i], blocks[16 + i]);
  }
  range.clear();
  EXPECT_EQ(ReadBlocks(*stub_, chain.ledger_id(), 1, kBlocks + 1, &range).error_code(),
            grpc::StatusCode::OUT_OF_RANGE);

  // Several blocks per message: the same blocks and numbers, fewer messages.
  for (uint32_t per_message : {2u, 7u, 16u, 256u}) {
    std::vector<std::string> batched;
    std::vector<uint64_t> batched_numbers;
    int messages = 0;
    ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 1, 0, &batched, &batched_numbers,
                           per_message, &messages)
                    .ok());
    EXPECT_EQ(batched, blocks) << per_message;
    for (size_t i = 0; i < batched_numbers.size(); ++i) EXPECT_EQ(batched_numbers[i], i + 1);
    EXPECT_EQ(messages, (kBlocks + per_message - 1) / per_message) << per_message;
  }
  range.clear();
  numbers.clear();
  ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 17, 33, &range, &numbers, 5).ok());
  EXPECT_EQ(range, std::vector<std::string>(blocks.begin() + 16, blocks.begin() + 33));
  EXPECT_EQ(numbers.front(), 17u);
  EXPECT_EQ(numbers.back(), 33u);
  range.clear();
  EXPECT_EQ(ReadBlocks(*stub_, chain.ledger_id(), 1, 0, &range, nullptr, 257).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Inclusion proofs against checkpoints, consistency between checkpoints.
  for (uint64_t size : {uint64_t{1}, uint64_t{2}, uint64_t{7}, uint64_t{64}, uint64_t{65},
                        uint64_t{kBlocks}}) {
    for (uint64_t number : {uint64_t{1}, (size + 1) / 2, size}) {
      grpc::ClientContext ctx;
      v1::GetInclusionProofRequest request;
      request.set_ledger_id(chain.ledger_id());
      request.set_number(number);
      request.set_tree_size(size);
      v1::GetInclusionProofResponse response;
      ASSERT_TRUE(stub_->GetInclusionProof(&ctx, request, &response).ok());
      absl::StatusOr<Checkpoint> checkpoint =
          VerifyCheckpoint(response.checkpoint(), chain.ledger_id());
      ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
      EXPECT_EQ(checkpoint->tree_size, size);
      std::vector<MerkleHash> proof;
      for (const std::string& h : response.hashes()) proof.push_back(ToHash(h));
      MerkleHash leaf =
          HashMerkleLeaf(*DecodeDigest(chain.blocks()[number - 1].fingerprint));
      EXPECT_TRUE(
          VerifyMerkleInclusion(leaf, number - 1, size, proof, checkpoint->root_hash).ok())
          << number << " in " << size;
    }
    grpc::ClientContext ctx;
    v1::GetConsistencyProofRequest request;
    request.set_ledger_id(chain.ledger_id());
    request.set_old_size(size);
    v1::GetConsistencyProofResponse response;
    ASSERT_TRUE(stub_->GetConsistencyProof(&ctx, request, &response).ok());
    absl::StatusOr<Checkpoint> old_cp =
        VerifyCheckpoint(response.old_checkpoint(), chain.ledger_id());
    absl::StatusOr<Checkpoint> new_cp =
        VerifyCheckpoint(response.new_checkpoint(), chain.ledger_id());
    ASSERT_TRUE(old_cp.ok() && new_cp.ok());
    std::vector<MerkleHash> proof;
    for (const std::string& h : response.hashes()) proof.push_back(ToHash(h));
    EXPECT_TRUE(VerifyMerkleConsistency(old_cp->tree_size, new_cp->tree_size,
                                        old_cp->root_hash, new_cp->root_hash, proof)
                    .ok());
  }
}

TEST_F(HostIntegrationTest, SubscribeSeesEveryBlockWithConcurrentWriters) {
  constexpr int kLedgers = 4, kBlocks = 25;
  std::vector<OwnerChain> chains;
  for (int i = 0; i < kLedgers; ++i) {
    chains.push_back(CreateChain(*stub_));
    ASSERT_TRUE(AppendBlock(*stub_, chains[i], chains[i].Next()).ok());
  }
  std::vector<std::string> ids;  // Copies: writer threads mutate `chains`.
  for (const OwnerChain& chain : chains) ids.push_back(chain.ledger_id());
  std::vector<std::vector<uint64_t>> seen(kLedgers);
  std::vector<std::vector<std::string>> seen_blocks(kLedgers);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> subscribers;
  std::atomic<int> started{0};
  for (int i = 0; i < kLedgers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    subscribers.emplace_back([&, i] {
      v1::SubscribeRequest request;
      request.set_ledger_id(ids[i]);
      request.set_from_number(1);
      auto reader = stub_->Subscribe(contexts[i].get(), request);
      v1::SubscribeResponse response;
      while (reader->Read(&response)) {
        if (response.number() == 1) ++started;
        seen[i].push_back(response.number());
        seen_blocks[i].push_back(response.block());
        EXPECT_TRUE(VerifyCheckpoint(response.checkpoint(), ids[i]).ok());
        if (response.number() == kBlocks + 1) contexts[i]->TryCancel();
      }
      reader->Finish();
    });
  }
  for (int spin = 0; spin < 500 && started < kLedgers; ++spin) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::thread> writers;
  for (int i = 0; i < kLedgers; ++i) {
    writers.emplace_back([&, i] {
      auto stub = Connect(host_->address());
      for (int b = 0; b < kBlocks; ++b) {
        grpc::Status s = AppendBlock(*stub, chains[i], chains[i].Next());
        EXPECT_TRUE(s.ok()) << s.error_message();
      }
    });
  }
  for (std::thread& t : writers) t.join();
  for (std::thread& t : subscribers) t.join();
  for (int i = 0; i < kLedgers; ++i) {
    ASSERT_EQ(seen[i].size(), static_cast<size_t>(kBlocks + 1)) << "ledger " << i;
    for (int n = 0; n <= kBlocks; ++n) {
      EXPECT_EQ(seen[i][n], static_cast<uint64_t>(n + 1));
      EXPECT_EQ(seen_blocks[i][n], SerializeBlock(chains[i].blocks()[n]));
    }
  }
}

TEST_F(HostIntegrationTest, HundredLedgersConcurrentAppenders) {
  constexpr int kLedgers = 100, kBlocks = 5, kThreads = 8;
  std::vector<OwnerChain> chains;
  for (int i = 0; i < kLedgers; ++i) chains.push_back(CreateChain(*stub_));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = Connect(host_->address());
      for (int b = 0; b < kBlocks; ++b) {
        for (int i = t; i < kLedgers; i += kThreads) {
          if (!AppendBlock(*stub, chains[i], chains[i].Next()).ok()) ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const OwnerChain& chain : chains) {
    std::vector<std::string> blocks;
    ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 1, 0, &blocks).ok());
    ASSERT_EQ(blocks.size(), static_cast<size_t>(kBlocks));
    absl::StatusOr<ChainState> state = VerifyChainBytes(chain.ledger_id(), blocks);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(state->head_fingerprint, chain.state().head_fingerprint);
  }
}

TEST_F(HostIntegrationTest, BadInputsMapToStatusCodesAndChangeNothing) {
  OwnerChain chain = CreateChain(*stub_);
  ASSERT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
  ASSERT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
  auto send = [&](const std::string& bytes, const std::string& token = "") {
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(bytes);
    request.set_ledger_token(token);
    v1::AppendResponse response;
    return stub_->Append(&context, request, &response);
  };
  grpc::Status s = send("{not json");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Block gap = chain.Next();
  gap.number = 5;
  s = send(OwnerChain::Bytes(chain.Reseal(gap)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("block 5: number"));
  s = send(OwnerChain::Bytes(chain.Reseal(chain.blocks()[1])));  // Replay.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  s = send(OwnerChain::Bytes(chain.Next({{"event", "big"}, {"pad", std::string(70000, 'x')}})));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  OwnerChain unknown = CreateChain(*stub_);
  Block stray = chain.Next();
  stray.ledger = unknown.ledger_id();
  s = send(OwnerChain::Bytes(chain.Reseal(stray)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(HeadNumber(*stub_, chain.ledger_id()), 2u);

  grpc::ClientContext context;
  v1::GetLedgerRequest request;
  request.set_ledger_id("jlinx:nonsense");
  v1::GetLedgerResponse response;
  EXPECT_EQ(stub_->GetLedger(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(HostIntegrationTest, AppendStreamRejectsOneBlockAndGoesOn) {
  OwnerChain chain = CreateChain(*stub_);
  std::vector<Block> drafts = chain.DraftAhead(2);
  Block wrong_previous = drafts[1];
  wrong_previous.previous = wrong_previous.fingerprint;
  wrong_previous = chain.Reseal(wrong_previous);
  grpc::ClientContext context;
  auto stream = stub_->AppendStream(&context);
  for (const Block* block : {&drafts[0], &wrong_previous, &drafts[1]}) {
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(*block));
    if (block->number == 1) request.set_ledger_token(chain.token());
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  std::vector<v1::AppendStreamResponse> replies(3);
  for (v1::AppendStreamResponse& reply : replies) ASSERT_TRUE(stream->Read(&reply));
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(replies[0].code(), 0) << replies[0].message();
  EXPECT_EQ(replies[1].code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(replies[1].message(), HasSubstr("block 2: previous"));
  EXPECT_EQ(replies[2].code(), 0) << replies[2].message();
  EXPECT_EQ(replies[2].result().number(), 2u);
  EXPECT_EQ(HeadNumber(*stub_, chain.ledger_id()), 2u);
}

TEST_F(HostIntegrationTest, MovedLedgerReportsStatusAndRefusesMore) {
  OwnerChain chain = CreateChain(*stub_);
  OwnerChain successor = CreateChain(*stub_);
  ASSERT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
  ASSERT_TRUE(AppendBlock(*stub_, chain,
                          chain.Next({{"event", "moved document"},
                                      {"new id", successor.ledger_id()},
                                      {"new cryptographic signing key",
                                       successor.owner(0).public_key_text()}}))
                  .ok());
  grpc::ClientContext context;
  v1::GetLedgerRequest request;
  request.set_ledger_id(chain.ledger_id());
  v1::GetLedgerResponse response;
  ASSERT_TRUE(stub_->GetLedger(&context, request, &response).ok());
  EXPECT_EQ(response.status(), v1::LEDGER_STATUS_MOVED);
  grpc::Status refused = AppendBlock(*stub_, chain, chain.Next());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("block 3: terminal"));
}

TEST_F(HostIntegrationTest, AttachmentAndForgetOverGrpc) {
  OwnerChain chain = CreateChain(*stub_);
  ASSERT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
  const std::string data = "attachment bytes";
  Block sealed = chain.Next(nullptr, std::vector<std::string>{DigestText(data)});
  {
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(sealed));
    v1::Attachment* attachment = request.add_attachments();
    attachment->set_name("doc.txt");
    attachment->set_data(data);
    v1::AppendResponse response;
    ASSERT_TRUE(stub_->Append(&context, request, &response).ok());
    ASSERT_TRUE(chain.Accept(sealed, FromProto(response.host_signature())).ok());
  }
  {
    grpc::ClientContext context;
    v1::GetAttachmentRequest request;
    request.set_ledger_id(chain.ledger_id());
    request.set_seal(DigestText(data));
    v1::GetAttachmentResponse response;
    ASSERT_TRUE(stub_->GetAttachment(&context, request, &response).ok());
    EXPECT_EQ(response.data(), data);
    EXPECT_EQ(response.name(), "doc.txt");
  }
  ASSERT_TRUE(ForgetLedger(*stub_, chain.ledger_id(), chain.state().head_fingerprint,
                           chain.SignForget())
                  .ok());
  std::vector<std::string> blocks;
  EXPECT_EQ(ReadBlocks(*stub_, chain.ledger_id(), 1, 0, &blocks).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext context;
  v1::GetAttachmentRequest request;
  request.set_ledger_id(chain.ledger_id());
  request.set_seal(DigestText(data));
  v1::GetAttachmentResponse response;
  EXPECT_EQ(stub_->GetAttachment(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HostIntegrationTest, HealthServiceAnswers) {
  auto channel = grpc::CreateChannel(host_->address(), grpc::InsecureChannelCredentials());
  int health = 0;
  grpc::Status status = CheckHealth(channel, "", &health);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(health, kHealthServing);
}

TEST_F(HostIntegrationTest, SecondProcessOnTheSameDataDirFailsClearly) {
  auto [code, output] = HostProcess::RunToExit({"--data_dir=" + *dir_});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr("locked by another process"));
}

TEST_F(HostIntegrationTest, BatchedGetBlocksMessagesStopAtOneMebibyte) {
  OwnerChain chain = CreateChain(*stub_);
  constexpr int kBlocks = 24;  // ~50 KiB each: about 21 fit in 1 MiB.
  for (int i = 0; i < kBlocks; ++i) {
    Json event = {{"event", "updated"}, {"pad", std::string(50 * 1024, 'x')}};
    grpc::Status s = AppendBlock(*stub_, chain, chain.Next(event));
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::vector<std::string> one_per_message;
  ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 2, 0, &one_per_message).ok());
  std::vector<std::string> batched;
  int messages = 0;
  ASSERT_TRUE(ReadBlocks(*stub_, chain.ledger_id(), 2, 0, &batched, nullptr, 256, &messages)
                  .ok());
  EXPECT_EQ(batched, one_per_message);
  EXPECT_EQ(messages, 2);
}

TEST_F(HostIntegrationTest, NegativeOrZeroLimitsAreRefused) {
  for (const std::string& flag :
       {std::string("--merkle_node_cache_size=-1"), std::string("--ledger_cache_size=0"),
        std::string("--max_block_bytes=0")}) {
    auto [code, output] =
        HostProcess::RunToExit({"--storage=memory", "--listen=127.0.0.1:0", flag});
    EXPECT_EQ(code, 1) << flag;
    EXPECT_THAT(output, HasSubstr("limits must be positive")) << flag;
  }
  auto [code, output] = HostProcess::RunToExit(
      {"--storage=memory", "--listen=127.0.0.1:0", "--max_streams_per_connection=0"});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr("--max_streams_per_connection must be in 1..2147483647"));
}

TEST_F(HostIntegrationTest, BadHttpReadApiFlagsAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"--http_threads=0", "--http_threads must be in 1..256"},
      {"--http_rate_limit=-1", "--http_rate_limit must be 0 or more"},
      {"--http_cache_mb=-1", "--http_cache_mb must be 0 or more"},
      {"--http_listen=unix:/tmp/x.sock", "--http_listen: HTTP listen address"},
  };
  for (const auto& [flag, message] : cases) {
    std::vector<std::string> flags = {"--storage=memory", "--listen=127.0.0.1:0", flag};
    if (!absl::StartsWith(flag, "--http_listen")) flags.push_back("--http_listen=127.0.0.1:0");
    auto [code, output] = HostProcess::RunToExit(flags);
    EXPECT_EQ(code, 1) << flag;
    EXPECT_THAT(output, HasSubstr(message)) << flag;
  }
  // A busy port is refused, not shared.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  auto [code, output] = HostProcess::RunToExit(
      {"--storage=memory", "--listen=127.0.0.1:0",
       absl::StrCat("--http_listen=127.0.0.1:", ntohs(address.sin_port))});
  close(fd);
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr("--http_listen: cannot listen on"));
}

}  // namespace
}  // namespace microledger
