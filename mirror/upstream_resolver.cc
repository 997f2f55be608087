#include "mirror/upstream_resolver.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "serving/locator_lookup.h"

namespace microledger {

absl::StatusOr<UpstreamAddress> UpstreamFromUrl(absl::string_view url) {
  UpstreamAddress address;
  if (absl::ConsumePrefix(&url, "grpcs://")) {
    address.tls = true;
  } else if (!absl::ConsumePrefix(&url, "grpc://")) {
    return absl::InvalidArgumentError("upstream: not a grpc:// or grpcs:// URL");
  }
  if (url.empty() || url.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError("upstream: a gRPC URL is scheme://HOST:PORT");
  }
  address.target = std::string(url);
  return address;
}

absl::StatusOr<std::vector<UpstreamAddress>> ResolveUpstreams(
    DhtClient& dht, absl::string_view ledger_id, int64_t now_millis,
    const std::vector<std::string>& exclude) {
  absl::StatusOr<ResolvedLedger> resolved = LookUpLedger(dht, ledger_id, now_millis);
  if (!resolved.ok()) return resolved.status();
  std::vector<UpstreamAddress> addresses;
  for (const std::string& url : resolved->urls) {
    if (std::find(exclude.begin(), exclude.end(), url) != exclude.end()) continue;
    absl::StatusOr<UpstreamAddress> address = UpstreamFromUrl(url);
    if (address.ok()) addresses.push_back(*std::move(address));
  }
  if (addresses.empty()) {
    return absl::NotFoundError(
        "upstream: the DHT has no locator record with a gRPC URL for this ledger");
  }
  return addresses;
}

}  // namespace microledger
