#include "host_service/host_grpc_service.h"

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"
#include "common/error_text.h"

namespace microledger {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

AppendInput ToInput(v1::AppendRequest& request) {
  AppendInput input;
  input.block = std::move(*request.mutable_block());
  input.ledger_token = std::move(*request.mutable_ledger_token());
  input.attachments.reserve(request.attachments_size());
  for (v1::Attachment& attachment : *request.mutable_attachments()) {
    input.attachments.push_back(
        {std::move(*attachment.mutable_name()), std::move(*attachment.mutable_data())});
  }
  return input;
}

AppendInput CopyInput(const v1::AppendRequest& request) {
  v1::AppendRequest copy = request;
  return ToInput(copy);
}

void FillAppendResponse(AppendResult& result, v1::AppendResponse* response) {
  response->set_ledger_id(std::move(result.ledger_id));
  response->set_number(result.number);
  response->set_fingerprint(std::move(result.fingerprint));
  v1::Signature* signature = response->mutable_host_signature();
  signature->set_role(std::move(result.host_signature.role));
  signature->set_alg(std::move(result.host_signature.alg));
  signature->set_key(std::move(result.host_signature.key));
  signature->set_sig(std::move(result.host_signature.sig));
  response->set_checkpoint(std::move(result.checkpoint));
}

ServerUnaryReactor* FinishNow(CallbackServerContext* context, const grpc::Status& status) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// Bidi reactor of AppendStream. Lifetime: one reference for gRPC (dropped in
// OnDone) and one per append in flight (dropped by its callback), so a commit
// that completes after the client went away never touches a deleted reactor.
class AppendStreamReactor
    : public grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamResponse> {
 public:
  AppendStreamReactor(LedgerHost* host, size_t max_inflight, AdmissionControl* admission,
                      std::string peer)
      : host_(host), max_inflight_(max_inflight), admission_(admission), peer_(std::move(peer)) {
    absl::StatusOr<AdmissionControl::Ticket> ticket = admission_->AdmitAppendStream(peer_);
    absl::MutexLock lock(&mu_);
    if (!ticket.ok()) {
      finished_ = true;
      Finish(ToGrpcStatus(ticket.status()));
      return;
    }
    stream_ticket_ = *std::move(ticket);
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      read_done_ = true;
      MaybeFinishLocked();
      return;
    }
    // Every unanswered request counts as an append in flight.
    absl::StatusOr<AdmissionControl::Ticket> ticket =
        admission_->AdmitAppend(peer_, request_.ByteSizeLong());
    Slot* slot;
    {
      absl::MutexLock lock(&mu_);
      slots_.emplace_back();
      slot = &slots_.back();
      if (!ticket.ok()) {
        // Refused: answered at once, nothing appended; the stream goes on.
        request_.Clear();
        slot->reply.set_code(static_cast<int>(ticket.status().code()));
        slot->reply.set_message(std::string(ticket.status().message()));
        slot->ready = true;
        reading_ = false;
        WriteNextLocked();
        MaybeReadLocked();
        return;
      }
      slot->ticket = *std::move(ticket);
    }
    refs_.fetch_add(1, std::memory_order_relaxed);
    // May call back inline (rejected block): the callback takes mu_ itself.
    host_->AppendAsync(ToInput(request_), [this, slot](absl::StatusOr<AppendResult> result) {
      {
        absl::MutexLock lock(&mu_);
        slot->ticket.Release();
        if (result.ok()) {
          slot->reply.set_code(0);
          FillAppendResponse(*result, slot->reply.mutable_result());
        } else {
          slot->reply.set_code(static_cast<int>(result.status().code()));
          slot->reply.set_message(std::string(result.status().message()));
        }
        slot->ready = true;
        WriteNextLocked();
      }
      Unref();
    });
    absl::MutexLock lock(&mu_);
    reading_ = false;
    MaybeReadLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    slots_.pop_front();
    if (!ok) failed_ = true;
    MaybeReadLocked();
    WriteNextLocked();
    MaybeFinishLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    failed_ = true;
    MaybeFinishLocked();
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      stream_ticket_.Release();
    }
    Unref();
  }

 private:
  struct Slot {
    bool ready = false;
    v1::AppendStreamResponse reply;
    // The admission of this request, released once it is answered.
    AdmissionControl::Ticket ticket;
  };

  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void MaybeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || read_done_ || failed_ || finished_) return;
    if (slots_.size() >= max_inflight_) return;
    reading_ = true;
    StartRead(&request_);
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || failed_ || finished_ || slots_.empty() || !slots_.front().ready) {
      MaybeFinishLocked();
      return;
    }
    writing_ = true;
    StartWrite(&slots_.front().reply);
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || reading_ || writing_) return;
    if (failed_) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "append stream: the client went away"));
    } else if (read_done_ && slots_.empty()) {
      finished_ = true;
      Finish(grpc::Status::OK);
    }
  }

  LedgerHost* const host_;
  const size_t max_inflight_;
  AdmissionControl* const admission_;
  const std::string peer_;
  std::atomic<int> refs_{1};
  v1::AppendRequest request_;  // Owned by the outstanding read.
  absl::Mutex mu_;
  // Requests not yet answered, in request order (deque: stable addresses).
  std::deque<Slot> slots_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool read_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  AdmissionControl::Ticket stream_ticket_ ABSL_GUARDED_BY(mu_);
};

