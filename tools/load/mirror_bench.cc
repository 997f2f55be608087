#include "tools/load/mirror_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tools/load/channels.h"
#include "tools/load/drafting.h"
#include "tools/load/floor.h"
#include "tools/load/process_stats.h"
#include "tools/load/workers.h"
#include "tools/mirror_commands.h"

namespace microledger {
namespace load {
namespace {

double Ms(Clock::duration d) { return Seconds(d) * 1e3; }

Percentiles Summarize(std::vector<double> ms) {
  Percentiles p;
  p.count = ms.size();
  if (ms.empty()) return p;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * ms.size()));
    return ms[std::min(ms.size() - 1, i == 0 ? 0 : i - 1)];
  };
  p.p50_ms = at(0.50);
  p.p99_ms = at(0.99);
  p.max_ms = ms.back();
  return p;
}

double CpuOr(int pid, double otherwise) {
  if (pid <= 0) return otherwise;
  absl::StatusOr<double> cpu = ProcessCpuSeconds(pid);
  return cpu.ok() ? *cpu : otherwise;
}

// Waits (at most 10 s) until `pid` uses under a quarter of a core over 200 ms:
// the host's RocksDB flushes after a fill, or the mirror's after a catch-up.
void WaitIdle(int pid) {
  if (pid <= 0) return;
  for (int i = 0; i < 50; ++i) {
    const double before = CpuOr(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (CpuOr(pid, 0) - before < 0.05) return;
  }
}

// A ledger on the host with genesis + `more` blocks: created, drafted,
// owner-signed and (when `fill`) appended, untimed. Without `fill` only the
// genesis block is appended and the rest stay in ledger.blocks.
absl::StatusOr<DraftedLedger> MakeLedger(const MirrorBenchOptions& options, Channels& channels,
                                         uint64_t more, bool fill) {
  LoadOptions load;
  load.addr = options.host;
  load.concurrency = 1;
  load.deadline_ms = options.deadline_ms;
  load.window = 64;
  std::vector<DraftedLedger> ledgers(1);
  if (absl::Status s = SetUpLedgers(load, channels, ledgers, {more}); !s.ok()) return s;
  if (fill) {
    if (absl::Status s = FillLedgers(load, channels, ledgers); !s.ok()) return s;
    ledgers[0].blocks.clear();
    ledgers[0].blocks.shrink_to_fit();
  }
  return std::move(ledgers[0]);
}

// Polls the mirror's Status of `ledger` until verified_size >= size. Calls
// `each` with every answer.
absl::Status WaitVerified(MirrorAdminClient& admin, const std::string& ledger, uint64_t size,
                          const MirrorBenchOptions& options,
                          const std::function<void(const v1::MirroredLedger&)>& each = {}) {
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(options.wait_seconds);
  std::string last_error;
  while (Clock::now() < give_up) {
    absl::StatusOr<std::vector<v1::MirroredLedger>> status = admin.Status(ledger);
    if (!status.ok()) return status.status();
    if (status->size() == 1) {
      const v1::MirroredLedger& one = status->front();
      if (each) each(one);
      if (one.verified_size() >= size) return absl::OkStatus();
      if (!one.last_error().empty()) last_error = one.last_error();
      if (!one.evidence_id().empty()) {
        return absl::InternalError(absl::StrCat("mirror froze ", ledger, ": evidence ",
                                                one.evidence_id()));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.status_poll_ms));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the mirror did not verify ", size, " blocks of ", ledger, " within ",
      options.wait_seconds, " s", last_error.empty() ? "" : "; last error: ", last_error));
}

