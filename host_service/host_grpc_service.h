// The gRPC edge of the host: translates microledger.v1.HostService calls to
// LedgerHost and absl status codes to gRPC codes (they are numerically equal).
// Synchronous gRPC API: gRPC runs each call on a thread of its pool. Thread-safe.
#ifndef MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_
#define MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_

#include <cstddef>

#include "host_service/ledger_host.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {

grpc::Status ToGrpcStatus(const absl::Status& status);

class HostGrpcService final : public microledger::v1::HostService::Service {
 public:
  // `host` must outlive the service.
  HostGrpcService(LedgerHost* host, size_t max_inflight_per_stream)
      : host_(host), max_inflight_per_stream_(max_inflight_per_stream) {}

  grpc::Status CreateLedger(grpc::ServerContext* context,
                            const v1::CreateLedgerRequest* request,
                            v1::CreateLedgerResponse* response) override;
  grpc::Status Append(grpc::ServerContext* context, const v1::AppendRequest* request,
                      v1::AppendResponse* response) override;
  grpc::Status AppendStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::AppendStreamResponse, v1::AppendRequest>* stream)
      override;
  grpc::Status GetLedger(grpc::ServerContext* context,
                         const v1::GetLedgerRequest* request,
                         v1::GetLedgerResponse* response) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* context,
                             const v1::GetCheckpointRequest* request,
                             v1::GetCheckpointResponse* response) override;
  grpc::Status GetBlocks(grpc::ServerContext* context,
                         const v1::GetBlocksRequest* request,
                         grpc::ServerWriter<v1::GetBlocksResponse>* writer) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* context,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::GetInclusionProofResponse* response) override;
  grpc::Status GetConsistencyProof(grpc::ServerContext* context,
                                   const v1::GetConsistencyProofRequest* request,
                                   v1::GetConsistencyProofResponse* response) override;
  grpc::Status GetAttachment(grpc::ServerContext* context,
                             const v1::GetAttachmentRequest* request,
                             v1::GetAttachmentResponse* response) override;
  grpc::Status Subscribe(grpc::ServerContext* context,
                         const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override;
  grpc::Status ForgetLedger(grpc::ServerContext* context,
                            const v1::ForgetLedgerRequest* request,
                            v1::ForgetLedgerResponse* response) override;

 private:
  LedgerHost* host_;
  size_t max_inflight_per_stream_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_HOST_GRPC_SERVICE_H_
