#include "tools/load/load.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tools/load/many_ledgers.h"
#include "tools/load/scenarios.h"
#include "tools/load/size_series.h"

namespace microledger {
namespace load {

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options) {
  LoadReport report;
  report.scenario = ScenarioName(options.scenario);
  report.addr = options.addr;
  report.concurrency = options.concurrency;
  report.ledgers = options.ledgers;
  if (options.concurrency < 1 || options.ledgers < 1 || options.connections < 1) {
    return absl::InvalidArgumentError("--concurrency, --ledgers, --connections must be >= 1");
  }
  if (options.scenario != Scenario::kVerify && options.addr.empty()) {
    return absl::InvalidArgumentError("--addr=HOST:PORT is required");
  }
  if (options.total == 0 && options.duration_s <= 0 && options.sample_sizes.empty() &&
      options.scenario != Scenario::kVerify && options.scenario != Scenario::kManyLedgers) {
    return absl::InvalidArgumentError("give --total or --duration");
  }
  if (options.scenario == Scenario::kManyLedgers) {
    if (absl::Status s = CheckManyLedgers(options); !s.ok()) return s;
  } else if (!options.sample_sizes.empty()) {
    if (absl::Status s = CheckSizeSeries(options); !s.ok()) return s;
  }
  const Floor floor = MeasureFloor();
  report.sign_us = floor.sign_us;
  report.verify_us = floor.verify_us;
  report.sign_cpu_us = floor.sign_cpu_us;
  report.verify_cpu_us = floor.verify_cpu_us;
  // Appends: the wall-clock floor (1 sign + 1 verify) and its ratio to the
  // host's CPU, and the host's CPU over the Ed25519 work it must do per block
  // (1 verify + 2 signs, thread CPU).
  auto compare_appends = [&] {
    report.floor_us_per_block = floor.sign_us + floor.verify_us;
    report.host_ed25519_us_per_block = floor.verify_cpu_us + 2 * floor.sign_cpu_us;
    if (report.host_cpu_us_per_block.value_or(0) > 0) {
      report.ratio = *report.floor_us_per_block / *report.host_cpu_us_per_block;
      report.host_cpu_over_ed25519 =
          *report.host_cpu_us_per_block / *report.host_ed25519_us_per_block;
    }
  };
  absl::Status status;
  switch (options.scenario) {
    case Scenario::kHostAppend:
    case Scenario::kHostAppendStream:
      status = options.sample_sizes.empty() ? RunAppend(options, report)
                                            : RunSizeSeries(options, report);
      compare_appends();
      break;
    case Scenario::kAgentAppend:
    case Scenario::kAgentBulk:
      status = options.scenario == Scenario::kAgentAppend ? RunAgentAppend(options, report)
                                                          : RunAgentBulk(options, report);
      compare_appends();
      // The agent's Ed25519 work per block: 1 sign + 2 verifies.
      report.agent_ed25519_us_per_block = floor.sign_cpu_us + 2 * floor.verify_cpu_us;
      if (report.agent_cpu_us_per_block.value_or(0) > 0) {
        report.agent_cpu_over_ed25519 =
            *report.agent_cpu_us_per_block / *report.agent_ed25519_us_per_block;
      }
      absl::StrAppend(&report.note,
                      "floor and ratio as for host-append (host CPU); the end-to-end "
                      "Ed25519 work per block is 1 verify + 2 signs (host: owner signature; "
                      "block and checkpoint) + 1 sign + 2 verifies (agent: owner "
                      "signature; host signature and checkpoint); ");
      break;
    case Scenario::kReadRange:
    case Scenario::kProof:
      status = RunRead(options, report);
      break;
    case Scenario::kManyLedgers:
      status = RunManyLedgers(options, report);
      break;
    case Scenario::kVerify: {
      status = RunVerify(options, report);
      // Floor: two signature verifies per block (owner + host), spread over
      // every core of the machine.
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      report.floor_us_per_block = 2 * floor.verify_us / cores;
      if (report.blocks > 0) {
        report.ratio = *report.floor_us_per_block /
                       (report.duration_s * 1e6 / static_cast<double>(report.blocks));
      }
      absl::StrAppend(&report.note, "floor = 2 verifies/block over ", cores, " cores; ");
      break;
    }
  }
  if (!status.ok()) return status;
  report.client_peak_rss_mib = OwnPeakRssMib();
  return report;
}

}  // namespace load
}  // namespace microledger
