#include "common/ordered_work_pool.h"

#include <algorithm>
#include <utility>

namespace microledger {

OrderedWorkPool::OrderedWorkPool(int threads) {
  const int count = std::max(threads, 1);
  workers_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) workers_.emplace_back([this] { Work(); });
}

OrderedWorkPool::~OrderedWorkPool() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  work_ready_.SignalAll();
  for (std::thread& worker : workers_) worker.join();
}

void OrderedWorkPool::Submit(std::function<void()> task) {
  {
    absl::MutexLock lock(&mutex_);
    slots_.push_back(Slot{std::move(task), false});
  }
  work_ready_.Signal();
}

void OrderedWorkPool::RetireOldest() {
  absl::MutexLock lock(&mutex_);
  while (!slots_.empty() && !slots_.front().done) task_done_.Wait(&mutex_);
  if (slots_.empty()) return;  // Precondition broken; nothing to retire.
  slots_.pop_front();
  ++first_sequence_;
}

size_t OrderedWorkPool::pending() const {
  absl::MutexLock lock(&mutex_);
  return slots_.size();
}

void OrderedWorkPool::Work() {
  absl::MutexLock lock(&mutex_);
  while (true) {
    while (!stop_ && next_to_start_ >= first_sequence_ + slots_.size()) {
      work_ready_.Wait(&mutex_);
    }
    if (stop_) return;
    const uint64_t sequence = next_to_start_++;
    // Slots are retired only once done, so this one stays until we finish.
    std::function<void()> task =
        std::move(slots_[static_cast<size_t>(sequence - first_sequence_)].task);
    mutex_.Unlock();
    task();
    task = nullptr;
    mutex_.Lock();
    slots_[static_cast<size_t>(sequence - first_sequence_)].done = true;
    if (sequence == first_sequence_) task_done_.Signal();
  }
}

}  // namespace microledger
