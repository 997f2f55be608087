// The two reads of a witness's state the owner agent needs when a witness
// refuses one of its checkpoints (SPEC §12): GET <url>/<origin hash>/checkpoint
// (the latest checkpoint it cosigned for a ledger) and GET <url>/<origin
// hash>/evidence (the SPEC §11 objects it keeps). Nothing read is trusted:
// callers verify the note by the ledger key and validate each evidence
// object. WitnessReads is an interface so that the witness submitter can be
// tested with a fake; NewHttpWitnessReads is the real one. Errors never name
// the ledger (its origin hash is in the URL's path, which is not quoted).
//
// Thread safety: implementations are thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_WITNESS_READS_H_
#define MICROLEDGER_OWNER_AGENT_WITNESS_READS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace microledger {

// The origin hash of SPEC §12: the lowercase hex SHA-256 of the ledger id.
std::string WitnessOriginHash(absl::string_view ledger_id);

class WitnessReads {
 public:
  virtual ~WitnessReads() = default;
  // The latest cosigned note the witness serves for the ledger; NotFound when
  // it has none, Unavailable when it cannot be asked.
  virtual absl::StatusOr<std::string> LatestCheckpoint(const std::string& ledger_id) = 0;
  // The evidence objects it keeps for the ledger, in its order (each without
  // its "\n"); empty when it has none.
  virtual absl::StatusOr<std::vector<std::string>> Evidence(const std::string& ledger_id) = 0;
};

// Reads from the witness whose URL prefix is `url` (no trailing "/"), each
// request bounded by `timeout`. InvalidArgument for a timeout that is not
// positive; InternalError when the HTTP client cannot be made.
absl::StatusOr<std::unique_ptr<WitnessReads>> NewHttpWitnessReads(const std::string& url,
                                                                  absl::Duration timeout);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_WITNESS_READS_H_
