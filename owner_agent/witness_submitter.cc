#include "owner_agent/witness_submitter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/error_text.h"
#include "common/evidence.h"
#include "common/timestamp.h"

namespace microledger {
namespace {

constexpr char kEmDashSpace[] = "\xE2\x80\x94 ";
// Requests one job may send (409 answers make it start again from the
// witness's size).
constexpr int kMaxRequestsPerJob = 3;
// Checkpoints kept per ledger while their cosignatures are gathered.
constexpr size_t kMaxCosignedPerLedger = 8;
// Entries DropIdleEntries looks at per call (busy ones move to the front).
constexpr int kMaxDropChecks = 16;

// A checkpoint note verified by the ledger key, in the parts a witnessed
// note is put together from.
struct NoteParts {
  Checkpoint checkpoint;
  std::string note_text;    // The three lines, each ending in "\n".
  std::string ledger_line;  // The ledger key's first valid line, with "\n".
};

// The signature lines of a note (after its blank line), without their "\n".
std::vector<absl::string_view> SignatureLines(absl::string_view note) {
  const size_t blank = note.find("\n\n");
  if (blank == absl::string_view::npos) return {};
  return absl::StrSplit(note.substr(blank + 2), '\n', absl::SkipEmpty());
}

absl::StatusOr<NoteParts> SplitNote(absl::string_view note, const std::string& ledger_id) {
  absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note, ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  NoteParts parts;
  parts.checkpoint = *checkpoint;
  parts.note_text = CheckpointNoteText(parts.checkpoint);
  const std::string prefix = absl::StrCat(kEmDashSpace, ledger_id, " ");
  for (absl::string_view line : SignatureLines(note)) {
    if (!absl::StartsWith(line, prefix)) continue;
    std::string with_newline = absl::StrCat(line, "\n");
    if (VerifyCheckpoint(absl::StrCat(parts.note_text, "\n", with_newline), ledger_id).ok()) {
      parts.ledger_line = std::move(with_newline);
      return parts;
    }
  }
  return absl::InvalidArgumentError("checkpoint: no valid line of the ledger key");
}

// The note reduced to its text and the ledger key's line, as a witness keeps
// it (SPEC §12).
std::string LedgerKeyOnly(const NoteParts& parts) {
  return absl::StrCat(parts.note_text, "\n", parts.ledger_line);
}

// The first line of `note` by `witness` that verifies on `note_text`.
std::optional<std::string> WitnessLineOf(absl::string_view note, absl::string_view note_text,
                                         const WitnessKey& witness) {
  const std::string prefix = absl::StrCat(kEmDashSpace, witness.name, " ");
  for (absl::string_view line : SignatureLines(note)) {
    if (!absl::StartsWith(line, prefix)) continue;
    std::string with_newline = absl::StrCat(line, "\n");
    if (VerifyCosignatureLine(with_newline, note_text, witness).ok()) return with_newline;
  }
  return std::nullopt;
}

}  // namespace

struct WitnessSubmitter::Attempt {
  enum class Kind { kCosigned, kFailed, kEvidence };
  Kind kind = Kind::kFailed;
  // kCosigned: the checkpoint of `size` and the witness's line on it.
  uint64_t size = 0;
  std::string note_text;
  std::string ledger_line;
  std::string line;
  // What was learnt of the witness's latest size; `forget_witness_size`
  // makes the next job start from 0 (and learn it again from a 409).
  std::optional<uint64_t> witness_size;
  bool forget_witness_size = false;
  // kFailed: why; `witness_fault` when the witness itself failed (no or a
  // bad answer), which is logged when it starts and stops.
  std::string failure;
  bool witness_fault = false;
  // kEvidence: what freezes the ledger.
  std::vector<EvidenceRecord> evidence;

