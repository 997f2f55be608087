#include "serving/durable_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
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

namespace {

// Writes all of `data` to `fd`.
absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("cannot write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string ParentDirectory(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AppendOnlyFile>> AppendOnlyFile::Open(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open", path);
  return std::unique_ptr<AppendOnlyFile>(new AppendOnlyFile(fd, path));
}

AppendOnlyFile::~AppendOnlyFile() { ::close(fd_); }

absl::Status AppendOnlyFile::Append(absl::string_view record) {
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  absl::Status written = WriteAll(fd_, record, path_);
  if (!written.ok() && start >= 0 && ::ftruncate(fd_, start) != 0) {
    return absl::DataLossError(absl::StrCat(written.message(), "; and it cannot be cut back (",
                                            strerror(errno), "): a fragment is left"));
  }
  return written;
}

absl::Status AppendOnlyFile::Sync() {
  return ::fdatasync(fd_) == 0 ? absl::OkStatus() : Errno("cannot sync", path_);
}

absl::Status WriteNewFile(const std::string& path, absl::string_view data) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot create", path);
  absl::Status status = WriteAll(fd, data, path);
  if (status.ok() && ::fsync(fd) != 0) status = Errno("cannot sync", path);
  if (::close(fd) != 0 && status.ok()) status = Errno("cannot close", path);
  if (status.ok()) status = SyncDirectory(ParentDirectory(path));
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, bool sync) {
  // A name of its own per call: concurrent writers of one path never share
  // a temporary file (the last rename wins, whole).
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter++);
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot write", tmp);
  absl::Status status;
  // A leftover temporary file of another mode keeps it: 0600 in any case.
  if (::fchmod(fd, 0600) != 0) status = Errno("cannot chmod", tmp);
  if (status.ok()) status = WriteAll(fd, data, tmp);
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
  return SyncDirectory(ParentDirectory(path));
}

}  // namespace microledger
