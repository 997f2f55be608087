// Test helper: the real ml-mirror binary as a child process (mirror/
// ml-mirror in the runfiles, or $ML_MIRROR_BINARY) on 127.0.0.1 with port 0.
// Waits (bounded) for both start lines, "ml-mirror: listening on ADDR" and,
// when it serves the admin API, "ml-mirror admin: listening on ADDR"; keeps
// its output flowing to the test's stderr; stops it by its pid (SIGTERM, or
// SIGKILL for crash tests). Also stub factories for its two APIs and a few
// bounded waits. Not thread-safe.
#ifndef MICROLEDGER_TESTS_MIRROR_MIRROR_PROCESS_H_
#define MICROLEDGER_TESTS_MIRROR_MIRROR_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"
#include "microledger/v1/mirror.grpc.pb.h"

namespace microledger {

class MirrorProcess {
 public:
  // Starts ml-mirror with --listen=127.0.0.1:0 and `flags` (which should
  // name --storage, and --admin_listen to get an admin address).
  static absl::StatusOr<std::unique_ptr<MirrorProcess>> Start(
      const std::vector<std::string>& flags);
  // Runs it to completion (start-up failures); exit code and output.
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& flags);

  MirrorProcess(const MirrorProcess&) = delete;
  MirrorProcess& operator=(const MirrorProcess&) = delete;
  ~MirrorProcess();

  // The readers' address (HostService) and the admin one ("" if none),
  // both as the start lines print them (unix:PATH for a socket).
  const std::string& address() const { return address_; }
  const std::string& admin_address() const { return admin_address_; }
  pid_t pid() const { return pid_; }

  // SIGKILL, then reap.
  void Kill9();
  // SIGTERM, then reap (SIGKILL after 10 s).
  void Stop();

  std::unique_ptr<v1::HostService::Stub> Stub() const;
  std::unique_ptr<v1::MirrorAdmin::Stub> Admin() const;

 private:
  MirrorProcess() = default;
  absl::Status Launch(const std::vector<std::string>& args);

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string address_;
  std::string admin_address_;
  std::thread drain_;
};

// "--admin_listen=unix:/tmp/mlmXXXXXX/admin.sock" in a fresh directory
// (removed at exit): $TEST_TMPDIR is often too long for a socket path.
std::string AdminSocketFlag();

// Calls `done` every 20 ms until it returns true or `timeout` passes; its
// last answer.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(15));

// MirrorAdmin.Status of one ledger.
absl::StatusOr<v1::MirroredLedger> MirrorStatus(v1::MirrorAdmin::Stub& admin,
                                                const std::string& ledger_id);
// Waits until the mirror's verified size of `ledger_id` is at least `size`.
bool WaitForVerifiedSize(v1::MirrorAdmin::Stub& admin, const std::string& ledger_id,
                         uint64_t size, absl::Duration timeout = absl::Seconds(15));
// GetLedger of a HostService server; head 0 when it fails.
uint64_t HeadOf(v1::HostService::Stub& stub, const std::string& ledger_id);
// Waits until `stub`'s head of `ledger_id` is at least `head`.
bool WaitForHead(v1::HostService::Stub& stub, const std::string& ledger_id, uint64_t head,
                 absl::Duration timeout = absl::Seconds(15));

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_MIRROR_MIRROR_PROCESS_H_
