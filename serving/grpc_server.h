// Runs one gRPC service the way both Micro Ledger servers do: health service
// and server reflection on, one start line "PROGRAM: listening on ADDRESS
// (DETAIL)" on stderr (tests and scripts parse it; port 0 becomes the bound
// port), then, on SIGINT or SIGTERM, a graceful shutdown with a short grace
// period for calls in flight.
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
#ifndef MICROLEDGER_SERVING_GRPC_SERVER_H_
#define MICROLEDGER_SERVING_GRPC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "serving/metrics.h"

namespace microledger {

// Blocks SIGINT and SIGTERM in the calling thread, so that every thread started
// later inherits the mask and only ServeUntilStopSignal receives them. Call it
// first in main.
void BlockStopSignals();

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
  // When set, every call is counted in it (serving/grpc_metrics.h); it must
  // outlive the serve call. Servers may share one registry.
  MetricsRegistry* metrics = nullptr;
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

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_GRPC_SERVER_H_
