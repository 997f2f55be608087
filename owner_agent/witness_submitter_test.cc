// WitnessSubmitter against in-memory fake witnesses that follow SPEC §12's
// answers (409 with their size, 422 for a proof or root that does not check
// out, 200 with a real cosignature line) and a fake host that serves
// consistency proofs of a MemoryMerkleTree: quorum, a down witness, the
// timeout, 409 resync with the host's proof, a witness ahead of the agent,
// and 422 for a fork turned into evidence. Waits are bounded.
#include "owner_agent/witness_submitter.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/merkle.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

// A ledger: a host key and a Merkle tree of random leaves.
class FakeLedger {
 public:
  FakeLedger() : host_(*SigningKey::Generate()) {
    ledger_id_ = LedgerIdFromPublicKeyText(host_.public_key_text());
  }
  const std::string& id() const { return ledger_id_; }
  void Grow(int leaves) {
    for (int i = 0; i < leaves; ++i) tree_.AppendLeaf(absl::StrCat("leaf ", tree_.size()));
  }
  uint64_t size() const { return tree_.size(); }
  std::string Checkpoint(uint64_t size) const {
    return SignCheckpoint({ledger_id_, size, *MerkleRootAt(tree_, size)}, host_);
  }
  std::string Fork(uint64_t size) const {
    MerkleHash other = *MerkleRootAt(tree_, size);
    other[0] ^= 1;
    return SignCheckpoint({ledger_id_, size, other}, host_);
  }
  absl::StatusOr<HostConsistencyProof> Proof(uint64_t old_size, uint64_t new_size) const {
    absl::StatusOr<std::vector<MerkleHash>> hashes =
        MerkleConsistencyProof(tree_, old_size, new_size);
    if (!hashes.ok()) return hashes.status();
    return HostConsistencyProof{Checkpoint(old_size), *hashes};
  }

 private:
  SigningKey host_;
  std::string ledger_id_;
  MemoryMerkleTree tree_;
};

std::string NoteText(const std::string& note) { return note.substr(0, note.find("\n\n") + 1); }

// One witness, in memory.
struct FakeWitnessState {
  absl::Mutex mu;
  bool down ABSL_GUARDED_BY(mu) = false;
  // By ledger id: the latest cosigned, with its line.
  std::map<std::string, std::string> notes ABSL_GUARDED_BY(mu);
  std::vector<std::string> evidence ABSL_GUARDED_BY(mu);
  std::vector<uint64_t> submitted_sizes ABSL_GUARDED_BY(mu);
  std::vector<uint64_t> old_sizes ABSL_GUARDED_BY(mu);  // Of each submission.
};

class FakeWitness : public WitnessClient, public WitnessReads {
 public:
  FakeWitness(const std::string& name, std::shared_ptr<FakeWitnessState> state)
      : signer_(*WitnessSigner::Create(name, *SigningKey::Generate())),
        endpoint_{signer_.key(), "http://" + name},
        state_(std::move(state)) {}

  const WitnessEndpoint& endpoint() const override { return endpoint_; }

  WitnessResult AddCheckpoint(uint64_t old_size, const std::vector<MerkleHash>& proof,
                              absl::string_view note) override {
    absl::MutexLock lock(&state_->mu);
    WitnessResult result;
    if (state_->down) return result;  // kTransportError.
    const std::string ledger_id(note.substr(0, note.find('\n')));
    absl::StatusOr<Checkpoint> submitted = VerifyCheckpoint(note, ledger_id);
    if (!submitted.ok()) return Answer(WitnessOutcome::kForbidden);
    state_->submitted_sizes.push_back(submitted->tree_size);
    state_->old_sizes.push_back(old_size);
    if (!state_->evidence.empty()) return Answer(WitnessOutcome::kFrozen);
    std::string& held_note = state_->notes[ledger_id];
    uint64_t held_size = 0;
    MerkleHash held_root{};
    if (!held_note.empty()) {
      absl::StatusOr<Checkpoint> held = VerifyCheckpoint(held_note, ledger_id);
      held_size = held->tree_size;
      held_root = held->root_hash;
    }
    if (held_size == submitted->tree_size && held_size > 0 &&
        held_root != submitted->root_hash) {
      state_->evidence.push_back(*BuildCheckpointsEvidence(
          ledger_id, held_note.substr(0, held_note.rfind("\xE2\x80\x94 " + signer_.key().name)),
          std::string(note)));
    }
    if (old_size != held_size) {
      WitnessResult conflict = Answer(WitnessOutcome::kSizeConflict);
      conflict.witness_size = held_size;
      return conflict;
    }
    const bool consistent =
        old_size == 0 ? proof.empty()
                      : VerifyMerkleConsistency(old_size, submitted->tree_size, held_root,
                                                submitted->root_hash, proof)
                            .ok();
    if (!consistent) return Answer(WitnessOutcome::kInconsistent);
    WitnessResult cosigned = Answer(WitnessOutcome::kCosigned);
    cosigned.cosignature_line = *signer_.Cosign(NoteText(std::string(note)), 1700000000);
    held_note = absl::StrCat(NoteText(std::string(note)), "\n",
                                note.substr(note.find("\n\n") + 2), cosigned.cosignature_line);
    return cosigned;
  }

