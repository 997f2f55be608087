#include "witness/witness_store.h"

#include <memory>
#include <string>

#include "common/evidence.h"
#include "gtest/gtest.h"
#include "ledger_store/kv_store.h"

namespace microledger {
namespace {

CosignedCheckpoint Sample(uint64_t size) {
  CosignedCheckpoint checkpoint;
  checkpoint.tree_size = size;
  checkpoint.root.fill(7);
  checkpoint.note_text = "jlinx:uL\n" + std::to_string(size) + "\nroot=\n";
  checkpoint.ledger_key_line = "\xE2\x80\x94 jlinx:uL c2ln\n";
  checkpoint.cosignature_line = "\xE2\x80\x94 witness.example/w d2l0\n";
  return checkpoint;
}

TEST(WitnessStoreTest, CheckpointsRoundTripPerLedger) {
  WitnessStore store(NewMemoryKvStore());
  const std::string a = OriginHash("jlinx:uA");
  const std::string b = OriginHash("jlinx:uB");
  ASSERT_TRUE(store.PutCheckpoint(a, Sample(3)).ok());
  ASSERT_TRUE(store.PutCheckpoint(a, Sample(9)).ok());
  absl::StatusOr<WitnessLedgerState> state = store.Read(a);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(state->checkpoint.has_value());
  EXPECT_EQ(state->checkpoint->tree_size, 9u);
  EXPECT_EQ(state->checkpoint->root, Sample(9).root);
  EXPECT_EQ(state->checkpoint->SignedNote(),
            Sample(9).note_text + "\n" + Sample(9).ledger_key_line + Sample(9).cosignature_line);
  EXPECT_TRUE(state->frozen_evidence_id.empty());
  EXPECT_FALSE(store.Read(b)->checkpoint.has_value());
}

TEST(WitnessStoreTest, FirstEvidenceFreezesAndIdsAreNotKeptTwice) {
  WitnessStore store(NewMemoryKvStore());
  const std::string a = OriginHash("jlinx:uA");
  // The store keeps bytes (the witness validates them).
  EXPECT_TRUE(*store.AddEvidence(a, "first"));
  EXPECT_TRUE(*store.AddEvidence(a, "second"));
  EXPECT_FALSE(*store.AddEvidence(a, "first"));
  EXPECT_EQ(store.Read(a)->frozen_evidence_id, EvidenceId("first"));
  EXPECT_EQ(*store.Evidence(a), (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(store.Evidence(OriginHash("jlinx:uB"))->empty());
}

TEST(WitnessStoreTest, OriginHashHex) {
  const std::string hash = OriginHash("jlinx:uA");
  const std::string hex = OriginHashHex(hash);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(*OriginHashFromHex(hex), hash);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  if (upper != hex) {
    EXPECT_FALSE(OriginHashFromHex(upper).ok());
  }
  EXPECT_FALSE(OriginHashFromHex(hex.substr(1)).ok());
  EXPECT_FALSE(OriginHashFromHex(hex + "0").ok());
  EXPECT_FALSE(OriginHashFromHex(std::string(64, 'g')).ok());
  // SHA-256("") as a known answer.
  EXPECT_EQ(OriginHashHex(OriginHash("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace microledger
