// ml-mirror: the Micro Ledger mirror. Parses flags, opens the store, starts
// following the ledgers it followed before and those named by --follow, and
// serves microledger.v1.HostService (reads) on --listen and
// microledger.v1.MirrorAdmin on --admin_listen. The logic lives in mirror.h;
// this file only wires.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "ledger_store/kv_store.h"
#include "mirror/admin_grpc_service.h"
#include "mirror/mirror.h"
#include "mirror/mirror_grpc_service.h"
#include "mirror/mirror_metrics.h"
#include "mirror/mirror_key.h"
#include "mirror/upstream_resolver.h"
#include "common/locator.h"
#include "serving/dht_client.h"
#include "serving/locator_announcer.h"
#include "serving/command_line.h"
#include "serving/grpc_server.h"
#include "ledger_store/http_read_flags.h"
#include "serving/log.h"
#include "serving/http_server.h"
#include "serving/metrics.h"
#include "serving/metrics_http.h"
#include "serving/process_metrics.h"
#include "serving/repeated_flag.h"
#include "serving/listen_address.h"
#include "serving/tls_credentials.h"
#include "serving/whole_file.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7500",
          "HOST:PORT ([IPv6]:PORT) or unix:PATH where readers reach the HostService read "
          "API; port 0 picks a free port (the log line says which)");
ABSL_FLAG(std::string, admin_listen, "",
          "where the MirrorAdmin API (follow, unfollow, status) listens: unix:PATH, a "
          "loopback address (127.x.y.z:PORT, [::1]:PORT), or any address with mutual TLS "
          "(--admin_tls_cert, --admin_tls_key, --admin_tls_client_ca); default "
          "unix:DATA_DIR/admin/admin.sock (its directory is created mode 0700), none "
          "with --storage=memory (then only --follow)");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT ([IPv6]:PORT) to serve Prometheus metrics on, at /metrics over plain "
          "HTTP; port 0 picks a free port (the log line says which); empty: no metrics");
ABSL_FLAG(std::string, data_dir, "",
          "directory of the RocksDB database (required with --storage=rocksdb); one "
          "ml-mirror process per directory");
ABSL_FLAG(std::string, storage, "rocksdb", "rocksdb (durable) or memory (lost at exit; tests)");
ABSL_FLAG(bool, sync, false,
          "fsync RocksDB's write-ahead log on every write. Off by default: everything a "
          "mirror holds can be fetched again from its upstream, and a killed process "
          "loses nothing (only a machine crash can lose the last writes, which are then "
          "fetched again)");
ABSL_FLAG(std::vector<std::string>, follow, {},
          "LEDGER@HOST:PORT[#MODE], repeatable or comma-separated: follow LEDGER from the "
          "host or mirror at HOST:PORT; MODE is full (default), tail or sparse. "
          "LEDGER[#MODE] alone (or LEDGER@dht) finds the upstream through the DHT "
          "(needs --dht_proxy) on every connection. Kept: a restarted mirror follows "
          "what it followed before");
ABSL_FLAG(std::string, dht_proxy, "",
          "discovery (SPEC §13): the REST proxy of an OpenDHT node (dhtnode "
          "--proxyserver PORT), http://HOST:PORT. Used to follow ledgers by id, and to "
          "announce the ledgers held (with --announce_url)");
ABSL_FLAG(std::vector<std::string>, announce_url, {},
          "with --dht_proxy: a URL where readers reach this mirror (grpc://HOST:PORT, "
          "grpcs://HOST:PORT, https://...); 1 to 4. Every ledger held is announced in a "
          "mirror locator record signed with the mirror's own key; none: not announced");
ABSL_FLAG(std::string, mirror_key_file, "",
          "the mirror's own Ed25519 key (a 32-byte seed, mode 0600, created on first "
          "start) that signs its locator records; default DATA_DIR/mirror.key, a new "
          "key each run with --storage=memory");
ABSL_FLAG(int64_t, dht_timeout_ms, 2000, "deadline of each request to the DHT proxy");
ABSL_FLAG(std::string, upstream_tls_ca, "",
          "PEM CA bundle that signs the upstreams' certificates (enables TLS to upstreams)");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain for --listen (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM server private key for --listen");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: readers on --listen must present a certificate it signs");
