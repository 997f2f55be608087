#include "ledger_store/http_read_flags.h"

#include <cstdint>
#include <utility>

#include "absl/flags/flag.h"
#include "web/web_page_files.h"

ABSL_FLAG(std::string, http_listen, "",
          "HOST:PORT ([IPv6]:PORT) to serve the HTTP read API on, plain HTTP: each "
          "ledger's checkpoint, Merkle tiles (C2SP tlog-tiles), block bundles and "
          "attachments under /<ledger id>/, and at / the web page that verifies a ledger "
          "in the browser (docs/HTTP.md); port 0 picks a free port (the log line says "
          "which); empty: no HTTP read API");
ABSL_FLAG(int32_t, http_threads, 4, "worker threads of the HTTP read API");
ABSL_FLAG(int32_t, http_cache_mb, 32,
          "memory for the HTTP read API's answers that never change (full tiles, full "
          "block bundles, attachments), least recently used out first; 0: none");
ABSL_FLAG(double, http_rate_limit, 500,
          "requests per second each client IP address may make to the HTTP read API, in "
          "bursts of up to twice as many (more are answered 429); 0: unlimited");

namespace microledger {

absl::StatusOr<std::optional<HttpReadServer>> StartHttpReadServerFromFlags(
    const std::string& program, const LedgerReader* reader, MetricsRegistry* registry,
    const std::string& metrics_prefix) {
  const std::string listen = absl::GetFlag(FLAGS_http_listen);
  if (listen.empty()) return std::nullopt;
  const int32_t threads = absl::GetFlag(FLAGS_http_threads);
  const double rate = absl::GetFlag(FLAGS_http_rate_limit);
  if (threads < 1 || threads > 256) {
    return absl::InvalidArgumentError("--http_threads must be in 1..256");
  }
  if (!(rate >= 0)) return absl::InvalidArgumentError("--http_rate_limit must be 0 or more");
  const int32_t cache_mb = absl::GetFlag(FLAGS_http_cache_mb);
  if (cache_mb < 0) return absl::InvalidArgumentError("--http_cache_mb must be 0 or more");
  HttpReadApiOptions options;
  options.client_requests.per_second = rate;
  options.client_requests.burst = rate * 2 < 1 ? 1 : rate * 2;
  options.cache_bytes = static_cast<size_t>(cache_mb) << 20;
  absl::StatusOr<HttpReadServer> started = StartHttpReadServer(
      program, listen, threads, reader, WebPageFiles(), options, registry, metrics_prefix);
  if (!started.ok()) return started.status();
  return std::optional<HttpReadServer>(*std::move(started));
}

}  // namespace microledger
