// The real ml-host exits promptly on SIGTERM after read streams were cut short
// while blocks were being appended: Subscribe and GetBlocks calls cancelled by
// the client (ClientContext::TryCancel) at random moments, and calls whose
// client just disconnected (its TCP connection dropped mid-stream). A
// callback-API server's Wait() returns only once every reactor has finished,
// so a stream left unfinished after a cancel keeps the host running forever.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

using Clock = std::chrono::steady_clock;

// True once `pid` (a child not reaped yet) has exited: a zombie, or gone.
bool Exited(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// SIGTERM to `host`; true if it exits within `limit` (then it is reaped).
bool TerminatesWithin(HostProcess& host, std::chrono::seconds limit) {
  const pid_t pid = host.pid();
  if (kill(pid, SIGTERM) != 0) return false;
  const auto deadline = Clock::now() + limit;
  bool exited = false;
  while (!(exited = Exited(pid)) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::now() - (deadline - limit));
  std::fprintf(stderr, "ml-host %s %lld ms after SIGTERM\n",
               exited ? "exited" : "was still running", static_cast<long long>(took.count()));
  if (exited) host.Stop();  // Reaps it. (Otherwise the caller kills it.)
  return exited;
}

// Appends blocks to one ledger on its own connection until stopped.
class Appender {
 public:
  Appender(const std::string& address, OwnerChain chain)
      : stub_(Connect(address)), chain_(std::move(chain)), thread_([this] { Run(); }) {}
  ~Appender() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t head() const { return head_; }

 private:
  void Run() {
    while (!stop_) {
      if (!AppendBlock(*stub_, chain_, chain_.Next()).ok()) return;
      head_ = chain_.state().head_number;
    }
  }

  std::unique_ptr<HostStub> stub_;
  OwnerChain chain_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> head_{0};
  std::thread thread_;
};

// True once `count` Subscribe streams can be open at once (each delivers its
// first block) on a host with --max_subscriptions=`count`: every stream cut
// short earlier has finished and given its admission ticket back (in OnDone).
// Retries for up to 5 s, as OnDone follows the client's status a moment later.
bool AllSubscriptionSlotsFree(HostStub& stub, const std::string& ledger_id, int count) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (true) {
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>>> readers;
    int open = 0;
    for (int i = 0; i < count; ++i) {
      contexts.push_back(std::make_unique<grpc::ClientContext>());
      contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::SubscribeRequest request;
      request.set_ledger_id(ledger_id);
      request.set_from_number(1);
      readers.push_back(stub.Subscribe(contexts.back().get(), request));
      v1::SubscribeResponse response;
      if (!readers.back()->Read(&response)) break;
      ++open;
    }
    for (size_t i = 0; i < readers.size(); ++i) {
      contexts[i]->TryCancel();
      v1::SubscribeResponse response;
      while (readers[i]->Read(&response)) {
      }
      readers[i]->Finish();
    }
    if (open == count) return true;
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "only %d of %d Subscribe streams could open\n", open, count);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

constexpr int kMaxSubscriptions = 32;

// One Subscribe (or GetBlocks) call cut short: reads a random number of
// messages (maybe none), waits a random moment, then cancels.
void SubscribeThenCancel(HostStub& stub, const std::string& ledger_id, uint64_t head,
                         std::mt19937& random) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  const int reads = std::uniform_int_distribution<int>(0, 4)(random);
  const int pause_us = std::uniform_int_distribution<int>(0, 3000)(random);
  // From the start (the host has writes in flight, the client reads little),
  // or at the head (the call waits for the next commit).
  const uint64_t from =
      std::uniform_int_distribution<int>(0, 1)(random) == 0 ? 1 : head + 1;
  if (std::uniform_int_distribution<int>(0, 4)(random) == 0) {
    v1::GetBlocksRequest request;
    request.set_ledger_id(ledger_id);
    request.set_from_number(1);
    auto reader = stub.GetBlocks(&context, request);
    v1::GetBlocksResponse response;
    for (int i = 0; i < reads && reader->Read(&response); ++i) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
    context.TryCancel();
    while (reader->Read(&response)) {
    }
    reader->Finish();
    return;
  }
  v1::SubscribeRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(from);
  auto reader = stub.Subscribe(&context, request);
  v1::SubscribeResponse response;
  for (int i = 0; i < reads && reader->Read(&response); ++i) {
  }
  std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  reader->Finish();
}

