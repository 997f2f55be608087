#include "tools/load/load.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/block.h"
#include "common/block_builder.h"
#include "common/bundle.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/timestamp.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"
#include "microledger/v1/owner.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tools/offline_commands.h"

namespace microledger {
namespace load {
namespace {

using Clock = std::chrono::steady_clock;
using HostStub = v1::HostService::Stub;
using AgentStub = v1::OwnerAgentService::Stub;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A /proc stat file (of a process or one of its threads): the command name
// and utime + stime in seconds.
struct StatCpu {
  std::string name;
  double cpu_seconds = 0;
};

absl::StatusOr<StatCpu> ReadStatCpu(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "PID (NAME) STATE ...": fields after the ")" that closes the name; state
  // is field 3, utime field 14, stime field 15.
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (!in.good() && text.empty()) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return absl::InternalError(absl::StrCat("bad ", path));
  }
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  StatCpu stat;
  stat.name = text.substr(open + 1, close - open - 1);
  stat.cpu_seconds = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  return stat;
}

// RocksDB names its background threads (flushes, compactions) so.
constexpr absl::string_view kRocksDbThreadPrefix = "rocksdb:";

// CPU seconds of the live threads of process `pid` whose name starts with
// `prefix` (0 if none, e.g. an ml-host with --storage=memory).
double ThreadsCpuSeconds(int pid, absl::string_view prefix) {
  double seconds = 0;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    absl::StatusOr<StatCpu> stat = ReadStatCpu((task.path() / "stat").string());
    if (stat.ok() && absl::StartsWith(stat->name, prefix)) seconds += stat->cpu_seconds;
  }
  return seconds;
}

double OwnPeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux: KiB.
}

// How an append run's blocks are sent, for the report.
std::string AppendMode(Scenario scenario, int concurrency, int window) {
  switch (scenario) {
    case Scenario::kHostAppend:
      return absl::StrCat("unary, ", concurrency, " in flight");
    case Scenario::kHostAppendStream:
      return absl::StrCat("stream, ", concurrency, concurrency == 1 ? " stream" : " streams",
                          ", window ", window);
    case Scenario::kAgentAppend:
      return absl::StrCat("agent AppendEvent, ", concurrency, " in flight");
    default:
      return "";
  }
}

std::string CodeName(int code) {
  static const char* const kNames[] = {
      "OK",       "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  if (code >= 0 && code <= 16) return kNames[code];
  return absl::StrCat("CODE_", code);
}

// Per-worker results, merged after the run (no shared state on the hot path).
struct WorkerStats {
  bool keep_latencies = true;  // False for size-series fills (millions of blocks).
  std::vector<float> latencies_us;
  std::map<std::string, uint64_t> codes;
  uint64_t blocks = 0;
  std::string first_error;

  void Record(Clock::duration latency, int code, const std::string& message) {
    if (keep_latencies) {
      latencies_us.push_back(
          static_cast<float>(std::chrono::duration<double, std::micro>(latency).count()));
    }
    ++codes[CodeName(code)];
    if (code != 0 && first_error.empty()) {
      first_error = absl::StrCat(CodeName(code), ": ", message);
    }
  }
};

// Runs `fn(i)` for i in [0, n) on `threads` threads.
template <typename Fn>
void ParallelFor(int n, int threads, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

// Blocks drafted at a time: bounds the unsigned blocks held while signing.
constexpr uint64_t kDraftChunk = 4096;

// One ledger's chain as its owner writes it. A block's `previous` is the
// previous block's fingerprint, which no signature changes, so blocks are
// drafted in order and then owner-signed in parallel.
class ChainDrafter {
 public:
  explicit ChainDrafter(const std::string& ledger_id)
      : owner_(*SigningKey::Generate()), state_(ChainState::Empty(ledger_id)) {}

  // The next `count` (at most kDraftChunk) owner-signed blocks, timed now; the
  // first block of the chain opens the document.
  std::vector<std::string> Next(uint64_t count, int sign_threads) {
    std::vector<Block> blocks;
    blocks.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      BlockContent content;
      content.time_millis = NowMillis();
      if (state_.head_number == 0) {
        content.controllers = Controllers{1, {owner_.public_key_text()}};
        content.event = {{"event", "opened document"},
                         {"document type", "ml-load"},
                         {"cryptographic signing key", owner_.public_key_text()}};
      } else {
        content.event = {{"event", "updated"},
                         {"n", static_cast<double>(state_.head_number + 1)}};
      }
      blocks.push_back(DraftNextBlock(state_, std::move(content)));
      state_ = AdvanceChain(state_, blocks.back());
    }
    std::vector<std::string> signed_blocks(count);
    const SigningKey* owners[] = {&owner_};
    ParallelFor(static_cast<int>(count), sign_threads, [&](int i) {
      SignAsOwners(blocks[i], owners);
      signed_blocks[i] = SerializeBlock(blocks[i]);
    });
    return signed_blocks;
  }

  // The next `count` owner-signed blocks, drafted kDraftChunk at a time.
  std::vector<std::string> NextMany(uint64_t count, int sign_threads) {
    std::vector<std::string> blocks;
    blocks.reserve(count);
    while (blocks.size() < count) {
      std::vector<std::string> chunk =
          Next(std::min<uint64_t>(kDraftChunk, count - blocks.size()), sign_threads);
      std::move(chunk.begin(), chunk.end(), std::back_inserter(blocks));
    }
    return blocks;
  }

 private:
  SigningKey owner_;
  ChainState state_;
};

// One ledger as its owner holds it: id, token, and its owner-signed blocks,
// drafted and signed before the clock starts.
struct DraftedLedger {
  std::string id;
  std::string token;
  std::string genesis;              // Owner-signed block 1.
  std::vector<std::string> blocks;  // Owner-signed blocks 2..n, in order.
  size_t next = 0;                  // Next index into `blocks` (owner worker only).
};

void DraftLedger(DraftedLedger& ledger, uint64_t count) {
  ChainDrafter drafter(ledger.id);
  ledger.genesis = drafter.Next(1, 1).front();
  ledger.blocks = drafter.NextMany(count, 1);
}

class Channels {
 public:
  static absl::StatusOr<Channels> Open(const LoadOptions& options) {
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::InsecureChannelCredentials();
    if (options.tls) {
      grpc::SslCredentialsOptions ssl;
      auto read = [](const std::string& path, std::string* out) -> absl::Status {
        if (path.empty()) return absl::OkStatus();
        std::ifstream in(path, std::ios::binary);
        if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
        std::stringstream buffer;
        buffer << in.rdbuf();
        *out = buffer.str();
        return absl::OkStatus();
      };
      if (absl::Status s = read(options.tls_ca, &ssl.pem_root_certs); !s.ok()) return s;
      if (absl::Status s = read(options.tls_cert, &ssl.pem_cert_chain); !s.ok()) return s;
      if (absl::Status s = read(options.tls_key, &ssl.pem_private_key); !s.ok()) return s;
      credentials = grpc::SslCredentials(ssl);
    }
    Channels channels;
    const int n = std::max(1, options.connections);
    for (int i = 0; i < n; ++i) {
      grpc::ChannelArguments args;
      // A distinct connection per channel, as ghz --connections does.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("ml-load.channel", i);
      args.SetMaxReceiveMessageSize(64 << 20);
      if (!options.tls_server_name.empty()) {
        args.SetSslTargetNameOverride(options.tls_server_name);
      }
      std::shared_ptr<grpc::Channel> channel =
          grpc::CreateCustomChannel(options.addr, credentials, args);
      channels.stubs_.push_back(v1::HostService::NewStub(channel));
      channels.agent_stubs_.push_back(v1::OwnerAgentService::NewStub(channel));
    }
    return channels;
  }
  HostStub& stub(int worker) { return *stubs_[worker % stubs_.size()]; }
  AgentStub& agent_stub(int worker) { return *agent_stubs_[worker % agent_stubs_.size()]; }

 private:
  std::vector<std::unique_ptr<HostStub>> stubs_;
  std::vector<std::unique_ptr<AgentStub>> agent_stubs_;
};

void SetDeadline(grpc::ClientContext& context, int64_t deadline_ms) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(deadline_ms));
}

