// The host's key layout on the KvStore. Every key starts with a one-byte table
// prefix and the ledger's 32-byte raw host public key, so one ledger's data is
// a contiguous range per table (ForgetLedger deletes five ranges and writes the
// tombstone in the same batch). Integers are
// fixed-width big-endian, so keys sort numerically.
//
//   'h' key                        -> head record (EncodeHeadRecord)
//   'b' key number:u64             -> complete block bytes (canonical JSON)
//   'n' key level:u8 index:u64     -> 32-byte Merkle node (RFC 9162 perfect subtree)
//   'c' key tree_size:u64          -> signed checkpoint note
//   'a' key seal multihash (34 B)  -> attachment record (EncodeAttachment)
//   't' key                        -> tombstone of a forgotten ledger
//                                     (EncodeTombstone); outside
//                                     LedgerKeyRanges, so it is never deleted
//
// Thread-safe: pure functions.
#ifndef MICROLEDGER_LEDGER_STORE_STORAGE_LAYOUT_H_
#define MICROLEDGER_LEDGER_STORE_STORAGE_LAYOUT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/chain_validator.h"
#include "common/merkle.h"

namespace microledger {

inline constexpr char kHeadTable = 'h';
inline constexpr char kBlockTable = 'b';
inline constexpr char kNodeTable = 'n';
inline constexpr char kCheckpointTable = 'c';
inline constexpr char kAttachmentTable = 'a';
inline constexpr char kTombstoneTable = 't';

// `ledger_key` is the ledger's 32-byte raw host public key.
std::string HeadKey(absl::string_view ledger_key);
std::string BlockKey(absl::string_view ledger_key, uint64_t number);
std::string NodeKey(absl::string_view ledger_key, int level, uint64_t index);
std::string CheckpointKey(absl::string_view ledger_key, uint64_t tree_size);
std::string AttachmentKey(absl::string_view ledger_key, absl::string_view seal_multihash);
std::string TombstoneKey(absl::string_view ledger_key);
// The half-open ranges that hold all of one ledger's keys but its tombstone.
std::vector<std::pair<std::string, std::string>> LedgerKeyRanges(
    absl::string_view ledger_key);

// What the host keeps per ledger besides blocks: the chain summary, the Merkle
// frontier and the nonce its key derives from.
struct HeadRecord {
  ChainState state;
  MerkleFrontier frontier;
  std::string nonce;
};
// A fixed binary layout (common/fixed_coding.h): 0x01 (format version),
// number:u64, time:i64, threshold:u32, then length-prefixed (u32) ledger,
// fingerprint, terminal, frontier (MerkleFrontier::Serialize, versioned
// itself; records written before it carried a version hold version 0, which
// still decodes), nonce, and a u32 count of length-prefixed keys.
// DecodeHeadRecord refuses other versions, truncation and trailing bytes
// (DataLoss "storage: corrupt head record").
std::string EncodeHeadRecord(const HeadRecord& record);
std::string EncodeHeadRecord(const ChainState& state, const MerkleFrontier& frontier,
                             absl::string_view nonce);
absl::StatusOr<HeadRecord> DecodeHeadRecord(absl::string_view bytes);

struct StoredAttachment {
  std::string name;
  std::string data;
};
std::string EncodeAttachment(absl::string_view name, absl::string_view data);
absl::StatusOr<StoredAttachment> DecodeAttachment(absl::string_view bytes);

// What stays of a forgotten ledger: enough to retire its id for ever (a
// genesis block for it is refused, reads say it was forgotten) and the SPEC
// §11 evidence objects kept for it, which forgetting never deletes. No block,
// event or key material.
struct Tombstone {
  int64_t forgotten_at_millis = 0;  // The host's clock at the forget.
  uint64_t head_number = 0;         // The head forgotten, and its fingerprint.
  std::string head_fingerprint;
  // JCS bytes of SPEC §11 evidence objects of the ledger (none are produced
  // yet; the evidence issue fills this).
  std::vector<std::string> evidence;
};
// A versioned binary layout (common/fixed_coding.h): 0x01, forgotten_at:i64, head_number:u64,
// length-prefixed (u32) head_fingerprint, a u32 count of length-prefixed
// evidence objects. Extensible: a later version byte may append sections;
// DecodeTombstone refuses versions it does not know rather than guessing.
std::string EncodeTombstone(const Tombstone& tombstone);
absl::StatusOr<Tombstone> DecodeTombstone(absl::string_view bytes);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_STORAGE_LAYOUT_H_
