#include "host_service/witness_submitter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "serving/log.h"

namespace microledger {

absl::StatusOr<std::unique_ptr<WitnessSubmitter>> WitnessSubmitter::Create(
    std::vector<std::unique_ptr<WitnessClient>> witnesses, WitnessSubmitterHooks hooks,
    WitnessSubmitterOptions options) {
  if (witnesses.empty()) return absl::InvalidArgumentError("witness submitter: no witness");
  for (const std::unique_ptr<WitnessClient>& witness : witnesses) {
    if (witness == nullptr) return absl::InvalidArgumentError("witness submitter: null witness");
  }
  if (!hooks.latest || !hooks.consistency_proof || !hooks.cosigned_size || !hooks.record) {
    return absl::InvalidArgumentError("witness submitter: a hook is missing");
  }
  if (options.min_interval < absl::ZeroDuration() ||
      options.backoff_min <= absl::ZeroDuration() || options.backoff_max < options.backoff_min ||
      options.threads_per_witness == 0) {
    return absl::InvalidArgumentError(
        "witness submitter: intervals must not be negative, backoffs must be positive and "
        "each witness needs a thread");
  }
  return std::unique_ptr<WitnessSubmitter>(
      new WitnessSubmitter(std::move(witnesses), std::move(hooks), std::move(options)));
}

WitnessSubmitter::WitnessSubmitter(std::vector<std::unique_ptr<WitnessClient>> witnesses,
                                   WitnessSubmitterHooks hooks, WitnessSubmitterOptions options)
    : hooks_(std::move(hooks)), options_(std::move(options)) {
  {
    absl::MutexLock lock(&mu_);
    for (std::unique_ptr<WitnessClient>& client : witnesses) {
      clients_.push_back(client.get());
      Witness witness;
      witness.client = std::move(client);
      witness.backoff = options_.backoff_min;
      witnesses_.push_back(std::move(witness));
    }
  }
  threads_.emplace_back([this] { RunScheduler(); });
  for (size_t witness = 0; witness < clients_.size(); ++witness) {
    for (size_t i = 0; i < options_.threads_per_witness; ++i) {
      threads_.emplace_back([this, witness] { RunWorker(witness); });
    }
  }
}

WitnessSubmitter::~WitnessSubmitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    scheduler_wake_.SignalAll();
    worker_wake_.SignalAll();
  }
  for (std::thread& thread : threads_) thread.join();
}

void WitnessSubmitter::Touch(absl::string_view ledger_id) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  const auto entry = ledgers_.try_emplace(std::string(ledger_id)).first;
  Ledger& ledger = entry->second;
  ledger.touched = true;
  if (!ledger.in_round && !ledger.scheduled) {
    ScheduleLocked(entry->first, ledger, std::max(absl::Now(), ledger.next_round_at));
  }
}

size_t WitnessSubmitter::waiting_ledgers() const {
  absl::MutexLock lock(&mu_);
  size_t waiting = 0;
  for (const auto& entry : ledgers_) {
    if (entry.second.touched) ++waiting;
  }
  return waiting;
}

void WitnessSubmitter::ScheduleLocked(const std::string& ledger_id, Ledger& ledger,
                                      absl::Time at) {
  const bool earliest = schedule_.empty() || at < schedule_.begin()->first;
  schedule_.emplace(at, ledger_id);
  ledger.scheduled = true;
  if (earliest) scheduler_wake_.Signal();
}

void WitnessSubmitter::RunScheduler() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (schedule_.empty() || schedule_.begin()->first > absl::Now()) {
      scheduler_wake_.WaitWithDeadline(
          &mu_, schedule_.empty() ? absl::InfiniteFuture() : schedule_.begin()->first);
      continue;
    }
    const std::string ledger_id = std::move(schedule_.begin()->second);
    schedule_.erase(schedule_.begin());
    const auto entry = ledgers_.find(ledger_id);
    if (entry == ledgers_.end()) continue;
    entry->second.scheduled = false;
    if (!entry->second.touched) {
      // Its last round ended min_interval ago and nothing came since.
      ledgers_.erase(entry);
      continue;
    }
    StartRound(ledger_id);
  }
}

void WitnessSubmitter::StartRound(const std::string& ledger_id) {
  {
    Ledger& ledger = ledgers_.at(ledger_id);
    ledger.touched = false;
    ledger.in_round = true;
    ledger.next_round_at = absl::Now() + options_.min_interval;
    ledger.retry_at = absl::InfinitePast();
  }
  mu_.Unlock();
  absl::StatusOr<WitnessSubmitterHooks::LatestCheckpoint> latest = hooks_.latest(ledger_id);
  mu_.Lock();
  // Only this thread erases entries: the ledger's is still there (but Touch
  // may have moved it in the map meanwhile).
  Ledger& ledger = ledgers_.at(ledger_id);
  if (!latest.ok()) {
    if (!absl::IsNotFound(latest.status())) {
      Log(absl::StrCat("cannot read a checkpoint to submit to witnesses: ",
                       latest.status().message()),
          /*failure=*/true);
    }
    EndRoundLocked(ledger_id, ledger);
    return;
  }
  const auto note = std::make_shared<const std::string>(std::move(latest->note));
  const absl::Time now = absl::Now();
  for (Witness& witness : witnesses_) {
    if (witness.paused_until > now) {
      Count("skipped");
      ledger.retry_at = std::max(ledger.retry_at, witness.paused_until);
      continue;
    }
    witness.queue.push_back(Request{ledger_id, latest->tree_size, note});
    ++ledger.requests_left;
  }
  if (ledger.requests_left == 0) {
    EndRoundLocked(ledger_id, ledger);
    return;
  }
  worker_wake_.SignalAll();
}

