#include "owner_agent/ledger_locator.h"

#include "serving/locator_lookup.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/timestamp.h"

namespace microledger {

bool ServerUnreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

absl::StatusOr<std::vector<LocatedServer>> LedgerLocator::Locate(
    const std::string& ledger_id) const {
  absl::StatusOr<ResolvedLedger> looked_up = LookUpLedger(*dht_, ledger_id, NowMillis());
  if (!looked_up.ok()) return looked_up.status();
  const ResolvedLedger& resolved = *looked_up;
  const absl::string_view scheme = tls_ ? "grpcs://" : "grpc://";
  std::vector<LocatedServer> servers;
  absl::flat_hash_set<std::string> seen;
  for (const LocatorRecord& record : resolved.records) {
    for (const std::string& url : record.urls) {
      if (!absl::StartsWith(url, scheme)) continue;
      std::string address = url.substr(scheme.size());
      if (seen.insert(address).second) servers.push_back({std::move(address), record.role});
    }
  }
  return servers;
}

}  // namespace microledger
