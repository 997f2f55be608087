#include "witness/witness_grpc_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "serving/grpc_status.h"
#include "serving/client_rate_limiter.h"
#include "witness/witness_store.h"

namespace microledger {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                 const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::Status StatusOfAnswer(grpc::CallbackServerContext* context,
                            const AddCheckpointAnswer& answer) {
  switch (answer.outcome) {
    case AddCheckpointOutcome::kCosigned:
      return grpc::Status::OK;
    case AddCheckpointOutcome::kMalformed:
    case AddCheckpointOutcome::kOldAboveSize:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, answer.reason);
    case AddCheckpointOutcome::kUnknownOrigin:
      return grpc::Status(grpc::StatusCode::NOT_FOUND, answer.reason);
    case AddCheckpointOutcome::kBadSignature:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, answer.reason);
    case AddCheckpointOutcome::kFrozen:
      context->AddTrailingMetadata("x-evidence-id", answer.evidence_id);
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("frozen ", answer.evidence_id));
    case AddCheckpointOutcome::kSizeConflict:
      context->AddTrailingMetadata("x-tlog-size", absl::StrCat(answer.latest_size));
      return grpc::Status(grpc::StatusCode::ABORTED,
                          absl::StrCat("old size is not the size of the latest checkpoint "
                                       "cosigned, ",
                                       answer.latest_size));
    case AddCheckpointOutcome::kInconsistent:
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, answer.reason);
    case AddCheckpointOutcome::kTooManyNewLedgers:
    case AddCheckpointOutcome::kTooManyRequests:
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, answer.reason);
    case AddCheckpointOutcome::kInternal:
      break;
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, answer.reason);
}

// The raw origin hash of a ledger id; InvalidArgument when it is not one.
absl::StatusOr<std::string> LedgerOriginHash(const std::string& ledger_id) {
  absl::StatusOr<std::string> key_text = PublicKeyTextFromLedgerId(ledger_id);
  if (!key_text.ok()) return absl::InvalidArgumentError("ledger_id is not a ledger id");
  return OriginHash(ledger_id);
}

}  // namespace

grpc::ServerUnaryReactor* WitnessGrpcService::AddCheckpoint(
    grpc::CallbackServerContext* context, const v1::AddCheckpointRequest* request,
    v1::AddCheckpointResponse* response) {
  AddCheckpointAnswer answer;
  AddCheckpointRequest parsed;
  parsed.old_size = request->old_size();
  parsed.note = request->note();
  absl::StatusOr<std::vector<MerkleHash>> proof = MerkleHashesFromBytes(request->proof());
  if (request->proof_size() > static_cast<int>(kMaxConsistencyProofHashes)) {
    answer.outcome = AddCheckpointOutcome::kMalformed;
    answer.reason = "more than 63 consistency proof hashes";
  } else if (!proof.ok()) {
    answer.outcome = AddCheckpointOutcome::kMalformed;
    answer.reason = "a consistency proof hash is not 32 bytes";
  } else {
    parsed.proof = *std::move(proof);
    answer = AddCheckpointForClient(*witness_, parsed, ClientAddressOfGrpcPeer(context->peer()),
                                    limits_);
  }
  if (metrics_ != nullptr) metrics_->CountAnswer(HttpStatusOf(answer.outcome));
  if (answer.outcome == AddCheckpointOutcome::kCosigned) {
    response->set_cosignature_line(answer.cosignature_line);
  }
  return Finish(context, StatusOfAnswer(context, answer));
}

grpc::ServerUnaryReactor* WitnessGrpcService::GetCheckpoint(
    grpc::CallbackServerContext* context, const v1::GetWitnessedCheckpointRequest* request,
    v1::GetWitnessedCheckpointResponse* response) {
  absl::StatusOr<std::string> origin_hash = LedgerOriginHash(request->ledger_id());
  if (!origin_hash.ok()) return Finish(context, ToGrpcStatus(origin_hash.status()));
  absl::StatusOr<std::string> note = witness_->LatestCheckpoint(*origin_hash);
  if (!note.ok()) return Finish(context, ToGrpcStatus(note.status()));
  response->set_note(*std::move(note));
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WitnessGrpcService::GetEvidence(
    grpc::CallbackServerContext* context, const v1::GetWitnessEvidenceRequest* request,
    v1::GetWitnessEvidenceResponse* response) {
  absl::StatusOr<std::string> origin_hash = LedgerOriginHash(request->ledger_id());
  if (!origin_hash.ok()) return Finish(context, ToGrpcStatus(origin_hash.status()));
  absl::StatusOr<std::vector<std::string>> evidence = witness_->Evidence(*origin_hash);
  if (!evidence.ok()) return Finish(context, ToGrpcStatus(evidence.status()));
  for (std::string& object : *evidence) response->add_evidence(std::move(object));
  return Finish(context, grpc::Status::OK);
}

}  // namespace microledger
