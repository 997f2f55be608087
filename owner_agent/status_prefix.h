// Internal to owner_agent/: error context. Thread-safe (pure).
#ifndef MICROLEDGER_OWNER_AGENT_STATUS_PREFIX_H_
#define MICROLEDGER_OWNER_AGENT_STATUS_PREFIX_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace microledger {

// `status` with `prefix` before its message (same code); OK stays OK.
inline absl::Status Prefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_STATUS_PREFIX_H_