  absl::StatusOr<std::string> LatestCheckpoint(const std::string& ledger_id) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->down) return absl::UnavailableError("down");
    const auto held = state_->notes.find(ledger_id);
    if (held == state_->notes.end() || held->second.empty()) {
      return absl::NotFoundError("none");
    }
    return held->second;
  }
  absl::StatusOr<std::vector<std::string>> Evidence(const std::string&) override {
    absl::MutexLock lock(&state_->mu);
    if (state_->down) return absl::UnavailableError("down");
    return state_->evidence;
  }

 private:
  static WitnessResult Answer(WitnessOutcome outcome) {
    WitnessResult result;
    result.outcome = outcome;
    return result;
  }

  WitnessSigner signer_;
  WitnessEndpoint endpoint_;
  std::shared_ptr<FakeWitnessState> state_;
};

// The reads half of a FakeWitness (the submitter owns both halves).
class FakeReads : public WitnessReads {
 public:
  explicit FakeReads(FakeWitness* witness) : witness_(witness) {}
  absl::StatusOr<std::string> LatestCheckpoint(const std::string& ledger_id) override {
    return witness_->LatestCheckpoint(ledger_id);
  }
  absl::StatusOr<std::vector<std::string>> Evidence(const std::string& ledger_id) override {
    return witness_->Evidence(ledger_id);
  }

 private:
  FakeWitness* witness_;
};

class WitnessSubmitterTest : public ::testing::Test {
 protected:
  void Start(int count, size_t quorum, size_t max_ledgers = 10000) {
    std::vector<AgentWitness> witnesses;
    for (int i = 0; i < count; ++i) {
      states_.push_back(std::make_shared<FakeWitnessState>());
      auto witness = std::make_unique<FakeWitness>(absl::StrCat("w", i), states_.back());
      keys_.push_back(witness->endpoint().key);
      fakes_.push_back(witness.get());
      auto reads = std::make_unique<FakeReads>(witness.get());
      witnesses.push_back({std::move(witness), std::move(reads)});
    }
    WitnessSubmitterOptions options;
    options.quorum = quorum;
    options.first_retry = absl::Milliseconds(20);
    options.max_retry = absl::Milliseconds(100);
    options.max_ledgers = max_ledgers;
    absl::StatusOr<std::unique_ptr<WitnessSubmitter>> submitter = WitnessSubmitter::Create(
        std::move(witnesses), options,
        [this](const std::string&, const std::string& host, uint64_t old_size,
               uint64_t new_size) -> absl::StatusOr<HostConsistencyProof> {
          EXPECT_EQ(host, "host:1");
          proofs_asked_++;
          return ledger_.Proof(old_size, new_size);
        },
        [this](EvidenceRecord evidence) {
          absl::MutexLock lock(&mu_);
          evidence_.push_back(std::move(evidence));
        });
    ASSERT_TRUE(submitter.ok()) << submitter.status();
    submitter_ = *std::move(submitter);
  }

