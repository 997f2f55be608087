#include "serving/grpc_metrics.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace microledger {
namespace {

using Type = grpc::experimental::ServerRpcInfo::Type;

const char* TypeLabel(Type type) {
  switch (type) {
    case Type::UNARY:
      return "unary";
    case Type::CLIENT_STREAMING:
      return "client_stream";
    case Type::SERVER_STREAMING:
      return "server_stream";
    case Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// {service, method} of "/package.Service/Method" when a compiled-in service
// defines it (gRPC's own health service has no protobuf descriptor here), else
// {"unknown", "unknown"}.
std::pair<std::string, std::string> ServiceAndMethod(const std::string& full_method) {
  const size_t slash = full_method.rfind('/');
  if (full_method.empty() || full_method[0] != '/' || slash == 0 || slash == std::string::npos) {
    return {"unknown", "unknown"};
  }
  std::string service = full_method.substr(1, slash - 1);
  std::string method = full_method.substr(slash + 1);
  const bool health = service == "grpc.health.v1.Health" && (method == "Check" || method == "Watch");
  if (!health && google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
                     absl::StrCat(service, ".", method)) == nullptr) {
    return {"unknown", "unknown"};
  }
  return {std::move(service), std::move(method)};
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics& metrics, GrpcServerMetrics::Method& method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {
    method_.started->Increment();
  }

  // A call that ends without sending a status (the client went away) counts
  // as Canceled.
  ~MetricsInterceptor() override {
    if (!handled_) Handled(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      method_.received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) method_.sent->Increment();
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS) && !handled_) {
      Handled(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Handled(grpc::StatusCode code) {
    handled_ = true;
    metrics_.Handled(method_, code).Increment();
    method_.handling_seconds->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

  GrpcServerMetrics& metrics_;
  GrpcServerMetrics::Method& method_;
  const std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcServerMetrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, metrics_.ForMethod(info->method(), info->type()));
  }

 private:
  GrpcServerMetrics& metrics_;
};

}  // namespace

const char* GrpcCodeName(grpc::StatusCode code) { return StatusCodeName(static_cast<int>(code)); }

GrpcServerMetrics::GrpcServerMetrics(MetricsRegistry& registry)
    : started_(registry.AddCounter("grpc_server_started_total",
                                   "Total number of RPCs started on the server.",
                                   {"grpc_type", "grpc_service", "grpc_method"})),
      handled_(registry.AddCounter(
          "grpc_server_handled_total",
          "Total number of RPCs completed on the server, regardless of success or failure.",
          {"grpc_type", "grpc_service", "grpc_method", "grpc_code"})),
      handling_seconds_(registry.AddHistogram(
          "grpc_server_handling_seconds",
          "Histogram of response latency (seconds) of gRPC that had been application-level "
          "handled by the server.",
          {"grpc_type", "grpc_service", "grpc_method"}, LatencySecondsBuckets())),
      received_(registry.AddCounter("grpc_server_msg_received_total",
                                    "Total number of RPC stream messages received on the server.",
                                    {"grpc_type", "grpc_service", "grpc_method"})),
      sent_(registry.AddCounter("grpc_server_msg_sent_total",
                                "Total number of gRPC stream messages sent by the server.",
                                {"grpc_type", "grpc_service", "grpc_method"})) {}

GrpcServerMetrics::Method& GrpcServerMetrics::ForMethod(const std::string& full_method,
                                                        Type type) {
  absl::MutexLock lock(&mu_);
  const int type_key = static_cast<int>(type);
  if (auto found = methods_.find({full_method, type_key}); found != methods_.end()) {
    return *found->second;
  }
  auto [service_name, method_name] = ServiceAndMethod(full_method);
  // Every unknown name shares the one "unknown" entry of its call type.
  const std::string key = service_name == "unknown" ? std::string("unknown") : full_method;
  std::unique_ptr<Method>& method = methods_[{key, type_key}];
  if (method == nullptr) {
    method = std::make_unique<Method>();
    method->labels = {TypeLabel(type), std::move(service_name), std::move(method_name)};
    method->started = &started_.WithLabels(method->labels);
    method->received = &received_.WithLabels(method->labels);
    method->sent = &sent_.WithLabels(method->labels);
    method->handling_seconds = &handling_seconds_.WithLabels(method->labels);
  }
  return *method;
}

Counter& GrpcServerMetrics::Handled(Method& method, grpc::StatusCode code) {
  const int index = static_cast<int>(code) >= 0 && static_cast<int>(code) < 17
                        ? static_cast<int>(code)
                        : static_cast<int>(grpc::StatusCode::UNKNOWN);
  Counter* counter = method.handled[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    std::vector<std::string> labels = method.labels;
    labels.push_back(StatusCodeName(index));
    counter = &handled_.WithLabels(labels);
    method.handled[index].store(counter, std::memory_order_release);
  }
  return *counter;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(*this);
}

}  // namespace microledger
