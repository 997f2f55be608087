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

// The value of each base64 digit of one alphabet, kNotDigit for any other
// byte (padding '=' included).
constexpr uint8_t kNotDigit = 0xff;
struct Base64Digits {
  uint8_t value[256];
};
constexpr Base64Digits MakeDigits(char digit62, char digit63) {
  Base64Digits digits{};
  for (int c = 0; c < 256; ++c) digits.value[c] = kNotDigit;
  for (int i = 0; i < 26; ++i) {
    digits.value['A' + i] = static_cast<uint8_t>(i);
    digits.value['a' + i] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) digits.value['0' + i] = static_cast<uint8_t>(52 + i);
  digits.value[static_cast<unsigned char>(digit62)] = 62;
  digits.value[static_cast<unsigned char>(digit63)] = 63;
  return digits;
}
constexpr Base64Digits kUrlDigits = MakeDigits('-', '_');
constexpr Base64Digits kStdDigits = MakeDigits('+', '/');

// Decodes canonical base64 only: the variant's alphabet, padding exactly as
// the original variant needs it (the URL variant has none), and zero unused
// trailing bits — the form EncodeBase64 writes, so every value has one text.
// (libsodium's decoder costs ~4,500 instructions per key or signature and is
// called ~10 times per block; this one a few hundred.)
absl::StatusOr<std::string> DecodeBase64(absl::string_view text, int variant,
                                         absl::string_view what) {
  const bool url = variant == sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  const Base64Digits& digits = url ? kUrlDigits : kStdDigits;
  size_t length = text.size();
  size_t padding = 0;
  if (!url) {
    while (padding < 2 && padding < length && text[length - 1 - padding] == '=') ++padding;
    length -= padding;
  }
  const size_t tail = length % 4;
  const bool padding_ok = url || padding == (4 - tail) % 4;
  std::string out(length / 4 * 3 + 2, '\0');
  size_t written = 0;
  uint32_t bits = 0;
  int bit_count = 0;
  bool ok = tail != 1 && padding_ok;
  for (size_t i = 0; ok && i < length; ++i) {
    const uint8_t value = digits.value[static_cast<unsigned char>(text[i])];
    ok = value != kNotDigit;
    bits = (bits << 6) | value;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out[written++] = static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
  if (!ok || (bits & ((1u << bit_count) - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("not canonical ", what, ": \"", QuoteForError(text), "\""));
  }
  out.resize(written);
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
