// The key layout of a ledger store on the KvStore (the host's, and the
// mirror's). Every key starts with a one-byte table prefix and the ledger's
// 32-byte raw host public key, so one ledger's data is a contiguous range per
// table (ForgetLedger deletes six ranges and writes the tombstone in the same
// batch). Integers are fixed-width big-endian, so keys sort numerically.
//
//   'h' key                        -> head record (EncodeHeadRecord)
//   'b' key number:u64             -> complete block bytes (canonical JSON)
//   'n' key level:u8 index:u64     -> 32-byte Merkle node (RFC 9162 perfect subtree)
//   'c' key tree_size:u64          -> signed checkpoint note
//   'a' key seal multihash (34 B)  -> attachment record (EncodeAttachment)
//   't' key                        -> tombstone of a forgotten ledger
//                                     (EncodeTombstone)
//   'e' key 0x00 seq:u64           -> SPEC §11 evidence object (its JCS bytes),
//                                     seq = 0, 1, ... in the order received
//   'e' key 0x01 id multihash (34 B) -> empty: the evidence id is kept (the
//                                     deduplication index)
//   'e' key 0x02                   -> evidence objects kept: count:u64
//   'w' key 0x00 id:4 name         -> the newest cosignature line of the witness
//                                     with key id `id` and key name `name` on a
//                                     checkpoint of the ledger
//                                     (EncodeCosignatureRecord)
//   'w' key 0x01                   -> the newest witnessed checkpoint: its tree
//                                     size and the cosignature lines of a quorum
//                                     (EncodeWitnessedRecord)
//
// The tombstone and evidence tables are outside LedgerKeyRanges, so
// forgetting a ledger never deletes them (SPEC §11: evidence is never
// deleted). evidence_store.h reads and writes the evidence table.
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
inline constexpr char kEvidenceTable = 'e';
inline constexpr char kWitnessTable = 'w';

// `ledger_key` is the ledger's 32-byte raw host public key.
std::string HeadKey(absl::string_view ledger_key);
std::string BlockKey(absl::string_view ledger_key, uint64_t number);
std::string NodeKey(absl::string_view ledger_key, int level, uint64_t index);
std::string CheckpointKey(absl::string_view ledger_key, uint64_t tree_size);
std::string AttachmentKey(absl::string_view ledger_key, absl::string_view seal_multihash);
std::string TombstoneKey(absl::string_view ledger_key);
// Evidence object `seq` of a ledger, and the half-open range of all of them.
std::string EvidenceKey(absl::string_view ledger_key, uint64_t seq);
std::pair<std::string, std::string> EvidenceKeyRange(absl::string_view ledger_key);
// The deduplication index entry of an evidence id (raw multihash).
std::string EvidenceIdKey(absl::string_view ledger_key, absl::string_view id_multihash);
// The count of a ledger's evidence objects.
std::string EvidenceCountKey(absl::string_view ledger_key);
// The newest cosignature of the witness whose key id (4 bytes) and key name
// are given, and the half-open range of every witness's.
std::string CosignatureKey(absl::string_view ledger_key, absl::string_view witness_key_id,
                           absl::string_view witness_name);
std::pair<std::string, std::string> CosignatureKeyRange(absl::string_view ledger_key);
// The ledger's newest witnessed checkpoint.
std::string WitnessedKey(absl::string_view ledger_key);
// The half-open ranges that hold all of one ledger's keys but its tombstone
// and its evidence.
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
// genesis block for it is refused, reads say it was forgotten). No block,
// event or key material. The ledger's SPEC §11 evidence is not in the
// tombstone: it lives in the evidence table, which forgetting never touches.
struct Tombstone {
  int64_t forgotten_at_millis = 0;  // The host's clock at the forget.
  uint64_t head_number = 0;         // The head forgotten, and its fingerprint.
  std::string head_fingerprint;
};
// A versioned binary layout (common/fixed_coding.h): 0x01, forgotten_at:i64,
// head_number:u64, length-prefixed (u32) head_fingerprint, and a u32 count of
// evidence objects, always 0 (a slot of the first layout, which meant to keep
// evidence in the tombstone; no version ever wrote any there, so
// DecodeTombstone refuses a count other than 0 as corrupt rather than drop
// evidence). Extensible: a later version byte may append sections;
// DecodeTombstone refuses versions it does not know rather than guessing.
std::string EncodeTombstone(const Tombstone& tombstone);
absl::StatusOr<Tombstone> DecodeTombstone(absl::string_view bytes);

// A witness's cosignature line (SPEC §12, "— <name> <base64>\n", verified
// before it is stored) on the ledger's checkpoint of `tree_size`.
struct CosignatureRecord {
  uint64_t tree_size = 0;
  std::string line;
};
// 0x01 (format version), tree_size:u64, length-prefixed (u32) line.
// DecodeCosignatureRecord refuses other versions, truncation and trailing
// bytes (DataLoss).
std::string EncodeCosignatureRecord(const CosignatureRecord& record);
absl::StatusOr<CosignatureRecord> DecodeCosignatureRecord(absl::string_view bytes);

// A checkpoint that a quorum of the host's witnesses cosigned: its tree size
// and their lines, in the order of the host's witness list.
struct WitnessedRecord {
  uint64_t tree_size = 0;
  std::vector<std::string> lines;
};
// 0x01 (format version), tree_size:u64, a u32 count of length-prefixed
// lines. DecodeWitnessedRecord refuses other versions, truncation and
// trailing bytes (DataLoss).
std::string EncodeWitnessedRecord(const WitnessedRecord& record);
absl::StatusOr<WitnessedRecord> DecodeWitnessedRecord(absl::string_view bytes);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_STORAGE_LAYOUT_H_