// A Subscribe client on its own thread, from block 2 of `ledger` on: the
// time each of blocks 2..n+1 arrived.
class Subscriber {
 public:
  Subscriber(HostStub& stub, const std::string& ledger, uint64_t n)
      : arrived_(n), got_(n, 0), thread_([this, &stub, ledger, n] {
          v1::SubscribeRequest request;
          request.set_ledger_id(ledger);
          request.set_from_number(2);
          auto reader = stub.Subscribe(&context_, request);
          v1::SubscribeResponse response;
          while (reader->Read(&response)) {
            const Clock::time_point now = Clock::now();
            const uint64_t k = response.number();
            if (k >= 2 && k - 2 < n && !got_[k - 2]) {
              arrived_[k - 2] = now;
              got_[k - 2] = 1;
              if (count_.fetch_add(1) + 1 == n) break;
            }
          }
          context_.TryCancel();
          (void)reader->Finish();
        }) {}
  ~Subscriber() { Stop(); }
  // Ends the stream and joins; then got() and at() may be read.
  void Stop() {
    if (!thread_.joinable()) return;
    context_.TryCancel();
    thread_.join();
  }
  uint64_t count() const { return count_.load(); }
  bool got(uint64_t i) const { return got_[i] != 0; }
  Clock::time_point at(uint64_t i) const { return arrived_[i]; }

 private:
  grpc::ClientContext context_;
  std::vector<Clock::time_point> arrived_;
  std::vector<char> got_;
  std::atomic<uint64_t> count_{0};
  std::thread thread_;
};

absl::Status CatchUp(const MirrorBenchOptions& options, Channels& host,
                     MirrorAdminClient& admin, MirrorBenchReport& report) {
  const uint64_t n = std::max<uint64_t>(options.catchup_blocks, 2);
  absl::StatusOr<DraftedLedger> ledger = MakeLedger(options, host, n - 1, true);
  if (!ledger.ok()) return ledger.status();
  WaitIdle(options.host_pid);
  WaitIdle(options.mirror_pid);
  const double mirror0 = CpuOr(options.mirror_pid, 0), host0 = CpuOr(options.host_pid, 0);
  const Clock::time_point start = Clock::now();
  absl::StatusOr<v1::MirroredLedger> followed =
      admin.Follow(ledger->id, options.host, v1::MIRROR_MODE_FULL);
  if (!followed.ok()) return followed.status();
  absl::Status waited = WaitVerified(admin, ledger->id, n, options,
                                     [&](const v1::MirroredLedger& status) {
                                       ++report.catchup_status_polls;
                                       report.catchup_max_reported_lag = std::max<uint64_t>(
                                           report.catchup_max_reported_lag, status.lag());
                                       report.catchup_max_true_lag = std::max<uint64_t>(
                                           report.catchup_max_true_lag,
                                           n - std::min(n, status.verified_size()));
                                     });
  if (!waited.ok()) return waited;
  report.catchup_s = Seconds(Clock::now() - start);
  report.catchup_blocks = n;
  report.catchup_mirror_cpu_us = (CpuOr(options.mirror_pid, 0) - mirror0) * 1e6 / n;
  if (options.host_pid > 0) {
    report.catchup_host_cpu_us = (CpuOr(options.host_pid, 0) - host0) * 1e6 / n;
  }
  return absl::OkStatus();
}