ABSL_FLAG(std::string, admin_tls_cert, "", "PEM server certificate chain for --admin_listen");
ABSL_FLAG(std::string, admin_tls_key, "", "PEM server private key for --admin_listen");
ABSL_FLAG(std::string, admin_tls_client_ca, "",
          "PEM CA bundle: admin clients must present a certificate it signs (required "
          "for an --admin_listen that is not unix:PATH or loopback)");
ABSL_FLAG(absl::Duration, retain_idle, absl::ZeroDuration(),
          "drop a ledger's data (never its evidence) once nobody has followed or read it "
          "for this long, e.g. 720h; 0 keeps everything. Followed ledgers are kept");
ABSL_FLAG(int64_t, poll_ms, 1000,
          "sparse mode: how often the upstream's latest checkpoint is asked for");
ABSL_FLAG(int64_t, upstream_timeout_ms, 10000, "deadline of each unary call to an upstream");
ABSL_FLAG(int64_t, max_backoff_ms, 5000,
          "longest wait between reconnections to a failing upstream (doubling from 100 ms)");
ABSL_FLAG(int64_t, max_subscriptions, 4096, "most Subscribe streams open on the mirror");
ABSL_FLAG(int64_t, max_subscriptions_per_connection, 1024,
          "most Subscribe streams open on one client connection");
ABSL_FLAG(int64_t, max_streams_per_connection, 2048,
          "HTTP/2 streams one connection may have open at once");
ABSL_FLAG(int64_t, rocksdb_cache_mb, 64, "memory budget of RocksDB in MiB");
ABSL_FLAG(int64_t, ledger_cache_size, 10000, "ledgers whose committed head stays in memory");
ABSL_FLAG(int64_t, merkle_node_cache_size, 1 << 18,
          "Merkle tree nodes cached for proofs, across ledgers");

