#include "owner_agent/bulk_append.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace microledger {
namespace {

bool NoneLeft(size_t* count) { return *count == 0; }

}  // namespace

bool BulkAppend::FailedOrRoom() const { return failed_ || in_flight_ < max_in_flight_; }

absl::Status BulkAppend::StreamGoesOn() {
  absl::MutexLock lock(&mu_);
  if (!failed_) return absl::OkStatus();
  return absl::CancelledError(
      absl::StrCat("not appended: event ", failed_index_, " of the stream failed first"));
}

BulkAppend::~BulkAppend() { AwaitNoneInFlight(); }

void BulkAppend::AwaitNoneInFlight() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&NoneLeft, &in_flight_));
}

bool BulkAppend::Add(v1::BulkEvent event) {
  uint64_t index;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BulkAppend::FailedOrRoom));
    if (failed_) return false;
    index = submitted_++;
    ++in_flight_;
  }
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger_id_);
  request.set_event_json(std::move(*event.mutable_event_json()));
  request.mutable_attachments()->Swap(event.mutable_attachments());
  request.set_request_id(std::move(*event.mutable_request_id()));
  agent_.AppendEventAsync(
      request,
      [this, index](absl::StatusOr<v1::BlockOutcome> outcome) {
        Record(index, std::move(outcome));
      },
      HeadSave::kAtFlush, [this] { return StreamGoesOn(); });
  return true;
}

void BulkAppend::Record(uint64_t index, absl::StatusOr<v1::BlockOutcome> outcome) {
  absl::Status status = outcome.status();
  if (status.ok() && !outcome->has_committed()) {
    status = absl::FailedPreconditionError(
        "authority: the block needs more owner signatures than this agent holds "
        "(k-of-n controllers); AppendEvents makes no proposals, use AppendEvent");
  }
  absl::MutexLock lock(&mu_);
  --in_flight_;
  if (!status.ok()) {
    if (!failed_ || index < failed_index_) {
      failed_index_ = index;
      failure_ = std::move(status);
    }
    failed_ = true;
    return;
  }
  const v1::CommittedBlock& committed = outcome->committed();
  if (appended_ == 0 || index < first_index_) {
    first_index_ = index;
    first_number_ = committed.number();
  }
  if (appended_ == 0 || index > last_index_) {
    last_index_ = index;
    last_number_ = committed.number();
    last_fingerprint_ = committed.fingerprint();
  }
  ++appended_;
}

v1::AppendEventsSummary BulkAppend::Finish() {
  AwaitNoneInFlight();
  agent_.FlushState();
  v1::AppendEventsSummary summary;
  {
    absl::MutexLock lock(&mu_);
    summary.set_appended(appended_);
    summary.set_first_number(first_number_);
    summary.set_last_number(last_number_);
    summary.set_last_fingerprint(last_fingerprint_);
    if (failed_) {
      summary.set_error_code(static_cast<int32_t>(failure_.code()));
      summary.set_error_message(std::string(failure_.message()));
      summary.set_failed_event(failed_index_);
    }
  }
  v1::OwnerGetLedgerRequest request;
  request.set_ledger_id(ledger_id_);
  request.set_offline(true);
  if (absl::StatusOr<v1::OwnerGetLedgerResponse> ledger = agent_.GetLedger(request);
      ledger.ok()) {
    summary.set_checkpoint(ledger->checkpoint());
  }
  return summary;
}

}  // namespace microledger