absl::Status Lag(const MirrorBenchOptions& options, Channels& host, HostStub& mirror,
                 MirrorAdminClient& admin, MirrorBenchReport& report) {
  const uint64_t n =
      std::max<uint64_t>(1, static_cast<uint64_t>(options.lag_rate * options.lag_seconds));
  absl::StatusOr<DraftedLedger> ledger = MakeLedger(options, host, n, false);
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<v1::MirroredLedger> followed =
      admin.Follow(ledger->id, options.host, v1::MIRROR_MODE_FULL);
  if (!followed.ok()) return followed.status();
  if (absl::Status s = WaitVerified(admin, ledger->id, 1, options); !s.ok()) return s;

  // Block k (2..n+1) is index k-2 below. Two Subscribe clients, one on the
  // host (when the host published the block to its subscribers: its commit)
  // and one on the mirror (when the mirror published it, verified).
  std::vector<Clock::time_point> sent(n), acked(n);
  std::vector<char> ok(n, 0);
  Subscriber at_host(host.stub(0), ledger->id, n), at_mirror(mirror, ledger->id, n);
  // Let the subscription reach the mirror before the first append.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (at_host.count() > 0 || at_mirror.count() > 0) {
    return absl::InternalError("blocks arrived before any was appended");
  }

  WaitIdle(options.host_pid);
  const double mirror0 = CpuOr(options.mirror_pid, 0);
  grpc::ClientContext append_context;
  auto stream = host.stub(0).AppendStream(&append_context);
  std::atomic<uint64_t> replies{0};
  std::string first_error;
  std::thread acks([&] {
    v1::AppendStreamResponse response;
    uint64_t i = 0;
    while (i < n && stream->Read(&response)) {
      acked[i] = Clock::now();
      ok[i] = response.code() == 0;
      if (!ok[i] && first_error.empty()) first_error = response.message();
      replies.store(++i);
    }
  });
  const Clock::time_point start = Clock::now();
  const double interval_s = 1.0 / std::max(1.0, options.lag_rate);
  v1::AppendRequest request;
  uint64_t written = 0;
  for (; written < n; ++written) {
    const Clock::time_point due =
        start + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(interval_s * written));
    std::this_thread::sleep_until(due);
    request.set_block(ledger->blocks[written]);
    sent[written] = Clock::now();
    if (!stream->Write(request)) break;
  }
  const Clock::time_point last_sent = written > 0 ? sent[written - 1] : start;
  stream->WritesDone();
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(options.wait_seconds);
  while ((replies.load() < written || at_mirror.count() < written ||
          at_host.count() < written) &&
         Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  append_context.TryCancel();
  acks.join();
  (void)stream->Finish();
  const uint64_t mirrored = at_mirror.count();
  at_host.Stop();
  at_mirror.Stop();
  const double mirror1 = CpuOr(options.mirror_pid, 0);

  std::vector<double> lag, lag_ack, append;
  for (uint64_t i = 0; i < replies.load(); ++i) {
    if (!ok[i]) continue;
    append.push_back(Ms(acked[i] - sent[i]));
    if (!at_mirror.got(i) || !at_host.got(i)) {
      ++report.lag_missing;
      continue;
    }
    lag.push_back(Ms(at_mirror.at(i) - at_host.at(i)));
    const double ms = Ms(at_mirror.at(i) - acked[i]);
    if (ms < 0) ++report.lag_negative;
    lag_ack.push_back(ms);
  }
  report.lag_blocks = append.size();
  report.lag_rate_target = options.lag_rate;
  report.lag_rate_achieved =
      written > 1 ? (written - 1) / std::max(1e-9, Seconds(last_sent - start)) : 0;
  report.lag = Summarize(std::move(lag));
  report.lag_from_ack = Summarize(std::move(lag_ack));
  report.append_latency = Summarize(std::move(append));
  report.lag_mirror_cpu_us = (mirror1 - mirror0) * 1e6 / std::max<uint64_t>(1, mirrored);
  if (written < n || report.lag_blocks < n) {
    absl::StrAppend(&report.note, "lag: ", report.lag_blocks, " of ", n,
                    " appends acknowledged", first_error.empty() ? "" : " (", first_error,
                    first_error.empty() ? "" : ")", "; ");
  }
  if (report.lag_missing > 0) {
    absl::StrAppend(&report.note, "lag: ", report.lag_missing,
                    " committed blocks never reached a subscriber (host's or mirror's); ");
  }
  return absl::OkStatus();
}

// Reads blocks first..last from the mirror; the time, or an error.
absl::StatusOr<double> ReadRange(HostStub& mirror, const std::string& ledger, uint64_t first,
                                 uint64_t last, int64_t deadline_ms) {
  grpc::ClientContext context;
  SetDeadline(context, deadline_ms);
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger);
  request.set_from_number(first);
  request.set_to_number(last);
  request.set_max_blocks_per_message(static_cast<uint32_t>(std::min<uint64_t>(256, last - first + 1)));
  const Clock::time_point start = Clock::now();
  auto reader = mirror.GetBlocks(&context, request);
  v1::GetBlocksResponse response;
  uint64_t blocks = 0;
  while (reader->Read(&response)) {
    blocks += response.blocks_size() + (response.block().empty() ? 0 : 1);
  }
  grpc::Status status = reader->Finish();
  const double ms = Ms(Clock::now() - start);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("GetBlocks ", first, "-", last, " from the mirror: ",
                                     status.error_message()));
  }
  if (blocks != last - first + 1) {
    return absl::InternalError(absl::StrCat("GetBlocks ", first, "-", last,
                                            " from the mirror: ", blocks, " blocks"));
  }
  return ms;
}

