// microledger.v1.OwnerAgentService over an OwnerAgent: converts statuses at
// the edge and checks the bearer token ("authorization: Bearer <token>") when
// one is configured. AppendEvent, the hot path, uses the gRPC callback API:
// an append waiting for the host's reply holds no thread (the reply is
// verified and the call finished on the host stream's reader thread); the
// other methods are synchronous (AppendEvents holds a server thread for its
// stream while it reads events and waits for room in its pipeline). It bounds the AppendEvent calls in progress
// and the ExportLedger streams open, over all connections; a call above a
// bound is answered RESOURCE_EXHAUSTED naming the ml-owner flag that sets it,
// before it costs anything. Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_OWNER_GRPC_SERVICE_H_
#define MICROLEDGER_OWNER_AGENT_OWNER_GRPC_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "microledger/v1/owner.grpc.pb.h"
#include "owner_agent/owner_agent.h"

namespace microledger {

struct OwnerServiceLimits {
  // AppendEvent calls and AppendEvents streams accepted and not yet answered
  // (--max_concurrent_appends).
  int64_t max_concurrent_appends = 1024;
  // ExportLedger streams open at once (--max_concurrent_exports); each holds a
  // server thread while it reads the ledger from its host.
  int64_t max_concurrent_exports = 64;
};

class OwnerGrpcService final
    : public v1::OwnerAgentService::WithCallbackMethod_AppendEvent<
          v1::OwnerAgentService::Service> {
 public:
  // `token` empty = no authentication (loopback / Unix socket use).
  OwnerGrpcService(OwnerAgent* agent, std::string token, const OwnerServiceLimits& limits)
      : agent_(agent), token_(std::move(token)), limits_(limits) {}

  grpc::Status CreateKey(grpc::ServerContext* context, const v1::CreateKeyRequest* request,
                         v1::CreateKeyResponse* response) override;
  grpc::Status ListKeys(grpc::ServerContext* context, const v1::ListKeysRequest* request,
                        v1::ListKeysResponse* response) override;
  grpc::Status CreateLedger(grpc::ServerContext* context,
                            const v1::OwnerCreateLedgerRequest* request,
                            v1::OwnerCreateLedgerResponse* response) override;
  grpc::ServerUnaryReactor* AppendEvent(grpc::CallbackServerContext* context,
                                        const v1::AppendEventRequest* request,
                                        v1::BlockOutcome* response) override;
  grpc::Status AppendEvents(grpc::ServerContext* context,
                            grpc::ServerReader<v1::AppendEventsRequest>* reader,
                            v1::AppendEventsSummary* response) override;
  grpc::Status CloseLedger(grpc::ServerContext* context, const v1::CloseLedgerRequest* request,
                           v1::BlockOutcome* response) override;
  grpc::Status MoveLedger(grpc::ServerContext* context, const v1::MoveLedgerRequest* request,
                          v1::MoveLedgerResponse* response) override;
  grpc::Status TransferOwnership(grpc::ServerContext* context,
                                 const v1::TransferOwnershipRequest* request,
                                 v1::BlockOutcome* response) override;
  grpc::Status CosignBlock(grpc::ServerContext* context, const v1::CosignBlockRequest* request,
                           v1::BlockOutcome* response) override;
  grpc::Status GetLedger(grpc::ServerContext* context, const v1::OwnerGetLedgerRequest* request,
                         v1::OwnerGetLedgerResponse* response) override;
  grpc::Status ListLedgers(grpc::ServerContext* context, const v1::ListLedgersRequest* request,
                           v1::ListLedgersResponse* response) override;
  grpc::Status VerifyLedger(grpc::ServerContext* context,
                            const v1::VerifyLedgerRequest* request,
                            v1::VerifyLedgerResponse* response) override;
  grpc::Status ExportLedger(grpc::ServerContext* context,
                            const v1::ExportLedgerRequest* request,
                            grpc::ServerWriter<v1::ExportLedgerChunk>* writer) override;
  grpc::Status GetEvidence(grpc::ServerContext* context, const v1::GetEvidenceRequest* request,
                           v1::GetEvidenceResponse* response) override;
  grpc::Status ReportEquivocation(grpc::ServerContext* context,
                                  const v1::ReportEquivocationRequest* request,
                                  v1::ReportEquivocationResponse* response) override;

 private:
  grpc::Status Authorize(const grpc::ServerContextBase* context) const;

  OwnerAgent* agent_;
  const std::string token_;
  const OwnerServiceLimits limits_;
  std::atomic<int64_t> appends_in_progress_{0};
  std::atomic<int64_t> exports_open_{0};
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_OWNER_GRPC_SERVICE_H_
