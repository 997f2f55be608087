#include "tools/load/scenarios.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bundle.h"
#include "tools/load/channels.h"
#include "tools/load/drafting.h"
#include "tools/load/process_stats.h"
#include "tools/load/timed_run.h"
#include "tools/load/workers.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace load {

absl::Status RunAppend(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const uint64_t blocks = options.total > 0 ? options.total : options.predraft;
  LoadOptions run = options;
  run.concurrency = std::max(1, std::min(options.concurrency, options.ledgers));
  if (run.concurrency != options.concurrency) {
    report.note = absl::StrCat("concurrency lowered to --ledgers=", options.ledgers,
                               " (one writer per ledger); ");
  }
  report.concurrency = run.concurrency;
  const Clock::time_point setup_start = Clock::now();
  std::vector<DraftedLedger> ledgers(options.ledgers);
  if (absl::Status s =
          SetUpLedgers(run, *channels, ledgers, SpreadBlocks(blocks, options.ledgers));
      !s.ok()) {
    return s;
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  const bool stream = options.scenario == Scenario::kHostAppendStream;
  TimedRun(
      run, control, blocks,
      [&](int w, WorkerStats& stats) {
        if (stream) {
          StreamAppendWorker(w, run, *channels, ledgers, control, stats);
        } else {
          UnaryAppendWorker(w, run, *channels, ledgers, control, stats);
        }
      },
      report);
  for (WindowSample& sample : report.series) {
    sample.mode = AppendMode(options.scenario, run.concurrency, run.window);
  }
  if (options.duration_s > 0 && report.blocks >= options.predraft) {
    absl::StrAppend(&report.note, "ran out of pre-drafted blocks (--predraft=",
                    options.predraft, ") before --duration; ");
  }
  return absl::OkStatus();
}

namespace {

// `count` ledgers created through the agent's CreateLedger, all with one new
// agent key.
absl::StatusOr<std::vector<std::string>> CreateAgentLedgers(const LoadOptions& options,
                                                            Channels& channels, int count) {
  std::string key;
  {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::CreateKeyRequest request;
    request.set_label("ml-load");
    v1::CreateKeyResponse response;
    grpc::Status status = channels.agent_stub(0).CreateKey(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("CreateKey at the agent ", options.addr,
                                                 ": ", status.error_message()));
    }
    key = response.key();
  }
  std::vector<std::string> ledger_ids(count);
  std::atomic<int> failures{0};
  std::string failure;
  std::mutex failure_mu;
  ParallelFor(count, std::min(8, std::max(1, options.concurrency)), [&](int i) {
    grpc::ClientContext context;
    SetDeadline(context, options.deadline_ms);
    v1::OwnerCreateLedgerRequest request;
    request.set_document_type("ml-load");
    request.set_key(key);
    v1::OwnerCreateLedgerResponse response;
    grpc::Status status = channels.agent_stub(i).CreateLedger(&context, request, &response);
    if (!status.ok() || !response.genesis().has_committed()) {
      ++failures;
      std::lock_guard<std::mutex> lock(failure_mu);
      failure = status.ok() ? "genesis not committed" : status.error_message();
      return;
    }
    ledger_ids[i] = response.ledger_id();
  });
  if (failures > 0) {
    return absl::InternalError(absl::StrCat("CreateLedger through the agent failed: ", failure));
  }
  return ledger_ids;
}

}  // namespace

