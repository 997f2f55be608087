// ml-load: a ghz-like load generator and benchmark driver for Micro Ledger.
// Flags in, one report out (text, or one JSON object with --format=json).
// The logic lives in tools/load/load.h; this file only parses flags.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "tools/load/load.h"

ABSL_FLAG(std::string, scenario, "host-append",
          "host-append | host-append-stream | agent-append | agent-bulk | read-range | proof | "
          "verify | many-ledgers");
ABSL_FLAG(std::string, addr, "",
          "HOST:PORT of ml-host (agent-append: of ml-owner; not needed for verify)");
ABSL_FLAG(int, concurrency, 8,
          "workers: unary calls in flight, or streams for host-append-stream "
          "(appends: at most --ledgers, one writer per ledger)");
ABSL_FLAG(int, connections, 2, "gRPC connections the workers share round-robin");
ABSL_FLAG(uint64_t, total, 0,
          "requests in the timed phase (appends: blocks; verify: whole bundles, default 1)");
ABSL_FLAG(double, duration, 0, "seconds to run instead of --total");
ABSL_FLAG(int, ledgers, 1, "ledgers the load is spread over");
ABSL_FLAG(int, window, 32,
          "host-append-stream, and --sample_sizes fills: unanswered appends per stream");
ABSL_FLAG(uint64_t, predraft, 200000,
          "appends with --duration: blocks pre-drafted and owner-signed up front");
ABSL_FLAG(uint64_t, blocks_per_ledger, 1000,
          "read-range/proof: blocks stored per ledger before the clock starts");
ABSL_FLAG(uint64_t, range, 0, "read-range: blocks per GetBlocks call (0 = whole ledger)");
ABSL_FLAG(uint32_t, blocks_per_message, 1,
          "read-range: GetBlocks max_blocks_per_message (1 = one block per message, "
          "up to 256)");
ABSL_FLAG(int, host_pid, 0,
          "pid of ml-host: report host CPU per block (utime+stime from /proc/PID/stat)");
ABSL_FLAG(int, agent_pid, 0,
          "agent-append, agent-bulk: pid of ml-owner: report the agent's CPU per block too");
ABSL_FLAG(int, windows, 1,
          "appends with --host_pid: also report host CPU per block for each 1/N of the run");
ABSL_FLAG(int, draft_threads, 2, "threads that draft and owner-sign blocks (untimed)");
ABSL_FLAG(std::vector<std::string>, sample_sizes, {},
          "host-append(-stream) with --ledgers=1 and --host_pid: append cost vs ledger "
          "size. Fills one ledger by AppendStream (--window; blocks signed as it goes, "
          "times near now) to each of these sizes in blocks, e.g. 1000,10000,100000 "
          "(each at least --sample_window past the one before), and at each, once the "
          "host is idle, measures --sample_window blocks appended in the scenario's "
          "mode: host CPU per block (and its RocksDB background part), blocks/s, host "
          "RSS. Replaces --total and --duration. many-ledgers: the ledger counts "
          "(increasing, at most --ledgers) measured at before --ledgers");
ABSL_FLAG(uint64_t, sample_window, 5000,
          "with --sample_sizes: blocks measured at each size (drafted before its clock); "
          "many-ledgers: unary appends to distinct random ledgers at each ledger count");
ABSL_FLAG(double, idle_seconds, 10,
          "many-ledgers: seconds with no request over which the host's CPU is measured "
          "at each ledger count");
ABSL_FLAG(std::string, host_data_dir, "",
          "many-ledgers: ml-host's --data_dir, to report its bytes on disk per ledger");
ABSL_FLAG(std::string, bundle, "", "verify: bundle file (default: generate one, untimed)");
ABSL_FLAG(uint64_t, bundle_blocks, 100000, "verify: blocks of the generated bundle");
ABSL_FLAG(int64_t, deadline_ms, 30000, "deadline of each call");
ABSL_FLAG(bool, tls, false, "connect with TLS");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA bundle to trust (implies --tls)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate for mutual TLS (implies --tls)");
ABSL_FLAG(std::string, tls_key, "", "PEM client private key for mutual TLS");
ABSL_FLAG(std::string, tls_server_name, "", "override the TLS server name to check");
ABSL_FLAG(uint32_t, events_per_message, 256,
          "agent-bulk: events per AppendEvents message");