// Creates ledgers, drafts their chains and appends each genesis block (untimed).
absl::Status SetUpLedgers(const LoadOptions& options, Channels& channels,
                          std::vector<DraftedLedger>& ledgers,
                          const std::vector<uint64_t>& blocks_per_ledger) {
  for (size_t i = 0; i < ledgers.size(); ++i) {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::CreateLedgerResponse response;
    grpc::Status status =
        channels.stub(i).CreateLedger(&context, v1::CreateLedgerRequest(), &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("CreateLedger at ", options.addr, ": ", status.error_message()));
    }
    ledgers[i].id = response.ledger_id();
    ledgers[i].token = response.ledger_token();
  }
  ParallelFor(static_cast<int>(ledgers.size()), options.draft_threads,
              [&](int i) { DraftLedger(ledgers[i], blocks_per_ledger[i]); });
  std::atomic<int> failures{0};
  std::string failure;
  std::mutex failure_mu;
  ParallelFor(static_cast<int>(ledgers.size()), std::min(8, options.concurrency),
              [&](int i) {
                grpc::ClientContext context;
                SetDeadline(context, options.deadline_ms);
                v1::AppendRequest request;
                request.set_block(ledgers[i].genesis);
                request.set_ledger_token(ledgers[i].token);
                v1::AppendResponse response;
                grpc::Status status = channels.stub(i).Append(&context, request, &response);
                if (!status.ok()) {
                  ++failures;
                  std::lock_guard<std::mutex> lock(failure_mu);
                  failure = status.error_message();
                }
              });
  if (failures > 0) {
    return absl::InternalError(absl::StrCat("genesis append failed: ", failure));
  }
  return absl::OkStatus();
}

// Shared control of the timed phase.
struct RunControl {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};     // Requests completed (for --total and windows).
  std::atomic<uint64_t> issued{0};   // Requests claimed (for --total).
  uint64_t total = 0;                // 0 = unbounded (duration).
  // Claims one request; false when the run is over.
  bool Claim() {
    if (stop.load(std::memory_order_relaxed)) return false;
    if (total == 0) return true;
    return issued.fetch_add(1, std::memory_order_relaxed) < total;
  }
};

// The ledgers of worker `worker` out of `concurrency`: w, w+C, w+2C, ...
std::vector<DraftedLedger*> OwnedLedgers(int worker, int concurrency,
                                         std::vector<DraftedLedger>& ledgers) {
  std::vector<DraftedLedger*> own;
  for (size_t i = worker; i < ledgers.size(); i += concurrency) own.push_back(&ledgers[i]);
  return own;
}

// Unary appends: worker w owns its OwnedLedgers and appends to them
// round-robin, one call in flight.
void UnaryAppendWorker(int worker, const LoadOptions& options, Channels& channels,
                       std::vector<DraftedLedger>& ledgers, RunControl& control,
                       WorkerStats& stats) {
  std::vector<DraftedLedger*> own = OwnedLedgers(worker, options.concurrency, ledgers);
  HostStub& stub = channels.stub(worker);
  size_t cursor = 0;
  v1::AppendRequest request;
  v1::AppendResponse response;
  while (!own.empty()) {
    DraftedLedger* ledger = own[cursor % own.size()];
    if (ledger->next >= ledger->blocks.size()) {
      own.erase(own.begin() + (cursor % own.size()));
      continue;
    }
    if (!control.Claim()) break;
    ++cursor;
    request.set_block(ledger->blocks[ledger->next]);
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    const Clock::time_point start = Clock::now();
    grpc::Status status = stub.Append(&context, request, &response);
    stats.Record(Clock::now() - start, status.error_code(), status.error_message());
    if (status.ok()) {
      ++stats.blocks;
      ++ledger->next;
    } else {
      // A failed block would break the chain: drop this ledger.
      ledger->next = ledger->blocks.size();
    }
    control.done.fetch_add(1, std::memory_order_relaxed);
  }
}

// Sends the blocks `next_block` returns (nullptr: no more) on one AppendStream
// of `stub` with at most `window` unanswered, recording each reply in `stats`.
void StreamAppend(HostStub& stub, size_t window, int64_t deadline_ms, RunControl& control,
                  WorkerStats& stats, const std::function<const std::string*()>& next_block) {
  grpc::ClientContext context;
  auto stream = stub.AppendStream(&context);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Clock::time_point> sent;  // Send times of unanswered requests.
  bool writer_done = false;
  bool broken = false;

  std::thread reader([&] {
    v1::AppendStreamResponse response;
    while (stream->Read(&response)) {
      Clock::time_point start;
      {
        std::lock_guard<std::mutex> lock(mu);
        start = sent.front();
        sent.pop_front();
      }
      cv.notify_all();
      stats.Record(Clock::now() - start, response.code(), response.message());
      if (response.code() == 0) ++stats.blocks;
      control.done.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mu);
      if (writer_done && sent.empty()) break;
    }
    std::lock_guard<std::mutex> lock(mu);
    broken = !sent.empty() || !writer_done;
    cv.notify_all();
  });

  v1::AppendRequest request;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return sent.size() < window || broken; });
      if (broken) break;
    }
    const std::string* block = next_block();
    if (block == nullptr) break;
    request.set_block(*block);
    {
      std::lock_guard<std::mutex> lock(mu);
      sent.push_back(Clock::now());
    }
    if (!stream->Write(request)) {
      std::lock_guard<std::mutex> lock(mu);
      sent.pop_back();
      broken = true;
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    writer_done = true;
  }
  stream->WritesDone();
  // Wait for the replies still owed, then end the stream.
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(deadline_ms),
                [&] { return sent.empty() || broken; });
  }
  context.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  std::lock_guard<std::mutex> lock(mu);
  for (size_t i = 0; i < sent.size(); ++i) {
    const int code = status.ok() ? grpc::StatusCode::UNAVAILABLE : status.error_code();
    stats.Record(Clock::duration::zero(), code,
                 absl::StrCat("stream ended without a reply: ", status.error_message()));
    control.done.fetch_add(1, std::memory_order_relaxed);
  }
}

