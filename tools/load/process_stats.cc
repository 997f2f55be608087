#include "tools/load/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace microledger {
namespace load {

namespace {

// A /proc stat file (of a process or one of its threads): the command name
// and utime + stime in seconds.
struct StatCpu {
  std::string name;
  double cpu_seconds = 0;
};

absl::StatusOr<StatCpu> ReadStatCpu(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "PID (NAME) STATE ...": fields after the ")" that closes the name; state
  // is field 3, utime field 14, stime field 15.
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (!in.good() && text.empty()) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return absl::InternalError(absl::StrCat("bad ", path));
  }
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  StatCpu stat;
  stat.name = text.substr(open + 1, close - open - 1);
  stat.cpu_seconds = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  return stat;
}

}  // namespace

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double ThreadsCpuSeconds(int pid, absl::string_view prefix) {
  double seconds = 0;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    absl::StatusOr<StatCpu> stat = ReadStatCpu((task.path() / "stat").string());
    if (stat.ok() && absl::StartsWith(stat->name, prefix)) seconds += stat->cpu_seconds;
  }
  return seconds;
}

double OwnPeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux: KiB.
}

absl::StatusOr<double> ProcessCpuSeconds(int pid) {
  absl::StatusOr<StatCpu> stat = ReadStatCpu(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return stat.status();
  return stat->cpu_seconds;
}

absl::StatusOr<ProcessMemory> ReadProcessMemory(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read /proc/", pid, "/status"));
  ProcessMemory memory;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    double kib = 0;
    fields >> name >> kib;
    if (name == "VmRSS:") memory.rss_mib = kib / 1024;
    if (name == "VmHWM:") memory.peak_rss_mib = kib / 1024;
  }
  return memory;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

bool WaitForIdle(int pid) {
  const Clock::time_point limit = Clock::now() + kSettleLimit;
  double cpu = ProcessCpuSeconds(pid).value_or(0);
  while (Clock::now() < limit) {
    std::this_thread::sleep_for(kSettleInterval);
    const double now = ProcessCpuSeconds(pid).value_or(0);
    if (now - cpu < kIdleCores * Seconds(kSettleInterval)) return true;
    cpu = now;
  }
  return false;
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const uintmax_t size = it->file_size(size_error);
      if (!size_error) bytes += size;
    }
  }
  return bytes;
}

}  // namespace load
}  // namespace microledger
