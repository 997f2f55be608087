// Test helper: the owner side of one ledger, as a client of the host holds it:
// owner keys, the chain state, and the complete blocks the host accepted.
// Builds owner-signed blocks (SPEC §5) for the host to countersign. Not
// thread-safe; one per ledger per thread.
#ifndef MICROLEDGER_TESTS_HOST_OWNER_CHAIN_H_
#define MICROLEDGER_TESTS_HOST_OWNER_CHAIN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/block.h"
#include "common/block_builder.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/json.h"

namespace microledger {

class OwnerChain {
 public:
  OwnerChain(std::string ledger_id, std::string ledger_token, int owners = 1,
             int threshold = 1);

  const std::string& ledger_id() const { return state_.ledger; }
  const std::string& token() const { return token_; }
  const ChainState& state() const { return state_; }
  const std::vector<Block>& blocks() const { return blocks_; }
  const SigningKey& owner(int i) const { return owners_[i]; }

  // The next owner-signed block: genesis ("opened document") first, then
  // `event` (or {"event": "updated", "n": number} when null).
  Block Next(Json event = nullptr, std::optional<std::vector<std::string>> seals =
                                       std::nullopt) const;
  // Signs `block` again after its body was changed (fingerprint recomputed),
  // by the first `signers` owners in force (all needed ones when -1).
  Block Reseal(Block block, int signers = -1) const;
  // `count` owner-signed blocks chained on the current state (pipelining: the
  // owner knows every fingerprint before the host answers); Accept them in order.
  std::vector<Block> DraftAhead(int count) const;
  static std::string Bytes(const Block& block) { return SerializeBlock(block); }

  // Adds the host signature to `owner_signed`, checks the complete block
  // against the chain and appends it.
  absl::Status Accept(const Block& owner_signed, const BlockSignature& host_signature);

  // Owner signatures over the SPEC §10 forget message for the current head.
  std::vector<BlockSignature> SignForget() const;

 private:
  std::string token_;
  std::vector<SigningKey> owners_;
  int threshold_;
  ChainState state_;
  std::vector<Block> blocks_;
};

// Verifies complete block bytes 1..n as one chain of `ledger_id`
// (CheckNextBlock kComplete); returns the final state.
absl::StatusOr<ChainState> VerifyChainBytes(const std::string& ledger_id,
                                            const std::vector<std::string>& blocks);

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_HOST_OWNER_CHAIN_H_
