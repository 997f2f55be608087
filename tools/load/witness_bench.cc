#include "tools/load/witness_bench.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "ledger_store/kv_store.h"
#include "nlohmann/json.hpp"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "serving/http_client.h"
#include "tools/load/drafting.h"
#include "tools/load/floor.h"
#include "tools/load/process_stats.h"
#include "witness/add_checkpoint_request.h"
#include "witness/witness.h"
#include "witness/witness_store.h"

namespace microledger {
namespace load {
namespace {

// Checkpoint sizes: round r cosigns size kFirstSize + r * kSizeStep, so every
// request after the first carries a consistency proof of ~10 hashes, as a
// ledger of about a thousand blocks that grew by a hundred would.
constexpr uint64_t kFirstSize = 1000;
constexpr uint64_t kSizeStep = 100;
// Ledgers whose requests are held in memory at once.
constexpr int kLedgerChunk = 10000;
constexpr size_t kRocksDbCacheMb = 64;

uint64_t SizeOfRound(int round) { return kFirstSize + kSizeStep * static_cast<uint64_t>(round); }

// One Merkle tree every benchmark ledger shares (the witness never sees the
// leaves, only roots and proofs; each ledger signs its own checkpoints): the
// root of each round's size and the proof from the round before.
class RoundTree {
 public:
  static absl::StatusOr<RoundTree> Build(int rounds) {
    RoundTree tree;
    MemoryMerkleTree merkle;
    for (uint64_t i = 0; i < SizeOfRound(rounds - 1); ++i) merkle.AppendLeaf(absl::StrCat("leaf ", i));
    for (int round = 0; round < rounds; ++round) {
      absl::StatusOr<MerkleHash> root = MerkleRootAt(merkle, SizeOfRound(round));
      if (!root.ok()) return root.status();
      tree.roots_.push_back(*root);
      std::vector<MerkleHash> proof;
      if (round > 0) {
        absl::StatusOr<std::vector<MerkleHash>> made =
            MerkleConsistencyProof(merkle, SizeOfRound(round - 1), SizeOfRound(round));
        if (!made.ok()) return made.status();
        proof = *std::move(made);
      }
      tree.proofs_.push_back(std::move(proof));
    }
    return tree;
  }
  const MerkleHash& root(int round) const { return roots_[round]; }
  const std::vector<MerkleHash>& proof(int round) const { return proofs_[round]; }

