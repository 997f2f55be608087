#include "tools/load/many_ledgers.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tools/load/channels.h"
#include "tools/load/drafting.h"
#include "tools/load/process_stats.h"
#include "tools/load/workers.h"

namespace microledger {
namespace load {

namespace {

constexpr auto kProgressInterval = std::chrono::seconds(30);
// The sampled ledgers are drawn with this seed, so runs are comparable.
constexpr uint64_t kSampleSeed = 16;
// The hot ledger: the first one, appended to after each sampled append
// (never sampled itself).
constexpr uint64_t kHotLedger = 0;

// The ledger counts measured at: --sample_sizes, then --ledgers.
std::vector<uint64_t> LedgerCounts(const LoadOptions& options) {
  std::vector<uint64_t> counts = options.sample_sizes;
  const uint64_t ledgers = static_cast<uint64_t>(options.ledgers);
  if (counts.empty() || counts.back() != ledgers) counts.push_back(ledgers);
  return counts;
}

// `count` distinct indices in [0, limit), at random (count <= limit).
std::vector<uint64_t> DistinctRandom(uint64_t count, uint64_t limit, std::mt19937_64& random) {
  if (count * 2 >= limit) {
    std::vector<uint64_t> all(limit);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), random);
    all.resize(count);
    return all;
  }
  absl::flat_hash_set<uint64_t> chosen;
  std::vector<uint64_t> indices;
  std::uniform_int_distribution<uint64_t> pick(0, limit - 1);
  while (indices.size() < count) {
    const uint64_t index = pick(random);
    if (chosen.insert(index).second) indices.push_back(index);
  }
  return indices;
}

// The ledgers the append samples go to, by creation index: which ones (fixed
// before the fill) and, once created, their ids and chains as their owners
// hold them. Only these chains are kept, so the client's memory does not grow
// with the number of ledgers.
class SampledLedgers {
 public:
  explicit SampledLedgers(absl::flat_hash_set<uint64_t> wanted) : wanted_(std::move(wanted)) {}

  bool Wanted(uint64_t index) const { return wanted_.contains(index); }

  void Keep(uint64_t index, std::unique_ptr<ChainDrafter> drafter) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    kept_[index] = std::move(drafter);
  }

  // The chain of ledger `index`, or null if it was not kept.
  ChainDrafter* Find(uint64_t index) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = kept_.find(index);
    return it == kept_.end() ? nullptr : it->second.get();
  }

 private:
  const absl::flat_hash_set<uint64_t> wanted_;
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<ChainDrafter>> kept_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<v1::CreateLedgerResponse> CreateLedger(const LoadOptions& options,
                                                      HostStub& stub) {
  grpc::ClientContext context;
  SetDeadline(context, options.deadline_ms);
  v1::CreateLedgerResponse created;
  grpc::Status status = stub.CreateLedger(&context, v1::CreateLedgerRequest(), &created);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("CreateLedger at ", options.addr, ": ", status.error_message()));
  }
  return created;
}

void PrintFillProgress(uint64_t ledgers, uint64_t written, double seconds, int host_pid) {
  const ProcessMemory memory = ReadProcessMemory(host_pid).value_or(ProcessMemory());
  std::fprintf(stderr,
               "ml-load: filling: %llu ledgers written, %.0f ledgers/s, host RSS %.0f MiB "
               "(peak %.0f)\n",
               static_cast<unsigned long long>(ledgers + written),
               seconds > 0 ? written / seconds : 0, memory.rss_mib, memory.peak_rss_mib);
}

