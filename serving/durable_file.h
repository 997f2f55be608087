// Files that survive a crash of the process or of the machine: whole-file
// replacement through a temporary file and rename, new files created
// exclusively, each with the file and its directory synced when asked. The
// one place both services and mlctl write durable files (the agent's
// registry, request journal and keystore; the host's master key; mlctl's
// secret keys); reading is serving/whole_file.h. Thread-safe for different
// paths; callers serialise writes to one path.
#ifndef MICROLEDGER_SERVING_DURABLE_FILE_H_
#define MICROLEDGER_SERVING_DURABLE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace microledger {

// Replaces `path` with `data` (mode 0600): written to a temporary file of its
// own, PATH.tmp.<pid>.<n> (not through a symbolic link), renamed over PATH;
// on failure the temporary file is removed and PATH is unchanged. With `sync`, the data is on disk (file fsync, then directory fsync
// after the rename) before it returns; without, a crash of the process loses
// nothing but a crash of the machine may keep the old contents.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, bool sync);

// Creates `path` (mode 0600; fails if it exists, also as a symbolic link)
// holding `data`, with the file and its directory entry on disk before it
// returns. On failure nothing is left at `path`.
absl::Status WriteNewFile(const std::string& path, absl::string_view data);

// fsync of a directory, so that renames and unlinks in it are on disk.
absl::Status SyncDirectory(const std::string& dir);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_DURABLE_FILE_H_
