// Test fixture: a ledger built in one process with locally generated host and
// owner keys, so tests can make valid chains and then break one rule at a time.
// Not the two-machine mode. Not thread-safe.
#ifndef MICROLEDGER_COMMON_TEST_CHAIN_H_
#define MICROLEDGER_COMMON_TEST_CHAIN_H_

#include <string>
#include <vector>

#include "common/block.h"
#include "common/block_builder.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/json.h"

namespace microledger {

class TestChain {
 public:
  // `owner_count` owner keys, sorted by key text; the genesis controllers are
  // all of them with `threshold`.
  explicit TestChain(int owner_count = 1, int threshold = 1);

  const std::string& ledger_id() const { return state_.ledger; }
  const SigningKey& host() const { return host_; }
  const SigningKey& owner(int i) const { return owners_[i]; }
  const ChainState& state() const { return state_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  Controllers all_owners(int threshold) const;

  // The next block, signed by the first `threshold` owners in force and the
  // host, not yet appended.
  Block Make(Json event, std::optional<Controllers> controllers = std::nullopt,
             std::optional<std::vector<std::string>> seals = std::nullopt) const;
  // An "opened document" genesis block.
  Block MakeGenesis() const;
  // Recomputes the fingerprint and signs again (owners `signers`, then host).
  Block Reseal(Block block, const std::vector<const SigningKey*>& signers) const;
  Block Reseal(Block block) const;

  // Checks `block` fully and appends it; aborts the test on failure.
  void Append(const Block& block);
  // Genesis plus `count` application events.
  void AppendEvents(int count);

  // A checkpoint of the first `size` blocks (any size, 0 and beyond the head
  // included, for tests of bad checkpoints), signed by the host.
  std::string SignedCheckpoint(uint64_t size) const;
  // The checkpoint of all blocks.
  std::string SignedCheckpoint() const { return SignedCheckpoint(blocks_.size()); }

  // SPEC §3 move: appends "moved document" (naming `successor` and its first
  // owner's key) here, then "became document" as `successor`'s genesis block.
  void MoveTo(TestChain& successor);

  std::vector<const SigningKey*> default_signers() const;
  // Extra keys for controllers that are not the initial owners.
  const SigningKey& stranger(int i);

 private:
  SigningKey host_;
  std::vector<SigningKey> owners_;
  std::vector<SigningKey> strangers_;
  int threshold_;
  ChainState state_;
  std::vector<Block> blocks_;
  int64_t clock_millis_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_TEST_CHAIN_H_