  static Attempt Failed(std::string why) {
    Attempt attempt;
    attempt.failure = std::move(why);
    return attempt;
  }
  static Attempt Cosigned(uint64_t size, const NoteParts& parts, std::string line) {
    Attempt attempt;
    attempt.kind = Kind::kCosigned;
    attempt.size = size;
    attempt.note_text = parts.note_text;
    attempt.ledger_line = parts.ledger_line;
    attempt.line = std::move(line);
    attempt.witness_size = size;
    return attempt;
  }
};

absl::StatusOr<std::unique_ptr<WitnessSubmitter>> WitnessSubmitter::Create(
    std::vector<AgentWitness> witnesses, WitnessSubmitterOptions options, ProofSource proofs,
    EvidenceSink evidence) {
  if (witnesses.empty()) return absl::InvalidArgumentError("no witnesses");
  if (options.quorum < 1 || options.quorum > witnesses.size()) {
    return absl::InvalidArgumentError(absl::StrCat("witness quorum ", options.quorum,
                                                   " is not in 1..", witnesses.size()));
  }
  for (const AgentWitness& witness : witnesses) {
    if (witness.client == nullptr || witness.reads == nullptr) {
      return absl::InvalidArgumentError("a witness without its client");
    }
  }
  if (options.threads < 1) options.threads = 1;
  if (options.max_ledgers < 1) options.max_ledgers = 1;
  if (!options.warn) options.warn = [](absl::string_view) {};
  return std::unique_ptr<WitnessSubmitter>(new WitnessSubmitter(
      std::move(witnesses), std::move(options), std::move(proofs), std::move(evidence)));
}

WitnessSubmitter::WitnessSubmitter(std::vector<AgentWitness> witnesses,
                                   WitnessSubmitterOptions options, ProofSource proofs,
                                   EvidenceSink evidence)
    : witnesses_(std::move(witnesses)),
      options_(std::move(options)),
      proofs_(std::move(proofs)),
      evidence_(std::move(evidence)) {
  {
    absl::MutexLock lock(&mu_);
    failing_.assign(witnesses_.size(), false);
  }
  for (size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  threads_.emplace_back([this] { TimerLoop(); });
}

WitnessSubmitter::~WitnessSubmitter() { Stop(); }

void WitnessSubmitter::Stop() {
  Finished finished;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (Waiter& waiter : waiters_) {
      finished.emplace_back(std::move(waiter.done),
                            Witnessing{false, "", "not witnessed: the agent is stopping"});
    }
    waiters_.clear();
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  for (auto& [done, witnessing] : finished) done(std::move(witnessing));
}

const std::string& WitnessSubmitter::Name(size_t witness) const {
  return witnesses_[witness].client->endpoint().key.name;
}

void WitnessSubmitter::Offer(const std::string& ledger_id, uint64_t tree_size,
                             const std::string& checkpoint, const std::string& host_address) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  LedgerEntry& entry = UseEntry(ledger_id);
  if (!entry.frozen && tree_size > entry.size) {
    entry.checkpoint = checkpoint;
    entry.size = tree_size;
    entry.host_address = host_address;
    entry.slots.resize(witnesses_.size());
    for (size_t i = 0; i < witnesses_.size(); ++i) Schedule({ledger_id, i}, entry, false);
  }
  DropIdleEntries();
}

bool WitnessSubmitter::Knows(const std::string& ledger_id, uint64_t tree_size) const {
  absl::MutexLock lock(&mu_);
  const auto it = ledgers_.find(ledger_id);
  return it != ledgers_.end() && it->second.size >= tree_size;
}

size_t WitnessSubmitter::kept_ledgers() const {
  absl::MutexLock lock(&mu_);
  return ledgers_.size();
}

WitnessSubmitter::LedgerEntry& WitnessSubmitter::UseEntry(const std::string& ledger_id) {
  auto [it, made] = ledgers_.try_emplace(ledger_id);
  if (made) {
    recency_.push_front(ledger_id);
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  it->second.recency = recency_.begin();
  return it->second;
}

void WitnessSubmitter::DropIdleEntries() {
  for (int checks = 0; checks < kMaxDropChecks && ledgers_.size() > options_.max_ledgers;
       ++checks) {
    const auto it = ledgers_.find(recency_.back());
    LedgerEntry& entry = it->second;
    bool idle = !entry.frozen && entry.waiters == 0;
    for (const Slot& slot : entry.slots) idle = idle && !slot.queued && !slot.busy;
    if (idle) {
      recency_.pop_back();
      ledgers_.erase(it);
    } else {
      recency_.splice(recency_.begin(), recency_, entry.recency);
    }
  }
}

void WitnessSubmitter::AwaitWitnessed(const std::string& ledger_id, uint64_t min_size,
                                      absl::Time deadline, WitnessedCallback done) {
  Witnessing answer;
  {
    absl::MutexLock lock(&mu_);
    auto it = ledgers_.find(ledger_id);
    std::optional<std::string> note;
    if (it != ledgers_.end()) note = WitnessedNote(it->second, min_size);
    if (note.has_value()) {
      answer = Witnessing{true, *std::move(note),
                          absl::StrCat("witnessed by a quorum of ", options_.quorum,
                                       " witnesses")};
    } else if (stopping_) {
      answer.detail = "not witnessed: the agent is stopping";
    } else if (it != ledgers_.end() && it->second.frozen) {
      answer.detail = "not witnessed: a witness proved that the ledger's host key signed "
                      "two histories; the ledger is frozen";
    } else {
      ++UseEntry(ledger_id).waiters;
      waiters_.push_back({ledger_id, min_size, deadline, std::move(done)});
      return;
    }
  }
  done(std::move(answer));
}

void WitnessSubmitter::Schedule(const Job& job, LedgerEntry& entry, bool after_failure) {
  Slot& slot = entry.slots[job.witness];
  if (stopping_ || slot.queued || slot.busy || slot.settled) return;
  if (slot.cosigned_size >= entry.size) return;
  // A frozen ledger's last checkpoint still goes to every witness once (so
  // that each of them refuses the other history), but is not retried.
  if (entry.frozen && after_failure) return;
  slot.queued = true;
  if (after_failure) {
    delayed_.emplace(absl::Now() + slot.backoff, job);
  } else {
    ready_.push_back(job);
  }
}

std::optional<std::string> WitnessSubmitter::WitnessedNote(const LedgerEntry& entry,
                                                           uint64_t min_size) const {
  for (auto it = entry.cosigned.rbegin(); it != entry.cosigned.rend() && it->first >= min_size;
       ++it) {
    const Cosigned& cosigned = it->second;
    if (cosigned.lines.size() < options_.quorum) continue;
    std::string note = absl::StrCat(cosigned.note_text, "\n", cosigned.ledger_line);
    for (const auto& [witness, line] : cosigned.lines) note += line;
    return note;
  }
  return std::nullopt;
}

std::string WitnessSubmitter::NotWitnessedDetail(const Waiter& waiter) const {
  size_t best = 0;
  std::string failures;
  auto it = ledgers_.find(waiter.ledger_id);
  if (it != ledgers_.end()) {
    for (auto c = it->second.cosigned.lower_bound(waiter.min_size);
         c != it->second.cosigned.end(); ++c) {
      best = std::max(best, c->second.lines.size());
    }
    for (size_t i = 0; i < it->second.slots.size(); ++i) {
      const Slot& slot = it->second.slots[i];
      if (!slot.last_failure.empty()) absl::StrAppend(&failures, "; ", Name(i), ": ", slot.last_failure);
    }
  }
  return absl::StrCat("not witnessed in time: ", best, " of ", options_.quorum,
                      " required witnesses cosigned a checkpoint covering the block", failures);
}

void WitnessSubmitter::AnswerWaiters(const std::string& ledger_id, LedgerEntry& entry,
                                     Finished* finished) {
  std::vector<Waiter> waiting;
  for (Waiter& waiter : waiters_) {
    std::optional<std::string> note;
    if (waiter.ledger_id == ledger_id) note = WitnessedNote(entry, waiter.min_size);
    if (note.has_value()) {
      --entry.waiters;
      finished->emplace_back(
          std::move(waiter.done),
          Witnessing{true, *std::move(note),
                     absl::StrCat("witnessed by a quorum of ", options_.quorum, " witnesses")});
    } else if (waiter.ledger_id == ledger_id && entry.frozen) {
      --entry.waiters;
      finished->emplace_back(
          std::move(waiter.done),
          Witnessing{false, "",
                     "not witnessed: a witness proved that the ledger's host key signed two "
                     "histories; the ledger is frozen"});
    } else {
      waiting.push_back(std::move(waiter));
    }
  }
  waiters_.swap(waiting);
}

void WitnessSubmitter::WorkerLoop() {
  while (true) {
    Job job;
    std::string checkpoint, host_address;
    uint64_t size = 0;
    std::optional<uint64_t> witness_size;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&JobOrStopping, this));
      if (stopping_) return;
      job = std::move(ready_.front());
      ready_.pop_front();
      LedgerEntry& entry = ledgers_.at(job.ledger_id);  // Its job keeps it.
      Slot& slot = entry.slots[job.witness];
      slot.queued = false;
      if (slot.settled || slot.cosigned_size >= entry.size) continue;
      slot.busy = true;
      checkpoint = entry.checkpoint;
      size = entry.size;
      host_address = entry.host_address;
      witness_size = slot.witness_size;
    }
    Attempt attempt = Submit(job, checkpoint, size, host_address, witness_size);
    std::vector<EvidenceRecord> evidence = std::move(attempt.evidence);
    const bool fault = attempt.kind == Attempt::Kind::kFailed && attempt.witness_fault;
    const bool cosigned = attempt.kind == Attempt::Kind::kCosigned;
    const std::string failure = attempt.failure;
    Finished finished;
    bool health_changed = false;
    {
      absl::MutexLock lock(&mu_);
      Apply(job, std::move(attempt), &finished);
      if ((fault && !failing_[job.witness]) || (cosigned && failing_[job.witness])) {
        failing_[job.witness] = fault;
        health_changed = true;
      }
    }
    if (health_changed) {
      const WitnessEndpoint& endpoint = witnesses_[job.witness].client->endpoint();
      options_.warn(fault ? absl::StrCat("witness ", endpoint.key.name, " at ", endpoint.url,
                                         " fails (", failure,
                                         "); submissions to it are retried with backoff")
                          : absl::StrCat("witness ", endpoint.key.name, " at ", endpoint.url,
                                         " cosigns again"));
    }
    for (EvidenceRecord& record : evidence) evidence_(std::move(record));
    for (auto& [done, witnessing] : finished) done(std::move(witnessing));
  }
}