  // Offers the ledger's checkpoint of `size` and waits (at most `timeout`)
  // for a quorum on a checkpoint of at least that size.
  Witnessing OfferAndWait(const FakeLedger& ledger, uint64_t size,
                          absl::Duration timeout = absl::Seconds(20)) {
    submitter_->Offer(ledger.id(), size, ledger.Checkpoint(size), "host:1");
    absl::Notification done;
    Witnessing witnessing;
    submitter_->AwaitWitnessed(ledger.id(), size, absl::Now() + timeout,
                               [&](Witnessing w) {
                                 witnessing = std::move(w);
                                 done.Notify();
                               });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(timeout + absl::Seconds(10)));
    return witnessing;
  }

  size_t Counted(const Witnessing& witnessing, const std::string& ledger_id) {
    absl::StatusOr<VerifiedCheckpointNote> note =
        VerifyCheckpointNote(witnessing.checkpoint, ledger_id);
    EXPECT_TRUE(note.ok()) << note.status();
    if (!note.ok()) return 0;
    absl::StatusOr<WitnessPolicy> policy =
        WitnessPolicy::Create(keys_, 1, std::nullopt, absl::Hours(24 * 365 * 100));
    absl::StatusOr<WitnessCount> count = policy->Count(*note, absl::Now());
    EXPECT_TRUE(count.ok()) << count.status();
    return count.ok() ? count->counted : 0;
  }

  std::vector<EvidenceRecord> Evidence() {
    absl::MutexLock lock(&mu_);
    return evidence_;
  }

  FakeLedger ledger_;
  std::atomic<int> proofs_asked_{0};
  std::vector<std::shared_ptr<FakeWitnessState>> states_;
  std::vector<WitnessKey> keys_;
  std::vector<FakeWitness*> fakes_;  // Owned by the submitter.
  absl::Mutex mu_;
  std::vector<EvidenceRecord> evidence_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<WitnessSubmitter> submitter_;
};

TEST_F(WitnessSubmitterTest, AQuorumCosignsAndTheNoteCarriesTheirLines) {
  Start(3, 2);
  ledger_.Grow(3);
  Witnessing witnessing = OfferAndWait(ledger_, 3);
  ASSERT_TRUE(witnessing.witnessed) << witnessing.detail;
  EXPECT_GE(Counted(witnessing, ledger_.id()), 2u);
  EXPECT_EQ(NoteText(witnessing.checkpoint), NoteText(ledger_.Checkpoint(3)));
  // The next checkpoint goes from size 3 with the host's proof.
  ledger_.Grow(4);
  witnessing = OfferAndWait(ledger_, 7);
  ASSERT_TRUE(witnessing.witnessed) << witnessing.detail;
  EXPECT_GT(proofs_asked_.load(), 0);
  EXPECT_TRUE(Evidence().empty());
}

TEST_F(WitnessSubmitterTest, OneDownIsStillAQuorumTwoDownTimesOut) {
  Start(3, 2);
  ledger_.Grow(2);
  {
    absl::MutexLock lock(&states_[0]->mu);
    states_[0]->down = true;
  }
  Witnessing witnessing = OfferAndWait(ledger_, 2);
  EXPECT_TRUE(witnessing.witnessed) << witnessing.detail;
  {
    absl::MutexLock lock(&states_[1]->mu);
    states_[1]->down = true;
  }
  ledger_.Grow(1);
  witnessing = OfferAndWait(ledger_, 3, absl::Milliseconds(300));
  EXPECT_FALSE(witnessing.witnessed);
  EXPECT_EQ(witnessing.checkpoint, "");
  EXPECT_NE(witnessing.detail.find("1 of 2 required witnesses"), std::string::npos)
      << witnessing.detail;
  EXPECT_NE(witnessing.detail.find("w1: transport_error"), std::string::npos)
      << witnessing.detail;
  // Back up: the retry (with backoff) makes the newest checkpoint witnessed.
  {
    absl::MutexLock lock(&states_[1]->mu);
    states_[1]->down = false;
  }
  witnessing = OfferAndWait(ledger_, 3);
  EXPECT_TRUE(witnessing.witnessed) << witnessing.detail;
}

TEST_F(WitnessSubmitterTest, AWitnessAheadOfTheAgentCountsWhenTheHostProvesIt) {
  Start(1, 1);
  ledger_.Grow(5);
  // Another party (the host) had the witness cosign size 5 already.
  ASSERT_EQ(fakes_[0]->AddCheckpoint(0, {}, ledger_.Checkpoint(5)).outcome,
            WitnessOutcome::kCosigned);
  Witnessing witnessing = OfferAndWait(ledger_, 3);
  ASSERT_TRUE(witnessing.witnessed) << witnessing.detail;
  absl::StatusOr<Checkpoint> witnessed = VerifyCheckpoint(witnessing.checkpoint, ledger_.id());
  ASSERT_TRUE(witnessed.ok()) << witnessed.status();
  EXPECT_EQ(witnessed->tree_size, 5u);
  EXPECT_EQ(Counted(witnessing, ledger_.id()), 1u);
  EXPECT_TRUE(Evidence().empty());
}

