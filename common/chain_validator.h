// The rules between blocks of one ledger (SPEC §3-§5, §8.1): numbering, previous,
// time order, events in their place, authority (owner signatures meeting the
// threshold of the controllers in force), the host signature and terminal events.
//
// ChainState is the O(1) summary of a verified chain that the next block is
// checked against; the host keeps one per ledger, a verifier one per bundle.
// Malformed content is InvalidArgument; a block that is well formed but does
// not fit the chain is FailedPrecondition. Every message starts with the rule's
// name ("previous: …"). Thread-safe: all functions are pure.
//
// The Ed25519 math of a block's signatures depends on the block alone; which
// keys must have signed depends on the chain. CheckNextBlock does both; a
// verifier that checks many blocks can instead run ComputeSignatureMath on
// worker threads, ahead of the chain, and then CheckNextBlockWithSignatureMath
// in chain order, which applies every rule of CheckNextBlock in the same order
// and gives the same result, only looking the Ed25519 outcomes up.
#ifndef MICROLEDGER_COMMON_CHAIN_VALIDATOR_H_
#define MICROLEDGER_COMMON_CHAIN_VALIDATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/block.h"

namespace microledger {

inline constexpr absl::string_view kOpenedDocument = "opened document";
inline constexpr absl::string_view kBecameDocument = "became document";
inline constexpr absl::string_view kClosedDocument = "closed document";
inline constexpr absl::string_view kMovedDocument = "moved document";
inline constexpr absl::string_view kTransferredOwnership = "transferred ownership";

// Host defaults (SPEC §3); an offline verifier applies none of them.
inline constexpr size_t kDefaultMaxBlockBytes = 64 * 1024;
inline constexpr size_t kDefaultMaxEventMemberNameBytes = 256;
inline constexpr int64_t kDefaultMaxClockSkewMillis = 300 * 1000;

// True for the event names of SPEC §3 that only the lifecycle blocks carry
// (opened, became, closed, moved, transferred ownership).
bool IsReservedEvent(absl::string_view event);

struct ChainState {
  std::string ledger;
  uint64_t head_number = 0;  // 0 before the genesis block.
  std::string head_fingerprint;
  int64_t head_time_millis = 0;
  Controllers controllers;  // In force after the head block.
  std::string terminal_event;  // Non-empty once the head closed or moved the ledger.

  static ChainState Empty(absl::string_view ledger_id);
};

// Where a ledger is in its life (SPEC §3), from its chain state.
enum class LedgerLifecycle { kNoGenesis, kOpen, kClosed, kMoved };
LedgerLifecycle LifecycleOf(const ChainState& state);

struct BlockRuleOptions {
  // Host limits; unset for an offline verifier.
  std::optional<size_t> max_event_member_name_bytes;
  // When set, the block time must be within max_clock_skew_millis of it.
  std::optional<int64_t> now_millis;
  int64_t max_clock_skew_millis = kDefaultMaxClockSkewMillis;

  static BlockRuleOptions HostDefaults(int64_t now_millis);
};

// Checks that `block` may follow `state`. With SignatureStage::kComplete the
// host signature is verified too.
absl::Status CheckNextBlock(const ChainState& state, const Block& block,
                            SignatureStage stage, const BlockRuleOptions& options);

// The Ed25519 verification outcomes of one block's signatures (SPEC §5),
// computed from the block alone: outcomes[i] is VerifyEd25519Text of
// block.signatures[i] by its own `key` over BlockSignedMessage(fingerprint),
// whichever key that is (whether the key may sign is a chain rule, checked by
// CheckNextBlockWithSignatureMath).
struct SignatureMath {
  std::vector<absl::Status> outcomes;
};

// Verifies every signature of `block` (owner signatures, and with kComplete
// the last one as the host signature). `raw` is empty, or holds each
// signature's key and signature as decoded from its texts (BlockBinaries of
// BlockFromJson), which saves decoding them again. Pure; any thread.
SignatureMath ComputeSignatureMath(const Block& block, SignatureStage stage,
                                   absl::Span<const RawSignature> raw = {});

// CheckNextBlock with the Ed25519 verifications taken from `math`, which must
// be ComputeSignatureMath(block, stage) of this same block: the same checks in
// the same order, the same result. (An outcome `math` lacks, because it has
// fewer entries than block.signatures, is computed here.)
absl::Status CheckNextBlockWithSignatureMath(const ChainState& state,
                                             const Block& block,
                                             SignatureStage stage,
                                             const BlockRuleOptions& options,
                                             const SignatureMath& math);

// The state after appending `block` (which CheckNextBlock accepted) to `state`
// (pass it with std::move to reuse its strings).
ChainState AdvanceChain(ChainState state, const Block& block);

// SPEC §5/§10 authority: owner signatures by distinct keys of `authorising`,
// in ascending order of key text, each verifying over `message`, at least
// `threshold` of them. `what` names the signed thing in messages.
absl::Status CheckOwnerSignatures(const Controllers& authorising,
                                  absl::string_view message,
                                  absl::Span<const BlockSignature> owner_signatures,
                                  absl::string_view what);

// The event rules of SPEC §3 that depend only on the block and its position.
absl::Status CheckEventRules(const Block& block,
                             std::optional<size_t> max_member_name_bytes);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_CHAIN_VALIDATOR_H_
