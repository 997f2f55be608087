// libFuzzer target: block parsing (common/block.h) and the chain rules
// (common/chain_validator.h) on untrusted bytes. The input is split into
// lines; each line is parsed as a block at both signature stages, and the
// blocks that parse as complete blocks are checked as a chain, in order,
// against the state the accepted ones built. Properties:
// - a block that parses serialises back to exactly its bytes (blocks are
//   canonical and never repaired);
// - CheckNextBlockWithSignatureMath gives the same result as CheckNextBlock
//   (the parallel verifier's promise), with the outcomes computed from the
//   decoded signatures (BlockFromJson's binaries) or from the texts;
// - LedgerVerifier::AddBlock and AddPreparedBlock accept exactly the blocks
//   CheckNextBlock accepts, with the same message.
// Seeds (fuzz/corpus/block) are the block lines of sample bundles.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/ledger_verifier.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

// At most this many lines of one input are used: enough for any chain rule.
constexpr size_t kMaxLines = 16;
// A fixed clock for the host's time-skew rule: 2026-11-22T10:04:05.123Z.
constexpr int64_t kNowMillis = 1795341845123;

void CheckOneLine(absl::string_view line, std::optional<ChainState>& state,
                  std::optional<LedgerVerifier>& verifier) {
  const absl::StatusOr<Block> owner_signed =
      ParseBlock(line, SignatureStage::kOwnerSigned);
  if (owner_signed.ok()) {
    FUZZ_CHECK(SerializeBlock(*owner_signed) == line,
               "an owner-signed block serialises to its bytes");
  }
  const absl::StatusOr<Block> complete = ParseBlock(line, SignatureStage::kComplete);
  if (!complete.ok()) return;
  FUZZ_CHECK(SerializeBlock(*complete) == line, "a complete block serialises to its bytes");

  if (!state.has_value()) {
    state = ChainState::Empty(complete->ledger);
    verifier.emplace(complete->ledger);
  }
  for (const BlockRuleOptions& options :
       {BlockRuleOptions{}, BlockRuleOptions::HostDefaults(kNowMillis)}) {
    const absl::Status direct =
        CheckNextBlock(*state, *complete, SignatureStage::kComplete, options);
    const absl::Status with_math = CheckNextBlockWithSignatureMath(
        *state, *complete, SignatureStage::kComplete, options,
        ComputeSignatureMath(*complete, SignatureStage::kComplete));
    FUZZ_CHECK(direct == with_math,
               "CheckNextBlockWithSignatureMath == CheckNextBlock");
  }
  const absl::Status accepted =
      CheckNextBlock(*state, *complete, SignatureStage::kComplete, BlockRuleOptions{});

  // The verifier's two ways in: from the parsed JSON value (as a bundle line
  // is read) and from the Block. A failed verifier stays failed, so only a
  // verifier that has accepted every block so far is compared.
  if (!verifier->failure().has_value()) {
    const absl::StatusOr<Json> value = ParseJson(line);
    FUZZ_CHECK(value.ok(), "a parsed block is JSON");
    const CanonicalJsonSplit jcs = BlockJcs(*value);
    absl::StatusOr<PreparedBlock> prepared = PreparedBlock::FromJson(*value, jcs.without);
    FUZZ_CHECK(prepared.ok(), "PreparedBlock::FromJson accepts a parsed block");
    LedgerVerifier copy = *verifier;
    const absl::Status by_block = verifier->AddBlock(*complete);
    const absl::Status by_prepared = copy.AddPreparedBlock(*prepared);
    FUZZ_CHECK(by_block == by_prepared, "AddBlock == AddPreparedBlock");
    FUZZ_CHECK(by_block.ok() == accepted.ok(), "LedgerVerifier agrees with CheckNextBlock");
  }
  if (accepted.ok()) state = AdvanceChain(std::move(*state), *complete);
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<microledger::ChainState> state;
  std::optional<microledger::LedgerVerifier> verifier;
  size_t lines = 0;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    if (++lines > microledger::kMaxLines) break;
    microledger::CheckOneLine(line, state, verifier);
  }
  return 0;
}
