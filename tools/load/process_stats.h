// Measurements of processes for ml-load's reports: a process's CPU time (or
// that of some of its threads) and memory from /proc, ml-load's own CPU and
// peak memory from getrusage, the bytes a directory holds, waiting until a
// process is idle, and the steady clock every phase is timed with.
//
// Thread-safety: every function may be called from any thread; each reads
// /proc, the file system or getrusage afresh and keeps no state.
#ifndef MICROLEDGER_TOOLS_LOAD_PROCESS_STATS_H_
#define MICROLEDGER_TOOLS_LOAD_PROCESS_STATS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {
namespace load {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// utime + stime of process `pid` in seconds (all threads), from /proc/PID/stat.
absl::StatusOr<double> ProcessCpuSeconds(int pid);

// RocksDB names its background threads (flushes, compactions) so.
constexpr absl::string_view kRocksDbThreadPrefix = "rocksdb:";

// CPU seconds of the live threads of process `pid` whose name starts with
// `prefix` (0 if none, e.g. an ml-host with --storage=memory).
double ThreadsCpuSeconds(int pid, absl::string_view prefix);

// VmRSS and VmHWM of process `pid` in MiB, from /proc/PID/status.
struct ProcessMemory {
  double rss_mib = 0;
  double peak_rss_mib = 0;
};
absl::StatusOr<ProcessMemory> ReadProcessMemory(int pid);

// A process counts as idle below kIdleCores over kSettleInterval; WaitForIdle
// gives up after kSettleLimit.
constexpr double kIdleCores = 0.05;
constexpr std::chrono::milliseconds kSettleInterval{500};
constexpr std::chrono::seconds kSettleLimit{120};

// Waits until process `pid` is idle (e.g. a host's RocksDB flushes and
// compactions are done); false if it is still busy after kSettleLimit.
bool WaitForIdle(int pid);

// The bytes of the regular files under `dir`, recursively (0 if it cannot be read).
uint64_t DirectoryBytes(const std::string& dir);

// The machine's 1-minute load average (0 if /proc/loadavg cannot be read).
double LoadAverage();

// ml-load's own CPU seconds so far (user + system, all threads).
double OwnCpuSeconds();

// ml-load's own peak resident set size in MiB.
double OwnPeakRssMib();

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_PROCESS_STATS_H_
