#include "host_service/witness_submitter.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/cosignature.h"
#include "common/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;

// Long enough for anything that should happen to happen; a test only waits
// this long when it is about to fail.
constexpr absl::Duration kPatience = absl::Seconds(30);

struct Call {
  std::string ledger;
  uint64_t old_size;
  uint64_t tree_size;
  size_t proof_hashes;
};

// A witness whose answers a test scripts; records every request, and can
// hold requests until the test opens its gate.
class FakeWitness : public WitnessClient {
 public:
  explicit FakeWitness(absl::string_view name) {
    absl::StatusOr<SigningKey> key = SigningKey::Generate();
    endpoint_.key = *MakeWitnessKey(name, key->public_key());
    endpoint_.url = "http://127.0.0.1:1";
  }

  const WitnessEndpoint& endpoint() const override { return endpoint_; }

  WitnessResult AddCheckpoint(uint64_t old_size, const std::vector<MerkleHash>& proof,
                              absl::string_view checkpoint_note) override {
    absl::MutexLock lock(&mu_);
    const std::string ledger(checkpoint_note.substr(0, checkpoint_note.find('\n')));
    const uint64_t tree_size = std::stoull(std::string(checkpoint_note.substr(
        checkpoint_note.find('\n') + 1)));
    calls_.push_back({ledger, old_size, tree_size, proof.size()});
    ++in_flight_[ledger];
    max_in_flight_ = std::max(max_in_flight_, in_flight_[ledger]);
    mu_.Await(absl::Condition(&open_));
    --in_flight_[ledger];
    WitnessResult result;
    if (answer_) {
      result = answer_(old_size, tree_size);
    } else {
      result.outcome = WitnessOutcome::kCosigned;
      result.cosignature_line = absl::StrCat("line ", tree_size, "\n");
    }
    return result;
  }

  void SetOpen(bool open) {
    absl::MutexLock lock(&mu_);
    open_ = open;
  }
  // Answers from `answer` instead of cosigning everything.
  void SetAnswer(std::function<WitnessResult(uint64_t old_size, uint64_t tree_size)> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }
  bool WaitForCalls(size_t count) {
    absl::MutexLock lock(&mu_);
    const auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return calls_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kPatience);
  }
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int max_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }

 private:
  WitnessEndpoint endpoint_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  std::function<WitnessResult(uint64_t, uint64_t)> answer_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> in_flight_ ABSL_GUARDED_BY(mu_);
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// The host's side: each ledger's newest tree size (the note is "<ledger>\n<size>\n"),
// and the cosignatures recorded.
class FakeHost {
 public:
  void SetSize(const std::string& ledger, uint64_t size) {
    absl::MutexLock lock(&mu_);
    sizes_[ledger] = size;
  }
  WitnessSubmitterHooks Hooks() {
    WitnessSubmitterHooks hooks;
    hooks.latest = [this](const std::string& ledger)
        -> absl::StatusOr<WitnessSubmitterHooks::LatestCheckpoint> {
      absl::MutexLock lock(&mu_);
      const auto found = sizes_.find(ledger);
      if (found == sizes_.end()) return absl::NotFoundError("no such ledger");
      return WitnessSubmitterHooks::LatestCheckpoint{
          found->second, absl::StrCat(ledger, "\n", found->second, "\n")};
    };
    hooks.consistency_proof = [this](const std::string&, uint64_t old_size, uint64_t new_size)
        -> absl::StatusOr<std::vector<MerkleHash>> {
      absl::MutexLock lock(&mu_);
      proofs_.push_back({old_size, new_size});
      return std::vector<MerkleHash>(2);
    };
    hooks.cosigned_size = [this](const std::string& ledger,
                                 size_t witness) -> absl::StatusOr<std::optional<uint64_t>> {
      absl::MutexLock lock(&mu_);
      const auto found = cosigned_.find({ledger, witness});
      if (found == cosigned_.end()) return std::optional<uint64_t>();
      return std::optional<uint64_t>(found->second);
    };
    hooks.record = [this](const std::string& ledger, size_t witness, uint64_t tree_size,
                          const std::string&) {
      absl::MutexLock lock(&mu_);
      cosigned_[{ledger, witness}] = tree_size;
      return absl::OkStatus();
    };
    return hooks;
  }
  // Waits until `witness` has cosigned `size` of `ledger`.
  bool WaitForCosigned(const std::string& ledger, size_t witness, uint64_t size) {
    absl::MutexLock lock(&mu_);
    const auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const auto found = cosigned_.find({ledger, witness});
      return found != cosigned_.end() && found->second == size;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), kPatience);
  }
  std::vector<std::pair<uint64_t, uint64_t>> proofs() {
    absl::MutexLock lock(&mu_);
    return proofs_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, uint64_t> sizes_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, size_t>, uint64_t> cosigned_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, uint64_t>> proofs_ ABSL_GUARDED_BY(mu_);
};

