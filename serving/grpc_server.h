// Runs one gRPC service the way the Micro Ledger servers do: health service,
// server reflection (v1alpha from gRPC and v1 from serving/reflection_v1.h),
// one start line "PROGRAM: listening on ADDRESS (DETAIL)" on stderr in every
// --log_format (tests and scripts parse it; port 0 becomes the bound port),
// then, on SIGINT or SIGTERM, a drain and a graceful shutdown.
//
// Health (grpc.health.v1), for Kubernetes probes:
// - liveness: the overall service "" answers SERVING while the process is up
//   (through the drain; NOT_SERVING only once the listener closes);
// - readiness: the served service by its full name (ServerConfig::
//   service_name, e.g. "microledger.v1.HostService",
//   "microledger.v1.OwnerAgentService", "microledger.v1.MirrorAdmin") answers
//   NOT_SERVING until the service is started and from the stop signal on.
// Each server opens its storage (or unlocks its keystore) before the served
// port listens, so before it is ready that port does not answer at all. The
// health port (HealthPort, --health_listen) answers from the first moment:
// liveness SERVING, readiness NOT_SERVING until the service has started; it
// is plaintext and serves only health, so Kubernetes' gRPC probes reach it
// even when the served port needs TLS or a bearer token.
// Stopping: at SIGINT or SIGTERM readiness turns NOT_SERVING at once; for
// --drain_seconds (default 0) calls are still served, so that load balancers
// remove the endpoint before the listener closes; then no new call is
// accepted and calls in flight (appends) get --shutdown_grace_seconds
// (default 5) to finish before they are cancelled.
// With --log_level=debug every call answered with an error is logged (event
// "call_failed": method and status code only, never the message, which may
// name a ledger).
//
// Listening is exclusive and checked before anything binds:
// - the address is parsed strictly (serving/listen_address.h);
// - a TCP port is bound without SO_REUSEPORT, so a second server on a busy port
//   fails ("address already in use") instead of sharing the port's connections;
// - a Unix socket lives in a directory owned by this user and closed to group
//   and other (created mode 0700 when missing; an existing directory with any
//   group or other permission is refused), is created mode 0600 whatever the
//   umask, and is guarded by an flock on PATH.lock beside it: a server that
//   finds the lock held or a live server answering on PATH refuses to start;
//   only a stale socket (nobody listening) is removed.
//
// A request that cannot be parsed (malformed protobuf, or invalid UTF-8 in a
// proto3 `string` field, which protobuf refuses) is answered INVALID_ARGUMENT
// with a message for unary and server-streaming methods; gRPC 1.51 itself
// answers INTERNAL (sync API) or UNIMPLEMENTED (callback API) with no message.
// A message larger than max_receive_message_bytes is answered by gRPC with
// RESOURCE_EXHAUSTED "... larger than max (N vs. LIMIT)".
//
// Thread-safety: ServeUntilStopSignal runs once per process, from main.
#ifndef MICROLEDGER_SERVING_GRPC_SERVER_H_
#define MICROLEDGER_SERVING_GRPC_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "serving/metrics.h"

namespace microledger {

// Blocks SIGINT and SIGTERM in the calling thread, so that every thread started
// later inherits the mask and only ServeUntilStopSignal receives them. Call it
// first in main.
void BlockStopSignals();

class HealthPort;

struct ServerConfig {
  std::string program;  // Start-line prefix, e.g. "ml-host".
  std::string listen;   // HOST:PORT or unix:PATH (serving/listen_address.h).
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Largest request message; larger ones are answered RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 4 << 20;
  // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open
  // at once; a client's further calls wait for one to end.
  int max_concurrent_streams_per_connection = 256;
  std::string detail;  // Shown in parentheses in the start line.
  // The served service's full name (e.g. "microledger.v1.HostService"): its
  // readiness in health and its name in reflection's service list.
  std::string service_name;
  // When set, every call is counted in it (serving/grpc_metrics.h); it must
  // outlive the serve call. Servers may share one registry.
  MetricsRegistry* metrics = nullptr;
  // When set, readiness there follows this server's (HealthPort below).
  HealthPort* health_port = nullptr;
  // When set, called once at shutdown after the drain, just before calls in
  // flight get their grace period: a service answers there what its calls
  // still wait for (the agent's waits for witnesses), so they can finish.
  std::function<void()> on_stopping;
};

// Serves `service` until a stop signal arrives. InvalidArgument for a bad
// address or limit, FailedPrecondition for an unsafe Unix socket directory,
// Unavailable when the address is in use or cannot be bound; each message is
// one line naming the address.
absl::Status ServeUntilStopSignal(grpc::Service* service, const ServerConfig& config);

// Several servers, each with its own address, service and start line (so a
// service on one address is not reachable on the other: the mirror's admin
// API); started in order, stopped together on the first stop signal. If one
// cannot start, those already started are stopped and its error returned.
struct ServedService {
  grpc::Service* service;
  ServerConfig config;
};
absl::Status ServeUntilStopSignal(const std::vector<ServedService>& services);

// A second, plaintext gRPC listener that answers only grpc.health.v1, for
// probes that cannot use the served port (the kubelet's gRPC probe speaks
// neither TLS nor bearer tokens) and for the time before it listens. A
// server starts it first in main, before it opens storage or unlocks its
// keystore; from then on:
// - liveness, the overall service "", answers SERVING (the process is up);
// - readiness, each served service by its full name, answers NOT_SERVING
//   until ServeUntilStopSignal has started that service (storage open,
//   listener bound), then SERVING, and NOT_SERVING again from the stop signal
//   on (through the drain), as the served port's own health service does.
// It serves nothing else (no reflection, no call, nothing secret), so any
// address is accepted, with the same strict parsing and exclusive binding as
// every listener; its start line is "PROGRAM: health checks on ADDRESS".
// Thread-safety: SetReady may be called from any thread.
class HealthPort {
 public:
  // Listens on `listen` for `program` with readiness names `service_names`,
  // all NOT_SERVING. Errors as ServeUntilStopSignal's.
  static absl::StatusOr<std::unique_ptr<HealthPort>> Start(
      const std::string& program, const std::string& listen,
      const std::vector<std::string>& service_names);
  // Start on --health_listen; null when the flag is empty (the default).
  static absl::StatusOr<std::unique_ptr<HealthPort>> StartFromFlag(
      const std::string& program, const std::vector<std::string>& service_names);

  HealthPort(const HealthPort&) = delete;
  HealthPort& operator=(const HealthPort&) = delete;
  ~HealthPort();  // Stops the listener.

  void SetReady(const std::string& service_name, bool ready);

 private:
  struct Listener;
  explicit HealthPort(std::unique_ptr<Listener> listener);
  std::unique_ptr<Listener> listener_;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_GRPC_SERVER_H_
