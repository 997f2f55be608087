// ml-owner: the Micro Ledger owner agent. Parses flags, opens the keystore
// (one agent per keystore: file lock), and serves
// microledger.v1.OwnerAgentService (plus gRPC health and reflection). The
// logic lives in owner_agent.h; this file only wires.
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "owner_agent/agent_metrics.h"
#include "owner_agent/keystore.h"
#include "owner_agent/listen_policy.h"
#include "owner_agent/owner_agent.h"
#include "owner_agent/owner_grpc_service.h"
#include "serving/dht_client.h"
#include "serving/command_line.h"
#include "serving/grpc_server.h"
#include "serving/log.h"
#include "serving/http_server.h"
#include "serving/metrics.h"
#include "serving/metrics_http.h"
#include "serving/process_metrics.h"
#include "serving/repeated_flag.h"
#include "serving/tls_credentials.h"
#include "serving/whole_file.h"
#include "serving/witness_flag.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7401",
          "HOST:PORT (port 0..65535; 0 picks a free port, the start line says which; "
          "IPv6 in brackets) or unix:PATH to listen on. Only unix:PATH, 127.x.y.z and "
          "[::1] count as local; any other address, names such as localhost included, "
          "is refused unless TLS and --token_file are set. A port or socket in use is "
          "refused. A Unix socket is made mode 0600 in a directory that must be "
          "private to this user (created 0700 if missing)");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT ([IPv6]:PORT) to serve Prometheus metrics on, at /metrics over plain "
          "HTTP; port 0 picks a free port (the log line says which); empty (the default, "
          "as on a device): no metrics");
ABSL_FLAG(std::string, keystore, "",
          "keystore directory (required; created mode 0700 if absent). The agent's "
          "ledger registry and evidence live in KEYSTORE/agent. One ml-owner per "
          "keystore");
ABSL_FLAG(std::string, passphrase_file, "",
          "where the keystore passphrase is read once: a file whose first line it "
          "is (mode 0600), a pipe such as <(command), or - for standard input "
          "(a prompt with echo off when it is a terminal); without it the "
          "environment variable ML_PASSPHRASE is used. Never a flag value");
ABSL_FLAG(std::string, host, "",
          "HOST:PORT of the host service for new ledgers when a request names none");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain file (enables TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM server private key file (with --tls_cert)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: when set, clients must present a certificate it signs "
          "(mutual TLS)");
ABSL_FLAG(std::string, host_tls_ca, "",
          "PEM CA bundle that signs the hosts' certificates; enables TLS on the "
          "agent->host channel (plaintext without it)");
ABSL_FLAG(std::string, host_tls_cert, "",
          "PEM client certificate chain the agent presents to hosts that require "
          "mutual TLS (ml-host --tls_client_ca); needs --host_tls_key and --host_tls_ca");
ABSL_FLAG(std::string, host_tls_key, "",
          "PEM private key of --host_tls_cert (keep it mode 0600)");
ABSL_FLAG(int64_t, max_receive_message_bytes, 64 << 20,
          "largest request message the agent accepts (an event with its attachments); "
          "a larger one is answered RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_streams_per_connection, 256,
          "calls one client connection may have open at once (HTTP/2 "
          "MAX_CONCURRENT_STREAMS); further calls on that connection wait");
