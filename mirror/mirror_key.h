// The mirror's own Ed25519 key, which signs its SPEC §13 locator records
// ("this mirror serves that ledger"). It is not a ledger key and cannot sign
// a block or a checkpoint. Kept as a 32-byte seed in a file of mode 0600,
// created on first start.
//
// Thread-safe: a pure function.
#ifndef MICROLEDGER_MIRROR_MIRROR_KEY_H_
#define MICROLEDGER_MIRROR_MIRROR_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/ed25519.h"

namespace microledger {

// The key in `path`, created with a fresh random seed when absent.
// FailedPrecondition for a file that is not 32 bytes or that group or others
// can read.
absl::StatusOr<SigningKey> LoadOrCreateMirrorKey(const std::string& path);

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_MIRROR_KEY_H_
