#include "ledger_store/read_service.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"
#include "common/error_text.h"
#include "common/merkle.h"
#include "serving/grpc_status.h"

namespace microledger {
namespace {

// GetBlocks: blocks read a chunk at a time (one storage scan), one write per
// block, or per max_blocks_per_message blocks.
class GetBlocksReactor : public grpc::ServerWriteReactor<v1::GetBlocksResponse> {
 public:
  static constexpr uint32_t kMaxBlocksPerMessage = 256;
  // A batched message takes no more blocks once it holds this many bytes
  // (gRPC clients refuse messages above 4 MiB by default).
  static constexpr size_t kBatchBytes = 1 << 20;

  // `blocks_read` (may be null) counts the blocks read.
  GetBlocksReactor(const LedgerReader* reader, const v1::GetBlocksRequest* request,
                   Counter* blocks_read)
      : reader_(reader),
        blocks_read_(blocks_read),
        ledger_id_(request->ledger_id()),
        per_message_(request->max_blocks_per_message()) {
    if (per_message_ > kMaxBlocksPerMessage) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("blocks: max_blocks_per_message is at most ",
                                       kMaxBlocksPerMessage)));
      return;
    }
    absl::StatusOr<LedgerReader::BlockRange> range =
        reader_->ResolveBlockRange(ledger_id_, request->from_number(), request->to_number());
    if (!range.ok()) {
      Finish(ToGrpcStatus(range.status()));
      return;
    }
    range_ = *std::move(range);
    next_ = range_.first;
    Next();
  }

  // A write that completed before the cancel may report ok after OnCancel:
  // then no more blocks are read.
  void OnWriteDone(bool ok) override {
    if (!ok || cancelled_.load(std::memory_order_acquire)) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "blocks: the client went away"));
      return;
    }
    Next();
  }

  // Until Finish, a write is always in flight (the constructor and every
  // OnWriteDone either finish or start one), and its OnWriteDone finishes.
  void OnCancel() override { cancelled_.store(true, std::memory_order_release); }

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
          reader_->ReadBlocks(ledger_id_, range_, next_, kChunk);
      if (!blocks.ok()) return blocks.status();
      chunk_ = *std::move(blocks);
      chunk_index_ = 0;
    }
    ++next_;
    if (blocks_read_ != nullptr) blocks_read_->Increment();
    return std::move(chunk_[chunk_index_++]);
  }

  const LedgerReader* reader_;
  Counter* const blocks_read_;
  std::string ledger_id_;
  const uint32_t per_message_;
  std::atomic<bool> cancelled_{false};
  LedgerReader::BlockRange range_;
  uint64_t next_ = 0;
  std::vector<std::string> chunk_;
  size_t chunk_index_ = 0;
  v1::GetBlocksResponse response_;
};

// Subscribe: stored blocks first, then a waiter on the committed head.
// Lifetime: one reference for gRPC (OnDone) and one while a waiter is
// registered.
//
// Every call is finished (and so gets OnDone, which the server's Wait() waits
// for) by whichever reaction comes last once it is cancelled: OnCancel, when no
// write is in flight; otherwise that write's OnWriteDone, whatever its `ok` (a
// write completed before the cancel reports ok = true, possibly after
// OnCancel). A wake that races the cancel (the waiter already taken by the
// committer, so CancelWait fails) only drops its reference: PumpLocked never
// starts anything on a cancelled or finished call.
class SubscribeReactor : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  SubscribeReactor(const LedgerReader* reader, const v1::SubscribeRequest* request,
                   AdmissionControl* admission, const std::string& peer)
      : ledger_id_(request->ledger_id()), reader_(reader), next_(request->from_number()) {
    absl::StatusOr<AdmissionControl::Ticket> ticket = admission->AdmitSubscription(peer);
    absl::StatusOr<std::shared_ptr<CommitWatch>> watch;
    if (!ticket.ok()) {
      watch = ticket.status();
    } else if (next_ == 0) {
      watch = absl::InvalidArgumentError("subscribe: from_number must be at least 1");
    } else {
      watch = reader->WatchLedger(ledger_id_);
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
    if (!ok || cancelled_) {
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
    // A write in flight finishes the call in its OnWriteDone.
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
    if (finished_ || writing_ || waiting_) return;
    if (cancelled_) {
      // Not reached by the reactions above (they finish first); kept so that
      // no path can leave a cancelled call unfinished.
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "subscribe: cancelled"));
      return;
    }
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
    // The newest checkpoint a quorum of witnesses cosigned, passed on once each
    // time it changes (a store without witnesses has none).
    response_.clear_witnessed_checkpoint();
    if (absl::StatusOr<std::string> witnessed = reader_->GetWitnessedCheckpoint(ledger_id_);
        witnessed.ok() && *witnessed != last_witnessed_) {
      last_witnessed_ = *witnessed;
      response_.set_witnessed_checkpoint(*std::move(witnessed));
    }
    writing_ = true;
    StartWrite(&response_);
  }

  const std::string ledger_id_;
  const LedgerReader* const reader_;
  std::atomic<int> refs_{1};
  absl::Mutex mu_;
  std::shared_ptr<CommitWatch> watch_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_);
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_witnessed_ ABSL_GUARDED_BY(mu_);
  uint64_t waiter_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  AdmissionControl::Ticket ticket_ ABSL_GUARDED_BY(mu_);
  v1::SubscribeResponse response_;
};

}  // namespace

grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

