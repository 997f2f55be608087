// The gRPC edge of the host: translates microledger.v1.HostService calls to
// LedgerHost and absl status codes to gRPC codes (they are numerically equal).
// Every read call is answered by LedgerReadService (ledger_store/
// read_service.h), the read side the mirror shares.
//
// gRPC callback API: no thread is held per call. Append hands the request to LedgerHost::AppendAsync and
// finishes the call when the commit completes (on the committer thread).
// AppendStream is a bidi reactor: each request is parsed once (by
// LedgerHost), appended asynchronously, and replies are written one at a
// time in request order as their commits complete; at most
// max_inflight_per_stream requests are unanswered before the reactor stops
// reading. Admission control (admission_control.h) bounds appends in flight
// (unary, and unanswered AppendStream requests, which are answered
// RESOURCE_EXHAUSTED one by one while the stream goes on), their bytes, and
// the AppendStream and Subscribe streams open, per connection and in total;
// a refused call or request changes nothing. Thread-safe.
#ifndef MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_
#define MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_

#include <cstddef>

#include "host_service/ledger_host.h"
#include "ledger_store/read_service.h"
#include "serving/admission_control.h"
#include "serving/grpc_status.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {


class HostGrpcService final : public microledger::v1::HostService::CallbackService {
 public:
  // `host` must outlive the service.
  // `announcer` (may be null) is told of reads (see LedgerReadService);
  // `read_metrics` (may be null) counts them and must outlive the service.
  HostGrpcService(LedgerHost* host, size_t max_inflight_per_stream,
                  const AdmissionLimits& limits = AdmissionLimits(),
                  LocatorAnnouncer* announcer = nullptr,
                  const ReadMetrics* read_metrics = nullptr)
      : host_(host),
        max_inflight_per_stream_(max_inflight_per_stream == 0 ? 1
                                                              : max_inflight_per_stream),
        admission_(limits),
        reads_(&host->reader(), &admission_, announcer, read_metrics) {}

  // Calls, streams and subscriptions admitted now (for metrics).
  AdmissionControl::Usage admission_usage() const { return admission_.usage(); }

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
                                      v1::GetLedgerResponse* response) override {
    return reads_.GetLedger(context, request, response);
  }
  grpc::ServerUnaryReactor* GetCheckpoint(grpc::CallbackServerContext* context,
                                          const v1::GetCheckpointRequest* request,
                                          v1::GetCheckpointResponse* response) override {
    return reads_.GetCheckpoint(context, request, response);
  }
  grpc::ServerWriteReactor<v1::GetBlocksResponse>* GetBlocks(
      grpc::CallbackServerContext* context, const v1::GetBlocksRequest* request) override {
    return reads_.GetBlocks(context, request);
  }
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
      v1::GetInclusionProofResponse* response) override {
    return reads_.GetInclusionProof(context, request, response);
  }
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
      v1::GetConsistencyProofResponse* response) override {
    return reads_.GetConsistencyProof(context, request, response);
  }
  grpc::ServerUnaryReactor* GetAttachment(grpc::CallbackServerContext* context,
                                          const v1::GetAttachmentRequest* request,
                                          v1::GetAttachmentResponse* response) override {
    return reads_.GetAttachment(context, request, response);
  }
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override {
    return reads_.Subscribe(context, request);
  }
  grpc::ServerUnaryReactor* ForgetLedger(grpc::CallbackServerContext* context,
                                         const v1::ForgetLedgerRequest* request,
                                         v1::ForgetLedgerResponse* response) override;
  grpc::ServerUnaryReactor* ReportEquivocation(
      grpc::CallbackServerContext* context, const v1::ReportEquivocationRequest* request,
      v1::ReportEquivocationResponse* response) override;
  grpc::ServerUnaryReactor* GetLedgerEvidence(
      grpc::CallbackServerContext* context, const v1::GetLedgerEvidenceRequest* request,
      v1::GetLedgerEvidenceResponse* response) override {
    return reads_.GetLedgerEvidence(context, request, response);
  }

 private:
  LedgerHost* host_;
  size_t max_inflight_per_stream_;
  AdmissionControl admission_;
  LedgerReadService reads_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_
