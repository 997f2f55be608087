// Test helper: runs a server binary of this project (ml-host, ml-owner) as a
// child process, waits for its "listening on ADDRESS" start line, keeps its
// output flowing to the test's stderr, and stops it by its pid (SIGTERM, or
// SIGKILL for crash tests). Subclasses name the binary and its default flags.
// Not thread-safe.
#ifndef MICROLEDGER_TESTS_PROCESS_SERVER_PROCESS_H_
#define MICROLEDGER_TESTS_PROCESS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace microledger {

struct ServerCommand {
  std::string binary;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> environment;
};

class ServerProcess {
 public:
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  virtual ~ServerProcess();

  // Runs `command` to completion (for start-up failures and --help); returns
  // its exit code and its stdout and stderr together.
  static std::pair<int, std::string> RunToExit(const ServerCommand& command);

  const std::string& address() const { return address_; }
  // The child's process id (-1 once stopped), e.g. to SIGSTOP it.
  pid_t pid() const { return pid_; }
  // SIGKILL, then reap.
  void Kill9();
  // SIGTERM, then reap (SIGKILL after 10 s).
  void Stop();
  // Waits up to `limit` for the child to exit (after a signal the caller sent
  // to pid()) and reaps it: its exit status (-1 if a signal ended it), or
  // nullopt if it is still running (it is left running, for Stop or Kill9).
  std::optional<int> WaitForExit(std::chrono::milliseconds limit);

 protected:
  ServerProcess() = default;
  // Starts `command` and waits up to 60 s for its start line.
  absl::Status Launch(const ServerCommand& command);

 private:
  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string address_;
  std::thread drain_;
};

// A fresh directory under $TEST_TMPDIR.
std::string NewTempDir(const std::string& name);

// Starts `command` with its stdout and stderr on a pipe whose read end is
// put in *output_read; the pid, or -1. The child makes only async-signal-safe
// calls between fork and exec (argv and environment are made before fork).
pid_t SpawnServer(const ServerCommand& command, int* output_read);

// SIGSTOP to `pid`, then waits (at most 5 s) until every thread of it is
// stopped: kill() only queues the signal, and a thread running on another
// core may finish a call meanwhile. False if it did not stop in time.
bool StopProcess(pid_t pid);
// SIGCONT to `pid`.
void ContinueProcess(pid_t pid);

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_PROCESS_SERVER_PROCESS_H_
