// The gRPC edge of the host: translates microledger.v1.HostService calls to
// LedgerHost and absl status codes to gRPC codes (they are numerically equal).
//
// gRPC callback API: no thread is held per call. Reads (GetLedger,
// GetCheckpoint, proofs, GetAttachment) run inline on gRPC's callback thread
// and finish there. Append hands the request to LedgerHost::AppendAsync and
// finishes the call when the commit completes (on the committer thread).
// AppendStream is a bidi reactor: each request is parsed once (by
// LedgerHost), appended asynchronously, and replies are written one at a
// time in request order as their commits complete; at most
// max_inflight_per_stream requests are unanswered before the reactor stops
// reading. GetBlocks is a write reactor that reads blocks 64 at a time (one
// storage scan) and sends up to 256 per message; Subscribe is a write reactor
// that reads one block per completed write and, once caught up, registers a
// waiter on the ledger's committed head (LedgerHost::WatchLedger) instead of
// holding a thread. Admission control (admission_control.h) bounds appends in flight
// (unary, and unanswered AppendStream requests, which are answered
// RESOURCE_EXHAUSTED one by one while the stream goes on), their bytes, and
// the AppendStream and Subscribe streams open, per connection and in total;
// a refused call or request changes nothing. Thread-safe.
#ifndef MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_
#define MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_

#include <cstddef>

#include "host_service/admission_control.h"
#include "host_service/ledger_host.h"
#include "serving/grpc_status.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {


class HostGrpcService final : public microledger::v1::HostService::CallbackService {
 public:
  // `host` must outlive the service.
  HostGrpcService(LedgerHost* host, size_t max_inflight_per_stream,
                  const AdmissionLimits& limits = AdmissionLimits())
      : host_(host),
        max_inflight_per_stream_(max_inflight_per_stream == 0 ? 1
                                                              : max_inflight_per_stream),
        admission_(limits) {}

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

 private:
  LedgerHost* host_;
  size_t max_inflight_per_stream_;
  AdmissionControl admission_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_
