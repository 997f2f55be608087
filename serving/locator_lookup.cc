#include "serving/locator_lookup.h"

#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace microledger {

absl::StatusOr<ResolvedLedger> LookUpLedger(DhtClient& dht, absl::string_view ledger_id,
                                            int64_t now_millis) {
  absl::StatusOr<std::string> key = DhtKeyHex(ledger_id);
  if (!key.ok()) return key.status();
  constexpr int kAttempts = 2;
  ResolvedLedger resolved;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    absl::StatusOr<std::vector<std::string>> values = dht.Get(*key);
    if (!values.ok()) return values.status();
    resolved = ResolveLocatorValues(ledger_id, *values, now_millis);
    if (!resolved.records.empty() || !resolved.evidence.empty()) break;
    if (attempt < kAttempts) absl::SleepFor(absl::Milliseconds(200));
  }
  return resolved;
}

}  // namespace microledger
