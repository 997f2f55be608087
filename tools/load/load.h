// ml-load: a ghz-like load generator for the Micro Ledger host (and owner
// agent). RunLoad sets up (ledgers, pre-signed blocks, stored ranges) before
// the clock starts, runs one scenario with `concurrency` workers until `total`
// requests are done or `duration` has passed, and returns a LoadReport:
// counts, rate, latency percentiles, status-code counts and, for appends, the
// host's CPU per block (from /proc/PID/stat) beside the libsodium floor (one
// Ed25519 sign + one verify, measured in the same run).
//
// Scenarios:
//   host-append         unary Append of pre-drafted, owner-signed blocks
//   host-append-stream  AppendStream, pipelined (window per stream)
//   agent-append        OwnerAgent AppendEvent, end to end (--addr = the agent;
//                       ledgers created through the agent, untimed; with
//                       --agent_pid the agent's CPU per block too)
//   read-range          GetBlocks over stored ranges (blocks/s)
//   proof               GetInclusionProof of random blocks
//   verify              in-process VerifyBundle of a large bundle (mlctl verify)
//
// Append cost vs ledger size (host-append / host-append-stream with
// --sample_sizes): one ledger is filled through AppendStream to each of the
// sizes in turn, its blocks drafted and owner-signed in chunks while the
// stream runs (times near the host's clock, client memory bounded however
// large the ledger grows); at each size a window of `sample_window` blocks,
// drafted before its clock starts, is appended in the scenario's mode and
// measured: host CPU per block (and the part of it in RocksDB's background
// threads), blocks/s and host RSS (VmRSS, VmHWM).
//
// Thread-safety: RunLoad may be called from one thread at a time; it owns all
// the threads it starts and joins them before returning.
#ifndef MICROLEDGER_TOOLS_LOAD_LOAD_H_
#define MICROLEDGER_TOOLS_LOAD_LOAD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {
namespace load {

enum class Scenario {
  kHostAppend,
  kHostAppendStream,
  kAgentAppend,
  kReadRange,
  kProof,
  kVerify,
};

absl::StatusOr<Scenario> ParseScenario(absl::string_view name);
std::string ScenarioName(Scenario scenario);
bool IsAppend(Scenario scenario);

struct LoadOptions {
  Scenario scenario = Scenario::kHostAppend;
  std::string addr;        // HOST:PORT of ml-host (agent-append: of ml-owner).
  int concurrency = 8;     // Workers (unary: calls in flight; stream: streams).
  int connections = 2;     // gRPC channels (HTTP/2 connections), shared round-robin.
  uint64_t total = 0;      // Requests (appends: blocks) in the timed phase.
  double duration_s = 0;   // Or run this long (appends: at most `predraft` blocks).
  int ledgers = 1;         // Ledgers the load is spread over.
  int window = 32;         // AppendStream: unanswered requests per stream.
  uint64_t predraft = 200000;          // Appends with --duration: blocks drafted.
  uint64_t blocks_per_ledger = 1000;   // read-range/proof: stored before the clock.
  uint64_t range = 0;                  // read-range: blocks per GetBlocks (0 = all).
  uint32_t blocks_per_message = 1;     // read-range: GetBlocks max_blocks_per_message.
  int host_pid = 0;        // When > 0: host CPU per block from /proc/PID/stat.
  int agent_pid = 0;       // agent-append: when > 0, ml-owner CPU per block too.
  int windows = 1;         // Appends: also report host CPU per block per 1/windows.
  int draft_threads = 2;   // Threads that draft and owner-sign blocks up front.
  // Size series (one ledger): ledger sizes in blocks, increasing, each at
  // least the previous plus `sample_window`; empty = a plain run.
  std::vector<uint64_t> sample_sizes;
  uint64_t sample_window = 5000;  // Blocks measured at each sample size.
  std::string bundle;      // verify: bundle file; empty = generate one (untimed).
  uint64_t bundle_blocks = 100000;
  int64_t deadline_ms = 30000;  // Per call.
  // TLS to the server: enabled when `tls` (system roots unless tls_ca).
  bool tls = false;
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
};

// A stretch of an append run: a 1/windows window, a size-series window or a
// size-series fill.
struct WindowSample {
  std::string mode;             // How its blocks were appended.
  std::optional<uint64_t> ledger_blocks;  // Size series: ledger size at its start.
  uint64_t blocks = 0;          // Blocks done in this window.
  double seconds = 0;
  double host_cpu_us_per_block = 0;
  // Size series: the part of host_cpu_us_per_block spent in RocksDB's
  // background threads (flushes, compactions).
  std::optional<double> host_rocksdb_cpu_us_per_block;
  // With host_pid: the host's VmRSS and VmHWM at the window's end.
  std::optional<double> host_rss_mib;
  std::optional<double> host_peak_rss_mib;
};

struct LoadReport {
  std::string scenario;
  std::string addr;
  int concurrency = 0;
  int ledgers = 0;
  uint64_t total = 0;    // Requests completed (OK or not).
  uint64_t errors = 0;   // Requests not OK.
  double duration_s = 0;
  double rps = 0;
  uint64_t blocks = 0;   // Blocks appended / read / verified (OK only).
  double blocks_per_s = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  std::map<std::string, uint64_t> status_codes;
  double sign_us = 0, verify_us = 0;   // libsodium, this machine, this run.
  std::optional<double> floor_us_per_block;
  std::optional<double> host_cpu_us_per_block;
  std::optional<double> host_cpu_cores;   // Host CPU seconds / wall seconds.
  std::optional<double> ratio;            // floor / measured cost.
  // agent-append with --agent_pid: the owner agent's CPU per block, and
  // host + agent CPU per block (both processes, end to end).
  std::optional<double> agent_cpu_us_per_block;
  std::optional<double> agent_cpu_cores;
  std::optional<double> e2e_cpu_us_per_block;
  double client_cpu_s = 0;                // ml-load's own CPU in the timed phase.
  double client_peak_rss_mib = 0;         // ml-load's own peak RSS (whole run).
  double setup_s = 0;
  // Per window; for a size series, one per sample size (the top-level counts,
  // latencies and CPU then cover these windows only).
  std::vector<WindowSample> series;
  std::vector<WindowSample> fill;         // Size series: the fills between windows.
  std::string note;
};

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options);

// ghz-like summary text, and one JSON object (one line).
std::string FormatText(const LoadReport& report);
std::string FormatJson(const LoadReport& report);

// Best-of-rounds microseconds of one Ed25519 sign and one verify (libsodium).
struct Floor {
  double sign_us = 0;
  double verify_us = 0;
};
Floor MeasureFloor();

// utime + stime of process `pid` in seconds (all threads), from /proc/PID/stat.
absl::StatusOr<double> ProcessCpuSeconds(int pid);

// VmRSS and VmHWM of process `pid` in MiB, from /proc/PID/status.
struct ProcessMemory {
  double rss_mib = 0;
  double peak_rss_mib = 0;
};
absl::StatusOr<ProcessMemory> ReadProcessMemory(int pid);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_LOAD_H_
