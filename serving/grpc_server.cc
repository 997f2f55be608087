#include "serving/grpc_server.h"

#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/support/server_interceptor.h"
#include "serving/command_line.h"
#include "serving/grpc_metrics.h"
#include "serving/listen_address.h"
#include "serving/log.h"
#include "serving/reflection_v1.h"
#include "serving/unix_socket_claim.h"

ABSL_FLAG(int64_t, drain_seconds, 0,
          "at SIGTERM or SIGINT: seconds during which health answers NOT_SERVING for "
          "the served service but calls are still served, before the listener "
          "closes (a few seconds under Kubernetes, so the endpoint is removed first)");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT or unix:PATH of a plaintext listener that answers only gRPC health, "
          "from before storage is open: \"\" (liveness) SERVING while the process runs, "
          "the served service's name (readiness) SERVING only while it serves; for "
          "probes that speak no TLS (Kubernetes). Empty: none");
ABSL_FLAG(int64_t, shutdown_grace_seconds, 5,
          "after the drain: seconds calls in flight (appends) get to finish before "
          "they are cancelled; no new call is accepted meanwhile");

namespace microledger {
namespace {

// Logs every call answered with an error (debug level): the method and the
// status code, never the message (it may name a ledger).
class FailedCallLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit FailedCallLogInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::StatusCode code = methods->GetSendStatus().error_code();
      if (code != grpc::StatusCode::OK) {
        Log(LogLevel::kDebug, "call_failed", "call answered with an error",
            {{"method", method_},
             {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}});
      }
    }
    methods->Proceed();
  }

 private:
  const char* const method_;
};

class FailedCallLogInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (!LogEnabled(LogLevel::kDebug)) return nullptr;
    return new FailedCallLogInterceptor(info->method());
  }
};

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

// Answers a call whose request message could not be parsed with
// INVALID_ARGUMENT and a message. gRPC hands the interceptor no request
// (POST_RECV_MESSAGE with a null message) when parsing failed; only unary and
// server-streaming calls are watched, because for them exactly one request is
// expected, while a null message on a client stream is also its normal end.
class UnparsableRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit UnparsableRequestInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      request_unparsable_ = true;
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS) && request_unparsable_) {
      const grpc::StatusCode code = methods->GetSendStatus().error_code();
      if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNIMPLEMENTED) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("the request to ", method_,
                         " is not a valid message: malformed protobuf, or a string field "
                         "holding invalid UTF-8 (proto3 string fields must be UTF-8)")));
      }
    }
    methods->Proceed();
  }

 private:
  const char* const method_;
  bool request_unparsable_ = false;
};

class UnparsableRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    if (info->type() != Type::UNARY && info->type() != Type::SERVER_STREAMING) return nullptr;
    return new UnparsableRequestInterceptor(info->method());
  }
};

// Why binding `address` fails, found by binding it ourselves (the way gRPC
// does, with SO_REUSEADDR but without SO_REUSEPORT): errno text, or empty
// when it binds.
std::string BindFailureReason(const ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int error = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &results);
      error != 0) {
    return gai_strerror(error);
  }
  std::string reason;
  for (addrinfo* entry = results; entry != nullptr && reason.empty(); entry = entry->ai_next) {
    const int fd = socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, entry->ai_addr, entry->ai_addrlen) != 0) reason = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(results);
  return reason;
}

absl::Status CheckLimits(const ServerConfig& config) {
  if (config.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError("the largest request message must be at least 1 byte");
  }
  if (config.max_concurrent_streams_per_connection <= 0) {
    return absl::InvalidArgumentError("concurrent streams per connection must be at least 1");
  }
  return absl::OkStatus();
}

}  // namespace

void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

namespace {

struct StartedServer {
  // Declared before `server`, which uses it, so it is destroyed after.
  std::unique_ptr<ReflectionV1Service> reflection_v1;
  // Declared before the server, so that it outlives the server's calls.
  std::unique_ptr<GrpcServerMetrics> metrics;
  std::unique_ptr<grpc::Server> server;
  std::optional<UnixSocketClaim> claim;
  std::string service_name;
  HealthPort* health_port = nullptr;
  std::function<void()> on_stopping;