// Streaming appends: worker w owns its OwnedLedgers, sends their
// blocks round-robin on one AppendStream with at most `window` unanswered.
void StreamAppendWorker(int worker, const LoadOptions& options, Channels& channels,
                        std::vector<DraftedLedger>& ledgers, RunControl& control,
                        WorkerStats& stats) {
  std::vector<DraftedLedger*> own = OwnedLedgers(worker, options.concurrency, ledgers);
  size_t cursor = 0;
  StreamAppend(channels.stub(worker), static_cast<size_t>(std::max(1, options.window)),
               options.deadline_ms, control, stats, [&]() -> const std::string* {
                 while (!own.empty()) {
                   DraftedLedger* ledger = own[cursor % own.size()];
                   if (ledger->next >= ledger->blocks.size()) {
                     own.erase(own.begin() + (cursor % own.size()));
                     continue;
                   }
                   if (!control.Claim()) return nullptr;
                   ++cursor;
                   return &ledger->blocks[ledger->next++];
                 }
                 return nullptr;
               });
}

// Appends every drafted block through AppendStream (untimed set-up of stored
// ranges for read-range and proof).
absl::Status FillLedgers(const LoadOptions& options, Channels& channels,
                         std::vector<DraftedLedger>& ledgers) {
  LoadOptions fill = options;
  fill.concurrency = std::max(1, std::min<int>(options.concurrency, ledgers.size()));
  RunControl control;
  std::vector<WorkerStats> stats(fill.concurrency);
  std::vector<std::thread> workers;
  for (int w = 0; w < fill.concurrency; ++w) {
    workers.emplace_back([&, w] {
      StreamAppendWorker(w, fill, channels, ledgers, control, stats[w]);
    });
  }
  for (std::thread& t : workers) t.join();
  for (const WorkerStats& s : stats) {
    if (!s.first_error.empty()) {
      return absl::InternalError(absl::StrCat("filling ledgers: ", s.first_error));
    }
  }
  return absl::OkStatus();
}

std::vector<uint64_t> SpreadBlocks(uint64_t total, int ledgers) {
  std::vector<uint64_t> counts(ledgers, total / ledgers);
  for (uint64_t i = 0; i < total % ledgers; ++i) ++counts[i];
  return counts;
}

// Samples host CPU each time another 1/windows of the blocks is done.
class WindowMonitor {
 public:
  WindowMonitor(int pid, int windows, uint64_t expected, RunControl& control)
      : pid_(pid), windows_(windows), expected_(expected), control_(control) {}

  void Start() {
    if (pid_ <= 0 || windows_ <= 1 || expected_ == 0) return;
    thread_ = std::thread([this] {
      uint64_t last_blocks = 0;
      double last_cpu = ProcessCpuSeconds(pid_).value_or(0);
      Clock::time_point last_time = Clock::now();
      int index = 1;
      while (!stopping_.load() && index < windows_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const uint64_t done = control_.done.load();
        if (done < expected_ * index / windows_) continue;
        const double cpu = ProcessCpuSeconds(pid_).value_or(0);
        const Clock::time_point now = Clock::now();
        Add(done - last_blocks, Seconds(now - last_time), cpu - last_cpu);
        last_blocks = done;
        last_cpu = cpu;
        last_time = now;
        ++index;
      }
      final_blocks_ = last_blocks;
      final_cpu_ = last_cpu;
      final_time_ = last_time;
    });
  }

  std::vector<WindowSample> Finish(uint64_t done, double cpu, Clock::time_point end) {
    if (!thread_.joinable()) return {};
    stopping_ = true;
    thread_.join();
    Add(done - final_blocks_, Seconds(end - final_time_), cpu - final_cpu_);
    return samples_;
  }

 private:
  void Add(uint64_t blocks, double seconds, double cpu) {
    WindowSample sample;
    sample.blocks = blocks;
    sample.seconds = seconds;
    sample.host_cpu_us_per_block = blocks > 0 ? cpu * 1e6 / blocks : 0;
    if (absl::StatusOr<ProcessMemory> memory = ReadProcessMemory(pid_); memory.ok()) {
      sample.host_rss_mib = memory->rss_mib;
      sample.host_peak_rss_mib = memory->peak_rss_mib;
    }
    samples_.push_back(sample);
  }

  int pid_;
  int windows_;
  uint64_t expected_;
  RunControl& control_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::vector<WindowSample> samples_;
  uint64_t final_blocks_ = 0;
  double final_cpu_ = 0;
  Clock::time_point final_time_;
};

void Summarise(std::vector<WorkerStats>& stats, LoadReport& report) {
  std::vector<float> all;
  for (WorkerStats& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    for (const auto& [code, count] : s.codes) report.status_codes[code] += count;
    report.blocks += s.blocks;
    if (report.note.empty() && !s.first_error.empty()) {
      report.note = absl::StrCat("first error: ", s.first_error);
    }
  }
  report.total = all.size();
  report.errors = report.total - (report.status_codes.count("OK")
                                      ? report.status_codes["OK"]
                                      : 0);
  if (all.empty()) return;
  std::sort(all.begin(), all.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * (all.size() - 1) + 0.5);
    return all[std::min(i, all.size() - 1)] / 1000.0;
  };
  double sum = 0;
  for (float v : all) sum += v;
  report.p50_ms = at(0.50);
  report.p90_ms = at(0.90);
  report.p99_ms = at(0.99);
  report.max_ms = all.back() / 1000.0;
  report.mean_ms = sum / all.size() / 1000.0;
}

// The timed phase shared by every network scenario: `make_worker(w, stats)`
// is run on `concurrency` threads after the host CPU is read.
template <typename WorkerFn>
void TimedRun(const LoadOptions& options, RunControl& control, uint64_t expected,
              WorkerFn make_worker, LoadReport& report) {
  std::vector<WorkerStats> stats(options.concurrency);
  std::optional<double> cpu_before, agent_cpu_before;
  if (options.host_pid > 0) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.host_pid);
    if (cpu.ok()) cpu_before = *cpu;
  }
  if (options.agent_pid > 0) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.agent_pid);
    if (cpu.ok()) agent_cpu_before = *cpu;
  }
  WindowMonitor monitor(options.host_pid, options.windows, expected, control);
  const double own_before = OwnCpuSeconds();
  const Clock::time_point start = Clock::now();
  monitor.Start();
  std::vector<std::thread> workers;
  for (int w = 0; w < options.concurrency; ++w) {
    workers.emplace_back([&, w] { make_worker(w, stats[w]); });
  }
  std::thread timer;
  std::mutex timer_mu;
  std::condition_variable timer_cv;
  bool finished = false;
  if (options.duration_s > 0) {
    timer = std::thread([&] {
      std::unique_lock<std::mutex> lock(timer_mu);
      timer_cv.wait_for(lock, std::chrono::duration<double>(options.duration_s),
                        [&] { return finished; });
      control.stop = true;
    });
  }
  for (std::thread& t : workers) t.join();
  const Clock::time_point end = Clock::now();
  if (timer.joinable()) {
    {
      std::lock_guard<std::mutex> lock(timer_mu);
      finished = true;
    }
    timer_cv.notify_all();
    timer.join();
  }
  report.client_cpu_s = OwnCpuSeconds() - own_before;
  report.duration_s = Seconds(end - start);
  double cpu_after = 0, agent_cpu_after = 0;
  if (cpu_before.has_value()) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.host_pid);
    if (cpu.ok()) cpu_after = *cpu;
  }
  if (agent_cpu_before.has_value()) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.agent_pid);
    if (cpu.ok()) agent_cpu_after = *cpu;
  }
  report.series = monitor.Finish(control.done.load(), cpu_after, end);
  Summarise(stats, report);
  report.rps = report.duration_s > 0 ? report.total / report.duration_s : 0;
  report.blocks_per_s = report.duration_s > 0 ? report.blocks / report.duration_s : 0;
  if (cpu_before.has_value() && report.blocks > 0) {
    const double cpu = cpu_after - *cpu_before;
    report.host_cpu_us_per_block = cpu * 1e6 / report.blocks;
    report.host_cpu_cores = cpu / report.duration_s;
  }
  if (agent_cpu_before.has_value() && report.blocks > 0) {
    const double cpu = agent_cpu_after - *agent_cpu_before;
    report.agent_cpu_us_per_block = cpu * 1e6 / report.blocks;
    report.agent_cpu_cores = cpu / report.duration_s;
    if (report.host_cpu_us_per_block.has_value()) {
      report.e2e_cpu_us_per_block =
          *report.host_cpu_us_per_block + *report.agent_cpu_us_per_block;
    }
  }
}