// Creates ledgers [first, last) and writes their genesis block and one more,
// over options.concurrency AppendStreams; the stream threads create, draft
// and owner-sign each ledger's blocks as they go. Fills in the sample's fill
// fields.
absl::Status Fill(const LoadOptions& options, Channels& channels, uint64_t first, uint64_t last,
                  SampledLedgers& sampled, LedgerCountSample& sample) {
  const int streams = std::max(1, options.concurrency);
  const size_t window = static_cast<size_t>(std::max(1, options.window));
  std::atomic<uint64_t> next{first};
  std::atomic<int> running{streams};
  RunControl control;
  std::vector<WorkerStats> stats(streams);
  std::vector<std::string> create_errors(streams);
  const double host_cpu_before = ProcessCpuSeconds(options.host_pid).value_or(0);
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < streams; ++w) {
    threads.emplace_back([&, w] {
      stats[w].keep_latencies = false;
      v1::AppendRequest genesis;
      v1::AppendRequest second;
      bool second_due = false;
      StreamAppendRequests(
          channels.stub(w), window, options.deadline_ms, control, stats[w],
          [&]() -> const v1::AppendRequest* {
            if (second_due) {
              second_due = false;
              return &second;
            }
            const uint64_t index = next.fetch_add(1);
            if (index >= last) return nullptr;
            absl::StatusOr<v1::CreateLedgerResponse> created =
                CreateLedger(options, channels.stub(w));
            if (!created.ok()) {
              create_errors[w] = std::string(created.status().message());
              return nullptr;
            }
            auto drafter = std::make_unique<ChainDrafter>(created->ledger_id());
            std::vector<std::string> blocks = drafter->Next(2, 1);
            genesis.set_block(std::move(blocks[0]));
            genesis.set_ledger_token(created->ledger_token());
            second.set_block(std::move(blocks[1]));
            if (sampled.Wanted(index)) sampled.Keep(index, std::move(drafter));
            second_due = true;
            return &genesis;
          });
      --running;
    });
  }
  Clock::time_point next_progress = start + kProgressInterval;
  while (running > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (Clock::now() >= next_progress) {
      PrintFillProgress(first, control.done.load() / 2, Seconds(Clock::now() - start),
                        options.host_pid);
      next_progress += kProgressInterval;
    }
  }
  for (std::thread& thread : threads) thread.join();
  sample.fill_seconds = Seconds(Clock::now() - start);
  const uint64_t filled = last - first;
  sample.fill_ledgers_per_s = sample.fill_seconds > 0 ? filled / sample.fill_seconds : 0;
  sample.fill_host_cpu_us_per_ledger =
      filled > 0
          ? (ProcessCpuSeconds(options.host_pid).value_or(0) - host_cpu_before) * 1e6 / filled
          : 0;
  uint64_t blocks = 0;
  std::string error;
  for (int w = 0; w < streams; ++w) {
    blocks += stats[w].blocks;
    if (error.empty()) error = create_errors[w];
    if (error.empty()) error = stats[w].first_error;
  }
  if (blocks != 2 * filled) {
    return absl::InternalError(absl::StrCat("writing ledgers ", first, " to ", last, ": ", blocks,
                                            " of ", 2 * filled, " blocks appended; ",
                                            error.empty() ? "a stream ended" : error));
  }
  return absl::OkStatus();
}

// With the host holding `sample.ledgers` ledgers: waits until it is idle,
// measures its CPU over options.idle_seconds, then appends one more block to
// each of `indices` (unary, one in flight; drafted before the clock), each
// followed by one to the hot ledger, then reads its memory and bytes on disk.
// The sampled appends' latencies go to `stats`.
absl::Status Measure(const LoadOptions& options, Channels& channels,
                     const std::vector<uint64_t>& indices, SampledLedgers& sampled,
                     LedgerCountSample& sample, WorkerStats& stats, double& append_seconds) {
  const Clock::time_point settle_start = Clock::now();
  sample.settled = WaitForIdle(options.host_pid);
  sample.settle_seconds = Seconds(Clock::now() - settle_start);
  const double idle_cpu_before = ProcessCpuSeconds(options.host_pid).value_or(0);
  const Clock::time_point idle_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(options.idle_seconds));
  sample.idle_seconds = Seconds(Clock::now() - idle_start);
  sample.idle_host_cpu_s = ProcessCpuSeconds(options.host_pid).value_or(0) - idle_cpu_before;

  ChainDrafter* hot = sampled.Find(kHotLedger);
  if (hot == nullptr) return absl::InternalError("no chain kept for the hot ledger");
  std::vector<v1::AppendRequest> requests;
  std::vector<v1::AppendRequest> hot_requests;
  requests.reserve(indices.size());
  for (uint64_t index : indices) {
    ChainDrafter* drafter = sampled.Find(index);
    if (drafter == nullptr) {
      return absl::InternalError(absl::StrCat("no chain kept for sampled ledger ", index));
    }
    requests.emplace_back().set_block(drafter->Next(1, 1).front());
  }
  for (std::string& block : hot->NextMany(indices.size(), 1)) {
    hot_requests.emplace_back().set_block(std::move(block));
  }
  WorkerStats window;
  WorkerStats hot_window;
  HostStub& stub = channels.stub(0);
  v1::AppendResponse response;
  auto append = [&](const v1::AppendRequest& request, WorkerStats& into) {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    const Clock::time_point sent = Clock::now();
    grpc::Status status = stub.Append(&context, request, &response);
    into.Record(Clock::now() - sent, status.error_code(), status.error_message());
    if (status.ok()) ++into.blocks;
  };
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < requests.size(); ++i) {
    append(requests[i], window);
    append(hot_requests[i], hot_window);
  }
  append_seconds += Seconds(Clock::now() - start);
  const ProcessMemory memory = ReadProcessMemory(options.host_pid).value_or(ProcessMemory());
  sample.host_rss_mib = memory.rss_mib;
  sample.host_peak_rss_mib = memory.peak_rss_mib;
  sample.load_average = LoadAverage();
  if (!options.host_data_dir.empty()) sample.disk_bytes = DirectoryBytes(options.host_data_dir);

  LoadReport summary;
  std::vector<WorkerStats> one;
  one.push_back(window);
  Summarise(one, summary);
  sample.appends = summary.total;
  sample.append_errors = summary.errors;
  sample.p50_ms = summary.p50_ms;
  sample.p99_ms = summary.p99_ms;
  sample.max_ms = summary.max_ms;
  LoadReport hot_summary;
  std::vector<WorkerStats> hot_one;
  hot_one.push_back(std::move(hot_window));
  Summarise(hot_one, hot_summary);
  sample.hot_p50_ms = hot_summary.p50_ms;
  sample.hot_p99_ms = hot_summary.p99_ms;
  sample.append_errors += hot_summary.errors;
  stats.latencies_us.insert(stats.latencies_us.end(), window.latencies_us.begin(),
                            window.latencies_us.end());
  for (const auto& [code, count] : window.codes) stats.codes[code] += count;
  stats.blocks += window.blocks;
  if (stats.first_error.empty()) stats.first_error = window.first_error;
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckManyLedgers(const LoadOptions& options) {
  if (options.host_pid <= 0 || options.total > 0 || options.duration_s > 0 ||
      options.ledgers < 2 || options.sample_window < 1 || options.idle_seconds < 0) {
    return absl::InvalidArgumentError(
        "many-ledgers needs --host_pid, --ledgers >= 2, --sample_window >= 1 and "
        "--idle_seconds >= 0, and no --total or --duration (--ledgers and --sample_sizes set "
        "the run's length)");
  }
  uint64_t previous = 1;  // At least the hot ledger and one other.
  for (uint64_t count : options.sample_sizes) {
    if (count <= previous || count > static_cast<uint64_t>(options.ledgers)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "many-ledgers: --sample_sizes are ledger counts, increasing from 2, at most --ledgers=",
          options.ledgers, ": ", count));
    }
    previous = count;
  }
  return absl::OkStatus();
}

