#include "serving/metrics_http.h"

#include "absl/strings/str_cat.h"
#include "serving/log.h"

namespace microledger {

absl::StatusOr<std::unique_ptr<HttpServer>> StartMetricsServer(const std::string& program,
                                                               const std::string& listen,
                                                               const MetricsRegistry* registry) {
  auto server = std::make_unique<HttpServer>();
  server->HandleGet("/metrics", [registry](const HttpRequest&) {
    HttpResponse response;
    response.content_type = kExpositionContentType;
    response.body = registry->Exposition();
    return response;
  });
  if (absl::Status started = server->Start(listen); !started.ok()) {
    return absl::Status(started.code(), absl::StrCat("--metrics_listen: ", started.message()));
  }
  const std::string url = absl::StrCat("http://", server->bound_address(), "/metrics");
  LogStartLine(absl::StrCat(program, ": metrics on ", url), program, server->bound_address(),
               "Prometheus /metrics");
  return server;
}

}  // namespace microledger
