// libFuzzer target: ParseBlock's fast path (common/canonical_block_reader.h)
// against its slow path (ParseBlockThroughJsonTree). Property, at both
// signature stages: the fast path either declines or returns exactly the
// slow path's Block (every field, the event's value kinds and bits), and
// ParseBlock returns what the slow path returns (status and message, or
// Block).
// - Raw input: each line (at most 16) is a candidate block.
// - Input "!" + text: the text is the `event` member of an otherwise valid
//   block (number 2, fixed keys), whose fingerprint is recomputed over the
//   body as written, so the fingerprint never refuses it and only the text's
//   canonical form, nesting and members decide.
// Seeds (fuzz/corpus/canonical_block_reader) are the block seeds and event
// texts with escapes, numbers, non-ASCII names and deep nesting.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/block_parse_testing.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

constexpr size_t kMaxLines = 16;
constexpr SignatureStage kStages[] = {SignatureStage::kOwnerSigned,
                                      SignatureStage::kComplete};

std::string KeyTextFromByte(uint8_t byte) {
  std::vector<uint8_t> seed(kEd25519SeedSize, byte);
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(seed);
  FUZZ_CHECK(key.ok(), "a fixed seed makes a key");
  return key->public_key_text();
}

// A complete block of the common shape as member texts; the signatures have
// the right form (ParseBlock does not verify them).
RawBlock MakeTemplate() {
  const std::string host = KeyTextFromByte(0x48);
  Block block;
  block.ledger = LedgerIdFromPublicKeyText(host);
  block.number = 2;
  block.previous = DigestText("block 1");
  block.time = "2026-11-22T10:04:05.123Z";
  block.event = {{"event", "updated"}};
  block.fingerprint = ComputeFingerprint(block);
  const std::string signature = EncodeMultibase(std::string(kEd25519SignatureSize, 'S'));
  block.signatures = {{std::string(kOwnerRole), std::string(kEd25519Alg),
                       KeyTextFromByte(0x30), signature},
                      {std::string(kHostRole), std::string(kEd25519Alg), host, signature}};
  const std::string bytes = SerializeBlock(block);
  FUZZ_CHECK(ParseBlock(bytes, SignatureStage::kComplete).ok(),
             "the template block parses");
  return RawBlock::FromCanonical(bytes);
}

void CheckBlockBytes(absl::string_view bytes) {
  for (const SignatureStage stage : kStages) {
    FUZZ_CHECK(FastPathBreach(bytes, stage).empty(),
               "the fast path returns the slow path's block or declines");
  }
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == '!') {
    static const microledger::RawBlock* const kTemplate =
        new microledger::RawBlock(microledger::MakeTemplate());
    microledger::RawBlock block = *kTemplate;
    block.Find("event")->value = std::string(input.substr(1));
    microledger::CheckBlockBytes(block.Render());
    return 0;
  }
  size_t lines = 0;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    if (++lines > microledger::kMaxLines) break;
    microledger::CheckBlockBytes(line);
  }
  return 0;
}
