#include "ledger_store/immutable_answer_cache.h"

#include <utility>

namespace microledger {
namespace {

// What an entry costs besides its strings: list node, map slot, control block.
constexpr size_t kEntryOverheadBytes = 128;

}  // namespace

std::shared_ptr<const ImmutableAnswer> ImmutableAnswerCache::Find(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return nullptr;
  order_.splice(order_.begin(), order_, found->second);
  return found->second->answer;
}

void ImmutableAnswerCache::Insert(absl::string_view key,
                                  std::shared_ptr<const ImmutableAnswer> answer) {
  size_t bytes = 2 * key.size() + answer->body.size() + answer->entity_tag.size() +
                 answer->gzip_body.size() + kEntryOverheadBytes;
  for (const auto& [name, value] : answer->headers) bytes += name.size() + value.size();
  if (bytes > capacity_bytes_) return;
  absl::MutexLock lock(&mu_);
  auto found = index_.find(key);
  if (found != index_.end()) {
    size_bytes_ -= found->second->bytes;
    order_.erase(found->second);
    index_.erase(found);
  }
  order_.push_front(Entry{std::string(key), std::move(answer), bytes});
  index_.emplace(order_.front().key, order_.begin());
  size_bytes_ += bytes;
  EvictLocked();
}

size_t ImmutableAnswerCache::size_bytes() const {
  absl::MutexLock lock(&mu_);
  return size_bytes_;
}

void ImmutableAnswerCache::EvictLocked() {
  while (size_bytes_ > capacity_bytes_ && !order_.empty()) {
    size_bytes_ -= order_.back().bytes;
    index_.erase(order_.back().key);
    order_.pop_back();
  }
}

}  // namespace microledger
