// The gRPC connections of a run: --connections channels (one HTTP/2
// connection each, TLS when asked), each with a HostService and an
// OwnerAgentService stub, handed to workers round-robin; and SetDeadline, the
// per-call deadline every call sets.
//
// Thread-safety: Channels is built before the workers start and only read
// afterwards; gRPC stubs may be used from many threads at once.
#ifndef MICROLEDGER_TOOLS_LOAD_CHANNELS_H_
#define MICROLEDGER_TOOLS_LOAD_CHANNELS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"
#include "microledger/v1/owner.grpc.pb.h"
#include "tools/load/options.h"

namespace microledger {
namespace load {

using HostStub = v1::HostService::Stub;
using AgentStub = v1::OwnerAgentService::Stub;

class Channels {
 public:
  // Opens options.connections channels to options.addr (TLS per the options).
  static absl::StatusOr<Channels> Open(const LoadOptions& options);

  // The stubs of worker `worker`'s channel (round-robin over the channels).
  HostStub& stub(int worker) { return *stubs_[worker % stubs_.size()]; }
  AgentStub& agent_stub(int worker) { return *agent_stubs_[worker % agent_stubs_.size()]; }

 private:
  std::vector<std::unique_ptr<HostStub>> stubs_;
  std::vector<std::unique_ptr<AgentStub>> agent_stubs_;
};

void SetDeadline(grpc::ClientContext& context, int64_t deadline_ms);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_CHANNELS_H_
