// A small pool of worker threads that runs tasks ahead and retires them in
// submission order: the pipeline behind parallel bundle verification
// (bundle.h), where lines are prepared on the workers and then checked in
// file order by one thread.
//
// The submitting thread owns the data the tasks work on; a task must only
// touch its own item until RetireOldest has returned for it (which
// synchronises: everything the task wrote is visible to the retiring thread).
// The caller bounds the window: pending() tasks are submitted and not yet
// retired; Submit never blocks.
//
// Thread-safety: Submit, RetireOldest and pending are called by one thread
// (the owner); the tasks run on the workers.
#ifndef MICROLEDGER_COMMON_ORDERED_WORK_POOL_H_
#define MICROLEDGER_COMMON_ORDERED_WORK_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace microledger {

class OrderedWorkPool {
 public:
  // Starts `threads` (at least 1) workers.
  explicit OrderedWorkPool(int threads);
  // Waits for the tasks that are running, drops those not started, joins.
  ~OrderedWorkPool();

  OrderedWorkPool(const OrderedWorkPool&) = delete;
  OrderedWorkPool& operator=(const OrderedWorkPool&) = delete;

  // Queues `task`; a free worker runs it (tasks start in submission order).
  void Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mutex_);

  // Waits until the oldest task not yet retired has run, then retires it.
  // Precondition: pending() > 0.
  void RetireOldest() ABSL_LOCKS_EXCLUDED(mutex_);

  // Tasks submitted and not yet retired.
  size_t pending() const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  struct Slot {
    std::function<void()> task;
    bool done = false;
  };

  void Work() ABSL_LOCKS_EXCLUDED(mutex_);

  mutable absl::Mutex mutex_;
  absl::CondVar work_ready_;  // Workers wait for a task or stop_.
  absl::CondVar task_done_;   // The owner waits for the oldest.
  std::deque<Slot> slots_ ABSL_GUARDED_BY(mutex_);  // Not yet retired, oldest first.
  // Sequence number of slots_.front().
  uint64_t first_sequence_ ABSL_GUARDED_BY(mutex_) = 0;
  // Sequence number of the next task to run.
  uint64_t next_to_start_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_ORDERED_WORK_POOL_H_