WitnessSubmitterOptions FastOptions() {
  WitnessSubmitterOptions options;
  options.min_interval = absl::ZeroDuration();
  options.backoff_min = absl::Milliseconds(10);
  options.backoff_max = absl::Milliseconds(10);
  options.threads_per_witness = 4;
  options.log = [](absl::string_view) {};
  return options;
}

std::unique_ptr<WitnessSubmitter> MakeSubmitter(std::vector<FakeWitness*> witnesses,
                                                FakeHost& host, WitnessSubmitterOptions options) {
  std::vector<std::unique_ptr<WitnessClient>> clients;
  for (FakeWitness* witness : witnesses) clients.emplace_back(witness);
  absl::StatusOr<std::unique_ptr<WitnessSubmitter>> submitter =
      WitnessSubmitter::Create(std::move(clients), host.Hooks(), std::move(options));
  EXPECT_TRUE(submitter.ok()) << submitter.status();
  return *std::move(submitter);
}

TEST(WitnessSubmitterTest, CoalescesTouchesDuringARequestIntoTheNewestCheckpoint) {
  FakeHost host;
  auto* witness = new FakeWitness("w");
  std::unique_ptr<WitnessSubmitter> submitter = MakeSubmitter({witness}, host, FastOptions());
  witness->SetOpen(false);
  host.SetSize("L", 1);
  submitter->Touch("L");
  ASSERT_TRUE(witness->WaitForCalls(1));
  for (uint64_t size = 2; size <= 5; ++size) {
    host.SetSize("L", size);
    submitter->Touch("L");
  }
  witness->SetOpen(true);
  ASSERT_TRUE(host.WaitForCosigned("L", 0, 5));
  const std::vector<Call> calls = witness->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].old_size, 0u);
  EXPECT_EQ(calls[0].tree_size, 1u);
  EXPECT_EQ(calls[0].proof_hashes, 0u);
  // From the size it cosigned, with the consistency proof 1 -> 5.
  EXPECT_EQ(calls[1].old_size, 1u);
  EXPECT_EQ(calls[1].tree_size, 5u);
  EXPECT_EQ(calls[1].proof_hashes, 2u);
  EXPECT_THAT(host.proofs(), ElementsAre(std::make_pair(uint64_t{1}, uint64_t{5})));
}

TEST(WitnessSubmitterTest, NeverHasTwoRequestsOfOneLedgerInFlightAtAWitness) {
  FakeHost host;
  auto* witness = new FakeWitness("w");
  std::unique_ptr<WitnessSubmitter> submitter = MakeSubmitter({witness}, host, FastOptions());
  for (uint64_t size = 1; size <= 200; ++size) {
    for (const char* ledger : {"A", "B"}) {
      host.SetSize(ledger, size);
      submitter->Touch(ledger);
    }
  }
  ASSERT_TRUE(host.WaitForCosigned("A", 0, 200));
  ASSERT_TRUE(host.WaitForCosigned("B", 0, 200));
  EXPECT_EQ(witness->max_in_flight(), 1);
  EXPECT_LE(witness->calls().size(), 400u);
}

TEST(WitnessSubmitterTest, A409ResyncsFromTheWitnessSize) {
  FakeHost host;
  auto* witness = new FakeWitness("w");
  // The witness holds size 3 (say, from the owner's agent) that the host
  // has no record of.
  witness->SetAnswer([](uint64_t old_size, uint64_t tree_size) {
    WitnessResult result;
    if (old_size != 3) {
      result.outcome = WitnessOutcome::kSizeConflict;
      result.witness_size = 3;
      return result;
    }
    result.outcome = WitnessOutcome::kCosigned;
    result.cosignature_line = absl::StrCat("line ", tree_size, "\n");
    return result;
  });
  std::unique_ptr<WitnessSubmitter> submitter = MakeSubmitter({witness}, host, FastOptions());
  host.SetSize("L", 7);
  submitter->Touch("L");
  ASSERT_TRUE(host.WaitForCosigned("L", 0, 7));
  const std::vector<Call> calls = witness->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].old_size, 0u);
  EXPECT_EQ(calls[1].old_size, 3u);
  EXPECT_EQ(calls[1].tree_size, 7u);
  EXPECT_THAT(host.proofs(), ElementsAre(std::make_pair(uint64_t{3}, uint64_t{7})));
}

