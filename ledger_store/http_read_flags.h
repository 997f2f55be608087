// The command-line flags of the HTTP read API (ledger_store/http_read_api.h),
// shared by ml-host and ml-mirror so both say and do the same:
//   --http_listen=HOST:PORT   serve it there (empty, the default: not at all)
//   --http_threads=N          worker threads (default 4)
//   --http_cache_mb=M         memory for answers that never change (default 32)
//   --http_rate_limit=R       requests per second per client IP address
//                             (bursts of 2R; 0: unlimited; default 500)
//
// Thread safety: call from main's thread, after flags are parsed.
#ifndef MICROLEDGER_LEDGER_STORE_HTTP_READ_FLAGS_H_
#define MICROLEDGER_LEDGER_STORE_HTTP_READ_FLAGS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ledger_store/http_read_api.h"
#include "ledger_store/ledger_reader.h"
#include "serving/metrics.h"

namespace microledger {

// Starts the HTTP read API with the web page (web/web_page_files.h) when
// --http_listen is set; nullopt when it is not. InvalidArgument for bad flag
// values; errors of StartHttpReadServer.
absl::StatusOr<std::optional<HttpReadServer>> StartHttpReadServerFromFlags(
    const std::string& program, const LedgerReader* reader, MetricsRegistry* registry,
    const std::string& metrics_prefix);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_HTTP_READ_FLAGS_H_
