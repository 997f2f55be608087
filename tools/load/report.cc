#include "tools/load/report.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace microledger {
namespace load {

std::string CodeName(int code) {
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? absl::StrCat("CODE_", code) : name;
}

void Summarise(std::vector<WorkerStats>& stats, LoadReport& report) {
  std::vector<float> all;
  for (WorkerStats& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    for (const auto& [code, count] : s.codes) report.status_codes[code] += count;
    report.blocks += s.blocks;
    if (report.note.empty() && !s.first_error.empty()) {
      report.note = absl::StrCat("first error: ", s.first_error);
    }
  }
  report.total = 0;
  for (const auto& [code, count] : report.status_codes) report.total += count;
  report.errors = report.total - (report.status_codes.count("OK")
                                      ? report.status_codes["OK"]
                                      : 0);
  if (all.empty()) return;
  std::sort(all.begin(), all.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * (all.size() - 1) + 0.5);
    return all[std::min(i, all.size() - 1)] / 1000.0;
  };
  double sum = 0;
  for (float v : all) sum += v;
  report.p50_ms = at(0.50);
  report.p90_ms = at(0.90);
  report.p99_ms = at(0.99);
  report.max_ms = all.back() / 1000.0;
  report.mean_ms = sum / all.size() / 1000.0;
}