absl::Status Sparse(const MirrorBenchOptions& options, Channels& host, HostStub& mirror,
                    MirrorAdminClient& admin, MirrorBenchReport& report) {
  const uint64_t range = std::max<uint64_t>(1, options.range_blocks);
  const int ranges = std::max(1, options.sparse_ranges);
  // Blocks 2..size-1 hold the ranges, each followed by a gap of at least one
  // block (never the genesis or head, which a sparse mirror holds).
  const uint64_t size = std::max<uint64_t>(options.sparse_blocks, 2 + ranges * (range + 1));
  absl::StatusOr<DraftedLedger> ledger = MakeLedger(options, host, size - 1, true);
  if (!ledger.ok()) return ledger.status();
  absl::StatusOr<v1::MirroredLedger> followed =
      admin.Follow(ledger->id, options.host, v1::MIRROR_MODE_SPARSE);
  if (!followed.ok()) return followed.status();
  if (absl::Status s = WaitVerified(admin, ledger->id, size, options); !s.ok()) return s;
  WaitIdle(options.host_pid);
  WaitIdle(options.mirror_pid);
  const uint64_t stride = (size - 2) / ranges;
  std::vector<double> cold, warm;
  double cold_cpu = 0, warm_cpu = 0, cold_host_cpu = 0;
  for (int k = 0; k < ranges; ++k) {
    const uint64_t first = 2 + k * stride;
    const uint64_t last = first + range - 1;
    double m0 = CpuOr(options.mirror_pid, 0), h0 = CpuOr(options.host_pid, 0);
    absl::StatusOr<double> ms = ReadRange(mirror, ledger->id, first, last, options.deadline_ms);
    if (!ms.ok()) return ms.status();
    cold.push_back(*ms);
    double m1 = CpuOr(options.mirror_pid, 0);
    cold_cpu += m1 - m0;
    cold_host_cpu += CpuOr(options.host_pid, 0) - h0;
    for (int repeat = 0; repeat < std::max(1, options.warm_repeats); ++repeat) {
      ms = ReadRange(mirror, ledger->id, first, last, options.deadline_ms);
      if (!ms.ok()) return ms.status();
      warm.push_back(*ms);
    }
    warm_cpu += CpuOr(options.mirror_pid, 0) - m1;
  }
  const double blocks = static_cast<double>(ranges) * range;
  report.sparse_blocks = size;
  report.range_blocks = range;
  report.cold = Summarize(std::move(cold));
  report.warm = Summarize(std::move(warm));
  report.cold_mirror_cpu_us = cold_cpu * 1e6 / blocks;
  report.warm_mirror_cpu_us = warm_cpu * 1e6 / (blocks * std::max(1, options.warm_repeats));
  if (options.host_pid > 0) report.cold_host_cpu_us = cold_host_cpu * 1e6 / blocks;
  return absl::OkStatus();
}

std::string Fixed(double value, int digits) { return absl::StrFormat("%.*f", digits, value); }

}  // namespace

