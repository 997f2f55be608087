// The mirror's public gRPC edge: microledger.v1.HostService for the ledgers
// the mirror holds. Reads go to LedgerReadService (ledger_store/
// read_service.h), the host's own read code, after Mirror has made sure the
// blocks asked for are held (fetching them for a sparse ledger, or refusing
// with FAILED_PRECONDITION naming the held ranges); a sparse ledger's proofs
// come from Mirror's verified upstream proofs. CreateLedger, Append and
// AppendStream answer FAILED_PRECONDITION ("read-only mirror"). ForgetLedger
// and ReportEquivocation act on the mirror's copy. GetLedger lists the held
// ranges. Thread-safe.
#ifndef MICROLEDGER_MIRROR_MIRROR_GRPC_SERVICE_H_
#define MICROLEDGER_MIRROR_MIRROR_GRPC_SERVICE_H_

#include "ledger_store/read_service.h"
#include "microledger/v1/host.grpc.pb.h"
#include "mirror/mirror.h"
#include "serving/admission_control.h"

namespace microledger {

class MirrorGrpcService final : public v1::HostService::CallbackService {
 public:
  // `mirror` must outlive the service.
  // `read_metrics` (may be null) counts reads and must outlive the service.
  MirrorGrpcService(Mirror* mirror, const AdmissionLimits& limits,
                    const ReadMetrics* read_metrics = nullptr)
      : mirror_(mirror),
        admission_(limits),
        reads_(&mirror->reader(), &admission_, nullptr, read_metrics) {}

  grpc::ServerUnaryReactor* CreateLedger(grpc::CallbackServerContext* context,
                                         const v1::CreateLedgerRequest* request,
                                         v1::CreateLedgerResponse* response) override;
  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const v1::AppendRequest* request,
                                   v1::AppendResponse* response) override;
  grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamResponse>* AppendStream(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetLedger(grpc::CallbackServerContext* context,
                                      const v1::GetLedgerRequest* request,
                                      v1::GetLedgerResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetCheckpointRequest* request,
                                          v1::GetCheckpointResponse* response) override;
  grpc::ServerWriteReactor<v1::GetBlocksResponse>* GetBlocks(
      grpc::CallbackServerContext* context, const v1::GetBlocksRequest* request) override;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
      v1::GetInclusionProofResponse* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
      v1::GetConsistencyProofResponse* response) override;
  grpc::ServerUnaryReactor* GetAttachment(grpc::CallbackServerContext* context,
                                          const v1::GetAttachmentRequest* request,
                                          v1::GetAttachmentResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* ForgetLedger(grpc::CallbackServerContext* context,
                                         const v1::ForgetLedgerRequest* request,
                                         v1::ForgetLedgerResponse* response) override;
  grpc::ServerUnaryReactor* ReportEquivocation(
      grpc::CallbackServerContext* context, const v1::ReportEquivocationRequest* request,
      v1::ReportEquivocationResponse* response) override;
  grpc::ServerUnaryReactor* GetLedgerEvidence(
      grpc::CallbackServerContext* context, const v1::GetLedgerEvidenceRequest* request,
      v1::GetLedgerEvidenceResponse* response) override;

 private:
  Mirror* const mirror_;
  AdmissionControl admission_;
  LedgerReadService reads_;
};

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_MIRROR_GRPC_SERVICE_H_
