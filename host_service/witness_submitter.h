// Submits the host's checkpoints to its witnesses (SPEC §12, ml-host
// --witness), off the append path. A committed append only marks its ledger
// touched (Touch: a hash-map update under a mutex never held during I/O);
// the submitter's own threads do the rest:
//
//   - Rounds. A touched ledger gets a round: its newest checkpoint (read at
//     the round's start, so appends committed meanwhile coalesce into it) is
//     submitted to every witness that has not cosigned it yet, each witness
//     by its own worker threads, so one request at most is in flight per
//     ledger and witness and a slow or unreachable witness delays no other.
//     A ledger's rounds start at least min_interval apart; a ledger touched
//     during a round gets the next one when it may (a round ends when all its
//     requests have: one to a witness that hangs holds the ledger's next
//     round back for at most the client's timeout, after which that witness
//     is paused and skipped). Since every witness of a
//     round is sent the same checkpoint, a quorum of them cosigns the same
//     tree size (WitnessCosignatures keeps the newest such one).
//   - Old size. The request's old size is the size the witness last
//     cosigned for the ledger as recorded (0 if none), with the RFC 9162
//     consistency proof from it. A 409 names the witness's size (it lost its
//     state, or someone else submitted, such as the owner's agent): the
//     request is sent again at once from that size, once. A witness whose
//     size is above the checkpoint's is not sent it.
//   - Failures. A witness that does not answer (or answers 429, or outside
//     the protocol, e.g. 5xx or a line that does not verify) is paused, from backoff_min doubling to backoff_max; its requests are
//     dropped meanwhile and their ledgers retried after the pause. Every
//     other refusal is logged (a 403, 404 or 422 means this host's
//     checkpoint was refused; "frozen" names the witness's evidence id).
//     Log lines name the witness, never a ledger; the first failure after a
//     success and the first success after failures are logged once each per
//     witness.
//   - Metrics: submissions by outcome (WitnessOutcomeName, plus "skipped"
//     for one dropped while its witness is paused).
//
// Thread-safe. The destructor stops the threads, waiting for the requests in
// flight (each bounded by the witness client's timeout).
#ifndef MICROLEDGER_HOST_SERVICE_WITNESS_SUBMITTER_H_
#define MICROLEDGER_HOST_SERVICE_WITNESS_SUBMITTER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/merkle.h"
#include "serving/metrics.h"
#include "serving/witness_client.h"

namespace microledger {

// What the submitter needs of the host (LedgerHost, or fakes in tests).
// Called on the submitter's threads.
struct WitnessSubmitterHooks {
  struct LatestCheckpoint {
    uint64_t tree_size = 0;
    std::string note;  // The signed note.
  };
  // The ledger's newest checkpoint. NotFound: the ledger is gone (dropped).
  std::function<absl::StatusOr<LatestCheckpoint>(const std::string& ledger_id)> latest;
  // The RFC 9162 consistency proof between two tree sizes of the ledger.
  std::function<absl::StatusOr<std::vector<MerkleHash>>(
      const std::string& ledger_id, uint64_t old_size, uint64_t new_size)>
      consistency_proof;
  // The tree size witness `witness` (index) last cosigned as recorded.
  std::function<absl::StatusOr<std::optional<uint64_t>>(const std::string& ledger_id,
                                                        size_t witness)>
      cosigned_size;
  // Records a verified cosignature line of witness `witness` on the ledger's
  // checkpoint of `tree_size`.
  std::function<absl::Status(const std::string& ledger_id, size_t witness, uint64_t tree_size,
                             const std::string& line)>
      record;
};

struct WitnessSubmitterOptions {
  // The least time between two rounds of one ledger.
  absl::Duration min_interval = absl::Seconds(1);
  // The pause of a witness that did not answer, doubling while it does not.
  absl::Duration backoff_min = absl::Seconds(1);
  absl::Duration backoff_max = absl::Minutes(1);
  // Requests in flight at once per witness (its worker threads).
  size_t threads_per_witness = 2;
  // microledger_host_witness_submissions_total{outcome}, or null.
  CounterFamily* submissions = nullptr;
  // Where log lines go (no trailing newline); empty: serving/log.h at
  // warning level (info for "answers again").
  std::function<void(absl::string_view line)> log;
};

class WitnessSubmitter {
 public:
  // InvalidArgument for no witness, a missing hook, a negative interval or
  // no thread per witness.
  static absl::StatusOr<std::unique_ptr<WitnessSubmitter>> Create(
      std::vector<std::unique_ptr<WitnessClient>> witnesses, WitnessSubmitterHooks hooks,
      WitnessSubmitterOptions options);

  WitnessSubmitter(const WitnessSubmitter&) = delete;
  WitnessSubmitter& operator=(const WitnessSubmitter&) = delete;
  ~WitnessSubmitter();

  // The ledger has a new checkpoint. O(1) amortized; never waits for I/O.
  void Touch(absl::string_view ledger_id);

  // Ledgers touched since their last round started, waiting for their next
  // (for tests and metrics).
  size_t waiting_ledgers() const;

 private:
  struct Ledger {
    bool touched = false;    // Touched since its round started.
    bool in_round = false;
    bool scheduled = false;  // In schedule_.
    size_t requests_left = 0;
    absl::Time next_round_at = absl::InfinitePast();
    absl::Time retry_at = absl::InfinitePast();  // A paused witness's ledgers.
  };
  struct Request {
    std::string ledger_id;
    uint64_t tree_size = 0;
    std::shared_ptr<const std::string> note;
  };
  struct Witness {
    std::unique_ptr<WitnessClient> client;
    std::deque<Request> queue;
    absl::Time paused_until = absl::InfinitePast();
    absl::Duration backoff;
    bool failing = false;  // Since its last success; logged once.
  };

  WitnessSubmitter(std::vector<std::unique_ptr<WitnessClient>> witnesses,
                   WitnessSubmitterHooks hooks, WitnessSubmitterOptions options);
  void RunScheduler();
  void RunWorker(size_t witness);
  // Starts the round of a due ledger: reads its checkpoint (mu_ released)
  // and queues a request per witness.
  void StartRound(const std::string& ledger_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishRequest(const std::string& ledger_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndRoundLocked(const std::string& ledger_id, Ledger& ledger)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleLocked(const std::string& ledger_id, Ledger& ledger, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `request` to witness `witness` (mu_ not held), resyncing on a 409.
  void Submit(size_t witness, const Request& request) ABSL_LOCKS_EXCLUDED(mu_);
  void Count(absl::string_view outcome);
  void Log(absl::string_view line, bool failure) const;

  const WitnessSubmitterHooks hooks_;
  const WitnessSubmitterOptions options_;

  mutable absl::Mutex mu_;
  absl::CondVar scheduler_wake_;
  absl::CondVar worker_wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Ledger> ledgers_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, std::string> schedule_ ABSL_GUARDED_BY(mu_);
  std::vector<Witness> witnesses_ ABSL_GUARDED_BY(mu_);
  // The witnesses' clients, fixed at construction (read without mu_).
  std::vector<WitnessClient*> clients_;

  std::vector<std::thread> threads_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_WITNESS_SUBMITTER_H_
