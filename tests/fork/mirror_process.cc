#include "tests/fork/mirror_process.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

ServerCommand MirrorCommand(const std::vector<std::string>& flags) {
  const char* binary = std::getenv("ML_MIRROR_BINARY");
  return ServerCommand{binary != nullptr ? binary : "mirror/ml-mirror", flags, {}};
}

}  // namespace

absl::StatusOr<std::unique_ptr<MirrorProcess>> MirrorProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<MirrorProcess> process(new MirrorProcess());
  if (absl::Status started = process->Launch(MirrorCommand(flags)); !started.ok()) {
    return started;
  }
  return process;
}

DiskMirror::DiskMirror(const std::string& name)
    : data_dir_(NewTempDir(name)),
      address_(absl::StrCat("127.0.0.1:", FreePort())),
      admin_address_(absl::StrCat("127.0.0.1:", FreePort())) {}

absl::Status DiskMirror::Start(std::vector<std::string> more) {
  std::vector<std::string> flags = {"--storage=rocksdb", "--data_dir=" + data_dir_,
                                    "--listen=" + address_, "--admin_listen=" + admin_address_,
                                    "--max_backoff_ms=300", "--upstream_timeout_ms=5000"};
  flags.insert(flags.end(), more.begin(), more.end());
  absl::StatusOr<std::unique_ptr<MirrorProcess>> started = MirrorProcess::Start(flags);
  if (!started.ok()) return started.status();
  process_ = *std::move(started);
  // The read API's start line comes first; the admin API starts right after.
  std::shared_ptr<grpc::Channel> admin =
      grpc::CreateChannel(admin_address_, grpc::InsecureChannelCredentials());
  if (!admin->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20))) {
    process_.reset();
    return absl::UnavailableError("ml-mirror: the admin API did not start");
  }
  return absl::OkStatus();
}

std::unique_ptr<v1::HostService::Stub> DiskMirror::Reader() const {
  return v1::HostService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<v1::MirrorAdmin::Stub> DiskMirror::Admin() const {
  return v1::MirrorAdmin::NewStub(
      grpc::CreateChannel(admin_address_, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<grpc::ClientContext> Deadline(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

grpc::Status Follow(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                    const std::string& upstream, v1::MirroredLedger* out) {
  v1::FollowRequest request;
  request.set_ledger_id(ledger);
  request.set_upstream(upstream);
  request.set_mode(v1::MIRROR_MODE_FULL);
  v1::FollowResponse response;
  grpc::Status status = admin.Follow(Deadline().get(), request, &response);
  if (status.ok() && out != nullptr) *out = response.ledger();
  return status;
}

grpc::Status MirrorStatus(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                          v1::MirroredLedger* out) {
  v1::MirrorStatusRequest request;
  request.set_ledger_id(ledger);
  v1::MirrorStatusResponse response;
  grpc::Status status = admin.Status(Deadline().get(), request, &response);
  if (!status.ok()) return status;
  if (response.ledgers_size() != 1) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat(response.ledgers_size(), " ledgers in the status"));
  }
  *out = response.ledgers(0);
  return status;
}

bool WaitForMirror(v1::MirrorAdmin::Stub& admin, const std::string& ledger,
                   const std::function<bool(const v1::MirroredLedger&)>& done,
                   absl::Duration timeout, v1::MirroredLedger* last) {
  const absl::Time deadline = absl::Now() + timeout;
  v1::MirroredLedger status;
  do {
    if (MirrorStatus(admin, ledger, &status).ok() && done(status)) {
      if (last != nullptr) *last = status;
      return true;
    }
    usleep(50 * 1000);
  } while (absl::Now() < deadline);
  if (last != nullptr) *last = status;
  return false;
}

std::string Describe(const v1::MirroredLedger& ledger) {
  std::vector<std::string> held;
  for (const v1::MirroredBlockRange& range : ledger.held()) {
    held.push_back(absl::StrCat(range.first(), "-", range.last()));
  }
  return absl::StrCat("state=", ledger.state(), " upstream=", ledger.upstream(),
                      " verified=", ledger.verified_size(), " upstream_size=",
                      ledger.upstream_size(), " held=", absl::StrJoin(held, ","),
                      " evidence=", ledger.evidence_id(), " last_error=", ledger.last_error());
}

grpc::Status HostLedger(v1::HostService::Stub& stub, const std::string& ledger,
                        v1::GetLedgerResponse* out) {
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger);
  return stub.GetLedger(Deadline().get(), request, out);
}

grpc::Status Report(v1::HostService::Stub& stub, const std::string& evidence,
                    v1::ReportEquivocationResponse* out) {
  v1::ReportEquivocationRequest request;
  request.set_evidence(evidence);
  return stub.ReportEquivocation(Deadline().get(), request, out);
}

grpc::Status HostEvidence(v1::HostService::Stub& stub, const std::string& ledger,
                          std::vector<std::string>* out) {
  v1::GetLedgerEvidenceRequest request;
  request.set_ledger_id(ledger);
  v1::GetLedgerEvidenceResponse response;
  grpc::Status status = stub.GetLedgerEvidence(Deadline().get(), request, &response);
  out->assign(response.evidence().begin(), response.evidence().end());
  return status;
}

grpc::Status HostBlocks(v1::HostService::Stub& stub, const std::string& ledger, uint64_t from,
                        uint64_t to, std::vector<std::string>* out) {
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger);
  request.set_from_number(from);
  request.set_to_number(to);
  auto context = Deadline();
  auto reader = stub.GetBlocks(context.get(), request);
  v1::GetBlocksResponse response;
  while (reader->Read(&response)) out->push_back(response.block());
  return reader->Finish();
}

grpc::Status HostAppend(v1::HostService::Stub& stub, const std::string& owner_signed) {
  v1::AppendRequest request;
  request.set_block(owner_signed);
  v1::AppendResponse response;
  return stub.Append(Deadline().get(), request, &response);
}

std::pair<int, std::string> RunMlctl(const std::vector<std::string>& args) {
  const char* binary = std::getenv("ML_MLCTL_BINARY");
  return ServerProcess::RunToExit(
      ServerCommand{binary != nullptr ? binary : "tools/mlctl", args, {}});
}

}  // namespace microledger