absl::Status RunAppend(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const uint64_t blocks = options.total > 0 ? options.total : options.predraft;
  LoadOptions run = options;
  run.concurrency = std::max(1, std::min(options.concurrency, options.ledgers));
  if (run.concurrency != options.concurrency) {
    report.note = absl::StrCat("concurrency lowered to --ledgers=", options.ledgers,
                               " (one writer per ledger); ");
  }
  report.concurrency = run.concurrency;
  const Clock::time_point setup_start = Clock::now();
  std::vector<DraftedLedger> ledgers(options.ledgers);
  if (absl::Status s =
          SetUpLedgers(run, *channels, ledgers, SpreadBlocks(blocks, options.ledgers));
      !s.ok()) {
    return s;
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  const bool stream = options.scenario == Scenario::kHostAppendStream;
  TimedRun(
      run, control, blocks,
      [&](int w, WorkerStats& stats) {
        if (stream) {
          StreamAppendWorker(w, run, *channels, ledgers, control, stats);
        } else {
          UnaryAppendWorker(w, run, *channels, ledgers, control, stats);
        }
      },
      report);
  for (WindowSample& sample : report.series) {
    sample.mode = AppendMode(options.scenario, run.concurrency, run.window);
  }
  if (options.duration_s > 0 && report.blocks >= options.predraft) {
    absl::StrAppend(&report.note, "ran out of pre-drafted blocks (--predraft=",
                    options.predraft, ") before --duration; ");
  }
  return absl::OkStatus();
}

// Owner-signed blocks drafted ahead of an AppendStream, at most `capacity`
// chunks queued: the drafter waits when the stream falls behind, so block
// times stay near the host's clock and memory stays bounded.
class ChunkQueue {
 public:
  explicit ChunkQueue(size_t capacity) : capacity_(capacity) {}

  // False once the consumer has closed the queue.
  bool Push(std::vector<std::string> chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return chunks_.size() < capacity_ || closed_; });
    if (closed_) return false;
    chunks_.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
  }

  // The next chunk; nullopt once the producer has finished and every chunk
  // is taken, or the queue is closed.
  std::optional<std::vector<std::string>> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !chunks_.empty() || finished_ || closed_; });
    if (chunks_.empty() || closed_) return std::nullopt;
    std::vector<std::string> chunk = std::move(chunks_.front());
    chunks_.pop_front();
    cv_.notify_all();
    return chunk;
  }

  void Finish() { Set(finished_); }
  void Close() { Set(closed_); }

 private:
  void Set(bool& flag) {
    std::lock_guard<std::mutex> lock(mu_);
    flag = true;
    cv_.notify_all();
  }

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<std::string>> chunks_;
  bool finished_ = false;
  bool closed_ = false;
};

// The host's CPU time, wall time and ml-load's CPU since construction.
class HostProbe {
 public:
  explicit HostProbe(int host_pid)
      : host_pid_(host_pid),
        host_cpu_before_(ProcessCpuSeconds(host_pid).value_or(0)),
        rocksdb_cpu_before_(ThreadsCpuSeconds(host_pid, kRocksDbThreadPrefix)),
        own_cpu_before_(OwnCpuSeconds()),
        start_(Clock::now()) {}

  double ElapsedSeconds() const { return Seconds(Clock::now() - start_); }
  double HostCpuSeconds() const {
    return ProcessCpuSeconds(host_pid_).value_or(0) - host_cpu_before_;
  }
  double OwnCpuSecondsSince() const { return OwnCpuSeconds() - own_cpu_before_; }

  // `blocks` appended since construction, with the host's memory now.
  WindowSample Sample(std::string mode, uint64_t ledger_blocks, uint64_t blocks) const {
    WindowSample sample;
    sample.mode = std::move(mode);
    sample.ledger_blocks = ledger_blocks;
    sample.blocks = blocks;
    sample.seconds = ElapsedSeconds();
    sample.host_cpu_us_per_block = blocks > 0 ? HostCpuSeconds() * 1e6 / blocks : 0;
    if (blocks > 0) {
      sample.host_rocksdb_cpu_us_per_block =
          (ThreadsCpuSeconds(host_pid_, kRocksDbThreadPrefix) - rocksdb_cpu_before_) * 1e6 /
          blocks;
    }
    if (absl::StatusOr<ProcessMemory> memory = ReadProcessMemory(host_pid_); memory.ok()) {
      sample.host_rss_mib = memory->rss_mib;
      sample.host_peak_rss_mib = memory->peak_rss_mib;
    }
    return sample;
  }

 private:
  const int host_pid_;
  const double host_cpu_before_;
  const double rocksdb_cpu_before_;
  const double own_cpu_before_;
  const Clock::time_point start_;
};

// Before each window: the host counts as idle below kIdleHostCores over
// kSettleInterval; the wait gives up after kSettleLimit.
constexpr double kIdleHostCores = 0.05;
constexpr auto kSettleInterval = std::chrono::milliseconds(500);
constexpr auto kSettleLimit = std::chrono::seconds(120);

// Waits until the host is idle, i.e. the background work the fill left
// (RocksDB flushes and compactions) is done, so that every window starts from
// the same state; false if the host is still busy after kSettleLimit.
bool WaitForIdleHost(int host_pid) {
  const Clock::time_point limit = Clock::now() + kSettleLimit;
  double cpu = ProcessCpuSeconds(host_pid).value_or(0);
  while (Clock::now() < limit) {
    std::this_thread::sleep_for(kSettleInterval);
    const double now = ProcessCpuSeconds(host_pid).value_or(0);
    if (now - cpu < kIdleHostCores * Seconds(kSettleInterval)) return true;
    cpu = now;
  }
  return false;
}

// Chunks drafted ahead of a fill's stream.
constexpr size_t kFillChunksAhead = 4;
constexpr auto kFillProgressInterval = std::chrono::seconds(30);

