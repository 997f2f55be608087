// Synchronous conveniences over LedgerHost for tests (testonly): append and
// wait, read a range of blocks through a sink, and subscribe by polling. The
// host itself offers only the asynchronous and chunked forms the gRPC service
// uses.
#ifndef MICROLEDGER_HOST_SERVICE_LEDGER_HOST_TESTING_H_
#define MICROLEDGER_HOST_SERVICE_LEDGER_HOST_TESTING_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "host_service/ledger_host.h"

namespace microledger {

// AppendAsync and wait for its callback.
absl::StatusOr<AppendResult> AppendAndWait(LedgerHost& host, const AppendInput& input);

// Calls `sink` for blocks from..to (to 0 = head) until it returns false.
absl::Status GetBlocks(const LedgerHost& host, absl::string_view ledger_id, uint64_t from,
                       uint64_t to,
                       const std::function<bool(uint64_t, const std::string&)>& sink);

// Delivers every block from `from` on (stored first, then new commits) to
// `sink` (number, complete block, checkpoint of that size) until `sink`
// returns false or `cancelled` returns true (polled at least every
// `poll_millis`); then returns OK. NotFound if the ledger is unknown or is
// forgotten meanwhile.
absl::Status Subscribe(
    LedgerHost& host, absl::string_view ledger_id, uint64_t from,
    const std::function<bool(uint64_t, const std::string&, const std::string&)>& sink,
    const std::function<bool()>& cancelled, int poll_millis = 200);

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_LEDGER_HOST_TESTING_H_
