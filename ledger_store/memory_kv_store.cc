#include <map>

#include "absl/synchronization/mutex.h"
#include "ledger_store/kv_store.h"

namespace microledger {
namespace {

// One mutex over a std::map: the memory store is for tests and small runs.
class MemoryKvStore : public KvStore {
 public:
  absl::StatusOr<std::string> Get(absl::string_view key) const override {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(std::string(key));
    if (it == map_.end()) return absl::NotFoundError("key not found");
    return it->second;
  }

  std::vector<absl::StatusOr<std::string>> MultiGet(
      absl::Span<const std::string> keys) const override {
    std::vector<absl::StatusOr<std::string>> values;
    values.reserve(keys.size());
    absl::MutexLock lock(&mu_);
    for (const std::string& key : keys) {
      auto it = map_.find(key);
      if (it == map_.end()) {
        values.push_back(absl::NotFoundError("key not found"));
      } else {
        values.push_back(it->second);
      }
    }
    return values;
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      absl::string_view begin, absl::string_view end, size_t limit) const override {
    std::vector<std::pair<std::string, std::string>> entries;
    absl::MutexLock lock(&mu_);
    for (auto it = map_.lower_bound(std::string(begin));
         it != map_.end() && it->first < end && entries.size() < limit; ++it) {
      entries.emplace_back(it->first, it->second);
    }
    return entries;
  }

  absl::Status Write(const KvBatch& batch) override {
    absl::MutexLock lock(&mu_);
    for (const auto& [begin, end] : batch.delete_ranges) {
      map_.erase(map_.lower_bound(begin), map_.lower_bound(end));
    }
    for (const auto& [key, value] : batch.puts) map_[key] = value;
    return absl::OkStatus();
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> map_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<KvStore> NewMemoryKvStore() {
  return std::make_unique<MemoryKvStore>();
}

}  // namespace microledger
