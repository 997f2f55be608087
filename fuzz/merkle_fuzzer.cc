// libFuzzer target: RFC 9162 Merkle trees and proofs (common/merkle.h, SPEC §7)
// checked against an independent reference written here, plainly, from the
// RFC's recursive definitions (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 PROOF and
// SUBPROOF), hashing with libsodium directly.
//
// Input: bytes 0-1 choose the tree size n (1..kMaxLeaves), byte 2 how often
// leaf data repeats; then each group of 6 bytes is a query: a size m (0..n+1,
// so sizes out of range are asked too), an index or old size, and a tamper
// byte and a tamper argument. For each query the library's root at m,
// inclusion proof and consistency proof must equal the reference's (and be
// refused exactly when the arguments are out of order; a root beyond the tree
// must be refused, while proofs are only asked within it, since a node reader
// knows no size and the caller checks sizes), the library must
// verify them, and after tampering (a flipped bit, a dropped, added or
// swapped hash, another index or size) the library's verifier must accept the
// proof exactly when the reference says it is the genuine proof for the
// claimed arguments (given the real roots of the claimed sizes). The remaining
// bytes are also fed to MerkleFrontier::Deserialize, whose accepted input
// must re-serialise to the same bytes (an unversioned, version 0, input to
// the same bytes behind the version 1 byte).
#include <sodium.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/merkle.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

constexpr uint64_t kMaxLeaves = 70;
constexpr size_t kQueryBytes = 6;
constexpr size_t kMaxQueries = 8;

// ---- The reference: RFC 9162 §2.1 as written, over a vector of leaf data.

using Hash = MerkleHash;
using Leaves = std::vector<std::string>;

Hash Sha256Of(const std::string& bytes) {
  Hash hash;
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return hash;
}

std::string Bytes(const Hash& hash) { return std::string(hash.begin(), hash.end()); }

Hash ReferenceLeafHash(const std::string& data) {
  return Sha256Of(std::string(1, '\0') + data);
}

// The largest power of two smaller than n (n > 1).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// MTH(D[begin:end]).
Hash Mth(const Leaves& d, uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if (n == 0) return Sha256Of("");
  if (n == 1) return ReferenceLeafHash(d[begin]);
  const uint64_t k = SplitPoint(n);
  return Sha256Of(std::string(1, '\x01') + Bytes(Mth(d, begin, begin + k)) +
                  Bytes(Mth(d, begin + k, end)));
}

// PATH(m, D[begin:end]).
std::vector<Hash> Path(uint64_t m, const Leaves& d, uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if (n == 1) return {};
  const uint64_t k = SplitPoint(n);
  std::vector<Hash> path;
  if (m < k) {
    path = Path(m, d, begin, begin + k);
    path.push_back(Mth(d, begin + k, end));
  } else {
    path = Path(m - k, d, begin + k, end);
    path.push_back(Mth(d, begin, begin + k));
  }
  return path;
}

// SUBPROOF(m, D[begin:end], b).
std::vector<Hash> Subproof(uint64_t m, const Leaves& d, uint64_t begin, uint64_t end,
                           bool b) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (b) return {};
    return {Mth(d, begin, end)};
  }
  const uint64_t k = SplitPoint(n);
  std::vector<Hash> proof;
  if (m <= k) {
    proof = Subproof(m, d, begin, begin + k, b);
    proof.push_back(Mth(d, begin + k, end));
  } else {
    proof = Subproof(m - k, d, begin + k, end, false);
    proof.push_back(Mth(d, begin, begin + k));
  }
  return proof;
}

// ---- The checks.

// Reads a little-endian 16-bit number at `pos`.
uint64_t Read16(absl::string_view bytes, size_t pos) {
  return static_cast<uint8_t>(bytes[pos]) |
         (static_cast<uint64_t>(static_cast<uint8_t>(bytes[pos + 1])) << 8);
}

// One of a few ways to spoil a proof, chosen by `how`; `arg` picks where.
// Returns false when `how` leaves the proof alone.
bool TamperProof(uint8_t how, uint8_t arg, std::vector<Hash>& proof) {
  switch (how % 5) {
    case 1:
      if (proof.empty()) return false;
      proof[arg % proof.size()][arg % 32] ^= static_cast<uint8_t>(1 << (arg % 8));
      return true;
    case 2:
      if (proof.empty()) return false;
      proof.erase(proof.begin() + arg % proof.size());
      return true;
    case 3:
      proof.insert(proof.begin() + arg % (proof.size() + 1),
                   proof.empty() ? Sha256Of("x") : proof[arg % proof.size()]);
      return true;
    case 4:
      if (proof.size() < 2) return false;
      std::swap(proof[0], proof[1 + arg % (proof.size() - 1)]);
      return true;
    default:
      return false;
  }
}

