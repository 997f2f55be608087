#include "common/block_builder.h"

#include <algorithm>
#include <utility>

#include "common/timestamp.h"

namespace microledger {

Block DraftNextBlock(const ChainState& state, BlockContent content) {
  Block block;
  block.ledger = state.ledger;
  block.number = state.head_number + 1;
  if (state.head_number > 0) block.previous = state.head_fingerprint;
  block.time_millis = std::max(content.time_millis, state.head_time_millis);
  block.time = FormatTimestampMillis(block.time_millis);
  block.controllers = std::move(content.controllers);
  block.seals = std::move(content.seals);
  block.event = std::move(content.event);
  block.fingerprint = ComputeFingerprint(block);
  return block;
}

void SignAsOwners(Block& block, absl::Span<const SigningKey* const> owners) {
  const std::string message = BlockSignedMessage(block.fingerprint);
  for (const SigningKey* owner : owners) {
    block.signatures.push_back({std::string(kOwnerRole), std::string(kEd25519Alg),
                                owner->public_key_text(), owner->SignText(message)});
  }
  std::sort(block.signatures.begin(), block.signatures.end(),
            [](const BlockSignature& a, const BlockSignature& b) {
              return a.key < b.key;
            });
}

void SignAsHost(Block& block, const SigningKey& host_key) {
  block.signatures.push_back(
      {std::string(kHostRole), std::string(kEd25519Alg), host_key.public_key_text(),
       host_key.SignText(BlockSignedMessage(block.fingerprint))});
}

}  // namespace microledger