TEST_F(WitnessSubmitterTest, AWitnessHoldingAnotherRootOfTheSizeGivesEvidence) {
  Start(3, 2);
  ledger_.Grow(4);
  // The witnesses cosigned another history of size 4 under the same ledger
  // key (a restored backup served elsewhere).
  const std::string other = ledger_.Fork(4);
  for (FakeWitness* fake : fakes_) {
    ASSERT_EQ(fake->AddCheckpoint(0, {}, other).outcome, WitnessOutcome::kCosigned);
  }
  // The agent's size 3 first: each witness answers 409 4, and the host's
  // proof from 3 does not reach the witness's root (retried with backoff).
  submitter_->Offer(ledger_.id(), 3, ledger_.Checkpoint(3), "host:1");
  for (const auto& state : states_) {
    bool submitted = false;
    for (int i = 0; i < 2000 && !submitted; ++i) {
      {
        absl::MutexLock lock(&state->mu);
        submitted = state->submitted_sizes.size() > 1;
      }
      if (!submitted) absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(submitted);
  }
  // Then its size 4: submitted from the size the witness holds, refused
  // (422), and the witness's checkpoint of that size proves the fork.
  Witnessing witnessing = OfferAndWait(ledger_, 4);
  EXPECT_FALSE(witnessing.witnessed);
  EXPECT_NE(witnessing.detail.find("frozen"), std::string::npos) << witnessing.detail;
  std::vector<EvidenceRecord> evidence = Evidence();
  ASSERT_FALSE(evidence.empty());
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(evidence[0].evidence_object);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->ledger, ledger_.id());
  EXPECT_EQ(info->kind, EvidenceKind::kCheckpoints);
  EXPECT_EQ(evidence[0].evidence_id, info->id);
  EXPECT_EQ(evidence[0].kind, "witness");
  for (const EvidenceRecord& e : evidence) EXPECT_EQ(e.evidence_id, info->id);
  // The same id as the witnesses' own evidence (both notes reduced alike).
  // The refused checkpoint reaches the other witnesses asynchronously after
  // the first 422 froze the ledger: a bounded wait for each.
  for (const auto& state : states_) {
    bool refused = false;
    for (int i = 0; i < 2000 && !refused; ++i) {
      {
        absl::MutexLock lock(&state->mu);
        refused = !state->evidence.empty();
      }
      if (!refused) absl::SleepFor(absl::Milliseconds(5));
    }
    absl::MutexLock lock(&state->mu);
    ASSERT_FALSE(state->evidence.empty());
    EXPECT_EQ(EvidenceId(state->evidence[0]), info->id);
  }
  // A frozen ledger takes no new checkpoints, and waiters learn why at once.
  ledger_.Grow(1);
  witnessing = OfferAndWait(ledger_, 5, absl::Seconds(5));
  EXPECT_FALSE(witnessing.witnessed);
  EXPECT_NE(witnessing.detail.find("frozen"), std::string::npos) << witnessing.detail;
}

TEST_F(WitnessSubmitterTest, AFrozenWitnessHandsOverItsEvidence) {
  Start(1, 1);
  ledger_.Grow(2);
  ASSERT_EQ(fakes_[0]->AddCheckpoint(0, {}, ledger_.Fork(2)).outcome,
            WitnessOutcome::kCosigned);
  // Another party's fork of size 2 froze the witness already.
  EXPECT_EQ(fakes_[0]->AddCheckpoint(2, {}, ledger_.Checkpoint(2)).outcome,
            WitnessOutcome::kInconsistent);
  ledger_.Grow(1);
  Witnessing witnessing = OfferAndWait(ledger_, 3);
  EXPECT_FALSE(witnessing.witnessed);
  std::vector<EvidenceRecord> evidence = Evidence();
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].kind, "reported");
  EXPECT_EQ(evidence[0].host_address, "http://w0");
  EXPECT_TRUE(ValidateEvidence(evidence[0].evidence_object).ok());
}

