// The owner agent core (DESIGN §1, §4): builds and signs blocks with the keys
// of its keystore, sends them to hosts, and verifies every host reply before
// it reports success. The gRPC service (owner_grpc_service.h) is a thin layer
// over this class. This class is the facade; the work is done by internal
// components: event_builder (block contents), append_pipeline (draft, sign,
// send, wait), host_auditor (every host answer checked, equivocation),
// multisig (threshold signatures, proposals), host_copy_reader (verify and
// export), record_flusher (when the verified head reaches the disk).
//
// Per ledger the agent keeps two states: the verified head (host signature,
// checkpoint and Merkle frontier checked; persisted in the LedgerRegistry, see
// "Persistence" below) and
// the drafted head (verified plus the blocks signed and sent but not answered
// yet). AppendEvent drafts and signs on the drafted head under the ledger's
// mutex and queues the block on the host's AppendStream, so one ledger's blocks
// are signed in order and pipelined; replies are verified in order on the
// stream's reader thread. A failed append resets the drafted head to the
// verified one and marks the ledger for re-synchronisation with the host
// (GetLedger, consistency proof from the held checkpoint, missing blocks
// fetched and verified) before its next block. Different ledgers proceed in
// parallel.
//
// A host whose checkpoint does not extend the agent's held checkpoint (other
// root at the same size, no valid consistency proof, smaller tree, or a
// checkpoint that does not cover the block it just countersigned) has
// equivocated: the ledger is marked, both checkpoints are stored as evidence
// and the call fails with DATA_LOSS "host equivocation on ledger ...". When
// the ledger key signed two histories, the SPEC §11 evidence object is built
// and kept with them, handed to the host (host_auditor.h), and the ledger is
// frozen for ever: every later write is refused with FAILED_PRECONDITION
// naming the evidence id, across restarts. So is a ledger for which
// ReportEquivocation handed the agent valid evidence, or whose host says it
// is frozen and serves valid evidence. A rollback (a host that lost blocks
// but signed nothing conflicting) keeps its record without an object, and
// writes are refused with DATA_LOSS. Reads of an equivocated ledger go on,
// up to the checkpoint the agent verified, without syncing it again.
//
// Mirrors (OwnerAgentOptions::mirrors, ml-owner --mirror): when a ledger's
// host is unreachable (UNAVAILABLE, DEADLINE_EXCEEDED), GetLedger,
// VerifyLedger and ExportLedger read from the mirrors in order, checked
// exactly as host replies are (checkpoint signed by the ledger key and
// consistent with the verified one, blocks verified); a mirror behind the
// agent cannot serve, one that serves another history is equivocation
// evidence. Writes never go to a mirror, and re-sync with the host first.
//
// The DHT (OwnerAgentOptions::dht, ml-owner --dht_proxy; SPEC §13): when a
// ledger's recorded host is unreachable, the agent looks the ledger up in the
// DHT (ledger_locator.h). A write tries the servers its host locator records
// name; a read tries them and those of its mirror records, after the
// --mirror servers. Each is checked as a mirror is; a host record's server
// that serves the verified history becomes the ledger's host (HostAuditor::
// AdoptHost: its address is saved in the ledger's record and used from then
// on). The DHT can withhold or delay a ledger's servers, never forge them.
//
// Persistence: the record of a ledger (registry) holds its verified head,
// Merkle frontier and latest verified checkpoint. Genesis, terminal, move,
// sync and equivocation states are saved with fsync before the call returns.
// After an ordinary block the record is appended to the registry's head log
// (one write, no fsync) before the append is reported, so a killed agent
// loses nothing it reported; the background thread saves those records with
// fsync and drops the log every `state_flush_interval` (and at destruction),
// so a machine crash can lose at most that interval of them. An AppendEvents
// stream writes no record per block: its ledger is marked dirty and saved
// by one flush (fsync) before the stream's summary is sent.
// Only the ledgers in use and the `max_resident_ledgers` most recently used
// idle ones are held in memory (resident_ledgers.h); any other is read from
// its record on its next use and, like every ledger after a restart, synced
// with its host before its next block. The start reads no record into memory
// (LedgerRegistry::Recover), so memory does not grow with the ledgers held.
// A restarted agent checks each host against the saved checkpoint before the
// next write: a smaller or different tree is a rollback or fork (evidence,
// ledger refused), a larger one needs a valid consistency proof, and only
// the blocks appended meanwhile are fetched and verified.
//
// Witnesses (OwnerAgentOptions::witnesses, ml-owner --witness and
// --witness_quorum; SPEC §12): every checkpoint the agent verifies (a reply
// to an append, a sync) is also submitted to the agent's own witnesses,
// asynchronously (witness_submitter.h), so that a host cannot hide a fork
// from the witnesses the owner chose. An AppendEvent with wait_witnessed
// waits, after the block is committed and verified, until a checkpoint that
// covers it carries cosignatures of a quorum of them, at most its timeout;
// the outcome says witnessed (with that checkpoint) or not witnessed, and
// the append itself has succeeded either way. A witness that holds a
// checkpoint of the same size with another root (it answers 422 and serves
// that checkpoint), or that says the ledger is frozen and serves valid
// evidence, freezes the ledger here as any other evidence does (kind
// "witness" or "reported"), and the evidence is handed to the ledger's host.
//
// Requests: an AppendEvent with a request id is remembered (RequestJournal)
// as "drafted as block N with fingerprint F" before the block is sent; a
// retry with the same id first asks the host (block N and its inclusion
// proof in the verified tree) whether an earlier attempt was committed, and
// returns that block instead of appending again.
//
// Every host answer is untrusted input: a malformed or hostile answer fails
// the call (DATA_LOSS or UNAVAILABLE) and changes nothing the agent has
// verified. Calls that fail validation save nothing.
//
// Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_OWNER_AGENT_H_
#define MICROLEDGER_OWNER_AGENT_OWNER_AGENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/host_client.h"
#include "owner_agent/keystore.h"
#include "owner_agent/ledger_locator.h"
#include "owner_agent/ledger_registry.h"
#include "owner_agent/ledger_state.h"
#include "owner_agent/request_journal.h"
#include "owner_agent/resident_ledgers.h"
#include "serving/dht_client.h"
#include "serving/witness_flag.h"

