#include "serving/metrics_http.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

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
  std::fprintf(stderr, "%s: metrics on http://%s/metrics\n", program.c_str(),
               server->bound_address().c_str());
  std::fflush(stderr);
  return server;
}

}  // namespace microledger
