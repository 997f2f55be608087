// What ml-load is asked to do: the scenario and every option of a run
// (LoadOptions, filled from the flags by ml-load_main.cc), and how an append
// scenario sends its blocks, in words, for the report.
//
// Thread-safety: plain values and pure functions; a LoadOptions is read, never
// written, once a run starts, so any thread may read it.
#ifndef MICROLEDGER_TOOLS_LOAD_OPTIONS_H_
#define MICROLEDGER_TOOLS_LOAD_OPTIONS_H_

#include <cstdint>
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
  kAgentBulk,
  kReadRange,
  kProof,
  kVerify,
  kManyLedgers,
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
  int agent_pid = 0;       // agent-append, agent-bulk: when > 0, ml-owner CPU per block too.
  uint32_t events_per_message = 256;   // agent-bulk: events per AppendEvents message.
  int windows = 1;         // Appends: also report host CPU per block per 1/windows.
  int draft_threads = 2;   // Threads that draft and owner-sign blocks up front.
  // Size series (one ledger): ledger sizes in blocks, increasing, each at
  // least the previous plus `sample_window`; empty = a plain run.
  // many-ledgers: the ledger counts measured at (the last one --ledgers).
  std::vector<uint64_t> sample_sizes;
  uint64_t sample_window = 5000;  // Blocks measured at each sample size.
  double idle_seconds = 10;  // many-ledgers: host CPU measured this long with no request.
  std::string host_data_dir;  // many-ledgers: ml-host's --data_dir, for bytes on disk.
  std::string bundle;      // verify: bundle file; empty = generate one (untimed).
  uint64_t bundle_blocks = 100000;
  int64_t deadline_ms = 30000;  // Per call.
  // TLS to the server: enabled when `tls` (system roots unless tls_ca).
  bool tls = false;
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
};

// How an append run's blocks are sent, for the report.
// (agent-bulk: `window` is the events per message.)
std::string AppendMode(Scenario scenario, int concurrency, int window);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_OPTIONS_H_
