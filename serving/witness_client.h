// A client of one witness's C2SP tlog-witness add-checkpoint over HTTP (SPEC
// §12): POST <url>/add-checkpoint with the body "old <size>\n", the
// consistency proof lines, an empty line and the checkpoint note, and the
// witness's answer as a typed result. A 200's cosignature line is verified
// against the witness's key (common/cosignature.h) before it is returned, so
// a kCosigned result always carries a line that verifies on the note text.
//
// WitnessClient is an interface so that the host's submitter can be tested
// with a fake; NewHttpWitnessClient is the real one (libcurl through
// serving/http_client.h, bounded timeout and answer size, keep-alive).
// Results and errors never quote the checkpoint or name its ledger, so they
// can be logged.
//
// Thread safety: implementations are thread-safe.
#ifndef MICROLEDGER_SERVING_WITNESS_CLIENT_H_
#define MICROLEDGER_SERVING_WITNESS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cosignature.h"
#include "common/merkle.h"
#include "serving/witness_flag.h"

namespace microledger {

// What one add-checkpoint request came to.
enum class WitnessOutcome {
  kCosigned,         // 200 with a cosignature line that verifies.
  kSizeConflict,     // 409: the witness's latest cosigned size is in witness_size.
  kFrozen,           // 422 "frozen <evidence id>": the witness froze the ledger.
  kInconsistent,     // 422 otherwise: the proof or the roots did not check out.
  kBadRequest,       // 400: malformed, or old size above the checkpoint's.
  kForbidden,        // 403: the witness found the checkpoint's signature invalid.
  kNotFound,         // 404: the witness does not take this origin (or URL).
  kTooManyRequests,  // 429: the witness's rate limit; try later.
  kInvalidAnswer,    // An answer outside the protocol, or a 200 whose line fails.
  kTransportError,   // No answer: connection refused, timeout, ...
};

// The outcome's name for metric labels and logs: "cosigned", "size_conflict",
// "frozen", "inconsistent", "bad_request", "forbidden", "not_found",
// "too_many_requests", "invalid_answer", "transport_error".
absl::string_view WitnessOutcomeName(WitnessOutcome outcome);

struct WitnessResult {
  WitnessOutcome outcome = WitnessOutcome::kTransportError;
  // kCosigned: the verified line, "— <name> <base64>\n".
  std::string cosignature_line;
  // kSizeConflict: the size of the latest checkpoint the witness cosigned.
  uint64_t witness_size = 0;
  // kFrozen: the id of the evidence that froze the ledger at the witness.
  std::string evidence_id;
  // The HTTP status (0 without an answer).
  long http_status = 0;
  // Why, in a few words, for every outcome but kCosigned (a short, sanitized
  // quote of the witness's answer, or the transport error).
  std::string detail;
};

class WitnessClient {
 public:
  virtual ~WitnessClient() = default;
  // The witness this client talks to.
  virtual const WitnessEndpoint& endpoint() const = 0;
  // Submits `checkpoint_note` (a signed checkpoint note: the note text, a
  // blank line, its signature lines) with the RFC 9162 consistency proof from
  // `old_size` (0 and an empty proof for a witness that has none). Blocks
  // for one request, at most the client's timeout.
  virtual WitnessResult AddCheckpoint(uint64_t old_size, const std::vector<MerkleHash>& proof,
                                      absl::string_view checkpoint_note) = 0;
};

// The add-checkpoint body (SPEC §12) of a submission.
std::string AddCheckpointRequestBody(uint64_t old_size, const std::vector<MerkleHash>& proof,
                                     absl::string_view checkpoint_note);

// Reads a witness's answer to a submission of `checkpoint_note`: the status,
// the content type and the body as received (exposed for tests).
WitnessResult ReadAddCheckpointAnswer(const WitnessKey& witness,
                                      absl::string_view checkpoint_note, long http_status,
                                      absl::string_view body);

// A client of `endpoint` over HTTP(S) whose requests each take at most
// `timeout`. InvalidArgument for a timeout that is not positive.
absl::StatusOr<std::unique_ptr<WitnessClient>> NewHttpWitnessClient(WitnessEndpoint endpoint,
                                                                     absl::Duration timeout);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_WITNESS_CLIENT_H_
