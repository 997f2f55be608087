#include "witness/witness.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/evidence.h"
#include "gtest/gtest.h"
#include "ledger_store/kv_store.h"
#include "witness/witness_store.h"
#include "witness/witness_testing.h"

namespace microledger {
namespace {

class WitnessTest : public ::testing::Test {
 protected:
  WitnessTest() : signer_(NewTestWitnessSigner()) { Reopen(NewMemoryKvStore()); }

  void Reopen(std::unique_ptr<KvStore> kv) {
    witness_.reset();
    witness_ = std::make_unique<Witness>(
        std::make_unique<WitnessStore>(std::move(kv)),
        [this](absl::string_view note_text) { return signer_.Cosign(note_text, 1700000000); });
  }

  AddCheckpointAnswer Submit(const AddCheckpointRequest& request) {
    return witness_->AddCheckpoint(request);
  }
  AddCheckpointAnswer Submit(uint64_t old_size, std::vector<MerkleHash> proof, std::string note) {
    AddCheckpointRequest request;
    request.old_size = old_size;
    request.proof = std::move(proof);
    request.note = std::move(note);
    return Submit(request);
  }

  std::string OriginHashOf(const TestLedger& ledger) { return OriginHash(ledger.ledger_id()); }

  WitnessSigner signer_;
  std::unique_ptr<Witness> witness_;
};

// The note text (three lines) of a checkpoint note.
std::string NoteText(const std::string& note) { return note.substr(0, note.find("\n\n") + 1); }

TEST_F(WitnessTest, StatusCodeSequenceOfTheProtocol) {
  const TestLedger ledger(8);

  // 404: the origin is not a ledger id (another log's, or a broken id).
  std::string other_log = ledger.Checkpoint(3);
  other_log.replace(0, ledger.ledger_id().size(), "example.com/log");
  EXPECT_EQ(Submit(0, {}, other_log).outcome, AddCheckpointOutcome::kUnknownOrigin);
  std::string broken_id = ledger.Checkpoint(3);
  broken_id.replace(0, ledger.ledger_id().size(), "jlinx:uAAAA");
  EXPECT_EQ(Submit(0, {}, broken_id).outcome, AddCheckpointOutcome::kUnknownOrigin);

  // 403: signed by another key under the ledger's name, or tampered with.
  const TestLedger stranger(2);
  absl::StatusOr<Checkpoint> genuine = VerifyCheckpoint(ledger.Checkpoint(3), ledger.ledger_id());
  ASSERT_TRUE(genuine.ok()) << genuine.status();
  absl::StatusOr<SigningKey> other_key = SigningKey::Generate();
  ASSERT_TRUE(other_key.ok());
  const std::string wrong_key = SignCheckpoint(*genuine, *other_key);
  EXPECT_EQ(Submit(0, {}, wrong_key).outcome, AddCheckpointOutcome::kBadSignature);
  std::string tampered = ledger.Checkpoint(3);
  tampered.replace(tampered.find('\n') + 1, 1, "4");  // Size 3 -> 4.
  EXPECT_EQ(Submit(0, {}, tampered).outcome, AddCheckpointOutcome::kBadSignature);
  EXPECT_EQ(Submit(0, {}, stranger.Checkpoint(1) + "junk\n").outcome,
            AddCheckpointOutcome::kBadSignature);

  // 403: more signature lines than the witness verifies (64).
  std::string crowded = ledger.Checkpoint(3);
  const std::string ledger_line = crowded.substr(crowded.find("\n\n") + 2);
  for (int i = 0; i < 64; ++i) crowded += ledger_line;
  EXPECT_EQ(Submit(0, {}, crowded).outcome, AddCheckpointOutcome::kBadSignature);
  crowded.resize(crowded.size() - ledger_line.size());
  EXPECT_EQ(Submit(4, {}, crowded).outcome, AddCheckpointOutcome::kOldAboveSize);

  // 400: old above the size.
  EXPECT_EQ(Submit(4, {}, ledger.Checkpoint(3)).outcome, AddCheckpointOutcome::kOldAboveSize);

  // 200: the first checkpoint, from old 0.
  const AddCheckpointAnswer first = Submit(ledger.Request(0, 3));
  ASSERT_EQ(first.outcome, AddCheckpointOutcome::kCosigned) << first.reason;
  EXPECT_TRUE(VerifyCosignatureLine(first.cosignature_line, NoteText(ledger.Checkpoint(3)),
                                    signer_.key())
                  .ok());

  // 409: a stale old size, answered with the size cosigned; then a retry.
  const AddCheckpointAnswer stale = Submit(ledger.Request(0, 5));
  EXPECT_EQ(stale.outcome, AddCheckpointOutcome::kSizeConflict);
  EXPECT_EQ(stale.latest_size, 3u);
  EXPECT_EQ(HttpStatusOf(stale.outcome), 409);
  EXPECT_EQ(Submit(ledger.Request(3, 5)).outcome, AddCheckpointOutcome::kCosigned);

  // 422: a proof that does not verify.
  std::vector<MerkleHash> bad_proof = ledger.Proof(5, 8);
  bad_proof[0][0] ^= 1;
  EXPECT_EQ(Submit(5, bad_proof, ledger.Checkpoint(8)).outcome,
            AddCheckpointOutcome::kInconsistent);
  EXPECT_EQ(Submit(5, ledger.Proof(4, 8), ledger.Checkpoint(8)).outcome,
            AddCheckpointOutcome::kInconsistent);

  // 422 + evidence: the same size with another root; frozen from then on.
  const AddCheckpointAnswer fork = Submit(5, {}, ledger.ForkedCheckpoint(5));
  EXPECT_EQ(fork.outcome, AddCheckpointOutcome::kInconsistent);
  absl::StatusOr<std::vector<std::string>> evidence = witness_->Evidence(OriginHashOf(ledger));
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  ASSERT_EQ(evidence->size(), 1u);
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence((*evidence)[0]);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->ledger, ledger.ledger_id());
  EXPECT_EQ(info->kind, EvidenceKind::kCheckpoints);

