// Internal to owner_agent/: the owner signatures of a block under a
// threshold of controllers (SPEC §5): signing with the keys this agent holds,
// the proposal handed to the other controllers when they are not enough, and
// the checks of a proposal received for cosigning (CosignBlock). Thread-safe
// (the keystore is; the rest are pure functions).
#ifndef MICROLEDGER_OWNER_AGENT_MULTISIG_H_
#define MICROLEDGER_OWNER_AGENT_MULTISIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/keystore.h"

namespace microledger {

// Adds the signatures of the keys among `authorising` that `keystore` holds
// and that have not signed `block` yet; keeps the signatures sorted by key.
// Returns how many owner signatures the block carries afterwards.
absl::StatusOr<int> SignWithHeldKeys(const Keystore& keystore, Block& block,
                                     const Controllers& authorising);

// The keys of `authorising` that have not signed `block`, in their order.
std::vector<std::string> MissingKeys(const Block& block, const Controllers& authorising);

// Sets the proposal's block (serialized), controllers and missing keys.
void DescribeProposal(const Block& block, const Controllers& authorising,
                      v1::BlockProposal* proposal);

// A proposal is for the block after `head`: FAILED_PRECONDITION "previous: …"
// otherwise.
absl::Status CheckProposalFollows(const ChainState& head, const Block& block);

// Every signature a received proposal carries is by a key of `authorising`
// and verifies.
absl::Status CheckProposalSignatures(const Block& block, const Controllers& authorising);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_MULTISIG_H_