ABSL_FLAG(std::string, format, "text", "text | json (one JSON object on stdout)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "load generator for the Micro Ledger services (ml-host, ml-owner).\n"
      "  ml-load --scenario=host-append --addr=127.0.0.1:7400 --ledgers=64 "
      "--concurrency=64 --total=20000 --host_pid=PID\n"
      "  ml-load --scenario=agent-append --addr=AGENT:PORT --ledgers=64 "
      "--concurrency=64 --total=20000 --host_pid=PID --agent_pid=PID\n"
      "  ml-load --scenario=agent-bulk --addr=AGENT:PORT --concurrency=1 --total=100000 "
      "--host_pid=PID --agent_pid=PID   (one ledger, one AppendEvents stream)\n"
      "  ml-load --scenario=host-append --addr=127.0.0.1:7400 --ledgers=1 --concurrency=1 "
      "--sample_sizes=1000,10000,100000 --sample_window=5000 --host_pid=PID\n"
      "  ml-load --scenario=many-ledgers --addr=127.0.0.1:7400 --ledgers=1000000 "
      "--sample_sizes=1000,10000,100000 --sample_window=1000 --host_pid=PID "
      "--host_data_dir=DIR\n"
      "Set-up (ledgers, pre-signed blocks, stored ranges) is untimed; the run ends "
      "after --total requests or --duration seconds (with --sample_sizes: after the "
      "window at the last size).");
  absl::ParseCommandLine(argc, argv);
  using microledger::load::LoadOptions;
  absl::StatusOr<microledger::load::Scenario> scenario =
      microledger::load::ParseScenario(absl::GetFlag(FLAGS_scenario));
  if (!scenario.ok()) {
    std::fprintf(stderr, "ml-load: %s\n", std::string(scenario.status().message()).c_str());
    return 2;
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "text" && format != "json") {
    std::fprintf(stderr, "ml-load: --format must be text or json\n");
    return 2;
  }
  LoadOptions options;
  options.scenario = *scenario;
  options.addr = absl::GetFlag(FLAGS_addr);
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.connections = absl::GetFlag(FLAGS_connections);
  options.total = absl::GetFlag(FLAGS_total);
  options.duration_s = absl::GetFlag(FLAGS_duration);
  options.ledgers = absl::GetFlag(FLAGS_ledgers);
  options.window = absl::GetFlag(FLAGS_window);
  options.predraft = absl::GetFlag(FLAGS_predraft);
  options.blocks_per_ledger = absl::GetFlag(FLAGS_blocks_per_ledger);
  options.range = absl::GetFlag(FLAGS_range);
  options.blocks_per_message = absl::GetFlag(FLAGS_blocks_per_message);
  options.host_pid = absl::GetFlag(FLAGS_host_pid);
  options.agent_pid = absl::GetFlag(FLAGS_agent_pid);
  options.events_per_message = absl::GetFlag(FLAGS_events_per_message);
  options.windows = absl::GetFlag(FLAGS_windows);
  options.draft_threads = absl::GetFlag(FLAGS_draft_threads);
  for (const std::string& size : absl::GetFlag(FLAGS_sample_sizes)) {
    uint64_t blocks = 0;
    if (!absl::SimpleAtoi(size, &blocks)) {
      std::fprintf(stderr, "ml-load: --sample_sizes: not a number of blocks: %s\n",
                   size.c_str());
      return 2;
    }
    options.sample_sizes.push_back(blocks);
  }
  options.sample_window = absl::GetFlag(FLAGS_sample_window);
  options.idle_seconds = absl::GetFlag(FLAGS_idle_seconds);
  options.host_data_dir = absl::GetFlag(FLAGS_host_data_dir);
  options.bundle = absl::GetFlag(FLAGS_bundle);
  options.bundle_blocks = absl::GetFlag(FLAGS_bundle_blocks);
  options.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  options.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.tls = absl::GetFlag(FLAGS_tls) || !options.tls_ca.empty() ||
                !options.tls_cert.empty();
  absl::StatusOr<microledger::load::LoadReport> report =
      microledger::load::RunLoad(options);
  if (!report.ok()) {
    std::fprintf(stderr, "ml-load: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const std::string text = format == "json" ? microledger::load::FormatJson(*report) + "\n"
                                            : microledger::load::FormatText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return report->errors == 0 ? 0 : 3;
}