absl::Status RunAgentAppend(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const Clock::time_point setup_start = Clock::now();
  absl::StatusOr<std::vector<std::string>> created =
      CreateAgentLedgers(options, *channels, options.ledgers);
  if (!created.ok()) return created.status();
  const std::vector<std::string>& ledger_ids = *created;
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  const uint64_t expected = options.total > 0 ? options.total : 0;
  TimedRun(
      options, control, expected,
      [&](int w, WorkerStats& stats) {
        std::vector<const std::string*> own;
        if (options.concurrency <= options.ledgers) {
          for (size_t i = w; i < ledger_ids.size(); i += options.concurrency) {
            own.push_back(&ledger_ids[i]);
          }
        } else {
          own.push_back(&ledger_ids[w % ledger_ids.size()]);
        }
        AgentStub& stub = channels->agent_stub(w);
        v1::AppendEventRequest request;
        v1::BlockOutcome response;
        uint64_t n = 0;
        size_t cursor = 0;
        while (control.Claim()) {
          request.set_ledger_id(*own[cursor++ % own.size()]);
          request.set_event_json(absl::StrCat(R"({"event":"updated","worker":)", w,
                                              R"(,"n":)", ++n, "}"));
          grpc::ClientContext context;
          SetDeadline(context, options.deadline_ms);
          const Clock::time_point start = Clock::now();
          grpc::Status status = stub.AppendEvent(&context, request, &response);
          stats.Record(Clock::now() - start, status.error_code(), status.error_message());
          if (status.ok() && response.has_committed()) ++stats.blocks;
          control.done.fetch_add(1, std::memory_order_relaxed);
        }
      },
      report);
  for (WindowSample& sample : report.series) {
    sample.mode = AppendMode(options.scenario, options.concurrency, options.window);
  }
  return absl::OkStatus();
}

absl::Status RunAgentBulk(const LoadOptions& options, LoadReport& report) {
  if (options.total == 0 || options.duration_s > 0) {
    return absl::InvalidArgumentError("agent-bulk needs --total=BLOCKS (and no --duration)");
  }
  if (options.events_per_message == 0) {
    return absl::InvalidArgumentError("--events_per_message must be at least 1");
  }
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const Clock::time_point setup_start = Clock::now();
  absl::StatusOr<std::vector<std::string>> ledger_ids =
      CreateAgentLedgers(options, *channels, options.concurrency);
  if (!ledger_ids.ok()) return ledger_ids.status();
  // Every stream's messages, made before the clock starts.
  const std::vector<uint64_t> per_stream = SpreadBlocks(options.total, options.concurrency);
  std::vector<std::vector<v1::AppendEventsRequest>> messages(options.concurrency);
  for (int w = 0; w < options.concurrency; ++w) {
    for (uint64_t n = 0; n < per_stream[w]; ++n) {
      if (n % options.events_per_message == 0) {
        messages[w].emplace_back();
        if (n == 0) messages[w].back().set_ledger_id((*ledger_ids)[w]);
      }
      messages[w].back().add_events()->set_event_json(
          absl::StrCat(R"({"event":"updated","worker":)", w, R"(,"n":)", n, "}"));
    }
  }
  report.ledgers = options.concurrency;
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  TimedRun(
      options, control, options.total,
      [&](int w, WorkerStats& stats) {
        stats.keep_latencies = false;
        grpc::ClientContext context;
        v1::AppendEventsSummary summary;
        std::unique_ptr<grpc::ClientWriter<v1::AppendEventsRequest>> writer =
            channels->agent_stub(w).AppendEvents(&context, &summary);
        for (const v1::AppendEventsRequest& message : messages[w]) {
          if (!writer->Write(message)) break;
        }
        writer->WritesDone();
        const grpc::Status status = writer->Finish();
        if (!status.ok()) {
          stats.Record(Clock::duration::zero(), status.error_code(), status.error_message());
          return;
        }
        for (uint64_t n = 0; n < summary.appended(); ++n) {
          stats.Record(Clock::duration::zero(), 0, "");
        }
        if (summary.error_code() != 0) {
          stats.Record(Clock::duration::zero(), summary.error_code(), summary.error_message());
        }
        stats.blocks += summary.appended();
        control.done.fetch_add(summary.appended(), std::memory_order_relaxed);
      },
      report);
  for (WindowSample& sample : report.series) {
    sample.mode = AppendMode(options.scenario, options.concurrency,
                             static_cast<int>(options.events_per_message));
  }
  absl::StrAppend(&report.note,
                  "one answer per stream: no per-block latency; windows end when a stream's "
                  "summary arrives; ");
  return absl::OkStatus();
}

