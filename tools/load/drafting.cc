#include "tools/load/drafting.h"

#include <iterator>
#include <utility>

#include "common/block.h"
#include "common/block_builder.h"
#include "common/timestamp.h"

namespace microledger {
namespace load {

std::vector<std::string> ChainDrafter::Next(uint64_t count, int sign_threads) {
  std::vector<Block> blocks;
  blocks.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    BlockContent content;
    content.time_millis = NowMillis();
    if (state_.head_number == 0) {
      content.controllers = Controllers{1, {owner_.public_key_text()}};
      content.event = {{"event", "opened document"},
                       {"document type", "ml-load"},
                       {"cryptographic signing key", owner_.public_key_text()}};
    } else {
      content.event = {{"event", "updated"},
                       {"n", static_cast<double>(state_.head_number + 1)}};
    }
    blocks.push_back(DraftNextBlock(state_, std::move(content)));
    state_ = AdvanceChain(state_, blocks.back());
  }
  std::vector<std::string> signed_blocks(count);
  const SigningKey* owners[] = {&owner_};
  ParallelFor(static_cast<int>(count), sign_threads, [&](int i) {
    SignAsOwners(blocks[i], owners);
    signed_blocks[i] = SerializeBlock(blocks[i]);
  });
  return signed_blocks;
}

std::vector<std::string> ChainDrafter::NextMany(uint64_t count, int sign_threads) {
  std::vector<std::string> blocks;
  blocks.reserve(count);
  while (blocks.size() < count) {
    std::vector<std::string> chunk =
        Next(std::min<uint64_t>(kDraftChunk, count - blocks.size()), sign_threads);
    std::move(chunk.begin(), chunk.end(), std::back_inserter(blocks));
  }
  return blocks;
}

void DraftLedger(DraftedLedger& ledger, uint64_t count) {
  ChainDrafter drafter(ledger.id);
  ledger.genesis = drafter.Next(1, 1).front();
  ledger.blocks = drafter.NextMany(count, 1);
}

std::vector<uint64_t> SpreadBlocks(uint64_t total, int ledgers) {
  std::vector<uint64_t> counts(ledgers, total / ledgers);
  for (uint64_t i = 0; i < total % ledgers; ++i) ++counts[i];
  return counts;
}

}  // namespace load
}  // namespace microledger
