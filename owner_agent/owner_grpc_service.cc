#include "owner_agent/owner_grpc_service.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "owner_agent/bulk_append.h"
#include "serving/grpc_status.h"

namespace microledger {
namespace {

template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

// One unit of a bounded count, held from Acquire until destruction.
class CountSlot {
 public:
  // Empty (acquired() false) when `count` is already at `limit`.
  static CountSlot Acquire(std::atomic<int64_t>* count, int64_t limit) {
    if (count->fetch_add(1, std::memory_order_relaxed) >= limit) {
      count->fetch_sub(1, std::memory_order_relaxed);
      return CountSlot(nullptr);
    }
    return CountSlot(count);
  }
  CountSlot(CountSlot&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  CountSlot& operator=(CountSlot&&) = delete;
  ~CountSlot() {
    if (count_ != nullptr) count_->fetch_sub(1, std::memory_order_relaxed);
  }
  bool acquired() const { return count_ != nullptr; }

 private:
  explicit CountSlot(std::atomic<int64_t>* count) : count_(count) {}
  std::atomic<int64_t>* count_;
};

grpc::Status LimitReached(absl::string_view what, absl::string_view flag, int64_t limit) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat(limit, " ", what, " already in progress, the limit (", flag,
                                   "=", limit, "); retry later"));
}

}  // namespace

grpc::Status OwnerGrpcService::Authorize(const grpc::ServerContextBase* context) const {
  if (token_.empty()) return grpc::Status::OK;
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  const std::string expected = "Bearer " + token_;
  if (it != metadata.end()) {
    std::string given(it->second.data(), it->second.size());
    if (given.size() == expected.size() &&
        sodium_memcmp(given.data(), expected.data(), expected.size()) == 0) {
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      "missing or wrong \"authorization: Bearer <token>\" metadata");
}

#define ML_AUTHORIZE()                                   \
  if (grpc::Status auth = Authorize(context); !auth.ok()) \
  return auth

grpc::Status OwnerGrpcService::CreateKey(grpc::ServerContext* context,
                                         const v1::CreateKeyRequest* request,
                                         v1::CreateKeyResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->CreateKey(*request), response);
}

grpc::Status OwnerGrpcService::ListKeys(grpc::ServerContext* context,
                                        const v1::ListKeysRequest*,
                                        v1::ListKeysResponse* response) {
  ML_AUTHORIZE();
  *response = agent_->ListKeys();
  return grpc::Status::OK;
}

grpc::Status OwnerGrpcService::CreateLedger(grpc::ServerContext* context,
                                            const v1::OwnerCreateLedgerRequest* request,
                                            v1::OwnerCreateLedgerResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->CreateLedger(*request), response);
}

grpc::ServerUnaryReactor* OwnerGrpcService::AppendEvent(grpc::CallbackServerContext* context,
                                                        const v1::AppendEventRequest* request,
                                                        v1::BlockOutcome* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status auth = Authorize(context); !auth.ok()) {
    agent_->CountRefusedAppend(
        absl::Status(static_cast<absl::StatusCode>(auth.error_code()), auth.error_message()));
    reactor->Finish(auth);
    return reactor;
  }
  CountSlot slot = CountSlot::Acquire(&appends_in_progress_, limits_.max_concurrent_appends);
  if (!slot.acquired()) {
    const grpc::Status refused = LimitReached("AppendEvent calls are", "--max_concurrent_appends",
                                              limits_.max_concurrent_appends);
    agent_->CountRefusedAppend(absl::ResourceExhaustedError(refused.error_message()));
    reactor->Finish(refused);
    return reactor;
  }
  // `response` stays valid until Finish; Finish may run before this returns.
  // The slot is given back when the agent has answered, before Finish.
  auto held = std::make_shared<CountSlot>(std::move(slot));
  agent_->AppendEventAsync(
      *request, [reactor, response, held](absl::StatusOr<v1::BlockOutcome> r) mutable {
        if (r.ok()) *response = *std::move(r);
        held.reset();
        reactor->Finish(r.ok() ? grpc::Status::OK : ToGrpcStatus(r.status()));
      });
  return reactor;
}

