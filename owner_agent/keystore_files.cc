#include "owner_agent/keystore_files.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "serving/durable_file.h"

namespace microledger {
namespace {

absl::Status SyncKeystoreDirectory(const std::string& dir) {
  absl::Status synced = SyncDirectory(dir);
  if (synced.ok()) return synced;
  return absl::FailedPreconditionError(absl::StrCat("keystore: ", synced.message()));
}

}  // namespace

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name);
}

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Call right after the failing system call: reads errno.
absl::Status PosixError(absl::string_view what, absl::string_view path) {
  const int error = errno;
  const std::string message =
      absl::StrCat("keystore: ", what, " ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  return absl::FailedPreconditionError(message);
}

absl::Status Corrupt(absl::string_view path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("keystore: corrupt file ", path, ": ", why));
}

// Reads up to `max_size` + 1 bytes of `fd` into a buffer sized once, so that
// no reallocation leaves a stray copy of the contents in freed memory.
absl::StatusOr<std::string> ReadAll(int fd, size_t max_size, absl::string_view path) {
  std::string contents(max_size + 1, '\0');
  size_t total = 0;
  while (total < contents.size()) {
    const ssize_t n = ::read(fd, contents.data() + total, contents.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = PosixError("cannot read", path);
      sodium_memzero(contents.data(), contents.size());
      return error;
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  contents.resize(total);
  return contents;
}

absl::StatusOr<std::string> ReadMetadataFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return PosixError("cannot open", path);
  absl::StatusOr<std::string> contents = ReadAll(fd, kMaxMetadataFileSize, path);
  ::close(fd);
  if (contents.ok() && contents->size() > kMaxMetadataFileSize) {
    return Corrupt(path, absl::StrCat("larger than ", kMaxMetadataFileSize, " bytes"));
  }
  return contents;
}

// Replaces dir/name by `contents` atomically and durably, mode 0600
// (serving/durable_file.h); errors are the keystore's.
absl::Status WriteFileAtomically(const std::string& dir, absl::string_view name,
                                 absl::string_view contents) {
  absl::Status written = WriteFileAtomic(JoinPath(dir, name), contents, /*sync=*/true);
  if (written.ok()) return written;
  return absl::FailedPreconditionError(absl::StrCat("keystore: ", written.message()));
}

// Creates `dir` (mode 0700) when absent; refuses one that group or others
// may access.
absl::Status EnsurePrivateDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    absl::Status synced = SyncKeystoreDirectory(ParentDirectory(dir));
    if (!synced.ok()) return synced;
  } else if (errno != EEXIST) {
    return PosixError("cannot create directory", dir);
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return PosixError("cannot stat", dir);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("keystore: ", dir, " is not a directory"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keystore: ", dir, " is accessible by group or others; chmod 700 ", dir));
  }
  return absl::OkStatus();
}

// Returns the descriptor holding an exclusive flock on dir/LOCK.
absl::StatusOr<int> LockKeystore(const std::string& dir) {
  const std::string lock_path = JoinPath(dir, kLockFileName);
  const int fd =
      ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return PosixError("cannot open lock file", lock_path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    absl::Status status =
        errno == EWOULDBLOCK
            ? absl::FailedPreconditionError(
                  absl::StrCat("keystore ", dir, " is in use by another ml-owner process (lock ",
                               lock_path, ")"))
            : PosixError("cannot lock", lock_path);
    ::close(fd);
    return status;
  }
  return fd;
}

}  // namespace microledger
