// Building and signing blocks: the next block's body and fingerprint from a
// chain state, owner signatures in the order SPEC §5 requires, and the host
// countersignature. Used by the owner agent and host (each signing with the keys
// it holds) and by tests, samples and benchmarks. Thread-safe: pure functions.
#ifndef MICROLEDGER_COMMON_BLOCK_BUILDER_H_
#define MICROLEDGER_COMMON_BLOCK_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/json.h"

namespace microledger {

struct BlockContent {
  Json event;  // An object with a string member "event".
  std::optional<Controllers> controllers;
  std::optional<std::vector<std::string>> seals;
  int64_t time_millis = 0;
};

// The unsigned block that follows `state` (the genesis block when the state is
// empty), with its fingerprint. The time is raised to the head's time if it is
// earlier, so that a chain built from a clock that steps back stays valid.
Block DraftNextBlock(const ChainState& state, BlockContent content);

// Adds owner signatures by `owners` (sorted by key text, as SPEC §5 requires),
// merging with any owner signatures the block already carries.
void SignAsOwners(Block& block, absl::Span<const SigningKey* const> owners);

// Appends the host signature; the block must carry its owner signatures.
void SignAsHost(Block& block, const SigningKey& host_key);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_BLOCK_BUILDER_H_
