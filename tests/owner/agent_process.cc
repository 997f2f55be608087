#include "tests/owner/agent_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace microledger {
namespace {

std::string BinaryPath() {
  if (const char* env = std::getenv("ML_OWNER_BINARY"); env != nullptr) return env;
  return "owner_agent/ml-owner";
}

pid_t Spawn(const std::vector<std::string>& flags, int* stderr_read) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  std::vector<std::string> args = {BinaryPath(), "--listen=127.0.0.1:0",
                                   "--keystore_kdf=min"};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);  // --help prints on stdout.
    dup2(fds[1], 2);
    setenv("ML_PASSPHRASE", kTestPassphrase, 1);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  *stderr_read = fds[0];
  return pid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AgentProcess>> AgentProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<AgentProcess> process(new AgentProcess());
  process->pid_ = Spawn(flags, &process->stderr_fd_);
  if (process->pid_ < 0) return absl::InternalError("cannot start ml-owner");
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{process->stderr_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = read(process->stderr_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, n);
    const std::string marker = "listening on ";
    size_t at = output.find(marker);
    if (at != std::string::npos) {
      size_t end = output.find_first_of(" \n", at + marker.size());
      if (end == std::string::npos) continue;
      process->address_ = output.substr(at + marker.size(), end - at - marker.size());
      int fd = process->stderr_fd_;
      process->drain_ = std::thread([fd] {
        char sink[4096];
        ssize_t got;
        while ((got = read(fd, sink, sizeof sink)) > 0) (void)!write(2, sink, got);
      });
      return process;
    }
  }
  process->Kill9();
  return absl::UnavailableError(absl::StrCat("ml-owner did not start: ", output));
}

std::pair<int, std::string> AgentProcess::RunToExit(const std::vector<std::string>& flags) {
  int fd = -1;
  pid_t pid = Spawn(flags, &fd);
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) output.append(buffer, n);
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::unique_ptr<v1::OwnerAgentService::Stub> AgentProcess::Stub() const {
  return v1::OwnerAgentService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

void AgentProcess::Kill9() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();
  if (stderr_fd_ >= 0) {
    close(stderr_fd_);
    stderr_fd_ = -1;
  }
}

void AgentProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(100 * 1000);
    }
  }
  Kill9();
}

AgentProcess::~AgentProcess() { Stop(); }

}  // namespace microledger
