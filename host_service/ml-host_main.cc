// ml-host: the Micro Ledger host service. Parses flags, opens the store, loads
// the master secret and serves microledger.v1.HostService (plus gRPC health
// and reflection). The logic lives in ledger_host.h; this file only wires.
#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "host_service/host_grpc_service.h"
#include "host_service/host_keys.h"
#include "host_service/host_metrics.h"
#include "host_service/ledger_host.h"
#include "host_service/witness_submitter.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_lookup.h"
#include "ledger_store/ledger_reader.h"
#include "ledger_store/witness_cosignatures.h"
#include "serving/dht_client.h"
#include "serving/command_line.h"
#include "serving/grpc_server.h"
#include "ledger_store/http_read_flags.h"
#include "serving/log.h"
#include "serving/http_server.h"
#include "serving/metrics.h"
#include "serving/metrics_http.h"
#include "serving/process_metrics.h"
#include "serving/repeated_flag.h"
#include "serving/locator_announcer.h"
#include "serving/tls_credentials.h"
#include "serving/witness_client.h"
#include "serving/witness_flag.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7400",
          "HOST:PORT ([IPv6]:PORT) or unix:PATH to listen on; port 0 picks a free port "
          "(the log line says which). A port or socket already in use is refused");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT ([IPv6]:PORT) to serve Prometheus metrics on, at /metrics over plain "
          "HTTP; port 0 picks a free port (the log line says which); empty: no metrics");
ABSL_FLAG(int64_t, max_streams_per_connection, 2048,
          "HTTP/2 streams (calls) one connection may have open at once; above it calls "
          "wait. Kept above the per-connection append-stream and subscription limits, "
          "which answer RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, data_dir, "",
          "directory of the RocksDB database (required with --storage=rocksdb); "
          "one ml-host process per directory");
ABSL_FLAG(std::string, storage, "rocksdb",
          "rocksdb (durable) or memory (lost at exit; for tests)");
ABSL_FLAG(std::string, master_key_file, "",
          "file holding the 32-byte master secret (mode 0600), created on first "
          "start if absent; default DATA_DIR/master.key. The environment variable "
          "ML_HOST_MASTER_KEY (base64url of 32 bytes) takes precedence. With "
          "--storage=memory and neither set, a random secret is used for this run");
ABSL_FLAG(bool, sync, true,
          "fsync the RocksDB write-ahead log before acknowledging an append "
          "(concurrent appends share one sync)");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain file (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM server private key file (with --tls_cert)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: when set, clients must present a certificate it signs "
          "(mutual TLS)");
ABSL_FLAG(int64_t, max_block_bytes, 65536,
          "largest accepted block, canonical JSON bytes with the host signature");
ABSL_FLAG(int64_t, max_attachment_bytes, 1 << 20, "largest accepted attachment");
ABSL_FLAG(int64_t, max_attachments, 16, "most attachments in one append");
ABSL_FLAG(int64_t, max_inflight_per_stream, 64,
          "most unanswered appends per AppendStream before the host stops reading");
ABSL_FLAG(int64_t, max_concurrent_appends, 4096,
          "most appends in flight on the host (unary Append calls and unanswered "
          "AppendStream requests); more are answered RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_concurrent_appends_per_connection, 512,
          "most appends in flight from one client connection");
ABSL_FLAG(int64_t, max_append_streams, 1024, "most AppendStream streams open on the host");
ABSL_FLAG(int64_t, max_append_streams_per_connection, 64,
          "most AppendStream streams open on one client connection");
ABSL_FLAG(int64_t, max_subscriptions, 4096, "most Subscribe streams open on the host");
ABSL_FLAG(int64_t, max_subscriptions_per_connection, 1024,
          "most Subscribe streams open on one client connection");
ABSL_FLAG(int64_t, max_inflight_request_bytes, int64_t{64} << 20,
          "most bytes of append requests (serialized) in flight on the host; an "
          "append that would pass it is answered RESOURCE_EXHAUSTED, so keep it at "
          "least the largest request (--max_block_bytes plus --max_attachments "
          "attachments of --max_attachment_bytes)");
ABSL_FLAG(int64_t, max_clock_skew_seconds, 300,
          "reject blocks whose time is further than this from the host's clock");
