// Token buckets per client (an IP address): ml-witness's limits on
// add-checkpoint requests and on new ledgers per client, and the request
// limit of the HTTP read API (ledger_store/http_read_api.h). Neither is in the
// SPEC; a refused request is answered 429 over HTTP, RESOURCE_EXHAUSTED over
// gRPC.
//
// Each client has a bucket of `burst` tokens refilled at `per_second`; a
// request takes one token or is refused. At most `max_clients` buckets are
// kept: when a new client finds them all taken, the buckets that are full
// again (idle clients) are dropped first; if none is, the new client is
// refused until one is (fail closed, so that many addresses cannot grow the
// table without bound).
//
// Thread safety: thread-safe (one mutex).
#ifndef MICROLEDGER_SERVING_CLIENT_RATE_LIMITER_H_
#define MICROLEDGER_SERVING_CLIENT_RATE_LIMITER_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace microledger {

struct RateLimit {
  double per_second = 0;  // 0: unlimited.
  double burst = 1;       // Bucket size, at least 1.
  size_t max_clients = 100000;
};

class ClientRateLimiter {
 public:
  // `now` is the clock (absl::Now when empty; tests pass their own).
  explicit ClientRateLimiter(RateLimit limit, std::function<absl::Time()> now = {});

  // Takes one token of `client`'s bucket; false when it is empty (or no
  // bucket can be made for a new client).
  bool Allow(absl::string_view client);

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled;
  };

  const RateLimit limit_;
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// The client the gRPC edge limits by: the IP address of a gRPC peer string
// without its port ("ipv4:127.0.0.1:5000" -> "127.0.0.1", "ipv6:[::1]:5000"
// -> "::1"); any other peer ("unix:…") as it is.
std::string ClientAddressOfGrpcPeer(absl::string_view peer);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_CLIENT_RATE_LIMITER_H_
