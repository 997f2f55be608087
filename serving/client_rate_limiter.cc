#include "serving/client_rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"

namespace microledger {

ClientRateLimiter::ClientRateLimiter(RateLimit limit, std::function<absl::Time()> now)
    : limit_(limit), now_(now ? std::move(now) : [] { return absl::Now(); }) {}

bool ClientRateLimiter::Allow(absl::string_view client) {
  if (limit_.per_second <= 0) return true;
  const double burst = std::max(1.0, limit_.burst);
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  auto found = buckets_.find(client);
  if (found == buckets_.end()) {
    if (buckets_.size() >= limit_.max_clients) {
      for (auto it = buckets_.begin(); it != buckets_.end();) {
        const double refilled =
            it->second.tokens + absl::ToDoubleSeconds(now - it->second.refilled) * limit_.per_second;
        if (refilled >= burst) {
          buckets_.erase(it++);
        } else {
          ++it;
        }
      }
      if (buckets_.size() >= limit_.max_clients) return false;
    }
    found = buckets_.emplace(std::string(client), Bucket{burst, now}).first;
  }
  Bucket& bucket = found->second;
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
  bucket.tokens = std::min(burst, bucket.tokens + elapsed * limit_.per_second);
  bucket.refilled = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::string ClientAddressOfGrpcPeer(absl::string_view peer) {
  if (absl::StartsWith(peer, "ipv4:")) {
    peer.remove_prefix(5);
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (absl::StartsWith(peer, "ipv6:[")) {
    peer.remove_prefix(6);
    return std::string(peer.substr(0, peer.find(']')));
  }
  return std::string(peer);
}

}  // namespace microledger
