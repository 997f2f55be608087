// The micro ledger block (SPEC §2, §5): its fields, body, fingerprint and signed
// message; parsing from canonical JSON bytes and serialising back.
//
// ParseBlock checks everything that can be checked from one block alone: strict
// canonical JSON, the member set and types, the encodings, the fingerprint and
// the shape of each signature object. Rules that need the chain (previous, time
// order, authority, events in context, signature verification) belong to
// chain_validator.h. Every error message starts with the name of the rule it
// broke ("fingerprint: …"). Thread-safe: all functions are pure.
#ifndef MICROLEDGER_COMMON_BLOCK_H_
#define MICROLEDGER_COMMON_BLOCK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/json.h"

namespace microledger {

inline constexpr absl::string_view kBlockSignedMessagePrefix = "microledger-block-v1 ";
inline constexpr absl::string_view kOwnerRole = "owner";
inline constexpr absl::string_view kHostRole = "host";
inline constexpr size_t kMaxControllerKeys = 16;
inline constexpr size_t kMaxSeals = 64;
// Block numbers are JSON numbers, exact as doubles up to 2^53.
inline constexpr uint64_t kMaxBlockNumber = uint64_t{1} << 53;

struct Controllers {
  int threshold = 0;
  std::vector<std::string> keys;  // Owner public key texts, as given.

  bool operator==(const Controllers& other) const {
    return threshold == other.threshold && keys == other.keys;
  }
};

struct BlockSignature {
  std::string role;
  std::string alg;
  std::string key;  // Public key text.
  std::string sig;  // Signature text.
};

struct Block {
  std::string ledger;
  uint64_t number = 0;
  std::optional<std::string> previous;
  std::string time;
  int64_t time_millis = 0;  // `time` parsed.
  std::optional<Controllers> controllers;
  std::optional<std::vector<std::string>> seals;
  Json event;  // An object with a string member "event".
  std::string fingerprint;
  std::vector<BlockSignature> signatures;

  // The value of event["event"].
  const std::string& event_name() const;
};

// Which signatures a parsed block must carry.
enum class SignatureStage {
  kOwnerSigned,  // Owner signatures only: what an owner sends to the host.
  kComplete,     // Owner signatures, then the host signature.
};

// Parses canonical block bytes. InvalidArgument for malformed input (the message
// names the rule); the fingerprint is recomputed and must match. Tries
// ReadCanonicalBlock (canonical_block_reader.h) first, then
// ParseBlockThroughJsonTree, which decides: the result is always the latter's.
absl::StatusOr<Block> ParseBlock(absl::string_view bytes, SignatureStage stage);

// ParseBlock without its fast path: ParseJson, the check that the bytes are
// the JCS of what they parse to, then BlockFromJson. Public so that tests can
// hold the fast path to it.
absl::StatusOr<Block> ParseBlockThroughJsonTree(absl::string_view bytes,
                                                SignatureStage stage);

// The JCS of a block's JSON value (`whole`, what canonical block bytes equal)
// and of its body (`without`: every member but `fingerprint` and `signatures`,
// what the fingerprint digests), from one pass over its members.
CanonicalJsonSplit BlockJcs(const Json& value);

// A signature's key and signature decoded from their texts.
struct RawSignature {
  std::string key;  // 32 bytes.
  std::string sig;  // 64 bytes.
};

// The checks of one signature's texts (algorithm, key text, signature text)
// and of the signatures' role order for `stage` that every reader of a block
// applies (BlockFromJson, canonical_block_reader); InvalidArgument naming
// the rule. CheckSignatureTexts also fills `*raw` when it is not null.
absl::Status CheckSignatureTexts(const BlockSignature& signature, RawSignature* raw);
absl::Status CheckSignatureRoles(const std::vector<BlockSignature>& signatures,
                                 SignatureStage stage);

// What BlockFromJson decodes from a block's texts while checking them.
struct BlockBinaries {
  std::string leaf;  // The fingerprint's raw multihash: the block's Merkle leaf.
  std::vector<RawSignature> signatures;  // One per Block::signatures entry.
};

// The same as ParseBlock from an already parsed JSON value whose canonical form
// the caller has checked (a bundle line's inner object), given
// BlockJcs(value).without as `body_jcs`. The Block takes its strings and event
// from `value`. When `binaries` is not null and the block is accepted, also
// sets `*binaries`.
absl::StatusOr<Block> BlockFromJson(Json value, absl::string_view body_jcs,
                                    SignatureStage stage, BlockBinaries* binaries);

// The body: every member but `fingerprint` and `signatures`.
Json BlockBodyJson(const Block& block);
// Digest text of the JCS of the body.
std::string ComputeFingerprint(const Block& block);
// The bytes every block signature covers: prefix + fingerprint.
std::string BlockSignedMessage(absl::string_view fingerprint);
// The whole block (body, fingerprint, signatures) as JSON and as JCS bytes.
Json BlockJson(const Block& block);
std::string SerializeBlock(const Block& block);

// The complete block bytes: `owner_signed` (canonical JSON, owner signatures
// only) with `host` appended to its signatures, without re-serialising (JCS
// sorts the members, so the bytes end with `],"time":"..."}`). Equals
// SerializeBlock of the complete block; empty if the bytes do not end so.
std::string SpliceHostSignature(absl::string_view owner_signed, const BlockSignature& host);

// The bytes a signed request to forget a ledger covers (SPEC §10).
std::string ForgetRequestMessage(absl::string_view ledger_id,
                                 absl::string_view head_fingerprint);

// Reads a JSON number that must be a whole number in [min, max].
absl::StatusOr<uint64_t> JsonWholeNumber(const Json& value, uint64_t min,
                                         uint64_t max);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_BLOCK_H_
