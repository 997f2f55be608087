// libFuzzer target: checkpoint / C2SP signed-note parsing (common/checkpoint.h,
// SPEC §7) on untrusted bytes. Two kinds of input:
// - raw: the whole input is a signed note, verified as a checkpoint of the
//   ledger its first line names and of a fixed ledger;
// - "!" + NOTE: the target signs NOTE's text (everything before its first
//   blank line, with its "\n") with the fixed host key and inserts that
//   signature line right after the blank line, before NOTE's own lines, so the
//   fuzzer explores note texts and the lines that follow a valid signature
//   (other keys' lines, malformed lines) instead of stopping at the signature
//   check.
// Properties: no crash; an accepted note has the ledger as origin, and its
// note text re-serialised (CheckpointNoteText) is exactly the input's text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

const SigningKey& HostKey() {
  static const SigningKey* key = [] {
    const std::vector<uint8_t> seed(kEd25519SeedSize, 0x48);
    absl::StatusOr<SigningKey> made = SigningKey::FromSeed(seed);
    FUZZ_CHECK(made.ok(), "a fixed seed makes a key");
    return new SigningKey(*std::move(made));
  }();
  return *key;
}

const std::string& LedgerId() {
  static const std::string* id =
      new std::string(LedgerIdFromPublicKeyText(HostKey().public_key_text()));
  return *id;
}

// Verifies `note` as a checkpoint of `ledger_id` and checks the properties.
void CheckNote(absl::string_view note, absl::string_view ledger_id) {
  const absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note, ledger_id);
  if (!checkpoint.ok()) return;
  FUZZ_CHECK(checkpoint->origin == ledger_id, "the origin is the ledger");
  const std::string text = CheckpointNoteText(*checkpoint);
  FUZZ_CHECK(note.substr(0, text.size()) == text && note.size() > text.size() &&
                 note[text.size()] == '\n',
             "the note text re-serialises to the input's text");
}

// The input with a valid signature line by the fixed host key inserted after
// its note text; the input itself when it has no blank line.
std::string SignedByHost(absl::string_view input) {
  const size_t blank = input.find("\n\n");
  if (blank == absl::string_view::npos) return std::string(input);
  const absl::string_view text = input.substr(0, blank + 1);
  const std::string signature = HostKey().Sign(text);
  const std::string payload =
      SignedNoteKeyHash(LedgerId(), HostKey().public_key()) + signature;
  return std::string(text) + "\n\xE2\x80\x94 " + LedgerId() + " " +
         EncodeBase64Std(payload) + "\n" + std::string(input.substr(blank + 2));
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::string note(input);
  if (!input.empty() && input[0] == '!') note = microledger::SignedByHost(input.substr(1));
  const absl::string_view origin = absl::string_view(note).substr(0, note.find('\n'));
  microledger::CheckNote(note, origin);
  microledger::CheckNote(note, microledger::LedgerId());
  return 0;
}
