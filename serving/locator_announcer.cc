#include "serving/locator_announcer.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/timestamp.h"
#include "serving/log.h"

namespace microledger {
namespace {

// The most NextSeq waits for the clock to pass the previous seq.
constexpr int64_t kMaxSeqWaitMillis = 5;

// `message` without the ledger id or its key text (which the signer's errors
// may quote), for a log line.
std::string WithoutLedger(absl::string_view message, absl::string_view ledger_id) {
  std::string text = absl::StrReplaceAll(message, {{ledger_id, "<ledger>"}});
  if (absl::StartsWith(ledger_id, kLedgerIdPrefix) && ledger_id.size() > kLedgerIdPrefix.size()) {
    text = absl::StrReplaceAll(text, {{ledger_id.substr(kLedgerIdPrefix.size()), "<ledger key>"}});
  }
  return text;
}

// Signs a record with throwaway keys, so that options a real record would
// break (URLs above all) fail at start-up rather than on the first announce.
absl::Status CheckByTrialRecord(const LocatorAnnouncerOptions& options) {
  absl::StatusOr<SigningKey> ledger_key = SigningKey::Generate();
  absl::StatusOr<SigningKey> mirror_key = SigningKey::Generate();
  if (!ledger_key.ok()) return ledger_key.status();
  if (!mirror_key.ok()) return mirror_key.status();
  const std::string ledger_id = LedgerIdFromPublicKeyText(ledger_key->public_key_text());
  LocatorRecord record;
  record.ledger = ledger_id;
  record.role = options.role;
  record.seq = absl::ToUnixMillis(absl::Now());
  record.expires =
      FormatTimestampMillis(record.seq + absl::ToInt64Milliseconds(options.record_lifetime));
  record.urls = options.urls;
  const SigningKey& signer = options.role == LocatorRole::kHost ? *ledger_key : *mirror_key;
  absl::StatusOr<std::string> signed_record = SignLocatorRecord(std::move(record), signer);
  if (!signed_record.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("announced locator records would be invalid: ",
                     WithoutLedger(signed_record.status().message(), ledger_id)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocatorAnnouncer>> LocatorAnnouncer::Create(
    LocatorAnnouncerOptions options, std::shared_ptr<DhtClient> dht, LocatorSigner signer) {
  if (dht == nullptr || !signer) {
    return absl::InvalidArgumentError("a locator announcer needs a DHT client and a signer");
  }
  if (options.mode != AnnounceMode::kNone) {
    const absl::Duration dht_lifetime = absl::Milliseconds(kDhtValueLifetimeMillis);
    if (options.refresh <= absl::ZeroDuration() || options.active_window <= absl::ZeroDuration() ||
        options.backoff_min <= absl::ZeroDuration() || options.backoff_max < options.backoff_min) {
      return absl::InvalidArgumentError(
          "announce refresh, active window and backoff must be positive");
    }
    if (options.record_lifetime <= options.refresh + dht_lifetime ||
        options.record_lifetime > absl::Milliseconds(kMaxLocatorLifetimeMillis)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a locator record lifetime must be more than the refresh interval + ",
          absl::FormatDuration(dht_lifetime), " and at most 48h, not ",
          absl::FormatDuration(options.record_lifetime)));
    }
    if (absl::Status status = CheckByTrialRecord(options); !status.ok()) return status;
  }
  std::unique_ptr<LocatorAnnouncer> announcer(
      new LocatorAnnouncer(std::move(options), std::move(dht), std::move(signer)));
  if (announcer->options_.mode != AnnounceMode::kNone) {
    announcer->thread_ = std::thread([raw = announcer.get()] { raw->Run(); });
  }
  return announcer;
}

LocatorAnnouncer::LocatorAnnouncer(LocatorAnnouncerOptions options,
                                   std::shared_ptr<DhtClient> dht, LocatorSigner signer)
    : options_(std::move(options)),
      dht_(std::move(dht)),
      signer_(std::move(signer)),
      backoff_(options_.backoff_min) {}

LocatorAnnouncer::~LocatorAnnouncer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

void LocatorAnnouncer::Touch(absl::string_view ledger_id) { Touch(ledger_id, absl::Now()); }

void LocatorAnnouncer::Touch(absl::string_view ledger_id, absl::Time used_at) {
  if (options_.mode == AnnounceMode::kNone) return;
  if (options_.mode == AnnounceMode::kActive &&
      used_at < absl::Now() - options_.active_window) {
    return;
  }
  absl::MutexLock lock(&mu_);
  const auto it = entries_.find(ledger_id);
  if (it != entries_.end()) {
    it->second.last_used = std::max(it->second.last_used, used_at);
    return;
  }
  MarkDueNow(ledger_id, used_at);
}

void LocatorAnnouncer::Forget(absl::string_view ledger_id) {
  if (options_.mode == AnnounceMode::kNone) return;
  absl::MutexLock lock(&mu_);
  const auto it = entries_.find(ledger_id);
  if (it != entries_.end()) entries_.erase(it);
}

absl::Status LocatorAnnouncer::PutEvidence(absl::string_view ledger_id,
                                           absl::string_view evidence) {
  if (options_.mode == AnnounceMode::kNone) return absl::OkStatus();
  absl::StatusOr<std::string> value = EncryptValueData(ledger_id, evidence);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "evidence cannot be announced: ", WithoutLedger(value.status().message(), ledger_id)));
  }
  const std::string digest = Sha256(evidence);
  absl::MutexLock lock(&mu_);
  const auto it = entries_.find(ledger_id);
  if (it != entries_.end()) {
    for (const Evidence& known : it->second.evidence) {
      if (known.digest == digest) {
        it->second.last_used = std::max(it->second.last_used, absl::Now());
        return absl::OkStatus();
      }
    }
  }
  Entry& entry = MarkDueNow(ledger_id, absl::Now());
  entry.evidence.push_back(Evidence{digest, *std::move(value)});
  if (entry.evidence.size() > kMaxEvidencePerLedger) entry.evidence.erase(entry.evidence.begin());
  return absl::OkStatus();
}

