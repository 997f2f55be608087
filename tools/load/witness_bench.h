// ml-witness-bench: what a witness (SPEC §12) costs. Three measurements:
//   - the add-checkpoint path in process (body parse, checks 2 to 7 with the
//     ledger key's signature and the consistency proof verified, the store
//     update, the cosignature) over many ledgers on one thread, with memory
//     and with RocksDB storage: CPU per cosignature beside the floor (one
//     Ed25519 verify + one sign, measured in the same run);
//   - the witness's bytes per ledger: N ledgers cosigned a few times each in a
//     RocksDB store, the database flushed and fully compacted, its files'
//     bytes / N;
//   - a running ml-witness over HTTP on loopback (optional): several clients
//     POST add-checkpoint bodies; requests/s and the ml-witness process's CPU
//     per cosignature (/proc/PID/stat).
// Every request is made (ledger keys generated, checkpoints signed, proofs
// computed) before its clock starts. bench/witness_bench.sh runs it.
//
// Thread-safety: RunWitnessBench runs one benchmark at a time on the calling
// thread (with worker threads of its own that it joins); the other functions
// are pure.
#ifndef MICROLEDGER_TOOLS_LOAD_WITNESS_BENCH_H_
#define MICROLEDGER_TOOLS_LOAD_WITNESS_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace microledger {
namespace load {

struct WitnessBenchOptions {
  // In-process throughput: ledgers, and cosignatures of each (the first with
  // no proof, each later one with a consistency proof from the one before).
  int ledgers = 2000;
  int rounds = 4;
  // Bytes per ledger: ledger counts (each a fresh store) and cosignatures of each.
  std::vector<int> bytes_ledgers = {10000};
  int bytes_rounds = 2;
  // Where the RocksDB stores go (a fresh subdirectory each, removed after).
  std::string work_dir;
  // A running ml-witness (empty: no HTTP measurement): its HTTP address and pid.
  std::string witness_http;
  int witness_pid = 0;
  int http_ledgers = 2000;
  int http_rounds = 3;
  int http_clients = 4;
  // Threads that sign checkpoints before a clock starts (untimed).
  int prepare_threads = 2;
};

// One measured phase: `count` cosignatures asked for, `cosigned` of them
// answered with a cosignature.
struct WitnessBenchPhase {
  std::string name;
  std::string setting;
  uint64_t count = 0;
  uint64_t cosigned = 0;
  double wall_s = 0;
  double cpu_s = 0;            // The witness's CPU (this process's, or ml-witness's).
  double proof_hashes = 0;     // Mean consistency-proof length of the requests.
  uint64_t ledgers = 0;        // Bytes phases: ledgers stored.
  uint64_t disk_bytes = 0;     // Bytes phases: the compacted database's files,
  uint64_t sst_bytes = 0;      // and of those its SST files (the data).
};

struct WitnessBenchReport {
  // The floor, best of the start and the end of the run: one Ed25519 sign and
  // one verify of a checkpoint's note text in thread CPU time (what the
  // ratios use: on a shared machine a wall-clock floor counts the time other
  // processes hold the core), and floor.h's wall-clock floor beside it.
  double sign_us = 0;
  double verify_us = 0;
  double wall_sign_us = 0;
  double wall_verify_us = 0;
  std::vector<WitnessBenchPhase> phases;
};

absl::StatusOr<WitnessBenchReport> RunWitnessBench(const WitnessBenchOptions& options);

// The markdown table (header included) and the report as one JSON object.
std::string WitnessBenchTable(const WitnessBenchReport& report);
std::string WitnessBenchJson(const WitnessBenchReport& report);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_WITNESS_BENCH_H_