namespace microledger {

class AgentMetrics;
class AppendPipeline;
class HostAuditor;
class HostPool;
class RecordFlusher;
class WitnessSubmitter;
struct AgentWitness;

struct OwnerAgentOptions {
  // Host of new ledgers when a request names none.
  std::string default_host;
  HostClientOptions host_client;
  // How long an append waits for the host's reply.
  std::chrono::milliseconds append_timeout{30000};
  // How often records written since the last flush (verified heads after
  // ordinary blocks) and the request journal are fsynced; zero = fsync
  // before every append is reported.
  std::chrono::milliseconds state_flush_interval{1000};
  // How many AppendEvent request ids (attempts) are remembered for retries.
  size_t max_remembered_requests = 100000;
  // How many idle ledgers' states are kept in memory (ResidentLedgers); the
  // others are read from the registry when used, and synced with their host
  // before their next block, as after a restart. With witnesses, also how
  // many idle ledgers' witnessing states the submitter keeps
  // (WitnessSubmitterOptions::max_ledgers).
  size_t max_resident_ledgers = 10000;
  // Where warnings go (damaged records, failed saves, evidence a server
  // could not take); default: stderr.
  std::function<void(absl::string_view)> warn;
  // Servers of the HostService read API (HOST:PORT) that reads fall back
  // to, in this order, when a ledger's host is unreachable.
  std::vector<std::string> mirrors;
  // The DHT where ledgers' locator records are looked up when their host is
  // unreachable; null: none.
  std::shared_ptr<DhtClient> dht;
  // Counts appends, rejected host replies, equivocations and registry write
  // failures, or null. Must outlive the agent.
  AgentMetrics* metrics = nullptr;
  // The agent's witness policy (SPEC §12; "Witnesses" above): its witnesses
  // (none: no policy) and how many of them make a checkpoint witnessed
  // (0 = a majority).
  std::vector<WitnessEndpoint> witnesses;
  size_t witness_quorum = 0;
  // The deadline of each request to a witness.
  std::chrono::milliseconds witness_request_timeout{5000};
  // How long an append with wait_witnessed waits for the quorum when the
  // request names no timeout, and the most it may name.
  std::chrono::milliseconds witness_timeout{10000};
  std::chrono::milliseconds max_witness_timeout{300000};
};

class OwnerAgent {
 public:
  // The agent's state lives in <keystore dir>/agent.
  static absl::StatusOr<std::unique_ptr<OwnerAgent>> Create(
      std::unique_ptr<Keystore> keystore, OwnerAgentOptions options);
  ~OwnerAgent();

