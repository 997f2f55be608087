// What ml-witness remembers (SPEC §12), on a KvStore (RocksDB with synced
// writes, or memory for tests) of its own: per ledger the latest checkpoint
// it cosigned — the note text, the ledger key's first signature line and the
// witness's own cosignature line, a few hundred bytes — and the SPEC §11
// evidence objects it obtained, in order, with a frozen marker holding the
// first evidence id. Nothing is ever deleted.
//
// Ledgers are keyed by their origin hash, the raw SHA-256 of the origin (the
// ledger id) — the same hash, in hex, names a ledger in the HTTP read paths —
// so no key of the store is a ledger id. Layout (one byte of table, then the
// 32-byte origin hash):
//   'c' hash               -> 0x01, tree size (u64 BE), root (32 bytes),
//                             note text, ledger key line, cosignature line
//   'e' hash seq (u64 BE)  -> evidence JCS bytes, seq from 0 in the order obtained
//   'f' hash               -> the first evidence id: the ledger is frozen
//
// Thread safety: reads are thread-safe and see every write that returned.
// Writes of one ledger must be serialised by the caller (the witness holds the
// ledger's lock across its read, check and write); writes of different
// ledgers may run concurrently.
#ifndef MICROLEDGER_WITNESS_WITNESS_STORE_H_
#define MICROLEDGER_WITNESS_WITNESS_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/merkle.h"
#include "ledger_store/kv_store.h"

namespace microledger {

// The raw 32-byte SHA-256 of `origin`'s UTF-8 bytes.
std::string OriginHash(absl::string_view origin);
// The lowercase hex form of an origin hash (64 characters), as in
// GET <prefix>/<origin hash>/checkpoint.
std::string OriginHashHex(absl::string_view origin_hash);
// The raw origin hash of exactly 64 lowercase hex digits; InvalidArgument
// otherwise.
absl::StatusOr<std::string> OriginHashFromHex(absl::string_view hex);

// The latest checkpoint the witness cosigned for a ledger.
struct CosignedCheckpoint {
  uint64_t tree_size = 0;
  MerkleHash root{};
  std::string note_text;         // Origin, size and root lines, each ending in "\n".
  std::string ledger_key_line;   // "— <ledger id> <base64>\n": the ledger key's first line.
  std::string cosignature_line;  // "— <witness name> <base64>\n": the witness's line.

  // The note as GET …/checkpoint serves it: the note text, a blank line, the
  // ledger key's line and the cosignature line.
  std::string SignedNote() const;
};

struct WitnessLedgerState {
  std::optional<CosignedCheckpoint> checkpoint;  // None before the first cosignature.
  std::string frozen_evidence_id;                // Empty unless the ledger is frozen.
};

class WitnessStore {
 public:
  explicit WitnessStore(std::unique_ptr<KvStore> store);
  WitnessStore(const WitnessStore&) = delete;
  WitnessStore& operator=(const WitnessStore&) = delete;

  // A ledger's state (empty for a ledger never seen). DataLoss for a stored
  // record that does not parse.
  absl::StatusOr<WitnessLedgerState> Read(absl::string_view origin_hash) const;

  // Replaces the ledger's latest cosigned checkpoint, durably.
  absl::Status PutCheckpoint(absl::string_view origin_hash, const CosignedCheckpoint& checkpoint);

  // Keeps `evidence` (JCS bytes of a valid evidence object, validated by the
  // caller) after the ledger's earlier ones; the first one also freezes the
  // ledger with its evidence id, in the same atomic write. An object whose id
  // is kept already is not kept again. True if it was stored.
  absl::StatusOr<bool> AddEvidence(absl::string_view origin_hash, absl::string_view evidence);

  // The ledger's evidence objects, first obtained first (possibly none).
  absl::StatusOr<std::vector<std::string>> Evidence(absl::string_view origin_hash) const;

 private:
  std::unique_ptr<KvStore> store_;
};

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_WITNESS_STORE_H_
