// A witness's private key file (SPEC §12): one line, the text of
// FormatWitnessPrivateKey (common/cosignature.h),
//
//   PRIVATE+KEY+<name>+<key id, 8 lowercase hex>+<base64 std(0x04 || seed[32])>
//
// written by `mlctl witness keygen` (mode 0600, created exclusively) and read
// by the witness service at start. Lives in serving/ because mlctl writes it
// and ml-witness reads it, which may not depend on each other. Thread-safe.
#ifndef MICROLEDGER_SERVING_WITNESS_KEY_FILE_H_
#define MICROLEDGER_SERVING_WITNESS_KEY_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/cosignature.h"

namespace microledger {

// The largest key file read: the key line with a name of up to 1 KiB.
inline constexpr size_t kMaxWitnessKeyFileBytes = 2048;

// Creates `path` (mode 0600; fails if anything exists there, a symbolic link
// included) holding `signer`'s private key line, durably.
absl::Status WriteWitnessKeyFile(const std::string& path, const WitnessSigner& signer);

// Reads a witness key file. FailedPrecondition when the file is readable or
// writable by group or others (naming the path and "chmod 600"), or is not a
// regular file; NotFound when it cannot be opened; InvalidArgument when its
// content is not one key line. Error messages never contain key bytes.
absl::StatusOr<WitnessSigner> LoadWitnessKey(const std::string& path);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_WITNESS_KEY_FILE_H_
