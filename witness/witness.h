// The witness of SPEC §12 without its network edges: checks an add-checkpoint
// request (checks 2 to 7, in the SPEC's order; check 1, parsing, is the
// edge's, see add_checkpoint_request.h), cosigns and stores, keeps evidence,
// and answers the two reads. The HTTP edge (witness_http.h) and the gRPC edge
// (witness_grpc_service.h) are thin translations of what it returns.
//
// Per ledger the check and the durable update are atomic: a request holds its
// ledger's lock (one of a fixed set of striped mutexes, chosen by origin
// hash) from reading the stored checkpoint to writing the new one, so of two
// concurrent requests with the same old size exactly one is cosigned. The
// ledger key's signature is verified before the lock is taken.
//
// Evidence: a request that passes checks 1 to 3 and has the size (at least 1)
// of the stored checkpoint but another root is SPEC §11 `checkpoints` evidence
// (both notes: note text, blank line, the ledger key's first line). It is kept
// and freezes the ledger from the next request on, whatever this request's
// answer. A frozen ledger's stored checkpoint never changes again, so the
// witness keeps one evidence object per ledger: the one that froze it.
//
// Thread safety: thread-safe.
#ifndef MICROLEDGER_WITNESS_WITNESS_H_
#define MICROLEDGER_WITNESS_WITNESS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "witness/add_checkpoint_request.h"
#include "witness/witness_metrics.h"
#include "witness/witness_store.h"

namespace microledger {

// What an add-checkpoint request came to, by the check that decided it.
enum class AddCheckpointOutcome {
  kCosigned,           // 200: the body is the cosignature line.
  kMalformed,          // 400, check 1 (the edges decide it).
  kUnknownOrigin,      // 404, check 2: the origin is not a well-formed ledger id.
  kBadSignature,       // 403, check 3: not a checkpoint signed by the ledger key
                       // (or more than 64 signature lines).
  kFrozen,             // 422, check 4: body "frozen <evidence id>\n".
  kOldAboveSize,       // 400, check 5.
  kSizeConflict,       // 409, check 6: body "<latest cosigned size>\n".
  kInconsistent,       // 422, check 7.
  kTooManyNewLedgers,  // 429: the client's budget of new ledgers is spent.
  kTooManyRequests,    // 429: the client's request rate is over its limit (edges).
  kInternal,           // 500: storage or signing failed.
};

// The HTTP status code of an outcome.
int HttpStatusOf(AddCheckpointOutcome outcome);

struct AddCheckpointAnswer {
  AddCheckpointOutcome outcome = AddCheckpointOutcome::kInternal;
  // kCosigned: the witness's cosignature line ("— <name> <base64>\n").
  std::string cosignature_line;
  // kFrozen: the id of the evidence that froze the ledger.
  std::string evidence_id;
  // kSizeConflict: the size of the latest checkpoint cosigned (0 if none).
  uint64_t latest_size = 0;
  // Why, in a few words, for any other outcome (never quotes the request).
  std::string reason;
};

// Makes the witness's cosignature line of a checkpoint's note text (the three
// lines), e.g. WitnessSigner::Cosign at the current time.
using CheckpointCosigner = std::function<absl::StatusOr<std::string>(absl::string_view)>;

class Witness {
 public:
  // `metrics` may be null (not measured); it must outlive the witness.
  Witness(std::unique_ptr<WitnessStore> store, CheckpointCosigner cosigner,
          WitnessMetrics* metrics = nullptr);
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  // Checks 2 to 7 of SPEC §12 on a parsed request, then cosigns and stores.
  // `admit_new_ledger` (may be empty: always admitted) is asked once, only
  // when the request would store the first checkpoint of a ledger; false
  // answers kTooManyNewLedgers and stores nothing.
  AddCheckpointAnswer AddCheckpoint(const AddCheckpointRequest& request,
                                    const std::function<bool()>& admit_new_ledger = {});

  // The latest cosigned note of the ledger with raw origin hash `origin_hash`
  // (note text, blank line, ledger key line, cosignature line); NotFound if
  // none.
  absl::StatusOr<std::string> LatestCheckpoint(absl::string_view origin_hash) const;
  // Its evidence objects in the order obtained, each its JCS bytes; NotFound
  // if none.
  absl::StatusOr<std::vector<std::string>> Evidence(absl::string_view origin_hash) const;

 private:
  static constexpr size_t kLockStripes = 64;
  absl::Mutex& LedgerLock(absl::string_view origin_hash);

  // Keeps `evidence` for the ledger (the caller holds its lock) and logs it.
  absl::Status KeepEvidence(absl::string_view origin_hash, const std::string& evidence);

  const std::unique_ptr<WitnessStore> store_;
  const CheckpointCosigner cosigner_;
  WitnessMetrics* const metrics_;
  std::array<absl::Mutex, kLockStripes> ledger_locks_;
};

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_WITNESS_H_
