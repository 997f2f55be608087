// Looking a ledger up in the DHT (SPEC §13), as every reader does it: the
// values under the ledger's DHT key, judged by the reader's rules
// (ResolveLocatorValues). A lookup that finds neither a record nor evidence
// is asked once more after a short pause: an OpenDHT get can miss a value
// that was just put (measured: 1 lookup in 300 on a 20-node loopback DHT).
// Shared by mlctl, the owner agent and the mirror.
//
// Thread-safe over a thread-safe DhtClient.
#ifndef MICROLEDGER_SERVING_LOCATOR_LOOKUP_H_
#define MICROLEDGER_SERVING_LOCATOR_LOOKUP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/locator.h"
#include "serving/dht_client.h"

namespace microledger {

// InvalidArgument for a text that is not a ledger id; Unavailable when the
// DHT cannot be asked.
absl::StatusOr<ResolvedLedger> LookUpLedger(DhtClient& dht, absl::string_view ledger_id,
                                            int64_t now_millis);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_LOCATOR_LOOKUP_H_
