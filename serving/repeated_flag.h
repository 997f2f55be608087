// Every value of a repeatable command-line flag. Abseil keeps only the last
// occurrence of a flag (a std::vector<std::string> flag too), so a server
// whose flag is documented as repeatable reads them all from argv itself:
// --NAME=V, -NAME=V, --NAME V and -NAME V, each V possibly a comma-separated
// list, in order; flags end at "--". The flag must still be defined with
// ABSL_FLAG (so that parsing accepts it and --help lists it).
//
// Thread-safe: a pure function.
#ifndef MICROLEDGER_SERVING_REPEATED_FLAG_H_
#define MICROLEDGER_SERVING_REPEATED_FLAG_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace microledger {

std::vector<std::string> RepeatedFlagValues(int argc, char** argv, absl::string_view name);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_REPEATED_FLAG_H_