  const AddCheckpointAnswer frozen = Submit(ledger.Request(5, 8));
  EXPECT_EQ(frozen.outcome, AddCheckpointOutcome::kFrozen);
  EXPECT_EQ(HttpStatusOf(frozen.outcome), 422);
  EXPECT_EQ(frozen.evidence_id, info->id);
  // Checks 2 and 3 still come first for a frozen ledger.
  EXPECT_EQ(Submit(5, {}, tampered).outcome, AddCheckpointOutcome::kBadSignature);
  // The latest cosigned checkpoint stays the one of size 5.
  absl::StatusOr<std::string> latest = witness_->LatestCheckpoint(OriginHashOf(ledger));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(NoteText(*latest), NoteText(ledger.Checkpoint(5)));
}

TEST_F(WitnessTest, EvidenceIsKeptWhateverTheAnswer) {
  // 409: the stale old size does not hide the fork.
  const TestLedger ledger(6);
  ASSERT_EQ(Submit(ledger.Request(0, 5)).outcome, AddCheckpointOutcome::kCosigned);
  EXPECT_EQ(Submit(0, {}, ledger.ForkedCheckpoint(5)).outcome, AddCheckpointOutcome::kSizeConflict);
  EXPECT_EQ(Submit(ledger.Request(5, 6)).outcome, AddCheckpointOutcome::kFrozen);

  // 400: neither does an old size above the size.
  const TestLedger other(6);
  ASSERT_EQ(Submit(other.Request(0, 5)).outcome, AddCheckpointOutcome::kCosigned);
  EXPECT_EQ(Submit(6, {}, other.ForkedCheckpoint(5)).outcome, AddCheckpointOutcome::kOldAboveSize);
  EXPECT_EQ(Submit(other.Request(5, 6)).outcome, AddCheckpointOutcome::kFrozen);

  // One evidence object per ledger: a second fork adds none.
  EXPECT_EQ(Submit(5, {}, other.ForkedCheckpoint(5, 2)).outcome, AddCheckpointOutcome::kFrozen);
  EXPECT_EQ(witness_->Evidence(OriginHash(other.ledger_id()))->size(), 1u);

  // The evidence's notes are the note text, a blank line and the ledger key's
  // line only, even when the submission carried other lines.
  const TestLedger third(6);
  ASSERT_EQ(Submit(third.Request(0, 5)).outcome, AddCheckpointOutcome::kCosigned);
  const std::string fork = third.ForkedCheckpoint(5);
  const std::string with_cosignature =
      fork + *signer_.Cosign(NoteText(fork), 1700000000);
  EXPECT_EQ(Submit(5, {}, with_cosignature).outcome, AddCheckpointOutcome::kInconsistent);
  absl::StatusOr<std::vector<std::string>> evidence =
      witness_->Evidence(OriginHash(third.ledger_id()));
  ASSERT_TRUE(evidence.ok());
  EXPECT_NE((*evidence)[0].find(absl::StrCat("\\n\\n", "\xE2\x80\x94 ")), std::string::npos);
  EXPECT_EQ((*evidence)[0].find(signer_.key().name), std::string::npos);
}

TEST_F(WitnessTest, SizeZeroOldZeroAndEqualSizes) {
  const TestLedger ledger(4);
  // A size-0 checkpoint with the empty root is cosigned from old 0.
  ASSERT_EQ(Submit(0, {}, ledger.Checkpoint(0)).outcome, AddCheckpointOutcome::kCosigned);
  // Old 0 comes with no proof.
  EXPECT_EQ(Submit(0, ledger.Proof(1, 4), ledger.Checkpoint(4)).outcome,
            AddCheckpointOutcome::kInconsistent);
  ASSERT_EQ(Submit(ledger.Request(0, 2)).outcome, AddCheckpointOutcome::kCosigned);
  // The same checkpoint again: empty proof, equal roots; cosigned again.
  EXPECT_EQ(Submit(2, {}, ledger.Checkpoint(2)).outcome, AddCheckpointOutcome::kCosigned);
  // Equal sizes need an empty proof.
  EXPECT_EQ(Submit(2, ledger.Proof(1, 2), ledger.Checkpoint(2)).outcome,
            AddCheckpointOutcome::kInconsistent);
  EXPECT_EQ(Submit(ledger.Request(2, 4)).outcome, AddCheckpointOutcome::kCosigned);
  // Going back is a 409 (old must be 4 now), never a cosignature.
  const AddCheckpointAnswer back = Submit(ledger.Request(2, 3));
  EXPECT_EQ(back.outcome, AddCheckpointOutcome::kSizeConflict);
  EXPECT_EQ(back.latest_size, 4u);
}

TEST_F(WitnessTest, StoresTheNoteTheLedgerLineAndItsOwnLine) {
  const TestLedger ledger(3);
  const std::string note = ledger.Checkpoint(3);
  // Another witness's line before the ledger key's is not stored.
  const WitnessSigner other = NewTestWitnessSigner("other.example/w");
  const std::string other_line = *other.Cosign(NoteText(note), 1700000001);
  const std::string submitted = NoteText(note) + "\n" + other_line + note.substr(NoteText(note).size() + 1);
  const AddCheckpointAnswer answer = Submit(0, {}, submitted);
  ASSERT_EQ(answer.outcome, AddCheckpointOutcome::kCosigned) << answer.reason;
  absl::StatusOr<std::string> latest = witness_->LatestCheckpoint(OriginHash(ledger.ledger_id()));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, note + answer.cosignature_line);
  EXPECT_TRUE(VerifyCheckpoint(*latest, ledger.ledger_id()).ok());
  EXPECT_EQ(witness_->LatestCheckpoint(OriginHash("jlinx:unknown")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(witness_->Evidence(OriginHash(ledger.ledger_id())).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(WitnessTest, NewLedgerAdmissionIsAskedOnlyForAFirstCheckpoint) {
  const TestLedger ledger(3);
  int asked = 0;
  const auto refuse = [&asked] {
    ++asked;
    return false;
  };
  EXPECT_EQ(witness_->AddCheckpoint(ledger.Request(0, 2), refuse).outcome,
            AddCheckpointOutcome::kTooManyNewLedgers);
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(witness_->LatestCheckpoint(OriginHash(ledger.ledger_id())).ok());
  // A request that fails its checks does not spend the budget.
  EXPECT_EQ(witness_->AddCheckpoint(ledger.Request(1, 2), refuse).outcome,
            AddCheckpointOutcome::kSizeConflict);
  EXPECT_EQ(asked, 1);
  ASSERT_EQ(Submit(ledger.Request(0, 2)).outcome, AddCheckpointOutcome::kCosigned);
  EXPECT_EQ(witness_->AddCheckpoint(ledger.Request(2, 3), refuse).outcome,
            AddCheckpointOutcome::kCosigned);
  EXPECT_EQ(asked, 1);
}

TEST_F(WitnessTest, ConcurrentRequestsWithTheSameOldSizeGetOneCosignature) {
  // A slow cosigner widens the window between the check and the write, so
  // that a witness without its ledger lock would cosign several.
  witness_ = std::make_unique<Witness>(std::make_unique<WitnessStore>(NewMemoryKvStore()),
                                       [this](absl::string_view note_text) {
                                         absl::SleepFor(absl::Milliseconds(20));
                                         return signer_.Cosign(note_text, 1700000000);
                                       });
  const TestLedger ledger(40);
  ASSERT_EQ(Submit(ledger.Request(0, 8)).outcome, AddCheckpointOutcome::kCosigned);
  constexpr int kThreads = 16;
  std::atomic<int> cosigned{0};
  std::atomic<int> conflicts{0};
  std::vector<AddCheckpointRequest> requests;
  // Every thread extends 8 to its own size: only one may win.
  for (int i = 0; i < kThreads; ++i) requests.push_back(ledger.Request(8, 9 + i));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      const absl::Time give_up = absl::Now() + absl::Seconds(60);
      while (ready.load() < kThreads && absl::Now() < give_up) std::this_thread::yield();
      const AddCheckpointAnswer answer = witness_->AddCheckpoint(requests[i]);
      if (answer.outcome == AddCheckpointOutcome::kCosigned) cosigned.fetch_add(1);
      if (answer.outcome == AddCheckpointOutcome::kSizeConflict) conflicts.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(cosigned.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST(WitnessDurabilityTest, ARestartedWitnessRemembersWhatItCosigned) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/witness_rocksdb");
  const WitnessSigner signer = NewTestWitnessSigner();
  const auto cosign = [&signer](absl::string_view note_text) {
    return signer.Cosign(note_text, 1700000000);
  };
  const TestLedger ledger(6);
  {
    absl::StatusOr<std::unique_ptr<KvStore>> kv = OpenRocksDbKvStore(dir, /*sync=*/true);
    ASSERT_TRUE(kv.ok()) << kv.status();
    Witness witness(std::make_unique<WitnessStore>(*std::move(kv)), cosign);
    ASSERT_EQ(witness.AddCheckpoint(ledger.Request(0, 5)).outcome,
              AddCheckpointOutcome::kCosigned);
    ASSERT_EQ(witness.AddCheckpoint(AddCheckpointRequest{5, {}, ledger.ForkedCheckpoint(5)})
                  .outcome,
              AddCheckpointOutcome::kInconsistent);
  }
  absl::StatusOr<std::unique_ptr<KvStore>> kv = OpenRocksDbKvStore(dir, /*sync=*/true);
  ASSERT_TRUE(kv.ok()) << kv.status();
  Witness witness(std::make_unique<WitnessStore>(*std::move(kv)), cosign);
  EXPECT_EQ(witness.AddCheckpoint(ledger.Request(5, 6)).outcome, AddCheckpointOutcome::kFrozen);
  EXPECT_EQ(NoteText(*witness.LatestCheckpoint(OriginHash(ledger.ledger_id()))),
            NoteText(ledger.Checkpoint(5)));
  EXPECT_EQ(witness.Evidence(OriginHash(ledger.ledger_id()))->size(), 1u);
}

}  // namespace
}  // namespace microledger