absl::Status RunRead(const LoadOptions& options, LoadReport& report) {
  absl::StatusOr<Channels> channels = Channels::Open(options);
  if (!channels.ok()) return channels.status();
  const Clock::time_point setup_start = Clock::now();
  std::vector<DraftedLedger> ledgers(options.ledgers);
  const uint64_t stored = std::max<uint64_t>(options.blocks_per_ledger, 2);
  if (absl::Status s = SetUpLedgers(options, *channels, ledgers,
                                    std::vector<uint64_t>(options.ledgers, stored - 1));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = FillLedgers(options, *channels, ledgers); !s.ok()) return s;
  for (DraftedLedger& ledger : ledgers) {
    ledger.blocks.clear();
    ledger.blocks.shrink_to_fit();
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  control.total = options.total;
  const bool proof = options.scenario == Scenario::kProof;
  TimedRun(
      options, control, 0,
      [&](int w, WorkerStats& stats) {
        HostStub& stub = channels->stub(w);
        std::mt19937_64 random(w + 1);
        size_t cursor = w;
        while (control.Claim()) {
          const DraftedLedger& ledger = ledgers[cursor++ % ledgers.size()];
          grpc::ClientContext context;
          SetDeadline(context, options.deadline_ms);
          const Clock::time_point start = Clock::now();
          grpc::Status status;
          if (proof) {
            v1::GetInclusionProofRequest request;
            request.set_ledger_id(ledger.id);
            request.set_number(1 + random() % stored);
            v1::GetInclusionProofResponse response;
            status = stub.GetInclusionProof(&context, request, &response);
            if (status.ok()) ++stats.blocks;
          } else {
            v1::GetBlocksRequest request;
            request.set_ledger_id(ledger.id);
            uint64_t from = 1, to = 0;
            if (options.range > 0 && options.range < stored) {
              from = 1 + random() % (stored - options.range + 1);
              to = from + options.range - 1;
            }
            request.set_from_number(from);
            request.set_to_number(to);
            request.set_max_blocks_per_message(options.blocks_per_message);
            auto reader = stub.GetBlocks(&context, request);
            v1::GetBlocksResponse response;
            while (reader->Read(&response)) {
              stats.blocks += options.blocks_per_message > 1 ? response.blocks_size() : 1;
            }
            status = reader->Finish();
          }
          stats.Record(Clock::now() - start, status.error_code(), status.error_message());
          control.done.fetch_add(1, std::memory_order_relaxed);
        }
      },
      report);
  return absl::OkStatus();
}

absl::Status RunVerify(const LoadOptions& options, LoadReport& report) {
  std::string path = options.bundle;
  std::string generated;
  const Clock::time_point setup_start = Clock::now();
  if (path.empty()) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    generated = absl::StrCat(tmp ? tmp : "/tmp", "/ml-load-bundle-", getpid(), ".jsonl");
    std::ostringstream out, err;
    if (RunSample(options.bundle_blocks, generated, out, err) != 0) {
      return absl::InternalError(absl::StrCat("cannot write sample bundle: ", err.str()));
    }
    path = generated;
  }
  report.setup_s = Seconds(Clock::now() - setup_start);
  RunControl control;
  // total = bundles verified; each worker verifies whole bundles.
  control.total = options.total > 0 ? options.total : (options.duration_s > 0 ? 0 : 1);
  TimedRun(
      options, control, 0,
      [&](int, WorkerStats& stats) {
        while (control.Claim()) {
          std::ifstream in(path, std::ios::binary);
          const Clock::time_point start = Clock::now();
          absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in);
          int code = 0;
          std::string message;
          if (!verdict.ok()) {
            code = static_cast<int>(verdict.status().code());
            message = std::string(verdict.status().message());
          } else if (!verdict->ok) {
            code = grpc::StatusCode::DATA_LOSS;
            message = verdict->Line();
          } else {
            stats.blocks += verdict->blocks;
          }
          stats.Record(Clock::now() - start, code, message);
          control.done.fetch_add(1, std::memory_order_relaxed);
        }
      },
      report);
  if (!generated.empty()) std::filesystem::remove(generated);
  return absl::OkStatus();
}

}  // namespace load
}  // namespace microledger