 private:
  std::vector<MerkleHash> roots_;
  std::vector<std::vector<MerkleHash>> proofs_;
};

// The add-checkpoint bodies of `ledgers` fresh ledgers (each its own host
// key): bodies[round][ledger], round 0 from size 0, each later one from the
// size of the round before.
std::vector<std::vector<std::string>> MakeBodies(const RoundTree& tree, int ledgers, int rounds,
                                                 int threads) {
  std::vector<std::vector<std::string>> bodies(rounds, std::vector<std::string>(ledgers));
  ParallelFor(ledgers, threads, [&](int ledger) {
    const SigningKey host_key = *SigningKey::Generate();
    const std::string ledger_id = LedgerIdFromPublicKeyText(host_key.public_key_text());
    for (int round = 0; round < rounds; ++round) {
      AddCheckpointRequest request;
      request.old_size = round == 0 ? 0 : SizeOfRound(round - 1);
      request.proof = tree.proof(round);
      request.note = SignCheckpoint(Checkpoint{ledger_id, SizeOfRound(round), tree.root(round)},
                                    host_key);
      bodies[round][ledger] = AddCheckpointBody(request);
    }
  });
  return bodies;
}

double MeanProofHashes(const RoundTree& tree, int first_round, int rounds) {
  if (first_round >= rounds) return 0;
  double hashes = 0;
  for (int round = first_round; round < rounds; ++round) hashes += tree.proof(round).size();
  return hashes / (rounds - first_round);
}

absl::StatusOr<WitnessSigner> BenchWitnessSigner() {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  if (!key.ok()) return key.status();
  return WitnessSigner::Create("witness.example/bench", *std::move(key));
}

// Runs `ledgers` ledgers × `rounds` cosignatures through a Witness on `store`
// on this thread, `kLedgerChunk` ledgers at a time (round by round within a
// chunk). Adds the first cosignatures to `first` and the later ones to `next`.
absl::Status RunInProcess(std::unique_ptr<KvStore> store, const WitnessSigner& signer,
                          const RoundTree& tree, int ledgers, int rounds, int threads,
                          WitnessBenchPhase& first, WitnessBenchPhase& next) {
  Witness witness(std::make_unique<WitnessStore>(std::move(store)),
                  [&signer](absl::string_view note_text) {
                    return signer.Cosign(note_text,
                                         static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())));
                  });
  for (int start = 0; start < ledgers; start += kLedgerChunk) {
    const int chunk = std::min(kLedgerChunk, ledgers - start);
    const std::vector<std::vector<std::string>> bodies = MakeBodies(tree, chunk, rounds, threads);
    for (int round = 0; round < rounds; ++round) {
      WitnessBenchPhase& phase = round == 0 ? first : next;
      const double cpu0 = OwnCpuSeconds();
      const Clock::time_point start_time = Clock::now();
      for (const std::string& body : bodies[round]) {
        absl::StatusOr<AddCheckpointRequest> request = ParseAddCheckpointBody(body);
        if (!request.ok()) return request.status();
        if (witness.AddCheckpoint(*request).outcome == AddCheckpointOutcome::kCosigned) {
          ++phase.cosigned;
        }
      }
      phase.wall_s += Seconds(Clock::now() - start_time);
      phase.cpu_s += OwnCpuSeconds() - cpu0;
      phase.count += bodies[round].size();
    }
  }
  return absl::OkStatus();
}

// Flushes and fully compacts the RocksDB database in `dir` (closed), with the
// table options of ledger_store's RocksDB store (Bloom filters of 10 bits).
absl::Status CompactDatabase(const std::string& dir) {
  rocksdb::Options options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, dir, &raw);
  if (!status.ok()) return absl::InternalError(status.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  status = db->Flush(rocksdb::FlushOptions());
  if (status.ok()) {
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    status = db->CompactRange(compact, nullptr, nullptr);
  }
  if (status.ok()) status = db->Close();
  if (!status.ok()) return absl::InternalError(status.ToString());
  return absl::OkStatus();
}

// Bytes of the regular files under `dir`: all of them, and the SST files.
struct DirectoryBytes {
  uint64_t all = 0;
  uint64_t sst = 0;
};
DirectoryBytes BytesUnder(const std::string& dir) {
  DirectoryBytes bytes;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, error)) {
    if (!entry.is_regular_file(error)) continue;
    const uint64_t size = entry.file_size(error);
    if (error) continue;
    bytes.all += size;
    if (entry.path().extension() == ".sst") bytes.sst += size;
  }
  return bytes;
}

absl::StatusOr<std::string> FreshDirectory(const std::string& work_dir, const std::string& name) {
  const std::string dir = absl::StrCat(work_dir, "/", name);
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  if (!std::filesystem::create_directories(dir, error) || error) {
    return absl::InternalError(absl::StrCat("cannot create ", dir));
  }
  return dir;
}

