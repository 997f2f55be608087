// The results of a run: what each worker measured (WorkerStats), how the
// workers' results merge into one LoadReport (Summarise), and the report as
// ghz-like text or as one JSON object.
//
// Thread-safety: a WorkerStats belongs to one worker thread while the run
// goes on (no shared state on the hot path); Summarise and the formatters run
// after the workers are joined. Nothing here locks.
#ifndef MICROLEDGER_TOOLS_LOAD_REPORT_H_
#define MICROLEDGER_TOOLS_LOAD_REPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/load/process_stats.h"

namespace microledger {
namespace load {

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

// many-ledgers: the host once it holds `ledgers` ledgers (two blocks each).
struct LedgerCountSample {
  uint64_t ledgers = 0;
  // The fill from the previous count: ledgers created and written per second
  // (CreateLedger, then genesis + one block through AppendStream), and the
  // host's CPU per ledger.
  double fill_seconds = 0;
  double fill_ledgers_per_s = 0;
  double fill_host_cpu_us_per_ledger = 0;
  double settle_seconds = 0;   // Until the host was idle after the fill.
  bool settled = true;         // False: still busy after kSettleLimit.
  double idle_seconds = 0;     // Then this long with no request:
  double idle_host_cpu_s = 0;  // the host's CPU seconds over it.
  // Then unary appends (one in flight) of one more block to random ledgers,
  // each followed by an append to one hot ledger (always cached: the same
  // moment's reference, so the machine's load cancels out of the ratio).
  uint64_t appends = 0;
  uint64_t append_errors = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double hot_p50_ms = 0, hot_p99_ms = 0;
  double host_rss_mib = 0, host_peak_rss_mib = 0;  // After the appends.
  double load_average = 0;  // The machine's 1-minute load average then.
  std::optional<uint64_t> disk_bytes;              // With host_data_dir.
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
  double sign_cpu_us = 0, verify_cpu_us = 0;  // The same in thread CPU time.
  // Appends: the Ed25519 work the host must do per block (1 verify: the
  // owner signature; 2 signs: the block and the checkpoint), in thread CPU
  // time, and the host's CPU per block over it (issue 16's target: <= 1.5).
  std::optional<double> host_ed25519_us_per_block;
  std::optional<double> host_cpu_over_ed25519;
  // Through the agent: the agent's Ed25519 work per block (1 sign: the owner
  // signature; 2 verifies: the host signature and the checkpoint) and its
  // CPU per block over it.
  std::optional<double> agent_ed25519_us_per_block;
  std::optional<double> agent_cpu_over_ed25519;
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
  std::vector<LedgerCountSample> ledger_counts;  // many-ledgers.
  std::string note;
};

// The name of status code `code` as absl::StatusCodeToString gives it ("OK",
// "NOT_FOUND", ...; gRPC uses the same codes), or CODE_n for a code it does not know.
std::string CodeName(int code);

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

// Merges the workers' results into `report`: counts, status codes, the first
// error, and latency percentiles over every request.
void Summarise(std::vector<WorkerStats>& stats, LoadReport& report);

// ghz-like summary text, and one JSON object (one line).
std::string FormatText(const LoadReport& report);
std::string FormatJson(const LoadReport& report);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_REPORT_H_
