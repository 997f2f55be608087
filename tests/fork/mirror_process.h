// Test helpers for the fork drills: the real ml-mirror binary as a child
// process (tests/process/server_process.h) on fixed loopback ports with a
// RocksDB data directory, so that it can be stopped and started again on the
// same addresses and state; stubs for its HostService reads and its
// MirrorAdmin API; and small gRPC and mlctl helpers. Not thread-safe.
#ifndef MICROLEDGER_TESTS_FORK_MIRROR_PROCESS_H_
#define MICROLEDGER_TESTS_FORK_MIRROR_PROCESS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"
#include "microledger/v1/mirror.grpc.pb.h"
#include "tests/process/server_process.h"

namespace microledger {

class MirrorProcess : public ServerProcess {
 public:
  // Starts ml-mirror (mirror/ml-mirror in the runfiles, or $ML_MIRROR_BINARY)
  // with `flags`.
  static absl::StatusOr<std::unique_ptr<MirrorProcess>> Start(
      const std::vector<std::string>& flags);
};

// An ml-mirror with its own data directory, a fixed read address and a fixed
// loopback admin address.
class DiskMirror {
 public:
  explicit DiskMirror(const std::string& name);
  // --storage=rocksdb on the data directory, short reconnection backoff, and
  // `more` flags.
  absl::Status Start(std::vector<std::string> more = {});
  void Stop() { process_.reset(); }
  const std::string& address() const { return address_; }
  const std::string& admin_address() const { return admin_address_; }
  std::unique_ptr<v1::HostService::Stub> Reader() const;
  std::unique_ptr<v1::MirrorAdmin::Stub> Admin() const;

 private:
  const std::string data_dir_;
  const std::string address_;
  const std::string admin_address_;
  std::unique_ptr<MirrorProcess> process_;
};

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 30);

// MirrorAdmin.Follow (FULL).
grpc::Status Follow(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                    const std::string& upstream, v1::MirroredLedger* out = nullptr);
// MirrorAdmin.Status of one ledger.
grpc::Status MirrorStatus(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                          v1::MirroredLedger* out);
// Polls MirrorStatus every 50 ms until `done` holds (true) or `timeout`
// passes (false, with the last status in *last).
bool WaitForMirror(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                   const std::function<bool(const v1::MirroredLedger&)>& done,
                   absl::Duration timeout, v1::MirroredLedger* last);
std::string Describe(const v1::MirroredLedger& ledger);

// HostService calls on a host or a mirror.
grpc::Status HostLedger(v1::HostService::Stub& stub, const std::string& ledger,
                        v1::GetLedgerResponse* out);
grpc::Status Report(v1::HostService::Stub& stub, const std::string& evidence,
                    v1::ReportEquivocationResponse* out);
grpc::Status HostEvidence(v1::HostService::Stub& stub, const std::string& ledger,
                          std::vector<std::string>* out);
// Blocks from..to (to 0 = the head), one per message.
grpc::Status HostBlocks(v1::HostService::Stub& stub, const std::string& ledger, uint64_t from,
                        uint64_t to, std::vector<std::string>* out);
// Unary Append of owner-signed block bytes.
grpc::Status HostAppend(v1::HostService::Stub& stub, const std::string& owner_signed);

// Runs tools/mlctl (or $ML_MLCTL_BINARY) to completion: exit code and its
// stdout and stderr together.
std::pair<int, std::string> RunMlctl(const std::vector<std::string>& args);

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_FORK_MIRROR_PROCESS_H_