absl::Status RunThroughput(const WitnessBenchOptions& options, const WitnessSigner& signer,
                           WitnessBenchReport& report) {
  absl::StatusOr<RoundTree> tree = RoundTree::Build(options.rounds);
  if (!tree.ok()) return tree.status();
  struct Backend {
    std::string label;
    std::string storage;  // "memory" or "rocksdb"
    bool sync;
  };
  for (const Backend& backend : {Backend{"memory", "memory", false},
                                 Backend{"RocksDB sync=true (as ml-witness)", "rocksdb", true},
                                 Backend{"RocksDB sync=false", "rocksdb", false}}) {
    std::string dir;
    std::unique_ptr<KvStore> store;
    if (backend.storage == "memory") {
      store = NewMemoryKvStore();
    } else {
      absl::StatusOr<std::string> made =
          FreshDirectory(options.work_dir, backend.sync ? "db-sync" : "db-nosync");
      if (!made.ok()) return made.status();
      dir = *made;
      absl::StatusOr<std::unique_ptr<KvStore>> opened =
          OpenRocksDbKvStore(dir, backend.sync, kRocksDbCacheMb);
      if (!opened.ok()) return opened.status();
      store = *std::move(opened);
    }
    const std::string ledgers = absl::StrCat(options.ledgers, " ledgers");
    WitnessBenchPhase first{absl::StrCat("in process, ", backend.label, ": first"),
                            absl::StrCat(ledgers, ", old 0 (no proof)")};
    WitnessBenchPhase next{
        absl::StrCat("in process, ", backend.label, ": next"),
        absl::StrCat(ledgers, " x ", options.rounds - 1, ", +", kSizeStep, " blocks from ",
                     kFirstSize)};
    next.proof_hashes = MeanProofHashes(*tree, 1, options.rounds);
    absl::Status ran = RunInProcess(std::move(store), signer, *tree, options.ledgers,
                                    options.rounds, options.prepare_threads, first, next);
    if (!dir.empty()) {
      std::error_code error;
      std::filesystem::remove_all(dir, error);
    }
    if (!ran.ok()) return ran;
    report.phases.push_back(std::move(first));
    if (options.rounds > 1) report.phases.push_back(std::move(next));
  }
  return absl::OkStatus();
}

absl::Status RunBytes(const WitnessBenchOptions& options, const WitnessSigner& signer,
                      WitnessBenchReport& report) {
  absl::StatusOr<RoundTree> tree = RoundTree::Build(options.bytes_rounds);
  if (!tree.ok()) return tree.status();
  for (const int ledgers : options.bytes_ledgers) {
    absl::StatusOr<std::string> dir =
        FreshDirectory(options.work_dir, absl::StrCat("db-bytes-", ledgers));
    if (!dir.ok()) return dir.status();
    absl::StatusOr<std::unique_ptr<KvStore>> store =
        OpenRocksDbKvStore(*dir, /*sync=*/false, kRocksDbCacheMb);
    if (!store.ok()) return store.status();
    WitnessBenchPhase phase{
        absl::StrCat("bytes per ledger, ", ledgers, " ledgers"),
        absl::StrCat("RocksDB, each ledger cosigned ", options.bytes_rounds,
                     " times, then flushed and fully compacted")};
    // Every round counts in the one phase.
    absl::Status ran = RunInProcess(*std::move(store), signer, *tree, ledgers,
                                    options.bytes_rounds, options.prepare_threads, phase, phase);
    if (ran.ok()) ran = CompactDatabase(*dir);
    const DirectoryBytes bytes = BytesUnder(*dir);
    std::error_code error;
    std::filesystem::remove_all(*dir, error);
    if (!ran.ok()) return ran;
    phase.ledgers = static_cast<uint64_t>(ledgers);
    phase.disk_bytes = bytes.all;
    phase.sst_bytes = bytes.sst;
    phase.proof_hashes = MeanProofHashes(*tree, 0, options.bytes_rounds);
    report.phases.push_back(std::move(phase));
  }
  return absl::OkStatus();
}

