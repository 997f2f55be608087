// Makes a Unix socket path safe and exclusive for one server before gRPC binds
// it (gRPC itself unlinks whatever socket is at the path, so a second server
// would silently take over the first one's socket):
// - the socket's directory must be owned by this user and closed to group and
//   other (mode 0700 or stricter). A missing directory (its parent must exist)
//   is created 0700 whatever the umask; an existing directory with any group or
//   other permission bit is refused rather than changed, because other users'
//   files may live there. Permissions on the directory, not only on the socket,
//   are what keep other users away during the moment between bind and chmod;
// - PATH.lock beside the socket is created 0600 and flock'ed for as long as the
//   claim lives, so two servers starting at once cannot both take the path;
// - a live server answering on PATH means the path is in use; a socket nobody
//   answers on is stale and removed; anything else at PATH is refused.
// After gRPC has bound the socket, RestrictSocketMode sets it to 0600.
// A UnixSocketClaim is movable, not copyable, and not thread-safe.
#ifndef MICROLEDGER_SERVING_UNIX_SOCKET_CLAIM_H_
#define MICROLEDGER_SERVING_UNIX_SOCKET_CLAIM_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace microledger {

class UnixSocketClaim {
 public:
  // FailedPrecondition for an unsafe directory or something other than a
  // socket at `path`; Unavailable when another server holds or answers on it.
  static absl::StatusOr<UnixSocketClaim> Claim(const std::string& path);

  UnixSocketClaim(UnixSocketClaim&& other) noexcept;
  UnixSocketClaim& operator=(UnixSocketClaim&& other) noexcept;
  UnixSocketClaim(const UnixSocketClaim&) = delete;
  UnixSocketClaim& operator=(const UnixSocketClaim&) = delete;
  // Releases the lock (PATH.lock stays; it is reused by the next server).
  ~UnixSocketClaim();

  // chmod 0600 of the bound socket.
  absl::Status RestrictSocketMode() const;

 private:
  UnixSocketClaim(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_UNIX_SOCKET_CLAIM_H_