namespace microledger {
namespace {

struct FollowFlag {
  std::string ledger;
  std::string upstream;
  MirrorMode mode = MirrorMode::kFull;
};

absl::StatusOr<FollowFlag> ParseFollow(absl::string_view text) {
  FollowFlag follow;
  size_t at = text.find('@');
  if (at == 0) {
    return absl::InvalidArgumentError("--follow: expected LEDGER[@HOST:PORT][#MODE]");
  }
  // LEDGER[#MODE] alone: the upstream is found through the DHT.
  std::string with_dht;
  if (at == absl::string_view::npos) {
    const size_t hash_at = text.find('#');
    with_dht = absl::StrCat(text.substr(0, hash_at), "@", kDhtUpstream,
                            hash_at == absl::string_view::npos ? "" : text.substr(hash_at));
    text = with_dht;
    at = text.find('@');
  }
  follow.ledger = std::string(text.substr(0, at));
  absl::string_view rest = text.substr(at + 1);
  const size_t hash = rest.rfind('#');
  if (hash != absl::string_view::npos) {
    absl::string_view mode = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (mode == "full") {
      follow.mode = MirrorMode::kFull;
    } else if (mode == "tail") {
      follow.mode = MirrorMode::kTail;
    } else if (mode == "sparse") {
      follow.mode = MirrorMode::kSparse;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--follow: mode must be full, tail or sparse, not ", mode));
    }
  }
  follow.upstream = std::string(rest);
  return follow;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> UpstreamCredentials() {
  const std::string ca = absl::GetFlag(FLAGS_upstream_tls_ca);
  if (ca.empty()) return grpc::InsecureChannelCredentials();
  absl::StatusOr<std::string> pem = ReadWholeFile(ca);
  if (!pem.ok()) return pem.status();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = *pem;
  return grpc::SslCredentials(ssl);
}

// `follow_flags` and `announce_urls`: every --follow and --announce_url.
int Run(const std::vector<std::string>& follow_flags,
        const std::vector<std::string>& announce_urls) {
  // Health checks answer (not ready) from now on, before storage is open.
  absl::StatusOr<std::unique_ptr<HealthPort>> health_port =
      HealthPort::StartFromFlag("ml-mirror", {v1::HostService::service_full_name(), v1::MirrorAdmin::service_full_name()});
  if (!health_port.ok()) return LogFatal(health_port.status());
  const std::string storage = absl::GetFlag(FLAGS_storage);
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  absl::StatusOr<std::unique_ptr<KvStore>> store = OpenKvStore(
      storage, data_dir, absl::GetFlag(FLAGS_sync),
      static_cast<size_t>(std::max<int64_t>(1, absl::GetFlag(FLAGS_rocksdb_cache_mb))));
  if (!store.ok()) return LogFatal(store.status());
  std::vector<FollowFlag> follows;
  for (const std::string& text : follow_flags) {
    absl::StatusOr<FollowFlag> follow = ParseFollow(text);
    if (!follow.ok()) return LogFatal(follow.status());
    follows.push_back(*std::move(follow));
  }
  const int64_t limits[] = {absl::GetFlag(FLAGS_poll_ms),
                            absl::GetFlag(FLAGS_upstream_timeout_ms),
                            absl::GetFlag(FLAGS_max_backoff_ms),
                            absl::GetFlag(FLAGS_max_subscriptions),
                            absl::GetFlag(FLAGS_max_subscriptions_per_connection),
                            absl::GetFlag(FLAGS_ledger_cache_size)};
  if (*std::min_element(std::begin(limits), std::end(limits)) <= 0 ||
      absl::GetFlag(FLAGS_merkle_node_cache_size) < 0 ||
      absl::GetFlag(FLAGS_retain_idle) < absl::ZeroDuration()) {
    return LogFatal(absl::InvalidArgumentError("limits must be positive"));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> upstream_credentials =
      UpstreamCredentials();
  if (!upstream_credentials.ok()) return LogFatal(upstream_credentials.status());

  std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
  if (admin_listen.empty() && storage == "rocksdb") {
    admin_listen = absl::StrCat("unix:", data_dir, "/admin/admin.sock");
  }
  const bool admin_mtls = !absl::GetFlag(FLAGS_admin_tls_client_ca).empty();
  if (!admin_listen.empty()) {
    if (absl::StatusOr<ListenAddress> parsed = ParseListenAddress(admin_listen); !parsed.ok()) {
      return LogFatal(parsed.status());
    }
    if (!IsLocalListenAddress(admin_listen) && !admin_mtls) {
      return LogFatal(absl::FailedPreconditionError(absl::StrCat(
          "--admin_listen=", admin_listen,
          " may be reachable from other machines: the admin API needs unix:PATH, a "
          "loopback address, or mutual TLS (--admin_tls_cert, --admin_tls_key, "
          "--admin_tls_client_ca)")));
    }
  }

  // Discovery: resolving upstreams "dht", and announcing what is held.
  std::shared_ptr<DhtClient> dht;
  const std::string dht_proxy = absl::GetFlag(FLAGS_dht_proxy);
  if (!dht_proxy.empty()) {
    absl::StatusOr<std::unique_ptr<DhtClient>> client = NewDhtProxyClient(
        dht_proxy, absl::Milliseconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_dht_timeout_ms))));
    if (!client.ok()) return LogFatal(client.status());
    dht = *std::move(client);
  }
  if (!announce_urls.empty() && dht == nullptr) {
    return LogFatal(absl::InvalidArgumentError("--announce_url needs --dht_proxy"));
  }
  Mirror* signing_mirror = nullptr;
  std::unique_ptr<LocatorAnnouncer> announcer;
  if (!announce_urls.empty()) {
    std::string key_file = absl::GetFlag(FLAGS_mirror_key_file);
    if (key_file.empty() && !data_dir.empty()) key_file = data_dir + "/mirror.key";
    absl::StatusOr<SigningKey> loaded =
        key_file.empty() ? SigningKey::Generate() : LoadOrCreateMirrorKey(key_file);
    if (!loaded.ok()) return LogFatal(loaded.status());
    auto mirror_key = std::make_shared<SigningKey>(*std::move(loaded));
    LocatorAnnouncerOptions announce;
    announce.program = "ml-mirror";
    announce.dht_name = absl::StrCat("DHT proxy ", dht_proxy);
    announce.role = LocatorRole::kMirror;
    announce.urls = announce_urls;
    announce.mode = AnnounceMode::kAll;
    absl::StatusOr<std::unique_ptr<LocatorAnnouncer>> made = LocatorAnnouncer::Create(
        announce, dht,
        [&signing_mirror, mirror_key](const std::string& ledger_id, LocatorRecord record)
            -> absl::StatusOr<std::string> {
          if (signing_mirror == nullptr) return absl::UnavailableError("mirror not ready");
          // Announced while the mirror follows or holds the ledger (a new
          // follow may not hold a block yet; its reads answer what it holds).
          absl::StatusOr<std::vector<MirroredLedgerView>> held =
              signing_mirror->Status(ledger_id);
          if (!held.ok()) return held.status();
          return SignLocatorRecord(std::move(record), *mirror_key);
        });
    if (!made.ok()) return LogFatal(made.status());
    announcer = *std::move(made);
  }