  absl::StatusOr<v1::CreateKeyResponse> CreateKey(const v1::CreateKeyRequest& request);
  v1::ListKeysResponse ListKeys() const;
  absl::StatusOr<v1::OwnerCreateLedgerResponse> CreateLedger(
      const v1::OwnerCreateLedgerRequest& request);
  absl::StatusOr<v1::BlockOutcome> AppendEvent(const v1::AppendEventRequest& request);
  // AppendEvent without a waiting thread: `done` is called exactly once, from
  // this call (errors found before the block is sent) or from the host
  // stream's reader thread (or the timeout watchdog) once the reply is
  // verified. `done` must not block.
  // With HeadSave::kAtFlush the verified head is saved at the next
  // FlushState only: the caller must call it before it reports the outcome
  // (AppendEvents, one flush for a whole stream).
  using OutcomeCallback = std::function<void(absl::StatusOr<v1::BlockOutcome>)>;
  // `before_draft`: see AppendPipeline::MakeBlockAsync.
  void AppendEventAsync(const v1::AppendEventRequest& request, OutcomeCallback done,
                        HeadSave head_save = HeadSave::kBeforeReport,
                        const std::function<absl::Status()>& before_draft = nullptr);
  // Saves with fsync every verified head written since the last flush, and
  // the request journal (what the background thread does every
  // state_flush_interval); failures are warned about.
  void FlushState();
  // Counts an AppendEvent call refused at the API edge (token, a limit) like
  // the ones AppendEventAsync answers.
  void CountRefusedAppend(const absl::Status& refusal) const;
  // At shutdown, before calls in flight get their grace period: appends that
  // wait for witnesses are answered "not witnessed" now, and witnessing stops.
  void StopWitnessing();
  absl::StatusOr<v1::BlockOutcome> CloseLedger(const v1::CloseLedgerRequest& request);
  absl::StatusOr<v1::MoveLedgerResponse> MoveLedger(const v1::MoveLedgerRequest& request);
  absl::StatusOr<v1::BlockOutcome> TransferOwnership(
      const v1::TransferOwnershipRequest& request);
  absl::StatusOr<v1::BlockOutcome> CosignBlock(const v1::CosignBlockRequest& request);
  absl::StatusOr<v1::OwnerGetLedgerResponse> GetLedger(
      const v1::OwnerGetLedgerRequest& request);
  v1::ListLedgersResponse ListLedgers();
  absl::StatusOr<v1::VerifyLedgerResponse> VerifyLedger(
      const v1::VerifyLedgerRequest& request);
  // Streams the bundle to `sink` in chunks; stops (Cancelled) when sink
  // returns false.
  absl::Status ExportLedger(const v1::ExportLedgerRequest& request,
                            const std::function<bool(const std::string&)>& sink);
  absl::StatusOr<v1::GetEvidenceResponse> GetEvidence(
      const v1::GetEvidenceRequest& request);
  // Validates SPEC §11 evidence, keeps it (kind "reported") and freezes its
  // ledger; InvalidArgument (not valid evidence), NotFound (a ledger not in
  // the registry). Reporting it again changes nothing.
  absl::StatusOr<v1::ReportEquivocationResponse> ReportEquivocation(
      const v1::ReportEquivocationRequest& request);

  // Records found damaged at start (moved aside, not served).
  const std::vector<LedgerRegistry::QuarantinedRecord>& quarantined() const {
    return quarantined_;
  }

 private:
  // AppendEvent (and its wait for witnesses) without counting it in the
  // metrics.
  absl::StatusOr<v1::BlockOutcome> AppendEventUncounted(const v1::AppendEventRequest& request);
  OwnerAgent(std::unique_ptr<Keystore> keystore, std::unique_ptr<LedgerRegistry> registry,
             std::unique_ptr<RequestJournal> journal, OwnerAgentOptions options,
             std::vector<AgentWitness> witnesses);

