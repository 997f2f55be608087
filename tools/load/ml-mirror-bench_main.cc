// ml-mirror-bench: catch-up rate, lag, sparse read latency and CPU per block
// of a running ml-mirror following a running ml-host (see mirror_bench.h;
// bench/mirror_bench.sh starts both and runs this). Prints a markdown table,
// or one JSON object with --format=json. This file only parses flags.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "tools/load/mirror_bench.h"

ABSL_FLAG(std::string, host, "", "HOST:PORT of ml-host (the mirror's upstream)");
ABSL_FLAG(int, host_pid, 0, "pid of ml-host: its CPU per block too (optional)");
ABSL_FLAG(std::string, mirror, "", "HOST:PORT of ml-mirror's read API (--listen)");
ABSL_FLAG(std::string, mirror_admin, "",
          "ml-mirror's admin API (--admin_listen), e.g. unix:/path/admin.sock");
ABSL_FLAG(int, mirror_pid, 0, "pid of ml-mirror (required: CPU per block from /proc)");
ABSL_FLAG(uint64_t, catchup_blocks, 20000, "blocks of the ledger the mirror catches up on");
ABSL_FLAG(double, lag_rate, 1000, "blocks/s appended while the lag is measured");
ABSL_FLAG(double, lag_seconds, 10, "how long the paced appends run");
ABSL_FLAG(uint64_t, sparse_blocks, 4096, "blocks of the ledger followed in sparse mode");
ABSL_FLAG(int, sparse_ranges, 64, "disjoint ranges read cold, then warm");
ABSL_FLAG(int, warm_repeats, 10, "warm reads of each range after its cold read");
ABSL_FLAG(uint64_t, range_blocks, 16, "blocks per GetBlocks range");
ABSL_FLAG(int64_t, deadline_ms, 30000, "deadline of each call");
ABSL_FLAG(int64_t, wait_seconds, 300, "longest wait for the mirror to catch up");
ABSL_FLAG(std::string, setting, "", "a line describing the processes, for the table");
ABSL_FLAG(std::string, format, "table", "table (markdown) or json");
ABSL_FLAG(std::string, json_out, "", "also write the JSON report to this file");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ml-mirror-bench --host=ADDR --mirror=ADDR --mirror_admin=ADDR --mirror_pid=PID "
      "[flags]: mirror catch-up rate, lag behind a host taking appends, sparse read "
      "latency (cold and warm) and mirror CPU per block beside the Ed25519 floor");
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  microledger::load::MirrorBenchOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.host_pid = absl::GetFlag(FLAGS_host_pid);
  options.mirror = absl::GetFlag(FLAGS_mirror);
  options.mirror_admin = absl::GetFlag(FLAGS_mirror_admin);
  options.mirror_pid = absl::GetFlag(FLAGS_mirror_pid);
  options.catchup_blocks = absl::GetFlag(FLAGS_catchup_blocks);
  options.lag_rate = absl::GetFlag(FLAGS_lag_rate);
  options.lag_seconds = absl::GetFlag(FLAGS_lag_seconds);
  options.sparse_blocks = absl::GetFlag(FLAGS_sparse_blocks);
  options.sparse_ranges = absl::GetFlag(FLAGS_sparse_ranges);
  options.range_blocks = absl::GetFlag(FLAGS_range_blocks);
  options.warm_repeats = absl::GetFlag(FLAGS_warm_repeats);
  options.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  options.wait_seconds = absl::GetFlag(FLAGS_wait_seconds);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "ml-mirror-bench: --format must be table or json\n");
    return 2;
  }
  absl::StatusOr<microledger::load::MirrorBenchReport> report =
      microledger::load::RunMirrorBench(options);
  if (!report.ok()) {
    std::fprintf(stderr, "ml-mirror-bench: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const std::string text =
      format == "json" ? microledger::load::MirrorBenchJson(*report) + "\n"
                       : microledger::load::MirrorBenchTable(*report, options,
                                                             absl::GetFlag(FLAGS_setting));
  std::fputs(text.c_str(), stdout);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::FILE* file = std::fopen(path.c_str(), "w");
    const std::string json = microledger::load::MirrorBenchJson(*report) + "\n";
    if (file == nullptr || std::fputs(json.c_str(), file) < 0 || std::fclose(file) != 0) {
      std::fprintf(stderr, "ml-mirror-bench: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
