// Test helper: runs the real ml-host binary as a child process on 127.0.0.1
// with port 0, reads the port from its start line, and stops it (SIGTERM, or
// SIGKILL for crash tests) by its pid. Not thread-safe.
#ifndef MICROLEDGER_TESTS_HOST_HOST_PROCESS_H_
#define MICROLEDGER_TESTS_HOST_HOST_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace microledger {

class HostProcess {
 public:
  // Starts `binary` (default: host_service/ml-host in the runfiles, or
  // $ML_HOST_BINARY) with --listen=127.0.0.1:0 and `flags`; waits up to 20 s
  // for the "listening on" line.
  static absl::StatusOr<std::unique_ptr<HostProcess>> Start(
      const std::vector<std::string>& flags);
  // Runs the binary to completion (for start-up failures); returns its exit
  // code and stderr.
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& flags);

  ~HostProcess();

  const std::string& address() const { return address_; }
  // SIGKILL, then reap.
  void Kill9();
  // SIGTERM, then reap (SIGKILL after 10 s).
  void Stop();

 private:
  HostProcess() = default;
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string address_;
  std::thread drain_;
};

// A fresh directory under $TEST_TMPDIR.
std::string NewTempDir(const std::string& name);

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_HOST_HOST_PROCESS_H_
