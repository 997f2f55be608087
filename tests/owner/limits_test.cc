// The agent's limits with a real ml-owner on loopback: request message size,
// calls per connection (HTTP/2 MAX_CONCURRENT_STREAMS), AppendEvent calls and
// ExportLedger streams in progress; each refusal is RESOURCE_EXHAUSTED naming
// the limit. Also: a request with invalid UTF-8 in a string field is answered
// INVALID_ARGUMENT with a message on the callback (AppendEvent) and the sync
// (CreateKey) API.
//
// Calls are held in progress by stopping the host (SIGSTOP): the agent's calls
// to it then wait. Whether a held call has reached the agent is observed with
// probes that cannot be held (an unknown ledger fails at once when admitted),
// so no test depends on timing.
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

constexpr char kUnknownLedger[] = "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// ml-host (memory storage) started through /bin/sh, which writes its pid to a
// file and execs the host, so that the test can stop and continue it.
class PausableHost : public ServerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<PausableHost>> Start() {
    const char* binary = std::getenv("ML_HOST_BINARY");
    const std::string pid_file = NewTempDir("host_pid") + "/pid";
    std::unique_ptr<PausableHost> host(new PausableHost());
    absl::Status started = host->Launch(
        {"/bin/sh",
         {"-c", "echo $$ >\"$0\" && exec \"$@\"", pid_file,
          binary != nullptr ? binary : "host_service/ml-host", "--listen=127.0.0.1:0",
          "--storage=memory"},
         {}});
    if (!started.ok()) return started;
    std::ifstream(pid_file) >> host->pid_;
    if (host->pid_ <= 0) return absl::InternalError("no host pid in " + pid_file);
    return host;
  }
  ~PausableHost() override { Continue(); }

  void Pause() { ASSERT_TRUE(StopProcess(pid_)); }
  void Continue() { ContinueProcess(pid_); }

 private:
  PausableHost() = default;
  pid_t pid_ = -1;
};