absl::Status RunHttp(const WitnessBenchOptions& options, WitnessBenchReport& report) {
  absl::StatusOr<RoundTree> tree = RoundTree::Build(options.http_rounds);
  if (!tree.ok()) return tree.status();
  const std::vector<std::vector<std::string>> bodies =
      MakeBodies(*tree, options.http_ledgers, options.http_rounds, options.prepare_threads);
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create({});
  if (!client.ok()) return client.status();
  const std::string url = absl::StrCat("http://", options.witness_http, "/add-checkpoint");
  absl::StatusOr<double> cpu0 = ProcessCpuSeconds(options.witness_pid);
  if (!cpu0.ok()) return cpu0.status();
  std::atomic<uint64_t> cosigned{0};
  std::atomic<int> next_ledger{0};
  const Clock::time_point start = Clock::now();
  // Each client takes the next ledger and submits its rounds in order.
  ParallelFor(options.http_clients, options.http_clients, [&](int) {
    for (int ledger = next_ledger++; ledger < options.http_ledgers; ledger = next_ledger++) {
      for (int round = 0; round < options.http_rounds; ++round) {
        absl::StatusOr<HttpAnswer> answer = (*client)->Call(url, bodies[round][ledger]);
        if (answer.ok() && answer->status == 200) ++cosigned;
      }
    }
  });
  const double wall_s = Seconds(Clock::now() - start);
  absl::StatusOr<double> cpu1 = ProcessCpuSeconds(options.witness_pid);
  if (!cpu1.ok()) return cpu1.status();
  WitnessBenchPhase phase{
      "ml-witness over HTTP",
      absl::StrCat(options.http_clients, " clients, ", options.http_ledgers, " ledgers x ",
                   options.http_rounds, " (first from 0, then +", kSizeStep,
                   " blocks), loopback, ml-witness as started (RocksDB)")};
  phase.count = static_cast<uint64_t>(options.http_ledgers) * options.http_rounds;
  phase.cosigned = cosigned;
  phase.wall_s = wall_s;
  phase.cpu_s = *cpu1 - *cpu0;
  phase.proof_hashes = MeanProofHashes(*tree, 0, options.http_rounds);
  report.phases.push_back(std::move(phase));
  return absl::OkStatus();
}

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Best-of-rounds thread CPU microseconds of one Ed25519 sign and one verify
// of a checkpoint's note text (libsodium).
Floor MeasureCpuFloor() {
  EnsureSodiumInitialized();
  const SigningKey key = *SigningKey::Generate();
  const std::string note_text = CheckpointNoteText(
      Checkpoint{LedgerIdFromPublicKeyText(key.public_key_text()), kFirstSize, MerkleHash{}});
  constexpr int kRounds = 5;
  constexpr int kIterations = 1000;
  Floor floor{1e9, 1e9};
  std::vector<std::string> signatures(kIterations);
  for (int round = 0; round < kRounds; ++round) {
    double start = ThreadCpuSeconds();
    for (std::string& signature : signatures) signature = key.Sign(note_text);
    floor.sign_us = std::min(floor.sign_us, (ThreadCpuSeconds() - start) * 1e6 / kIterations);
    start = ThreadCpuSeconds();
    int verified = 0;
    for (const std::string& signature : signatures) {
      verified += VerifyEd25519(key.public_key(), note_text, signature) ? 1 : 0;
    }
    floor.verify_us = std::min(floor.verify_us, (ThreadCpuSeconds() - start) * 1e6 / kIterations);
    if (verified != kIterations) std::fprintf(stderr, "ml-witness-bench: floor self-check failed\n");
  }
  return floor;
}

double PerCosignatureUs(const WitnessBenchPhase& phase) {
  return phase.count == 0 ? 0 : phase.cpu_s * 1e6 / static_cast<double>(phase.count);
}

}  // namespace

absl::StatusOr<WitnessBenchReport> RunWitnessBench(const WitnessBenchOptions& options) {
  if (options.ledgers < 1 || options.rounds < 1 || options.bytes_rounds < 1 ||
      options.http_ledgers < 1 || options.http_rounds < 1 || options.http_clients < 1 ||
      options.prepare_threads < 1) {
    return absl::InvalidArgumentError("ledger, round, client and thread counts must be positive");
  }
  if (options.work_dir.empty()) return absl::InvalidArgumentError("a work directory is required");
  if (!options.witness_http.empty() && options.witness_pid <= 0) {
    return absl::InvalidArgumentError("the ml-witness pid is required with its HTTP address");
  }
  absl::StatusOr<WitnessSigner> signer = BenchWitnessSigner();
  if (!signer.ok()) return signer.status();
  WitnessBenchReport report;
  const Floor start_floor = MeasureCpuFloor();
  const Floor start_wall_floor = MeasureFloor();
  if (absl::Status ran = RunThroughput(options, *signer, report); !ran.ok()) return ran;
  if (absl::Status ran = RunBytes(options, *signer, report); !ran.ok()) return ran;
  if (!options.witness_http.empty()) {
    if (absl::Status ran = RunHttp(options, report); !ran.ok()) return ran;
  }
  const Floor end_floor = MeasureCpuFloor();
  const Floor end_wall_floor = MeasureFloor();
  report.sign_us = std::min(start_floor.sign_us, end_floor.sign_us);
  report.verify_us = std::min(start_floor.verify_us, end_floor.verify_us);
  report.wall_sign_us = std::min(start_wall_floor.sign_us, end_wall_floor.sign_us);
  report.wall_verify_us = std::min(start_wall_floor.verify_us, end_wall_floor.verify_us);
  return report;
}