std::string FormatText(const LoadReport& r) {
  std::string out;
  absl::StrAppendFormat(&out, "Summary:\n");
  absl::StrAppendFormat(&out, "  Scenario:      %s\n", r.scenario);
  if (!r.addr.empty()) absl::StrAppendFormat(&out, "  Address:       %s\n", r.addr);
  absl::StrAppendFormat(&out, "  Concurrency:   %d (ledgers %d)\n", r.concurrency, r.ledgers);
  absl::StrAppendFormat(&out, "  Count:         %d\n", r.total);
  absl::StrAppendFormat(&out, "  Errors:        %d\n", r.errors);
  absl::StrAppendFormat(&out, "  Total:         %.3f s (set-up %.1f s, untimed)\n",
                        r.duration_s, r.setup_s);
  absl::StrAppendFormat(&out, "  Requests/sec:  %.1f\n", r.rps);
  absl::StrAppendFormat(&out, "  Blocks:        %d (%.1f blocks/s)\n", r.blocks,
                        r.blocks_per_s);
  absl::StrAppendFormat(&out, "\nLatency:\n  mean %.3f ms  p50 %.3f ms  p90 %.3f ms  "
                        "p99 %.3f ms  max %.3f ms\n",
                        r.mean_ms, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms);
  absl::StrAppendFormat(&out, "\nFloor (libsodium, this run): sign %.2f us, verify %.2f us\n",
                        r.sign_us, r.verify_us);
  if (r.floor_us_per_block) {
    absl::StrAppendFormat(&out, "  floor us/block:        %.2f\n", *r.floor_us_per_block);
  }
  if (r.host_cpu_us_per_block) {
    absl::StrAppendFormat(&out, "  host CPU us/block:     %.2f (%.2f cores busy)\n",
                          *r.host_cpu_us_per_block, r.host_cpu_cores.value_or(0));
  }
  if (r.agent_cpu_us_per_block) {
    absl::StrAppendFormat(&out, "  agent CPU us/block:    %.2f (%.2f cores busy)\n",
                          *r.agent_cpu_us_per_block, r.agent_cpu_cores.value_or(0));
  }
  if (r.e2e_cpu_us_per_block) {
    absl::StrAppendFormat(&out, "  host+agent us/block:   %.2f\n", *r.e2e_cpu_us_per_block);
  }
  if (r.ratio) absl::StrAppendFormat(&out, "  ratio (floor/cost):    %.3f\n", *r.ratio);
  auto over = [](const std::optional<double>& ratio) {
    return ratio ? absl::StrFormat("%.2f", *ratio) : std::string("not measured");
  };
  if (r.host_ed25519_us_per_block) {
    absl::StrAppendFormat(&out,
                          "  host Ed25519 work:     %.2f us/block (1 verify + 2 signs, thread "
                          "CPU: sign %.2f, verify %.2f); host CPU / it: %s (target <= 1.5)\n",
                          *r.host_ed25519_us_per_block, r.sign_cpu_us, r.verify_cpu_us,
                          over(r.host_cpu_over_ed25519));
  }
  if (r.agent_ed25519_us_per_block) {
    absl::StrAppendFormat(&out,
                          "  agent Ed25519 work:    %.2f us/block (1 sign + 2 verifies); "
                          "agent CPU / it: %s (target <= 1.5)\n",
                          *r.agent_ed25519_us_per_block, over(r.agent_cpu_over_ed25519));
  }
  absl::StrAppendFormat(&out, "  ml-load CPU:           %.2f s (peak RSS %.0f MiB)\n",
                        r.client_cpu_s, r.client_peak_rss_mib);
  auto sample_text = [](const WindowSample& s) {
    std::string text = absl::StrFormat("%d blocks, %.1f blocks/s, %.2f us/block", s.blocks,
                                       s.seconds > 0 ? s.blocks / s.seconds : 0,
                                       s.host_cpu_us_per_block);
    if (s.host_rocksdb_cpu_us_per_block) {
      absl::StrAppendFormat(&text, " (RocksDB background %.2f)",
                            *s.host_rocksdb_cpu_us_per_block);
    }
    if (s.host_rss_mib) {
      absl::StrAppendFormat(&text, ", host RSS %.0f MiB (peak %.0f)", *s.host_rss_mib,
                            s.host_peak_rss_mib.value_or(0));
    }
    return absl::StrCat(text, " [", s.mode, "]");
  };
  if (!r.fill.empty() || (!r.series.empty() && r.series[0].ledger_blocks)) {
    absl::StrAppendFormat(&out, "\nHost cost vs ledger size (window at each size):\n");
    for (const WindowSample& s : r.series) {
      absl::StrAppendFormat(&out, "  at %d blocks: %s\n", s.ledger_blocks.value_or(0),
                            sample_text(s));
    }
    absl::StrAppendFormat(&out, "Fills between windows:\n");
    for (const WindowSample& s : r.fill) {
      absl::StrAppendFormat(&out, "  %d -> %d blocks: %s\n", s.ledger_blocks.value_or(0),
                            s.ledger_blocks.value_or(0) + s.blocks, sample_text(s));
    }
  } else if (!r.series.empty()) {
    absl::StrAppendFormat(&out, "\nHost CPU per window:\n");
    for (size_t i = 0; i < r.series.size(); ++i) {
      absl::StrAppendFormat(&out, "  window %d: %s\n", i + 1, sample_text(r.series[i]));
    }
  }
  if (!r.ledger_counts.empty()) {
    absl::StrAppendFormat(&out, "\nHost vs ledger count (two blocks per ledger):\n");
    for (const LedgerCountSample& s : r.ledger_counts) {
      absl::StrAppendFormat(
          &out,
          "  %d ledgers: fill %.0f ledgers/s (host %.1f us/ledger); idle %.1f s: host CPU "
          "%.3f s; %d appends to random ledgers: p50 %.3f ms p99 %.3f ms (hot ledger: p50 "
          "%.3f ms p99 %.3f ms); host RSS %.0f MiB "
          "(peak %.0f), load average %.1f",
          s.ledgers, s.fill_ledgers_per_s, s.fill_host_cpu_us_per_ledger, s.idle_seconds,
          s.idle_host_cpu_s, s.appends, s.p50_ms, s.p99_ms, s.hot_p50_ms, s.hot_p99_ms,
          s.host_rss_mib,
          s.host_peak_rss_mib, s.load_average);
      if (s.disk_bytes) {
        absl::StrAppendFormat(&out, "; disk %.0f bytes/ledger",
                              static_cast<double>(*s.disk_bytes) / s.ledgers);
      }
      absl::StrAppendFormat(&out, "\n");
    }
  }
  absl::StrAppendFormat(&out, "\nStatus code distribution:\n");
  for (const auto& [code, count] : r.status_codes) {
    absl::StrAppendFormat(&out, "  [%s]  %d responses\n", code, count);
  }
  if (!r.note.empty()) absl::StrAppendFormat(&out, "\nNote: %s\n", r.note);
  return out;
}

