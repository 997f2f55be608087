// ml-witness's gRPC edge: microledger.v1.WitnessService over Witness, with the
// status mapping documented in proto/microledger/v1/witness.proto and the same
// per-client limits as the HTTP edge (by the peer's IP address).
//
// Thread-safe; the witness, the limiters and the metrics must outlive the
// service.
#ifndef MICROLEDGER_WITNESS_WITNESS_GRPC_SERVICE_H_
#define MICROLEDGER_WITNESS_WITNESS_GRPC_SERVICE_H_

#include "microledger/v1/witness.grpc.pb.h"
#include "witness/witness.h"
#include "witness/client_limits.h"
#include "witness/witness_metrics.h"

namespace microledger {

class WitnessGrpcService final : public v1::WitnessService::CallbackService {
 public:
  // `metrics` may be null.
  WitnessGrpcService(Witness* witness, ClientLimits limits, WitnessMetrics* metrics)
      : witness_(witness), limits_(limits), metrics_(metrics) {}

  grpc::ServerUnaryReactor* AddCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::AddCheckpointRequest* request,
                                          v1::AddCheckpointResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetWitnessedCheckpointRequest* request,
                                          v1::GetWitnessedCheckpointResponse* response) override;
  grpc::ServerUnaryReactor* GetEvidence(grpc::CallbackServerContext* context,
                                        const v1::GetWitnessEvidenceRequest* request,
                                        v1::GetWitnessEvidenceResponse* response) override;

 private:
  Witness* const witness_;
  const ClientLimits limits_;
  WitnessMetrics* const metrics_;
};

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_WITNESS_GRPC_SERVICE_H_