ABSL_FLAG(int64_t, rocksdb_cache_mb, 64,
          "memory budget of RocksDB in MiB: the LRU block cache, which the "
          "memtables are also charged to (so RocksDB's memory stays near this "
          "bound however many blocks are stored)");
ABSL_FLAG(int64_t, ledger_cache_size, 10000,
          "ledgers whose state and key stay in memory; idle ones beyond this are "
          "evicted (least recently used) and reloaded from storage on use");
ABSL_FLAG(std::string, dht_proxy, "",
          "discovery (SPEC §13): the REST proxy of an OpenDHT node (dhtnode "
          "--proxyserver PORT), http://HOST:PORT; empty: ledgers are not announced");
ABSL_FLAG(std::vector<std::string>, announce_url, {},
          "with --dht_proxy: a URL where readers reach this host (grpc://HOST:PORT, "
          "grpcs://HOST:PORT for TLS, https://... for an HTTP read API); 1 to 4, "
          "repeatable or comma-separated; put in every ledger's locator record");
ABSL_FLAG(std::string, announce, "active",
          "which ledgers are announced: active (written or read within "
          "--announce_active_window), all (every ledger held), none");
ABSL_FLAG(absl::Duration, announce_active_window, absl::Hours(24),
          "--announce=active: a ledger written or read within this stays announced");
ABSL_FLAG(int64_t, dht_timeout_ms, 2000, "deadline of each request to the DHT proxy");
ABSL_FLAG(std::vector<std::string>, witness, {},
          "a witness (SPEC §12) the host submits each touched ledger's newest "
          "checkpoint to, after commits: <verifier key>@<url> (the C2SP vkey, then "
          "the http:// or https:// prefix of its add-checkpoint endpoint); repeatable");
ABSL_FLAG(int64_t, witness_quorum, 0,
          "cosignatures of distinct --witness witnesses that make a checkpoint "
          "witnessed (GetCheckpoint witnessed); 0: all of them");
ABSL_FLAG(int64_t, witness_min_interval_ms, 1000,
          "least time between two submissions of one ledger to the witnesses; "
          "commits in between are coalesced into the newest checkpoint");
ABSL_FLAG(int64_t, witness_timeout_ms, 10000,
          "deadline of each request to a witness (stopping the host waits for the "
          "requests in flight, so at most this long)");
ABSL_FLAG(int64_t, merkle_node_cache_size, 1 << 18,
          "Merkle tree nodes cached for proofs, across ledgers (about 100 bytes "
          "each); below 32 disables the cache");

