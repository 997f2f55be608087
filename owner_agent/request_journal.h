// The owner agent's memory of client request ids (AppendEventRequest.
// request_id), so that a retried append is never appended twice, across
// restarts. Before a block made for a request is sent to the host, the agent
// records "request R of ledger L was drafted as block N with fingerprint F";
// a retry of R looks up every such attempt and asks the host whether block N
// is F. The host's chain, not this file, says what was committed: the journal
// only remembers which blocks to ask about.
//
// On disk: <agent dir>/requests.jsonl, one JSON array per line
// [kRequestJournalFormat, "ledger", "request", number, "fingerprint"]
// (a line without the leading version, written before formats were
// numbered, is version 1), appended with write(2) before
// Record returns (a killed process loses nothing) and fsynced by Sync (a
// machine crash loses what was recorded since the last Sync). A torn last
// line, or one of another version, is skipped and counted (unreadable_lines). The newest `max_entries` attempts are kept; older ones are
// forgotten when the file is compacted (at open, and when it holds twice as
// many lines).
//
// Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_REQUEST_JOURNAL_H_
#define MICROLEDGER_OWNER_AGENT_REQUEST_JOURNAL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "serving/durable_file.h"

namespace microledger {

// The version of the journal line format written by Record.
inline constexpr uint64_t kRequestJournalFormat = 1;

// Longest accepted request id, in bytes.
inline constexpr size_t kMaxRequestIdBytes = 128;

struct RequestAttempt {
  uint64_t number = 0;
  std::string fingerprint;
};

class RequestJournal {
 public:
  static absl::StatusOr<std::unique_ptr<RequestJournal>> Open(const std::string& path,
                                                              size_t max_entries);

  // Appends one attempt to the file (written before it returns).
  absl::Status Record(const std::string& ledger_id, const std::string& request_id,
                      const RequestAttempt& attempt) ABSL_LOCKS_EXCLUDED(mu_);
  // Every remembered attempt of the request, oldest first.
  std::vector<RequestAttempt> Attempts(const std::string& ledger_id,
                                       const std::string& request_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // fsync of the file.
  absl::Status Sync() ABSL_LOCKS_EXCLUDED(mu_);
  // Lines skipped by Open: torn by a crash or of another format version.
  size_t unreadable_lines() const { return unreadable_lines_; }

 private:
  using Key = std::pair<std::string, std::string>;  // Ledger id, request id.
  RequestJournal(std::string path, size_t max_entries)
      : path_(std::move(path)), max_entries_(max_entries) {}
  void RememberLocked(Key key, RequestAttempt attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenFileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rewrites the file with the remembered attempts and reopens it for appending.
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const size_t max_entries_;
  size_t unreadable_lines_ = 0;  // Set by Open only.
  mutable absl::Mutex mu_;
  // Null after a failed reopen (tried again by the next Record).
  std::unique_ptr<AppendOnlyFile> file_ ABSL_GUARDED_BY(mu_);
  // The last compaction's failure (reported by Sync until one succeeds).
  absl::Status compaction_error_ ABSL_GUARDED_BY(mu_);
  size_t lines_in_file_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<Key, std::vector<RequestAttempt>> attempts_ ABSL_GUARDED_BY(mu_);
  std::deque<Key> order_ ABSL_GUARDED_BY(mu_);  // One entry per attempt, oldest first.
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_REQUEST_JOURNAL_H_