void WitnessSubmitter::TimerLoop() {
  while (true) {
    Finished finished;
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(50))) return;
      const absl::Time now = absl::Now();
      while (!delayed_.empty() && delayed_.begin()->first <= now) {
        Job job = std::move(delayed_.begin()->second);
        delayed_.erase(delayed_.begin());
        LedgerEntry& entry = ledgers_.at(job.ledger_id);  // Its job keeps it.
        entry.slots[job.witness].queued = false;
        Schedule(job, entry, false);
      }
      std::vector<Waiter> waiting;
      for (Waiter& waiter : waiters_) {
        if (waiter.deadline > now) {
          waiting.push_back(std::move(waiter));
          continue;
        }
        --ledgers_.at(waiter.ledger_id).waiters;
        std::string detail = NotWitnessedDetail(waiter);
        finished.emplace_back(std::move(waiter.done), Witnessing{false, "", std::move(detail)});
      }
      waiters_.swap(waiting);
    }
    for (auto& [done, witnessing] : finished) done(std::move(witnessing));
  }
}

void WitnessSubmitter::Apply(const Job& job, Attempt attempt, Finished* finished) {
  LedgerEntry& entry = ledgers_.at(job.ledger_id);  // Its job keeps it.
  Slot& slot = entry.slots[job.witness];
  slot.busy = false;
  if (attempt.witness_size.has_value()) slot.witness_size = attempt.witness_size;
  if (attempt.forget_witness_size) slot.witness_size.reset();
  switch (attempt.kind) {
    case Attempt::Kind::kCosigned: {
      slot.backoff = absl::ZeroDuration();
      slot.last_failure.clear();
      slot.cosigned_size = std::max(slot.cosigned_size, attempt.size);
      Cosigned& cosigned = entry.cosigned[attempt.size];
      if (cosigned.note_text.empty()) {
        cosigned.note_text = attempt.note_text;
        cosigned.ledger_line = attempt.ledger_line;
      }
      if (cosigned.note_text == attempt.note_text) cosigned.lines[job.witness] = attempt.line;
      // A witnessed checkpoint answers every waiter of a smaller size too.
      for (auto it = entry.cosigned.rbegin(); it != entry.cosigned.rend(); ++it) {
        if (it->second.lines.size() < options_.quorum) continue;
        entry.cosigned.erase(entry.cosigned.begin(), entry.cosigned.find(it->first));
        break;
      }
      while (entry.cosigned.size() > kMaxCosignedPerLedger) {
        entry.cosigned.erase(entry.cosigned.begin());
      }
      AnswerWaiters(job.ledger_id, entry, finished);
      Schedule(job, entry, false);
      return;
    }
    case Attempt::Kind::kEvidence:
      slot.settled = true;
      entry.frozen = true;
      entry.cosigned.clear();
      AnswerWaiters(job.ledger_id, entry, finished);
      return;
    case Attempt::Kind::kFailed:
      slot.last_failure = std::move(attempt.failure);
      slot.backoff = slot.backoff == absl::ZeroDuration()
                         ? options_.first_retry
                         : std::min(2 * slot.backoff, options_.max_retry);
      Schedule(job, entry, true);
      return;
  }
}

