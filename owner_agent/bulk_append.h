// One AppendEvents stream (owner.proto AppendEventsRequest): the events of one
// ledger are submitted in stream order through OwnerAgent::AppendEventAsync,
// so each block is drafted, signed and checked under the ledger's lock on the
// drafted head and pipelined on the host's AppendStream, and every host reply
// is verified exactly as for AppendEvent. Verified heads are not written per
// block (HeadSave::kAtFlush): the summary is reported only after Finish's
// flush, and an agent killed before it re-synchronises with the host. At most `max_in_flight` events are
// unanswered at a time (Add waits for room). The first failed event stops the
// stream: Add refuses every later event, and an event added before the
// failure was known is not drafted once it is. Finish waits for every outcome,
// saves the agent's state with fsync (one flush for the whole stream) and
// builds the AppendEventsSummary.
//
// Thread-safe: Add and Finish are called from the stream's thread (one at a
// time, Finish last); outcomes arrive on the host streams' reader threads.
#ifndef MICROLEDGER_OWNER_AGENT_BULK_APPEND_H_
#define MICROLEDGER_OWNER_AGENT_BULK_APPEND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/owner_agent.h"

namespace microledger {

class BulkAppend {
 public:
  static constexpr size_t kDefaultMaxInFlight = 512;

  BulkAppend(OwnerAgent& agent, std::string ledger_id,
             size_t max_in_flight = kDefaultMaxInFlight)
      : agent_(agent), ledger_id_(std::move(ledger_id)), max_in_flight_(max_in_flight) {}
  BulkAppend(const BulkAppend&) = delete;
  BulkAppend& operator=(const BulkAppend&) = delete;
  // Waits for the outcomes still due (they refer to this object).
  ~BulkAppend();

  // Submits `event` as the stream's next event once fewer than
  // `max_in_flight` are unanswered; false (nothing submitted) once an event
  // of the stream has failed.
  bool Add(v1::BulkEvent event) ABSL_LOCKS_EXCLUDED(mu_);

  // Waits for the outcome of every submitted event, flushes the agent's state
  // to disk and returns the summary. Call once, after the last Add.
  v1::AppendEventsSummary Finish() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Record(uint64_t index, absl::StatusOr<v1::BlockOutcome> outcome) ABSL_LOCKS_EXCLUDED(mu_);
  void AwaitNoneInFlight() ABSL_LOCKS_EXCLUDED(mu_);
  bool FailedOrRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK until an event of the stream has failed: asked before each event is
  // drafted, so that no event added before a failure was known is appended
  // after it (e.g. after a re-sync with the host).
  absl::Status StreamGoesOn() ABSL_LOCKS_EXCLUDED(mu_);

  OwnerAgent& agent_;
  const std::string ledger_id_;
  const size_t max_in_flight_;

  absl::Mutex mu_;
  uint64_t submitted_ ABSL_GUARDED_BY(mu_) = 0;
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  // The first failure in stream order.
  uint64_t failed_index_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  // The committed blocks, and the first and last of them in stream order.
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t first_index_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t first_number_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_index_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_number_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_fingerprint_ ABSL_GUARDED_BY(mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_BULK_APPEND_H_
