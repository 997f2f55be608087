// Helpers shared by the mirror process tests: a host and an owner agent with
// a ledger made through the agent, reads through the HostService API, and
// checks of blocks and proofs a reader makes on its own (common/merkle.h,
// common/checkpoint.h), trusting nothing but the ledger id.
#ifndef MICROLEDGER_TESTS_MIRROR_MIRROR_TEST_UTIL_H_
#define MICROLEDGER_TESTS_MIRROR_MIRROR_TEST_UTIL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/block.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "microledger/v1/host.grpc.pb.h"
#include "microledger/v1/mirror.grpc.pb.h"
#include "tests/host/host_process.h"
#include "tests/mirror/mirror_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {

inline std::unique_ptr<grpc::ClientContext> Deadline10s() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// GetBlocks from..to (0 = head), one block a message; the call's status.
inline grpc::Status Blocks(v1::HostService::Stub& stub, const std::string& ledger,
                           uint64_t from, uint64_t to, std::vector<std::string>* out) {
  auto context = Deadline10s();
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger);
  request.set_from_number(from);
  request.set_to_number(to);
  auto reader = stub.GetBlocks(context.get(), request);
  v1::GetBlocksResponse response;
  while (reader->Read(&response)) out->push_back(response.block());
  return reader->Finish();
}

inline grpc::Status GetLedger(v1::HostService::Stub& stub, const std::string& ledger,
                              v1::GetLedgerResponse* out) {
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger);
  return stub.GetLedger(Deadline10s().get(), request, out);
}

inline std::vector<std::pair<uint64_t, uint64_t>> HeldOf(const v1::GetLedgerResponse& info) {
  std::vector<std::pair<uint64_t, uint64_t>> held;
  for (const v1::BlockRange& range : info.held()) held.emplace_back(range.first(), range.last());
  return held;
}

// The Merkle leaf hash of complete block bytes (SPEC §7).
inline MerkleHash LeafOf(const std::string& block_bytes) {
  absl::StatusOr<Block> block = ParseBlock(block_bytes, SignatureStage::kComplete);
  if (!block.ok()) return MerkleHash{};
  absl::StatusOr<std::string> digest = DecodeDigest(block->fingerprint);
  if (!digest.ok()) return MerkleHash{};
  return HashMerkleLeaf(*digest);
}

// The checkpoint note verified as one of `ledger` of `size` leaves.
inline testing::AssertionResult CheckpointOf(const std::string& ledger,
                                             const std::string& note, uint64_t size,
                                             Checkpoint* out) {
  absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note, ledger);
  if (!checkpoint.ok()) {
    return testing::AssertionFailure() << "checkpoint: " << checkpoint.status();
  }
  if (checkpoint->tree_size != size) {
    return testing::AssertionFailure()
           << "checkpoint of size " << checkpoint->tree_size << ", wanted " << size;
  }
  *out = *checkpoint;
  return testing::AssertionSuccess();
}

// GetInclusionProof of block `number` (whose bytes are `block_bytes`) in the
// tree of `size`, checked against the signed checkpoint that comes with it.
inline testing::AssertionResult ProvesInclusion(v1::HostService::Stub& stub,
                                                const std::string& ledger, uint64_t number,
                                                uint64_t size,
                                                const std::string& block_bytes) {
  v1::GetInclusionProofRequest request;
  request.set_ledger_id(ledger);
  request.set_number(number);
  request.set_tree_size(size);
  v1::GetInclusionProofResponse proof;
  grpc::Status status = stub.GetInclusionProof(Deadline10s().get(), request, &proof);
  if (!status.ok()) {
    return testing::AssertionFailure() << "GetInclusionProof " << number << "@" << size
                                       << ": " << Msg(status);
  }
  Checkpoint checkpoint;
  if (auto ok = CheckpointOf(ledger, proof.checkpoint(), size, &checkpoint); !ok) return ok;
  absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(proof.hashes());
  if (!path.ok()) return testing::AssertionFailure() << path.status();
  if (absl::Status s = VerifyMerkleInclusion(LeafOf(block_bytes), number - 1, size, *path,
                                             checkpoint.root_hash);
      !s.ok()) {
    return testing::AssertionFailure() << "inclusion " << number << "@" << size << ": " << s;
  }
  if (proof.root_hash() != std::string(checkpoint.root_hash.begin(), checkpoint.root_hash.end())) {
    return testing::AssertionFailure() << "root_hash is not the checkpoint's root";
  }
  return testing::AssertionSuccess();
}

