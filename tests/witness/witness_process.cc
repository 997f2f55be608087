#include "tests/witness/witness_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "serving/witness_key_file.h"
#include "tests/process/server_process.h"

namespace microledger {
namespace {

ServerCommand WitnessCommand(const std::vector<std::string>& flags) {
  const char* binary = std::getenv("ML_WITNESS_BINARY");
  ServerCommand command{binary != nullptr ? binary : "witness/ml-witness",
                        {"--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0"},
                        {}};
  command.args.insert(command.args.end(), flags.begin(), flags.end());
  return command;
}

// The address after "<prefix>: listening on " at the start of a line of
// `output`, "" if that line is not complete yet.
std::string StartLineAddress(const std::string& output, absl::string_view prefix) {
  const std::string marker = absl::StrCat(prefix, ": listening on ");
  size_t at = output.find(marker);
  while (at != std::string::npos && at != 0 && output[at - 1] != '\n') {
    at = output.find(marker, at + 1);
  }
  if (at == std::string::npos) return "";
  const size_t end = output.find_first_of(" \n", at + marker.size());
  if (end == std::string::npos) return "";
  return output.substr(at + marker.size(), end - at - marker.size());
}

}  // namespace

absl::StatusOr<std::unique_ptr<WitnessProcess>> WitnessProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<WitnessProcess> process(new WitnessProcess());
  const ServerCommand command = WitnessCommand(flags);
  process->pid_ = SpawnServer(command, &process->output_fd_);
  if (process->pid_ < 0) return absl::InternalError(absl::StrCat("cannot start ", command.binary));
  std::string output;
  std::string http_address;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{process->output_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(process->output_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    (void)!write(2, buffer, n);
    output.append(buffer, n);
    process->grpc_address_ = StartLineAddress(output, "ml-witness");
    http_address = StartLineAddress(output, "ml-witness http");
    if (process->grpc_address_.empty() || http_address.empty()) continue;
    const size_t colon = http_address.rfind(':');
    process->http_host_ = http_address.substr(0, colon);
    if (!absl::SimpleAtoi(http_address.substr(colon + 1), &process->http_port_)) break;
    // Printed before the gRPC start line when --metrics_listen is given.
    const std::string metrics_marker = "ml-witness: metrics on http://";
    const size_t metrics_at = output.find(metrics_marker);
    if (metrics_at != std::string::npos) {
      const size_t slash = output.find('/', metrics_at + metrics_marker.size());
      const std::string address =
          output.substr(metrics_at + metrics_marker.size(),
                        slash - metrics_at - metrics_marker.size());
      if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &process->metrics_port_)) {
        break;
      }
    }
    {
      absl::MutexLock lock(&process->output_mu_);
      process->output_ = output;
    }
    WitnessProcess* const running = process.get();
    process->drain_ = std::thread([running] {
      char sink[4096];
      ssize_t got;
      while ((got = read(running->output_fd_, sink, sizeof sink)) > 0) {
        (void)!write(2, sink, got);
        absl::MutexLock lock(&running->output_mu_);
        running->output_.append(sink, got);
      }
    });
    return process;
  }
  process->Kill9();
  return absl::UnavailableError(absl::StrCat(command.binary, " did not start: ", output));
}

std::pair<int, std::string> WitnessProcess::RunToExit(const std::vector<std::string>& flags) {
  return ServerProcess::RunToExit(WitnessCommand(flags));
}

void WitnessProcess::Kill9() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();
  if (output_fd_ >= 0) {
    close(output_fd_);
    output_fd_ = -1;
  }
}

void WitnessProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    WaitForExit(10);
  }
  Kill9();
}

std::optional<int> WitnessProcess::WaitForExit(int seconds) {
  for (int i = 0; pid_ > 0 && i < seconds * 10; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    usleep(100 * 1000);
  }
  return std::nullopt;
}

WitnessProcess::~WitnessProcess() { Stop(); }

std::string WitnessProcess::Output() const {
  absl::MutexLock lock(&output_mu_);
  return output_;
}

std::unique_ptr<v1::WitnessService::Stub> WitnessProcess::Stub() const {
  return v1::WitnessService::NewStub(
      grpc::CreateChannel(grpc_address_, grpc::InsecureChannelCredentials()));
}

std::string WitnessKeyFileFlag(const WitnessSigner& signer, const std::string& dir) {
  const std::string path = dir + "/witness.key";
  if (!WriteWitnessKeyFile(path, signer).ok()) return "";
  return "--key_file=" + path;
}

}  // namespace microledger
