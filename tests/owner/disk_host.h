// Test helper for the drills with copied host data: an ml-host on a fixed
// loopback port with a RocksDB data directory (its master.key inside), so
// that it can be stopped, its data copied (a backup) or replaced (a restored
// backup, or a copy served elsewhere as a "mirror"), and started again; and
// an ml-owner started for a keystore and host. Not thread-safe.
#ifndef MICROLEDGER_TESTS_OWNER_DISK_HOST_H_
#define MICROLEDGER_TESTS_OWNER_DISK_HOST_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {

class DiskHost {
 public:
  // A fresh data directory and a free port.
  explicit DiskHost(const std::string& name)
      : data_dir_(NewTempDir(name)), address_(absl::StrCat("127.0.0.1:", FreePort())) {}
  absl::Status Start() {
    absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
        {"--storage=rocksdb", "--data_dir=" + data_dir_, "--listen=" + address_});
    if (!host.ok()) return host.status();
    process_ = *std::move(host);
    return absl::OkStatus();
  }
  void Stop() { process_.reset(); }
  // Stopped: the data (blocks and master key) becomes a copy of `dir`'s.
  void ReplaceData(const std::string& dir) {
    std::filesystem::remove_all(data_dir_);
    std::filesystem::copy(dir, data_dir_, std::filesystem::copy_options::recursive);
  }
  // Stopped: a copy of the data in a new directory.
  std::string CopyData(const std::string& name) const {
    const std::string copy = NewTempDir(name) + "/data";
    std::filesystem::copy(data_dir_, copy, std::filesystem::copy_options::recursive);
    return copy;
  }
  const std::string& address() const { return address_; }

 private:
  const std::string data_dir_;
  const std::string address_;
  std::unique_ptr<HostProcess> process_;
};

// ml-owner for `keystore`, default host `host`, and `more` flags.
inline std::unique_ptr<AgentProcess> StartOwner(const std::string& keystore,
                                                const std::string& host,
                                                std::vector<std::string> more = {}) {
  more.push_back("--keystore=" + keystore);
  more.push_back("--host=" + host);
  more.push_back("--append_timeout_seconds=10");
  auto agent = AgentProcess::Start(more);
  EXPECT_TRUE(agent.ok()) << agent.status();
  return agent.ok() ? *std::move(agent) : nullptr;
}

// Appends, retrying while the agent reconnects to a restarted host (bounded).
inline grpc::Status AppendSoon(AgentStub& stub, const std::string& ledger,
                               const std::string& event, v1::BlockOutcome* out) {
  grpc::Status status;
  for (int i = 0; i < 50; ++i) {
    status = Append(stub, ledger, event, out);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    usleep(100 * 1000);
  }
  return status;
}

inline std::vector<v1::Evidence> EvidenceOf(AgentStub& stub, const std::string& ledger) {
  v1::GetEvidenceRequest request;
  request.set_ledger_id(ledger);
  v1::GetEvidenceResponse response;
  grpc::Status status = stub.GetEvidence(Ctx().get(), request, &response);
  EXPECT_TRUE(status.ok()) << Msg(status);
  return {response.evidence().begin(), response.evidence().end()};
}

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_OWNER_DISK_HOST_H_
