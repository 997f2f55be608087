// Files that survive a crash of the process or of the machine: whole-file
// replacement through a temporary file and rename, with the file and its
// directory synced when asked. Used by the agent's registry, request
// journal and keystore. Thread-safe for different paths; callers serialise writes to one
// path.
#ifndef MICROLEDGER_OWNER_AGENT_DURABLE_FILE_H_
#define MICROLEDGER_OWNER_AGENT_DURABLE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace microledger {

// Replaces `path` with `data` (mode 0600): written to PATH.tmp (not through a
// symbolic link), renamed over PATH; on failure PATH.tmp is removed and PATH
// is unchanged. With `sync`, the data is on disk (file fsync, then directory fsync
// after the rename) before it returns; without, a crash of the process loses
// nothing but a crash of the machine may keep the old contents.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, bool sync);

// fsync of a directory, so that renames and unlinks in it are on disk.
absl::Status SyncDirectory(const std::string& dir);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_DURABLE_FILE_H_
