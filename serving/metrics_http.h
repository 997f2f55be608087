// Serves a MetricsRegistry's Prometheus text exposition at GET /metrics on an
// HttpServer (serving/http_server.h), for the --metrics_listen flag of
// ml-host, ml-owner and ml-mirror. Prints one start line on stderr,
// "PROGRAM: metrics on http://HOST:PORT/metrics" (port 0 resolved to the bound
// port), which tests and scripts parse.
// Thread-safe as HttpServer is; the registry must outlive the server.
#ifndef MICROLEDGER_SERVING_METRICS_HTTP_H_
#define MICROLEDGER_SERVING_METRICS_HTTP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serving/http_server.h"
#include "serving/metrics.h"

namespace microledger {

// Errors as HttpServer::Start, the message prefixed with the flag name.
absl::StatusOr<std::unique_ptr<HttpServer>> StartMetricsServer(const std::string& program,
                                                               const std::string& listen,
                                                               const MetricsRegistry* registry);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_METRICS_HTTP_H_