grpc::Status OwnerGrpcService::AppendEvents(grpc::ServerContext* context,
                                            grpc::ServerReader<v1::AppendEventsRequest>* reader,
                                            v1::AppendEventsSummary* response) {
  if (grpc::Status auth = Authorize(context); !auth.ok()) {
    agent_->CountRefusedAppend(
        absl::Status(static_cast<absl::StatusCode>(auth.error_code()), auth.error_message()));
    return auth;
  }
  const CountSlot slot = CountSlot::Acquire(&appends_in_progress_, limits_.max_concurrent_appends);
  if (!slot.acquired()) {
    const grpc::Status refused = LimitReached("AppendEvent calls are", "--max_concurrent_appends",
                                              limits_.max_concurrent_appends);
    agent_->CountRefusedAppend(absl::ResourceExhaustedError(refused.error_message()));
    return refused;
  }
  v1::AppendEventsRequest request;
  if (!reader->Read(&request)) {
    return context->IsCancelled()
               ? grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream")
               : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "ledger_id: the stream sent no message");
  }
  if (request.ledger_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "ledger_id: required in the first message of the stream");
  }
  const std::string ledger_id = request.ledger_id();
  BulkAppend bulk(*agent_, ledger_id);
  bool more = true;
  bool refused_id = false;
  while (more) {
    if (!request.ledger_id().empty() && request.ledger_id() != ledger_id) {
      refused_id = true;
      break;
    }
    for (v1::BulkEvent& event : *request.mutable_events()) {
      if (context->IsCancelled() || !bulk.Add(std::move(event))) {
        more = false;
        break;
      }
    }
    more = more && reader->Read(&request);
  }
  *response = bulk.Finish();
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream");
  }
  if (refused_id) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "ledger_id: a later message names another ledger than the first");
  }
  return grpc::Status::OK;
}

grpc::Status OwnerGrpcService::CloseLedger(grpc::ServerContext* context,
                                           const v1::CloseLedgerRequest* request,
                                           v1::BlockOutcome* response) {
  ML_AUTHORIZE();
  return Reply(agent_->CloseLedger(*request), response);
}

grpc::Status OwnerGrpcService::MoveLedger(grpc::ServerContext* context,
                                          const v1::MoveLedgerRequest* request,
                                          v1::MoveLedgerResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->MoveLedger(*request), response);
}

grpc::Status OwnerGrpcService::TransferOwnership(grpc::ServerContext* context,
                                                 const v1::TransferOwnershipRequest* request,
                                                 v1::BlockOutcome* response) {
  ML_AUTHORIZE();
  return Reply(agent_->TransferOwnership(*request), response);
}

grpc::Status OwnerGrpcService::CosignBlock(grpc::ServerContext* context,
                                           const v1::CosignBlockRequest* request,
                                           v1::BlockOutcome* response) {
  ML_AUTHORIZE();
  return Reply(agent_->CosignBlock(*request), response);
}

grpc::Status OwnerGrpcService::GetLedger(grpc::ServerContext* context,
                                         const v1::OwnerGetLedgerRequest* request,
                                         v1::OwnerGetLedgerResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->GetLedger(*request), response);
}

grpc::Status OwnerGrpcService::ListLedgers(grpc::ServerContext* context,
                                           const v1::ListLedgersRequest*,
                                           v1::ListLedgersResponse* response) {
  ML_AUTHORIZE();
  *response = agent_->ListLedgers();
  return grpc::Status::OK;
}

grpc::Status OwnerGrpcService::VerifyLedger(grpc::ServerContext* context,
                                            const v1::VerifyLedgerRequest* request,
                                            v1::VerifyLedgerResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->VerifyLedger(*request), response);
}

grpc::Status OwnerGrpcService::ExportLedger(grpc::ServerContext* context,
                                            const v1::ExportLedgerRequest* request,
                                            grpc::ServerWriter<v1::ExportLedgerChunk>* writer) {
  ML_AUTHORIZE();
  const CountSlot slot = CountSlot::Acquire(&exports_open_, limits_.max_concurrent_exports);
  if (!slot.acquired()) {
    return LimitReached("ExportLedger streams are", "--max_concurrent_exports",
                        limits_.max_concurrent_exports);
  }
  absl::Status status = agent_->ExportLedger(*request, [&](const std::string& data) {
    if (context->IsCancelled()) return false;
    v1::ExportLedgerChunk chunk;
    chunk.set_data(data);
    return writer->Write(chunk);
  });
  return ToGrpcStatus(status);
}

grpc::Status OwnerGrpcService::GetEvidence(grpc::ServerContext* context,
                                           const v1::GetEvidenceRequest* request,
                                           v1::GetEvidenceResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->GetEvidence(*request), response);
}

grpc::Status OwnerGrpcService::ReportEquivocation(grpc::ServerContext* context,
                                                  const v1::ReportEquivocationRequest* request,
                                                  v1::ReportEquivocationResponse* response) {
  ML_AUTHORIZE();
  return Reply(agent_->ReportEquivocation(*request), response);
}

}  // namespace microledger