TEST(WitnessSubmitterTest, AWitnessThatHangsDelaysNoOtherWitness) {
  FakeHost host;
  auto* hanging = new FakeWitness("hanging");
  auto* working = new FakeWitness("working");
  hanging->SetOpen(false);
  std::unique_ptr<WitnessSubmitter> submitter =
      MakeSubmitter({hanging, working}, host, FastOptions());
  host.SetSize("L", 1);
  submitter->Touch("L");
  EXPECT_TRUE(host.WaitForCosigned("L", 1, 1));
  // Its round waits for the hanging witness; the next touch coalesces.
  host.SetSize("L", 2);
  submitter->Touch("L");
  hanging->SetOpen(true);
  EXPECT_TRUE(host.WaitForCosigned("L", 0, 2));
  EXPECT_TRUE(host.WaitForCosigned("L", 1, 2));
}

TEST(WitnessSubmitterTest, AnUnreachableWitnessIsPausedAndGetsTheLedgerLater) {
  FakeHost host;
  auto* witness = new FakeWitness("w");
  absl::Mutex mu;
  int failures_left = 3;
  witness->SetAnswer([&](uint64_t, uint64_t tree_size) {
    absl::MutexLock lock(&mu);
    WitnessResult result;
    if (failures_left > 0) {
      --failures_left;
      result.outcome = WitnessOutcome::kTransportError;
      result.detail = "connection refused";
      return result;
    }
    result.outcome = WitnessOutcome::kCosigned;
    result.cosignature_line = absl::StrCat("line ", tree_size, "\n");
    return result;
  });
  MetricsRegistry registry;
  WitnessSubmitterOptions options = FastOptions();
  options.submissions = &registry.AddCounter("submissions_total", "help", {"outcome"});
  std::unique_ptr<WitnessSubmitter> submitter = MakeSubmitter({witness}, host, options);
  host.SetSize("L", 4);
  submitter->Touch("L");  // Touched once: the retries are the submitter's own.
  ASSERT_TRUE(host.WaitForCosigned("L", 0, 4));
  EXPECT_EQ(options.submissions->WithLabels({"transport_error"}).value(), 3u);
  EXPECT_EQ(options.submissions->WithLabels({"cosigned"}).value(), 1u);
}

TEST(WitnessSubmitterTest, RoundsOfALedgerAreAtLeastTheMinimumIntervalApart) {
  FakeHost host;
  auto* witness = new FakeWitness("w");
  WitnessSubmitterOptions options = FastOptions();
  options.min_interval = absl::Hours(1);
  std::unique_ptr<WitnessSubmitter> submitter = MakeSubmitter({witness}, host, options);
  host.SetSize("L", 1);
  host.SetSize("M", 1);
  submitter->Touch("L");
  ASSERT_TRUE(host.WaitForCosigned("L", 0, 1));
  host.SetSize("L", 2);
  submitter->Touch("L");
  // Another ledger is not held back by it.
  submitter->Touch("M");
  ASSERT_TRUE(host.WaitForCosigned("M", 0, 1));
  EXPECT_EQ(submitter->waiting_ledgers(), 1u);  // L waits for its interval.
  EXPECT_EQ(witness->calls().size(), 2u);
}

TEST(WitnessSubmitterTest, RefusesBadOptions) {
  FakeHost host;
  EXPECT_FALSE(WitnessSubmitter::Create({}, host.Hooks(), FastOptions()).ok());
  std::vector<std::unique_ptr<WitnessClient>> one;
  one.push_back(std::make_unique<FakeWitness>("w"));
  WitnessSubmitterOptions no_threads = FastOptions();
  no_threads.threads_per_witness = 0;
  EXPECT_FALSE(WitnessSubmitter::Create(std::move(one), host.Hooks(), no_threads).ok());
}

}  // namespace
}  // namespace microledger
