// Test helper: the real ml-owner binary as a child process on 127.0.0.1 with
// port 0 (see tests/process/server_process.h), ML_PASSPHRASE in its
// environment and cheap Argon2id limits (--keystore_kdf=min); also a stub
// factory for the OwnerAgentService. Not thread-safe.
#ifndef MICROLEDGER_TESTS_OWNER_AGENT_PROCESS_H_
#define MICROLEDGER_TESTS_OWNER_AGENT_PROCESS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/owner.grpc.pb.h"
#include "tests/process/server_process.h"

namespace microledger {

inline constexpr char kTestPassphrase[] = "correct horse battery staple";

class AgentProcess : public ServerProcess {
 public:
  // Starts ml-owner (owner_agent/ml-owner in the runfiles, or $ML_OWNER_BINARY)
  // with --listen=127.0.0.1:0 --keystore_kdf=min, ML_PASSPHRASE set, and `flags`.
  static absl::StatusOr<std::unique_ptr<AgentProcess>> Start(
      const std::vector<std::string>& flags);
  // Runs it to completion; exit code and output.
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& flags);

  std::unique_ptr<v1::OwnerAgentService::Stub> Stub() const;
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_OWNER_AGENT_PROCESS_H_