WitnessSubmitter::Attempt WitnessSubmitter::Submit(const Job& job, const std::string& checkpoint,
                                                   uint64_t size,
                                                   const std::string& host_address,
                                                   std::optional<uint64_t> witness_size) {
  absl::StatusOr<NoteParts> ours = SplitNote(checkpoint, job.ledger_id);
  if (!ours.ok()) {
    return Attempt::Failed(absl::StrCat("the checkpoint cannot be submitted: ",
                                        ours.status().message()));
  }
  WitnessClient& client = *witnesses_[job.witness].client;
  uint64_t old_size = witness_size.value_or(0);
  std::optional<uint64_t> learnt;
  for (int request = 0; request < kMaxRequestsPerJob; ++request) {
    if (old_size > size) {
      Attempt attempt = CountAhead(job, checkpoint, size, host_address);
      if (!attempt.witness_size.has_value() && !attempt.forget_witness_size) {
        attempt.witness_size = old_size;
      }
      return attempt;
    }
    std::vector<MerkleHash> proof;
    std::string old_checkpoint;
    if (old_size > 0 && old_size < size) {
      absl::StatusOr<HostConsistencyProof> served =
          proofs_(job.ledger_id, host_address, old_size, size);
      if (!served.ok()) {
        Attempt attempt = Attempt::Failed(absl::StrCat(
            "no consistency proof from the host from size ", old_size, ": ",
            absl::StatusCodeToString(served.status().code())));
        attempt.witness_size = learnt;
        return attempt;
      }
      absl::StatusOr<Checkpoint> old_checkpoint_parsed =
          VerifyCheckpoint(served->old_checkpoint, job.ledger_id);
      if (!old_checkpoint_parsed.ok() || old_checkpoint_parsed->tree_size != old_size ||
          !VerifyMerkleConsistency(old_size, size, old_checkpoint_parsed->root_hash,
                                   ours->checkpoint.root_hash, served->hashes)
               .ok()) {
        Attempt attempt = Attempt::Failed(absl::StrCat(
            "the host's consistency proof from size ", old_size, " does not verify"));
        attempt.witness_size = learnt;
        return attempt;
      }
      proof = served->hashes;
      old_checkpoint = served->old_checkpoint;
    }
    WitnessResult result = client.AddCheckpoint(old_size, proof, checkpoint);
    switch (result.outcome) {
      case WitnessOutcome::kCosigned:
        return Attempt::Cosigned(size, *ours, std::move(result.cosignature_line));
      case WitnessOutcome::kSizeConflict:
        old_size = result.witness_size;
        learnt = old_size;
        continue;
      case WitnessOutcome::kFrozen:
        return FetchEvidence(job, result.evidence_id);
      case WitnessOutcome::kInconsistent:
        return CheckForFork(job, checkpoint, old_checkpoint, result.detail);
      default: {
        Attempt attempt = Attempt::Failed(
            absl::StrCat(WitnessOutcomeName(result.outcome), ": ", result.detail));
        attempt.witness_fault = true;
        attempt.witness_size = learnt;
        return attempt;
      }
    }
  }
  Attempt attempt = Attempt::Failed("the witness answered 409 to every request");
  attempt.forget_witness_size = true;
  return attempt;
}