  // The witness submitter of `witnesses` (null when there are none), its
  // proofs from the ledgers' hosts and its evidence kept by this agent.
  std::unique_ptr<WitnessSubmitter> MakeWitnessSubmitter(std::vector<AgentWitness> witnesses);
  // Evidence a witness gave (witness_submitter.h): kept, the ledger frozen,
  // handed to its host.
  void KeepWitnessEvidence(EvidenceRecord evidence) ABSL_LOCKS_EXCLUDED(registration_mu_);
  // FAILED_PRECONDITION for an AppendEventRequest with wait_witnessed when
  // the agent has no witnesses.
  absl::Status CheckWitnessWait(const v1::AppendEventRequest& request) const;
  // `done` wrapped for AppendEventRequest.wait_witnessed: a committed block
  // waits for the witnesses' quorum; anything else is answered at once. The
  // block's checkpoint is offered again when the submitter has none as new
  // (witnessed, idle and dropped between the offer and the wait), with
  // `ledger`'s host for its proofs.
  OutcomeCallback WaitWitnessedIfAsked(const v1::AppendEventRequest& request,
                                       LedgerState& ledger, OutcomeCallback done)
      ABSL_LOCKS_EXCLUDED(ledger.mu);

  // After the host failed with `host_error` (unreachable): the ledger synced
  // from the first mirror, then server named in the DHT (a host record's
  // adopted as the ledger's host), that can serve it, else `host_error` with
  // each one's reason. Stops at a server that proves equivocation.
  absl::Status SyncFromMirrors(LedgerState& ledger, const absl::Status& host_error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // The servers the ledger's DHT records name, but its recorded host and the
  // --mirror servers (none without a DHT); a DHT error is appended to *tried.
  std::vector<LocatedServer> DhtServers(const std::string& ledger_id,
                                        const std::string& host_address, std::string* tried);
  // Syncs the ledger from a server DhtServers named: HostAuditor::AdoptHost
  // for a host record's, SyncFromMirror for a mirror record's. Needs no
  // append in flight.
  absl::Status SyncFromDhtServer(LedgerState& ledger, const LocatedServer& server)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu);
  // Reads the ledger's copy up to the agent's verified checkpoint from a
  // server (the host, synced first; or a mirror while the host is
  // unreachable); `read` sets *started once anything reached the caller,
  // after which no other server is tried.
  using CopyRead = std::function<absl::Status(HostClient& server,
                                              const std::string& checkpoint, bool* started)>;
  absl::Status ReadLedgerCopy(const std::string& ledger_id, const CopyRead& read);
  // The ledger's state: resident, or loaded from its saved record.
  absl::StatusOr<std::shared_ptr<LedgerState>> FindLedger(const std::string& ledger_id)
      ABSL_LOCKS_EXCLUDED(registration_mu_);
  // A ledger's in-memory state from its record (not yet findable).
  std::shared_ptr<LedgerState> NewLedger(LedgerRecord record);
  // Makes a ledger that has no saved record findable; false when a ledger
  // of that id is resident or saved already.
  bool RegisterLedger(const std::string& ledger_id, const std::shared_ptr<LedgerState>& ledger)
      ABSL_LOCKS_EXCLUDED(registration_mu_);
  // Undoes RegisterLedger (or RegisterNewLedger) of a ledger whose creation
  // failed: no longer resident, its record (if any was written) removed.
  void ForgetNewLedger(const std::string& ledger_id) ABSL_LOCKS_EXCLUDED(registration_mu_);
  // Saves a new ledger's first record durably and makes it findable.
  absl::StatusOr<std::shared_ptr<LedgerState>> RegisterNewLedger(LedgerRecord record,
                                                                 bool needs_sync);
  // Background thread: flushes dirty records, fails async appends past the
  // append timeout.
  void BackgroundLoop() ABSL_LOCKS_EXCLUDED(background_mu_);
  absl::StatusOr<v1::CommittedBlock> FinishMove(const std::shared_ptr<LedgerState>& old_ledger);

  std::unique_ptr<Keystore> keystore_;
  std::unique_ptr<LedgerRegistry> registry_;
  std::unique_ptr<RequestJournal> journal_;
  const OwnerAgentOptions options_;
  std::vector<LedgerRegistry::QuarantinedRecord> quarantined_;
  std::unique_ptr<HostPool> hosts_;
  // Null without options_.witnesses.
  std::unique_ptr<WitnessSubmitter> witnesses_;
  // Null without options_.dht.
  std::unique_ptr<LedgerLocator> locator_;
  std::unique_ptr<RecordFlusher> flusher_;
  std::unique_ptr<HostAuditor> auditor_;
  std::unique_ptr<AppendPipeline> pipeline_;

  // Held while a ledger is made resident (registered or loaded), so that no
  // two states of one ledger are ever resident.
  absl::Mutex registration_mu_;
  ResidentLedgers resident_;

  absl::Mutex background_mu_;
  bool stopping_ ABSL_GUARDED_BY(background_mu_) = false;
  std::thread background_;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_OWNER_AGENT_H_
