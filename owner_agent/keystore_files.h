// Internal to owner_agent/: the keystore's file handling (keystore.h): paths,
// bounded reads of metadata files, atomic durable writes (serving/durable_file.h),
// private directories and the keystore lock. Every error names the path and
// starts with "keystore: ". Thread-safe (each call works on its own files).
#ifndef MICROLEDGER_OWNER_AGENT_KEYSTORE_FILES_H_
#define MICROLEDGER_OWNER_AGENT_KEYSTORE_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {

inline constexpr absl::string_view kLockFileName = "LOCK";
// Largest keystore header or key file accepted.
inline constexpr size_t kMaxMetadataFileSize = 64 * 1024;

std::string JoinPath(absl::string_view dir, absl::string_view name);
std::string ParentDirectory(const std::string& path);
// The status of the system call that just failed (reads errno): NOT_FOUND for
// ENOENT, else FAILED_PRECONDITION.
absl::Status PosixError(absl::string_view what, absl::string_view path);
// DATA_LOSS "keystore: corrupt file PATH: WHY".
absl::Status Corrupt(absl::string_view path, absl::string_view why);
// Up to `max_size` + 1 bytes of `fd`, read into one buffer (wiped on error) so
// that no reallocation leaves a stray copy in freed memory.
absl::StatusOr<std::string> ReadAll(int fd, size_t max_size, absl::string_view path);
// A metadata file (not through a symbolic link) of at most kMaxMetadataFileSize.
absl::StatusOr<std::string> ReadMetadataFile(const std::string& path);
// Replaces dir/name by `contents` atomically and durably, mode 0600.
absl::Status WriteFileAtomically(const std::string& dir, absl::string_view name,
                                 absl::string_view contents);
// Creates `dir` (mode 0700) when absent; refuses one that group or others
// may access.
absl::Status EnsurePrivateDirectory(const std::string& dir);
// Returns the descriptor holding an exclusive flock on dir/LOCK.
absl::StatusOr<int> LockKeystore(const std::string& dir);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_KEYSTORE_FILES_H_