// One line on stderr: where a size series is (its runs last minutes to hours).
void PrintProgress(absl::string_view what, const WindowSample& sample) {
  std::fprintf(stderr,
               "ml-load: %s: ledger at %llu blocks: %llu blocks in %.1f s, %.0f blocks/s, "
               "host %.1f us/block (RocksDB background %.1f), host RSS %.0f MiB (peak %.0f)\n",
               std::string(what).c_str(),
               static_cast<unsigned long long>(*sample.ledger_blocks + sample.blocks),
               static_cast<unsigned long long>(sample.blocks), sample.seconds,
               sample.seconds > 0 ? sample.blocks / sample.seconds : 0,
               sample.host_cpu_us_per_block, sample.host_rocksdb_cpu_us_per_block.value_or(0),
               sample.host_rss_mib.value_or(0),
               sample.host_peak_rss_mib.value_or(0));
}

// Appends the next `count` blocks of `drafter`'s chain (the ledger holds
// `ledger_blocks`) on one AppendStream, drafting them kDraftChunk at a time on
// another thread while the stream runs.
absl::StatusOr<WindowSample> FillLedger(const LoadOptions& options, Channels& channels,
                                        ChainDrafter& drafter, uint64_t ledger_blocks,
                                        uint64_t count) {
  const std::string mode = absl::StrCat(
      AppendMode(Scenario::kHostAppendStream, 1, options.window), ", drafted alongside");
  ChunkQueue queue(kFillChunksAhead);
  std::thread producer([&] {
    for (uint64_t drafted = 0; drafted < count;) {
      const uint64_t n = std::min(kDraftChunk, count - drafted);
      if (!queue.Push(drafter.Next(n, options.draft_threads))) break;
      drafted += n;
    }
    queue.Finish();
  });
  RunControl control;
  WorkerStats stats;
  stats.keep_latencies = false;
  std::atomic<bool> streaming{true};
  const HostProbe probe(options.host_pid);
  std::thread sender([&] {
    std::vector<std::string> chunk;
    size_t index = 0;
    StreamAppend(channels.stub(0), static_cast<size_t>(std::max(1, options.window)),
                 options.deadline_ms, control, stats, [&]() -> const std::string* {
                   if (index == chunk.size()) {
                     std::optional<std::vector<std::string>> next = queue.Pop();
                     if (!next.has_value()) return nullptr;
                     chunk = std::move(*next);
                     index = 0;
                   }
                   return &chunk[index++];
                 });
    queue.Close();
    streaming = false;
  });
  Clock::time_point next_progress = Clock::now() + kFillProgressInterval;
  while (streaming) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (Clock::now() >= next_progress) {
      PrintProgress("filling", probe.Sample(mode, ledger_blocks, control.done.load()));
      next_progress += kFillProgressInterval;
    }
  }
  sender.join();
  producer.join();
  if (stats.blocks != count) {
    return absl::InternalError(absl::StrCat(
        "filling the ledger from ", ledger_blocks, " blocks: ", stats.blocks, " of ", count,
        " appended; ", stats.first_error.empty() ? "the stream ended" : stats.first_error));
  }
  return probe.Sample(mode, ledger_blocks, stats.blocks);
}

absl::Status CheckSizeSeries(const LoadOptions& options) {
  if (options.scenario != Scenario::kHostAppend &&
      options.scenario != Scenario::kHostAppendStream) {
    return absl::InvalidArgumentError(
        "--sample_sizes needs --scenario=host-append or host-append-stream");
  }
  if (options.ledgers != 1 || options.host_pid <= 0 || options.total > 0 ||
      options.duration_s > 0 || options.windows > 1 || options.sample_window < 1) {
    return absl::InvalidArgumentError(
        "--sample_sizes needs --ledgers=1, --host_pid and --sample_window >= 1, and no "
        "--total, --duration or --windows (the sizes set the run's length)");
  }
  uint64_t ledger_blocks = 1;  // The genesis block.
  for (uint64_t size : options.sample_sizes) {
    if (size < ledger_blocks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sample_sizes must increase by at least --sample_window=", options.sample_window,
          " from 1 (the genesis block): ", size, " < ", ledger_blocks));
    }
    ledger_blocks = size + options.sample_window;
  }
  return absl::OkStatus();
}

// Append cost vs ledger size (see load.h): fills one ledger to each sample
// size, then measures `sample_window` blocks appended in the scenario's mode.
absl::Status RunSizeSeries(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  LoadOptions run = options;
  run.concurrency = 1;
  if (options.concurrency != 1) {
    report.note = "concurrency lowered to 1 (one ledger, one writer); ";
  }
  report.concurrency = 1;
  const Clock::time_point run_start = Clock::now();
  v1::CreateLedgerResponse created;
  {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    grpc::Status status =
        channels->stub(0).CreateLedger(&context, v1::CreateLedgerRequest(), &created);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("CreateLedger at ", options.addr, ": ", status.error_message()));
    }
  }
  ChainDrafter drafter(created.ledger_id());
  {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::AppendRequest request;
    request.set_block(drafter.Next(1, 1).front());
    request.set_ledger_token(created.ledger_token());
    v1::AppendResponse response;
    grpc::Status status = channels->stub(0).Append(&context, request, &response);
    if (!status.ok()) {
      return absl::InternalError(
          absl::StrCat("genesis append failed: ", status.error_message()));
    }
  }
  uint64_t ledger_blocks = 1;
  const std::string mode = AppendMode(options.scenario, 1, options.window);
  const bool stream = options.scenario == Scenario::kHostAppendStream;
  WorkerStats stats;
  double host_cpu_s = 0;
  for (uint64_t size : options.sample_sizes) {
    if (size > ledger_blocks) {
      absl::StatusOr<WindowSample> fill =
          FillLedger(run, *channels, drafter, ledger_blocks, size - ledger_blocks);
      if (!fill.ok()) return fill.status();
      report.fill.push_back(*fill);
      PrintProgress("filled", *fill);
      ledger_blocks = size;
    }
    if (!WaitForIdleHost(options.host_pid)) {
      absl::StrAppend(&report.note, "the host was still busy ",
                      Seconds(kSettleLimit), " s after the fill to ", ledger_blocks,
                      " blocks: that window started anyway; ");
    }
    std::vector<DraftedLedger> ledgers(1);
    ledgers[0].id = created.ledger_id();
    ledgers[0].blocks = drafter.NextMany(options.sample_window, options.draft_threads);
    RunControl control;
    const uint64_t blocks_before = stats.blocks;
    const HostProbe probe(options.host_pid);
    if (stream) {
      StreamAppendWorker(0, run, *channels, ledgers, control, stats);
    } else {
      UnaryAppendWorker(0, run, *channels, ledgers, control, stats);
    }
    const WindowSample sample = probe.Sample(mode, ledger_blocks, stats.blocks - blocks_before);
    report.series.push_back(sample);
    report.duration_s += sample.seconds;
    report.client_cpu_s += probe.OwnCpuSecondsSince();
    host_cpu_s += sample.host_cpu_us_per_block * sample.blocks / 1e6;
    PrintProgress("window", sample);
    ledger_blocks += sample.blocks;
    if (sample.blocks < options.sample_window) {
      absl::StrAppend(&report.note, "stopped after the window at ", *sample.ledger_blocks,
                      " blocks: a block failed, so the chain cannot go on; ");
      break;
    }
  }
  std::vector<WorkerStats> all_stats(1);
  all_stats[0] = std::move(stats);
  Summarise(all_stats, report);
  report.setup_s = Seconds(Clock::now() - run_start) - report.duration_s;
  report.rps = report.duration_s > 0 ? report.total / report.duration_s : 0;
  report.blocks_per_s = report.duration_s > 0 ? report.blocks / report.duration_s : 0;
  if (report.blocks > 0) {
    report.host_cpu_us_per_block = host_cpu_s * 1e6 / report.blocks;
    report.host_cpu_cores = host_cpu_s / report.duration_s;
  }
  absl::StrAppend(&report.note, "size series: at each ledger size, once the host is idle "
                  "(under ", kIdleHostCores, " cores over ", Seconds(kSettleInterval),
                  " s: the fill's flushes and compactions done), a window of ",
                  options.sample_window, " blocks (drafted before its clock starts) appended ",
                  mode, "; fills between windows (their cost includes that background work) ",
                  AppendMode(Scenario::kHostAppendStream, 1, options.window),
                  ", blocks drafted and signed ", kDraftChunk,
                  " at a time alongside; counts, latencies and CPU above cover the windows, "
                  "set-up covers the fills; ");
  return absl::OkStatus();
}

