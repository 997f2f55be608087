// Internal to owner_agent/: the agent's own witness policy (ml-owner
// --witness, --witness_quorum; SPEC §12, issue #14). Every checkpoint the
// agent has verified (a host's reply to an append, a sync) is offered here and
// submitted to each of the agent's witnesses with C2SP add-checkpoint, so that
// a host cannot hide a fork from the witnesses the owner chose. Submissions
// never delay an append: they run on the submitter's threads, at most one
// request per ledger and witness at a time, coalesced to the newest
// checkpoint; a witness that fails is retried with exponential backoff.
//
// The agent keeps only its tree's frontier, which cannot prove consistency
// from an arbitrary older size: the proof from the size a witness last
// cosigned comes from the ledger's host (ProofSource: GetConsistencyProof,
// which also serves its checkpoint of the old size), and is checked (that
// checkpoint by the ledger key, the proof between it and the agent's) before
// it is submitted. The witness's answers:
//   - 200: its cosignature line (verified by the client) is kept with the
//     checkpoint; AwaitWitnessed learns when a checkpoint covering a block
//     carries a quorum of lines;
//   - 409 <size>: submitted again from that size; a witness ahead of the
//     agent (a larger size, e.g. from the host's own submissions) has its
//     cosigned checkpoint read, and it counts if the host proves it
//     consistent with the agent's;
//   - 422 for a checkpoint of the size the witness holds (or after a proof
//     the agent checked): the witness's checkpoint is read; one of that size
//     with another root, signed by the ledger key, makes SPEC §11
//     `checkpoints` evidence (kind "witness"), handed to the EvidenceSink
//     (the agent freezes the ledger); no later checkpoint of the ledger is
//     submitted, the refused one still goes to every witness once, so that
//     each of them refuses the other history;
//   - 422 "frozen <id>": the witness's evidence is read and each valid object
//     for the ledger is handed to the sink (kind "reported");
//   - anything else (unreachable, 429, 400, a proof the host would not give):
//     retried later. A witness that starts or stops failing is logged once,
//     by its name and URL (never a ledger id).
// The evidence notes are reduced to the note text and the ledger key's first
// line, as a witness's own are (SPEC §12), so the same fork gives the same
// evidence id at the witness and at the agent.
//
// Memory: the state of at most `max_ledgers` ledgers is kept beyond the
// ledgers with something queued (a retry waiting for a failing witness
// included), in flight or awaited, and frozen ones; the least recently used
// idle ones are dropped first. A dropped ledger's next checkpoint is
// submitted as a first one: a witness that holds an older one answers 409
// with its size and is sent the proof from it.
//
// Thread safety: thread-safe. ProofSource, EvidenceSink and the callbacks of
// AwaitWitnessed run on the submitter's threads with none of its locks held;
// Offer never blocks on the network and may be called with a ledger's mutex
// held.
#ifndef MICROLEDGER_OWNER_AGENT_WITNESS_SUBMITTER_H_
#define MICROLEDGER_OWNER_AGENT_WITNESS_SUBMITTER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/merkle.h"
#include "owner_agent/ledger_registry.h"
#include "owner_agent/witness_reads.h"
#include "serving/witness_client.h"

namespace microledger {

// One witness of the agent's policy.
struct AgentWitness {
  std::unique_ptr<WitnessClient> client;  // add-checkpoint; names the witness.
  std::unique_ptr<WitnessReads> reads;    // Its checkpoint and evidence reads.
};

struct WitnessSubmitterOptions {
  // Witnesses whose cosignatures make a checkpoint witnessed (1..witnesses).
  size_t quorum = 1;
  // Threads that send requests (each request blocks one for at most the
  // client's timeout).
  size_t threads = 2;
  // Backoff of a failing (ledger, witness): doubled from the first to the
  // most.
  absl::Duration first_retry = absl::Milliseconds(500);
  absl::Duration max_retry = absl::Seconds(30);
  // Where a witness that starts or stops failing is reported.
  std::function<void(absl::string_view)> warn;
  // Idle ledgers whose state is kept (at least 1; see Memory above).
  size_t max_ledgers = 10000;
};

// A consistency proof from the ledger's host, with its checkpoint of the old
// size (unverified: the submitter checks both).
struct HostConsistencyProof {
  std::string old_checkpoint;
  std::vector<MerkleHash> hashes;
};

// Whether a checkpoint covering a block was witnessed.
struct Witnessing {
  bool witnessed = false;
  // When witnessed: the checkpoint's note text, a blank line, the ledger
  // key's line and a cosignature line of each witness that cosigned it.
  std::string checkpoint;
  std::string detail;
};

class WitnessSubmitter {
 public:
  using ProofSource = std::function<absl::StatusOr<HostConsistencyProof>(
      const std::string& ledger_id, const std::string& host_address, uint64_t old_size,
      uint64_t new_size)>;
  using EvidenceSink = std::function<void(EvidenceRecord evidence)>;
  using WitnessedCallback = std::function<void(Witnessing witnessing)>;

  // InvalidArgument without witnesses or unless 1 <= quorum <= their number.
  static absl::StatusOr<std::unique_ptr<WitnessSubmitter>> Create(
      std::vector<AgentWitness> witnesses, WitnessSubmitterOptions options,
      ProofSource proofs, EvidenceSink evidence);
  WitnessSubmitter(const WitnessSubmitter&) = delete;
  WitnessSubmitter& operator=(const WitnessSubmitter&) = delete;
  // Stop()s.
  ~WitnessSubmitter();

