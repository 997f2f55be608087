#include "tools/load/timed_run.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tools/load/process_stats.h"

namespace microledger {
namespace load {

namespace {

// Samples host CPU each time another 1/windows of the blocks is done.
class WindowMonitor {
 public:
  WindowMonitor(int pid, int windows, uint64_t expected, RunControl& control)
      : pid_(pid), windows_(windows), expected_(expected), control_(control) {}

  void Start() {
    if (pid_ <= 0 || windows_ <= 1 || expected_ == 0) return;
    thread_ = std::thread([this] {
      uint64_t last_blocks = 0;
      double last_cpu = ProcessCpuSeconds(pid_).value_or(0);
      Clock::time_point last_time = Clock::now();
      int index = 1;
      while (!stopping_.load() && index < windows_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        const uint64_t done = control_.done.load();
        if (done < expected_ * index / windows_) continue;
        const double cpu = ProcessCpuSeconds(pid_).value_or(0);
        const Clock::time_point now = Clock::now();
        Add(done - last_blocks, Seconds(now - last_time), cpu - last_cpu);
        last_blocks = done;
        last_cpu = cpu;
        last_time = now;
        ++index;
      }
      final_blocks_ = last_blocks;
      final_cpu_ = last_cpu;
      final_time_ = last_time;
    });
  }

  std::vector<WindowSample> Finish(uint64_t done, double cpu, Clock::time_point end) {
    if (!thread_.joinable()) return {};
    stopping_ = true;
    thread_.join();
    Add(done - final_blocks_, Seconds(end - final_time_), cpu - final_cpu_);
    return samples_;
  }

 private:
  void Add(uint64_t blocks, double seconds, double cpu) {
    WindowSample sample;
    sample.blocks = blocks;
    sample.seconds = seconds;
    sample.host_cpu_us_per_block = blocks > 0 ? cpu * 1e6 / blocks : 0;
    if (absl::StatusOr<ProcessMemory> memory = ReadProcessMemory(pid_); memory.ok()) {
      sample.host_rss_mib = memory->rss_mib;
      sample.host_peak_rss_mib = memory->peak_rss_mib;
    }
    samples_.push_back(sample);
  }

  int pid_;
  int windows_;
  uint64_t expected_;
  RunControl& control_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::vector<WindowSample> samples_;
  uint64_t final_blocks_ = 0;
  double final_cpu_ = 0;
  Clock::time_point final_time_;
};

}  // namespace

void TimedRun(const LoadOptions& options, RunControl& control, uint64_t expected,
              const std::function<void(int worker, WorkerStats& stats)>& worker,
              LoadReport& report) {
  std::vector<WorkerStats> stats(options.concurrency);
  std::optional<double> cpu_before, agent_cpu_before;
  if (options.host_pid > 0) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.host_pid);
    if (cpu.ok()) cpu_before = *cpu;
  }
  if (options.agent_pid > 0) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.agent_pid);
    if (cpu.ok()) agent_cpu_before = *cpu;
  }
  WindowMonitor monitor(options.host_pid, options.windows, expected, control);
  const double own_before = OwnCpuSeconds();
  const Clock::time_point start = Clock::now();
  monitor.Start();
  std::vector<std::thread> workers;
  for (int w = 0; w < options.concurrency; ++w) {
    workers.emplace_back([&, w] { worker(w, stats[w]); });
  }
  std::thread timer;
  std::mutex timer_mu;
  std::condition_variable timer_cv;
  bool finished = false;
  if (options.duration_s > 0) {
    timer = std::thread([&] {
      std::unique_lock<std::mutex> lock(timer_mu);
      timer_cv.wait_for(lock, std::chrono::duration<double>(options.duration_s),
                        [&] { return finished; });
      control.stop = true;
    });
  }
  for (std::thread& t : workers) t.join();
  const Clock::time_point end = Clock::now();
  if (timer.joinable()) {
    {
      std::lock_guard<std::mutex> lock(timer_mu);
      finished = true;
    }
    timer_cv.notify_all();
    timer.join();
  }
  report.client_cpu_s = OwnCpuSeconds() - own_before;
  report.duration_s = Seconds(end - start);
  double cpu_after = 0, agent_cpu_after = 0;
  if (cpu_before.has_value()) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.host_pid);
    if (cpu.ok()) cpu_after = *cpu;
  }
  if (agent_cpu_before.has_value()) {
    absl::StatusOr<double> cpu = ProcessCpuSeconds(options.agent_pid);
    if (cpu.ok()) agent_cpu_after = *cpu;
  }
  report.series = monitor.Finish(control.done.load(), cpu_after, end);
  Summarise(stats, report);
  report.rps = report.duration_s > 0 ? report.total / report.duration_s : 0;
  report.blocks_per_s = report.duration_s > 0 ? report.blocks / report.duration_s : 0;
  if (cpu_before.has_value() && report.blocks > 0) {
    const double cpu = cpu_after - *cpu_before;
    report.host_cpu_us_per_block = cpu * 1e6 / report.blocks;
    report.host_cpu_cores = cpu / report.duration_s;
  }
  if (agent_cpu_before.has_value() && report.blocks > 0) {
    const double cpu = agent_cpu_after - *agent_cpu_before;
    report.agent_cpu_us_per_block = cpu * 1e6 / report.blocks;
    report.agent_cpu_cores = cpu / report.duration_s;
    if (report.host_cpu_us_per_block.has_value()) {
      report.e2e_cpu_us_per_block =
          *report.host_cpu_us_per_block + *report.agent_cpu_us_per_block;
    }
  }
}

}  // namespace load
}  // namespace microledger
