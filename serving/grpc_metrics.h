// gRPC server metrics with the names and labels of go-grpc-prometheus, so
// existing dashboards and alerts work unchanged:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
// grpc_type is unary, client_stream, server_stream or bidi_stream; grpc_code
// the canonical code name (OK, InvalidArgument, ...). A method name that no
// compiled-in service defines (a client may send any path) is counted as
// grpc_service="unknown", grpc_method="unknown", so labels stay bounded.
//
// Recorded by a server interceptor: ServeUntilStopSignal (serving/
// grpc_server.h) installs one for every server whose ServerConfig has a
// metrics registry.
//
// Thread safety: the factory is thread-safe; each call's interceptor is used
// by one call. Per-method children are looked up once per method and cached.
#ifndef MICROLEDGER_SERVING_GRPC_METRICS_H_
#define MICROLEDGER_SERVING_GRPC_METRICS_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "serving/metrics.h"

namespace microledger {

// go-grpc-prometheus's name of a status code ("OK", "InvalidArgument", ...).
const char* GrpcCodeName(grpc::StatusCode code);

class GrpcServerMetrics {
 public:
  explicit GrpcServerMetrics(MetricsRegistry& registry);

  // The children of one method and call type.
  struct Method {
    Counter* started = nullptr;
    Counter* received = nullptr;
    Counter* sent = nullptr;
    Histogram* handling_seconds = nullptr;
    // One per status code 0..16, made on first use.
    std::array<std::atomic<Counter*>, 17> handled{};
    std::vector<std::string> labels;  // grpc_type, grpc_service, grpc_method.
  };
  // `full_method` as gRPC gives it: "/package.Service/Method".
  Method& ForMethod(const std::string& full_method,
                    grpc::experimental::ServerRpcInfo::Type type);
  Counter& Handled(Method& method, grpc::StatusCode code);

  // A factory for ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  CounterFamily& started_;
  CounterFamily& handled_;
  HistogramFamily& handling_seconds_;
  CounterFamily& received_;
  CounterFamily& sent_;
  absl::Mutex mu_;
  std::map<std::pair<std::string, int>, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_GRPC_METRICS_H_
