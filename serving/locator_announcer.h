// Keeps the ledgers a server holds findable through the DHT (SPEC §13): puts a
// signed locator record (and any equivocation evidence) for each announced
// ledger through a DhtClient, re-puts it before OpenDHT forgets it, and stops
// when the ledger is forgotten or (mode kActive) goes idle. ml-host announces
// host records signed with each ledger's key; ml-mirror announces mirror
// records signed with its own key.
//
// The serving threads only ever mark ledgers (Touch, Forget, PutEvidence: a
// hash-map update under a mutex that is never held during I/O or signing);
// one background thread does all the work: it keeps one due time per
// announced ledger in a priority queue (no per-ledger timers), and when a
// ledger is due it drops it if it went idle, else signs a new record if the
// current one would expire too soon (see below), encrypts it (value data with
// a fresh nonce, value id = DhtValueId) and puts it and the ledger's evidence,
// then makes the ledger due again `refresh` later. An unknown or idle-dropped
// ledger costs nothing; an announced one costs its entry (its current value
// data, at most kMaxEvidencePerLedger evidence values) and one queue item.
// The single thread puts one value at a time and signs at most one record a
// millisecond, so it refreshes 300 s / (the proxy's put time + ~0.06 ms)
// ledgers every 5 minutes: 189k–242k on a 20-node loopback DHT (BENCHMARKS.md),
// but a put that crosses a real network (a search and a store, 0.1–1 s) cuts
// that to a few thousand: a host with more active ledgers than that needs
// several puts in flight, which this does not do yet.
//
// Records: `seq` is the wall-clock time in milliseconds, at most one record a
// millisecond (the thread waits for the next one), so it grows per signer
// within a process and across restarts as long as the clock does; if the
// clock steps back, seq goes on from the previous one + 1. `expires` is seq +
// record_lifetime (default 1 h: a copy replayed into the DHT by someone else
// is useless an hour later). A record is re-signed when fewer than refresh +
// 10 min (OpenDHT's value lifetime) remain, so every copy still in the DHT is
// valid; otherwise the same value data is re-put (same value id: OpenDHT
// keeps one copy).
//
// DHT failures: a failed put pauses all puts (backoff from backoff_min,
// doubling up to backoff_max), then the same ledger is tried first. The first
// failure after success writes one line to the log ("<program>: <dht_name>
// unreachable; ledgers are not announced until it answers (...)"), and the
// first success after that one more ("... answers again"). A signer failure
// is logged once until a record is signed again. No log line names a ledger:
// the ledger id is cut out of any error message that is logged.
//
// Thread-safe. The destructor stops the thread (waiting for a put in flight,
// at most the DHT client's timeout). A ledger forgotten while its put is in
// flight may still get that one put; DHT values expire 10 min after the last
// put.
#ifndef MICROLEDGER_SERVING_LOCATOR_ANNOUNCER_H_
#define MICROLEDGER_SERVING_LOCATOR_ANNOUNCER_H_

#include <cstdint>
#include <functional>
#include <memory>
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
#include "common/locator.h"
#include "serving/dht_client.h"

namespace microledger {

// Evidence values kept per ledger (the most recent ones).
inline constexpr size_t kMaxEvidencePerLedger = 8;

enum class AnnounceMode {
  kActive,  // Ledgers touched within active_window.
  kAll,     // Every ledger touched since start (until forgotten).
  kNone,    // Nothing: Touch, Forget and PutEvidence do nothing.
};

struct LocatorAnnouncerOptions {
  // The program and the DHT as log lines name them ("ml-host",
  // "DHT proxy http://127.0.0.1:4222").
  std::string program = "ml-host";
  std::string dht_name = "DHT proxy";
  LocatorRole role = LocatorRole::kHost;
  // The record's URLs (the --announce_url values): 1 to 4, SPEC §13 forms.
  std::vector<std::string> urls;
  AnnounceMode mode = AnnounceMode::kActive;
  // kActive: a ledger touched within this window stays announced.
  absl::Duration active_window = absl::Hours(24);
  // How often a ledger's values are put again (SPEC §13: every 5 minutes).
  absl::Duration refresh = absl::Milliseconds(kDhtRefreshMillis);
  // expires - seq of a record: more than refresh + 10 min, at most 48 h.
  absl::Duration record_lifetime = absl::Hours(1);
  // The pause after a failed put, doubling while puts fail.
  absl::Duration backoff_min = absl::Seconds(1);
  absl::Duration backoff_max = absl::Minutes(1);
  // Where log lines go (no trailing newline); empty: stderr.
  std::function<void(absl::string_view line)> log;
};

// Signs a locator record for `ledger_id` and returns its plaintext, usually
// `SignLocatorRecord(std::move(record), key)` with the ledger's key (host) or
// the server's own key (mirror). `record` has every member but `key` (which
// SignLocatorRecord sets) and `sig`. NotFound means the ledger is no longer
// held: the announcer forgets it. Called on the announcer's thread only.
using LocatorSigner = std::function<absl::StatusOr<std::string>(const std::string& ledger_id,
                                                                LocatorRecord record)>;

struct LocatorAnnouncerStats {
  int64_t ledgers = 0;        // Ledgers announced now.
  int64_t puts = 0;           // Values put, since start.
  int64_t put_failures = 0;   // Puts that failed, since start.
  int64_t sign_failures = 0;  // Records the signer or encryption failed to make.
  bool dht_reachable = true;  // False from a failed put until a put succeeds.
};

class LocatorAnnouncer {
 public:
  // InvalidArgument for options that break a rule above (the URLs are checked
  // by signing a trial record) or a null dht or signer.
  static absl::StatusOr<std::unique_ptr<LocatorAnnouncer>> Create(
      LocatorAnnouncerOptions options, std::shared_ptr<DhtClient> dht, LocatorSigner signer);