// End to end through the owner agent: --ledgers ledgers are created through
// the agent's CreateLedger with one agent key (untimed); in the timed phase
// each worker calls AppendEvent on its ledgers round-robin, one call in
// flight. With more workers than ledgers several workers share a ledger (the
// agent orders and pipelines their blocks).
absl::Status RunAgentAppend(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const Clock::time_point setup_start = Clock::now();
  std::string key;
  {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::CreateKeyRequest request;
    request.set_label("ml-load");
    v1::CreateKeyResponse response;
    grpc::Status status = channels->agent_stub(0).CreateKey(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("CreateKey at the agent ", options.addr,
                                                 ": ", status.error_message()));
    }
    key = response.key();
  }
  std::vector<std::string> ledger_ids(options.ledgers);
  std::atomic<int> failures{0};
  std::string failure;
  std::mutex failure_mu;
  ParallelFor(options.ledgers, std::min(8, options.concurrency), [&](int i) {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::OwnerCreateLedgerRequest request;
    request.set_document_type("ml-load");
    request.set_key(key);
    v1::OwnerCreateLedgerResponse response;
    grpc::Status status = channels->agent_stub(i).CreateLedger(&context, request, &response);
    if (!status.ok() || !response.genesis().has_committed()) {
      ++failures;
      std::lock_guard<std::mutex> lock(failure_mu);
      failure = status.ok() ? "genesis not committed" : status.error_message();
      return;
    }
    ledger_ids[i] = response.ledger_id();
  });
  if (failures > 0) {
    return absl::InternalError(absl::StrCat("CreateLedger through the agent failed: ", failure));
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  const uint64_t expected = options.total > 0 ? options.total : 0;
  TimedRun(
      options, control, expected,
      [&](int w, WorkerStats& stats) {
        std::vector<const std::string*> own;
        if (options.concurrency <= options.ledgers) {
          for (size_t i = w; i < ledger_ids.size(); i += options.concurrency) {
            own.push_back(&ledger_ids[i]);
          }
        } else {
          own.push_back(&ledger_ids[w % ledger_ids.size()]);
        }
        AgentStub& stub = channels->agent_stub(w);
        v1::AppendEventRequest request;
        v1::BlockOutcome response;
        uint64_t n = 0;
        size_t cursor = 0;
        while (control.Claim()) {
          request.set_ledger_id(*own[cursor++ % own.size()]);
          request.set_event_json(absl::StrCat(R"({"event":"updated","worker":)", w,
                                              R"(,"n":)", ++n, "}"));
          grpc::ClientContext context;
          SetDeadline(context, options.deadline_ms);
          const Clock::time_point start = Clock::now();
          grpc::Status status = stub.AppendEvent(&context, request, &response);
          stats.Record(Clock::now() - start, status.error_code(), status.error_message());
          if (status.ok() && response.has_committed()) ++stats.blocks;
          control.done.fetch_add(1, std::memory_order_relaxed);
        }
      },
      report);
  for (WindowSample& sample : report.series) {
    sample.mode = AppendMode(options.scenario, options.concurrency, options.window);
  }
  return absl::OkStatus();
}

absl::Status RunRead(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const Clock::time_point setup_start = Clock::now();
  std::vector<DraftedLedger> ledgers(options.ledgers);
  const uint64_t stored = std::max<uint64_t>(options.blocks_per_ledger, 2);
  if (absl::Status s = SetUpLedgers(options, *channels, ledgers,
                                    std::vector<uint64_t>(options.ledgers, stored - 1));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = FillLedgers(options, *channels, ledgers); !s.ok()) return s;
  for (DraftedLedger& ledger : ledgers) {
    ledger.blocks.clear();
    ledger.blocks.shrink_to_fit();
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  const bool proof = options.scenario == Scenario::kProof;
  TimedRun(
      options, control, 0,
      [&](int w, WorkerStats& stats) {
        HostStub& stub = channels->stub(w);
        std::mt19937_64 random(w + 1);
        size_t cursor = w;
        while (control.Claim()) {
          const DraftedLedger& ledger = ledgers[cursor++ % ledgers.size()];
          grpc::ClientContext context;
          SetDeadline(context, options.deadline_ms);
          const Clock::time_point start = Clock::now();
          grpc::Status status;
          if (proof) {
            v1::GetInclusionProofRequest request;
            request.set_ledger_id(ledger.id);
            request.set_number(1 + random() % stored);
            v1::GetInclusionProofResponse response;
            status = stub.GetInclusionProof(&context, request, &response);
            if (status.ok()) ++stats.blocks;
          } else {
            v1::GetBlocksRequest request;
            request.set_ledger_id(ledger.id);
            uint64_t from = 1, to = 0;
            if (options.range > 0 && options.range < stored) {
              from = 1 + random() % (stored - options.range + 1);
              to = from + options.range - 1;
            }
            request.set_from_number(from);
            request.set_to_number(to);
            request.set_max_blocks_per_message(options.blocks_per_message);
            auto reader = stub.GetBlocks(&context, request);
            v1::GetBlocksResponse response;
            while (reader->Read(&response)) {
              stats.blocks += options.blocks_per_message > 1 ? response.blocks_size() : 1;
            }
            status = reader->Finish();
          }
          stats.Record(Clock::now() - start, status.error_code(), status.error_message());
          control.done.fetch_add(1, std::memory_order_relaxed);
        }
      },
      report);
  return absl::OkStatus();
}

absl::Status RunVerify(const LoadOptions& options, LoadReport& report) {
  std::string path = options.bundle;
  std::string generated;
  const Clock::time_point setup_start = Clock::now();
  if (path.empty()) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    generated = absl::StrCat(tmp ? tmp : "/tmp", "/ml-load-bundle-", getpid(), ".jsonl");
    std::ostringstream out, err;
    if (RunSample(options.bundle_blocks, generated, out, err) != 0) {
      return absl::InternalError(absl::StrCat("cannot write sample bundle: ", err.str()));
    }
    path = generated;
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  // total = bundles verified; each worker verifies whole bundles.
  control.total = options.total > 0 ? options.total : (options.duration_s > 0 ? 0 : 1);
  TimedRun(
      options, control, 0,
      [&](int, WorkerStats& stats) {
        while (control.Claim()) {
          std::ifstream in(path, std::ios::binary);
          const Clock::time_point start = Clock::now();
          absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in);
          int code = 0;
          std::string message;
          if (!verdict.ok()) {
            code = static_cast<int>(verdict.status().code());
            message = std::string(verdict.status().message());
          } else if (!verdict->ok) {
            code = grpc::StatusCode::DATA_LOSS;
            message = verdict->Line();
          } else {
            stats.blocks += verdict->blocks;
          }
          stats.Record(Clock::now() - start, code, message);
          control.done.fetch_add(1, std::memory_order_relaxed);
        }
      },
      report);
  if (!generated.empty()) std::filesystem::remove(generated);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(absl::string_view name) {
  if (name == "host-append") return Scenario::kHostAppend;
  if (name == "host-append-stream") return Scenario::kHostAppendStream;
  if (name == "agent-append") return Scenario::kAgentAppend;
  if (name == "read-range") return Scenario::kReadRange;
  if (name == "proof") return Scenario::kProof;
  if (name == "verify") return Scenario::kVerify;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown --scenario=", name,
      " (host-append|host-append-stream|agent-append|read-range|proof|verify)"));
}