WitnessSubmitter::Attempt WitnessSubmitter::CheckForFork(const Job& job,
                                                         const std::string& checkpoint,
                                                         const std::string& old_checkpoint,
                                                         const std::string& refusal) {
  const AgentWitness& witness = witnesses_[job.witness];
  const std::string refused = absl::StrCat("the witness refused the checkpoint (", refusal, ")");
  absl::StatusOr<std::string> served = witness.reads->LatestCheckpoint(job.ledger_id);
  absl::StatusOr<NoteParts> theirs = served.ok()
                                         ? SplitNote(*served, job.ledger_id)
                                         : absl::StatusOr<NoteParts>(served.status());
  if (!theirs.ok()) {
    Attempt attempt = Attempt::Failed(absl::StrCat(
        refused, "; its checkpoint: ", absl::StatusCodeToString(theirs.status().code())));
    attempt.forget_witness_size = true;
    return attempt;
  }
  for (const std::string* held : {&checkpoint, &old_checkpoint}) {
    if (held->empty()) continue;
    absl::StatusOr<NoteParts> ours = SplitNote(*held, job.ledger_id);
    if (!ours.ok() || ours->checkpoint.tree_size != theirs->checkpoint.tree_size ||
        ours->checkpoint.root_hash == theirs->checkpoint.root_hash) {
      continue;
    }
    absl::StatusOr<std::string> object =
        BuildCheckpointsEvidence(job.ledger_id, LedgerKeyOnly(*ours), LedgerKeyOnly(*theirs));
    if (!object.ok()) continue;
    const WitnessEndpoint& endpoint = witness.client->endpoint();
    EvidenceRecord record;
    record.ledger_id = job.ledger_id;
    record.host_address = endpoint.url;
    record.kind = "witness";
    record.held_checkpoint = *held;
    record.served_checkpoint = *served;
    record.detail = absl::StrCat("witness ", endpoint.key.name,
                                 " holds a checkpoint of size ", ours->checkpoint.tree_size,
                                 " with another root, signed by the ledger key");
    record.detected_unix_millis = NowMillis();
    record.evidence_id = EvidenceId(*object);
    record.evidence_object = *std::move(object);
    Attempt attempt;
    attempt.kind = Attempt::Kind::kEvidence;
    attempt.evidence.push_back(std::move(record));
    return attempt;
  }
  Attempt attempt = Attempt::Failed(refused);
  attempt.forget_witness_size = true;
  return attempt;
}