TEST(HostShutdownTest, ExitsAfterSubscribesCancelledDuringAppends) {
  absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
      {"--storage=memory", absl::StrCat("--max_subscriptions=", kMaxSubscriptions)});
  ASSERT_TRUE(host.ok()) << host.status();
  std::unique_ptr<HostStub> stub = Connect((*host)->address());
  OwnerChain chain = CreateChain(*stub);
  ASSERT_FALSE(chain.ledger_id().empty());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(AppendBlock(*stub, chain, chain.Next()).ok());
  const std::string ledger_id = chain.ledger_id();

  Appender appender((*host)->address(), std::move(chain));
  constexpr int kClients = 8, kCallsPerClient = 40;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // Half the clients share the test's connection, half have their own.
      std::unique_ptr<HostStub> own = Connect((*host)->address());
      HostStub& use = c % 2 == 0 ? *stub : *own;
      std::mt19937 random(1234 + c);
      for (int i = 0; i < kCallsPerClient; ++i) {
        SubscribeThenCancel(use, ledger_id, 50 + appender.head(), random);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_TRUE(AllSubscriptionSlotsFree(*stub, ledger_id, kMaxSubscriptions))
      << "a cancelled Subscribe stream was never finished";
  // A few streams still open at SIGTERM: the server's grace period ends them.
  std::vector<std::unique_ptr<grpc::ClientContext>> open;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>>> readers;
  for (int i = 0; i < 4; ++i) {
    open.push_back(std::make_unique<grpc::ClientContext>());
    v1::SubscribeRequest request;
    request.set_ledger_id(ledger_id);
    request.set_from_number(1);
    readers.push_back(stub->Subscribe(open.back().get(), request));
  }
  EXPECT_GT(appender.head(), 0u);
  appender.Stop();

  EXPECT_TRUE(TerminatesWithin(**host, std::chrono::seconds(60)))
      << "ml-host did not exit within 60 s of SIGTERM";
  for (size_t i = 0; i < readers.size(); ++i) {
    open[i]->TryCancel();
    auto& reader = readers[i];
    v1::SubscribeResponse response;
    while (reader->Read(&response)) {
    }
    reader->Finish();
  }
}

// A TCP relay on 127.0.0.1 to `upstream`, whose connections can all be dropped
// at once: to the host, a client that went away (crashed, unplugged) mid-call.
class DroppableRelay {
 public:
  explicit DroppableRelay(int upstream_port) : upstream_port_(upstream_port) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~DroppableRelay() {
    Drop();
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : pumps_) t.join();
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) close(fd);
  }
  int port() const { return port_; }

  // Stops accepting and resets every relayed connection.
  void Drop() {
    absl::MutexLock lock(&mu_);
    dropped_ = true;
    shutdown(listener_, SHUT_RDWR);
    for (int fd : fds_) {
      linger reset{1, 0};  // Close with RST, as a dead peer's kernel would.
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      shutdown(fd, SHUT_RDWR);
    }
  }

 private:
  void Accept() {
    while (true) {
      const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) break;
      const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(upstream_port_);
      connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address);
      absl::MutexLock lock(&mu_);
      fds_.push_back(client);
      fds_.push_back(server);
      if (dropped_) {
        shutdown(client, SHUT_RDWR);
        shutdown(server, SHUT_RDWR);
        continue;
      }
      pumps_.emplace_back([client, server] { Pump(client, server); });
      pumps_.emplace_back([client, server] { Pump(server, client); });
    }
    close(listener_);
  }
  static void Pump(int from, int to) {
    char buffer[16384];
    while (true) {
      const ssize_t n = read(from, buffer, sizeof buffer);
      if (n <= 0) break;
      if (send(to, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    shutdown(to, SHUT_RDWR);
    shutdown(from, SHUT_RDWR);
  }

  const int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  absl::Mutex mu_;
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_;  // Started by the acceptor, joined after it.
};

TEST(HostShutdownTest, ExitsAfterSubscribersDisconnectDuringAppends) {
  absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
      {"--storage=memory", absl::StrCat("--max_subscriptions=", kMaxSubscriptions)});
  ASSERT_TRUE(host.ok()) << host.status();
  const std::string address = (*host)->address();
  const int host_port = std::stoi(address.substr(address.rfind(':') + 1));
  std::unique_ptr<HostStub> stub = Connect(address);
  OwnerChain chain = CreateChain(*stub);
  ASSERT_FALSE(chain.ledger_id().empty());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(AppendBlock(*stub, chain, chain.Next()).ok());
  const std::string ledger_id = chain.ledger_id();

  Appender appender(address, std::move(chain));
  std::mt19937 random(99);
  constexpr int kRounds = 20, kStreams = 8;
  for (int round = 0; round < kRounds; ++round) {
    DroppableRelay relay(host_port);
    ASSERT_NE(relay.port(), 0);
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // Its own connection.
    auto relayed = v1::HostService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", relay.port()), grpc::InsecureChannelCredentials(),
        arguments));
    std::vector<std::thread> streams;
    std::atomic<int> reading{0};
    for (int s = 0; s < kStreams; ++s) {
      const uint64_t from = s % 2 == 0 ? 1 : 50 + appender.head();
      streams.emplace_back([&, from] {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::SubscribeRequest request;
        request.set_ledger_id(ledger_id);
        request.set_from_number(from);
        auto reader = relayed->Subscribe(&context, request);
        v1::SubscribeResponse response;
        if (reader->Read(&response)) ++reading;
        // Reads no more: the host's writes queue up until the drop.
        reader->Finish();
      });
    }
    for (int spin = 0; spin < 200 && reading < kStreams; ++spin) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, 5000)(random)));
    relay.Drop();
    for (std::thread& t : streams) t.join();
  }
  EXPECT_TRUE(AllSubscriptionSlotsFree(*stub, ledger_id, kMaxSubscriptions))
      << "a disconnected Subscribe stream was never finished";
  EXPECT_GT(appender.head(), 0u);
  appender.Stop();

  EXPECT_TRUE(TerminatesWithin(**host, std::chrono::seconds(10)))
      << "ml-host did not exit within 10 s of SIGTERM";
}

}  // namespace
}  // namespace microledger
