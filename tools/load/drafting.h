// Owner-side block production for ml-load: ChainDrafter drafts one ledger's
// chain and owner-signs its blocks (on several threads), DraftedLedger holds a
// ledger's pre-signed blocks for the workers, ChunkQueue hands blocks drafted
// alongside a stream to its sender, and ParallelFor runs the signing.
//
// Thread-safety: a ChainDrafter and a DraftedLedger are used by one thread at
// a time (ChainDrafter::Next signs on threads of its own and joins them);
// ChunkQueue is safe for one producer and one consumer thread.
#ifndef MICROLEDGER_TOOLS_LOAD_DRAFTING_H_
#define MICROLEDGER_TOOLS_LOAD_DRAFTING_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"

namespace microledger {
namespace load {

// Runs `fn(i)` for i in [0, n) on `threads` threads (on the calling thread
// when `threads` <= 1).
template <typename Fn>
void ParallelFor(int n, int threads, Fn fn) {
  if (threads <= 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

// Blocks drafted at a time: bounds the unsigned blocks held while signing.
constexpr uint64_t kDraftChunk = 4096;

// One ledger's chain as its owner writes it. A block's `previous` is the
// previous block's fingerprint, which no signature changes, so blocks are
// drafted in order and then owner-signed in parallel.
class ChainDrafter {
 public:
  explicit ChainDrafter(const std::string& ledger_id)
      : owner_(*SigningKey::Generate()), state_(ChainState::Empty(ledger_id)) {}

  // The next `count` (at most kDraftChunk) owner-signed blocks, timed now; the
  // first block of the chain opens the document.
  std::vector<std::string> Next(uint64_t count, int sign_threads);

  // The next `count` owner-signed blocks, drafted kDraftChunk at a time.
  std::vector<std::string> NextMany(uint64_t count, int sign_threads);

 private:
  SigningKey owner_;
  ChainState state_;
};

// One ledger as its owner holds it: id, token, and its owner-signed blocks,
// drafted and signed before the clock starts.
struct DraftedLedger {
  std::string id;
  std::string token;
  std::string genesis;              // Owner-signed block 1.
  std::vector<std::string> blocks;  // Owner-signed blocks 2..n, in order.
  size_t next = 0;                  // Next index into `blocks` (owner worker only).
};

// Owner-signs `ledger`'s genesis block and its next `count` blocks.
void DraftLedger(DraftedLedger& ledger, uint64_t count);

// `total` blocks spread over `ledgers` ledgers as evenly as possible.
std::vector<uint64_t> SpreadBlocks(uint64_t total, int ledgers);

// Owner-signed blocks drafted ahead of an AppendStream, at most `capacity`
// chunks queued: the drafter waits when the stream falls behind, so block
// times stay near the host's clock and memory stays bounded.
class ChunkQueue {
 public:
  explicit ChunkQueue(size_t capacity) : capacity_(capacity) {}

  // False once the consumer has closed the queue.
  bool Push(std::vector<std::string> chunk) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    while (chunks_.size() >= capacity_ && !closed_) cv_.Wait(&mu_);
    if (closed_) return false;
    chunks_.push_back(std::move(chunk));
    cv_.SignalAll();
    return true;
  }

  // The next chunk; nullopt once the producer has finished and every chunk
  // is taken, or the queue is closed.
  std::optional<std::vector<std::string>> Pop() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    while (chunks_.empty() && !finished_ && !closed_) cv_.Wait(&mu_);
    if (chunks_.empty() || closed_) return std::nullopt;
    std::vector<std::string> chunk = std::move(chunks_.front());
    chunks_.pop_front();
    cv_.SignalAll();
    return chunk;
  }

  void Finish() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    finished_ = true;
    cv_.SignalAll();
  }
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    cv_.SignalAll();
  }

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::vector<std::string>> chunks_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_DRAFTING_H_
