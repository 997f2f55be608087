// ml-witness: the Micro Ledger witness (SPEC §12). Parses flags, loads the
// witness key, opens the store, serves the C2SP tlog-witness protocol over
// HTTP (--http_listen) and microledger.v1.WitnessService over gRPC (--listen,
// with gRPC health and reflection). The logic lives in witness.h; this file
// only wires.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/cosignature.h"
#include "ledger_store/kv_store.h"
#include "microledger/v1/witness.grpc.pb.h"
#include "serving/command_line.h"
#include "serving/grpc_server.h"
#include "serving/http_server.h"
#include "serving/log.h"
#include "serving/metrics.h"
#include "serving/metrics_http.h"
#include "serving/process_metrics.h"
#include "serving/tls_credentials.h"
#include "serving/witness_key_file.h"
#include "witness/client_limits.h"
#include "serving/client_rate_limiter.h"
#include "witness/witness.h"
#include "witness/witness_grpc_service.h"
#include "witness/witness_http.h"
#include "witness/witness_metrics.h"
#include "witness/witness_store.h"

ABSL_FLAG(std::string, key_file, "",
          "the witness's private key (mode 0600), as written by `mlctl witness keygen "
          "--name=NAME --out=FILE`; required");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:7601",
          "HOST:PORT ([IPv6]:PORT) of the C2SP tlog-witness HTTP API (POST /add-checkpoint, "
          "GET /<origin hash>/checkpoint and /evidence), plain HTTP; port 0 picks a free port "
          "(the log line says which)");
ABSL_FLAG(std::string, listen, "127.0.0.1:7600",
          "HOST:PORT ([IPv6]:PORT) or unix:PATH of the gRPC WitnessService; port 0 picks a "
          "free port (the log line says which)");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT ([IPv6]:PORT) to serve Prometheus metrics on, at /metrics over plain "
          "HTTP; port 0 picks a free port (the log line says which); empty: no metrics");
ABSL_FLAG(std::string, data_dir, "",
          "directory of the RocksDB database (required with --storage=rocksdb); one "
          "ml-witness process per directory");
ABSL_FLAG(std::string, storage, "rocksdb",
          "rocksdb (durable, every cosignature synced before it is answered) or memory "
          "(lost at exit; tests only: a witness that forgets can be made to cosign a fork)");
ABSL_FLAG(int64_t, rocksdb_cache_mb, 64, "memory budget of RocksDB in MiB");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain for --listen (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM server private key for --listen");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: gRPC clients must present a certificate it signs (mutual TLS)");
ABSL_FLAG(int64_t, max_body_bytes, 65536,
          "largest add-checkpoint request body (HTTP, answered 413 above it) or gRPC request");
ABSL_FLAG(int64_t, http_threads, 8, "worker threads of the HTTP server");
ABSL_FLAG(double, client_requests_per_second, 1000,
          "add-checkpoint requests per second allowed from one client IP address (HTTP and "
          "gRPC together); above it answered 429 (RESOURCE_EXHAUSTED); 0: unlimited");
ABSL_FLAG(double, client_request_burst, 2000,
          "requests one client IP address may send at once before --client_requests_per_second "
          "applies");
ABSL_FLAG(double, client_new_ledgers_per_minute, 6000,
          "ledgers one client IP address may have the witness cosign for the first time per "
          "minute; above it answered 429 (RESOURCE_EXHAUSTED); 0: unlimited");
ABSL_FLAG(double, client_new_ledger_burst, 1000,
          "new ledgers one client IP address may submit at once before "
          "--client_new_ledgers_per_minute applies");
ABSL_FLAG(int64_t, max_tracked_clients, 100000,
          "client IP addresses whose rate limits are tracked at once; when all are taken by "
          "active clients, requests from new addresses are refused until some go idle");

