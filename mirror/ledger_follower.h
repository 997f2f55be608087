// One followed ledger: a thread that keeps the mirror's copy of a ledger up
// to date from its upstream (a host or another mirror) and never stores what
// it did not verify (mirror/verification.h).
//
//   full    from genesis: Subscribe from the block after the verified head;
//           every block by every SPEC §8 rule, its checkpoint's signature and
//           root, its seal attachments by digest; one write per block.
//   tail    first the upstream's head: its checkpoint, the genesis block and
//           the head block with inclusion proofs, and the Merkle frontier
//           derived from the head's audit path (checked against the root);
//           then as full. Until a block of the tail carries controllers, the
//           owner signatures of new blocks are checked against the
//           controllers the upstream says are in force (every block still
//           needs the ledger key's signature, which a host gives only after
//           checking every rule).
// An upstream of "dht" is found through the DHT on every (re)connection: the
// gRPC URLs of the ledger's verified locator records, host records first,
// tried in order (mirror/upstream_resolver.h).
//
//   sparse  the head as tail does, then every --poll interval the upstream's
//           newer checkpoint, proven consistent with the held one, and its
//           head block by inclusion; blocks readers ask for are fetched by
//           Mirror::EnsureBlocks, not here.
//
// On reconnect, and whenever a block does not follow the held head, the
// follower asks the upstream for its checkpoint of the held tree size: a
// different root under the ledger key is equivocation, and the follower
// builds SPEC §11 `checkpoints` evidence from the two notes, hands it to the
// evidence sink and stops. Before that, on every connection, the follower asks
// whether the upstream keeps evidence of the ledger (GetLedger.frozen, then
// GetLedgerEvidence): valid evidence goes to the sink and the follower stops
// too. Any other failure (unreachable upstream, a block or checkpoint that
// does not verify, an upstream behind the held head) is
// recorded as the last error and retried with exponential backoff from the
// next block; the verified state is kept.
//
// Thread safety: Status() and Stop() may be called from any thread; the
// destructor stops and joins the thread.
#ifndef MICROLEDGER_MIRROR_LEDGER_FOLLOWER_H_
#define MICROLEDGER_MIRROR_LEDGER_FOLLOWER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "mirror/mirror_metrics.h"
#include "mirror/mirror_record.h"
#include "mirror/mirror_store.h"
#include "serving/dht_client.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {

struct FollowerOptions {
  // For a HOST:PORT upstream (plaintext, or TLS with --upstream_tls_ca).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Upstream "dht" (follow by ledger id, SPEC §13): the DHT to resolve it in
  // (null: not available), TLS credentials for grpcs:// URLs, and this
  // server's own URLs, never followed.
  std::shared_ptr<DhtClient> dht;
  std::shared_ptr<grpc::ChannelCredentials> tls_credentials;
  std::vector<std::string> own_urls;
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  absl::Duration call_timeout = absl::Seconds(10);
  // Sparse mode: how often the upstream's latest checkpoint is asked for.
  absl::Duration poll = absl::Seconds(1);
  // Counts stored blocks and follow errors, or null; must outlive the
  // followers.
  MirrorMetrics* metrics = nullptr;
};

struct FollowerStatus {
  // "connecting", "following", "closed" (terminal block held), "frozen"
  // (evidence built), "stopped".
  std::string state;
  uint64_t verified_size = 0;
  uint64_t upstream_size = 0;
  std::string last_error;
  int64_t last_error_millis = 0;
};

class LedgerFollower {
 public:
  // Receives evidence objects (JCS bytes) the follower built.
  using EvidenceSink = std::function<void(const std::string& evidence)>;

  // Starts following `record.ledger_id` from `record.upstream`. `store` and
  // `record_mu` (guards the ledger's mirror record, shared with sparse
  // fetches) must outlive the follower.
  LedgerFollower(MirrorStore* store, absl::Mutex* record_mu, MirrorRecord record,
                 FollowerOptions options, EvidenceSink sink);
  ~LedgerFollower();

  LedgerFollower(const LedgerFollower&) = delete;
  LedgerFollower& operator=(const LedgerFollower&) = delete;

  // The stub of each address to try now: the record's upstream, or what
  // the DHT resolves for "dht".
  absl::StatusOr<std::vector<std::unique_ptr<v1::HostService::Stub>>> UpstreamStubs() const;

  // Cancels the upstream call in flight and ends the thread (idempotent).
  void Stop();
  FollowerStatus Status() const;
  const std::string& upstream() const { return record_.upstream; }
  MirrorMode mode() const { return record_.mode; }

 private:
  // Why FollowOnce returned without error.
  enum class Outcome { kStopped, kClosed, kFrozen };

  void Run();
  // One connection's worth of following; an error means retry after backoff.
  absl::StatusOr<Outcome> FollowOnce(v1::HostService::Stub& stub);
  absl::StatusOr<Outcome> StreamBlocks(v1::HostService::Stub& stub, HeadRecord held);
  absl::StatusOr<Outcome> PollCheckpoints(v1::HostService::Stub& stub, HeadRecord held);
  // Whether the upstream says the ledger is frozen and serves valid evidence
  // of it (handed to the sink: the follower stops); FailedPrecondition when
  // it says frozen without valid evidence.
  absl::StatusOr<bool> AdoptUpstreamFreeze(v1::HostService::Stub& stub);
  // Starts a tail or sparse ledger at the upstream's head.
  absl::Status StartAtHead(v1::HostService::Stub& stub);
  // The upstream's checkpoint of the held tree size must have the held root;
  // FailedPrecondition after handing evidence to the sink if it does not.
  absl::Status CheckUpstreamAgrees(v1::HostService::Stub& stub, uint64_t held_size);
  // The verified seal attachments of `block` the upstream has.
  absl::StatusOr<std::vector<VerifiedAttachment>> FetchAttachments(
      v1::HostService::Stub& stub, const Block& block);
  std::unique_ptr<grpc::ClientContext> NewContext();
  // Registers `context` as a call to cancel on Stop, or (null) unregisters
  // the one registered last: calls nest (a unary call made while the
  // Subscribe stream is open), and Stop cancels them all. False if stopping
  // (then nothing is registered).
  bool SetActiveCall(grpc::ClientContext* context);
  void RecordError(const absl::Status& status);
  // The upstream answered and what it sent verified: no error since.
  void ClearError();
  void SetState(const std::string& state);
  // Waits `duration` unless stopped first; true if stopped.
  bool SleepUnlessStopped(absl::Duration duration);

  MirrorStore* const store_;
  absl::Mutex* const record_mu_;
  const MirrorRecord record_;
  const FollowerOptions options_;
  const EvidenceSink sink_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::ClientContext*> active_calls_ ABSL_GUARDED_BY(mu_);
  FollowerStatus status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// A ledger's held blocks: full 1..head; tail 1 and tail_start..head; sparse
// the record's fetched spans (which include block 1 and every head held).
std::vector<BlockSpan> HeldSpans(const MirrorRecord& record, uint64_t head);

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_LEDGER_FOLLOWER_H_