absl::Status RunManyLedgers(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const Clock::time_point run_start = Clock::now();
  const double own_cpu_before = OwnCpuSeconds();
  const std::vector<uint64_t> counts = LedgerCounts(options);
  std::mt19937_64 random(kSampleSeed);
  std::vector<std::vector<uint64_t>> indices;
  absl::flat_hash_set<uint64_t> wanted;
  for (uint64_t count : counts) {
    // Of every ledger but the hot one.
    std::vector<uint64_t> drawn =
        DistinctRandom(std::min(options.sample_window, count - 1), count - 1, random);
    for (uint64_t& index : drawn) index += kHotLedger + 1;
    wanted.insert(drawn.begin(), drawn.end());
    indices.push_back(std::move(drawn));
  }
  wanted.insert(kHotLedger);
  SampledLedgers sampled(std::move(wanted));
  WorkerStats stats;
  double append_seconds = 0;
  uint64_t ledgers = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    LedgerCountSample sample;
    sample.ledgers = counts[i];
    if (absl::Status s = Fill(options, *channels, ledgers, counts[i], sampled, sample); !s.ok()) {
      return s;
    }
    ledgers = counts[i];
    if (absl::Status s =
            Measure(options, *channels, indices[i], sampled, sample, stats, append_seconds);
        !s.ok()) {
      return s;
    }
    std::fprintf(stderr,
                 "ml-load: %llu ledgers: filled at %.0f ledgers/s; idle host CPU %.3f s in "
                 "%.1f s; appends p50 %.3f ms p99 %.3f ms; host RSS %.0f MiB (peak %.0f)\n",
                 static_cast<unsigned long long>(sample.ledgers), sample.fill_ledgers_per_s,
                 sample.idle_host_cpu_s, sample.idle_seconds, sample.p50_ms, sample.p99_ms,
                 sample.host_rss_mib, sample.host_peak_rss_mib);
    if (!sample.settled) {
      absl::StrAppend(&report.note, "the host was still busy ", Seconds(kSettleLimit),
                      " s after the fill to ", sample.ledgers,
                      " ledgers: its idle period started anyway; ");
    }
    report.ledger_counts.push_back(sample);
  }
  std::vector<WorkerStats> all(1);
  all[0] = std::move(stats);
  Summarise(all, report);
  report.ledgers = options.ledgers;
  report.concurrency = std::max(1, options.concurrency);
  report.duration_s = append_seconds;
  report.setup_s = Seconds(Clock::now() - run_start) - append_seconds;
  report.rps = append_seconds > 0 ? report.total / append_seconds : 0;
  report.blocks_per_s = append_seconds > 0 ? report.blocks / append_seconds : 0;
  report.client_cpu_s = OwnCpuSeconds() - own_cpu_before;
  absl::StrAppend(
      &report.note, "many ledgers: ", options.ledgers, " ledgers created and written (genesis ",
      "+ one block each) over ", report.concurrency, " AppendStreams, window ",
      std::max(1, options.window), "; at each count, once the host is idle (under ",
      kIdleCores, " cores over ", Seconds(kSettleInterval), " s), its CPU over ",
      options.idle_seconds, " s with no request, then up to ", options.sample_window,
      " unary appends (one in flight) to distinct random ledgers, each followed by one to a "
      "hot ledger (ledger 0, always cached: the reference of the same moment); counts and "
      "latencies above cover the random ledgers' appends, set-up covers the fills and idle "
      "periods, ml-load CPU the whole run; ");
  return absl::OkStatus();
}

}  // namespace load
}  // namespace microledger
