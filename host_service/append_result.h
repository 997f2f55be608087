// What an accepted append returns (LedgerHost::AppendAsync), shared by the
// append pipeline and the GroupCommitter that completes it. Plain data.
#ifndef MICROLEDGER_HOST_SERVICE_APPEND_RESULT_H_
#define MICROLEDGER_HOST_SERVICE_APPEND_RESULT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/block.h"

namespace microledger {

struct AppendResult {
  std::string ledger_id;
  uint64_t number = 0;
  std::string fingerprint;
  BlockSignature host_signature;
  std::string checkpoint;
  std::string complete_block;
};

using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_APPEND_RESULT_H_