void WitnessSubmitter::EndRoundLocked(const std::string& ledger_id, Ledger& ledger) {
  ledger.in_round = false;
  // A witness that was paused gets the ledger after its pause.
  if (ledger.retry_at != absl::InfinitePast()) ledger.touched = true;
  // Touched: its next round; otherwise the entry is dropped then (it keeps
  // the interval until then).
  if (!ledger.scheduled) {
    ScheduleLocked(ledger_id, ledger, std::max(ledger.next_round_at, ledger.retry_at));
  }
}

void WitnessSubmitter::FinishRequest(const std::string& ledger_id) {
  const auto entry = ledgers_.find(ledger_id);
  if (entry == ledgers_.end()) return;
  Ledger& ledger = entry->second;
  if (--ledger.requests_left == 0) EndRoundLocked(ledger_id, ledger);
}

void WitnessSubmitter::RunWorker(size_t witness) {
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ && witnesses_[witness].queue.empty()) worker_wake_.Wait(&mu_);
    if (stopping_) return;
    Request request = std::move(witnesses_[witness].queue.front());
    witnesses_[witness].queue.pop_front();
    const absl::Time paused_until = witnesses_[witness].paused_until;
    if (paused_until > absl::Now()) {
      Count("skipped");
      Ledger& ledger = ledgers_.at(request.ledger_id);
      ledger.retry_at = std::max(ledger.retry_at, paused_until);
    } else {
      mu_.Unlock();
      Submit(witness, request);
      mu_.Lock();
    }
    FinishRequest(request.ledger_id);
  }
}

void WitnessSubmitter::Submit(size_t witness, const Request& request) {
  WitnessClient& client = *clients_[witness];
  const std::string& name = client.endpoint().key.name;
  absl::StatusOr<std::optional<uint64_t>> cosigned =
      hooks_.cosigned_size(request.ledger_id, witness);
  if (!cosigned.ok()) {
    Log(absl::StrCat("witness ", name, ": cannot read its cosignatures: ",
                     cosigned.status().message()),
        /*failure=*/true);
    return;
  }
  if (cosigned->has_value() && **cosigned == request.tree_size) return;  // Cosigned already.
  uint64_t old_size = cosigned->value_or(0);
  // A 409 is answered once, from the size the witness names.
  for (int attempt = 0; attempt < 2; ++attempt) {
    // The witness has a newer checkpoint than this round's (the owner's agent
    // submitted it, or it came in a later round): nothing to send now.
    if (old_size > request.tree_size) return;
    std::vector<MerkleHash> proof;
    if (old_size != 0 && old_size != request.tree_size) {
      absl::StatusOr<std::vector<MerkleHash>> made =
          hooks_.consistency_proof(request.ledger_id, old_size, request.tree_size);
      if (!made.ok()) {
        Log(absl::StrCat("witness ", name, ": cannot make a consistency proof: ",
                         made.status().message()),
            /*failure=*/true);
        return;
      }
      proof = *std::move(made);
    }
    const WitnessResult result = client.AddCheckpoint(old_size, proof, *request.note);
    Count(WitnessOutcomeName(result.outcome));
    switch (result.outcome) {
      case WitnessOutcome::kCosigned: {
        absl::Status recorded = hooks_.record(request.ledger_id, witness, request.tree_size,
                                              result.cosignature_line);
        if (!recorded.ok()) {
          Log(absl::StrCat("witness ", name, ": cannot store its cosignature: ",
                           recorded.message()),
              /*failure=*/true);
        }
        absl::MutexLock lock(&mu_);
        Witness& state = witnesses_[witness];
        state.backoff = options_.backoff_min;
        if (state.failing) {
          state.failing = false;
          Log(absl::StrCat("witness ", name, " cosigns again"), /*failure=*/false);
        }
        return;
      }
      case WitnessOutcome::kSizeConflict:
        old_size = result.witness_size;
        continue;
      case WitnessOutcome::kTransportError:
      case WitnessOutcome::kTooManyRequests:
      case WitnessOutcome::kInvalidAnswer: {
        absl::MutexLock lock(&mu_);
        Witness& state = witnesses_[witness];
        state.paused_until = absl::Now() + state.backoff;
        state.backoff = std::min(state.backoff * 2, options_.backoff_max);
        Ledger& ledger = ledgers_.at(request.ledger_id);
        ledger.retry_at = std::max(ledger.retry_at, state.paused_until);
        if (!state.failing) {
          state.failing = true;
          Log(absl::StrCat("witness ", name, " (", client.endpoint().url, ") failed (",
                           WitnessOutcomeName(result.outcome), ": ", result.detail,
                           "); checkpoints wait until it answers"),
              /*failure=*/true);
        }
        return;
      }
      default: {
        absl::MutexLock lock(&mu_);
        Witness& state = witnesses_[witness];
        if (!state.failing) {
          state.failing = true;
          Log(absl::StrCat("witness ", name, " refused a checkpoint (",
                           WitnessOutcomeName(result.outcome), ", HTTP ", result.http_status,
                           ": ", result.detail, ")"),
              /*failure=*/true);
        }
        return;
      }
    }
  }
}

void WitnessSubmitter::Count(absl::string_view outcome) {
  if (options_.submissions != nullptr) {
    options_.submissions->WithLabels({std::string(outcome)}).Increment();
  }
}

void WitnessSubmitter::Log(absl::string_view line, bool failure) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  microledger::Log(failure ? LogLevel::kWarning : LogLevel::kInfo, "witness", line);
}

}  // namespace microledger
