// The answers of the HTTP read API that never change — full Merkle tiles,
// full block bundles and attachments (ledger_store/http_read_api.h) — kept in
// memory with their entity tags, least recently used first out, within a byte
// budget (--http_cache_mb). A hit costs a hash lookup instead of a storage
// scan and a digest of the body (about 1 ms of CPU for a bundle of 256 blocks,
// 0.2 ms for a tile).
//
// The cache knows nothing of forgetting: whoever serves from it checks first
// that the ledger is still there (a resource, once complete, changes only by
// being deleted with its whole ledger).
//
// Thread safety: thread-safe (one mutex; values are shared immutable
// strings, so a hit copies no body under the lock).
#ifndef MICROLEDGER_LEDGER_STORE_IMMUTABLE_ANSWER_CACHE_H_
#define MICROLEDGER_LEDGER_STORE_IMMUTABLE_ANSWER_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace microledger {

struct ImmutableAnswer {
  std::string body;
  std::string entity_tag;
  // The body gzip-encoded, for clients that accept it; empty when it is not
  // offered compressed (to this client).
  std::string gzip_body;
  // Whether the answer depends on the request's Accept-Encoding (Vary).
  bool varies_by_encoding = false;
  // Headers of the answer besides the ones every answer of its kind has.
  std::vector<std::pair<std::string, std::string>> headers;
};

class ImmutableAnswerCache {
 public:
  // `capacity_bytes` 0: nothing is kept.
  explicit ImmutableAnswerCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}
  ImmutableAnswerCache(const ImmutableAnswerCache&) = delete;
  ImmutableAnswerCache& operator=(const ImmutableAnswerCache&) = delete;

  // The answer kept for `key`, now the most recently used; null if none.
  std::shared_ptr<const ImmutableAnswer> Find(absl::string_view key);
  // Keeps `answer` for `key` (replacing any), dropping the least recently
  // used answers until the budget holds; an answer larger than the whole
  // budget is not kept.
  void Insert(absl::string_view key, std::shared_ptr<const ImmutableAnswer> answer);

  size_t size_bytes() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const ImmutableAnswer> answer;
    size_t bytes;
  };
  using Order = std::list<Entry>;  // Most recently used first.

  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_bytes_;
  mutable absl::Mutex mu_;
  Order order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Order::iterator> index_ ABSL_GUARDED_BY(mu_);
  size_t size_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_IMMUTABLE_ANSWER_CACHE_H_
