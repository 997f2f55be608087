// Runs one gRPC service the way both Micro Ledger servers do: health service
// and server reflection on, one start line "PROGRAM: listening on ADDRESS
// (DETAIL)" on stderr (tests and scripts parse it; port 0 becomes the bound
// port), then, on SIGINT or SIGTERM, a graceful shutdown with a short grace
// period for calls in flight.
#ifndef MICROLEDGER_SERVING_GRPC_SERVER_H_
#define MICROLEDGER_SERVING_GRPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace microledger {

// Blocks SIGINT and SIGTERM in the calling thread, so that every thread started
// later inherits the mask and only ServeUntilStopSignal receives them. Call it
// first in main.
void BlockStopSignals();

struct ServerConfig {
  std::string program;  // Start-line prefix, e.g. "ml-host".
  std::string listen;   // HOST:PORT or unix:PATH.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  int max_receive_message_bytes = 4 << 20;
  std::string detail;  // Shown in parentheses in the start line.
};

// Serves `service` until a stop signal arrives; Unavailable if it cannot listen.
absl::Status ServeUntilStopSignal(grpc::Service* service, const ServerConfig& config);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_GRPC_SERVER_H_