// GetBlocks: blocks read a chunk at a time (one storage scan), one write per
// block, or per max_blocks_per_message blocks.
class GetBlocksReactor : public grpc::ServerWriteReactor<v1::GetBlocksResponse> {
 public:
  static constexpr uint32_t kMaxBlocksPerMessage = 256;
  // A batched message takes no more blocks once it holds this many bytes
  // (gRPC clients refuse messages above 4 MiB by default).
  static constexpr size_t kBatchBytes = 1 << 20;

  GetBlocksReactor(const LedgerHost* host, const v1::GetBlocksRequest* request)
      : host_(host),
        ledger_id_(request->ledger_id()),
        per_message_(request->max_blocks_per_message()) {
    if (per_message_ > kMaxBlocksPerMessage) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("blocks: max_blocks_per_message is at most ",
                                       kMaxBlocksPerMessage)));
      return;
    }
    absl::StatusOr<LedgerHost::BlockRange> range =
        host_->ResolveBlockRange(ledger_id_, request->from_number(), request->to_number());
    if (!range.ok()) {
      Finish(ToGrpcStatus(range.status()));
      return;
    }
    range_ = *std::move(range);
    next_ = range_.first;
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "blocks: the client went away"));
      return;
    }
    Next();
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kChunk = 64;

  void Next() {
    if (next_ > range_.last) {
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    response_.set_number(next_);
    if (per_message_ <= 1) {
      absl::StatusOr<std::string> block = NextBlock();
      if (!block.ok()) return Finish(ToGrpcStatus(block.status()));
      response_.set_block(*std::move(block));
    } else {
      size_t bytes = 0;
      while (next_ <= range_.last &&
             static_cast<uint32_t>(response_.blocks_size()) < per_message_ &&
             bytes < kBatchBytes) {
        absl::StatusOr<std::string> block = NextBlock();
        if (!block.ok()) return Finish(ToGrpcStatus(block.status()));
        bytes += block->size();
        response_.add_blocks(*std::move(block));
      }
    }
    StartWrite(&response_);
  }

  // Block next_ (then advances), from the chunk read last or a new one.
  absl::StatusOr<std::string> NextBlock() {
    if (chunk_index_ == chunk_.size()) {
      absl::StatusOr<std::vector<std::string>> blocks =
          host_->ReadBlocks(ledger_id_, range_, next_, kChunk);
      if (!blocks.ok()) return blocks.status();
      chunk_ = *std::move(blocks);
      chunk_index_ = 0;
    }
    ++next_;
    return std::move(chunk_[chunk_index_++]);
  }

  const LedgerHost* host_;
  std::string ledger_id_;
  const uint32_t per_message_;
  LedgerHost::BlockRange range_;
  uint64_t next_ = 0;
  std::vector<std::string> chunk_;
  size_t chunk_index_ = 0;
  v1::GetBlocksResponse response_;
};

