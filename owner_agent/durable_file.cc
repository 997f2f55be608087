#include "owner_agent/durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace microledger {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

}  // namespace

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", dir);
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced ? absl::OkStatus() : Errno("cannot sync directory", dir);
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, bool sync) {
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot write", tmp);
  absl::Status status;
  // A leftover temporary file of another mode keeps it: 0600 in any case.
  if (::fchmod(fd, 0600) != 0) status = Errno("cannot chmod", tmp);
  while (status.ok() && !data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = Errno("cannot write", tmp);
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (status.ok() && sync && ::fsync(fd) != 0) status = Errno("cannot sync", tmp);
  if (::close(fd) != 0 && status.ok()) status = Errno("cannot close", tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = Errno("cannot rename", tmp);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (!sync) return absl::OkStatus();
  return SyncDirectory(std::filesystem::path(path).parent_path().string());
}

}  // namespace microledger
