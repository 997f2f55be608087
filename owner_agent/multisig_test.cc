#include "owner_agent/multisig.h"

#include <string>

#include "common/block_builder.h"
#include "common/ed25519.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

class MultisigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* key : {&a_, &b_, &c_}) {
      absl::StatusOr<SigningKey> generated = SigningKey::Generate();
      ASSERT_TRUE(generated.ok());
      *key = std::make_unique<SigningKey>(*std::move(generated));
    }
    controllers_ = Controllers{2, {a_->public_key_text(), b_->public_key_text(),
                                   c_->public_key_text()}};
    std::sort(controllers_.keys.begin(), controllers_.keys.end());
    BlockContent content;
    content.event = Json{{"event", "opened document"}};
    content.controllers = controllers_;
    content.time_millis = 1;
    block_ = DraftNextBlock(ChainState::Empty("uLEDGER"), std::move(content));
  }

  std::unique_ptr<SigningKey> a_, b_, c_;
  Controllers controllers_;
  Block block_;
};

TEST_F(MultisigTest, MissingKeysAreTheUnsignedControllers) {
  EXPECT_EQ(MissingKeys(block_, controllers_), controllers_.keys);
  const SigningKey* owners[] = {a_.get()};
  SignAsOwners(block_, owners);
  std::vector<std::string> missing = MissingKeys(block_, controllers_);
  EXPECT_EQ(missing.size(), 2u);
  EXPECT_EQ(std::count(missing.begin(), missing.end(), a_->public_key_text()), 0);
}

TEST_F(MultisigTest, DescribeProposalReplacesControllersAndMissingKeys) {
  const SigningKey* owners[] = {b_.get()};
  SignAsOwners(block_, owners);
  v1::BlockProposal proposal;
  proposal.mutable_controllers()->add_keys("uSTALE");
  proposal.add_missing_keys("uSTALE");
  DescribeProposal(block_, controllers_, &proposal);
  EXPECT_EQ(proposal.controllers().keys_size(), 3);
  EXPECT_EQ(proposal.controllers().threshold(), 2u);
  EXPECT_EQ(proposal.missing_keys_size(), 2);
  EXPECT_EQ(proposal.block(), SerializeBlock(block_));
}

TEST_F(MultisigTest, ProposalMustFollowTheHead) {
  EXPECT_TRUE(CheckProposalFollows(ChainState::Empty("uLEDGER"), block_).ok());
  ChainState ahead = ChainState::Empty("uLEDGER");
  ahead.head_number = 1;
  absl::Status status = CheckProposalFollows(ahead, block_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message().rfind("previous: ", 0), 0u) << status.message();
}

TEST_F(MultisigTest, ProposalSignaturesMustBeByControllersAndVerify) {
  const SigningKey* owners[] = {a_.get()};
  SignAsOwners(block_, owners);
  EXPECT_TRUE(CheckProposalSignatures(block_, controllers_).ok());

  Controllers others{1, {b_->public_key_text()}};
  absl::Status stranger = CheckProposalSignatures(block_, others);
  EXPECT_EQ(stranger.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stranger.message().rfind("authority: ", 0), 0u) << stranger.message();

  block_.signatures[0].sig = b_->SignText("another message");
  EXPECT_FALSE(CheckProposalSignatures(block_, controllers_).ok());
}

}  // namespace
}  // namespace microledger
