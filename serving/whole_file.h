// Reads a whole small file into memory: PEM files, token files, the owner
// agent's registry records, mlctl's attachments. Used by both services and by
// mlctl, which may not depend on each other. Thread-safe.
#ifndef MICROLEDGER_SERVING_WHOLE_FILE_H_
#define MICROLEDGER_SERVING_WHOLE_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {

// The file's bytes. NotFound ("cannot read PATH") when it cannot be opened,
// DataLoss when reading it fails part way.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// The first line of `text`: up to the first "\n", without a trailing "\r".
absl::string_view FirstLine(absl::string_view text);
// The first line of the file (token files); errors as ReadWholeFile.
absl::StatusOr<std::string> ReadFirstLine(const std::string& path);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_WHOLE_FILE_H_