WitnessSubmitter::Attempt WitnessSubmitter::CountAhead(const Job& job,
                                                       const std::string& checkpoint,
                                                       uint64_t size,
                                                       const std::string& host_address) {
  const AgentWitness& witness = witnesses_[job.witness];
  absl::StatusOr<std::string> served = witness.reads->LatestCheckpoint(job.ledger_id);
  absl::StatusOr<NoteParts> theirs = served.ok()
                                         ? SplitNote(*served, job.ledger_id)
                                         : absl::StatusOr<NoteParts>(served.status());
  if (!theirs.ok()) {
    Attempt attempt = Attempt::Failed(absl::StrCat(
        "the witness is ahead of the agent; its checkpoint: ",
        absl::StatusCodeToString(theirs.status().code())));
    attempt.forget_witness_size = true;
    return attempt;
  }
  const uint64_t their_size = theirs->checkpoint.tree_size;
  if (their_size <= size) {
    // It holds the agent's size now (or went back): compared as after a 422.
    return CheckForFork(job, checkpoint, "", "its checkpoint is not ahead any more");
  }
  absl::StatusOr<NoteParts> ours = SplitNote(checkpoint, job.ledger_id);
  absl::StatusOr<HostConsistencyProof> proof =
      proofs_(job.ledger_id, host_address, size, their_size);
  if (!ours.ok() || !proof.ok() ||
      !VerifyMerkleConsistency(size, their_size, ours->checkpoint.root_hash,
                               theirs->checkpoint.root_hash, proof->hashes)
           .ok()) {
    Attempt attempt = Attempt::Failed(absl::StrCat(
        "the witness holds a checkpoint of size ", their_size,
        " that the host does not prove consistent with the agent's"));
    attempt.witness_size = their_size;
    return attempt;
  }
  std::optional<std::string> line =
      WitnessLineOf(*served, theirs->note_text, witness.client->endpoint().key);
  if (!line.has_value()) {
    Attempt attempt = Attempt::Failed("the witness's checkpoint carries no valid line of it");
    attempt.witness_fault = true;
    attempt.witness_size = their_size;
    return attempt;
  }
  return Attempt::Cosigned(their_size, *theirs, *std::move(line));
}

