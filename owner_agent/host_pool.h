// Internal to owner_agent/: one HostClient per host address, made on first
// use and kept until the pool is cleared. Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_HOST_POOL_H_
#define MICROLEDGER_OWNER_AGENT_HOST_POOL_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "owner_agent/host_client.h"

namespace microledger {

class HostPool {
 public:
  explicit HostPool(HostClientOptions options) : options_(std::move(options)) {}

  std::shared_ptr<HostClient> Get(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<HostClient>& host = hosts_[address];
    if (host == nullptr) host = std::make_shared<HostClient>(address, options_);
    return host;
  }

  // Drops every client: their streams end once no append holds them.
  void Clear() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::flat_hash_map<std::string, std::shared_ptr<HostClient>> hosts;
    {
      absl::MutexLock lock(&mu_);
      hosts.swap(hosts_);
    }
  }

 private:
  const HostClientOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<HostClient>> hosts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_HOST_POOL_H_
