#include "mirror/mirror_grpc_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/evidence.h"
#include "serving/grpc_status.h"

namespace microledger {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

const grpc::Status kReadOnly(grpc::StatusCode::FAILED_PRECONDITION,
                             "read-only mirror: this server holds no ledger key; append "
                             "to the ledger's host");

// A server-streaming call answered with an error before any message.
template <typename Response>
class RefusedWriter : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

class RefusedAppendStream
    : public grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamResponse> {
 public:
  RefusedAppendStream() { Finish(kReadOnly); }
  void OnDone() override { delete this; }
};

}  // namespace

ServerUnaryReactor* MirrorGrpcService::CreateLedger(CallbackServerContext* context,
                                                    const v1::CreateLedgerRequest*,
                                                    v1::CreateLedgerResponse*) {
  return FinishUnary(context, kReadOnly);
}

ServerUnaryReactor* MirrorGrpcService::Append(CallbackServerContext* context,
                                              const v1::AppendRequest*, v1::AppendResponse*) {
  return FinishUnary(context, kReadOnly);
}

grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamResponse>*
MirrorGrpcService::AppendStream(CallbackServerContext*) {
  return new RefusedAppendStream();
}

ServerUnaryReactor* MirrorGrpcService::GetLedger(CallbackServerContext* context,
                                                 const v1::GetLedgerRequest* request,
                                                 v1::GetLedgerResponse* response) {
  mirror_->Touch(request->ledger_id());
  absl::StatusOr<LedgerInfo> info = mirror_->reader().GetLedger(request->ledger_id());
  if (!info.ok()) return FinishUnary(context, ToGrpcStatus(info.status()));
  absl::StatusOr<std::vector<BlockSpan>> held = mirror_->Held(request->ledger_id());
  if (!held.ok()) return FinishUnary(context, ToGrpcStatus(held.status()));
  LedgerReadService::FillLedgerResponse(*info, response);
  for (const BlockSpan& span : *held) {
    v1::BlockRange* range = response->add_held();
    range->set_first(span.first);
    range->set_last(span.last);
  }
  return FinishUnary(context, grpc::Status::OK);
}

ServerUnaryReactor* MirrorGrpcService::GetCheckpoint(CallbackServerContext* context,
                                                     const v1::GetCheckpointRequest* request,
                                                     v1::GetCheckpointResponse* response) {
  mirror_->Touch(request->ledger_id());
  if (absl::Status s = mirror_->CheckProvable(request->ledger_id(), 0, request->tree_size());
      !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return reads_.GetCheckpoint(context, request, response);
}

grpc::ServerWriteReactor<v1::GetBlocksResponse>* MirrorGrpcService::GetBlocks(
    CallbackServerContext* context, const v1::GetBlocksRequest* request) {
  mirror_->Touch(request->ledger_id());
  if (absl::Status s = mirror_->EnsureBlocks(request->ledger_id(), request->from_number(),
                                             request->to_number());
      !s.ok()) {
    return new RefusedWriter<v1::GetBlocksResponse>(ToGrpcStatus(s));
  }
  return reads_.GetBlocks(context, request);
}

ServerUnaryReactor* MirrorGrpcService::GetInclusionProof(
    CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* response) {
  mirror_->Touch(request->ledger_id());
  if (mirror_->IsSparse(request->ledger_id())) {
    absl::StatusOr<InclusionProofResult> proof = mirror_->SparseInclusionProof(
        request->ledger_id(), request->number(), request->tree_size());
    if (!proof.ok()) return FinishUnary(context, ToGrpcStatus(proof.status()));
    LedgerReadService::FillInclusionProofResponse(*proof, response);
    return FinishUnary(context, grpc::Status::OK);
  }
  if (absl::Status s = mirror_->CheckProvable(request->ledger_id(), request->number(),
                                              request->tree_size());
      !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return reads_.GetInclusionProof(context, request, response);
}

ServerUnaryReactor* MirrorGrpcService::GetConsistencyProof(
    CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
    v1::GetConsistencyProofResponse* response) {
  mirror_->Touch(request->ledger_id());
  if (mirror_->IsSparse(request->ledger_id())) {
    absl::StatusOr<ConsistencyProofResult> proof = mirror_->SparseConsistencyProof(
        request->ledger_id(), request->old_size(), request->new_size());
    if (!proof.ok()) return FinishUnary(context, ToGrpcStatus(proof.status()));
    LedgerReadService::FillConsistencyProofResponse(*proof, response);
    return FinishUnary(context, grpc::Status::OK);
  }
  if (absl::Status s =
          mirror_->CheckProvable(request->ledger_id(), 0, request->old_size());
      !s.ok()) {
    return FinishUnary(context, ToGrpcStatus(s));
  }
  return reads_.GetConsistencyProof(context, request, response);
}

ServerUnaryReactor* MirrorGrpcService::GetAttachment(CallbackServerContext* context,
                                                     const v1::GetAttachmentRequest* request,
                                                     v1::GetAttachmentResponse* response) {
  mirror_->Touch(request->ledger_id());
  return reads_.GetAttachment(context, request, response);
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* MirrorGrpcService::Subscribe(
    CallbackServerContext* context, const v1::SubscribeRequest* request) {
  mirror_->Touch(request->ledger_id());
  if (mirror_->IsSparse(request->ledger_id())) {
    return new RefusedWriter<v1::SubscribeResponse>(grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "mirror: a sparse mirror does not stream blocks; read them with GetBlocks"));
  }
  if (absl::Status s = mirror_->CheckProvable(request->ledger_id(), request->from_number(), 0);
      !s.ok()) {
    return new RefusedWriter<v1::SubscribeResponse>(ToGrpcStatus(s));
  }
  return reads_.Subscribe(context, request);
}

ServerUnaryReactor* MirrorGrpcService::ForgetLedger(CallbackServerContext* context,
                                                    const v1::ForgetLedgerRequest* request,
                                                    v1::ForgetLedgerResponse*) {
  std::vector<BlockSignature> signatures;
  for (const v1::Signature& signature : request->signatures()) {
    signatures.push_back({signature.role(), signature.alg(), signature.key(), signature.sig()});
  }
  return FinishUnary(context,
                     ToGrpcStatus(mirror_->Forget(request->ledger_id(),
                                                  request->head_fingerprint(), signatures)));
}

ServerUnaryReactor* MirrorGrpcService::ReportEquivocation(
    CallbackServerContext* context, const v1::ReportEquivocationRequest* request,
    v1::ReportEquivocationResponse* response) {
  absl::StatusOr<EvidenceInfo> info = mirror_->ReportEquivocation(request->evidence());
  if (!info.ok()) return FinishUnary(context, ToGrpcStatus(info.status()));
  response->set_ledger_id(info->ledger);
  response->set_kind(std::string(EvidenceKindName(info->kind)));
  response->set_evidence_id(info->id);
  response->set_frozen(true);
  return FinishUnary(context, grpc::Status::OK);
}

ServerUnaryReactor* MirrorGrpcService::GetLedgerEvidence(
    CallbackServerContext* context, const v1::GetLedgerEvidenceRequest* request,
    v1::GetLedgerEvidenceResponse* response) {
  return reads_.GetLedgerEvidence(context, request, response);
}

}  // namespace microledger
