#include "common/checkpoint.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/utf8.h"

namespace microledger {
namespace {

// "— ": U+2014 EM DASH and a space start every signature line.
constexpr absl::string_view kSignatureLinePrefix = "\xE2\x80\x94 ";
// C2SP signed-note signature type of Ed25519, hashed into the key hash.
constexpr char kSignedNoteEd25519Type = 0x01;
// Key hash and at least one byte of signature (C2SP signed-note).
constexpr size_t kMinSignaturePayloadSize = kSignedNoteKeyHashSize + 1;
constexpr size_t kEd25519PayloadSize =
    kSignedNoteKeyHashSize + kEd25519SignatureSize;
constexpr size_t kRootHashSize =
    std::tuple_size<decltype(Checkpoint::root_hash)>::value;
// origin, tree size, root hash.
constexpr size_t kNoteTextLines = 3;

absl::Status CheckpointError(absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("checkpoint: ", rule));
}

// Unicode White_Space (what Go's unicode.IsSpace, used by the reference
// signed-note implementation, reports).
bool IsUnicodeSpace(uint32_t code_point) {
  switch (code_point) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return code_point >= 0x2000 && code_point <= 0x200A;
  }
}

// Rules on the note as a whole: lines end in "\n", no "\r", UTF-8, and no
// control characters below U+0020 but newline (C2SP signed-note; DEL is allowed).
absl::Status CheckNoteCharacters(absl::string_view note) {
  if (note.find('\r') != absl::string_view::npos) {
    return CheckpointError("note contains a carriage return");
  }
  if (note.empty() || note.back() != '\n') {
    return CheckpointError("note does not end with a newline");
  }
  for (size_t pos = 0; pos < note.size();) {
    uint32_t code_point;
    if (!DecodeUtf8(note, &pos, &code_point)) {
      return CheckpointError("note is not valid UTF-8");
    }
    if (code_point < 0x20 && code_point != '\n') {
      return CheckpointError("note contains a control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseTreeSize(absl::string_view text) {
  if (text.empty()) return CheckpointError("tree size is empty");
  for (char c : text) {
    if (c < '0' || c > '9') {
      return CheckpointError("tree size is not a decimal number");
    }
  }
  if (text.size() > 1 && text[0] == '0') {
    return CheckpointError("tree size has leading zeros");
  }
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t size = 0;
  for (char c : text) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (size > (kMax - digit) / 10) {
      return CheckpointError("tree size does not fit in 64 bits");
    }
    size = size * 10 + digit;
  }
  return size;
}

absl::StatusOr<std::array<uint8_t, 32>> ParseRootHash(absl::string_view text) {
  absl::StatusOr<std::string> bytes = DecodeBase64Std(text);
  if (!bytes.ok()) {
    return CheckpointError("root hash is not canonical standard base64");
  }
  if (bytes->size() != kRootHashSize) {
    return CheckpointError(
        absl::StrCat("root hash is ", bytes->size(), " bytes, not 32"));
  }
  std::array<uint8_t, 32> root_hash;
  std::copy(bytes->begin(), bytes->end(), root_hash.begin());
  return root_hash;
}

}  // namespace

bool IsValidNoteKeyName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t pos = 0; pos < name.size();) {
    uint32_t code_point;
    if (!DecodeUtf8(name, &pos, &code_point) || code_point < 0x20 ||
        IsUnicodeSpace(code_point) || code_point == '+') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<NoteSignatureLine> ParseNoteSignatureLine(absl::string_view line) {
  if (line.substr(0, kSignatureLinePrefix.size()) != kSignatureLinePrefix) {
    return absl::InvalidArgumentError(
        "does not start with an em dash and a space");
  }
  line.remove_prefix(kSignatureLinePrefix.size());
  const size_t space = line.find(' ');
  if (space == absl::string_view::npos) {
    return absl::InvalidArgumentError("no space between key name and signature");
  }
  NoteSignatureLine parsed;
  parsed.key_name = std::string(line.substr(0, space));
  if (!IsValidNoteKeyName(parsed.key_name)) {
    return absl::InvalidArgumentError(
        "key name is empty or has a space, a control character or '+'");
  }
  absl::StatusOr<std::string> payload = DecodeBase64Std(line.substr(space + 1));
  if (!payload.ok()) {
    return absl::InvalidArgumentError(
        "signature is not canonical standard base64");
  }
  if (payload->size() < kMinSignaturePayloadSize) {
    return absl::InvalidArgumentError("signature is shorter than 5 bytes");
  }
  parsed.payload = *std::move(payload);
  return parsed;
}

std::string CheckpointNoteText(const Checkpoint& checkpoint) {
  const absl::string_view root_hash(
      reinterpret_cast<const char*>(checkpoint.root_hash.data()),
      checkpoint.root_hash.size());
  return absl::StrCat(checkpoint.origin, "\n", checkpoint.tree_size, "\n",
                      EncodeBase64Std(root_hash), "\n");
}

std::string SignedNoteKeyHash(absl::string_view key_name,
                              absl::string_view raw_public_key) {
  const std::string key_id =
      absl::StrCat(key_name, "\n", absl::string_view(&kSignedNoteEd25519Type, 1),
                   raw_public_key);
  return Sha256(key_id).substr(0, kSignedNoteKeyHashSize);
}

std::string SignCheckpoint(const Checkpoint& checkpoint,
                           const SigningKey& host_key) {
  const std::string text = CheckpointNoteText(checkpoint);
  const std::string payload =
      absl::StrCat(SignedNoteKeyHash(checkpoint.origin, host_key.public_key()),
                   host_key.Sign(text));
  return absl::StrCat(text, "\n", kSignatureLinePrefix, checkpoint.origin, " ",
                      EncodeBase64Std(payload), "\n");
}

absl::StatusOr<Checkpoint> VerifyCheckpoint(absl::string_view signed_note,
                                            absl::string_view ledger_id) {
  absl::StatusOr<VerifiedCheckpointNote> verified =
      VerifyCheckpointNote(signed_note, ledger_id);
  if (!verified.ok()) return verified.status();
  return std::move(verified->checkpoint);
}

absl::StatusOr<VerifiedCheckpointNote> VerifyCheckpointNote(
    absl::string_view signed_note, absl::string_view ledger_id) {
  absl::StatusOr<std::string> key_text = PublicKeyTextFromLedgerId(ledger_id);
  if (!key_text.ok()) return CheckpointError(key_text.status().message());
  absl::StatusOr<std::string> ledger_key = DecodePublicKeyText(*key_text);
  if (!ledger_key.ok()) return CheckpointError(ledger_key.status().message());

  if (absl::Status status = CheckNoteCharacters(signed_note); !status.ok()) {
    return status;
  }
  // Every line ends in "\n", the last one included.
  const std::vector<absl::string_view> lines = absl::StrSplit(
      signed_note.substr(0, signed_note.size() - 1), '\n');

  size_t blank_line = 0;
  while (blank_line < lines.size() && !lines[blank_line].empty()) ++blank_line;
  if (blank_line == lines.size()) {
    return CheckpointError("no blank line between note text and signatures");
  }
  if (blank_line < kNoteTextLines) {
    return CheckpointError(
        "note text is not the three lines origin, tree size and root hash");
  }
  if (blank_line > kNoteTextLines) {
    return CheckpointError("note text has extension lines (v1 has none)");
  }

  VerifiedCheckpointNote verified;
  Checkpoint& checkpoint = verified.checkpoint;
  if (lines[0] != ledger_id) {
    return CheckpointError("origin is not the ledger id");
  }
  checkpoint.origin = std::string(lines[0]);
  absl::StatusOr<uint64_t> tree_size = ParseTreeSize(lines[1]);
  if (!tree_size.ok()) return tree_size.status();
  checkpoint.tree_size = *tree_size;
  absl::StatusOr<std::array<uint8_t, 32>> root_hash = ParseRootHash(lines[2]);
  if (!root_hash.ok()) return root_hash.status();
  checkpoint.root_hash = *root_hash;

  if (blank_line + 1 == lines.size()) {
    return CheckpointError("no signature lines");
  }
  verified.note_text = std::string(signed_note.substr(
      0, lines[0].size() + lines[1].size() + lines[2].size() + kNoteTextLines));
  const std::string ledger_key_hash = SignedNoteKeyHash(ledger_id, *ledger_key);
  size_t ledger_signatures = 0;
  for (size_t i = blank_line + 1; i < lines.size(); ++i) {
    absl::StatusOr<NoteSignatureLine> line = ParseNoteSignatureLine(lines[i]);
    if (!line.ok()) {
      return CheckpointError(absl::StrCat("malformed signature line ",
                                          i - blank_line, ": ",
                                          line.status().message()));
    }
    verified.signatures.push_back(*std::move(line));
    const absl::string_view key_name = verified.signatures.back().key_name;
    const absl::string_view payload = verified.signatures.back().payload;
    if (key_name != ledger_id ||
        payload.substr(0, kSignedNoteKeyHashSize) != ledger_key_hash) {
      continue;  // Another key's signature, a witness cosignature for example.
    }
    ++ledger_signatures;
    if (payload.size() != kEd25519PayloadSize) {
      return CheckpointError(
          "ledger key signature is not 4 + 64 bytes (key hash, Ed25519)");
    }
    if (!VerifyEd25519(*ledger_key, verified.note_text,
                       payload.substr(kSignedNoteKeyHashSize))) {
      return CheckpointError("ledger key signature does not verify");
    }
  }
  if (ledger_signatures == 0) {
    return CheckpointError("no signature by the ledger key");
  }
  return verified;
}

}  // namespace microledger