  LocatorAnnouncer(const LocatorAnnouncer&) = delete;
  LocatorAnnouncer& operator=(const LocatorAnnouncer&) = delete;
  ~LocatorAnnouncer();

  // The ledger was written or read now (or at `used_at`, e.g. its last write
  // found at start-up: kActive ignores one older than active_window). A
  // ledger not announced yet is announced at once; otherwise only its last
  // use moves. O(1) amortized.
  void Touch(absl::string_view ledger_id);
  void Touch(absl::string_view ledger_id, absl::Time used_at);
  // Stops announcing the ledger (its values expire from the DHT 10 min after
  // their last put) and drops its evidence.
  void Forget(absl::string_view ledger_id);
  // Announces `evidence` (the JCS bytes of a SPEC §11 evidence object of this
  // ledger) with the ledger's record from now on, put at once and on every
  // refresh; touches the ledger. The same evidence twice is kept once.
  // InvalidArgument if its value data would exceed kMaxValueDataBytes or the
  // ledger id is not one.
  absl::Status PutEvidence(absl::string_view ledger_id, absl::string_view evidence);

  LocatorAnnouncerStats Stats() const;

 private:
  struct Evidence {
    std::string digest;  // SHA-256 of the evidence object, to keep it once.
    std::string value;   // Its value data.
  };
  struct Entry {
    uint64_t generation = 0;  // Tells this entry from an earlier one of the ledger.
    absl::Time last_used;
    // The time of the entry's one valid queue item; InfiniteFuture while the
    // thread works on the entry.
    absl::Time due;
    // Put again at once after the work in progress (evidence came meanwhile).
    bool urgent = false;
    std::string dht_key;        // Empty until first announced.
    std::string record_value;   // Value data of the current record, if any.
    int64_t record_expires_ms = 0;
    std::vector<Evidence> evidence;  // Oldest first.
  };
  struct Due {
    absl::Time at;
    std::string ledger;
    uint64_t generation;
    bool operator>(const Due& other) const { return at > other.at; }
  };

  LocatorAnnouncer(LocatorAnnouncerOptions options, std::shared_ptr<DhtClient> dht,
                   LocatorSigner signer);
  void Run();
  // Works on the due ledger's entry: drops it if idle, else signs and puts
  // (releasing mu_ meanwhile) and makes it due again.
  void Announce(const std::string& ledger, uint64_t generation, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the ledger's entry (created if need be) due now, or urgent if the
  // thread is at work on it.
  Entry& MarkDueNow(absl::string_view ledger_id, absl::Time used_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The seq of the next record (see above); the thread only.
  int64_t NextSeq();
  void Log(const std::string& line) const;

  const LocatorAnnouncerOptions options_;
  const std::shared_ptr<DhtClient> dht_;
  const LocatorSigner signer_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
  // Items made due by Touch and PutEvidence, moved to queue_ by the thread.
  std::vector<Due> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Due> queue_ ABSL_GUARDED_BY(mu_);  // A min-heap by `at`.
  int64_t last_seq_ = 0;  // The thread's only.
  absl::Time paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  bool sign_failure_reported_ ABSL_GUARDED_BY(mu_) = false;
  LocatorAnnouncerStats stats_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // Not started in mode kNone.
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_LOCATOR_ANNOUNCER_H_
