// The value of a --witness flag (ml-host, ml-owner): a witness's C2SP verifier
// key and the URL prefix of its add-checkpoint endpoint, written
//
//   <vkey>@<url>      e.g. witness.example+1b2c3d4e+BAbC...=@https://w.example/ml
//
// The vkey (SPEC §12) is split from the URL at the first "@" after its second
// "+" (key names have no "+" and base64 has no "@"). The URL is http:// or
// https://, then a non-empty host part, an optional path, and no query,
// fragment or trailing "/"; the client posts to <url>/add-checkpoint. The flag
// is repeatable: read every value with serving/repeated_flag.h.
//
// Thread-safe: pure functions.
#ifndef MICROLEDGER_SERVING_WITNESS_FLAG_H_
#define MICROLEDGER_SERVING_WITNESS_FLAG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cosignature.h"

namespace microledger {

struct WitnessEndpoint {
  WitnessKey key;
  std::string url;  // The prefix, without a trailing "/".
};

// InvalidArgument naming what is wrong (the vkey's error, or the URL's form).
absl::StatusOr<WitnessEndpoint> ParseWitnessFlag(absl::string_view value);

// Every value parsed; InvalidArgument for the first bad one, or when two
// values name the same witness (name or key).
absl::StatusOr<std::vector<WitnessEndpoint>> ParseWitnessFlags(
    const std::vector<std::string>& values);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_WITNESS_FLAG_H_