std::string FormatJson(const LoadReport& r) {
  nlohmann::json j;
  j["scenario"] = r.scenario;
  j["addr"] = r.addr;
  j["concurrency"] = r.concurrency;
  j["ledgers"] = r.ledgers;
  j["total"] = r.total;
  j["errors"] = r.errors;
  j["duration_s"] = r.duration_s;
  j["setup_s"] = r.setup_s;
  j["rps"] = r.rps;
  j["blocks"] = r.blocks;
  j["blocks_per_s"] = r.blocks_per_s;
  j["mean_ms"] = r.mean_ms;
  j["p50_ms"] = r.p50_ms;
  j["p90_ms"] = r.p90_ms;
  j["p99_ms"] = r.p99_ms;
  j["max_ms"] = r.max_ms;
  j["status_codes"] = r.status_codes;
  j["sign_us"] = r.sign_us;
  j["verify_us"] = r.verify_us;
  j["floor_us_per_block"] =
      r.floor_us_per_block ? nlohmann::json(*r.floor_us_per_block) : nlohmann::json();
  j["host_cpu_us_per_block"] =
      r.host_cpu_us_per_block ? nlohmann::json(*r.host_cpu_us_per_block) : nlohmann::json();
  j["host_cpu_cores"] =
      r.host_cpu_cores ? nlohmann::json(*r.host_cpu_cores) : nlohmann::json();
  j["ratio"] = r.ratio ? nlohmann::json(*r.ratio) : nlohmann::json();
  auto optional = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  j["sign_cpu_us"] = r.sign_cpu_us;
  j["verify_cpu_us"] = r.verify_cpu_us;
  j["host_ed25519_us_per_block"] = optional(r.host_ed25519_us_per_block);
  j["host_cpu_over_ed25519"] = optional(r.host_cpu_over_ed25519);
  if (r.scenario == "agent-append" || r.scenario == "agent-bulk") {
    j["agent_cpu_us_per_block"] = optional(r.agent_cpu_us_per_block);
    j["agent_cpu_cores"] = optional(r.agent_cpu_cores);
    j["e2e_cpu_us_per_block"] = optional(r.e2e_cpu_us_per_block);
    j["agent_ed25519_us_per_block"] = optional(r.agent_ed25519_us_per_block);
    j["agent_cpu_over_ed25519"] = optional(r.agent_cpu_over_ed25519);
  }
  j["client_cpu_s"] = r.client_cpu_s;
  j["client_peak_rss_mib"] = r.client_peak_rss_mib;
  auto samples = [&](const std::vector<WindowSample>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const WindowSample& s : list) {
      nlohmann::json sample = {{"mode", s.mode},
                               {"blocks", s.blocks},
                               {"seconds", s.seconds},
                               {"blocks_per_s", s.seconds > 0 ? s.blocks / s.seconds : 0},
                               {"host_cpu_us_per_block", s.host_cpu_us_per_block},
                               {"host_rocksdb_cpu_us_per_block",
                                optional(s.host_rocksdb_cpu_us_per_block)},
                               {"host_rss_mib", optional(s.host_rss_mib)},
                               {"host_peak_rss_mib", optional(s.host_peak_rss_mib)}};
      if (s.ledger_blocks) sample["ledger_blocks"] = *s.ledger_blocks;
      out.push_back(sample);
    }
    return out;
  };
  j["series"] = samples(r.series);
  j["fill"] = samples(r.fill);
  if (!r.ledger_counts.empty()) {
    nlohmann::json counts = nlohmann::json::array();
    for (const LedgerCountSample& s : r.ledger_counts) {
      nlohmann::json sample = {{"ledgers", s.ledgers},
                               {"fill_seconds", s.fill_seconds},
                               {"fill_ledgers_per_s", s.fill_ledgers_per_s},
                               {"fill_host_cpu_us_per_ledger", s.fill_host_cpu_us_per_ledger},
                               {"settle_seconds", s.settle_seconds},
                               {"settled", s.settled},
                               {"idle_seconds", s.idle_seconds},
                               {"idle_host_cpu_s", s.idle_host_cpu_s},
                               {"appends", s.appends},
                               {"append_errors", s.append_errors},
                               {"p50_ms", s.p50_ms},
                               {"p99_ms", s.p99_ms},
                               {"max_ms", s.max_ms},
                               {"hot_p50_ms", s.hot_p50_ms},
                               {"hot_p99_ms", s.hot_p99_ms},
                               {"host_rss_mib", s.host_rss_mib},
                               {"host_peak_rss_mib", s.host_peak_rss_mib},
                               {"load_average", s.load_average}};
      if (s.disk_bytes) {
        sample["disk_bytes"] = *s.disk_bytes;
        sample["disk_bytes_per_ledger"] = static_cast<double>(*s.disk_bytes) / s.ledgers;
      }
      counts.push_back(sample);
    }
    j["ledger_counts"] = counts;
  }
  j["note"] = r.note;
  return j.dump();
}

}  // namespace load
}  // namespace microledger
