#include "serving/witness_key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "serving/durable_file.h"

namespace microledger {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::NotFoundError(
      absl::StrCat("witness key: ", what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status WriteWitnessKeyFile(const std::string& path, const WitnessSigner& signer) {
  std::string text = FormatWitnessPrivateKey(signer);
  absl::Status written = WriteNewFile(path, text);
  sodium_memzero(text.data(), text.size());
  return written;
}

absl::StatusOr<WitnessSigner> LoadWitnessKey(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const absl::Status status = Errno("cannot stat", path);
    ::close(fd);
    return status;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("witness key: ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "witness key: ", path, " is accessible by group or others; chmod 600 it"));
  }
  char buffer[kMaxWitnessKeyFileBytes + 1];
  size_t size = 0;
  while (size < sizeof buffer) {
    const ssize_t n = ::read(fd, buffer + size, sizeof buffer - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const absl::Status status = Errno("cannot read", path);
      ::close(fd);
      sodium_memzero(buffer, sizeof buffer);
      return status;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  absl::StatusOr<WitnessSigner> signer =
      size > kMaxWitnessKeyFileBytes
          ? absl::InvalidArgumentError("witness key file is too long")
          : ParseWitnessPrivateKey(absl::string_view(buffer, size));
  sodium_memzero(buffer, sizeof buffer);
  if (!signer.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("witness key: ", path, ": ", signer.status().message()));
  }
  return signer;
}

}  // namespace microledger
