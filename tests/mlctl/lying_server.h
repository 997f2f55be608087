// Test helper: a HostService on 127.0.0.1 (a free port) that answers the read
// calls mlctl --from makes by asking a real ml-host and then lying in one
// chosen way (a tampered block, a checkpoint with a bad signature, swapped
// attachment data, a wrong head, an error), so that tests can check that
// mlctl catches every lie. Subscribe is served from what the host holds at
// the time of the call (GetBlocks and GetCheckpoint per block) and ends after
// the head, so no call outlives the test. The service's handlers run on
// gRPC's threads; the object is started and stopped by one thread.
#ifndef MICROLEDGER_TESTS_MLCTL_LYING_SERVER_H_
#define MICROLEDGER_TESTS_MLCTL_LYING_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {

enum class Lie {
  kNone,                     // An honest proxy.
  kTamperedBlock,            // Block `block` has "n":<block> changed to "n":999.
  kBadCheckpointSignature,   // Every checkpoint's signature has one bit flipped.
  kSwappedAttachment,        // Every attachment's data has a byte appended.
  kWrongHeadFingerprint,     // GetLedger names block 1's fingerprint as the head's.
  kBlocksError,              // GetBlocks answers INTERNAL.
  kEvidence,                 // GetLedgerEvidence answers `evidence` (else UNIMPLEMENTED).
};

struct LieOptions {
  Lie lie = Lie::kNone;
  uint64_t block = 2;
  std::vector<std::string> evidence;
};

class LyingServer {
 public:
  // Starts serving; `host_address` is the real ml-host.
  static absl::StatusOr<std::unique_ptr<LyingServer>> Start(const std::string& host_address,
                                                            LieOptions options);
  ~LyingServer();

  // 127.0.0.1:PORT.
  const std::string& address() const { return address_; }

  // The checkpoint note with one bit of its first signature flipped.
  static std::string SpoilSignature(const std::string& note);

 private:
  class Service;
  LyingServer() = default;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_MLCTL_LYING_SERVER_H_