namespace microledger {
namespace {

// Gauges read at scrape time from the store's RocksDB properties (absent
// with --storage=memory). `store` must outlive the registry's scrapes.
void AddStorageMetrics(MetricsRegistry& registry, const KvStore* store) {
  struct StorageGauge {
    const char* name;
    const char* help;
    const char* property;
  };
  static constexpr StorageGauge kGauges[] = {
      {"microledger_host_rocksdb_total_sst_files_bytes", "Size of all SST files in bytes.",
       "rocksdb.total-sst-files-size"},
      {"microledger_host_rocksdb_live_sst_files_bytes",
       "Size of the SST files of the current version in bytes.", "rocksdb.live-sst-files-size"},
      {"microledger_host_rocksdb_estimate_live_data_bytes", "Estimated live data in bytes.",
       "rocksdb.estimate-live-data-size"},
      {"microledger_host_rocksdb_delayed_write_rate_bytes_per_second",
       "Write rate RocksDB slows writes to, in bytes per second; 0 when writes are not delayed.",
       "rocksdb.actual-delayed-write-rate"},
      {"microledger_host_rocksdb_write_stopped",
       "1 when RocksDB has stopped writes (a write stall), else 0.", "rocksdb.is-write-stopped"},
  };
  for (const StorageGauge& gauge : kGauges) {
    const std::string property = gauge.property;
    registry.AddGaugeCallback(gauge.name, gauge.help,
                              [store, property]() -> std::optional<double> {
                                std::optional<uint64_t> value = store->IntProperty(property);
                                if (!value.has_value()) return std::nullopt;
                                return static_cast<double>(*value);
                              });
  }
}

// The submitter's view of the host: checkpoints and proofs from its reader
// (set once the host exists: until then every hook answers Unavailable), and
// the cosignatures store.
WitnessSubmitterHooks HostWitnessHooks(const LedgerReader* const* reader,
                                       WitnessCosignatures* cosignatures) {
  const auto not_ready = [] { return absl::UnavailableError("host not ready"); };
  WitnessSubmitterHooks hooks;
  hooks.latest = [reader, not_ready](const std::string& ledger_id)
      -> absl::StatusOr<WitnessSubmitterHooks::LatestCheckpoint> {
    if (*reader == nullptr) return not_ready();
    absl::StatusOr<std::string> note = (*reader)->GetCheckpoint(ledger_id, 0);
    if (!note.ok()) return note.status();
    // The tree size is the note's second line.
    const std::vector<absl::string_view> lines = absl::StrSplit(*note, absl::MaxSplits('\n', 2));
    uint64_t tree_size = 0;
    if (lines.size() < 3 || !absl::SimpleAtoi(lines[1], &tree_size)) {
      return absl::DataLossError("storage: a checkpoint without a tree size");
    }
    return WitnessSubmitterHooks::LatestCheckpoint{tree_size, *std::move(note)};
  };
  hooks.consistency_proof = [reader, not_ready](const std::string& ledger_id, uint64_t old_size,
                                                uint64_t new_size)
      -> absl::StatusOr<std::vector<MerkleHash>> {
    if (*reader == nullptr) return not_ready();
    absl::StatusOr<ConsistencyProofResult> proof =
        (*reader)->GetConsistencyProof(ledger_id, old_size, new_size);
    if (!proof.ok()) return proof.status();
    return std::move(proof->hashes);
  };
  hooks.cosigned_size = [cosignatures](const std::string& ledger_id, size_t witness)
      -> absl::StatusOr<std::optional<uint64_t>> {
    absl::StatusOr<std::string> ledger_key = LedgerKeyFromId(ledger_id);
    if (!ledger_key.ok()) return ledger_key.status();
    return cosignatures->CosignedSize(*ledger_key, witness);
  };
  hooks.record = [cosignatures](const std::string& ledger_id, size_t witness,
                                uint64_t tree_size, const std::string& line) -> absl::Status {
    absl::StatusOr<std::string> ledger_key = LedgerKeyFromId(ledger_id);
    if (!ledger_key.ok()) return ledger_key.status();
    return cosignatures->Record(*ledger_key, witness, tree_size, line).status();
  };
  return hooks;
}

// `announce_urls`: every --announce_url; `witness_flags`: every --witness.
int Run(const std::vector<std::string>& announce_urls,
        const std::vector<std::string>& witness_flags) {
  // Health checks answer (not ready) from now on, before storage is open.
  absl::StatusOr<std::unique_ptr<HealthPort>> health_port =
      HealthPort::StartFromFlag("ml-host", {v1::HostService::service_full_name()});
  if (!health_port.ok()) return LogFatal(health_port.status());
  const std::string storage = absl::GetFlag(FLAGS_storage);
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<std::unique_ptr<KvStore>> store = OpenKvStore(
      storage, data_dir, absl::GetFlag(FLAGS_sync),
      static_cast<size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_rocksdb_cache_mb))));
  if (!store.ok()) return LogFatal(store.status());
  KvStore* const storage_engine = store->get();
  // Metrics (--metrics_listen): the registry outlives everything it reads.
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  std::unique_ptr<MetricsRegistry> metrics;
  std::unique_ptr<HostMetrics> host_metrics;
  if (!metrics_listen.empty()) {
    metrics = std::make_unique<MetricsRegistry>();
    AddProcessMetrics(*metrics);
    AddStorageMetrics(*metrics, storage_engine);
    host_metrics = std::make_unique<HostMetrics>(*metrics);
  }

  std::string key_file = absl::GetFlag(FLAGS_master_key_file);
  if (key_file.empty() && !data_dir.empty()) key_file = data_dir + "/master.key";
  absl::StatusOr<MasterSecret> master =
      (key_file.empty() && std::getenv(kMasterKeyEnvVar) == nullptr)
          ? MasterSecret::Generate()
          : MasterSecret::Load(key_file);
  if (!master.ok()) return LogFatal(master.status());

  const int64_t max_block_bytes = absl::GetFlag(FLAGS_max_block_bytes);
  const int64_t max_attachment_bytes = absl::GetFlag(FLAGS_max_attachment_bytes);
  const int64_t max_attachments = absl::GetFlag(FLAGS_max_attachments);
  const int64_t max_inflight = absl::GetFlag(FLAGS_max_inflight_per_stream);
  const int64_t max_skew = absl::GetFlag(FLAGS_max_clock_skew_seconds);
  const int64_t ledger_cache_size = absl::GetFlag(FLAGS_ledger_cache_size);
  const int64_t merkle_node_cache_size = absl::GetFlag(FLAGS_merkle_node_cache_size);
  const int64_t admission[] = {absl::GetFlag(FLAGS_max_concurrent_appends),
                               absl::GetFlag(FLAGS_max_concurrent_appends_per_connection),
                               absl::GetFlag(FLAGS_max_append_streams),
                               absl::GetFlag(FLAGS_max_append_streams_per_connection),
                               absl::GetFlag(FLAGS_max_subscriptions),
                               absl::GetFlag(FLAGS_max_subscriptions_per_connection),
                               absl::GetFlag(FLAGS_max_inflight_request_bytes)};
  if (max_block_bytes <= 0 || max_attachment_bytes < 0 || max_attachments < 0 ||
      max_inflight <= 0 || max_skew < 0 || ledger_cache_size <= 0 ||
      merkle_node_cache_size < 0 ||
      *std::min_element(std::begin(admission), std::end(admission)) <= 0) {
    return LogFatal(absl::InvalidArgumentError("limits must be positive"));
  }
  HostOptions options;
  options.max_block_bytes = static_cast<size_t>(max_block_bytes);
  options.max_attachment_bytes = static_cast<size_t>(max_attachment_bytes);
  options.max_attachments = static_cast<size_t>(max_attachments);
  options.max_clock_skew_millis = max_skew * 1000;
  options.max_cached_ledgers = static_cast<size_t>(ledger_cache_size);
  options.max_cached_merkle_nodes = static_cast<size_t>(merkle_node_cache_size);
  options.metrics = host_metrics.get();
  // Discovery: the announcer signs with ledger keys through the host, so the
  // host is set after it is made; the announcer stops before the host goes.
  LedgerHost* signing_host = nullptr;
  std::unique_ptr<LocatorAnnouncer> announcer;
  AnnounceMode announce_mode = AnnounceMode::kActive;
  const std::string dht_proxy = absl::GetFlag(FLAGS_dht_proxy);
  if (dht_proxy.empty() && !announce_urls.empty()) {
    return LogFatal(absl::InvalidArgumentError("--announce_url needs --dht_proxy"));
  }
  if (!dht_proxy.empty()) {
    const std::string mode = absl::GetFlag(FLAGS_announce);
    if (mode == "active") {
      announce_mode = AnnounceMode::kActive;
    } else if (mode == "all") {
      announce_mode = AnnounceMode::kAll;
    } else if (mode == "none") {
      announce_mode = AnnounceMode::kNone;
    } else {
      return LogFatal(absl::InvalidArgumentError("--announce must be active, all or none"));
    }
    const std::vector<std::string>& urls = announce_urls;
    if (urls.empty() && announce_mode != AnnounceMode::kNone) {
      return LogFatal(absl::InvalidArgumentError(
          "--dht_proxy needs --announce_url: the URL(s) readers reach this host at"));
    }
    absl::StatusOr<std::unique_ptr<DhtClient>> dht = NewDhtProxyClient(
        dht_proxy, absl::Milliseconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_dht_timeout_ms))));
    if (!dht.ok()) return LogFatal(dht.status());
    LocatorAnnouncerOptions announce;
    announce.program = "ml-host";
    announce.dht_name = absl::StrCat("DHT proxy ", dht_proxy);
    announce.role = LocatorRole::kHost;
    announce.urls = urls.empty() ? std::vector<std::string>{"grpc://127.0.0.1:1"} : urls;
    announce.mode = announce_mode;
    announce.active_window = absl::GetFlag(FLAGS_announce_active_window);
    absl::StatusOr<std::unique_ptr<LocatorAnnouncer>> made = LocatorAnnouncer::Create(
        announce, std::shared_ptr<DhtClient>(*std::move(dht)),
        [&signing_host](const std::string& ledger_id, LocatorRecord record)
            -> absl::StatusOr<std::string> {
          if (signing_host == nullptr) return absl::UnavailableError("host not ready");
          return signing_host->SignLocator(ledger_id, std::move(record));
        });
    if (!made.ok()) return LogFatal(made.status());
    announcer = *std::move(made);
    options.announcer = announcer.get();
  }
  // Witnesses: the submitter reads through the host's reader, set once the
  // host exists; it stops before the host goes.
  const LedgerReader* witness_reader = nullptr;
  std::unique_ptr<WitnessCosignatures> cosignatures;
  std::unique_ptr<WitnessSubmitter> witness_submitter;
  if (!witness_flags.empty()) {
    absl::StatusOr<std::vector<WitnessEndpoint>> endpoints = ParseWitnessFlags(witness_flags);
    if (!endpoints.ok()) return LogFatal(endpoints.status());
    const int64_t quorum_flag = absl::GetFlag(FLAGS_witness_quorum);
    const int64_t min_interval_ms = absl::GetFlag(FLAGS_witness_min_interval_ms);
    const int64_t timeout_ms = absl::GetFlag(FLAGS_witness_timeout_ms);
    if (quorum_flag < 0 || quorum_flag > static_cast<int64_t>(endpoints->size())) {
      return LogFatal(absl::InvalidArgumentError(
          "--witness_quorum must be between 1 and the number of --witness (0: all)"));
    }
    if (min_interval_ms < 0 || timeout_ms <= 0) {
      return LogFatal(absl::InvalidArgumentError(
          "--witness_min_interval_ms must not be negative and --witness_timeout_ms must be "
          "positive"));
    }
    std::vector<WitnessKey> keys;
    std::vector<std::unique_ptr<WitnessClient>> clients;
    for (WitnessEndpoint& endpoint : *endpoints) {
      keys.push_back(endpoint.key);
      absl::StatusOr<std::unique_ptr<WitnessClient>> client =
          NewHttpWitnessClient(std::move(endpoint), absl::Milliseconds(timeout_ms));
      if (!client.ok()) return LogFatal(client.status());
      clients.push_back(*std::move(client));
    }
    const size_t quorum = quorum_flag == 0 ? keys.size() : static_cast<size_t>(quorum_flag);
    cosignatures = std::make_unique<WitnessCosignatures>(storage_engine, std::move(keys), quorum);
    WitnessSubmitterOptions submit;
    submit.min_interval = absl::Milliseconds(min_interval_ms);
    if (host_metrics != nullptr) submit.submissions = &host_metrics->witness_submissions;
    absl::StatusOr<std::unique_ptr<WitnessSubmitter>> made = WitnessSubmitter::Create(
        std::move(clients), HostWitnessHooks(&witness_reader, cosignatures.get()),
        std::move(submit));
    if (!made.ok()) return LogFatal(made.status());
    witness_submitter = *std::move(made);
    options.witnesses = witness_submitter.get();
  }
  LedgerHost host(*std::move(store), *std::move(master), options);
  signing_host = &host;
  witness_reader = &host.reader();
  // On every way out the submitter (whose threads read through the host)
  // stops before the host goes.
  absl::Cleanup stop_witnessing = [&witness_submitter] { witness_submitter.reset(); };
  // On every way out the announcer (whose thread signs through the host)
  // stops before the host goes.
  absl::Cleanup stop_announcing = [&announcer] { announcer.reset(); };
  if (announcer != nullptr && announce_mode != AnnounceMode::kNone) {
    // Ledgers held before this start: all of them, or those written within
    // the active window (by their head block's time).
    absl::Status listed = host.ForEachLedger(
        [&announcer, announce_mode](const std::string& ledger_id, int64_t head_time_millis) {
          if (announce_mode == AnnounceMode::kAll) {
            announcer->Touch(ledger_id);
          } else {
            announcer->Touch(ledger_id, absl::FromUnixMillis(head_time_millis));
          }
        });
    if (!listed.ok()) return LogFatal(listed);
  }
  AdmissionLimits limits;
  limits.max_concurrent_appends = static_cast<size_t>(admission[0]);
  limits.max_concurrent_appends_per_connection = static_cast<size_t>(admission[1]);
  limits.max_append_streams = static_cast<size_t>(admission[2]);
  limits.max_append_streams_per_connection = static_cast<size_t>(admission[3]);
  limits.max_subscriptions = static_cast<size_t>(admission[4]);
  limits.max_subscriptions_per_connection = static_cast<size_t>(admission[5]);
  limits.max_inflight_request_bytes = static_cast<size_t>(admission[6]);
  HostGrpcService service(&host, static_cast<size_t>(max_inflight), limits, announcer.get(),
                          host_metrics == nullptr ? nullptr : &host_metrics->reads);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                             absl::GetFlag(FLAGS_tls_client_ca)});
  if (!credentials.ok()) return LogFatal(credentials.status());

  const int64_t max_message =
      max_block_bytes + max_attachments * (max_attachment_bytes + 1024) + 65536;
  ServerConfig config;
  config.program = "ml-host";
  config.service_name = v1::HostService::service_full_name();
  config.health_port = health_port->get();
  config.listen = absl::GetFlag(FLAGS_listen);
  config.credentials = *credentials;
  config.max_receive_message_bytes =
      static_cast<int>(std::min<int64_t>(max_message, INT32_MAX));
  const int64_t max_streams = absl::GetFlag(FLAGS_max_streams_per_connection);
  if (max_streams <= 0 || max_streams > INT32_MAX) {
    return LogFatal(absl::InvalidArgumentError(
        "--max_streams_per_connection must be in 1..2147483647"));
  }
  config.max_concurrent_streams_per_connection = static_cast<int>(max_streams);
  config.detail = absl::StrCat("storage=", storage,
                               data_dir.empty() ? "" : ", data_dir=", data_dir);
  std::unique_ptr<HttpServer> metrics_server;
  if (metrics != nullptr) {
    metrics->AddGaugeCallback("microledger_host_ledgers_cached",
                              "Ledgers whose state and key are cached in memory.",
                              [&host] { return static_cast<double>(host.cached_ledgers()); });
    if (witness_submitter != nullptr) {
      metrics->AddGaugeCallback(
          "microledger_host_witness_ledgers_waiting",
          "Ledgers with a checkpoint waiting for their next submission to the witnesses.",
          [&witness_submitter]() -> std::optional<double> {
            if (witness_submitter == nullptr) return std::nullopt;
            return static_cast<double>(witness_submitter->waiting_ledgers());
          });
    }
    metrics->AddGaugeCallback(
        "microledger_host_subscriptions_open", "Subscribe streams open.",
        [&service] { return static_cast<double>(service.admission_usage().subscriptions); });
    config.metrics = metrics.get();
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        StartMetricsServer("ml-host", metrics_listen, metrics.get());
    if (!started.ok()) return LogFatal(started.status());
    metrics_server = *std::move(started);
  }
  // The HTTP read API (--http_listen) reads host: it stops before it goes.
  absl::StatusOr<std::optional<HttpReadServer>> http_reads =
      StartHttpReadServerFromFlags("ml-host", &host.reader(), metrics.get(), "microledger_host_");
  if (!http_reads.ok()) return LogFatal(http_reads.status());
  absl::Status served = ServeUntilStopSignal(&service, config);
  if (http_reads->has_value()) (*http_reads)->server->Stop();
  // Scrapes read the host and the service: they stop first.
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
      {"ml-host",
       "the Micro Ledger host service (gRPC microledger.v1.HostService).\n"
       "Holds the host keys, checks every SPEC rule, countersigns, stores blocks in "
       "RocksDB and publishes signed checkpoints.\n"
       "Usage: ml-host --data_dir=DIR [--listen=HOST:PORT] [flags]",
       {"host_service/ml-host_main.cc", "ledger_store/http_read_flags.cc"}});
  // Debian's Abseil has mutex deadlock detection on; it costs 1-2 % of the
  // host's CPU on the append path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Abseil keeps the last of a repeated flag: --announce_url and --witness are
  // read from argv.
  return microledger::Run(microledger::RepeatedFlagValues(argc, argv, "announce_url"),
                          microledger::RepeatedFlagValues(argc, argv, "witness"));
}