absl::StatusOr<MirrorBenchReport> RunMirrorBench(const MirrorBenchOptions& options) {
  if (options.host.empty() || options.mirror.empty() || options.mirror_admin.empty() ||
      options.mirror_pid <= 0) {
    return absl::InvalidArgumentError(
        "--host, --mirror, --mirror_admin and --mirror_pid are required");
  }
  MirrorBenchReport report;
  const Floor floor = MeasureFloor();
  report.sign_us = floor.sign_us;
  report.verify_us = floor.verify_us;

  LoadOptions load;
  load.addr = options.host;
  load.connections = 1;
  load.deadline_ms = options.deadline_ms;
  absl::StatusOr<Channels> host = Channels::Open(load);
  if (!host.ok()) return host.status();
  load.addr = options.mirror;
  absl::StatusOr<Channels> mirror = Channels::Open(load);
  if (!mirror.ok()) return mirror.status();
  MirrorAdminOptions admin_options;
  admin_options.address = options.mirror_admin;
  admin_options.timeout_seconds = std::max<int64_t>(1, options.deadline_ms / 1000);
  absl::StatusOr<std::unique_ptr<MirrorAdminClient>> admin =
      MirrorAdminClient::Create(admin_options);
  if (!admin.ok()) return admin.status();

  if (absl::Status s = CatchUp(options, *host, **admin, report); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("catch-up: ", s.message()));
  }
  if (absl::Status s = Lag(options, *host, mirror->stub(0), **admin, report); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("lag: ", s.message()));
  }
  if (absl::Status s = Sparse(options, *host, mirror->stub(0), **admin, report); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("sparse: ", s.message()));
  }
  // The floor again at the end (the best of both): a busy moment at the start
  // would otherwise inflate it and every ratio with it.
  const Floor again = MeasureFloor();
  report.sign_us = std::min(report.sign_us, again.sign_us);
  report.verify_us = std::min(report.verify_us, again.verify_us);
  return report;
}

std::string MirrorBenchTable(const MirrorBenchReport& r, const MirrorBenchOptions& options,
                             const std::string& setting) {
  const double floor_full = 3 * r.verify_us;    // owner + host + checkpoint
  const double floor_sparse = 2 * r.verify_us;  // owner + host (checkpoint held)
  auto ratio = [](double floor, double cost) {
    return cost > 0 ? Fixed(floor / cost, 3) : std::string("-");
  };
  auto host_cpu = [](double us) {
    return us >= 0 ? absl::StrCat("; host ", Fixed(us, 1), " us/block") : std::string();
  };
  std::string out = absl::StrCat(
      "mirror: ", setting, "\n", "floor: Ed25519 verify ", Fixed(r.verify_us, 1),
      " us (sign ", Fixed(r.sign_us, 1),
      " us), libsodium, best of the start and the end of this run\n\n",
      "| mirror | setting | result | p50 / p99 ms | floor us/block | mirror CPU us/block | "
      "ratio |\n",
      "| --- | --- | --- | --- | --- | --- | --- |\n");
  absl::StrAppend(
      &out, "| catch-up (full) | Follow of a ", r.catchup_blocks,
      "-block ledger until Status verified_size = ", r.catchup_blocks, host_cpu(r.catchup_host_cpu_us),
      " | ", Fixed(r.catchup_blocks / std::max(1e-9, r.catchup_s), 0), " blocks/s verified (",
      Fixed(r.catchup_s, 2), " s) | - | ", Fixed(floor_full, 1), " (3 verifies) | ",
      Fixed(r.catchup_mirror_cpu_us, 1), " | ", ratio(floor_full, r.catchup_mirror_cpu_us),
      " |\n");
  absl::StrAppend(
      &out, "| lag behind the host | ", r.lag_blocks, " appends paced at ",
      Fixed(r.lag_rate_target, 0), "/s over one AppendStream (achieved ",
      Fixed(r.lag_rate_achieved, 0), "/s; append ack p50 ", Fixed(r.append_latency.p50_ms, 2),
      " ms); lag = arrival at a Subscribe client on the mirror - at one on the host | max ",
      Fixed(r.lag.max_ms, 2), " ms; from the append ack: p50 ", Fixed(r.lag_from_ack.p50_ms, 2),
      " / p99 ", Fixed(r.lag_from_ack.p99_ms, 2), " ms",
      r.lag_negative > 0 ? absl::StrCat(" (", r.lag_negative, " blocks before their ack)") : "",
      " | ", Fixed(r.lag.p50_ms, 2), " / ", Fixed(r.lag.p99_ms, 2), " | ",
      Fixed(floor_full, 1), " (3 verifies) | ", Fixed(r.lag_mirror_cpu_us, 1), " | ",
      ratio(floor_full, r.lag_mirror_cpu_us), " |\n");
  absl::StrAppend(
      &out, "| sparse read, cold | GetBlocks of ", r.range_blocks, " blocks, ",
      options.sparse_ranges, " disjoint ranges of a ", r.sparse_blocks,
      "-block ledger, first read: fetched from the host with one inclusion proof per block",
      host_cpu(r.cold_host_cpu_us), " | ",
      Fixed(r.range_blocks / std::max(1e-9, r.cold.p50_ms) * 1e3, 0), " blocks/s at p50 | ",
      Fixed(r.cold.p50_ms, 2), " / ", Fixed(r.cold.p99_ms, 2), " | ", Fixed(floor_sparse, 1),
      " (2 verifies) | ", Fixed(r.cold_mirror_cpu_us, 1), " | ",
      ratio(floor_sparse, r.cold_mirror_cpu_us), " |\n");
  absl::StrAppend(&out, "| sparse read, warm | the same ranges again (", std::max(1, options.warm_repeats),
                  " times each), from the mirror's store | ",
                  Fixed(r.range_blocks / std::max(1e-9, r.warm.p50_ms) * 1e3, 0),
                  " blocks/s at p50 | ", Fixed(r.warm.p50_ms, 2), " / ",
                  Fixed(r.warm.p99_ms, 2), " | - | ", Fixed(r.warm_mirror_cpu_us, 1),
                  " | - |\n");
  absl::StrAppend(&out, "\ncatch-up Status polls: ", r.catchup_status_polls,
                  "; largest lag Status reported: ", r.catchup_max_reported_lag,
                  "; largest true lag at those polls: ", r.catchup_max_true_lag, "\n");
  if (!r.note.empty()) absl::StrAppend(&out, "note: ", r.note, "\n");
  return out;
}