  // Readiness of the served service, here and on the health port.
  void SetReady(bool ready) const {
    if (service_name.empty()) return;
    server->GetHealthCheckService()->SetServingStatus(service_name, ready);
    if (health_port != nullptr) health_port->SetReady(service_name, ready);
  }
};

// The services reflection lists for a server of `config`.
std::vector<std::string> ListedServices(const ServerConfig& config) {
  std::vector<std::string> names = {"grpc.health.v1.Health",
                                    "grpc.reflection.v1.ServerReflection",
                                    "grpc.reflection.v1alpha.ServerReflection"};
  if (!config.service_name.empty()) names.insert(names.begin(), config.service_name);
  return names;
}

// The start line, as it is in every format (the first line a server writes
// once its configuration is accepted: some clients read only that line), in
// JSON also as a "listen" event; after the first start line the "start"
// event (the effective configuration), once.
void LogListening(const ServerConfig& config, const std::string& bound) {
  LogStartLine(absl::StrCat(config.program, ": listening on ", bound, " (", config.detail, ")"),
               config.program, bound, config.detail);
  static bool start_logged = false;
  if (!start_logged) {
    start_logged = true;
    LogStartEvent();
  }
}

// After BuildAndStart: checks that the server listens, restricts its Unix
// socket, sets health (the served service ready; a health-only server's
// `health_names` not ready) and prints the start line.
absl::StatusOr<StartedServer> FinishStart(StartedServer started, const ListenAddress& address,
                                          const ServerConfig& config, int selected_port,
                                          bool health_only,
                                          const std::vector<std::string>& health_names) {
  const bool unix_socket = address.kind == ListenAddress::Kind::kUnix;
  if (started.server == nullptr || (!unix_socket && selected_port == 0)) {
    const std::string reason = unix_socket ? "" : BindFailureReason(address);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen,
                                               reason.empty() ? "" : ": ", reason));
  }
  if (unix_socket) {
    if (absl::Status restricted = started.claim->RestrictSocketMode(); !restricted.ok()) {
      started.server->Shutdown();
      return restricted;
    }
  }
  const std::string bound =
      unix_socket ? config.listen
                  : absl::StrCat(config.listen.substr(0, config.listen.rfind(':')), ":",
                                 selected_port);
  if (health_only) {
    for (const std::string& name : health_names) {
      started.server->GetHealthCheckService()->SetServingStatus(name, false);
    }
    LogStartLine(absl::StrCat(config.program, ": health checks on ", bound), config.program, bound,
                 "grpc.health.v1 only");
    return started;
  }
  started.SetReady(true);
  LogListening(config, bound);
  return started;
}

// Checks and claims the address, starts the server and prints its start line.
// A null `service` makes a health-only server (HealthPort): no reflection, no
// interceptors, every name in `health_names` NOT_SERVING.
absl::StatusOr<StartedServer> StartServer(grpc::Service* service, const ServerConfig& config,
                                          const std::vector<std::string>& health_names = {}) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(config.listen);
  if (!address.ok()) return address.status();
  if (absl::Status limits = CheckLimits(config); !limits.ok()) return limits;
  const bool unix_socket = address->kind == ListenAddress::Kind::kUnix;
  StartedServer started;
  if (unix_socket) {
    absl::StatusOr<UnixSocketClaim> claimed = UnixSocketClaim::Claim(address->path);
    if (!claimed.ok()) return claimed.status();
    started.claim.emplace(*std::move(claimed));
  }

  // A busy port is found before gRPC tries it (gRPC would log a multi-line
  // error of its own); the check after BuildAndStart covers a race with another
  // process.
  if (!unix_socket && address->port != 0) {
    if (const std::string reason = BindFailureReason(*address); !reason.empty()) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen, ": ", reason));
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  if (service != nullptr) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen, config.credentials, &selected_port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config.max_concurrent_streams_per_connection);
  builder.SetMaxReceiveMessageSize(config.max_receive_message_bytes);
  if (service == nullptr) {
    started.server = builder.BuildAndStart();
    return FinishStart(std::move(started), *address, config, selected_port, true, health_names);
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<UnparsableRequestInterceptorFactory>());
  interceptors.push_back(std::make_unique<FailedCallLogInterceptorFactory>());
  // After the one above, so that it sees the status that is sent.
  if (config.metrics != nullptr) {
    started.metrics = std::make_unique<GrpcServerMetrics>(*config.metrics);
    interceptors.push_back(started.metrics->InterceptorFactory());
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(service);
  started.reflection_v1 = std::make_unique<ReflectionV1Service>(ListedServices(config));
  builder.RegisterService(started.reflection_v1.get());
  started.service_name = config.service_name;
  started.health_port = config.health_port;
  started.on_stopping = config.on_stopping;
  started.server = builder.BuildAndStart();
  return FinishStart(std::move(started), *address, config, selected_port, false, {});
}

}  // namespace

