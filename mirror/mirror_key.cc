#include "mirror/mirror_key.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "serving/durable_file.h"
#include "serving/whole_file.h"

namespace microledger {

absl::StatusOr<SigningKey> LoadOrCreateMirrorKey(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("mirror key: cannot stat ", path, ": ", std::strerror(errno)));
    }
    absl::StatusOr<SigningKey> fresh = SigningKey::Generate();
    if (!fresh.ok()) return fresh.status();
    absl::Span<const uint8_t> seed = fresh->seed();
    if (absl::Status written = WriteNewFile(
            path, absl::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()));
        !written.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("mirror key: ", written.message()));
    }
    return fresh;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mirror key: ", path, " is open to group or others; make it mode 0600"));
  }
  absl::StatusOr<std::string> seed = ReadWholeFile(path);
  if (!seed.ok()) return seed.status();
  if (seed->size() != 32) {
    return absl::FailedPreconditionError(
        absl::StrCat("mirror key: ", path, " is not a 32-byte seed"));
  }
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(seed->data()), seed->size()));
  std::memset(seed->data(), 0, seed->size());
  return key;
}

}  // namespace microledger
