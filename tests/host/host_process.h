// Test helper: the real ml-host binary as a child process on 127.0.0.1 with
// port 0 (see tests/process/server_process.h). Not thread-safe.
#ifndef MICROLEDGER_TESTS_HOST_HOST_PROCESS_H_
#define MICROLEDGER_TESTS_HOST_HOST_PROCESS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/process/server_process.h"

namespace microledger {

class HostProcess : public ServerProcess {
 public:
  // Starts ml-host (host_service/ml-host in the runfiles, or $ML_HOST_BINARY)
  // with --listen=127.0.0.1:0 and `flags`.
  static absl::StatusOr<std::unique_ptr<HostProcess>> Start(
      const std::vector<std::string>& flags);
  // Runs it to completion (for start-up failures); exit code and output.
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& flags);
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_HOST_HOST_PROCESS_H_