absl::Status ServeUntilStopSignal(grpc::Service* service, const ServerConfig& config) {
  return ServeUntilStopSignal({ServedService{service, config}});
}

absl::Status ServeUntilStopSignal(const std::vector<ServedService>& services) {
  std::vector<StartedServer> servers;
  for (const ServedService& served : services) {
    absl::StatusOr<StartedServer> started = StartServer(served.service, served.config);
    if (!started.ok()) {
      for (StartedServer& running : servers) running.server->Shutdown();
      return started.status();
    }
    servers.push_back(*std::move(started));
  }
  std::thread stopper([&servers] {
    const sigset_t signals = StopSignals();
    int signal = 0;
    sigwait(&signals, &signal);
    Log(LogLevel::kInfo, "stop", absl::StrCat("signal ", signal, ", shutting down"));
    for (const StartedServer& running : servers) running.SetReady(false);
    const int64_t drain_seconds = std::max<int64_t>(0, absl::GetFlag(FLAGS_drain_seconds));
    if (drain_seconds > 0) {
      Log(LogLevel::kInfo, "drain",
          absl::StrCat("draining for ", drain_seconds,
                       " s: health says NOT_SERVING, calls are still served"));
      absl::SleepFor(absl::Seconds(drain_seconds));
    }
    for (const StartedServer& running : servers) {
      if (running.on_stopping) running.on_stopping();
    }
    const auto deadline =
        std::chrono::system_clock::now() +
        std::chrono::seconds(std::max<int64_t>(0, absl::GetFlag(FLAGS_shutdown_grace_seconds)));
    for (StartedServer& running : servers) running.server->Shutdown(deadline);
  });
  for (StartedServer& running : servers) running.server->Wait();
  stopper.join();
  Log(LogLevel::kInfo, "stopped", "stopped");
  return absl::OkStatus();
}

struct HealthPort::Listener {
  StartedServer server;
};

HealthPort::HealthPort(std::unique_ptr<Listener> listener) : listener_(std::move(listener)) {}

HealthPort::~HealthPort() {
  listener_->server.server->Shutdown(std::chrono::system_clock::now());
  listener_->server.server->Wait();
}

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::Start(
    const std::string& program, const std::string& listen,
    const std::vector<std::string>& service_names) {
  ServerConfig config;
  config.program = program;
  config.listen = listen;
  config.credentials = grpc::InsecureServerCredentials();
  absl::StatusOr<StartedServer> started = StartServer(nullptr, config, service_names);
  if (!started.ok()) return started.status();
  return std::unique_ptr<HealthPort>(
      new HealthPort(std::make_unique<Listener>(Listener{*std::move(started)})));
}

absl::StatusOr<std::unique_ptr<HealthPort>> HealthPort::StartFromFlag(
    const std::string& program, const std::vector<std::string>& service_names) {
  const std::string listen = absl::GetFlag(FLAGS_health_listen);
  if (listen.empty()) return std::unique_ptr<HealthPort>();
  return Start(program, listen, service_names);
}

void HealthPort::SetReady(const std::string& service_name, bool ready) {
  listener_->server.server->GetHealthCheckService()->SetServingStatus(service_name, ready);
}

}  // namespace microledger
