// The owner agent's persistent state, under <keystore>/agent/ (mode 0700):
//   ledgers/<hex sha256 of id>.json  one LedgerRecord per ledger the agent
//                                    signs for: host address, verified head
//                                    (chain state), latest verified checkpoint
//                                    and Merkle frontier, move in progress
//   evidence/<hex>-<millis>-<n>.json equivocation evidence: the two
//                                    checkpoints, and the SPEC §11 object
//                                    when there is one (never deleted)
//   quarantine/<file>.<millis>       records that could not be read at start
//   heads.log, heads.<n>.log         the head log: records after ordinary
//                                    blocks, one JSON line each
// Records and head-log lines carry "format": kLedgerRecordFormat; one without
// it was written before formats were numbered and is read as version 1. A
// record of another version is damaged (quarantined); a head-log line that
// cannot be read (torn by a crash, another version) is skipped and counted.
// A record after an ordinary block is appended to the head log (one write,
// no rename, no fsync) instead of rewriting its file: cheap enough to do
// before every append is reported. The owner agent checkpoints the log now
// and then: RotateHeadLog, Save (with sync) every record written since,
// DropHeadLogs. Recover replays whatever logs are left (a line whose head is
// higher than its saved record's wins), saves the result and starts a new
// log. Records are read one at a time (Load) when the agent needs them: the
// registry keeps none in memory.
// Files are written through a temporary file and rename (serving/durable_file.h);
// with `sync` the file and its directory are fsynced before Save returns.
// A record that cannot be parsed (or is stored under another ledger's name)
// is moved to quarantine/ by Recover and reported, so one damaged file never
// stops the agent from starting.
// Thread-safe (each call writes or reads whole files). Recover reads and
// parses the record files on up to 8 threads of its own (one per core) and
// joins them before it returns.
#ifndef MICROLEDGER_OWNER_AGENT_LEDGER_REGISTRY_H_
#define MICROLEDGER_OWNER_AGENT_LEDGER_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"
#include "serving/durable_file.h"
#include "serving/metrics.h"

namespace microledger {

// The version of the record format written by LedgerRecordToJson.
inline constexpr uint64_t kLedgerRecordFormat = 1;

struct LedgerRecord {
  std::string ledger_id;
  std::string host_address;
  std::string ledger_token;  // Raw CreateLedger token, until genesis commits.
  std::string document_type;
  std::string original_id;
  std::string moved_to;
  ChainState state;          // The verified head.
  std::string checkpoint;    // Latest verified signed note ("" before genesis).
  std::string frontier;      // MerkleFrontier::Serialize() of the verified head.
  // MerkleFrontier::Serialize() of the tree before the head block (size
  // head_number - 1; "" when unknown): its subtree roots are the audit path
  // of the head block's leaf, the agent's side of a SPEC §11 `leaves` object.
  std::string previous_frontier;
  // Writes are refused: the host equivocated or lost signed blocks.
  bool equivocation = false;
  // The id of the first valid SPEC §11 evidence object kept for the ledger:
  // the ledger is frozen for ever (writes refused, FAILED_PRECONDITION).
  std::string evidence_id;
  // A move whose "became document" genesis is not committed yet.
  std::string move_host;
  std::string move_new_id;
  std::string move_token;
  std::string move_new_key;
  std::string move_block_fingerprint;
};

struct EvidenceRecord {
  std::string ledger_id;
  std::string host_address;
  // "fork", "rollback" (what the agent saw of its host or a mirror) or
  // "reported" (evidence handed to the agent, or fetched from a server that
  // says the ledger is frozen).
  std::string kind;
  std::string held_checkpoint;
  std::string served_checkpoint;
  std::string detail;
  int64_t detected_unix_millis = 0;
  // The SPEC §11 object (JCS bytes) and its id; empty when what was seen
  // proves no two histories (a rollback, or a fork the agent cannot prove).
  std::string evidence_object;
  std::string evidence_id;
};

class LedgerRegistry {
 public:
  // Creates `dir` (and its subdirectories) when absent.
  static absl::StatusOr<std::unique_ptr<LedgerRegistry>> Open(const std::string& dir);

  absl::Status Save(const LedgerRecord& record, bool sync);
  // Deletes the record (durably); no error when there is none.
  absl::Status Remove(const std::string& ledger_id);

