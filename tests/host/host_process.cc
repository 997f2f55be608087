#include "tests/host/host_process.h"

#include <cstdlib>

namespace microledger {
namespace {

ServerCommand HostCommand(const std::vector<std::string>& flags) {
  const char* binary = std::getenv("ML_HOST_BINARY");
  ServerCommand command{binary != nullptr ? binary : "host_service/ml-host",
                        {"--listen=127.0.0.1:0"},
                        {}};
  command.args.insert(command.args.end(), flags.begin(), flags.end());
  return command;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HostProcess>> HostProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<HostProcess> process(new HostProcess());
  if (absl::Status started = process->Launch(HostCommand(flags)); !started.ok()) {
    return started;
  }
  return process;
}

std::pair<int, std::string> HostProcess::RunToExit(const std::vector<std::string>& flags) {
  return ServerProcess::RunToExit(HostCommand(flags));
}

}  // namespace microledger
