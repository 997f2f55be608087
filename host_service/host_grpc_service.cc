#include "host_service/host_grpc_service.h"

#include <deque>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"

namespace microledger {
namespace {

using grpc::ServerContext;

AppendInput ToInput(const v1::AppendRequest& request) {
  AppendInput input;
  input.block = request.block();
  input.ledger_token = request.ledger_token();
  for (const v1::Attachment& attachment : request.attachments()) {
    input.attachments.push_back({attachment.name(), attachment.data()});
  }
  return input;
}

void FillAppendResponse(const AppendResult& result, v1::AppendResponse* response) {
  response->set_ledger_id(result.ledger_id);
  response->set_number(result.number);
  response->set_fingerprint(result.fingerprint);
  v1::Signature* signature = response->mutable_host_signature();
  signature->set_role(result.host_signature.role);
  signature->set_alg(result.host_signature.alg);
  signature->set_key(result.host_signature.key);
  signature->set_sig(result.host_signature.sig);
  response->set_checkpoint(result.checkpoint);
}

std::string HashBytes(const MerkleHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status HostGrpcService::CreateLedger(ServerContext*,
                                           const v1::CreateLedgerRequest*,
                                           v1::CreateLedgerResponse* response) {
  absl::StatusOr<NewLedger> ledger = host_->CreateLedger();
  if (!ledger.ok()) return ToGrpcStatus(ledger.status());
  response->set_ledger_id(ledger->ledger_id);
  response->set_ledger_token(ledger->ledger_token);
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::Append(ServerContext*, const v1::AppendRequest* request,
                                     v1::AppendResponse* response) {
  absl::StatusOr<AppendResult> result = host_->Append(ToInput(*request));
  if (!result.ok()) return ToGrpcStatus(result.status());
  FillAppendResponse(*result, response);
  return grpc::Status::OK;
}

// A reader thread takes requests off the stream and starts each append on its
// own thread, after the previous append of the same ledger in this stream (so a
// ledger's blocks apply in the order sent, while different ledgers commit in
// parallel and share WAL syncs). This thread writes the replies in request
// order. At most max_inflight_per_stream_ requests are in flight.
grpc::Status HostGrpcService::AppendStream(
    ServerContext* context,
    grpc::ServerReaderWriter<v1::AppendStreamResponse, v1::AppendRequest>* stream) {
  using Reply = std::shared_future<v1::AppendStreamResponse>;
  absl::Mutex mu;
  std::deque<Reply> pending;  // Guarded by mu.
  bool reading_done = false;  // Guarded by mu.
  bool writer_failed = false;  // Guarded by mu.
  size_t inflight = 0;         // Guarded by mu.
  const size_t max_inflight = max_inflight_per_stream_ == 0 ? 1 : max_inflight_per_stream_;

  std::thread reader([&] {
    // The last append of each ledger in this stream.
    absl::flat_hash_map<std::string, Reply> last_of_ledger;
    v1::AppendRequest request;
    while (true) {
      {
        absl::MutexLock lock(&mu);
        auto can_read = [&] { return inflight < max_inflight || writer_failed; };
        mu.Await(absl::Condition(&can_read));
        if (writer_failed) break;
      }
      if (!stream->Read(&request)) break;
      // The ledger of the block, read cheaply for ordering; a block that does
      // not parse is rejected by Append anyway.
      std::string ledger;
      {
        absl::StatusOr<Block> block =
            ParseBlock(request.block(), SignatureStage::kOwnerSigned);
        if (block.ok()) ledger = block->ledger;
      }
      Reply previous;
      if (!ledger.empty()) {
        auto it = last_of_ledger.find(ledger);
        if (it != last_of_ledger.end()) previous = it->second;
      }
      auto task = std::make_shared<std::packaged_task<v1::AppendStreamResponse()>>(
          [this, input = ToInput(request), previous]() {
            if (previous.valid()) previous.wait();
            v1::AppendStreamResponse reply;
            absl::StatusOr<AppendResult> result = host_->Append(input);
            if (result.ok()) {
              reply.set_code(0);
              FillAppendResponse(*result, reply.mutable_result());
            } else {
              reply.set_code(static_cast<int>(result.status().code()));
              reply.set_message(std::string(result.status().message()));
            }
            return reply;
          });
      Reply reply = task->get_future().share();
      if (!ledger.empty()) last_of_ledger[ledger] = reply;
      std::thread([task] { (*task)(); }).detach();
      absl::MutexLock lock(&mu);
      pending.push_back(reply);
      ++inflight;
    }
    absl::MutexLock lock(&mu);
    reading_done = true;
  });

  while (true) {
    Reply next;
    {
      absl::MutexLock lock(&mu);
      auto has_work = [&] { return !pending.empty() || reading_done; };
      mu.Await(absl::Condition(&has_work));
      if (pending.empty()) break;
      next = pending.front();
      pending.pop_front();
    }
    const v1::AppendStreamResponse& reply = next.get();
    bool ok = !context->IsCancelled() && stream->Write(reply);
    absl::MutexLock lock(&mu);
    --inflight;
    if (!ok) writer_failed = true;
  }
  reader.join();
  // Appends still running finish on their own threads (they own their input).
  {
    absl::MutexLock lock(&mu);
    for (Reply& reply : pending) reply.wait();
  }
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::GetLedger(ServerContext*,
                                        const v1::GetLedgerRequest* request,
                                        v1::GetLedgerResponse* response) {
  absl::StatusOr<LedgerInfo> info = host_->GetLedger(request->ledger_id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  response->set_ledger_id(info->ledger_id);
  response->set_genesis_block(info->genesis_block);
  const ChainState& state = info->state;
  if (state.terminal_event == kClosedDocument) {
    response->set_status(v1::LEDGER_STATUS_CLOSED);
  } else if (state.terminal_event == kMovedDocument) {
    response->set_status(v1::LEDGER_STATUS_MOVED);
  } else {
    response->set_status(v1::LEDGER_STATUS_OPEN);
  }
  response->set_head_number(state.head_number);
  response->set_head_fingerprint(state.head_fingerprint);
  response->mutable_controllers()->set_threshold(state.controllers.threshold);
  for (const std::string& key : state.controllers.keys) {
    response->mutable_controllers()->add_keys(key);
  }
  response->set_checkpoint(info->checkpoint);
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::GetCheckpoint(ServerContext*,
                                            const v1::GetCheckpointRequest* request,
                                            v1::GetCheckpointResponse* response) {
  absl::StatusOr<std::string> checkpoint =
      host_->GetCheckpoint(request->ledger_id(), request->tree_size());
  if (!checkpoint.ok()) return ToGrpcStatus(checkpoint.status());
  // The tree size is the checkpoint's second line.
  size_t first = checkpoint->find('\n');
  size_t second = checkpoint->find('\n', first + 1);
  response->set_tree_size(
      std::stoull(checkpoint->substr(first + 1, second - first - 1)));
  response->set_checkpoint(*checkpoint);
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::GetBlocks(ServerContext* context,
                                        const v1::GetBlocksRequest* request,
                                        grpc::ServerWriter<v1::GetBlocksResponse>* writer) {
  bool write_failed = false;
  absl::Status status = host_->GetBlocks(
      request->ledger_id(), request->from_number(), request->to_number(),
      [&](uint64_t number, const std::string& block) {
        if (context->IsCancelled()) return false;
        v1::GetBlocksResponse response;
        response.set_number(number);
        response.set_block(block);
        if (!writer->Write(response)) write_failed = true;
        return !write_failed;
      });
  if (write_failed || context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "blocks: the client went away");
  }
  return ToGrpcStatus(status);
}

grpc::Status HostGrpcService::GetInclusionProof(
    ServerContext*, const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* response) {
  absl::StatusOr<InclusionProofResult> proof = host_->GetInclusionProof(
      request->ledger_id(), request->number(), request->tree_size());
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  response->set_leaf_index(proof->leaf_index);
  response->set_tree_size(proof->tree_size);
  for (const MerkleHash& hash : proof->hashes) response->add_hashes(HashBytes(hash));
  response->set_root_hash(HashBytes(proof->root));
  response->set_checkpoint(proof->checkpoint);
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::GetConsistencyProof(
    ServerContext*, const v1::GetConsistencyProofRequest* request,
    v1::GetConsistencyProofResponse* response) {
  absl::StatusOr<ConsistencyProofResult> proof = host_->GetConsistencyProof(
      request->ledger_id(), request->old_size(), request->new_size());
  if (!proof.ok()) return ToGrpcStatus(proof.status());
  response->set_old_size(proof->old_size);
  response->set_new_size(proof->new_size);
  for (const MerkleHash& hash : proof->hashes) response->add_hashes(HashBytes(hash));
  response->set_old_checkpoint(proof->old_checkpoint);
  response->set_new_checkpoint(proof->new_checkpoint);
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::GetAttachment(ServerContext*,
                                            const v1::GetAttachmentRequest* request,
                                            v1::GetAttachmentResponse* response) {
  absl::StatusOr<StoredAttachment> attachment =
      host_->GetAttachment(request->ledger_id(), request->seal());
  if (!attachment.ok()) return ToGrpcStatus(attachment.status());
  response->set_seal(request->seal());
  response->set_name(attachment->name);
  response->set_data(attachment->data);
  return grpc::Status::OK;
}

grpc::Status HostGrpcService::Subscribe(ServerContext* context,
                                        const v1::SubscribeRequest* request,
                                        grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  absl::Status status = host_->Subscribe(
      request->ledger_id(), request->from_number(),
      [&](uint64_t number, const std::string& block, const std::string& checkpoint) {
        v1::SubscribeResponse response;
        response.set_number(number);
        response.set_block(block);
        response.set_checkpoint(checkpoint);
        return writer->Write(response);
      },
      [context] { return context->IsCancelled(); });
  return ToGrpcStatus(status);
}

grpc::Status HostGrpcService::ForgetLedger(ServerContext*,
                                           const v1::ForgetLedgerRequest* request,
                                           v1::ForgetLedgerResponse*) {
  std::vector<BlockSignature> signatures;
  for (const v1::Signature& signature : request->signatures()) {
    signatures.push_back(
        {signature.role(), signature.alg(), signature.key(), signature.sig()});
  }
  return ToGrpcStatus(
      host_->Forget(request->ledger_id(), request->head_fingerprint(), signatures));
}

}  // namespace microledger
