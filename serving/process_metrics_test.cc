#include "serving/process_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "gtest/gtest.h"
#include "serving/metrics.h"

namespace microledger {
namespace {

// The value of the unlabelled sample `name` in `text`, or -1.
double SampleValue(const std::string& text, const std::string& name) {
  const std::string prefix = "\n" + name + " ";
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + prefix.size(), nullptr);
}

TEST(ProcessMetricsTest, ReadsThisProcess) {
  MetricsRegistry registry;
  AddProcessMetrics(registry);
  const std::string before = registry.Exposition();
  EXPECT_NE(before.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_GE(SampleValue(before, "process_cpu_seconds_total"), 0);
  EXPECT_GT(SampleValue(before, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(SampleValue(before, "process_virtual_memory_bytes"),
            SampleValue(before, "process_resident_memory_bytes"));
  EXPECT_GE(SampleValue(before, "process_max_fds"), SampleValue(before, "process_open_fds"));
  const double start = SampleValue(before, "process_start_time_seconds");
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 24 * 3600);

  const double open_before = SampleValue(before, "process_open_fds");
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(SampleValue(registry.Exposition(), "process_open_fds"), open_before + 1);
  close(fd);
}

}  // namespace
}  // namespace microledger
