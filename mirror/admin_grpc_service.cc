#include "mirror/admin_grpc_service.h"

#include "absl/strings/str_cat.h"
#include "ledger_store/read_service.h"
#include "serving/grpc_status.h"

namespace microledger {
namespace {

v1::MirrorMode ToProto(MirrorMode mode) {
  switch (mode) {
    case MirrorMode::kFull:
      return v1::MIRROR_MODE_FULL;
    case MirrorMode::kTail:
      return v1::MIRROR_MODE_TAIL;
    case MirrorMode::kSparse:
      return v1::MIRROR_MODE_SPARSE;
  }
  return v1::MIRROR_MODE_UNSPECIFIED;
}

void Fill(const MirroredLedgerView& view, v1::MirroredLedger* out) {
  out->set_ledger_id(view.record.ledger_id);
  out->set_upstream(view.record.upstream);
  out->set_mode(ToProto(view.record.mode));
  out->set_state(view.follower.state);
  out->set_verified_size(view.head);
  out->set_upstream_size(std::max(view.follower.upstream_size, view.head));
  out->set_lag(out->upstream_size() - view.head);
  for (const BlockSpan& span : view.held) {
    v1::MirroredBlockRange* range = out->add_held();
    range->set_first(span.first);
    range->set_last(span.last);
  }
  out->set_last_error(view.follower.last_error);
  out->set_last_error_unix_millis(view.follower.last_error_millis);
  out->set_evidence_id(view.evidence_id);
  out->set_last_used_unix_millis(view.record.last_used_millis);
}

}  // namespace

absl::StatusOr<MirrorMode> MirrorModeFromProto(v1::MirrorMode mode) {
  switch (mode) {
    case v1::MIRROR_MODE_UNSPECIFIED:
    case v1::MIRROR_MODE_FULL:
      return MirrorMode::kFull;
    case v1::MIRROR_MODE_TAIL:
      return MirrorMode::kTail;
    case v1::MIRROR_MODE_SPARSE:
      return MirrorMode::kSparse;
    default:
      return absl::InvalidArgumentError(absl::StrCat("follow: unknown mode ", mode));
  }
}

grpc::ServerUnaryReactor* MirrorAdminService::Follow(grpc::CallbackServerContext* context,
                                                     const v1::FollowRequest* request,
                                                     v1::FollowResponse* response) {
  absl::StatusOr<MirrorMode> mode = MirrorModeFromProto(request->mode());
  if (!mode.ok()) return FinishUnary(context, ToGrpcStatus(mode.status()));
  absl::StatusOr<MirroredLedgerView> view =
      mirror_->Follow(request->ledger_id(), request->upstream(), *mode);
  if (!view.ok()) return FinishUnary(context, ToGrpcStatus(view.status()));
  Fill(*view, response->mutable_ledger());
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* MirrorAdminService::Unfollow(grpc::CallbackServerContext* context,
                                                       const v1::UnfollowRequest* request,
                                                       v1::UnfollowResponse*) {
  return FinishUnary(context, ToGrpcStatus(mirror_->Unfollow(request->ledger_id(),
                                                             request->drop_data())));
}

grpc::ServerUnaryReactor* MirrorAdminService::Status(grpc::CallbackServerContext* context,
                                                     const v1::MirrorStatusRequest* request,
                                                     v1::MirrorStatusResponse* response) {
  absl::StatusOr<std::vector<MirroredLedgerView>> views = mirror_->Status(request->ledger_id());
  if (!views.ok()) return FinishUnary(context, ToGrpcStatus(views.status()));
  for (const MirroredLedgerView& view : *views) Fill(view, response->add_ledgers());
  return FinishUnary(context, grpc::Status::OK);
}

}  // namespace microledger
