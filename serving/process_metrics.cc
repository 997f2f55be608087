#include "serving/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace microledger {
namespace {

// The fields of /proc/self/stat after the command name (field 3 onwards), so
// that field N of proc(5) is fields[N - 3].
std::optional<std::vector<std::string>> StatFields() {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  const size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(name_end + 1));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest),
                                  std::istream_iterator<std::string>()};
  if (fields.size() < 22) return std::nullopt;
  return fields;
}

std::optional<double> StatField(int field) {
  std::optional<std::vector<std::string>> fields = StatFields();
  if (!fields.has_value()) return std::nullopt;
  return std::stod((*fields)[field - 3]);
}

double ClockTicksPerSecond() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

std::optional<double> CpuSeconds() {
  std::optional<std::vector<std::string>> fields = StatFields();
  if (!fields.has_value()) return std::nullopt;
  // utime (14) + stime (15), in clock ticks.
  return (std::stod((*fields)[14 - 3]) + std::stod((*fields)[15 - 3])) / ClockTicksPerSecond();
}

std::optional<double> ResidentBytes() {
  std::optional<double> pages = StatField(24);  // rss, in pages.
  if (!pages.has_value()) return std::nullopt;
  return *pages * static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::optional<double> BootTimeSeconds() {
  std::ifstream file("/proc/stat");
  std::string key;
  double value = 0;
  while (file >> key) {
    if (key == "btime" && file >> value) return value;
    file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<double> StartTimeSeconds() {
  std::optional<double> ticks_after_boot = StatField(22);  // starttime.
  std::optional<double> boot = BootTimeSeconds();
  if (!ticks_after_boot.has_value() || !boot.has_value()) return std::nullopt;
  return *boot + *ticks_after_boot / ClockTicksPerSecond();
}

std::optional<double> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // Less the descriptor of the listing itself.
}

std::optional<double> MaxFds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  return static_cast<double>(limit.rlim_cur);
}

}  // namespace

void AddProcessMetrics(MetricsRegistry& registry) {
  registry.AddCounterCallback("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.", CpuSeconds);
  registry.AddGaugeCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                            ResidentBytes);
  registry.AddGaugeCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            [] { return StatField(23); });  // vsize, in bytes.
  registry.AddGaugeCallback("process_open_fds", "Number of open file descriptors.", OpenFds);
  registry.AddGaugeCallback("process_max_fds", "Maximum number of open file descriptors.",
                            MaxFds);
  registry.AddGaugeCallback("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            StartTimeSeconds);
}

}  // namespace microledger
