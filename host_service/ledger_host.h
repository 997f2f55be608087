// The host's logic, without gRPC: create ledgers, the append pipeline
// (validate -> countersign -> one atomic KvStore batch -> publish), reads,
// Merkle proofs, subscriptions and forgetting.
//
// Concurrency: appends to one ledger are strictly ordered by that ledger's
// mutex, held across validate, sign, write and publish; appends to different
// ledgers run in parallel (the ledger map is sharded, and its shard locks are
// held only to find an entry), so their KvStore writes share WAL syncs (group
// commit). Per ledger the host caches the chain state, Merkle frontier and
// signing key, loaded from the head record on first use. Reads go to the store,
// which only ever holds committed, complete appends. All methods are
// thread-safe. Errors: see proto/microledger/v1/host.proto.
#ifndef MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_
#define MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/merkle.h"
#include "host_service/host_keys.h"
#include "host_service/kv_store.h"
#include "host_service/storage_layout.h"

namespace microledger {

struct HostOptions {
  size_t max_block_bytes = kDefaultMaxBlockBytes;
  size_t max_attachment_bytes = 1 << 20;
  size_t max_attachments = 16;
  int64_t max_clock_skew_millis = kDefaultMaxClockSkewMillis;
  // Ledgers whose state (chain state, frontier, guarded signing key) stays
  // cached; idle ones beyond this are evicted, least recently used first.
  size_t max_cached_ledgers = 10000;
  // The host's clock in Unix milliseconds; NowMillis when unset.
  std::function<int64_t()> clock;
};

struct NewLedger {
  std::string ledger_id;
  std::string ledger_token;
};

struct AttachmentInput {
  std::string name;
  std::string data;
};

struct AppendInput {
  std::string block;  // Owner-signed canonical JSON.
  std::vector<AttachmentInput> attachments;
  std::string ledger_token;  // Genesis only.
};

struct AppendResult {
  std::string ledger_id;
  uint64_t number = 0;
  std::string fingerprint;
  BlockSignature host_signature;
  std::string checkpoint;
  std::string complete_block;
};

struct LedgerInfo {
  std::string ledger_id;
  std::string genesis_block;
  ChainState state;
  std::string checkpoint;
};

struct InclusionProofResult {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<MerkleHash> hashes;
  MerkleHash root{};
  std::string checkpoint;
};

struct ConsistencyProofResult {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<MerkleHash> hashes;
  std::string old_checkpoint;
  std::string new_checkpoint;
};

class LedgerHost {
 public:
  LedgerHost(std::unique_ptr<KvStore> store, MasterSecret master, HostOptions options);
  ~LedgerHost();

  // A fresh ledger id and its token; stores nothing.
  absl::StatusOr<NewLedger> CreateLedger();

  absl::StatusOr<AppendResult> Append(const AppendInput& input);

  absl::StatusOr<LedgerInfo> GetLedger(absl::string_view ledger_id) const;
  // tree_size 0 = the latest.
  absl::StatusOr<std::string> GetCheckpoint(absl::string_view ledger_id,
                                            uint64_t tree_size) const;
  // Calls `sink` for blocks from..to (to 0 = head) until it returns false.
  absl::Status GetBlocks(absl::string_view ledger_id, uint64_t from, uint64_t to,
                         const std::function<bool(uint64_t, const std::string&)>& sink) const;
  absl::StatusOr<InclusionProofResult> GetInclusionProof(absl::string_view ledger_id,
                                                         uint64_t number,
                                                         uint64_t tree_size) const;
  absl::StatusOr<ConsistencyProofResult> GetConsistencyProof(absl::string_view ledger_id,
                                                             uint64_t old_size,
                                                             uint64_t new_size) const;
  absl::StatusOr<StoredAttachment> GetAttachment(absl::string_view ledger_id,
                                                 absl::string_view seal) const;

  // Delivers every block from `from` on (stored first, then new commits) to
  // `sink` (number, complete block, checkpoint of that size) until `sink`
  // returns false or `cancelled` returns true (polled at least every
  // `poll_millis`); then returns OK. NotFound if the ledger is unknown or is
  // forgotten meanwhile.
  absl::Status Subscribe(
      absl::string_view ledger_id, uint64_t from,
      const std::function<bool(uint64_t, const std::string&, const std::string&)>& sink,
      const std::function<bool()>& cancelled, int poll_millis = 200);

  // SPEC §10 signed forget request; deletes all of the ledger's data.
  absl::Status Forget(absl::string_view ledger_id, absl::string_view head_fingerprint,
                      const std::vector<BlockSignature>& signatures);

 private:
  struct Entry;
  struct CachedEntry {
    std::shared_ptr<Entry> entry;
    uint64_t last_used = 0;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, CachedEntry> entries ABSL_GUARDED_BY(mu);
    uint64_t clock ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr int kShards = 64;

  // The ledger's cache entry, created (unloaded) if absent. An entry is only
  // evicted while nobody holds it, so one ledger never has two entries.
  std::shared_ptr<Entry> GetEntry(const std::string& ledger_id);
  void EvictIdleLocked(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  absl::Status LoadLocked(Entry& entry, absl::string_view ledger_key);
  absl::StatusOr<HeadRecord> ReadHead(absl::string_view ledger_id,
                                      std::string* ledger_key) const;
  int64_t Now() const;

  std::unique_ptr<KvStore> store_;
  MasterSecret master_;
  HostOptions options_;
  std::array<Shard, kShards> shards_;
};

// The raw 32-byte host public key inside a ledger id (InvalidArgument if none).
absl::StatusOr<std::string> LedgerKeyFromId(absl::string_view ledger_id);

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_