WitnessSubmitter::Attempt WitnessSubmitter::FetchEvidence(const Job& job,
                                                          const std::string& evidence_id) {
  const AgentWitness& witness = witnesses_[job.witness];
  const std::string frozen =
      absl::StrCat("the witness says the ledger is frozen by evidence ", QuoteForError(evidence_id));
  absl::StatusOr<std::vector<std::string>> objects = witness.reads->Evidence(job.ledger_id);
  if (!objects.ok()) {
    return Attempt::Failed(absl::StrCat(frozen, "; its evidence: ",
                                        absl::StatusCodeToString(objects.status().code())));
  }
  Attempt attempt;
  attempt.kind = Attempt::Kind::kEvidence;
  for (std::string& object : *objects) {
    absl::StatusOr<EvidenceInfo> info = ValidateEvidence(object);
    if (!info.ok() || info->ledger != job.ledger_id) continue;
    EvidenceRecord record;
    record.ledger_id = job.ledger_id;
    record.host_address = witness.client->endpoint().url;
    record.kind = "reported";
    record.detail = absl::StrCat("served by witness ", witness.client->endpoint().key.name);
    record.detected_unix_millis = NowMillis();
    record.evidence_id = info->id;
    record.evidence_object = std::move(object);
    attempt.evidence.push_back(std::move(record));
  }
  if (attempt.evidence.empty()) {
    return Attempt::Failed(absl::StrCat(frozen, " but serves no valid evidence of it"));
  }
  return attempt;
}

}  // namespace microledger
