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
        host_->CountRefusedAppend(ticket.status());
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

}  // namespace

ServerUnaryReactor* HostGrpcService::CreateLedger(CallbackServerContext* context,
                                                  const v1::CreateLedgerRequest*,
                                                  v1::CreateLedgerResponse* response) {
  absl::StatusOr<NewLedger> ledger = host_->CreateLedger();
  if (!ledger.ok()) return FinishUnary(context, ToGrpcStatus(ledger.status()));
  response->set_ledger_id(ledger->ledger_id);
  response->set_ledger_token(ledger->ledger_token);
  return FinishUnary(context, grpc::Status::OK);
}

ServerUnaryReactor* HostGrpcService::Append(CallbackServerContext* context,
                                            const v1::AppendRequest* request,
                                            v1::AppendResponse* response) {
  absl::StatusOr<AdmissionControl::Ticket> ticket =
      admission_.AdmitAppend(context->peer(), request->ByteSizeLong());
  if (!ticket.ok()) {
    host_->CountRefusedAppend(ticket.status());
    return FinishUnary(context, ToGrpcStatus(ticket.status()));
  }
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

ServerUnaryReactor* HostGrpcService::ForgetLedger(CallbackServerContext* context,
                                           const v1::ForgetLedgerRequest* request,
                                           v1::ForgetLedgerResponse*) {
  std::vector<BlockSignature> signatures;
  for (const v1::Signature& signature : request->signatures()) {
    signatures.push_back(
        {signature.role(), signature.alg(), signature.key(), signature.sig()});
  }
  return FinishUnary(context, ToGrpcStatus(
      host_->Forget(request->ledger_id(), request->head_fingerprint(), signatures)));
}

ServerUnaryReactor* HostGrpcService::ReportEquivocation(
    CallbackServerContext* context, const v1::ReportEquivocationRequest* request,
    v1::ReportEquivocationResponse* response) {
  absl::StatusOr<EvidenceReport> report = host_->ReportEquivocation(request->evidence());
  if (!report.ok()) return FinishUnary(context, ToGrpcStatus(report.status()));
  response->set_ledger_id(std::move(report->ledger_id));
  response->set_kind(std::move(report->kind));
  response->set_evidence_id(std::move(report->evidence_id));
  response->set_frozen(report->frozen);
  return FinishUnary(context, grpc::Status::OK);
}

}  // namespace microledger
