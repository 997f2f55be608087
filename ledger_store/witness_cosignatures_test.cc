#include "ledger_store/witness_cosignatures.h"

#include <memory>
#include <string>
#include <vector>

#include "common/cosignature.h"
#include "common/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/storage_layout.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;

WitnessKey MakeKey(absl::string_view name) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  EXPECT_TRUE(key.ok());
  absl::StatusOr<WitnessKey> witness = MakeWitnessKey(name, key->public_key());
  EXPECT_TRUE(witness.ok());
  return *witness;
}

class WitnessCosignaturesTest : public ::testing::Test {
 protected:
  WitnessCosignaturesTest()
      : store_(NewMemoryKvStore()),
        cosignatures_(store_.get(), {MakeKey("a"), MakeKey("b"), MakeKey("c")}, 2) {}

  std::optional<WitnessedRecord> Witnessed(const std::string& ledger_key) {
    absl::StatusOr<std::string> bytes = store_->Get(WitnessedKey(ledger_key));
    if (!bytes.ok()) return std::nullopt;
    absl::StatusOr<WitnessedRecord> record = DecodeWitnessedRecord(*bytes);
    EXPECT_TRUE(record.ok());
    return *record;
  }

  const std::string ledger_ = std::string(32, '\x11');
  std::unique_ptr<KvStore> store_;
  WitnessCosignatures cosignatures_;
};

TEST_F(WitnessCosignaturesTest, KeepsTheNewestLinePerWitness) {
  EXPECT_EQ(*cosignatures_.CosignedSize(ledger_, 0), std::nullopt);
  ASSERT_TRUE(cosignatures_.Record(ledger_, 0, 3, "a3\n").ok());
  ASSERT_TRUE(cosignatures_.Record(ledger_, 0, 8, "a8\n").ok());
  EXPECT_EQ(*cosignatures_.CosignedSize(ledger_, 0), 8u);
  EXPECT_EQ(*cosignatures_.CosignedSize(ledger_, 1), std::nullopt);
  EXPECT_EQ(*cosignatures_.CosignedSize(std::string(32, '\x12'), 0), std::nullopt);
}

TEST_F(WitnessCosignaturesTest, ACheckpointIsWitnessedWhenAQuorumsNewestLinesAreOnIt) {
  EXPECT_FALSE(*cosignatures_.Record(ledger_, 0, 5, "a5\n"));
  EXPECT_EQ(Witnessed(ledger_), std::nullopt);
  EXPECT_TRUE(*cosignatures_.Record(ledger_, 2, 5, "c5\n"));
  ASSERT_TRUE(Witnessed(ledger_).has_value());
  EXPECT_EQ(Witnessed(ledger_)->tree_size, 5u);
  EXPECT_THAT(Witnessed(ledger_)->lines, ElementsAre("a5\n", "c5\n"));
  // The third witness's line joins them, in witness order.
  EXPECT_TRUE(*cosignatures_.Record(ledger_, 1, 5, "b5\n"));
  EXPECT_THAT(Witnessed(ledger_)->lines, ElementsAre("a5\n", "b5\n", "c5\n"));
  // One witness further on is no quorum: the witnessed checkpoint stays.
  EXPECT_FALSE(*cosignatures_.Record(ledger_, 0, 9, "a9\n"));
  EXPECT_EQ(Witnessed(ledger_)->tree_size, 5u);
  EXPECT_TRUE(*cosignatures_.Record(ledger_, 1, 9, "b9\n"));
  EXPECT_EQ(Witnessed(ledger_)->tree_size, 9u);
  EXPECT_THAT(Witnessed(ledger_)->lines, ElementsAre("a9\n", "b9\n"));
  // An older quorum never replaces a newer one.
  ASSERT_TRUE(cosignatures_.Record(ledger_, 0, 4, "a4\n").ok());
  EXPECT_FALSE(*cosignatures_.Record(ledger_, 2, 4, "c4\n"));
  EXPECT_EQ(Witnessed(ledger_)->tree_size, 9u);
}

TEST_F(WitnessCosignaturesTest, ForgettingTheLedgerDeletesItsCosignatures) {
  ASSERT_TRUE(cosignatures_.Record(ledger_, 0, 5, "a5\n").ok());
  ASSERT_TRUE(cosignatures_.Record(ledger_, 1, 5, "b5\n").ok());
  KvBatch forget;
  forget.delete_ranges = LedgerKeyRanges(ledger_);
  ASSERT_TRUE(store_->Write(forget).ok());
  EXPECT_EQ(Witnessed(ledger_), std::nullopt);
  EXPECT_EQ(*cosignatures_.CosignedSize(ledger_, 0), std::nullopt);
}

}  // namespace
}  // namespace microledger