// Subscribe: stored blocks first, then a waiter on the committed head.
// Lifetime: one reference for gRPC (OnDone) and one while a waiter is
// registered.
class SubscribeReactor : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  SubscribeReactor(LedgerHost* host, const v1::SubscribeRequest* request,
                   AdmissionControl* admission, const std::string& peer)
      : ledger_id_(request->ledger_id()), next_(request->from_number()) {
    absl::StatusOr<AdmissionControl::Ticket> ticket = admission->AdmitSubscription(peer);
    absl::StatusOr<std::shared_ptr<CommitWatch>> watch;
    if (!ticket.ok()) {
      watch = ticket.status();
    } else if (next_ == 0) {
      watch = absl::InvalidArgumentError("subscribe: from_number must be at least 1");
    } else {
      watch = host->WatchLedger(ledger_id_);
    }
    absl::MutexLock lock(&mu_);
    if (!watch.ok()) {
      FinishLocked(ToGrpcStatus(watch.status()));
      return;
    }
    ticket_ = *std::move(ticket);
    watch_ = *std::move(watch);
    PumpLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscribe: the client went away"));
      return;
    }
    ++next_;
    PumpLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (waiting_ && watch_->CancelWait(waiter_id_)) {
      waiting_ = false;
      refs_.fetch_sub(1, std::memory_order_acq_rel);  // gRPC's ref remains.
    }
    if (!writing_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscribe: cancelled"));
    }
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      ticket_.Release();
    }
    Unref();
  }

 private:
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  void Wake() {
    {
      absl::MutexLock lock(&mu_);
      waiting_ = false;
      PumpLocked();
    }
    Unref();
  }

  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || waiting_ || cancelled_) return;
    if (next_ > head_) {
      refs_.fetch_add(1, std::memory_order_relaxed);
      CommitWatch::Poll poll = watch_->PollOrWait(next_ - 1, [this] { Wake(); });
      if (poll.registered) {
        waiting_ = true;
        waiter_id_ = poll.waiter_id;
        return;
      }
      refs_.fetch_sub(1, std::memory_order_relaxed);
      if (poll.forgotten) {
        FinishLocked(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                  "ledger: " + QuoteForError(ledger_id_) + " was forgotten"));
        return;
      }
      head_ = poll.head;
    }
    std::string block, checkpoint;
    if (absl::Status s = watch_->Read(next_, &block, &checkpoint); !s.ok()) {
      FinishLocked(ToGrpcStatus(s));
      return;
    }
    response_.set_number(next_);
    response_.set_block(std::move(block));
    response_.set_checkpoint(std::move(checkpoint));
    writing_ = true;
    StartWrite(&response_);
  }

  const std::string ledger_id_;
  std::atomic<int> refs_{1};
  absl::Mutex mu_;
  std::shared_ptr<CommitWatch> watch_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t waiter_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  AdmissionControl::Ticket ticket_ ABSL_GUARDED_BY(mu_);
  v1::SubscribeResponse response_;
};

}  // namespace