namespace microledger {
namespace {

int Run() {
  absl::StatusOr<std::unique_ptr<HealthPort>> health_port =
      HealthPort::StartFromFlag("ml-witness", {v1::WitnessService::service_full_name()});
  if (!health_port.ok()) return LogFatal(health_port.status());
  const std::string key_file = absl::GetFlag(FLAGS_key_file);
  if (key_file.empty()) {
    return LogFatal(absl::InvalidArgumentError(
        "--key_file is required (make one with `mlctl witness keygen --name=NAME --out=FILE`)"));
  }
  absl::StatusOr<WitnessSigner> signer = LoadWitnessKey(key_file);
  if (!signer.ok()) return LogFatal(signer.status());

  const int64_t max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  const int64_t http_threads = absl::GetFlag(FLAGS_http_threads);
  const int64_t max_tracked_clients = absl::GetFlag(FLAGS_max_tracked_clients);
  const double requests_per_second = absl::GetFlag(FLAGS_client_requests_per_second);
  const double new_ledgers_per_minute = absl::GetFlag(FLAGS_client_new_ledgers_per_minute);
  if (max_body_bytes <= 0 || max_body_bytes > INT32_MAX || http_threads <= 0 ||
      max_tracked_clients <= 0 || requests_per_second < 0 || new_ledgers_per_minute < 0) {
    return LogFatal(absl::InvalidArgumentError("limits must be positive"));
  }

  const std::string storage = absl::GetFlag(FLAGS_storage);
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<std::unique_ptr<KvStore>> store = OpenKvStore(
      storage, data_dir, /*sync=*/true,
      static_cast<size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_rocksdb_cache_mb))));
  if (!store.ok()) return LogFatal(store.status());

  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  std::unique_ptr<MetricsRegistry> metrics;
  std::unique_ptr<WitnessMetrics> witness_metrics;
  if (!metrics_listen.empty()) {
    metrics = std::make_unique<MetricsRegistry>();
    AddProcessMetrics(*metrics);
    witness_metrics = std::make_unique<WitnessMetrics>(*metrics);
  }

  const WitnessSigner& witness_key = *signer;
  Witness witness(
      std::make_unique<WitnessStore>(*std::move(store)),
      [&witness_key](absl::string_view note_text) {
        return witness_key.Cosign(note_text,
                                  static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())));
      },
      witness_metrics.get());

  RateLimit request_limit;
  request_limit.per_second = requests_per_second;
  request_limit.burst = absl::GetFlag(FLAGS_client_request_burst);
  request_limit.max_clients = static_cast<size_t>(max_tracked_clients);
  RateLimit new_ledger_limit;
  new_ledger_limit.per_second = new_ledgers_per_minute / 60;
  new_ledger_limit.burst = absl::GetFlag(FLAGS_client_new_ledger_burst);
  new_ledger_limit.max_clients = static_cast<size_t>(max_tracked_clients);
  ClientRateLimiter request_limiter(request_limit);
  ClientRateLimiter new_ledger_limiter(new_ledger_limit);
  const ClientLimits limits{&request_limiter, &new_ledger_limiter};

  HttpServerOptions http_options;
  http_options.worker_threads = static_cast<int>(http_threads);
  http_options.max_request_body_bytes = static_cast<size_t>(max_body_bytes);
  HttpServer http(http_options);
  RegisterWitnessHttp(http, &witness, limits, witness_metrics.get());
  if (absl::Status started = http.Start(absl::GetFlag(FLAGS_http_listen)); !started.ok()) {
    return LogFatal(absl::Status(started.code(), absl::StrCat("--http_listen: ", started.message())));
  }
  LogStartLine(absl::StrCat("ml-witness http: listening on ", http.bound_address(),
                            " (C2SP tlog-witness)"),
               "ml-witness", http.bound_address(), "C2SP tlog-witness");

  WitnessGrpcService service(&witness, limits, witness_metrics.get());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                             absl::GetFlag(FLAGS_tls_client_ca)});
  if (!credentials.ok()) return LogFatal(credentials.status());
  ServerConfig config;
  config.program = "ml-witness";
  config.service_name = v1::WitnessService::service_full_name();
  config.health_port = health_port->get();
  config.listen = absl::GetFlag(FLAGS_listen);
  config.credentials = *credentials;
  config.max_receive_message_bytes = static_cast<int>(max_body_bytes);
  config.detail = absl::StrCat("witness ", witness_key.key().name, ", storage=", storage,
                               data_dir.empty() ? "" : ", data_dir=", data_dir);
  std::unique_ptr<HttpServer> metrics_server;
  if (metrics != nullptr) {
    config.metrics = metrics.get();
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        StartMetricsServer("ml-witness", metrics_listen, metrics.get());
    if (!started.ok()) return LogFatal(started.status());
    metrics_server = *std::move(started);
  }
  absl::Status served = ServeUntilStopSignal(&service, config);
  // The HTTP edges read the witness: they stop before it goes.
  http.Stop();
  if (metrics_server != nullptr) metrics_server->Stop();
  if (!served.ok()) return LogFatal(served);
  return 0;
}

}  // namespace
}  // namespace microledger

int main(int argc, char** argv) {
  microledger::BlockStopSignals();
  microledger::ParseServerCommandLine(
      argc, argv,
      {"ml-witness",
       "the Micro Ledger witness (SPEC §12): cosigns ledger checkpoints that are consistent "
       "with the last one it cosigned, over the C2SP tlog-witness HTTP protocol and gRPC "
       "microledger.v1.WitnessService.\n"
       "Usage: ml-witness --key_file=FILE --data_dir=DIR [--http_listen=HOST:PORT] "
       "[--listen=HOST:PORT] [flags]",
       {"witness/ml-witness_main.cc"}});
  return microledger::Run();
}