  struct QuarantinedRecord {
    std::string path;    // Where the damaged file now is.
    std::string reason;  // Why it could not be loaded.
  };
  struct Recovered {
    // Readable records now saved (after quarantine and the head logs).
    size_t records = 0;
    std::vector<QuarantinedRecord> quarantined;
    // Head-log lines skipped: torn by a crash or of another format version.
    size_t unreadable_head_lines = 0;
  };
  // Run once at start, before anything else: checks every record file
  // (parsing them on up to 8 threads, 4096 at a time; no record is kept in
  // memory), moves the damaged ones to quarantine/ (and lists them), removes
  // leftover temporary files, saves the newer heads the head logs hold, and
  // opens a new head log. Fails when the directory or a record cannot be read
  // (an I/O or permission error is not damage), when it cannot be written,
  // or when a damaged file cannot be moved.
  absl::StatusOr<Recovered> Recover();

  // The saved record of `ledger_id`: NotFound when there is none, DataLoss
  // when its file does not parse (it is quarantined at the next start).
  absl::StatusOr<LedgerRecord> Load(const std::string& ledger_id) const;
  // Whether a record of `ledger_id` is saved.
  bool Contains(const std::string& ledger_id) const;
  // Calls `visit` with every saved record (in no order); returns how many
  // files could not be read or parsed (skipped).
  absl::StatusOr<size_t> ForEachRecord(const std::function<void(LedgerRecord)>& visit) const;

  // Appends the record to the head log (fdatasync with `sync`). Needs Recover.
  absl::Status AppendHead(const LedgerRecord& record, bool sync);
  // Later AppendHead calls go to a new log; returns the number of the log
  // just closed, to pass to DropHeadLogs once every record appended so far
  // has been Saved with sync.
  absl::StatusOr<uint64_t> RotateHeadLog();
  absl::Status DropHeadLogs(uint64_t rotation);

  absl::Status AddEvidence(const EvidenceRecord& evidence);
  // Evidence of `ledger_id`, or of every ledger when it is empty.
  absl::StatusOr<std::vector<EvidenceRecord>> ListEvidence(
      const std::string& ledger_id) const;

  const std::string& dir() const { return dir_; }

  // From now on every write that fails (Save, AppendHead, AddEvidence) is
  // counted in `failures` (null: not counted), which must outlive the
  // registry. Failed writes are logged either way (event
  // "registry_write_failed", without the ledger id).
  void CountWriteFailuresIn(Counter* failures) {
    write_failures_.store(failures, std::memory_order_release);
  }

 private:
  explicit LedgerRegistry(std::string dir) : dir_(std::move(dir)) {}
  std::string RecordPath(const std::string& ledger_id) const;
  // Counts and logs `status` when it is an error; returns it.
  absl::Status NoteWrite(absl::Status status, absl::string_view what) const;
  // heads.log for 0, else heads.<rotation>.log.
  std::string HeadLogPath(uint64_t rotation) const;
  absl::Status OpenHeadLogLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(head_log_mu_);
  absl::Status ReplayHeadLogs(Recovered& recovered);
  const std::string dir_;
  std::atomic<Counter*> write_failures_{nullptr};
  absl::Mutex evidence_mu_;
  int evidence_counter_ ABSL_GUARDED_BY(evidence_mu_) = 0;
  absl::Mutex head_log_mu_;
  // Set by Recover; from then on a closed log is reopened when needed.
  bool head_log_started_ ABSL_GUARDED_BY(head_log_mu_) = false;
  // Open once Recover has run (null after a failed reopen, tried again later).
  std::unique_ptr<AppendOnlyFile> head_log_ ABSL_GUARDED_BY(head_log_mu_);
  uint64_t head_log_lines_ ABSL_GUARDED_BY(head_log_mu_) = 0;
  uint64_t head_log_rotation_ ABSL_GUARDED_BY(head_log_mu_) = 0;
  uint64_t head_log_dropped_ ABSL_GUARDED_BY(head_log_mu_) = 0;
};

// JSON round trip of a record (exposed for tests).
std::string LedgerRecordToJson(const LedgerRecord& record);
// A record as one head-log line (without the "\n"): the compact form of the
// same JSON object, byte for byte what nlohmann::json's dump() writes for it
// when every string is valid UTF-8 (others are written as they are, and the
// line does not parse), written without building a JSON tree: it is written
// after every ordinary block.
std::string LedgerRecordToLine(const LedgerRecord& record);
absl::StatusOr<LedgerRecord> LedgerRecordFromJson(const std::string& text);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_LEDGER_REGISTRY_H_