LocatorAnnouncerStats LocatorAnnouncer::Stats() const {
  absl::MutexLock lock(&mu_);
  LocatorAnnouncerStats stats = stats_;
  stats.ledgers = static_cast<int64_t>(entries_.size());
  return stats;
}

LocatorAnnouncer::Entry& LocatorAnnouncer::MarkDueNow(absl::string_view ledger_id,
                                                      absl::Time used_at) {
  auto it = entries_.find(ledger_id);
  if (it == entries_.end()) {
    it = entries_.emplace(std::string(ledger_id), Entry{}).first;
    it->second.generation = next_generation_++;
    it->second.last_used = used_at;
  } else {
    it->second.last_used = std::max(it->second.last_used, used_at);
    if (it->second.due == absl::InfiniteFuture()) {  // The thread is at work on it.
      it->second.urgent = true;
      return it->second;
    }
  }
  const absl::Time now = absl::Now();
  it->second.due = now;
  pending_.push_back(Due{now, it->first, it->second.generation});
  wake_.Signal();
  return it->second;
}

void LocatorAnnouncer::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    for (Due& due : pending_) {
      queue_.push_back(std::move(due));
      std::push_heap(queue_.begin(), queue_.end(), std::greater<>());
    }
    pending_.clear();
    const absl::Time now = absl::Now();
    absl::Time wake_at = absl::InfiniteFuture();
    if (now < paused_until_) {
      wake_at = paused_until_;
    } else if (!queue_.empty() && queue_.front().at <= now) {
      std::pop_heap(queue_.begin(), queue_.end(), std::greater<>());
      Due due = std::move(queue_.back());
      queue_.pop_back();
      const auto it = entries_.find(due.ledger);
      // Items of forgotten entries, or made stale by an earlier due time.
      if (it == entries_.end() || it->second.generation != due.generation ||
          it->second.due != due.at) {
        continue;
      }
      Announce(due.ledger, due.generation, now);
      continue;
    } else if (!queue_.empty()) {
      wake_at = queue_.front().at;
    }
    wake_.WaitWithDeadline(&mu_, wake_at);
  }
}

