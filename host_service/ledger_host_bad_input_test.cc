// One rejected block per rule: the code, a message naming the rule (and the
// block number), and an unchanged head, against both stores.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/block_builder.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host_service/ledger_host.h"
#include "host_service/ledger_host_fixture.h"
#include "host_service/ledger_host_testing.h"
#include "ledger_store/storage_layout.h"
#include "tests/host/owner_chain.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

// One bad input: the code, a message naming the rule (and block number), and
// an unchanged head.
struct BadCase {
  absl::StatusCode code;
  std::string message_part;
};

class BadInputTest : public LedgerHostTest {
 protected:
  void SetUp() override {
    LedgerHostTest::SetUp();
    chain_ = std::make_unique<OwnerChain>(NewChain(2, 2));
    AppendN(*chain_, 3);
  }
  void ExpectRejected(const AppendInput& input, absl::StatusCode code,
                      absl::string_view part) {
    const uint64_t head = HeadOf(chain_->ledger_id());
    absl::StatusOr<LedgerInfo> before = host_->reader().GetLedger(chain_->ledger_id());
    absl::StatusOr<AppendResult> result = AppendAndWait(*host_, input);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(std::string(part)));
    EXPECT_EQ(HeadOf(chain_->ledger_id()), head);
    absl::StatusOr<LedgerInfo> after = host_->reader().GetLedger(chain_->ledger_id());
    EXPECT_EQ(after->checkpoint, before->checkpoint);
  }
  AppendInput Input(const Block& block) { return {OwnerChain::Bytes(block), {}, ""}; }
  std::unique_ptr<OwnerChain> chain_;
};

TEST_P(BadInputTest, MalformedBytes) {
  std::string bytes = OwnerChain::Bytes(chain_->Next());
  ExpectRejected({bytes + " ", {}, ""}, absl::StatusCode::kInvalidArgument, "block:");
  ExpectRejected({"{\"ledger\":1}", {}, ""}, absl::StatusCode::kInvalidArgument, "block:");
  Block block = chain_->Next();
  block.fingerprint = DigestText("x");
  ExpectRejected(Input(block), absl::StatusCode::kInvalidArgument, "fingerprint");
}

TEST_P(BadInputTest, WrongPrevious) {
  Block block = chain_->Next();
  block.previous = DigestText("not the head");
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 4: previous");
}

TEST_P(BadInputTest, Gap) {
  Block block = chain_->Next();
  block.number = 6;
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 6: number: expected block 4");
}

TEST_P(BadInputTest, ThresholdNotMet) {
  ExpectRejected(Input(chain_->Reseal(chain_->Next(), 1)),
                 absl::StatusCode::kFailedPrecondition, "block 4: threshold");
}

TEST_P(BadInputTest, ForeignSigner) {
  Block block = chain_->Next();
  SigningKey stranger = *SigningKey::Generate();
  block.signatures.clear();
  SignAsOwners(block, {&chain_->owner(0), &stranger});
  ExpectRejected(Input(block), absl::StatusCode::kFailedPrecondition,
                 "block 4: owner signatures");
}

TEST_P(BadInputTest, Replay) {
  ExpectRejected(Input(chain_->Reseal(chain_->blocks()[2])),
                 absl::StatusCode::kFailedPrecondition, "block 3: number: expected block 4");
}

TEST_P(BadInputTest, ClockSkew) {
  Block block = chain_->Next();
  block.time_millis += 3600 * 1000;
  block.time = FormatTimestampMillis(block.time_millis);
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 4: time");
}

TEST_P(BadInputTest, AfterClosed) {
  ASSERT_TRUE(Send(*chain_, chain_->Next({{"event", "closed document"}})).ok());
  ExpectRejected(Input(chain_->Next()), absl::StatusCode::kFailedPrecondition,
                 "block 5: terminal");
  absl::StatusOr<LedgerInfo> info = host_->reader().GetLedger(chain_->ledger_id());
  EXPECT_EQ(info->state.terminal_event, "closed document");
}

TEST_P(BadInputTest, BlockForAnotherLedger) {
  // A block whose ledger names a ledger of this host, chained on another's head.
  OwnerChain other = NewChain(2, 2);
  AppendN(other, 3);
  Block block = chain_->Next();
  block.ledger = other.ledger_id();
  ExpectRejected(Input(chain_->Reseal(block)), absl::StatusCode::kFailedPrecondition,
                 "block 4:");
}

TEST_P(BadInputTest, GenesisWithWrongToken) {
  OwnerChain fresh = NewChain();
  AppendInput input{OwnerChain::Bytes(fresh.Next()), {}, chain_->token()};
  EXPECT_EQ(AppendAndWait(*host_, input).status().code(), absl::StatusCode::kFailedPrecondition);
  input.ledger_token = "";
  EXPECT_EQ(AppendAndWait(*host_, input).status().code(), absl::StatusCode::kInvalidArgument);
  input.ledger_token = "short";
  EXPECT_EQ(AppendAndWait(*host_, input).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(host_->reader().GetLedger(fresh.ledger_id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(BadInputTest, UnknownLedger) {
  OwnerChain fresh = NewChain();
  Block genesis = fresh.Next();
  ASSERT_TRUE(fresh.Accept(genesis, {"host", "Ed25519", "u", "u"}).ok() == false);
  Block block = chain_->Next();
  block.ledger = fresh.ledger_id();
  absl::StatusOr<AppendResult> result = AppendAndWait(*host_, Input(chain_->Reseal(block)));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("block 4: ledger"));
  EXPECT_EQ(host_->reader().GetLedger(fresh.ledger_id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(BadInputTest, Limits) {
  Block block = chain_->Next({{"event", "big"}, {"pad", std::string(70000, 'x')}});
  ExpectRejected(Input(block), absl::StatusCode::kResourceExhausted, "block size");
  Block sealed = chain_->Next(nullptr, std::vector<std::string>{DigestText("a")});
  AppendInput input = Input(sealed);
  input.attachments.assign(17, {"", "a"});
  ExpectRejected(input, absl::StatusCode::kResourceExhausted, "attachments");
  input.attachments.assign(1, {"", std::string((1 << 20) + 1, 'a')});
  ExpectRejected(input, absl::StatusCode::kResourceExhausted, "attachment size");
}

TEST_P(BadInputTest, AttachmentMatchingNoSeal) {
  Block sealed = chain_->Next(nullptr, std::vector<std::string>{DigestText("a")});
  AppendInput input = Input(sealed);
  input.attachments.push_back({"x", "b"});
  ExpectRejected(input, absl::StatusCode::kInvalidArgument,
                 "block 4: attachment: attachment 0");
}

INSTANTIATE_TEST_SUITE_P(Stores, BadInputTest, ::testing::Values("memory", "rocksdb"));

}  // namespace
}  // namespace microledger
