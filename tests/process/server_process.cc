#include "tests/process/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace microledger {
// Forks and execs `command` with stdout and stderr on a pipe; returns the pid
// (-1 on failure) and the pipe's read end.
pid_t SpawnServer(const ServerCommand& command, int* output_read) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  // Everything the child needs is made here, before fork: the parent has
  // other threads (gRPC's, a test's own servers), so the child may only make
  // async-signal-safe calls until it execs. A malloc there (setenv, building
  // argv) can wait for ever on an allocator lock another thread held at the
  // fork; under ASan that hung an ml-owner start in CI.
  std::vector<std::string> args = {command.binary};
  args.insert(args.end(), command.args.begin(), command.args.end());
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    const absl::string_view name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& [override_name, value] : command.environment) {
      if (name == override_name) replaced = true;
    }
    if (!replaced) environment.emplace_back(text);
  }
  for (const auto& [name, value] : command.environment) {
    environment.push_back(absl::StrCat(name, "=", value));
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return -1;
  }
  *output_read = fds[0];
  return pid;
}


std::string NewTempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      absl::StrCat(base ? base : "/tmp", "/", name, "_", getpid(), "_", counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool StopProcess(pid_t pid) {
  if (kill(pid, SIGSTOP) != 0) return false;
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  for (int attempt = 0; attempt < 500; ++attempt) {
    bool all_stopped = true;
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
      std::ifstream stat(task.path() / "stat");
      std::string line;
      std::getline(stat, line);
      // "<tid> (<comm>) <state> ...": the state follows the last ')'.
      const size_t paren = line.rfind(')');
      if (paren == std::string::npos || paren + 2 >= line.size() ||
          (line[paren + 2] != 'T' && line[paren + 2] != 't')) {
        all_stopped = false;
        break;
      }
    }
    if (!error && all_stopped) return true;
    usleep(10 * 1000);
  }
  return false;
}

void ContinueProcess(pid_t pid) { kill(pid, SIGCONT); }

absl::Status ServerProcess::Launch(const ServerCommand& command) {
  pid_ = SpawnServer(command, &output_fd_);
  if (pid_ < 0) return absl::InternalError(absl::StrCat("cannot start ", command.binary));
  std::string output;
  // Generous: under ASan on two busy cores a server (an agent creating its
  // keystore) has taken over 20 s to start.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{output_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(output_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, n);
    const std::string marker = "listening on ";
    const size_t at = output.find(marker);
    if (at == std::string::npos) continue;
    const size_t end = output.find_first_of(" \n", at + marker.size());
    if (end == std::string::npos) continue;
    address_ = output.substr(at + marker.size(), end - at - marker.size());
    // Keep draining the output so the child never blocks on a full pipe.
    const int fd = output_fd_;
    drain_ = std::thread([fd] {
      char sink[4096];
      ssize_t got;
      while ((got = read(fd, sink, sizeof sink)) > 0) (void)!write(2, sink, got);
    });
    return absl::OkStatus();
  }
  Kill9();
  return absl::UnavailableError(absl::StrCat(command.binary, " did not start: ", output));
}

std::pair<int, std::string> ServerProcess::RunToExit(const ServerCommand& command) {
  int fd = -1;
  const pid_t pid = SpawnServer(command, &fd);
  if (pid < 0) return {-1, "cannot start " + command.binary};
  // A command that should exit but serves instead is killed after 30 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string output;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&ready, 1, static_cast<int>(left.count())) <= 0) {
      kill(pid, SIGKILL);
      output += "\n[killed: still running after 30 s]";
      break;
    }
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    output.append(buffer, n);
  }
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

void ServerProcess::Kill9() {
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

void ServerProcess::Stop() {
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

std::optional<int> ServerProcess::WaitForExit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    usleep(20 * 1000);
  }
  return std::nullopt;
}

ServerProcess::~ServerProcess() { Stop(); }

}  // namespace microledger
