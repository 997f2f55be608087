#include "owner_agent/host_auditor.h"

#include <string>

#include "common/block_builder.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

class HostSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<SigningKey> host = SigningKey::Generate();
    absl::StatusOr<SigningKey> owner = SigningKey::Generate();
    ASSERT_TRUE(host.ok() && owner.ok());
    host_ = std::make_unique<SigningKey>(*std::move(host));
    owner_ = std::make_unique<SigningKey>(*std::move(owner));
    ledger_id_ = LedgerIdFromPublicKeyText(host_->public_key_text());
    BlockContent content;
    content.event = Json{{"event", "opened document"}};
    content.controllers = Controllers{1, {owner_->public_key_text()}};
    content.time_millis = 1;
    block_ = DraftNextBlock(ChainState::Empty(ledger_id_), std::move(content));
    const SigningKey* owners[] = {owner_.get()};
    SignAsOwners(block_, owners);
  }

  std::unique_ptr<SigningKey> host_, owner_;
  std::string ledger_id_;
  Block block_;
};

TEST_F(HostSignatureTest, AcceptsTheLedgersHostKey) {
  SignAsHost(block_, *host_);
  EXPECT_TRUE(CheckHostSignatureOf(ledger_id_, block_).ok());
}

TEST_F(HostSignatureTest, RefusesAnotherKeyABadSignatureOrNone) {
  Block unsigned_block = block_;
  unsigned_block.signatures.clear();
  EXPECT_EQ(CheckHostSignatureOf(ledger_id_, unsigned_block).message(),
            "host signature: missing");

  Block by_owner = block_;
  SignAsHost(by_owner, *owner_);
  EXPECT_EQ(CheckHostSignatureOf(ledger_id_, by_owner).message(),
            "host signature: is not by the ledger's host key");

  SignAsHost(block_, *host_);
  block_.signatures.back().sig = host_->SignText("another message");
  EXPECT_EQ(CheckHostSignatureOf(ledger_id_, block_).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HeldTreeSizeTest, NoOrInvalidCheckpointIsZero) {
  LedgerRecord record;
  record.ledger_id = "uLEDGER";
  EXPECT_EQ(HeldTreeSize(record), 0u);
  record.checkpoint = "not a signed note";
  EXPECT_EQ(HeldTreeSize(record), 0u);
}

}  // namespace
}  // namespace microledger