std::string ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kHostAppend: return "host-append";
    case Scenario::kHostAppendStream: return "host-append-stream";
    case Scenario::kAgentAppend: return "agent-append";
    case Scenario::kReadRange: return "read-range";
    case Scenario::kProof: return "proof";
    case Scenario::kVerify: return "verify";
  }
  return "?";
}

bool IsAppend(Scenario scenario) {
  return scenario == Scenario::kHostAppend || scenario == Scenario::kHostAppendStream ||
         scenario == Scenario::kAgentAppend;
}

Floor MeasureFloor() {
  EnsureSodiumInitialized();
  SigningKey key = *SigningKey::Generate();
  const std::string message = BlockSignedMessage(DigestText("floor"));
  Floor floor{1e9, 1e9};
  for (int round = 0; round < 5; ++round) {
    const int kIterations = 1000;
    std::vector<std::string> signatures(kIterations);
    Clock::time_point start = Clock::now();
    for (int i = 0; i < kIterations; ++i) signatures[i] = key.Sign(message);
    floor.sign_us = std::min(floor.sign_us, Seconds(Clock::now() - start) * 1e6 / kIterations);
    start = Clock::now();
    int ok = 0;
    for (int i = 0; i < kIterations; ++i) {
      ok += VerifyEd25519(key.public_key(), message, signatures[i]) ? 1 : 0;
    }
    floor.verify_us =
        std::min(floor.verify_us, Seconds(Clock::now() - start) * 1e6 / kIterations);
    if (ok != kIterations) std::fprintf(stderr, "ml-load: floor self-check failed\n");
  }
  return floor;
}

absl::StatusOr<double> ProcessCpuSeconds(int pid) {
  absl::StatusOr<StatCpu> stat = ReadStatCpu(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return stat.status();
  return stat->cpu_seconds;
}

absl::StatusOr<ProcessMemory> ReadProcessMemory(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read /proc/", pid, "/status"));
  ProcessMemory memory;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    double kib = 0;
    fields >> name >> kib;
    if (name == "VmRSS:") memory.rss_mib = kib / 1024;
    if (name == "VmHWM:") memory.peak_rss_mib = kib / 1024;
  }
  return memory;
}

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options) {
  LoadReport report;
  report.scenario = ScenarioName(options.scenario);
  report.addr = options.addr;
  report.concurrency = options.concurrency;
  report.ledgers = options.ledgers;
  if (options.concurrency < 1 || options.ledgers < 1 || options.connections < 1) {
    return absl::InvalidArgumentError("--concurrency, --ledgers, --connections must be >= 1");
  }
  if (options.scenario != Scenario::kVerify && options.addr.empty()) {
    return absl::InvalidArgumentError("--addr=HOST:PORT is required");
  }
  if (options.total == 0 && options.duration_s <= 0 && options.sample_sizes.empty() &&
      options.scenario != Scenario::kVerify) {
    return absl::InvalidArgumentError("give --total or --duration");
  }
  if (!options.sample_sizes.empty()) {
    if (absl::Status s = CheckSizeSeries(options); !s.ok()) return s;
  }
  const Floor floor = MeasureFloor();
  report.sign_us = floor.sign_us;
  report.verify_us = floor.verify_us;
  absl::Status status;
  switch (options.scenario) {
    case Scenario::kHostAppend:
    case Scenario::kHostAppendStream:
      status = options.sample_sizes.empty() ? RunAppend(options, report)
                                            : RunSizeSeries(options, report);
      report.floor_us_per_block = floor.sign_us + floor.verify_us;
      if (report.host_cpu_us_per_block.has_value() && *report.host_cpu_us_per_block > 0) {
        report.ratio = *report.floor_us_per_block / *report.host_cpu_us_per_block;
      }
      break;
    case Scenario::kAgentAppend:
      status = RunAgentAppend(options, report);
      report.floor_us_per_block = floor.sign_us + floor.verify_us;
      if (report.host_cpu_us_per_block.has_value() && *report.host_cpu_us_per_block > 0) {
        report.ratio = *report.floor_us_per_block / *report.host_cpu_us_per_block;
      }
      absl::StrAppend(&report.note,
                      "floor and ratio as for host-append (host CPU); the end-to-end "
                      "Ed25519 work per block is 1 verify + 2 signs (host: owner signature; "
                      "block and checkpoint) + 1 sign + 2 verifies (agent: owner "
                      "signature; host signature and checkpoint); ");
      break;
    case Scenario::kReadRange:
    case Scenario::kProof:
      status = RunRead(options, report);
      break;
    case Scenario::kVerify: {
      status = RunVerify(options, report);
      // Floor: two signature verifies per block (owner + host), spread over
      // every core of the machine.
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      report.floor_us_per_block = 2 * floor.verify_us / cores;
      if (report.blocks > 0) {
        report.ratio = *report.floor_us_per_block /
                       (report.duration_s * 1e6 / static_cast<double>(report.blocks));
      }
      absl::StrAppend(&report.note, "floor = 2 verifies/block over ", cores, " cores; ");
      break;
    }
  }
  if (!status.ok()) return status;
  report.client_peak_rss_mib = OwnPeakRssMib();
  return report;
}

