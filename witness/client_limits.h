// The per-client limits both edges of ml-witness (witness_http.h,
// witness_grpc_service.h) put in front of Witness::AddCheckpoint: a request
// rate and a budget of new ledgers per client IP address (token buckets,
// client_rate_limiter.h). Refusals are kTooManyRequests and
// kTooManyNewLedgers (HTTP 429, gRPC RESOURCE_EXHAUSTED).
//
// Thread-safe; the limiters must outlive their use.
#ifndef MICROLEDGER_WITNESS_CLIENT_LIMITS_H_
#define MICROLEDGER_WITNESS_CLIENT_LIMITS_H_

#include <string>

#include "witness/add_checkpoint_request.h"
#include "serving/client_rate_limiter.h"
#include "witness/witness.h"

namespace microledger {

// A null limiter does not limit.
struct ClientLimits {
  ClientRateLimiter* requests = nullptr;     // Every add-checkpoint request.
  ClientRateLimiter* new_ledgers = nullptr;  // Requests that store a ledger's first checkpoint.
};

// Checks `client`'s request limit, then asks the witness, charging the
// new-ledger limit only when the request would store a ledger's first
// checkpoint.
AddCheckpointAnswer AddCheckpointForClient(Witness& witness, const AddCheckpointRequest& request,
                                           const std::string& client, const ClientLimits& limits);

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_CLIENT_LIMITS_H_