void LedgerReadService::FillInclusionProofResponse(const InclusionProofResult& proof,
                                                   v1::GetInclusionProofResponse* response) {
  response->set_leaf_index(proof.leaf_index);
  response->set_tree_size(proof.tree_size);
  for (const MerkleHash& hash : proof.hashes) response->add_hashes(MerkleHashBytes(hash));
  response->set_root_hash(MerkleHashBytes(proof.root));
  response->set_checkpoint(proof.checkpoint);
}

void LedgerReadService::FillConsistencyProofResponse(
    const ConsistencyProofResult& proof, v1::GetConsistencyProofResponse* response) {
  response->set_old_size(proof.old_size);
  response->set_new_size(proof.new_size);
  for (const MerkleHash& hash : proof.hashes) response->add_hashes(MerkleHashBytes(hash));
  response->set_old_checkpoint(proof.old_checkpoint);
  response->set_new_checkpoint(proof.new_checkpoint);
}

void LedgerReadService::FillLedgerResponse(const LedgerInfo& info,
                                           v1::GetLedgerResponse* response) {
  response->set_ledger_id(info.ledger_id);
  response->set_genesis_block(info.genesis_block);
  const ChainState& state = info.state;
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
  response->set_checkpoint(info.checkpoint);
  response->set_frozen(!info.evidence_id.empty());
  response->set_evidence_id(info.evidence_id);
}

grpc::ServerWriteReactor<v1::GetBlocksResponse>* LedgerReadService::GetBlocks(
    grpc::CallbackServerContext*, const v1::GetBlocksRequest* request) const {
  if (metrics_ != nullptr) metrics_->block_range_reads->Increment();
  return new GetBlocksReactor(reader_, request,
                              metrics_ == nullptr ? nullptr : metrics_->blocks_read);
}

grpc::ServerWriteReactor<v1::SubscribeResponse>* LedgerReadService::Subscribe(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) const {
  return new SubscribeReactor(reader_, request, admission_, context->peer());
}

grpc::ServerUnaryReactor* LedgerReadService::GetLedger(grpc::CallbackServerContext* context,
                                        const v1::GetLedgerRequest* request,
                                        v1::GetLedgerResponse* response) const {
  absl::StatusOr<LedgerInfo> info = reader_->GetLedger(request->ledger_id());
  if (!info.ok()) return FinishUnary(context, ToGrpcStatus(info.status()));
  FillLedgerResponse(*info, response);
  if (announcer_ != nullptr) announcer_->Touch(request->ledger_id());
  v1::BlockRange* held = response->add_held();
  held->set_first(1);
  held->set_last(info->state.head_number);
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerReadService::GetLedgerEvidence(
    grpc::CallbackServerContext* context, const v1::GetLedgerEvidenceRequest* request,
    v1::GetLedgerEvidenceResponse* response) const {
  absl::StatusOr<std::vector<std::string>> evidence =
      reader_->GetLedgerEvidence(request->ledger_id());
  if (!evidence.ok()) return FinishUnary(context, ToGrpcStatus(evidence.status()));
  for (std::string& object : *evidence) response->add_evidence(std::move(object));
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerReadService::GetCheckpoint(grpc::CallbackServerContext* context,
                                            const v1::GetCheckpointRequest* request,
                                            v1::GetCheckpointResponse* response) const {
  if (request->witnessed() && request->tree_size() != 0) {
    return FinishUnary(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "checkpoint: a witnessed checkpoint has no "
                                             "requested tree size"));
  }
  absl::StatusOr<std::string> checkpoint =
      request->witnessed()
          ? reader_->GetWitnessedCheckpoint(request->ledger_id())
          : reader_->GetCheckpoint(request->ledger_id(), request->tree_size());
  if (!checkpoint.ok()) return FinishUnary(context, ToGrpcStatus(checkpoint.status()));
  // The tree size is the checkpoint's second line.
  size_t first = checkpoint->find('\n');
  size_t second = checkpoint->find('\n', first + 1);
  response->set_tree_size(
      std::stoull(checkpoint->substr(first + 1, second - first - 1)));
  response->set_checkpoint(*checkpoint);
  if (announcer_ != nullptr) announcer_->Touch(request->ledger_id());
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerReadService::GetInclusionProof(
    grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::GetInclusionProofResponse* response) const {
  absl::StatusOr<InclusionProofResult> proof = reader_->GetInclusionProof(
      request->ledger_id(), request->number(), request->tree_size());
  if (!proof.ok()) return FinishUnary(context, ToGrpcStatus(proof.status()));
  FillInclusionProofResponse(*proof, response);
  if (metrics_ != nullptr) metrics_->inclusion_proofs->Increment();
  if (announcer_ != nullptr) announcer_->Touch(request->ledger_id());
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerReadService::GetConsistencyProof(
    grpc::CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
    v1::GetConsistencyProofResponse* response) const {
  absl::StatusOr<ConsistencyProofResult> proof = reader_->GetConsistencyProof(
      request->ledger_id(), request->old_size(), request->new_size());
  if (!proof.ok()) return FinishUnary(context, ToGrpcStatus(proof.status()));
  FillConsistencyProofResponse(*proof, response);
  if (metrics_ != nullptr) metrics_->consistency_proofs->Increment();
  return FinishUnary(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* LedgerReadService::GetAttachment(grpc::CallbackServerContext* context,
                                            const v1::GetAttachmentRequest* request,
                                            v1::GetAttachmentResponse* response) const {
  absl::StatusOr<StoredAttachment> attachment =
      reader_->GetAttachment(request->ledger_id(), request->seal());
  if (!attachment.ok()) return FinishUnary(context, ToGrpcStatus(attachment.status()));
  response->set_seal(request->seal());
  response->set_name(attachment->name);
  response->set_data(attachment->data);
  return FinishUnary(context, grpc::Status::OK);
}

}  // namespace microledger
