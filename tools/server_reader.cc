#include "tools/server_reader.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "serving/listen_address.h"
#include "serving/whole_file.h"

namespace microledger {
namespace {

absl::Status FromGrpc(const std::string& address, const char* call,
                      const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  return absl::Status(code, absl::StrCat("server ", address, ": ", call, ": ",
                                         absl::StatusCodeToString(code), ": ",
                                         status.error_message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerReader>> ServerReader::Create(
    const ServerOptions& options) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.address);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--from: ", address.status().message()));
  }
  if (address->kind == ListenAddress::Kind::kTcp && address->port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--from: ", options.address, ": port 0 names no server"));
  }
  std::unique_ptr<ServerReader> reader(new ServerReader());
  reader->options_ = options;
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadWholeFile(options.tls_ca_file);
    if (!pem.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--from_tls_ca: ", pem.status().message()));
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *pem;
    credentials = grpc::SslCredentials(ssl);
  } else if (options.tls) {
    credentials = grpc::SslCredentials(grpc::SslCredentialsOptions());
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  reader->channel_ = grpc::CreateCustomChannel(options.address, credentials, arguments);
  reader->stub_ = v1::HostService::NewStub(reader->channel_);
  return reader;
}

absl::Status ServerReader::Connect() {
  const int64_t seconds = std::clamp<int64_t>(options_.timeout_seconds, 1, 10);
  if (!channel_->WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::seconds(seconds))) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach the server at ", options_.address,
        options_.tls_ca_file.empty() && !options_.tls ? " (a TLS server? see --from_tls_ca)"
                                                      : ""));
  }
  return absl::OkStatus();
}

void ServerReader::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(std::max<int64_t>(1, options_.timeout_seconds)));
}

absl::StatusOr<v1::GetLedgerResponse> ServerReader::GetLedger(const std::string& ledger_id) {
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::GetLedgerResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->GetLedger(&context, request, &response);
  if (!status.ok()) return FromGrpc(options_.address, "GetLedger", status);
  return response;
}

absl::StatusOr<std::string> ServerReader::GetLatestCheckpoint(const std::string& ledger_id,
                                                              bool witnessed) {
  v1::GetCheckpointRequest request;
  request.set_ledger_id(ledger_id);
  request.set_witnessed(witnessed);
  v1::GetCheckpointResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->GetCheckpoint(&context, request, &response);
  if (!status.ok()) return FromGrpc(options_.address, "GetCheckpoint", status);
  return std::move(*response.mutable_checkpoint());
}

absl::Status ServerReader::ReadBlocks(
    const std::string& ledger_id, uint64_t from, uint64_t to,
    const std::function<absl::Status(const std::string&)>& visit) {
  if (from > to) return absl::OkStatus();
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(from);
  request.set_to_number(to);
  request.set_max_blocks_per_message(kBlocksPerMessage);
  grpc::ClientContext context;
  SetDeadline(&context);
  std::unique_ptr<grpc::ClientReader<v1::GetBlocksResponse>> reader =
      stub_->GetBlocks(&context, request);
  v1::GetBlocksResponse response;
  uint64_t wanted = to - from + 1;
  absl::Status visited;
  while (wanted > 0 && visited.ok() && reader->Read(&response)) {
    // One block per message in `block`, or a batch in `blocks`.
    if (response.blocks_size() == 0) {
      visited = visit(response.block());
      --wanted;
      continue;
    }
    for (const std::string& block : response.blocks()) {
      if (wanted == 0 || !visited.ok()) break;
      visited = visit(block);
      --wanted;
    }
  }
  if (wanted == 0 || !visited.ok()) {
    context.TryCancel();
    reader->Finish();
    return visited;
  }
  return FromGrpc(options_.address, "GetBlocks", reader->Finish());
}

absl::StatusOr<v1::GetAttachmentResponse> ServerReader::GetAttachment(
    const std::string& ledger_id, const std::string& seal) {
  v1::GetAttachmentRequest request;
  request.set_ledger_id(ledger_id);
  request.set_seal(seal);
  v1::GetAttachmentResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->GetAttachment(&context, request, &response);
  if (!status.ok()) return FromGrpc(options_.address, "GetAttachment", status);
  return response;
}

absl::StatusOr<v1::GetInclusionProofResponse> ServerReader::GetInclusionProof(
    const std::string& ledger_id, uint64_t number, uint64_t tree_size) {
  v1::GetInclusionProofRequest request;
  request.set_ledger_id(ledger_id);
  request.set_number(number);
  request.set_tree_size(tree_size);
  v1::GetInclusionProofResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->GetInclusionProof(&context, request, &response);
  if (!status.ok()) return FromGrpc(options_.address, "GetInclusionProof", status);
  return response;
}

absl::StatusOr<std::vector<std::string>> ServerReader::GetLedgerEvidence(
    const std::string& ledger_id) {
  v1::GetLedgerEvidenceRequest request;
  request.set_ledger_id(ledger_id);
  v1::GetLedgerEvidenceResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->GetLedgerEvidence(&context, request, &response);
  if (!status.ok()) return FromGrpc(options_.address, "GetLedgerEvidence", status);
  return std::vector<std::string>(response.evidence().begin(), response.evidence().end());
}

absl::StatusOr<v1::ReportEquivocationResponse> ServerReader::ReportEquivocation(
    const std::string& evidence) {
  v1::ReportEquivocationRequest request;
  request.set_evidence(evidence);
  v1::ReportEquivocationResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->ReportEquivocation(&context, request, &response);
  if (!status.ok()) return FromGrpc(options_.address, "ReportEquivocation", status);
  return response;
}

absl::Status ServerReader::Subscription::Finish() {
  return FromGrpc(address_, "Subscribe", reader_->Finish());
}

void ServerReader::Subscription::Cancel() { context_.TryCancel(); }

std::unique_ptr<ServerReader::Subscription> ServerReader::Subscribe(
    const std::string& ledger_id, uint64_t from_number, bool follow) {
  std::unique_ptr<Subscription> subscription(new Subscription());
  subscription->address_ = options_.address;
  if (!follow) SetDeadline(&subscription->context_);
  v1::SubscribeRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(from_number);
  subscription->reader_ = stub_->Subscribe(&subscription->context_, request);
  return subscription;
}

}  // namespace microledger