  // Ends the threads (a request in flight finishes first) and answers every
  // waiter "not witnessed"; later Offers are ignored, later waiters answered
  // at once.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // `checkpoint` of `tree_size`, verified by the agent (signed by the ledger
  // key, consistent with its tree); `host_address` serves the ledger's
  // consistency proofs. Ignored unless newer than the ledger's last offer.
  void Offer(const std::string& ledger_id, uint64_t tree_size, const std::string& checkpoint,
             const std::string& host_address) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `done` once: with the first checkpoint of at least `min_size` that
  // a quorum cosigned, or "not witnessed" at `deadline`.
  void AwaitWitnessed(const std::string& ledger_id, uint64_t min_size, absl::Time deadline,
                      WitnessedCallback done) ABSL_LOCKS_EXCLUDED(mu_);

  size_t quorum() const { return options_.quorum; }

  // Whether a checkpoint of at least `tree_size` was offered for the ledger
  // and its state is kept (false once the idle ledger was dropped).
  bool Knows(const std::string& ledger_id, uint64_t tree_size) const ABSL_LOCKS_EXCLUDED(mu_);

  // Ledgers whose state is kept now (for tests).
  size_t kept_ledgers() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What the submitter knows of one witness for one ledger.
  struct Slot {
    bool queued = false;  // In ready_ or delayed_.
    bool busy = false;    // A thread is submitting.
    bool settled = false;  // It gave evidence: nothing more to send it.
    // The size of the latest checkpoint the witness cosigned, when known.
    std::optional<uint64_t> witness_size;
    // The largest size it cosigned (for the agent) that is counted.
    uint64_t cosigned_size = 0;
    absl::Duration backoff;
    std::string last_failure;
  };
  // One checkpoint and the cosignature lines gathered on it.
  struct Cosigned {
    std::string note_text;
    std::string ledger_line;
    std::map<size_t, std::string> lines;  // By witness index.
  };
  struct LedgerEntry {
    std::string checkpoint;  // The newest offered.
    uint64_t size = 0;
    std::string host_address;
    std::vector<Slot> slots;  // By witness index.
    std::map<uint64_t, Cosigned> cosigned;  // By tree size.
    // Evidence found: no new checkpoint is submitted (the last one still
    // goes to each witness once).
    bool frozen = false;
    size_t waiters = 0;  // In waiters_ (until Stop).
    std::list<std::string>::iterator recency;  // Its place in recency_.
  };
  struct Job {
    std::string ledger_id;
    size_t witness = 0;
  };
  struct Waiter {
    std::string ledger_id;
    uint64_t min_size = 0;
    absl::Time deadline;
    WitnessedCallback done;
  };
  // What one submission came to.
  struct Attempt;
  using Finished = std::vector<std::pair<WitnessedCallback, Witnessing>>;

  WitnessSubmitter(std::vector<AgentWitness> witnesses, WitnessSubmitterOptions options,
                   ProofSource proofs, EvidenceSink evidence);

  // For mu_.Await: a job is ready, or the submitter stops.
  static bool JobOrStopping(WitnessSubmitter* submitter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(submitter->mu_) {
    return submitter->stopping_ || !submitter->ready_.empty();
  }
  void WorkerLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void TimerLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // The network part of a job, on a snapshot of the ledger's state.
  Attempt Submit(const Job& job, const std::string& checkpoint, uint64_t size,
                 const std::string& host_address, std::optional<uint64_t> witness_size);
  // After a 422: the witness's checkpoint is read and compared with ours
  // (and with the host's of the old size, when a proof was sent).
  Attempt CheckForFork(const Job& job, const std::string& checkpoint,
                       const std::string& old_checkpoint, const std::string& refusal);
  // After a 409 with a larger size: the witness's checkpoint counts when the
  // host proves it consistent with ours.
  Attempt CountAhead(const Job& job, const std::string& checkpoint, uint64_t size,
                     const std::string& host_address);
  // After 422 "frozen <id>": the witness's evidence.
  Attempt FetchEvidence(const Job& job, const std::string& evidence_id);
  void Apply(const Job& job, Attempt attempt, Finished* finished)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the job now (or at its retry time after a failure) when its
  // witness has not cosigned the ledger's newest checkpoint yet.
  void Schedule(const Job& job, LedgerEntry& entry, bool after_failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waiters of the ledger that a quorum now answers.
  void AnswerWaiters(const std::string& ledger_id, LedgerEntry& entry, Finished* finished)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The ledger's entry (made if new), now the most recently used.
  LedgerEntry& UseEntry(const std::string& ledger_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops least recently used idle entries while more than max_ledgers are
  // kept, looking at a bounded number of them per call.
  void DropIdleEntries() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The newest witnessed checkpoint of at least min_size, if any.
  std::optional<std::string> WitnessedNote(const LedgerEntry& entry, uint64_t min_size) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NotWitnessedDetail(const Waiter& waiter) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const std::string& Name(size_t witness) const;

  const std::vector<AgentWitness> witnesses_;
  const WitnessSubmitterOptions options_;
  const ProofSource proofs_;
  const EvidenceSink evidence_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Entries are made by UseEntry only; a job or a waiter keeps its entry.
  absl::flat_hash_map<std::string, LedgerEntry> ledgers_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> recency_ ABSL_GUARDED_BY(mu_);  // Most recently used first.
  std::deque<Job> ready_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, Job> delayed_ ABSL_GUARDED_BY(mu_);
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  // Per witness: failing now (for the log lines on a change).
  std::vector<bool> failing_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_WITNESS_SUBMITTER_H_
