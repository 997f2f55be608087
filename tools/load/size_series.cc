#include "tools/load/size_series.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/load/channels.h"
#include "tools/load/drafting.h"
#include "tools/load/process_stats.h"
#include "tools/load/workers.h"

namespace microledger {
namespace load {

namespace {

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

}  // namespace

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
    if (!WaitForIdle(options.host_pid)) {
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
                  "(under ", kIdleCores, " cores over ", Seconds(kSettleInterval),
                  " s: the fill's flushes and compactions done), a window of ",
                  options.sample_window, " blocks (drafted before its clock starts) appended ",
                  mode, "; fills between windows (their cost includes that background work) ",
                  AppendMode(Scenario::kHostAppendStream, 1, options.window),
                  ", blocks drafted and signed ", kDraftChunk,
                  " at a time alongside; counts, latencies and CPU above cover the windows, "
                  "set-up covers the fills; ");
  return absl::OkStatus();
}

}  // namespace load
}  // namespace microledger
