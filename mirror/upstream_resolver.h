// Where to follow a ledger from when its upstream is "dht" (follow by ledger
// id alone, SPEC §13): the gRPC URLs of the ledger's verified locator records
// in the reader's order (host records first), as gRPC targets. Nothing a
// record says is trusted beyond that: the follower verifies whatever the
// address serves.
//
// Thread-safe: pure functions over a thread-safe DhtClient.
#ifndef MICROLEDGER_MIRROR_UPSTREAM_RESOLVER_H_
#define MICROLEDGER_MIRROR_UPSTREAM_RESOLVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "serving/dht_client.h"

namespace microledger {

// The upstream value that means "find it through the DHT".
inline constexpr absl::string_view kDhtUpstream = "dht";

struct UpstreamAddress {
  std::string target;  // HOST:PORT for grpc::CreateChannel.
  bool tls = false;    // grpcs://
};

// "grpc://HOST:PORT" and "grpcs://HOST:PORT" as gRPC targets; InvalidArgument
// for other URLs (https:// is an HTTP read API, not gRPC).
absl::StatusOr<UpstreamAddress> UpstreamFromUrl(absl::string_view url);

// The gRPC addresses of the ledger's locator records at `now_millis`, in the
// SPEC §13 order, without any of `exclude` (this server's own URLs).
// Unavailable if the DHT cannot be asked; NotFound if no record has one.
absl::StatusOr<std::vector<UpstreamAddress>> ResolveUpstreams(
    DhtClient& dht, absl::string_view ledger_id, int64_t now_millis,
    const std::vector<std::string>& exclude);

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_UPSTREAM_RESOLVER_H_
