// Byte encodings of the Micro Ledger format (SPEC §1): multibase base64url text
// ("u" + unpadded base64url), standard padded base64 (checkpoints), sha2-256
// multihash digests and ledger ids ("jlinx:" + host public key text).
//
// Every decoder accepts canonical input only: no padding where none belongs,
// no non-zero unused trailing bits, no characters outside the alphabet.
// All functions are thread-safe.
#ifndef MICROLEDGER_COMMON_ENCODING_H_
#define MICROLEDGER_COMMON_ENCODING_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace microledger {

inline constexpr char kMultibaseBase64UrlPrefix = 'u';
inline constexpr absl::string_view kLedgerIdPrefix = "jlinx:";
inline constexpr size_t kSha256Size = 32;
// Multihash of sha2-256: code varint 0x12, length 0x20, then the digest.
inline constexpr size_t kSha256MultihashSize = 2 + kSha256Size;

// Unpadded base64url, RFC 4648 §5.
std::string EncodeBase64Url(absl::string_view bytes);
absl::StatusOr<std::string> DecodeBase64Url(absl::string_view text);

// Padded standard base64, RFC 4648 §4.
std::string EncodeBase64Std(absl::string_view bytes);
absl::StatusOr<std::string> DecodeBase64Std(absl::string_view text);

// "u" + unpadded base64url.
std::string EncodeMultibase(absl::string_view bytes);
absl::StatusOr<std::string> DecodeMultibase(absl::string_view text);

// Raw SHA-256 of `data` (32 bytes).
std::string Sha256(absl::string_view data);
// Raw sha2-256 multihash of `data` (34 bytes).
std::string Sha256Multihash(absl::string_view data);
// Digest text of `data`: multibase of its sha2-256 multihash.
std::string DigestText(absl::string_view data);
// Decodes digest text to its raw multihash bytes. Rejects unknown multihash
// codes, wrong lengths and non-canonical encodings.
absl::StatusOr<std::string> DecodeDigest(absl::string_view text);

// "jlinx:" + public key text.
std::string LedgerIdFromPublicKeyText(absl::string_view public_key_text);
// The public key text inside a ledger id; checks that it encodes 32 bytes.
absl::StatusOr<std::string> PublicKeyTextFromLedgerId(absl::string_view ledger_id);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_ENCODING_H_