std::string MirrorBenchJson(const MirrorBenchReport& r) {
  auto percentiles = [](const Percentiles& p) {
    return nlohmann::json{{"p50_ms", p.p50_ms}, {"p99_ms", p.p99_ms}, {"max_ms", p.max_ms},
                          {"count", p.count}};
  };
  nlohmann::json json = {
      {"sign_us", r.sign_us},
      {"verify_us", r.verify_us},
      {"floor_full_us_per_block", 3 * r.verify_us},
      {"catchup_blocks", r.catchup_blocks},
      {"catchup_s", r.catchup_s},
      {"catchup_blocks_per_s", r.catchup_blocks / std::max(1e-9, r.catchup_s)},
      {"catchup_mirror_cpu_us_per_block", r.catchup_mirror_cpu_us},
      {"catchup_host_cpu_us_per_block", r.catchup_host_cpu_us},
      {"catchup_status_polls", r.catchup_status_polls},
      {"catchup_max_reported_lag", r.catchup_max_reported_lag},
      {"catchup_max_true_lag", r.catchup_max_true_lag},
      {"lag_blocks", r.lag_blocks},
      {"lag_rate_target", r.lag_rate_target},
      {"lag_rate_achieved", r.lag_rate_achieved},
      {"lag", percentiles(r.lag)},
      {"lag_from_ack", percentiles(r.lag_from_ack)},
      {"append_latency", percentiles(r.append_latency)},
      {"lag_negative", r.lag_negative},
      {"lag_missing", r.lag_missing},
      {"lag_mirror_cpu_us_per_block", r.lag_mirror_cpu_us},
      {"sparse_blocks", r.sparse_blocks},
      {"range_blocks", r.range_blocks},
      {"sparse_cold", percentiles(r.cold)},
      {"sparse_warm", percentiles(r.warm)},
      {"sparse_cold_mirror_cpu_us_per_block", r.cold_mirror_cpu_us},
      {"sparse_warm_mirror_cpu_us_per_block", r.warm_mirror_cpu_us},
      {"sparse_cold_host_cpu_us_per_block", r.cold_host_cpu_us},
      {"note", r.note},
  };
  return json.dump();
}

}  // namespace load
}  // namespace microledger
