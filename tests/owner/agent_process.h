// Test helper: runs the real ml-owner binary as a child process on 127.0.0.1
// with port 0 (ML_PASSPHRASE in its environment, cheap Argon2id limits via
// --keystore_kdf=min), reads the address from its start line, and stops it by
// its pid. Also a stub factory for the OwnerAgentService. Not thread-safe.
#ifndef MICROLEDGER_TESTS_OWNER_AGENT_PROCESS_H_
#define MICROLEDGER_TESTS_OWNER_AGENT_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/owner.grpc.pb.h"

namespace microledger {

inline constexpr char kTestPassphrase[] = "correct horse battery staple";

class AgentProcess {
 public:
  // Starts `binary` (default: owner_agent/ml-owner in the runfiles, or
  // $ML_OWNER_BINARY) with --listen=127.0.0.1:0 --keystore_kdf=min and
  // `flags`; waits up to 20 s for the "listening on" line.
  static absl::StatusOr<std::unique_ptr<AgentProcess>> Start(
      const std::vector<std::string>& flags);
  // Runs the binary to completion; returns its exit code and stderr.
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& flags);

  ~AgentProcess();

  const std::string& address() const { return address_; }
  std::unique_ptr<v1::OwnerAgentService::Stub> Stub() const;
  void Kill9();
  void Stop();

 private:
  AgentProcess() = default;
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string address_;
  std::thread drain_;
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_OWNER_AGENT_PROCESS_H_
