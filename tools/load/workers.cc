#include "tools/load/workers.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"

namespace microledger {
namespace load {

namespace {

// The ledgers of worker `worker` out of `concurrency`: w, w+C, w+2C, ...
std::vector<DraftedLedger*> OwnedLedgers(int worker, int concurrency,
                                         std::vector<DraftedLedger>& ledgers) {
  std::vector<DraftedLedger*> own;
  for (size_t i = worker; i < ledgers.size(); i += concurrency) own.push_back(&ledgers[i]);
  return own;
}

}  // namespace

absl::Status SetUpLedgers(const LoadOptions& options, Channels& channels,
                          std::vector<DraftedLedger>& ledgers,
                          const std::vector<uint64_t>& blocks_per_ledger) {
  for (size_t i = 0; i < ledgers.size(); ++i) {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::CreateLedgerResponse response;
    grpc::Status status =
        channels.stub(i).CreateLedger(&context, v1::CreateLedgerRequest(), &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("CreateLedger at ", options.addr, ": ", status.error_message()));
    }
    ledgers[i].id = response.ledger_id();
    ledgers[i].token = response.ledger_token();
  }
  ParallelFor(static_cast<int>(ledgers.size()), options.draft_threads,
              [&](int i) { DraftLedger(ledgers[i], blocks_per_ledger[i]); });
  std::atomic<int> failures{0};
  std::string failure;
  std::mutex failure_mu;
  ParallelFor(static_cast<int>(ledgers.size()), std::min(8, options.concurrency),
              [&](int i) {
                grpc::ClientContext context;
                SetDeadline(context, options.deadline_ms);
                v1::AppendRequest request;
                request.set_block(ledgers[i].genesis);
                request.set_ledger_token(ledgers[i].token);
                v1::AppendResponse response;
                grpc::Status status = channels.stub(i).Append(&context, request, &response);
                if (!status.ok()) {
                  ++failures;
                  std::lock_guard<std::mutex> lock(failure_mu);
                  failure = status.error_message();
                }
              });
  if (failures > 0) {
    return absl::InternalError(absl::StrCat("genesis append failed: ", failure));
  }
  return absl::OkStatus();
}

void UnaryAppendWorker(int worker, const LoadOptions& options, Channels& channels,
                       std::vector<DraftedLedger>& ledgers, RunControl& control,
                       WorkerStats& stats) {
  std::vector<DraftedLedger*> own = OwnedLedgers(worker, options.concurrency, ledgers);
  HostStub& stub = channels.stub(worker);
  size_t cursor = 0;
  v1::AppendRequest request;
  v1::AppendResponse response;
  while (!own.empty()) {
    DraftedLedger* ledger = own[cursor % own.size()];
    if (ledger->next >= ledger->blocks.size()) {
      own.erase(own.begin() + (cursor % own.size()));
      continue;
    }
    if (!control.Claim()) break;
    ++cursor;
    request.set_block(ledger->blocks[ledger->next]);
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    const Clock::time_point start = Clock::now();
    grpc::Status status = stub.Append(&context, request, &response);
    stats.Record(Clock::now() - start, status.error_code(), status.error_message());
    if (status.ok()) {
      ++stats.blocks;
      ++ledger->next;
    } else {
      // A failed block would break the chain: drop this ledger.
      ledger->next = ledger->blocks.size();
    }
    control.done.fetch_add(1, std::memory_order_relaxed);
  }
}

void StreamAppend(HostStub& stub, size_t window, int64_t deadline_ms, RunControl& control,
                  WorkerStats& stats, const std::function<const std::string*()>& next_block) {
  v1::AppendRequest request;
  StreamAppendRequests(stub, window, deadline_ms, control, stats,
                       [&]() -> const v1::AppendRequest* {
                         const std::string* block = next_block();
                         if (block == nullptr) return nullptr;
                         request.set_block(*block);
                         return &request;
                       });
}

void StreamAppendRequests(HostStub& stub, size_t window, int64_t deadline_ms,
                          RunControl& control, WorkerStats& stats,
                          const std::function<const v1::AppendRequest*()>& next_request) {
  grpc::ClientContext context;
  auto stream = stub.AppendStream(&context);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Clock::time_point> sent;  // Send times of unanswered requests.
  bool writer_done = false;
  bool broken = false;

  std::thread reader([&] {
    v1::AppendStreamResponse response;
    while (stream->Read(&response)) {
      Clock::time_point start;
      {
        std::lock_guard<std::mutex> lock(mu);
        start = sent.front();
        sent.pop_front();
      }
      cv.notify_all();
      stats.Record(Clock::now() - start, response.code(), response.message());
      if (response.code() == 0) ++stats.blocks;
      control.done.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mu);
      if (writer_done && sent.empty()) break;
    }
    std::lock_guard<std::mutex> lock(mu);
    broken = !sent.empty() || !writer_done;
    cv.notify_all();
  });

  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return sent.size() < window || broken; });
      if (broken) break;
    }
    const v1::AppendRequest* request = next_request();
    if (request == nullptr) break;
    {
      std::lock_guard<std::mutex> lock(mu);
      sent.push_back(Clock::now());
    }
    if (!stream->Write(*request)) {
      std::lock_guard<std::mutex> lock(mu);
      sent.pop_back();
      broken = true;
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    writer_done = true;
  }
  stream->WritesDone();
  // Wait for the replies still owed, then end the stream.
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(deadline_ms),
                [&] { return sent.empty() || broken; });
  }
  context.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  std::lock_guard<std::mutex> lock(mu);
  for (size_t i = 0; i < sent.size(); ++i) {
    const int code = status.ok() ? grpc::StatusCode::UNAVAILABLE : status.error_code();
    stats.Record(Clock::duration::zero(), code,
                 absl::StrCat("stream ended without a reply: ", status.error_message()));
    control.done.fetch_add(1, std::memory_order_relaxed);
  }
}

void StreamAppendWorker(int worker, const LoadOptions& options, Channels& channels,
                        std::vector<DraftedLedger>& ledgers, RunControl& control,
                        WorkerStats& stats) {
  std::vector<DraftedLedger*> own = OwnedLedgers(worker, options.concurrency, ledgers);
  size_t cursor = 0;
  StreamAppend(channels.stub(worker), static_cast<size_t>(std::max(1, options.window)),
               options.deadline_ms, control, stats, [&]() -> const std::string* {
                 while (!own.empty()) {
                   DraftedLedger* ledger = own[cursor % own.size()];
                   if (ledger->next >= ledger->blocks.size()) {
                     own.erase(own.begin() + (cursor % own.size()));
                     continue;
                   }
                   if (!control.Claim()) return nullptr;
                   ++cursor;
                   return &ledger->blocks[ledger->next++];
                 }
                 return nullptr;
               });
}

absl::Status FillLedgers(const LoadOptions& options, Channels& channels,
                         std::vector<DraftedLedger>& ledgers) {
  LoadOptions fill = options;
  fill.concurrency = std::max(1, std::min<int>(options.concurrency, ledgers.size()));
  RunControl control;
  std::vector<WorkerStats> stats(fill.concurrency);
  std::vector<std::thread> workers;
  for (int w = 0; w < fill.concurrency; ++w) {
    workers.emplace_back([&, w] {
      StreamAppendWorker(w, fill, channels, ledgers, control, stats[w]);
    });
  }
  for (std::thread& t : workers) t.join();
  for (const WorkerStats& s : stats) {
    if (!s.first_error.empty()) {
      return absl::InternalError(absl::StrCat("filling ledgers: ", s.first_error));
    }
  }
  return absl::OkStatus();
}

}  // namespace load
}  // namespace microledger
