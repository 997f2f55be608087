// The mirror's admin gRPC edge: microledger.v1.MirrorAdmin (follow,
// unfollow, status) over Mirror. ml-mirror serves it on its own address
// (--admin_listen: a Unix socket, a loopback address, or mutual TLS), never
// on the readers' one. Thread-safe.
#ifndef MICROLEDGER_MIRROR_ADMIN_GRPC_SERVICE_H_
#define MICROLEDGER_MIRROR_ADMIN_GRPC_SERVICE_H_

#include "microledger/v1/mirror.grpc.pb.h"
#include "mirror/mirror.h"

namespace microledger {

// "full", "tail", "sparse" (or the enum names); FULL for UNSPECIFIED.
absl::StatusOr<MirrorMode> MirrorModeFromProto(v1::MirrorMode mode);

class MirrorAdminService final : public v1::MirrorAdmin::CallbackService {
 public:
  // `mirror` must outlive the service.
  explicit MirrorAdminService(Mirror* mirror) : mirror_(mirror) {}

  grpc::ServerUnaryReactor* Follow(grpc::CallbackServerContext* context,
                                   const v1::FollowRequest* request,
                                   v1::FollowResponse* response) override;
  grpc::ServerUnaryReactor* Unfollow(grpc::CallbackServerContext* context,
                                     const v1::UnfollowRequest* request,
                                     v1::UnfollowResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::MirrorStatusRequest* request,
                                   v1::MirrorStatusResponse* response) override;

 private:
  Mirror* const mirror_;
};

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_ADMIN_GRPC_SERVICE_H_