std::string FormatText(const LoadReport& r) {
  std::string out;
  absl::StrAppendFormat(&out, "Summary:\n");
  absl::StrAppendFormat(&out, "  Scenario:      %s\n", r.scenario);
  if (!r.addr.empty()) absl::StrAppendFormat(&out, "  Address:       %s\n", r.addr);
  absl::StrAppendFormat(&out, "  Concurrency:   %d (ledgers %d)\n", r.concurrency, r.ledgers);
  absl::StrAppendFormat(&out, "  Count:         %d\n", r.total);
  absl::StrAppendFormat(&out, "  Errors:        %d\n", r.errors);
  absl::StrAppendFormat(&out, "  Total:         %.3f s (set-up %.1f s, untimed)\n",
                        r.duration_s, r.setup_s);
  absl::StrAppendFormat(&out, "  Requests/sec:  %.1f\n", r.rps);
  absl::StrAppendFormat(&out, "  Blocks:        %d (%.1f blocks/s)\n", r.blocks,
                        r.blocks_per_s);
  absl::StrAppendFormat(&out, "\nLatency:\n  mean %.3f ms  p50 %.3f ms  p90 %.3f ms  "
                        "p99 %.3f ms  max %.3f ms\n",
                        r.mean_ms, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms);
  absl::StrAppendFormat(&out, "\nFloor (libsodium, this run): sign %.2f us, verify %.2f us\n",
                        r.sign_us, r.verify_us);
  if (r.floor_us_per_block) {
    absl::StrAppendFormat(&out, "  floor us/block:        %.2f\n", *r.floor_us_per_block);
  }
  if (r.host_cpu_us_per_block) {
    absl::StrAppendFormat(&out, "  host CPU us/block:     %.2f (%.2f cores busy)\n",
                          *r.host_cpu_us_per_block, r.host_cpu_cores.value_or(0));
  }
  if (r.agent_cpu_us_per_block) {
    absl::StrAppendFormat(&out, "  agent CPU us/block:    %.2f (%.2f cores busy)\n",
                          *r.agent_cpu_us_per_block, r.agent_cpu_cores.value_or(0));
  }
  if (r.e2e_cpu_us_per_block) {
    absl::StrAppendFormat(&out, "  host+agent us/block:   %.2f\n", *r.e2e_cpu_us_per_block);
  }
  if (r.ratio) absl::StrAppendFormat(&out, "  ratio (floor/cost):    %.3f\n", *r.ratio);
  absl::StrAppendFormat(&out, "  ml-load CPU:           %.2f s (peak RSS %.0f MiB)\n",
                        r.client_cpu_s, r.client_peak_rss_mib);
  auto sample_text = [](const WindowSample& s) {
    std::string text = absl::StrFormat("%d blocks, %.1f blocks/s, %.2f us/block", s.blocks,
                                       s.seconds > 0 ? s.blocks / s.seconds : 0,
                                       s.host_cpu_us_per_block);
    if (s.host_rocksdb_cpu_us_per_block) {
      absl::StrAppendFormat(&text, " (RocksDB background %.2f)",
                            *s.host_rocksdb_cpu_us_per_block);
    }
    if (s.host_rss_mib) {
      absl::StrAppendFormat(&text, ", host RSS %.0f MiB (peak %.0f)", *s.host_rss_mib,
                            s.host_peak_rss_mib.value_or(0));
    }
    return absl::StrCat(text, " [", s.mode, "]");
  };
  if (!r.fill.empty() || (!r.series.empty() && r.series[0].ledger_blocks)) {
    absl::StrAppendFormat(&out, "\nHost cost vs ledger size (window at each size):\n");
    for (const WindowSample& s : r.series) {
      absl::StrAppendFormat(&out, "  at %d blocks: %s\n", s.ledger_blocks.value_or(0),
                            sample_text(s));
    }
    absl::StrAppendFormat(&out, "Fills between windows:\n");
    for (const WindowSample& s : r.fill) {
      absl::StrAppendFormat(&out, "  %d -> %d blocks: %s\n", s.ledger_blocks.value_or(0),
                            s.ledger_blocks.value_or(0) + s.blocks, sample_text(s));
    }
  } else if (!r.series.empty()) {
    absl::StrAppendFormat(&out, "\nHost CPU per window:\n");
    for (size_t i = 0; i < r.series.size(); ++i) {
      absl::StrAppendFormat(&out, "  window %d: %s\n", i + 1, sample_text(r.series[i]));
    }
  }
  absl::StrAppendFormat(&out, "\nStatus code distribution:\n");
  for (const auto& [code, count] : r.status_codes) {
    absl::StrAppendFormat(&out, "  [%s]  %d responses\n", code, count);
  }
  if (!r.note.empty()) absl::StrAppendFormat(&out, "\nNote: %s\n", r.note);
  return out;
}

std::string FormatJson(const LoadReport& r) {
  nlohmann::json j;
  j["scenario"] = r.scenario;
  j["addr"] = r.addr;
  j["concurrency"] = r.concurrency;
  j["ledgers"] = r.ledgers;
  j["total"] = r.total;
  j["errors"] = r.errors;
  j["duration_s"] = r.duration_s;
  j["setup_s"] = r.setup_s;
  j["rps"] = r.rps;
  j["blocks"] = r.blocks;
  j["blocks_per_s"] = r.blocks_per_s;
  j["mean_ms"] = r.mean_ms;
  j["p50_ms"] = r.p50_ms;
  j["p90_ms"] = r.p90_ms;
  j["p99_ms"] = r.p99_ms;
  j["max_ms"] = r.max_ms;
  j["status_codes"] = r.status_codes;
  j["sign_us"] = r.sign_us;
  j["verify_us"] = r.verify_us;
  j["floor_us_per_block"] =
      r.floor_us_per_block ? nlohmann::json(*r.floor_us_per_block) : nlohmann::json();
  j["host_cpu_us_per_block"] =
      r.host_cpu_us_per_block ? nlohmann::json(*r.host_cpu_us_per_block) : nlohmann::json();
  j["host_cpu_cores"] =
      r.host_cpu_cores ? nlohmann::json(*r.host_cpu_cores) : nlohmann::json();
  j["ratio"] = r.ratio ? nlohmann::json(*r.ratio) : nlohmann::json();
  auto optional = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  if (r.scenario == "agent-append") {
    j["agent_cpu_us_per_block"] = optional(r.agent_cpu_us_per_block);
    j["agent_cpu_cores"] = optional(r.agent_cpu_cores);
    j["e2e_cpu_us_per_block"] = optional(r.e2e_cpu_us_per_block);
  }
  j["client_cpu_s"] = r.client_cpu_s;
  j["client_peak_rss_mib"] = r.client_peak_rss_mib;
  auto samples = [&](const std::vector<WindowSample>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const WindowSample& s : list) {
      nlohmann::json sample = {{"mode", s.mode},
                               {"blocks", s.blocks},
                               {"seconds", s.seconds},
                               {"blocks_per_s", s.seconds > 0 ? s.blocks / s.seconds : 0},
                               {"host_cpu_us_per_block", s.host_cpu_us_per_block},
                               {"host_rocksdb_cpu_us_per_block",
                                optional(s.host_rocksdb_cpu_us_per_block)},
                               {"host_rss_mib", optional(s.host_rss_mib)},
                               {"host_peak_rss_mib", optional(s.host_peak_rss_mib)}};
      if (s.ledger_blocks) sample["ledger_blocks"] = *s.ledger_blocks;
      out.push_back(sample);
    }
    return out;
  };
  j["series"] = samples(r.series);
  j["fill"] = samples(r.fill);
  j["note"] = r.note;
  return j.dump();
}

}  // namespace load
}  // namespace microledger
