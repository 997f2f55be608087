#include "tests/owner/agent_process.h"

#include <cstdlib>

namespace microledger {
namespace {

ServerCommand AgentCommand(const std::vector<std::string>& flags) {
  const char* binary = std::getenv("ML_OWNER_BINARY");
  ServerCommand command{binary != nullptr ? binary : "owner_agent/ml-owner",
                        {"--listen=127.0.0.1:0", "--keystore_kdf=min"},
                        {{"ML_PASSPHRASE", kTestPassphrase}}};
  command.args.insert(command.args.end(), flags.begin(), flags.end());
  return command;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AgentProcess>> AgentProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<AgentProcess> process(new AgentProcess());
  if (absl::Status started = process->Launch(AgentCommand(flags)); !started.ok()) {
    return started;
  }
  return process;
}

std::pair<int, std::string> AgentProcess::RunToExit(const std::vector<std::string>& flags) {
  return ServerProcess::RunToExit(AgentCommand(flags));
}

std::unique_ptr<v1::OwnerAgentService::Stub> AgentProcess::Stub() const {
  return v1::OwnerAgentService::NewStub(
      grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
}

}  // namespace microledger
