// Per-block costs of the format library, each beside the libsodium floor (one
// Ed25519 verify plus one sign, measured at start-up in the same run). After
// Google Benchmark's own table it prints one with the ratio to the floor.
// A program, not a test: `bazel run -c opt //common:format_benchmark`.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/block.h"
#include "common/block_builder.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/timestamp.h"

namespace microledger {
namespace {

double g_floor_seconds = 0;

// Best of several rounds of (sign + verify), in seconds per block.
double MeasureFloorSeconds() {
  SigningKey key = *SigningKey::Generate();
  const std::string message = BlockSignedMessage(DigestText("floor"));
  double best = 1e9;
  for (int round = 0; round < 5; ++round) {
    const int kIterations = 2000;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) {
      const std::string signature = key.Sign(message);
      benchmark::DoNotOptimize(VerifyEd25519(key.public_key(), message, signature));
    }
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count() / kIterations);
  }
  return best;
}

// Google Benchmark's console table, then each result against the floor.
class FloorTableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.iterations == 0) continue;
      rows_.push_back({run.benchmark_name(),
                       run.GetAdjustedCPUTime() /
                           benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e6});
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-40s %14s %12s %10s\n", "benchmark", "us/iteration",
                "floor us", "x floor");
    for (const auto& [name, micros] : rows_) {
      std::printf("%-40s %14.2f %12.2f %10.3f\n", name.c_str(), micros,
                  g_floor_seconds * 1e6, micros / (g_floor_seconds * 1e6));
    }
  }

 private:
  std::vector<std::pair<std::string, double>> rows_;
};

// A small chain whose last block is a typical application event.
struct SampleChain {
  SampleChain() : host(*SigningKey::Generate()), owner(*SigningKey::Generate()) {
    state = ChainState::Empty(LedgerIdFromPublicKeyText(host.public_key_text()));
    Append({{"event", "opened document"},
            {"document type", "didDocument"},
            {"cryptographic signing key", owner.public_key_text()}},
           Controllers{1, {owner.public_key_text()}});
    Append({{"event", "updated"}, {"n", 1.0}}, std::nullopt);
  }

  Block Next() const {
    Block block = DraftNextBlock(
        state, {{{"event", "updated document"},
                 {"patch", {{"op", "replace"}, {"path", "/name"}, {"value", "Alice"}}},
                 {"revision", 42.0}},
                std::nullopt,
                std::nullopt,
                NowMillis()});
    const SigningKey* owners[] = {&owner};
    SignAsOwners(block, owners);
    SignAsHost(block, host);
    return block;
  }

  void Append(Json event, std::optional<Controllers> controllers) {
    Block block =
        DraftNextBlock(state, {std::move(event), std::move(controllers), std::nullopt,
                               NowMillis()});
    const SigningKey* owners[] = {&owner};
    SignAsOwners(block, owners);
    SignAsHost(block, host);
    state = AdvanceChain(state, block);
  }

  SigningKey host;
  SigningKey owner;
  ChainState state;
};

void BM_Floor_SignPlusVerify(benchmark::State& state) {
  SigningKey key = *SigningKey::Generate();
  const std::string message = BlockSignedMessage(DigestText("floor"));
  for (auto _ : state) {
    const std::string signature = key.Sign(message);
    benchmark::DoNotOptimize(VerifyEd25519(key.public_key(), message, signature));
  }
}
BENCHMARK(BM_Floor_SignPlusVerify);

void BM_Canonicalize(benchmark::State& state) {
  SampleChain chain;
  const std::string text = BlockJson(chain.Next()).dump(2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Canonicalize(text));
  }
}
BENCHMARK(BM_Canonicalize);

void BM_Fingerprint(benchmark::State& state) {
  SampleChain chain;
  const Block block = chain.Next();
  for (auto _ : state) benchmark::DoNotOptimize(ComputeFingerprint(block));
}
BENCHMARK(BM_Fingerprint);

void BM_ParseBlock(benchmark::State& state) {
  SampleChain chain;
  const std::string bytes = SerializeBlock(chain.Next());
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseBlock(bytes, SignatureStage::kComplete));
  }
}
BENCHMARK(BM_ParseBlock);

// What a verifier pays per block: parse, recompute the fingerprint, check the
// chain rules and both signatures.
void BM_VerifyBlock(benchmark::State& state) {
  SampleChain chain;
  const std::string bytes = SerializeBlock(chain.Next());
  for (auto _ : state) {
    absl::StatusOr<Block> block = ParseBlock(bytes, SignatureStage::kComplete);
    benchmark::DoNotOptimize(CheckNextBlock(chain.state, *block,
                                            SignatureStage::kComplete,
                                            BlockRuleOptions()));
  }
}
BENCHMARK(BM_VerifyBlock);

// What the host pays per block before storage: parse the owner-signed block,
// check it (one owner verify), countersign, serialise the full block.
void BM_HostCountersign(benchmark::State& state) {
  SampleChain chain;
  Block owner_signed = chain.Next();
  owner_signed.signatures.pop_back();
  const std::string bytes = SerializeBlock(owner_signed);
  for (auto _ : state) {
    absl::StatusOr<Block> block = ParseBlock(bytes, SignatureStage::kOwnerSigned);
    benchmark::DoNotOptimize(CheckNextBlock(chain.state, *block,
                                            SignatureStage::kOwnerSigned,
                                            BlockRuleOptions::HostDefaults(NowMillis())));
    SignAsHost(*block, chain.host);
    benchmark::DoNotOptimize(SerializeBlock(*block));
  }
}
BENCHMARK(BM_HostCountersign);

void BM_MerkleAppend(benchmark::State& state) {
  MerkleFrontier frontier;
  const std::string leaf = Sha256Multihash("leaf");
  for (auto _ : state) {
    benchmark::DoNotOptimize(frontier.Append(HashMerkleLeaf(leaf)));
  }
}
BENCHMARK(BM_MerkleAppend);

void BM_InclusionProofAndVerify(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  MemoryMerkleTree tree;
  for (uint64_t i = 0; i < size; ++i) tree.AppendLeaf(Sha256Multihash(std::to_string(i)));
  const MerkleHash root = tree.Root();
  uint64_t index = 0;
  for (auto _ : state) {
    index = (index * 7919 + 1) % size;
    absl::StatusOr<std::vector<MerkleHash>> proof =
        MerkleInclusionProof(tree, index, size);
    benchmark::DoNotOptimize(VerifyMerkleInclusion(
        *tree.ReadNode(0, index), index, size, *proof, root));
  }
}
BENCHMARK(BM_InclusionProofAndVerify)->Arg(1000)->Arg(1000000);

}  // namespace
}  // namespace microledger

int main(int argc, char** argv) {
  microledger::EnsureSodiumInitialized();
  microledger::g_floor_seconds = microledger::MeasureFloorSeconds();
  std::printf("floor (one Ed25519 sign + one verify, this machine): %.2f us/block\n",
              microledger::g_floor_seconds * 1e6);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  microledger::FloorTableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