ServerUnaryReactor* HostGrpcService::CreateLedger(CallbackServerContext* context,
                                                  const v1::CreateLedgerRequest*,
                                                  v1::CreateLedgerResponse* response) {
  absl::StatusOr<NewLedger> ledger = host_->CreateLedger();
  if (!ledger.ok()) return FinishNow(context, ToGrpcStatus(ledger.status()));
  response->set_ledger_id(ledger->ledger_id);
  response->set_ledger_token(ledger->ledger_token);
  return FinishNow(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::Append(CallbackServerContext* context,
                                            const v1::AppendRequest* request,
                                            v1::AppendResponse* response) {
  absl::StatusOr<AdmissionControl::Ticket> ticket =
      admission_.AdmitAppend(context->peer(), request->ByteSizeLong());
  if (!ticket.ok()) return FinishNow(context, ToGrpcStatus(ticket.status()));
  ServerUnaryReactor* reactor = context->DefaultReactor();
  // Shared: std::function needs a copyable callback.
  auto held = std::make_shared<AdmissionControl::Ticket>(*std::move(ticket));
  host_->AppendAsync(CopyInput(*request),
                     [reactor, response, held](absl::StatusOr<AppendResult> result) {
                       held->Release();
                       if (!result.ok()) {
                         reactor->Finish(ToGrpcStatus(result.status()));
                         return;
                       }
                       FillAppendResponse(*result, response);
                       reactor->Finish(grpc::Status::OK);
                     });
  return reactor;
}

grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendStreamResponse>*
HostGrpcService::AppendStream(CallbackServerContext* context) {
  return new AppendStreamReactor(host_, max_inflight_per_stream_, &admission_,
                                 context->peer());
}

grpc::ServerWriteReactor<v1::GetBlocksResponse>* HostGrpcService::GetBlocks(
    CallbackServerContext*, const v1::GetBlocksRequest* request) {
  return new GetBlocksReactor(host_, request);
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* HostGrpcService::Subscribe(
    CallbackServerContext* context, const v1::SubscribeRequest* request) {
  return new SubscribeReactor(host_, request, &admission_, context->peer());
}

ServerUnaryReactor* HostGrpcService::GetLedger(CallbackServerContext* context,
                                        const v1::GetLedgerRequest* request,
                                        v1::GetLedgerResponse* response) {
  absl::StatusOr<LedgerInfo> info = host_->GetLedger(request->ledger_id());
  if (!info.ok()) return FinishNow(context, ToGrpcStatus(info.status()));
  response->set_ledger_id(info->ledger_id);
  response->set_genesis_block(info->genesis_block);
  const ChainState& state = info->state;
  switch (LifecycleOf(state)) {
    case LedgerLifecycle::kClosed:
      response->set_status(v1::LEDGER_STATUS_CLOSED);
      break;
    case LedgerLifecycle::kMoved:
      response->set_status(v1::LEDGER_STATUS_MOVED);
      break;
    case LedgerLifecycle::kNoGenesis:
    case LedgerLifecycle::kOpen:
      response->set_status(v1::LEDGER_STATUS_OPEN);
      break;
  }
  response->set_head_number(state.head_number);
  response->set_head_fingerprint(state.head_fingerprint);
  response->mutable_controllers()->set_threshold(state.controllers.threshold);
  for (const std::string& key : state.controllers.keys) {
    response->mutable_controllers()->add_keys(key);
  }
  response->set_checkpoint(info->checkpoint);
  return FinishNow(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::GetCheckpoint(CallbackServerContext* context,
                                            const v1::GetCheckpointRequest* request,
                                            v1::GetCheckpointResponse* response) {
  absl::StatusOr<std::string> checkpoint =
      host_->GetCheckpoint(request->ledger_id(), request->tree_size());
  if (!checkpoint.ok()) return FinishNow(context, ToGrpcStatus(checkpoint.status()));
  // The tree size is the checkpoint's second line.
  size_t first = checkpoint->find('\n');
  size_t second = checkpoint->find('\n', first + 1);
  response->set_tree_size(
      std::stoull(checkpoint->substr(first + 1, second - first - 1)));
  response->set_checkpoint(*checkpoint);
  return FinishNow(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::GetInclusionProof(
    CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* response) {
  absl::StatusOr<InclusionProofResult> proof = host_->GetInclusionProof(
      request->ledger_id(), request->number(), request->tree_size());
  if (!proof.ok()) return FinishNow(context, ToGrpcStatus(proof.status()));
  response->set_leaf_index(proof->leaf_index);
  response->set_tree_size(proof->tree_size);
  for (const MerkleHash& hash : proof->hashes) response->add_hashes(MerkleHashBytes(hash));
  response->set_root_hash(MerkleHashBytes(proof->root));
  response->set_checkpoint(proof->checkpoint);
  return FinishNow(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::GetConsistencyProof(
    CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
    v1::GetConsistencyProofResponse* response) {
  absl::StatusOr<ConsistencyProofResult> proof = host_->GetConsistencyProof(
      request->ledger_id(), request->old_size(), request->new_size());
  if (!proof.ok()) return FinishNow(context, ToGrpcStatus(proof.status()));
  response->set_old_size(proof->old_size);
  response->set_new_size(proof->new_size);
  for (const MerkleHash& hash : proof->hashes) response->add_hashes(MerkleHashBytes(hash));
  response->set_old_checkpoint(proof->old_checkpoint);
  response->set_new_checkpoint(proof->new_checkpoint);
  return FinishNow(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::GetAttachment(CallbackServerContext* context,
                                            const v1::GetAttachmentRequest* request,
                                            v1::GetAttachmentResponse* response) {
  absl::StatusOr<StoredAttachment> attachment =
      host_->GetAttachment(request->ledger_id(), request->seal());
  if (!attachment.ok()) return FinishNow(context, ToGrpcStatus(attachment.status()));
  response->set_seal(request->seal());
  response->set_name(attachment->name);
  response->set_data(attachment->data);
  return FinishNow(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::ForgetLedger(CallbackServerContext* context,
                                           const v1::ForgetLedgerRequest* request,
                                           v1::ForgetLedgerResponse*) {
  std::vector<BlockSignature> signatures;
  for (const v1::Signature& signature : request->signatures()) {
    signatures.push_back(
        {signature.role(), signature.alg(), signature.key(), signature.sig()});
  }
  return FinishNow(context, ToGrpcStatus(
      host_->Forget(request->ledger_id(), request->head_fingerprint(), signatures)));
}

}  // namespace microledger
