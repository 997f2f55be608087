#include "tests/mlctl/lying_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/block.h"
#include "common/encoding.h"

namespace microledger {

std::string LyingServer::SpoilSignature(const std::string& note) {
  const size_t line = note.find("\n\n");
  if (line == std::string::npos) return note;
  const size_t end = note.find('\n', line + 2);
  const size_t space = note.rfind(' ', end);
  if (end == std::string::npos || space == std::string::npos || space < line) return note;
  absl::StatusOr<std::string> payload =
      DecodeBase64Std(note.substr(space + 1, end - space - 1));
  if (!payload.ok() || payload->size() < 10) return note;
  (*payload)[8] ^= 1;  // A byte of the Ed25519 signature (after the 4-byte key hash).
  return absl::StrCat(note.substr(0, space + 1), EncodeBase64Std(*payload), note.substr(end));
}

class LyingServer::Service final : public v1::HostService::Service {
 public:
  Service(const std::string& host_address, LieOptions options)
      : host_(v1::HostService::NewStub(
            grpc::CreateChannel(host_address, grpc::InsecureChannelCredentials()))),
        options_(std::move(options)) {}

  grpc::Status GetLedger(grpc::ServerContext*, const v1::GetLedgerRequest* request,
                         v1::GetLedgerResponse* response) override {
    grpc::ClientContext context;
    grpc::Status status = host_->GetLedger(&context, *request, response);
    if (!status.ok()) return status;
    response->set_checkpoint(Checkpoint(response->checkpoint()));
    if (options_.lie == Lie::kWrongHeadFingerprint) {
      std::vector<std::string> first;
      status = Blocks(request->ledger_id(), 1, 1, &first);
      if (!status.ok() || first.empty()) return status;
      absl::StatusOr<Block> genesis = ParseBlock(first[0], SignatureStage::kComplete);
      if (!genesis.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "genesis");
      response->set_head_fingerprint(genesis->fingerprint);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetCheckpoint(grpc::ServerContext*, const v1::GetCheckpointRequest* request,
                             v1::GetCheckpointResponse* response) override {
    grpc::ClientContext context;
    grpc::Status status = host_->GetCheckpoint(&context, *request, response);
    response->set_checkpoint(Checkpoint(response->checkpoint()));
    return status;
  }

  grpc::Status GetBlocks(grpc::ServerContext*, const v1::GetBlocksRequest* request,
                         grpc::ServerWriter<v1::GetBlocksResponse>* writer) override {
    if (options_.lie == Lie::kBlocksError) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the disk is on fire");
    }
    std::vector<std::string> blocks;
    grpc::Status status =
        Blocks(request->ledger_id(), request->from_number(), request->to_number(), &blocks);
    if (!status.ok()) return status;
    // One block per message, whatever was asked: a server may batch less.
    for (size_t i = 0; i < blocks.size(); ++i) {
      v1::GetBlocksResponse response;
      response.set_number(request->from_number() + i);
      response.set_block(blocks[i]);
      writer->Write(response);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetInclusionProof(grpc::ServerContext*,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::GetInclusionProofResponse* response) override {
    grpc::ClientContext context;
    grpc::Status status = host_->GetInclusionProof(&context, *request, response);
    response->set_checkpoint(Checkpoint(response->checkpoint()));
    return status;
  }

  grpc::Status GetAttachment(grpc::ServerContext*, const v1::GetAttachmentRequest* request,
                             v1::GetAttachmentResponse* response) override {
    grpc::ClientContext context;
    grpc::Status status = host_->GetAttachment(&context, *request, response);
    if (options_.lie == Lie::kSwappedAttachment) response->mutable_data()->push_back('!');
    return status;
  }

  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override {
    std::vector<std::string> blocks;
    grpc::Status status = Blocks(request->ledger_id(), request->from_number(), 0, &blocks);
    if (!status.ok()) return status;
    for (size_t i = 0; i < blocks.size(); ++i) {
      v1::GetCheckpointRequest asked;
      asked.set_ledger_id(request->ledger_id());
      asked.set_tree_size(request->from_number() + i);
      v1::GetCheckpointResponse checkpoint;
      grpc::ClientContext context;
      status = host_->GetCheckpoint(&context, asked, &checkpoint);
      if (!status.ok()) return status;
      v1::SubscribeResponse response;
      response.set_number(request->from_number() + i);
      response.set_block(blocks[i]);
      response.set_checkpoint(Checkpoint(checkpoint.checkpoint()));
      writer->Write(response);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetLedgerEvidence(grpc::ServerContext*, const v1::GetLedgerEvidenceRequest*,
                                 v1::GetLedgerEvidenceResponse* response) override {
    if (options_.lie != Lie::kEvidence) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not here");
    }
    for (const std::string& evidence : options_.evidence) response->add_evidence(evidence);
    return grpc::Status::OK;
  }

 private:
  // Blocks from..to (0 = the head) from the host, tampered as the lie says.
  grpc::Status Blocks(const std::string& ledger_id, uint64_t from, uint64_t to,
                      std::vector<std::string>* blocks) {
    v1::GetBlocksRequest request;
    request.set_ledger_id(ledger_id);
    request.set_from_number(from);
    request.set_to_number(to);
    grpc::ClientContext context;
    auto reader = host_->GetBlocks(&context, request);
    v1::GetBlocksResponse response;
    while (reader->Read(&response)) {
      std::string block = response.block();
      if (options_.lie == Lie::kTamperedBlock && response.number() == options_.block) {
        block = absl::StrReplaceAll(block, {{absl::StrCat("\"n\":", options_.block), "\"n\":999"}});
      }
      blocks->push_back(std::move(block));
    }
    return reader->Finish();
  }

  std::string Checkpoint(const std::string& note) const {
    return options_.lie == Lie::kBadCheckpointSignature ? SpoilSignature(note) : note;
  }

  std::unique_ptr<v1::HostService::Stub> host_;
  const LieOptions options_;
};

absl::StatusOr<std::unique_ptr<LyingServer>> LyingServer::Start(const std::string& host_address,
                                                                LieOptions options) {
  std::unique_ptr<LyingServer> server(new LyingServer());
  server->service_ = std::make_unique<Service>(host_address, std::move(options));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    return absl::UnavailableError("the lying server did not start");
  }
  server->address_ = absl::StrCat("127.0.0.1:", port);
  return server;
}

LyingServer::~LyingServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
}

}  // namespace microledger
