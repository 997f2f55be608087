// ml-mirror-bench: what a mirror (ml-mirror) costs and how far behind it runs,
// measured against a real ml-host and ml-mirror (started by the caller, e.g.
// bench/mirror_bench.sh) on loopback. Four measurements, one ledger each,
// every ledger created on the host by ml-load's set-up code (owner-signed
// chains drafted before any clock starts):
//
//   catch-up   a ledger of `catchup_blocks` blocks is filled on the host, then
//              the mirror is told to Follow it (full mode) and the clock runs
//              until its admin Status says verified_size == catchup_blocks:
//              blocks/s verified, and the mirror's CPU per block
//              (utime+stime from /proc/PID/stat) beside the floor of the
//              Ed25519 verifications a full mirror must do per block: the
//              owner signature, the host signature and the block's checkpoint
//              signature = 3 verifies (measured in the same run, libsodium).
//   lag        the mirror follows a fresh ledger (full); blocks are appended
//              on the host over one AppendStream paced at `lag_rate` blocks/s
//              for `lag_seconds`; Subscribe clients on the host and on the
//              mirror timestamp each block's arrival (same process, same
//              steady clock): lag = arrival from the mirror - arrival from the
//              host (the host publishes a block to subscribers when its commit
//              is durable, just before it acknowledges the append): p50 / p99 /
//              max; also from the append's acknowledgement at the appender;
//              and the mirror's CPU per block while following.
//   sparse     the mirror follows a `sparse_blocks`-block ledger in sparse mode;
//              `sparse_ranges` disjoint ranges of `range_blocks` blocks are read
//              with GetBlocks from the mirror: once cold (the mirror fetches
//              them from the host with one inclusion proof per block, verifies
//              and stores them), then `warm_repeats` times warm (from its
//              store).
//
// Speed is reported, never asserted. Thread-safety: RunMirrorBench runs on the
// calling thread and joins every thread it starts.
#ifndef MICROLEDGER_TOOLS_LOAD_MIRROR_BENCH_H_
#define MICROLEDGER_TOOLS_LOAD_MIRROR_BENCH_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace microledger {
namespace load {

struct MirrorBenchOptions {
  std::string host;          // ml-host HOST:PORT (appends, and the mirror's upstream).
  int host_pid = 0;          // Optional: the host's CPU per block too.
  std::string mirror;        // ml-mirror's read API HOST:PORT.
  std::string mirror_admin;  // ml-mirror's admin API (unix:PATH or loopback).
  int mirror_pid = 0;        // Required: the mirror's CPU per block.
  uint64_t catchup_blocks = 20000;
  double lag_rate = 1000;    // Blocks/s appended during the lag measurement.
  double lag_seconds = 10;
  uint64_t sparse_blocks = 4096;
  int sparse_ranges = 64;
  int warm_repeats = 10;     // Warm reads of each range after its cold one.
  uint64_t range_blocks = 16;
  int64_t deadline_ms = 30000;        // Per call.
  int64_t wait_seconds = 300;         // Longest wait for the mirror to catch up.
  int64_t status_poll_ms = 10;        // Status polling during catch-up.
};

struct Percentiles {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  uint64_t count = 0;
};

struct MirrorBenchReport {
  double sign_us = 0, verify_us = 0;  // The floor's parts (libsodium, this run).

  // Catch-up.
  uint64_t catchup_blocks = 0;
  double catchup_s = 0;
  double catchup_mirror_cpu_us = 0;   // Per block.
  double catchup_host_cpu_us = -1;    // Per block (serving the stream); -1 unknown.
  uint64_t catchup_status_polls = 0;
  // The largest lag the Status answers reported during catch-up, and the
  // largest true lag (blocks on the host - verified_size) at those answers.
  uint64_t catchup_max_reported_lag = 0;
  uint64_t catchup_max_true_lag = 0;

  // Lag.
  uint64_t lag_blocks = 0;
  double lag_rate_target = 0, lag_rate_achieved = 0;
  // Arrival at a Subscribe client on the host -> at one on the mirror.
  Percentiles lag;
  Percentiles lag_from_ack;     // Host ack at the appender -> mirror subscriber.
  Percentiles append_latency;   // Appender send -> host ack.
  uint64_t lag_negative = 0;    // Blocks at the mirror's subscriber before the ack.
  double lag_mirror_cpu_us = 0; // Per block while following.
  uint64_t lag_missing = 0;     // Blocks that never reached the subscriber.

  // Sparse.
  uint64_t sparse_blocks = 0, range_blocks = 0;
  Percentiles cold, warm;
  double cold_mirror_cpu_us = 0, warm_mirror_cpu_us = 0;  // Per block read.
  double cold_host_cpu_us = -1;                            // Per block read.

  std::string note;
};

absl::StatusOr<MirrorBenchReport> RunMirrorBench(const MirrorBenchOptions& options);

// A markdown table (with a legend line) of the report.
std::string MirrorBenchTable(const MirrorBenchReport& report,
                             const MirrorBenchOptions& options, const std::string& setting);
// One JSON object.
std::string MirrorBenchJson(const MirrorBenchReport& report);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_MIRROR_BENCH_H_
