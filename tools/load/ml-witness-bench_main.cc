// ml-witness-bench: cosignatures per second per core of the witness's
// add-checkpoint path beside the Ed25519 floor, its bytes per ledger, and
// optionally a running ml-witness over HTTP (see witness_bench.h;
// bench/witness_bench.sh runs it). Prints a markdown table, or one JSON object
// with --format=json. This file only parses flags.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "tools/load/witness_bench.h"

ABSL_FLAG(int, ledgers, 2000, "in-process throughput: ledgers");
ABSL_FLAG(int, rounds, 4,
          "in-process throughput: cosignatures per ledger (the first from size 0, the "
          "others with a consistency proof)");
ABSL_FLAG(std::vector<std::string>, bytes_ledgers, {"10000"},
          "bytes per ledger: ledger counts, each measured in a fresh RocksDB store");
ABSL_FLAG(int, bytes_rounds, 2, "bytes per ledger: cosignatures per ledger");
ABSL_FLAG(std::string, work_dir, "", "directory for the RocksDB stores (required)");
ABSL_FLAG(std::string, witness_http, "",
          "HOST:PORT of a running ml-witness's HTTP API (--http_listen); empty: not measured");
ABSL_FLAG(int, witness_pid, 0, "pid of that ml-witness (its CPU from /proc)");
ABSL_FLAG(int, http_ledgers, 2000, "over HTTP: ledgers");
ABSL_FLAG(int, http_rounds, 3, "over HTTP: cosignatures per ledger");
ABSL_FLAG(int, http_clients, 4, "over HTTP: concurrent clients");
ABSL_FLAG(int, prepare_threads, 2, "threads that sign the requests before a clock starts");
ABSL_FLAG(std::string, format, "table", "table (markdown) or json");
ABSL_FLAG(std::string, json_out, "", "also write the JSON report to this file");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ml-witness-bench --work_dir=DIR [--witness_http=ADDR --witness_pid=PID] [flags]: "
      "witness CPU per cosignature beside the Ed25519 floor (in process, memory and "
      "RocksDB; and a running ml-witness over HTTP), and its bytes per ledger");
  absl::ParseCommandLine(argc, argv);
  microledger::load::WitnessBenchOptions options;
  options.ledgers = absl::GetFlag(FLAGS_ledgers);
  options.rounds = absl::GetFlag(FLAGS_rounds);
  options.bytes_ledgers.clear();
  for (const std::string& text : absl::GetFlag(FLAGS_bytes_ledgers)) {
    int ledgers = 0;
    if (!absl::SimpleAtoi(text, &ledgers) || ledgers < 1) {
      std::fprintf(stderr, "ml-witness-bench: --bytes_ledgers takes positive counts\n");
      return 2;
    }
    options.bytes_ledgers.push_back(ledgers);
  }
  options.bytes_rounds = absl::GetFlag(FLAGS_bytes_rounds);
  options.work_dir = absl::GetFlag(FLAGS_work_dir);
  options.witness_http = absl::GetFlag(FLAGS_witness_http);
  options.witness_pid = absl::GetFlag(FLAGS_witness_pid);
  options.http_ledgers = absl::GetFlag(FLAGS_http_ledgers);
  options.http_rounds = absl::GetFlag(FLAGS_http_rounds);
  options.http_clients = absl::GetFlag(FLAGS_http_clients);
  options.prepare_threads = absl::GetFlag(FLAGS_prepare_threads);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "ml-witness-bench: --format must be table or json\n");
    return 2;
  }
  absl::StatusOr<microledger::load::WitnessBenchReport> report =
      microledger::load::RunWitnessBench(options);
  if (!report.ok()) {
    std::fprintf(stderr, "ml-witness-bench: %s\n",
                 std::string(report.status().message()).c_str());
    return 1;
  }
  const std::string json = microledger::load::WitnessBenchJson(*report) + "\n";
  const std::string text =
      format == "json" ? json : microledger::load::WitnessBenchTable(*report);
  std::fputs(text.c_str(), stdout);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr || std::fputs(json.c_str(), file) < 0 || std::fclose(file) != 0) {
      std::fprintf(stderr, "ml-witness-bench: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