void CheckInclusion(const Leaves& d, const MemoryMerkleTree& tree, uint64_t m,
                    uint64_t index, uint8_t tamper, uint8_t arg) {
  const uint64_t n = d.size();
  // A node reader knows no tree size: a size beyond the tree is the caller's
  // check (a proof whose nodes all exist may be returned), so none is asked.
  if (m > n) return;
  absl::StatusOr<std::vector<Hash>> proof = MerkleInclusionProof(tree, index, m);
  const bool in_range = index < m;
  FUZZ_CHECK(proof.ok() == in_range, "an inclusion proof exactly for index < size");
  if (!in_range) return;
  FUZZ_CHECK(*proof == Path(index, d, 0, m), "inclusion proof == RFC 9162 PATH");
  const Hash root = Mth(d, 0, m);
  FUZZ_CHECK(VerifyMerkleInclusion(ReferenceLeafHash(d[index]), index, m, *proof, root).ok(),
             "the genuine inclusion proof verifies");

  // Tampered: another index or size (with the real root of that size), or
  // other hashes. Accepted exactly when it is the genuine proof of the claim.
  uint64_t claimed_index = index;
  uint64_t claimed_size = m;
  if (tamper % 7 == 5) claimed_index = (index + 1 + arg) % m;
  if (tamper % 7 == 6) claimed_size = std::min<uint64_t>(n, index + 1 + arg % n);
  const bool spoiled = TamperProof(tamper, arg, *proof);
  if (!spoiled && claimed_index == index && claimed_size == m) return;
  const Hash claimed_root = Mth(d, 0, claimed_size);
  const bool accepted = VerifyMerkleInclusion(ReferenceLeafHash(d[index]), claimed_index,
                                              claimed_size, *proof, claimed_root)
                            .ok();
  const bool genuine = claimed_index < claimed_size &&
                       ReferenceLeafHash(d[index]) == ReferenceLeafHash(d[claimed_index]) &&
                       *proof == Path(claimed_index, d, 0, claimed_size);
  FUZZ_CHECK(accepted == genuine, "a tampered inclusion proof verifies iff it is genuine");
}

void CheckConsistency(const Leaves& d, const MemoryMerkleTree& tree, uint64_t old_size,
                      uint64_t new_size, uint8_t tamper, uint8_t arg) {
  const uint64_t n = d.size();
  if (new_size > n) return;  // The caller's check, as for inclusion proofs.
  absl::StatusOr<std::vector<Hash>> proof =
      MerkleConsistencyProof(tree, old_size, new_size);
  const bool in_range = 0 < old_size && old_size <= new_size;
  FUZZ_CHECK(proof.ok() == in_range, "a consistency proof exactly for 0 < old <= new");
  if (!in_range) return;
  FUZZ_CHECK(*proof == Subproof(old_size, d, 0, new_size, true),
             "consistency proof == RFC 9162 PROOF");
  FUZZ_CHECK(VerifyMerkleConsistency(old_size, new_size, Mth(d, 0, old_size),
                                     Mth(d, 0, new_size), *proof)
                 .ok(),
             "the genuine consistency proof verifies");

  uint64_t claimed_old = old_size;
  uint64_t claimed_new = new_size;
  if (tamper % 7 == 5) claimed_old = 1 + (old_size + arg) % new_size;
  if (tamper % 7 == 6) claimed_new = old_size + (new_size - old_size + 1 + arg) % (n - old_size + 1);
  const bool spoiled = TamperProof(tamper, arg, *proof);
  if (!spoiled && claimed_old == old_size && claimed_new == new_size) return;
  const bool accepted = VerifyMerkleConsistency(claimed_old, claimed_new,
                                                Mth(d, 0, claimed_old),
                                                Mth(d, 0, claimed_new), *proof)
                            .ok();
  const bool genuine = claimed_old <= claimed_new &&
                       *proof == Subproof(claimed_old, d, 0, claimed_new, true);
  FUZZ_CHECK(accepted == genuine, "a tampered consistency proof verifies iff it is genuine");
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace microledger;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.size() < 3) return 0;
  const uint64_t n = 1 + Read16(input, 0) % kMaxLeaves;
  const uint64_t repeat = 1 + static_cast<uint8_t>(input[2]);
  Leaves leaves;
  MemoryMerkleTree tree;
  for (uint64_t i = 0; i < n; ++i) {
    leaves.push_back(absl::StrCat("leaf ", i % repeat));
    tree.AppendLeaf(leaves.back());
  }
  FUZZ_CHECK(tree.Root() == Mth(leaves, 0, n), "the tree's root == MTH");
  FUZZ_CHECK(MerkleRootAt(tree, n).ok() && *MerkleRootAt(tree, n) == tree.Root(),
             "MerkleRootAt(n) == Root()");

  size_t pos = 3;
  for (size_t q = 0; q < kMaxQueries && pos + kQueryBytes <= input.size();
       ++q, pos += kQueryBytes) {
    const uint64_t m = Read16(input, pos) % (n + 2);
    const uint64_t other = Read16(input, pos + 2) % (m + 1);
    const uint8_t tamper = static_cast<uint8_t>(input[pos + 4]);
    const uint8_t arg = static_cast<uint8_t>(input[pos + 5]);
    absl::StatusOr<Hash> root = MerkleRootAt(tree, m);
    FUZZ_CHECK(root.ok() == (m <= n), "a root exactly for sizes up to n");
    if (root.ok()) FUZZ_CHECK(*root == Mth(leaves, 0, m), "MerkleRootAt == MTH");
    CheckInclusion(leaves, tree, m, other, tamper, arg);
    CheckConsistency(leaves, tree, other, m, tamper, arg);
  }

  const absl::string_view rest = input.substr(std::min(pos, input.size()));
  absl::StatusOr<MerkleFrontier> frontier = MerkleFrontier::Deserialize(rest);
  if (frontier.ok()) {
    const std::string bytes = frontier->Serialize();
    FUZZ_CHECK(bytes == rest || (rest[0] == '\0' && bytes == absl::StrCat("\x01", rest)),
               "a frontier re-serialises to its bytes");
  }
  return 0;
}
