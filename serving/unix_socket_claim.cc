#include "serving/unix_socket_claim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/error_text.h"

namespace microledger {
namespace {

constexpr mode_t kDirectoryMode = 0700;
constexpr mode_t kSocketMode = 0600;

std::string Errno(int error) { return std::strerror(error); }

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Creates `dir` 0700 when missing; otherwise checks that it is a directory of
// this user with no group or other permission.
absl::Status CheckOrCreateDirectory(const std::string& dir) {
  struct stat info;
  if (stat(dir.c_str(), &info) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("Unix socket directory ", QuoteForError(dir), ": ", Errno(errno)));
    }
    // mkdir applies the umask; chmod makes the mode exact whatever it is.
    if (mkdir(dir.c_str(), kDirectoryMode) != 0 || chmod(dir.c_str(), kDirectoryMode) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create Unix socket directory ", QuoteForError(dir), ": ", Errno(errno)));
    }
    return absl::OkStatus();
  }
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("Unix socket directory ", QuoteForError(dir), " is not a directory"));
  }
  if (info.st_uid != geteuid() || (info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "Unix socket directory %s must belong to this user and be closed to group and "
        "other (mode 0700); it has owner uid %d and mode %04o. Use a private directory, "
        "e.g. unix:$XDG_RUNTIME_DIR/ml/NAME.sock or a new directory this server creates",
        QuoteForError(dir), static_cast<int>(info.st_uid), info.st_mode & 07777));
  }
  return absl::OkStatus();
}

// True when a server accepts connections on the socket at `path`.
absl::StatusOr<bool> SomeoneListens(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", Errno(errno)));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());  // Length checked by the parser.
  const int connected =
      connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int error = errno;
  close(fd);
  if (connected == 0) return true;
  if (error == ECONNREFUSED) return false;
  return absl::UnavailableError(
      absl::StrCat("cannot probe Unix socket ", QuoteForError(path), ": ", Errno(error)));
}

}  // namespace

absl::StatusOr<UnixSocketClaim> UnixSocketClaim::Claim(const std::string& path) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Unix socket path ", QuoteForError(path), " is empty or too long"));
  }
  if (absl::Status directory = CheckOrCreateDirectory(DirectoryOf(path)); !directory.ok()) {
    return directory;
  }
  const std::string lock_path = path + ".lock";
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                           kSocketMode);
  if (lock_fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", QuoteForError(lock_path), ": ", Errno(errno)));
  }
  UnixSocketClaim claim(path, lock_fd);
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "unix:", QuoteForError(path), " is in use: another server holds ",
        QuoteForError(lock_path)));
  }
  struct stat info;
  if (lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return claim;
    return absl::FailedPreconditionError(
        absl::StrCat("unix:", QuoteForError(path), ": ", Errno(errno)));
  }
  if (!S_ISSOCK(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "unix:", QuoteForError(path), " exists and is not a socket; not removing it"));
  }
  absl::StatusOr<bool> live = SomeoneListens(path);
  if (!live.ok()) return live.status();
  if (*live) {
    return absl::UnavailableError(absl::StrCat(
        "unix:", QuoteForError(path), " is in use: another server answers on it"));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot remove stale socket ", QuoteForError(path), ": ", Errno(errno)));
  }
  return claim;
}

UnixSocketClaim::UnixSocketClaim(UnixSocketClaim&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(std::exchange(other.lock_fd_, -1)) {}

UnixSocketClaim& UnixSocketClaim::operator=(UnixSocketClaim&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) close(lock_fd_);
    path_ = std::move(other.path_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
  }
  return *this;
}

UnixSocketClaim::~UnixSocketClaim() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::Status UnixSocketClaim::RestrictSocketMode() const {
  if (chmod(path_.c_str(), kSocketMode) != 0) {
    return absl::InternalError(
        absl::StrCat("chmod 0600 ", QuoteForError(path_), ": ", Errno(errno)));
  }
  return absl::OkStatus();
}

}  // namespace microledger
