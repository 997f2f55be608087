#include "tests/host/owner_chain.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/timestamp.h"

namespace microledger {

OwnerChain::OwnerChain(std::string ledger_id, std::string ledger_token, int owners,
                       int threshold)
    : token_(std::move(ledger_token)), threshold_(threshold) {
  for (int i = 0; i < owners; ++i) owners_.push_back(*SigningKey::Generate());
  std::sort(owners_.begin(), owners_.end(), [](const SigningKey& a, const SigningKey& b) {
    return a.public_key_text() < b.public_key_text();
  });
  state_ = ChainState::Empty(ledger_id);
}

Block OwnerChain::Next(Json event, std::optional<std::vector<std::string>> seals) const {
  BlockContent content;
  content.time_millis = NowMillis();
  content.seals = std::move(seals);
  if (state_.head_number == 0) {
    Controllers controllers{threshold_, {}};
    for (const SigningKey& key : owners_) controllers.keys.push_back(key.public_key_text());
    content.controllers = controllers;
    content.event = {{"event", "opened document"},
                     {"document type", "test"},
                     {"cryptographic signing key", owners_[0].public_key_text()}};
  } else if (event.is_null()) {
    content.event = {{"event", "updated"},
                     {"n", static_cast<double>(state_.head_number + 1)}};
  } else {
    content.event = std::move(event);
  }
  Block block = DraftNextBlock(state_, std::move(content));
  return Reseal(std::move(block));
}

std::vector<Block> OwnerChain::DraftAhead(int count) const {
  OwnerChain ahead(state_.ledger, token_, 0, threshold_);
  ahead.state_ = state_;
  std::vector<Block> blocks;
  for (int i = 0; i < count; ++i) {
    BlockContent content;
    content.time_millis = NowMillis();
    content.event = {{"event", "updated"},
                     {"n", static_cast<double>(ahead.state_.head_number + 1)}};
    if (ahead.state_.head_number == 0) {
      blocks.push_back(Next());
    } else {
      blocks.push_back(Reseal(DraftNextBlock(ahead.state_, std::move(content))));
    }
    ahead.state_ = AdvanceChain(ahead.state_, blocks.back());
  }
  return blocks;
}

Block OwnerChain::Reseal(Block block, int signers) const {
  block.fingerprint = ComputeFingerprint(block);
  block.signatures.clear();
  const int needed = signers >= 0 ? signers : threshold_;
  std::vector<const SigningKey*> keys;
  for (int i = 0; i < needed && i < static_cast<int>(owners_.size()); ++i) {
    keys.push_back(&owners_[i]);
  }
  SignAsOwners(block, keys);
  return block;
}

absl::Status OwnerChain::Accept(const Block& owner_signed,
                                const BlockSignature& host_signature) {
  Block complete = owner_signed;
  complete.signatures.push_back(host_signature);
  if (absl::Status s = CheckNextBlock(state_, complete, SignatureStage::kComplete,
                                      BlockRuleOptions());
      !s.ok()) {
    return s;
  }
  state_ = AdvanceChain(state_, complete);
  blocks_.push_back(std::move(complete));
  return absl::OkStatus();
}

std::vector<BlockSignature> OwnerChain::SignForget() const {
  const std::string message = ForgetRequestMessage(state_.ledger, state_.head_fingerprint);
  std::vector<BlockSignature> signatures;
  for (int i = 0; i < threshold_; ++i) {
    signatures.push_back({"owner", "Ed25519", owners_[i].public_key_text(),
                          owners_[i].SignText(message)});
  }
  return signatures;
}

absl::StatusOr<ChainState> VerifyChainBytes(const std::string& ledger_id,
                                            const std::vector<std::string>& blocks) {
  ChainState state = ChainState::Empty(ledger_id);
  for (size_t i = 0; i < blocks.size(); ++i) {
    absl::StatusOr<Block> block = ParseBlock(blocks[i], SignatureStage::kComplete);
    if (!block.ok()) {
      return absl::Status(block.status().code(),
                          absl::StrCat("block ", i + 1, ": ", block.status().message()));
    }
    if (absl::Status s = CheckNextBlock(state, *block, SignatureStage::kComplete,
                                        BlockRuleOptions());
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("block ", i + 1, ": ", s.message()));
    }
    state = AdvanceChain(state, *block);
  }
  return state;
}

}  // namespace microledger
