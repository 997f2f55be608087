// The one conversion between absl::Status (inside both services) and
// grpc::Status (at their edges). The codes are numerically equal; the
// message is kept. Thread-safe (pure functions).
#ifndef MICROLEDGER_SERVING_GRPC_STATUS_H_
#define MICROLEDGER_SERVING_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace microledger {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_GRPC_STATUS_H_
