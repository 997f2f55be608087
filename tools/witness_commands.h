// mlctl's witness commands and options (SPEC §12): `mlctl witness keygen`,
// which makes a witness key file, and the reader's witness policy that
// `mlctl verify --witness=VKEY ... --witness_quorum=K` applies. Each command
// takes its streams as arguments and returns the process exit code. Thread-safe
// (no shared state).
#ifndef MICROLEDGER_TOOLS_WITNESS_COMMANDS_H_
#define MICROLEDGER_TOOLS_WITNESS_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cosignature.h"

namespace microledger {

// How far in the future a cosignature's timestamp may be and still count.
inline constexpr absl::Duration kWitnessClockSkew = absl::Minutes(5);

// A new witness key named `name`: the private key file `out_path` (created
// with mode 0600, never overwritten; format in serving/witness_key_file.h)
// and its C2SP vkey, one line on `out`. Usage or file errors: one line on
// `err`, exit 2.
int RunWitnessKeygen(const std::string& name, const std::string& out_path,
                     std::ostream& out, std::ostream& err);

// The policy of mlctl's witness flags: `vkeys` (each a C2SP vkey, --witness),
// `quorum` (--witness_quorum; 0 means all of them) and `max_age` (zero: no
// maximum), with kWitnessClockSkew. Null when `vkeys` is empty and neither
// other flag is set; InvalidArgument naming the flag for anything wrong.
absl::StatusOr<std::shared_ptr<const WitnessPolicy>> WitnessPolicyFromFlags(
    const std::vector<std::string>& vkeys, int64_t quorum, absl::Duration max_age);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_WITNESS_COMMANDS_H_
