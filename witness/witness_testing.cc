#include "witness/witness_testing.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "gtest/gtest.h"

namespace microledger {

TestLedger::TestLedger(int blocks) {
  chain_.AppendEvents(blocks - 1);
  for (const Block& block : chain_.blocks()) tree_.AppendLeaf(*DecodeDigest(block.fingerprint));
}

std::string TestLedger::Checkpoint(uint64_t size) const { return chain_.SignedCheckpoint(size); }

std::string TestLedger::ForkedCheckpoint(uint64_t size, int n) const {
  microledger::Checkpoint forked{ledger_id(), size, {}};
  forked.root_hash = HashMerkleLeaf(absl::StrCat("fork ", n));
  return SignCheckpoint(forked, chain_.host());
}

std::vector<MerkleHash> TestLedger::Proof(uint64_t old_size, uint64_t new_size) const {
  absl::StatusOr<std::vector<MerkleHash>> proof = MerkleConsistencyProof(tree_, old_size, new_size);
  if (!proof.ok()) {
    ADD_FAILURE() << proof.status();
    return {};
  }
  return *proof;
}

AddCheckpointRequest TestLedger::Request(uint64_t old_size, uint64_t new_size) const {
  AddCheckpointRequest request;
  request.old_size = old_size;
  if (old_size > 0 && old_size < new_size) request.proof = Proof(old_size, new_size);
  request.note = Checkpoint(new_size);
  return request;
}

WitnessSigner NewTestWitnessSigner(const std::string& name) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  if (!key.ok()) std::abort();
  absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
  if (!signer.ok()) std::abort();
  return *std::move(signer);
}

}  // namespace microledger