void LocatorAnnouncer::Announce(const std::string& ledger, uint64_t generation,
                                absl::Time now) {
  Entry& entry = entries_.find(ledger)->second;
  if (options_.mode == AnnounceMode::kActive && now - entry.last_used > options_.active_window) {
    entries_.erase(ledger);
    return;
  }
  // Copy what the work needs, and let go of mu_ while signing and putting.
  entry.due = absl::InfiniteFuture();
  std::string dht_key = entry.dht_key;
  std::string record_value = entry.record_value;
  std::vector<std::string> evidence_values;
  for (const Evidence& evidence : entry.evidence) evidence_values.push_back(evidence.value);
  const int64_t now_ms = absl::ToUnixMillis(now);
  const int64_t lifetime_ms = absl::ToInt64Milliseconds(options_.record_lifetime);
  const bool sign = record_value.empty() ||
                    entry.record_expires_ms - now_ms <
                        absl::ToInt64Milliseconds(options_.refresh) + kDhtValueLifetimeMillis;
  mu_.Unlock();

  bool forget = false;
  bool signed_now = false;
  absl::Status sign_error;
  if (dht_key.empty()) {
    absl::StatusOr<std::string> key = DhtKeyHex(ledger);
    if (key.ok()) {
      dht_key = *std::move(key);
    } else {
      forget = true;  // Not a ledger id: nothing to announce, ever.
    }
  }
  int64_t seq = 0;
  if (!forget && sign) {
    seq = NextSeq();
    LocatorRecord record;
    record.ledger = ledger;
    record.role = options_.role;
    record.seq = seq;
    record.expires = FormatTimestampMillis(seq + lifetime_ms);
    record.urls = options_.urls;
    absl::StatusOr<std::string> plaintext = signer_(ledger, std::move(record));
    absl::StatusOr<std::string> value =
        plaintext.ok() ? EncryptValueData(ledger, *plaintext) : plaintext.status();
    if (value.ok()) {
      record_value = *std::move(value);
      signed_now = true;
    } else if (absl::IsNotFound(plaintext.status())) {
      forget = true;
    } else {
      sign_error = value.status();
    }
  }
  int64_t puts = 0;
  absl::Status put_error;
  if (!forget) {
    std::vector<const std::string*> values;
    if (!record_value.empty()) values.push_back(&record_value);
    for (const std::string& value : evidence_values) values.push_back(&value);
    for (const std::string* value : values) {
      put_error = dht_->Put(dht_key, *value, DhtValueId(*value));
      if (!put_error.ok()) break;
      ++puts;
    }
  }

  mu_.Lock();
  const absl::Time after = absl::Now();
  stats_.puts += puts;
  if (!put_error.ok()) {
    ++stats_.put_failures;
    if (stats_.dht_reachable) {
      Log(absl::StrCat(options_.program, ": ", options_.dht_name,
                       " unreachable; ledgers are not announced until it answers (",
                       WithoutLedger(put_error.message(), ledger), ")"));
    }
    stats_.dht_reachable = false;
    paused_until_ = after + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  } else if (puts > 0) {
    if (!stats_.dht_reachable) {
      Log(absl::StrCat(options_.program, ": ", options_.dht_name,
                       " answers again; announcing ledgers"));
    }
    stats_.dht_reachable = true;
    backoff_ = options_.backoff_min;
  }
  if (!sign_error.ok()) {
    ++stats_.sign_failures;
    if (!sign_failure_reported_) {
      Log(absl::StrCat(options_.program, ": cannot make a locator record (reported once): ",
                       WithoutLedger(sign_error.message(), ledger)));
      sign_failure_reported_ = true;
    }
  } else if (signed_now) {
    sign_failure_reported_ = false;
  }

  const auto it = entries_.find(ledger);
  if (it == entries_.end() || it->second.generation != generation) return;  // Forgotten.
  if (forget) {
    entries_.erase(it);
    return;
  }
  Entry& current = it->second;
  current.dht_key = std::move(dht_key);
  if (signed_now) {
    current.record_value = std::move(record_value);
    current.record_expires_ms = seq + lifetime_ms;
  }
  // After a failed put the ledger goes first once the pause is over.
  current.due = !put_error.ok() || current.urgent ? after : after + options_.refresh;
  current.urgent = false;
  queue_.push_back(Due{current.due, ledger, generation});
  std::push_heap(queue_.begin(), queue_.end(), std::greater<>());
}

int64_t LocatorAnnouncer::NextSeq() {
  int64_t now_ms = absl::ToUnixMillis(absl::Now());
  // At most one record a millisecond, so seq keeps to the clock and a restart
  // continues above it; a clock stepped back by more than a few ms is not
  // waited for: seq then runs ahead of it.
  while (now_ms <= last_seq_ && last_seq_ - now_ms < kMaxSeqWaitMillis) {
    absl::SleepFor(absl::Milliseconds(1));
    now_ms = absl::ToUnixMillis(absl::Now());
  }
  last_seq_ = std::max(now_ms, last_seq_ + 1);
  return last_seq_;
}

void LocatorAnnouncer::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  // The line starts with "PROGRAM: ", which the logger adds itself.
  absl::string_view message = line;
  absl::ConsumePrefix(&message, absl::StrCat(options_.program, ": "));
  microledger::Log(LogLevel::kWarning, "discovery", message);
}

}  // namespace microledger