// GetConsistencyProof old..new, checked against its two signed checkpoints.
inline testing::AssertionResult ProvesConsistency(v1::HostService::Stub& stub,
                                                  const std::string& ledger, uint64_t old_size,
                                                  uint64_t new_size) {
  v1::GetConsistencyProofRequest request;
  request.set_ledger_id(ledger);
  request.set_old_size(old_size);
  request.set_new_size(new_size);
  v1::GetConsistencyProofResponse proof;
  grpc::Status status = stub.GetConsistencyProof(Deadline10s().get(), request, &proof);
  if (!status.ok()) {
    return testing::AssertionFailure()
           << "GetConsistencyProof " << old_size << ".." << new_size << ": " << Msg(status);
  }
  Checkpoint old_checkpoint, new_checkpoint;
  if (auto ok = CheckpointOf(ledger, proof.old_checkpoint(), old_size, &old_checkpoint); !ok) {
    return ok;
  }
  if (auto ok = CheckpointOf(ledger, proof.new_checkpoint(), new_size, &new_checkpoint); !ok) {
    return ok;
  }
  absl::StatusOr<std::vector<MerkleHash>> hashes = MerkleHashesFromBytes(proof.hashes());
  if (!hashes.ok()) return testing::AssertionFailure() << hashes.status();
  if (absl::Status s = VerifyMerkleConsistency(old_size, new_size, old_checkpoint.root_hash,
                                               new_checkpoint.root_hash, *hashes);
      !s.ok()) {
    return testing::AssertionFailure()
           << "consistency " << old_size << ".." << new_size << ": " << s;
  }
  return testing::AssertionSuccess();
}

// GetCheckpoint of `size` (0 = latest) as the note.
inline grpc::Status CheckpointNote(v1::HostService::Stub& stub, const std::string& ledger,
                                   uint64_t size, std::string* note) {
  v1::GetCheckpointRequest request;
  request.set_ledger_id(ledger);
  request.set_tree_size(size);
  v1::GetCheckpointResponse response;
  grpc::Status status = stub.GetCheckpoint(Deadline10s().get(), request, &response);
  *note = response.checkpoint();
  return status;
}

inline grpc::Status Attachment(v1::HostService::Stub& stub, const std::string& ledger,
                               const std::string& seal, std::string* data) {
  v1::GetAttachmentRequest request;
  request.set_ledger_id(ledger);
  request.set_seal(seal);
  v1::GetAttachmentResponse response;
  grpc::Status status = stub.GetAttachment(Deadline10s().get(), request, &response);
  *data = response.data();
  return status;
}

// A host (memory storage unless `host_flags` say otherwise) and an owner
// agent in front of it.
struct HostAndAgent {
  std::unique_ptr<HostProcess> host;
  std::unique_ptr<AgentProcess> agent;
  std::unique_ptr<AgentStub> stub;

  testing::AssertionResult Start(std::vector<std::string> host_flags = {"--storage=memory"}) {
    auto started = HostProcess::Start(host_flags);
    if (!started.ok()) return testing::AssertionFailure() << started.status();
    host = *std::move(started);
    auto agent_started = AgentProcess::Start(
        {"--keystore=" + NewTempDir("keystore") + "/ks", "--host=" + host->address(),
         "--append_timeout_seconds=10"});
    if (!agent_started.ok()) return testing::AssertionFailure() << agent_started.status();
    agent = *std::move(agent_started);
    stub = agent->Stub();
    return testing::AssertionSuccess();
  }

  // A new ledger on the host, with `events` events {"event":"noted","n":N}.
  testing::AssertionResult NewLedger(int events, std::string* ledger) {
    v1::OwnerCreateLedgerResponse created;
    grpc::Status status = CreateLedger(*stub, "", &created);
    if (!status.ok()) return testing::AssertionFailure() << "create: " << Msg(status);
    *ledger = created.ledger_id();
    for (int i = 0; i < events; ++i) {
      if (auto ok = AppendNoted(*ledger); !ok) return ok;
    }
    return testing::AssertionSuccess();
  }

  // One more event (with `attachment` sealed in the block when not empty).
  testing::AssertionResult AppendNoted(const std::string& ledger,
                                       const std::string& attachment = "") {
    v1::BlockOutcome outcome;
    const uint64_t next = HostHead(host->address(), ledger) + 1;
    grpc::Status status =
        Append(*stub, ledger, absl::StrCat("{\"event\":\"noted\",\"n\":", next, "}"),
               &outcome, attachment);
    if (!status.ok()) return testing::AssertionFailure() << "append: " << Msg(status);
    if (!outcome.has_committed()) return testing::AssertionFailure() << "not committed";
    return testing::AssertionSuccess();
  }
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_MIRROR_MIRROR_TEST_UTIL_H_
