// The body of a C2SP tlog-witness add-checkpoint request (SPEC §12), parsed
// strictly as check 1 requires:
//
//   old <size>\n                 decimal, no leading zeros, at most 2^64-1
//   <proof hash>\n ...           0 to 63 lines, canonical standard base64 of 32 bytes
//   \n                           the empty line
//   <checkpoint note>            everything after it, judged later (checks 2 and 3)
//
// The whole body must be UTF-8. Anything else is InvalidArgument naming the
// broken rule (the witness answers 400); the message never quotes the body.
//
// Thread-safe: pure functions.
#ifndef MICROLEDGER_WITNESS_ADD_CHECKPOINT_REQUEST_H_
#define MICROLEDGER_WITNESS_ADD_CHECKPOINT_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/merkle.h"

namespace microledger {

// RFC 9162 consistency proofs of 64-bit trees have at most 63 hashes (SPEC §12).
inline constexpr size_t kMaxConsistencyProofHashes = 63;

struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<MerkleHash> proof;
  std::string note;  // The submitted checkpoint, signature lines included.
};

absl::StatusOr<AddCheckpointRequest> ParseAddCheckpointBody(absl::string_view body);

// The request as a body again (the inverse of ParseAddCheckpointBody), for
// clients and tests.
std::string AddCheckpointBody(const AddCheckpointRequest& request);

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_ADD_CHECKPOINT_REQUEST_H_
