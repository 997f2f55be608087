#include "common/test_chain.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

SigningKey NewKey() { return *SigningKey::Generate(); }

}  // namespace

TestChain::TestChain(int owner_count, int threshold)
    : host_(NewKey()), threshold_(threshold), clock_millis_(NowMillis()) {
  for (int i = 0; i < owner_count; ++i) owners_.push_back(NewKey());
  std::sort(owners_.begin(), owners_.end(),
            [](const SigningKey& a, const SigningKey& b) {
              return a.public_key_text() < b.public_key_text();
            });
  state_ = ChainState::Empty(LedgerIdFromPublicKeyText(host_.public_key_text()));
}

Controllers TestChain::all_owners(int threshold) const {
  Controllers controllers{threshold, {}};
  for (const SigningKey& key : owners_) controllers.keys.push_back(key.public_key_text());
  return controllers;
}

std::vector<const SigningKey*> TestChain::default_signers() const {
  const Controllers& in_force =
      state_.head_number == 0 ? all_owners(threshold_) : state_.controllers;
  std::vector<const SigningKey*> signers;
  for (const std::string& key : in_force.keys) {
    if (static_cast<int>(signers.size()) == in_force.threshold) break;
    for (const SigningKey& owner : owners_) {
      if (owner.public_key_text() == key) signers.push_back(&owner);
    }
    for (const SigningKey& stranger : strangers_) {
      if (stranger.public_key_text() == key) signers.push_back(&stranger);
    }
  }
  return signers;
}

const SigningKey& TestChain::stranger(int i) {
  while (static_cast<int>(strangers_.size()) <= i) strangers_.push_back(NewKey());
  return strangers_[i];
}

Block TestChain::Make(Json event, std::optional<Controllers> controllers,
                      std::optional<std::vector<std::string>> seals) const {
  Block block = DraftNextBlock(
      state_, {std::move(event), std::move(controllers), std::move(seals),
               clock_millis_ + static_cast<int64_t>(state_.head_number)});
  SignAsOwners(block, default_signers());
  SignAsHost(block, host_);
  return block;
}

Block TestChain::MakeGenesis() const {
  return Make({{"event", "opened document"},
               {"document type", "didDocument"},
               {"cryptographic signing key", owners_[0].public_key_text()}},
              all_owners(threshold_));
}

Block TestChain::Reseal(Block block,
                        const std::vector<const SigningKey*>& signers) const {
  block.fingerprint = ComputeFingerprint(block);
  block.signatures.clear();
  SignAsOwners(block, signers);
  SignAsHost(block, host_);
  return block;
}

Block TestChain::Reseal(Block block) const {
  return Reseal(std::move(block), default_signers());
}

void TestChain::Append(const Block& block) {
  absl::Status status =
      CheckNextBlock(state_, block, SignatureStage::kComplete, BlockRuleOptions());
  ASSERT_TRUE(status.ok()) << status;
  state_ = AdvanceChain(state_, block);
  blocks_.push_back(block);
}

void TestChain::AppendEvents(int count) {
  if (state_.head_number == 0) Append(MakeGenesis());
  for (int i = 0; i < count; ++i) {
    Append(Make({{"event", "updated"}, {"n", static_cast<double>(i)}}));
  }
}

std::string TestChain::SignedCheckpoint(uint64_t size) const {
  MemoryMerkleTree tree;
  for (const Block& block : blocks_) tree.AppendLeaf(*DecodeDigest(block.fingerprint));
  return SignCheckpoint({ledger_id(), size, *MerkleRootAt(tree, size)}, host_);
}

void TestChain::MoveTo(TestChain& successor) {
  Append(Make({{"event", "moved document"},
               {"new id", successor.ledger_id()},
               {"new cryptographic signing key", successor.owner(0).public_key_text()}}));
  successor.Append(successor.Make(
      {{"event", "became document"},
       {"document type", "didDocument"},
       {"cryptographic signing key", successor.owner(0).public_key_text()},
       {"original id", ledger_id()},
       {"moved from", ledger_id()},
       {"moved from block", state().head_fingerprint}},
      successor.all_owners(successor.threshold_)));
}

}  // namespace microledger