// A channel with its own connection (gRPC shares connections between channels
// with the same target and arguments otherwise).
std::unique_ptr<AgentStub> StubOnOwnConnection(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::OwnerAgentService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

// Calls `probe` (a call that fails at once when admitted) until it is refused
// RESOURCE_EXHAUSTED, at most 100 times, 50 ms apart; returns the last status.
// Probes until refused (the held call has the slot), for at most 30 s.
grpc::Status ProbeUntilRefused(const std::function<grpc::Status()>& probe) {
  grpc::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    status = probe();
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
        absl::Now() > deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

class LimitsTest : public testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<PausableHost>> host = PausableHost::Start();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  void StartAgent(const std::vector<std::string>& flags) {
    std::vector<std::string> all = {"--keystore=" + NewTempDir("keystore") + "/ks",
                                    "--host=" + host_->address()};
    all.insert(all.end(), flags.begin(), flags.end());
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start(all);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }

  std::string NewLedger(AgentStub& stub) {
    v1::OwnerCreateLedgerResponse created;
    grpc::Status status = CreateLedger(stub, host_->address(), &created);
    EXPECT_TRUE(status.ok()) << Msg(status);
    return created.ledger_id();
  }

  // An append that waits for the stopped host, on its own thread.
  // The append held by the paused host. A probe may hold the one slot at the
  // moment it arrives (a slow machine, ASan): then it is refused and sent
  // again, bounded in time.
  std::future<grpc::Status> HeldAppend(AgentStub& stub, const std::string& ledger) {
    return std::async(std::launch::async, [&stub, ledger] {
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      while (true) {
        v1::BlockOutcome outcome;
        grpc::Status status = Append(stub, ledger, R"({"event":"held"})", &outcome);
        if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED ||
            absl::Now() > deadline) {
          return status;
        }
        absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }

  std::unique_ptr<PausableHost> host_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(LimitsTest, AppendsAboveTheLimitAreRefusedNamingTheFlag) {
  StartAgent({"--max_concurrent_appends=1"});
  std::unique_ptr<AgentStub> stub = agent_->Stub();
  std::unique_ptr<AgentStub> prober = StubOnOwnConnection(agent_->address());
  const std::string ledger = NewLedger(*stub);

  host_->Pause();
  std::future<grpc::Status> held = HeldAppend(*stub, ledger);
  const grpc::Status refused = ProbeUntilRefused([&] {
    v1::BlockOutcome outcome;
    return Append(*prober, kUnknownLedger, R"({"event":"probe"})", &outcome);
  });
  host_->Continue();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Msg(refused);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "--max_concurrent_appends=1"))
      << Msg(refused);

  ASSERT_EQ(held.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const grpc::Status held_status = held.get();
  EXPECT_TRUE(held_status.ok()) << Msg(held_status);
  v1::BlockOutcome after;
  const grpc::Status again = Append(*prober, ledger, R"({"event":"after"})", &after);
  EXPECT_TRUE(again.ok()) << "the slot is given back: " << Msg(again);
}

TEST_F(LimitsTest, ExportsAboveTheLimitAreRefusedNamingTheFlag) {
  StartAgent({"--max_concurrent_exports=1"});
  std::unique_ptr<AgentStub> stub = agent_->Stub();
  std::unique_ptr<AgentStub> prober = StubOnOwnConnection(agent_->address());
  const std::string ledger = NewLedger(*stub);

  host_->Pause();
  std::future<grpc::Status> held = std::async(std::launch::async, [&] {
    std::string bundle;
    return Export(*stub, ledger, &bundle);
  });
  const grpc::Status refused = ProbeUntilRefused([&] {
    std::string bundle;
    return Export(*prober, kUnknownLedger, &bundle);
  });
  host_->Continue();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Msg(refused);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "--max_concurrent_exports=1"))
      << Msg(refused);

  ASSERT_EQ(held.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const grpc::Status held_status = held.get();
  EXPECT_TRUE(held_status.ok()) << Msg(held_status);
  std::string bundle;
  const grpc::Status again = Export(*prober, ledger, &bundle);
  EXPECT_TRUE(again.ok()) << "the slot is given back: " << Msg(again);
}

TEST_F(LimitsTest, CallsPerConnectionAreBounded) {
  StartAgent({"--max_streams_per_connection=1", "--max_concurrent_appends=1"});
  std::unique_ptr<AgentStub> busy = StubOnOwnConnection(agent_->address());
  std::unique_ptr<AgentStub> other = StubOnOwnConnection(agent_->address());
  const std::string ledger = NewLedger(*busy);  // Also settles the connection's SETTINGS.

  host_->Pause();
  std::future<grpc::Status> held = HeldAppend(*busy, ledger);
  // The held append has reached the agent once another append is refused.
  const grpc::Status refused = ProbeUntilRefused([&] {
    v1::BlockOutcome outcome;
    return Append(*other, kUnknownLedger, R"({"event":"probe"})", &outcome);
  });
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Msg(refused);
  v1::ListKeysResponse keys;
  const grpc::Status same_connection =
      busy->ListKeys(Ctx(2).get(), v1::ListKeysRequest(), &keys);
  const grpc::Status other_connection =
      other->ListKeys(Ctx(10).get(), v1::ListKeysRequest(), &keys);
  host_->Continue();
  EXPECT_EQ(same_connection.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a second call on a connection with one call open must wait: "
      << Msg(same_connection);
  EXPECT_TRUE(other_connection.ok()) << Msg(other_connection);

  ASSERT_EQ(held.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const grpc::Status held_status = held.get();
  EXPECT_TRUE(held_status.ok()) << Msg(held_status);
  const grpc::Status after = busy->ListKeys(Ctx(10).get(), v1::ListKeysRequest(), &keys);
  EXPECT_TRUE(after.ok()) << Msg(after);
}

TEST_F(LimitsTest, MessageAboveTheLimitIsRefusedNamingTheLimit) {
  StartAgent({"--max_receive_message_bytes=65536"});
  std::unique_ptr<AgentStub> stub = agent_->Stub();
  v1::BlockOutcome outcome;
  const std::string big_event = R"({"event":")" + std::string(100 * 1024, 'x') + R"("})";
  const grpc::Status refused = Append(*stub, kUnknownLedger, big_event, &outcome);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Msg(refused);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "65536")) << Msg(refused);
  const grpc::Status small = Append(*stub, kUnknownLedger, R"({"event":"x"})", &outcome);
  EXPECT_EQ(small.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(small);
}

// Calls `method` with `request` as raw bytes; the status.
grpc::Status RawUnaryCall(const std::string& address, const std::string& method,
                          const std::string& request) {
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::Slice slice(request);
  grpc::ByteBuffer request_bytes(&slice, 1);
  grpc::ByteBuffer response_bytes;
  std::promise<grpc::Status> done;
  auto context = Ctx(10);
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request_bytes, &response_bytes,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST_F(LimitsTest, InvalidUtf8InAStringFieldIsInvalidArgument) {
  StartAgent({});
  // Field 1 (ledger_id / label, proto3 string) holding the bytes ff fe.
  const std::string invalid_utf8("\x0a\x02\xff\xfe", 4);
  for (const std::string method : {"/microledger.v1.OwnerAgentService/AppendEvent",
                                   "/microledger.v1.OwnerAgentService/CreateKey"}) {
    const grpc::Status status = RawUnaryCall(agent_->address(), method, invalid_utf8);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method << " " << Msg(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), "UTF-8")) << Msg(status);
  }
  v1::ListKeysResponse keys;
  EXPECT_TRUE(agent_->Stub()->ListKeys(Ctx(10).get(), v1::ListKeysRequest(), &keys).ok());
  EXPECT_EQ(keys.keys_size(), 0) << "a refused CreateKey made no key";
}

}  // namespace
}  // namespace microledger