std::string WitnessBenchTable(const WitnessBenchReport& report) {
  const double floor_us = report.sign_us + report.verify_us;
  std::string table = absl::StrCat(
      "| witness | setting | result | floor us | witness CPU us/cosignature | x floor |\n",
      "| --- | --- | --- | --- | --- | --- |\n");
  for (const WitnessBenchPhase& phase : report.phases) {
    const double cpu_us = PerCosignatureUs(phase);
    std::string result;
    if (phase.ledgers > 0) {
      result = absl::StrFormat("%.0f bytes/ledger (%.1f MiB; SST files %.0f bytes/ledger)",
                               static_cast<double>(phase.disk_bytes) / phase.ledgers,
                               static_cast<double>(phase.disk_bytes) / (1 << 20),
                               static_cast<double>(phase.sst_bytes) / phase.ledgers);
    } else {
      result = absl::StrFormat("%.0f cosignatures/s wall, %.0f per core-second",
                               phase.count / std::max(1e-9, phase.wall_s),
                               cpu_us > 0 ? 1e6 / cpu_us : 0.0);
    }
    if (phase.cosigned != phase.count) {
      absl::StrAppend(&result, absl::StrFormat(" (%d of %d cosigned)", phase.cosigned,
                                               phase.count));
    }
    const std::string setting =
        phase.proof_hashes > 0
            ? absl::StrFormat("%s; proofs of %.1f hashes on average", phase.setting,
                              phase.proof_hashes)
            : phase.setting;
    absl::StrAppend(&table, absl::StrFormat("| %s | %s | %s | %.1f (verify + sign) | %.1f | %.2f |\n",
                                            phase.name, setting, result, floor_us, cpu_us,
                                            cpu_us / std::max(1e-9, floor_us)));
  }
  absl::StrAppend(
      &table,
      absl::StrFormat("\nfloor: Ed25519 sign %.1f us + verify %.1f us of a checkpoint note (thread "
                      "CPU time, best of the start and the end of the run); wall clock: sign "
                      "%.1f us + verify %.1f us\n",
                      report.sign_us, report.verify_us, report.wall_sign_us,
                      report.wall_verify_us));
  return table;
}

std::string WitnessBenchJson(const WitnessBenchReport& report) {
  nlohmann::json phases = nlohmann::json::array();
  for (const WitnessBenchPhase& phase : report.phases) {
    phases.push_back({{"name", phase.name},
                      {"setting", phase.setting},
                      {"count", phase.count},
                      {"cosigned", phase.cosigned},
                      {"wall_s", phase.wall_s},
                      {"cpu_s", phase.cpu_s},
                      {"cpu_us_per_cosignature", PerCosignatureUs(phase)},
                      {"proof_hashes", phase.proof_hashes},
                      {"ledgers", phase.ledgers},
                      {"disk_bytes", phase.disk_bytes},
                      {"sst_bytes", phase.sst_bytes}});
  }
  return nlohmann::json{{"sign_us", report.sign_us},
                        {"verify_us", report.verify_us},
                        {"wall_sign_us", report.wall_sign_us},
                        {"wall_verify_us", report.wall_verify_us},
                        {"floor_us", report.sign_us + report.verify_us},
                        {"phases", phases}}
      .dump();
}

}  // namespace load
}  // namespace microledger