  // Metrics (--metrics_listen): the registry outlives the mirror.
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  std::unique_ptr<MetricsRegistry> metrics;
  std::unique_ptr<MirrorMetrics> mirror_metrics;
  if (!metrics_listen.empty()) {
    metrics = std::make_unique<MetricsRegistry>();
    AddProcessMetrics(*metrics);
    mirror_metrics = std::make_unique<MirrorMetrics>(*metrics);
  }
  MirrorOptions options;
  options.follower.metrics = mirror_metrics.get();
  options.announcer = announcer.get();
  options.follower.dht = dht;
  options.follower.own_urls = announce_urls;
  options.follower.credentials = *upstream_credentials;
  // grpcs:// URLs found through the DHT: TLS with --upstream_tls_ca, or the
  // system's roots.
  options.follower.tls_credentials = absl::GetFlag(FLAGS_upstream_tls_ca).empty()
                                         ? grpc::SslCredentials(grpc::SslCredentialsOptions())
                                         : *upstream_credentials;
  options.follower.poll = absl::Milliseconds(absl::GetFlag(FLAGS_poll_ms));
  options.follower.call_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_upstream_timeout_ms));
  options.follower.max_backoff = absl::Milliseconds(absl::GetFlag(FLAGS_max_backoff_ms));
  options.retain_idle = absl::GetFlag(FLAGS_retain_idle);
  options.max_cached_ledgers = static_cast<size_t>(absl::GetFlag(FLAGS_ledger_cache_size));
  options.max_cached_merkle_nodes =
      static_cast<size_t>(absl::GetFlag(FLAGS_merkle_node_cache_size));
  Mirror mirror(*std::move(store), options);
  signing_mirror = &mirror;
  // On every way out: followers (which hand evidence to the announcer) stop,
  // then the announcer (whose thread signs through the mirror), then the
  // mirror goes.
  absl::Cleanup stop_announcing = [&mirror, &announcer] {
    mirror.StopFollowers();
    announcer.reset();
  };
  if (absl::Status started = mirror.Start(); !started.ok()) return LogFatal(started);
  for (size_t i = 0; i < follows.size(); ++i) {
    const FollowFlag& follow = follows[i];
    absl::StatusOr<MirroredLedgerView> followed =
        mirror.Follow(follow.ledger, follow.upstream, follow.mode);
    // No ledger id in logs: the message may name the ledger.
    const std::string why = absl::StrReplaceAll(followed.status().message(),
                                                {{follow.ledger, "(the ledger)"}});
    // A ledger frozen by evidence or forgotten since the flag was written is
    // skipped (its verified copy, or tombstone, stays); anything else is a
    // mistake in the flag.
    if (absl::IsFailedPrecondition(followed.status()) ||
        absl::IsNotFound(followed.status())) {
      Log(LogLevel::kWarning, "follow_skipped",
          absl::StrCat("--follow #", i + 1, " is not followed: ", why));
      continue;
    }
    if (!followed.ok()) {
      return LogFatal(absl::Status(followed.status().code(),
                               absl::StrCat("--follow #", i + 1, ": ", why)));
    }
  }

  AdmissionLimits admission;
  admission.max_subscriptions = static_cast<size_t>(absl::GetFlag(FLAGS_max_subscriptions));
  admission.max_subscriptions_per_connection =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_subscriptions_per_connection));
  MirrorGrpcService service(&mirror, admission,
                            mirror_metrics == nullptr ? nullptr : &mirror_metrics->reads);
  MirrorAdminService admin(&mirror);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                             absl::GetFlag(FLAGS_tls_client_ca)});
  if (!credentials.ok()) return LogFatal(credentials.status());
  const int64_t max_streams = absl::GetFlag(FLAGS_max_streams_per_connection);
  if (max_streams <= 0 || max_streams > INT32_MAX) {
    return LogFatal(absl::InvalidArgumentError(
        "--max_streams_per_connection must be in 1..2147483647"));
  }
  std::vector<ServedService> served;
  ServerConfig config;
  config.program = "ml-mirror";
  config.service_name = v1::HostService::service_full_name();
  config.health_port = health_port->get();
  config.listen = absl::GetFlag(FLAGS_listen);
  config.credentials = *credentials;
  config.max_receive_message_bytes = 1 << 20;
  config.max_concurrent_streams_per_connection = static_cast<int>(max_streams);
  config.detail = absl::StrCat("storage=", storage,
                               data_dir.empty() ? "" : ", data_dir=", data_dir);
  config.metrics = metrics.get();
  served.push_back({&service, config});
  if (!admin_listen.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> admin_credentials =
        MakeServerCredentials({absl::GetFlag(FLAGS_admin_tls_cert),
                               absl::GetFlag(FLAGS_admin_tls_key),
                               absl::GetFlag(FLAGS_admin_tls_client_ca)});
    if (!admin_credentials.ok()) return LogFatal(admin_credentials.status());
    ServerConfig admin_config;
    admin_config.program = "ml-mirror admin";
    admin_config.service_name = v1::MirrorAdmin::service_full_name();
    admin_config.health_port = health_port->get();
    admin_config.listen = admin_listen;
    admin_config.credentials = *admin_credentials;
    admin_config.detail = "MirrorAdmin";
    admin_config.metrics = metrics.get();
    served.push_back({&admin, admin_config});
  }
  std::unique_ptr<HttpServer> metrics_server;
  if (metrics != nullptr) {
    metrics->AddGaugeCallback("microledger_mirror_ledgers_followed",
                              "Ledgers with a running follower.",
                              [&mirror] { return static_cast<double>(mirror.followed_ledgers()); });
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        StartMetricsServer("ml-mirror", metrics_listen, metrics.get());
    if (!started.ok()) return LogFatal(started.status());
    metrics_server = *std::move(started);
  }
  // The HTTP read API (--http_listen) reads mirror: it stops before it goes.
  absl::StatusOr<std::optional<HttpReadServer>> http_reads =
      StartHttpReadServerFromFlags("ml-mirror", &mirror.reader(), metrics.get(), "microledger_mirror_");
  if (!http_reads.ok()) return LogFatal(http_reads.status());
  absl::Status status = ServeUntilStopSignal(served);
  if (http_reads->has_value()) (*http_reads)->server->Stop();
  // Scrapes read the mirror: they stop first.
  if (metrics_server != nullptr) metrics_server->Stop();
  if (!status.ok()) return LogFatal(status);
  return 0;
}

}  // namespace
}  // namespace microledger

int main(int argc, char** argv) {
  microledger::BlockStopSignals();
  microledger::ParseServerCommandLine(
      argc, argv,
      {"ml-mirror",
       "the Micro Ledger mirror (gRPC microledger.v1.HostService reads, and "
       "microledger.v1.MirrorAdmin).\n"
       "Follows ledgers from their host or another mirror, verifies every block and "
       "checkpoint, stores them and serves the same read API. Holds no ledger key.\n"
       "Usage: ml-mirror --data_dir=DIR [--listen=HOST:PORT] [--follow=LEDGER@HOST:PORT] "
       "[flags]",
       {"mirror/ml-mirror_main.cc", "ledger_store/http_read_flags.cc"},
       {"follow"}});
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Abseil keeps the last of a repeated flag: these are read from argv.
  return microledger::Run(microledger::RepeatedFlagValues(argc, argv, "follow"),
                          microledger::RepeatedFlagValues(argc, argv, "announce_url"));
}
