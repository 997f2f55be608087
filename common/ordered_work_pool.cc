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
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void OrderedWorkPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_.push_back(Slot{std::move(task), false});
  }
  work_ready_.notify_one();
}

void OrderedWorkPool::RetireOldest() {
  std::unique_lock<std::mutex> lock(mutex_);
  task_done_.wait(lock, [this] { return slots_.empty() || slots_.front().done; });
  if (slots_.empty()) return;  // Precondition broken; nothing to retire.
  slots_.pop_front();
  ++first_sequence_;
}

size_t OrderedWorkPool::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slots_.size();
}

void OrderedWorkPool::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] {
      return stop_ || next_to_start_ < first_sequence_ + slots_.size();
    });
    if (stop_) return;
    const uint64_t sequence = next_to_start_++;
    // Slots are retired only once done, so this one stays until we finish.
    std::function<void()> task =
        std::move(slots_[static_cast<size_t>(sequence - first_sequence_)].task);
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
    slots_[static_cast<size_t>(sequence - first_sequence_)].done = true;
    if (sequence == first_sequence_) {
      lock.unlock();
      task_done_.notify_one();
      lock.lock();
    }
  }
}

}  // namespace microledger
