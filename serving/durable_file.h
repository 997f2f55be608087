// Files that survive a crash of the process or of the machine: whole-file
// replacement through a temporary file and rename, new files created
// exclusively, each with the file and its directory synced when asked. The
// one place both services and mlctl write durable files (the agent's
// registry, request journal and keystore; the host's master key; mlctl's
// secret keys); reading is serving/whole_file.h. Thread-safe for different
// paths; callers serialise writes to one path.
#ifndef MICROLEDGER_SERVING_DURABLE_FILE_H_
#define MICROLEDGER_SERVING_DURABLE_FILE_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// A file written only at its end, one record at a time (the agent's head log
// and request journal). Append writes a whole record or, when the write
// fails part way, cuts the file back to where it was: a failed record never
// leaves a fragment for the next one to be glued to. Append reaches the page
// cache (a killed process loses nothing); Sync puts it on disk. Not
// thread-safe: the owner serialises calls.
class AppendOnlyFile {
 public:
  // Opens `path` for appending, created with mode 0600 when absent.
  static absl::StatusOr<std::unique_ptr<AppendOnlyFile>> Open(const std::string& path);
  ~AppendOnlyFile();
  AppendOnlyFile(const AppendOnlyFile&) = delete;
  AppendOnlyFile& operator=(const AppendOnlyFile&) = delete;

  absl::Status Append(absl::string_view record);
  // fdatasync.
  absl::Status Sync();

 private:
  AppendOnlyFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  const int fd_;
  const std::string path_;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_DURABLE_FILE_H_
