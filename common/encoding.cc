#include "common/encoding.h"

#include <sodium.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_text.h"

namespace microledger {
namespace {

constexpr uint8_t kSha256MultihashCode = 0x12;
constexpr size_t kEd25519PublicKeySize = 32;

std::string EncodeBase64(absl::string_view bytes, int variant) {
  if (bytes.empty()) return "";
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(out.size() - 1);  // libsodium writes a trailing NUL.
  return out;
}

// True when every byte of `text` is in the variant's alphabet (or is the
// original variant's padding '='). libsodium 1.0.18 (Debian 12) decodes every
// byte from 0x80 up as the value 63 instead of rejecting it, so the alphabet
// is checked here first.
bool InBase64Alphabet(absl::string_view text, int variant) {
  const bool url = variant == sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') ||
                    (url ? (c == '-' || c == '_') : (c == '+' || c == '/' || c == '='));
    if (!ok) return false;
  }
  return true;
}

// With the alphabet checked, libsodium rejects wrong padding and non-zero
// unused trailing bits, which completes the canonical-form rule.
absl::StatusOr<std::string> DecodeBase64(absl::string_view text, int variant,
                                         absl::string_view what) {
  if (!InBase64Alphabet(text, variant)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not canonical ", what, ": \"", QuoteForError(text), "\""));
  }
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &length,
                        &end, variant) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not canonical ", what, ": \"", QuoteForError(text), "\""));
  }
  out.resize(length);
  return out;
}

}  // namespace

std::string EncodeBase64Url(absl::string_view bytes) {
  return EncodeBase64(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

absl::StatusOr<std::string> DecodeBase64Url(absl::string_view text) {
  return DecodeBase64(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
                      "base64url");
}

std::string EncodeBase64Std(absl::string_view bytes) {
  return EncodeBase64(bytes, sodium_base64_VARIANT_ORIGINAL);
}

absl::StatusOr<std::string> DecodeBase64Std(absl::string_view text) {
  return DecodeBase64(text, sodium_base64_VARIANT_ORIGINAL, "base64");
}

std::string EncodeMultibase(absl::string_view bytes) {
  std::string out(1, kMultibaseBase64UrlPrefix);
  out += EncodeBase64Url(bytes);
  return out;
}

absl::StatusOr<std::string> DecodeMultibase(absl::string_view text) {
  if (text.empty() || text[0] != kMultibaseBase64UrlPrefix) {
    return absl::InvalidArgumentError(absl::StrCat(
        "multibase text must start with 'u' (base64url): \"",
        QuoteForError(text), "\""));
  }
  return DecodeBase64Url(text.substr(1));
}

std::string Sha256(absl::string_view data) {
  std::string out(kSha256Size, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return out;
}

std::string Sha256Multihash(absl::string_view data) {
  std::string out;
  out.reserve(kSha256MultihashSize);
  out.push_back(static_cast<char>(kSha256MultihashCode));
  out.push_back(static_cast<char>(kSha256Size));
  out += Sha256(data);
  return out;
}

std::string DigestText(absl::string_view data) {
  return EncodeMultibase(Sha256Multihash(data));
}

absl::StatusOr<std::string> DecodeDigest(absl::string_view text) {
  absl::StatusOr<std::string> bytes = DecodeMultibase(text);
  if (!bytes.ok()) return bytes.status();
  // The code is an unsigned varint; read it whole so an unknown code is named.
  uint64_t code = 0;
  size_t pos = 0;
  for (int shift = 0;; shift += 7) {
    if (pos >= bytes->size() || shift > 56) {
      return absl::InvalidArgumentError("digest: truncated multihash code");
    }
    const uint8_t byte = static_cast<uint8_t>((*bytes)[pos++]);
    code |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (code != kSha256MultihashCode) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "digest: unknown multihash code 0x%x (v1 knows 0x12 sha2-256 only)",
        code));
  }
  if (pos != 1 || bytes->size() != kSha256MultihashSize ||
      static_cast<uint8_t>((*bytes)[1]) != kSha256Size) {
    return absl::InvalidArgumentError(
        "digest: sha2-256 multihash must be 0x12 0x20 and 32 bytes");
  }
  return bytes;
}

std::string LedgerIdFromPublicKeyText(absl::string_view public_key_text) {
  return absl::StrCat(kLedgerIdPrefix, public_key_text);
}

absl::StatusOr<std::string> PublicKeyTextFromLedgerId(
    absl::string_view ledger_id) {
  if (ledger_id.substr(0, kLedgerIdPrefix.size()) != kLedgerIdPrefix) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ledger id must start with \"jlinx:\": \"", QuoteForError(ledger_id),
        "\""));
  }
  absl::string_view key_text = ledger_id.substr(kLedgerIdPrefix.size());
  absl::StatusOr<std::string> key = DecodeMultibase(key_text);
  if (!key.ok() || key->size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ledger id must hold a 32-byte Ed25519 public key: \"",
        QuoteForError(ledger_id), "\""));
  }
  return std::string(key_text);
}

}  // namespace microledger