ABSL_FLAG(int64_t, max_concurrent_appends, 1024,
          "AppendEvent calls in progress at once over all connections; more are "
          "answered RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_concurrent_exports, 64,
          "ExportLedger streams open at once over all connections; more are answered "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(std::string, token_file, "",
          "file whose first line is a bearer token; when set every call must carry "
          "\"authorization: Bearer <token>\" metadata");
ABSL_FLAG(int64_t, append_timeout_seconds, 30,
          "how long an append waits for the host's reply before it fails");
ABSL_FLAG(int64_t, state_flush_ms, 1000,
          "how often the ledger records written after ordinary blocks and the request "
          "journal are fsynced (0 = before every append is reported). Records are "
          "written before an append is reported, so a killed agent loses nothing; a "
          "machine crash loses at most this interval. Genesis, terminal, move and "
          "equivocation states are always fsynced at once");
ABSL_FLAG(int64_t, max_remembered_requests, 100000,
          "how many AppendEvent request ids (idempotency keys) the agent remembers, "
          "across restarts, to answer retries without appending twice");
ABSL_FLAG(int64_t, resident_ledgers, 10000,
          "how many idle ledgers the agent keeps in memory (about 3 KiB each); the "
          "others stay on disk and are read when used, then synced with their host "
          "before their next block. Ledgers in use are always kept. With --witness, "
          "also how many idle ledgers' witnessing states are kept");
ABSL_FLAG(std::vector<std::string>, mirror, {},
          "HOST:PORT of a mirror (or any server of the HostService read API) that "
          "GetLedger, VerifyLedger and ExportLedger fall back to when a ledger's host "
          "is unreachable (UNAVAILABLE or DEADLINE_EXCEEDED). Repeat the flag (or give "
          "a comma-separated list) for several; they are tried in that order. What a "
          "mirror serves is verified exactly as a host's answer (checkpoint signed by "
          "the ledger key and consistent with the agent's, blocks verified); a mirror "
          "serving another history is equivocation evidence. Writes never go to a "
          "mirror");
ABSL_FLAG(std::string, dht_proxy, "",
          "discovery (SPEC §13): the REST proxy of an OpenDHT node (dhtnode --proxyserver "
          "PORT), http://HOST:PORT. When a ledger's recorded host is unreachable "
          "(UNAVAILABLE or DEADLINE_EXCEEDED), the agent looks the ledger up there: writes "
          "try the servers its host locator records name (grpc:// URLs, or grpcs:// ones "
          "with --host_tls_ca); reads, after the --mirror servers, those of its host and "
          "mirror records. Each is verified as a mirror is (checkpoint signed by the "
          "ledger key and consistent with the agent's, blocks verified); a host record's "
          "server that passes becomes the ledger's host, saved in its record and used "
          "from then on. Empty: no DHT");
ABSL_FLAG(int64_t, dht_timeout_ms, 2000, "with --dht_proxy: deadline of each DHT lookup");
ABSL_FLAG(std::vector<std::string>, witness, {},
          "a witness of the agent's own policy (SPEC §12), <vkey>@<url>: its C2SP verifier "
          "key (mlctl witness keygen prints it) and the URL prefix of its add-checkpoint "
          "endpoint (http:// or https://, no trailing /). Repeat the flag for several. Every "
          "checkpoint the agent verifies is submitted to each of them in the background "
          "(never delaying an append); an append with wait_witnessed waits for a quorum of "
          "their cosignatures; a witness that holds another history of a ledger freezes it "
          "(SPEC §11 evidence)");
ABSL_FLAG(int64_t, witness_quorum, 0,
          "with --witness: how many of the witnesses must cosign a checkpoint for it to be "
          "witnessed, 1..their number; 0 (the default): a majority");
ABSL_FLAG(int64_t, witness_timeout_ms, 10000,
          "with --witness: how long an append with wait_witnessed waits for the quorum when "
          "it names no timeout (it names at most 300000); the append has succeeded either way");
ABSL_FLAG(int64_t, witness_request_timeout_ms, 5000,
          "with --witness: the deadline of each request to a witness");
ABSL_FLAG(std::string, keystore_kdf, "interactive",
          "Argon2id cost of a keystore created by this start: interactive "
          "(libsodium INTERACTIVE) or min (libsodium minimum; for tests only). An "
          "existing keystore keeps its recorded cost");

namespace microledger {
namespace {

// The agent->host TLS settings from --host_tls_ca, --host_tls_cert and
// --host_tls_key.
absl::Status LoadHostTls(HostClientOptions* options) {
  const std::string ca = absl::GetFlag(FLAGS_host_tls_ca);
  const std::string cert = absl::GetFlag(FLAGS_host_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_host_tls_key);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--host_tls_cert and --host_tls_key go together");
  }
  if (!cert.empty() && ca.empty()) {
    return absl::InvalidArgumentError(
        "--host_tls_cert needs --host_tls_ca (a client certificate is sent over TLS only)");
  }
  if (ca.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> ca_pem = ReadWholeFile(ca);
  if (!ca_pem.ok()) return ca_pem.status();
  options->tls_ca_pem = *std::move(ca_pem);
  if (cert.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> cert_pem = ReadWholeFile(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadWholeFile(key);
  if (!key_pem.ok()) return key_pem.status();
  options->tls_cert_pem = *std::move(cert_pem);
  options->tls_key_pem = *std::move(key_pem);
  return absl::OkStatus();
}

absl::StatusOr<OwnerServiceLimits> LoadServiceLimits() {
  OwnerServiceLimits limits;
  limits.max_concurrent_appends = absl::GetFlag(FLAGS_max_concurrent_appends);
  limits.max_concurrent_exports = absl::GetFlag(FLAGS_max_concurrent_exports);
  if (limits.max_concurrent_appends <= 0 || limits.max_concurrent_exports <= 0) {
    return absl::InvalidArgumentError(
        "--max_concurrent_appends and --max_concurrent_exports must be positive");
  }
  return limits;
}

// --listen, the TLS files and the connection limits.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& token) {
  ServerConfig config;
  config.program = "ml-owner";
  config.service_name = v1::OwnerAgentService::service_full_name();
  config.listen = absl::GetFlag(FLAGS_listen);
  if (absl::Status exposure = CheckListenExposure(
          config.listen, !absl::GetFlag(FLAGS_tls_cert).empty(), !token.empty());
      !exposure.ok()) {
    return exposure;
  }
  const int64_t max_message = absl::GetFlag(FLAGS_max_receive_message_bytes);
  const int64_t max_streams = absl::GetFlag(FLAGS_max_streams_per_connection);
  if (max_message <= 0 || max_message > INT32_MAX || max_streams <= 0 ||
      max_streams > INT32_MAX) {
    return absl::InvalidArgumentError(
        "--max_receive_message_bytes and --max_streams_per_connection must be in "
        "1..2147483647");
  }
  config.max_receive_message_bytes = static_cast<int>(max_message);
  config.max_concurrent_streams_per_connection = static_cast<int>(max_streams);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                             absl::GetFlag(FLAGS_tls_client_ca)});
  if (!credentials.ok()) return credentials.status();
  config.credentials = *std::move(credentials);
  return config;
}

// The first line of --token_file, or empty without the flag.
absl::StatusOr<std::string> LoadToken() {
  const std::string token_file = absl::GetFlag(FLAGS_token_file);
  if (token_file.empty()) return std::string();
  absl::StatusOr<std::string> token = ReadFirstLine(token_file);
  if (!token.ok()) return token.status();
  if (token->empty()) return absl::InvalidArgumentError("--token_file: empty token");
  return token;
}

// --witness (every value), --witness_quorum and the witness timeouts.
absl::Status LoadWitnesses(const std::vector<std::string>& values, OwnerAgentOptions* options) {
  const int64_t quorum = absl::GetFlag(FLAGS_witness_quorum);
  const int64_t timeout_ms = absl::GetFlag(FLAGS_witness_timeout_ms);
  const int64_t request_timeout_ms = absl::GetFlag(FLAGS_witness_request_timeout_ms);
  if (quorum < 0 || timeout_ms <= 0 || request_timeout_ms <= 0) {
    return absl::InvalidArgumentError(
        "--witness_quorum must not be negative, --witness_timeout_ms and "
        "--witness_request_timeout_ms must be positive");
  }
  if (values.empty()) {
    if (quorum > 0) return absl::InvalidArgumentError("--witness_quorum needs --witness");
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<WitnessEndpoint>> witnesses = ParseWitnessFlags(values);
  if (!witnesses.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--witness: ", witnesses.status().message()));
  }
  if (static_cast<uint64_t>(quorum) > witnesses->size()) {
    return absl::InvalidArgumentError(absl::StrCat("--witness_quorum=", quorum, " is more than the ",
                                                   witnesses->size(), " witnesses"));
  }
  options->witnesses = *std::move(witnesses);
  options->witness_quorum = static_cast<size_t>(quorum);
  options->witness_timeout =
      std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 300000));
  options->witness_request_timeout = std::chrono::milliseconds(request_timeout_ms);
  return absl::OkStatus();
}

int Run(const std::vector<std::string>& mirrors, const std::vector<std::string>& witnesses) {
  // Every flag is checked before the keystore is opened or a host contacted.
  const std::string keystore_dir = absl::GetFlag(FLAGS_keystore);
  if (keystore_dir.empty()) return LogFatal(absl::InvalidArgumentError("--keystore is required"));
  KeystoreOptions keystore_options;
  const std::string kdf = absl::GetFlag(FLAGS_keystore_kdf);
  if (kdf == "min") {
    keystore_options.argon2id_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    keystore_options.argon2id_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  } else if (kdf != "interactive") {
    return LogFatal(absl::InvalidArgumentError("--keystore_kdf must be interactive or min"));
  }
  absl::StatusOr<std::string> token = LoadToken();
  if (!token.ok()) return LogFatal(token.status());
  absl::StatusOr<ServerConfig> config = LoadServerConfig(*token);
  if (!config.ok()) return LogFatal(config.status());
  config->detail = absl::StrCat("keystore=", keystore_dir);
  absl::StatusOr<OwnerServiceLimits> limits = LoadServiceLimits();
  if (!limits.ok()) return LogFatal(limits.status());
  OwnerAgentOptions options;
  options.default_host = absl::GetFlag(FLAGS_host);
  options.append_timeout =
      std::chrono::seconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_append_timeout_seconds)));
  options.state_flush_interval =
      std::chrono::milliseconds(std::max<int64_t>(0, absl::GetFlag(FLAGS_state_flush_ms)));
  if (absl::GetFlag(FLAGS_max_remembered_requests) <= 0) {
    return LogFatal(absl::InvalidArgumentError("--max_remembered_requests must be positive"));
  }
  options.max_remembered_requests =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_remembered_requests));
  if (absl::GetFlag(FLAGS_resident_ledgers) <= 0) {
    return LogFatal(absl::InvalidArgumentError("--resident_ledgers must be positive"));
  }
  options.max_resident_ledgers = static_cast<size_t>(absl::GetFlag(FLAGS_resident_ledgers));
  if (absl::Status host_tls = LoadHostTls(&options.host_client); !host_tls.ok()) {
    return LogFatal(host_tls);
  }
  for (const std::string& mirror : mirrors) {
    if (mirror.empty() || mirror.find(':') == std::string::npos) {
      return LogFatal(absl::InvalidArgumentError(absl::StrCat(
          "--mirror: \"", mirror.substr(0, 200), "\" is not HOST:PORT")));
    }
  }
  options.mirrors = mirrors;
  if (absl::Status loaded = LoadWitnesses(witnesses, &options); !loaded.ok()) {
    return LogFatal(loaded);
  }
  // Metrics (--metrics_listen): the registry outlives the agent.
  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  std::unique_ptr<MetricsRegistry> metrics;
  std::unique_ptr<AgentMetrics> agent_metrics;
  if (!metrics_listen.empty()) {
    metrics = std::make_unique<MetricsRegistry>();
    AddProcessMetrics(*metrics);
    agent_metrics = std::make_unique<AgentMetrics>(*metrics);
    options.metrics = agent_metrics.get();
    config->metrics = metrics.get();
  }
  if (const std::string proxy = absl::GetFlag(FLAGS_dht_proxy); !proxy.empty()) {
    absl::StatusOr<std::unique_ptr<DhtClient>> dht = NewDhtProxyClient(
        proxy, absl::Milliseconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_dht_timeout_ms))));
    if (!dht.ok()) {
      return LogFatal(absl::InvalidArgumentError(absl::StrCat("--dht_proxy: ", dht.status().message())));
    }
    options.dht = *std::move(dht);
  }

  // Health checks answer (not ready) from now on, before storage is open.
  absl::StatusOr<std::unique_ptr<HealthPort>> health_port =
      HealthPort::StartFromFlag("ml-owner", {v1::OwnerAgentService::service_full_name()});
  if (!health_port.ok()) return LogFatal(health_port.status());
  config->health_port = health_port->get();

  absl::StatusOr<std::string> passphrase =
      LoadPassphrase(absl::GetFlag(FLAGS_passphrase_file));
  if (!passphrase.ok()) return LogFatal(passphrase.status());
  absl::StatusOr<std::unique_ptr<Keystore>> keystore =
      Keystore::Open(keystore_dir, *passphrase, keystore_options);
  sodium_memzero(passphrase->data(), passphrase->size());
  if (!keystore.ok()) return LogFatal(keystore.status());
  absl::StatusOr<std::unique_ptr<OwnerAgent>> agent =
      OwnerAgent::Create(*std::move(keystore), std::move(options));
  if (!agent.ok()) return LogFatal(agent.status());
  OwnerGrpcService service(agent->get(), *token, *limits);
  // Appends waiting for witnesses are answered before the grace period.
  config->on_stopping = [owner = agent->get()] { owner->StopWitnessing(); };
  std::unique_ptr<HttpServer> metrics_server;
  if (metrics != nullptr) {
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        StartMetricsServer("ml-owner", metrics_listen, metrics.get());
    if (!started.ok()) return LogFatal(started.status());
    metrics_server = *std::move(started);
  }
  absl::Status served = ServeUntilStopSignal(&service, *config);
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
      {"ml-owner",
       "the Micro Ledger owner agent (gRPC microledger.v1.OwnerAgentService).\n"
       "Holds the owner keys (encrypted keystore), builds and signs blocks for "
       "applications, sends them to host services and verifies every reply.\n"
       "Usage: ml-owner --keystore=DIR [--host=HOST:PORT] [--listen=HOST:PORT|unix:PATH] "
       "[flags]\n(passphrase: --passphrase_file=FILE|PIPE|- or the ML_PASSPHRASE "
       "environment variable)",
       {"owner_agent/ml-owner_main.cc"}});
  const std::vector<std::string> mirrors = microledger::RepeatedFlagValues(argc, argv, "mirror");
  // Debian's Abseil runs mutex deadlock detection in every build (GraphCycles
  // on each lock: ~2-3 % of the agent's CPU under load).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::vector<std::string> witnesses =
      microledger::RepeatedFlagValues(argc, argv, "witness");
  return microledger::Run(mirrors, witnesses);
}
