#include "tools/load/floor.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "common/block.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "tools/load/process_stats.h"

namespace microledger {
namespace load {

namespace {

double ThreadCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace

Floor MeasureFloor() {
  EnsureSodiumInitialized();
  SigningKey key = *SigningKey::Generate();
  const std::string message = BlockSignedMessage(DigestText("floor"));
  Floor floor{1e9, 1e9, 1e9, 1e9};
  for (int round = 0; round < 5; ++round) {
    const int kIterations = 1000;
    std::vector<std::string> signatures(kIterations);
    Clock::time_point start = Clock::now();
    double cpu_start = ThreadCpuSeconds();
    for (int i = 0; i < kIterations; ++i) signatures[i] = key.Sign(message);
    floor.sign_us = std::min(floor.sign_us, Seconds(Clock::now() - start) * 1e6 / kIterations);
    floor.sign_cpu_us =
        std::min(floor.sign_cpu_us, (ThreadCpuSeconds() - cpu_start) * 1e6 / kIterations);
    start = Clock::now();
    cpu_start = ThreadCpuSeconds();
    int ok = 0;
    for (int i = 0; i < kIterations; ++i) {
      ok += VerifyEd25519(key.public_key(), message, signatures[i]) ? 1 : 0;
    }
    floor.verify_us =
        std::min(floor.verify_us, Seconds(Clock::now() - start) * 1e6 / kIterations);
    floor.verify_cpu_us =
        std::min(floor.verify_cpu_us, (ThreadCpuSeconds() - cpu_start) * 1e6 / kIterations);
    if (ok != kIterations) std::fprintf(stderr, "ml-load: floor self-check failed\n");
  }
  return floor;
}

}  // namespace load
}  // namespace microledger
