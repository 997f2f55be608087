// Test helper for the agent's witness policy (issue #14): `count` real
// ml-witness processes on 127.0.0.1 (tests/witness/witness_process.h), each
// with its own key and RocksDB in a temporary directory; the ml-owner flags
// that name them, the reader's view of them (their keys), their GET reads
// (SPEC §12) and a way to stop one for good. Not thread-safe.
#ifndef MICROLEDGER_TESTS_OWNER_WITNESS_SET_H_
#define MICROLEDGER_TESTS_OWNER_WITNESS_SET_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cosignature.h"
#include "tests/witness/witness_process.h"

namespace microledger {

class WitnessSet {
 public:
  // Starts witnesses named witness-1 .. witness-<count>.
  static absl::StatusOr<std::unique_ptr<WitnessSet>> Start(int count);

  // --witness=<vkey>@http://127.0.0.1:<port> for each, and --witness_quorum.
  std::vector<std::string> AgentFlags(int quorum) const;
  const std::vector<WitnessKey>& keys() const { return keys_; }
  // Stops witness `index` (SIGTERM); it stays down.
  void Stop(int index);
  // GET /<origin hash>/<what> ("checkpoint" or "evidence") of the ledger on
  // witness `index`: the HTTP status (0 without an answer) and the body.
  std::pair<int, std::string> Get(int index, const std::string& ledger_id,
                                  const std::string& what) const;

 private:
  WitnessSet() = default;

  std::vector<std::unique_ptr<WitnessProcess>> processes_;
  std::vector<WitnessKey> keys_;
  std::vector<std::string> urls_;
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_OWNER_WITNESS_SET_H_
