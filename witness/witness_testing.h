// Test fixture: a ledger made with common/test_chain.h (no host), its Merkle
// tree, and what a witness test submits — checkpoints of any size, the
// consistency proofs between them, forked checkpoints signed by the same
// ledger key, and a witness signer with its private key text. Not
// thread-safe.
#ifndef MICROLEDGER_WITNESS_WITNESS_TESTING_H_
#define MICROLEDGER_WITNESS_WITNESS_TESTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/cosignature.h"
#include "common/merkle.h"
#include "common/test_chain.h"
#include "witness/add_checkpoint_request.h"

namespace microledger {

class TestLedger {
 public:
  // A ledger of `blocks` blocks (genesis and blocks - 1 events), blocks >= 1.
  explicit TestLedger(int blocks);

  const std::string& ledger_id() const { return chain_.ledger_id(); }
  uint64_t size() const { return tree_.size(); }

  // The host-signed checkpoint of the first `size` blocks.
  std::string Checkpoint(uint64_t size) const;
  // A checkpoint of `size` signed by the same ledger key over another root
  // (the n-th such fork): equivocation.
  std::string ForkedCheckpoint(uint64_t size, int n = 1) const;
  // The RFC 9162 consistency proof from `old_size` (>= 1) to `new_size`.
  std::vector<MerkleHash> Proof(uint64_t old_size, uint64_t new_size) const;
  // The request a well-behaved log sends: old size, proof (none from 0) and
  // the checkpoint of `new_size`.
  AddCheckpointRequest Request(uint64_t old_size, uint64_t new_size) const;

 private:
  TestChain chain_;
  MemoryMerkleTree tree_;
};

// A witness signer with a fresh key under `name`.
WitnessSigner NewTestWitnessSigner(const std::string& name = "witness.example/test");

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_WITNESS_TESTING_H_