// The submitter keeps the state of at most max_ledgers idle ledgers: one
// that was dropped is submitted again as a first one (the witness's 409 names
// its size, the host's proof goes from there), and a ledger with a waiter is
// kept however many others come (its waiter is answered, at its deadline or
// by a quorum).
TEST_F(WitnessSubmitterTest, IdleLedgersBeyondTheLimitAreDroppedAndSubmittedAgainLater) {
  Start(1, 1, /*max_ledgers=*/2);
  ledger_.Grow(3);
  ASSERT_TRUE(OfferAndWait(ledger_, 3).witnessed);
  struct Answer {
    absl::Notification done;
    Witnessing witnessing;
  };
  const auto await = [this](const FakeLedger& ledger, uint64_t size, absl::Duration within) {
    auto answer = std::make_shared<Answer>();
    submitter_->AwaitWitnessed(ledger.id(), size, absl::Now() + within,
                               [answer](Witnessing w) {
                                 answer->witnessing = std::move(w);
                                 answer->done.Notify();
                               });
    return answer;
  };
  // Waiters for checkpoints not offered yet: one answered by a quorum later,
  // one at its deadline, while others' ledgers come and go.
  FakeLedger waited, timed_out;
  waited.Grow(2);
  timed_out.Grow(1);
  const std::shared_ptr<Answer> waited_answer = await(waited, 2, absl::Seconds(60));
  const std::shared_ptr<Answer> timed_out_answer = await(timed_out, 1, absl::Seconds(1));
  std::vector<std::unique_ptr<FakeLedger>> others;
  for (int i = 0; i < 6; ++i) {
    others.push_back(std::make_unique<FakeLedger>());
    others.back()->Grow(1);
    ASSERT_TRUE(OfferAndWait(*others.back(), 1).witnessed);
  }
  // The two waited ledgers and at most 2 idle ones: ledger_, the least
  // recently used, is gone.
  EXPECT_LE(submitter_->kept_ledgers(), 4u);
  EXPECT_FALSE(submitter_->Knows(ledger_.id(), 3));
  EXPECT_TRUE(submitter_->Knows(others.back()->id(), 1));
  ASSERT_TRUE(timed_out_answer->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(timed_out_answer->witnessing.witnessed);
  EXPECT_NE(timed_out_answer->witnessing.detail.find("not witnessed in time"), std::string::npos)
      << timed_out_answer->witnessing.detail;
  EXPECT_FALSE(waited_answer->done.HasBeenNotified());
  submitter_->Offer(waited.id(), 2, waited.Checkpoint(2), "host:1");
  ASSERT_TRUE(waited_answer->done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(waited_answer->witnessing.witnessed) << waited_answer->witnessing.detail;
  // ledger_'s next checkpoint: sent as a first one (old size 0), refused with
  // the witness's size 3 (409), then sent from 3 with the host's proof.
  ledger_.Grow(2);
  Witnessing witnessing = OfferAndWait(ledger_, 5);
  ASSERT_TRUE(witnessing.witnessed) << witnessing.detail;
  EXPECT_EQ(NoteText(witnessing.checkpoint), NoteText(ledger_.Checkpoint(5)));
  std::vector<uint64_t> old_sizes_of_5;
  {
    absl::MutexLock lock(&states_[0]->mu);
    for (size_t i = 0; i < states_[0]->submitted_sizes.size(); ++i) {
      if (states_[0]->submitted_sizes[i] == 5) old_sizes_of_5.push_back(states_[0]->old_sizes[i]);
    }
  }
  EXPECT_EQ(old_sizes_of_5, (std::vector<uint64_t>{0, 3}));
  EXPECT_LE(submitter_->kept_ledgers(), 3u);
  EXPECT_TRUE(Evidence().empty());
}

TEST_F(WitnessSubmitterTest, CreateChecksTheQuorum) {
  EXPECT_FALSE(WitnessSubmitter::Create({}, {}, nullptr, nullptr).ok());
  Start(2, 2);
  std::vector<AgentWitness> one;
  auto witness = std::make_unique<FakeWitness>("solo", std::make_shared<FakeWitnessState>());
  auto reads = std::make_unique<FakeReads>(witness.get());
  one.push_back({std::move(witness), std::move(reads)});
  WitnessSubmitterOptions options;
  options.quorum = 2;
  EXPECT_FALSE(WitnessSubmitter::Create(std::move(one), options, nullptr, nullptr).ok());
}

}  // namespace
}  // namespace microledger
