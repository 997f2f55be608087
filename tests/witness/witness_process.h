// Test helper: the real ml-witness binary as a child process (witness/
// ml-witness in the runfiles, or $ML_WITNESS_BINARY) with its gRPC and HTTP
// listeners on 127.0.0.1 port 0. Waits (bounded) for both start lines,
// "ml-witness http: listening on ADDR" and "ml-witness: listening on ADDR";
// keeps its output flowing to the test's stderr and keeps a copy; stops it by its pid
// (SIGTERM, or SIGKILL for crash tests). Also writes a witness key file.
// Not thread-safe.
#ifndef MICROLEDGER_TESTS_WITNESS_WITNESS_PROCESS_H_
#define MICROLEDGER_TESTS_WITNESS_WITNESS_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/cosignature.h"
#include "microledger/v1/witness.grpc.pb.h"

namespace microledger {

class WitnessProcess {
 public:
  // Starts ml-witness with --listen=127.0.0.1:0 --http_listen=127.0.0.1:0
  // and `flags` (which name --key_file and the storage).
  static absl::StatusOr<std::unique_ptr<WitnessProcess>> Start(
      const std::vector<std::string>& flags);
  // Runs it to completion (start-up failures, --help); exit code and output.
  static std::pair<int, std::string> RunToExit(const std::vector<std::string>& flags);

  WitnessProcess(const WitnessProcess&) = delete;
  WitnessProcess& operator=(const WitnessProcess&) = delete;
  ~WitnessProcess();

  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& http_host() const { return http_host_; }
  int http_port() const { return http_port_; }
  // The port of "ml-witness: metrics on http://HOST:PORT/metrics", 0 without
  // --metrics_listen.
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }

  void Kill9();
  void Stop();
  // Waits up to `seconds` for the process to exit by itself; its exit code
  // (-1 for a signal), or nullopt if it still runs.
  std::optional<int> WaitForExit(int seconds);

  std::unique_ptr<v1::WitnessService::Stub> Stub() const;

  // Everything the process wrote to stdout and stderr so far.
  std::string Output() const;

 private:
  WitnessProcess() = default;

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string grpc_address_;
  std::string http_host_;
  int http_port_ = 0;
  int metrics_port_ = 0;
  mutable absl::Mutex output_mu_;
  std::string output_ ABSL_GUARDED_BY(output_mu_);
  std::thread drain_;
};

// Writes `signer`'s key file (serving/witness_key_file.h) to DIR/witness.key
// and returns "--key_file=DIR/witness.key"; "" if it cannot be written.
std::string WitnessKeyFileFlag(const WitnessSigner& signer, const std::string& dir);

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_WITNESS_WITNESS_PROCESS_H_
