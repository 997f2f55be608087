// ml-owner: the Micro Ledger owner agent. Parses flags, opens the keystore
// (one agent per keystore: file lock), and serves
// microledger.v1.OwnerAgentService (plus gRPC health and reflection). The
// logic lives in owner_agent.h; this file only wires.
#include <sodium.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "owner_agent/keystore.h"
#include "owner_agent/listen_policy.h"
#include "owner_agent/owner_agent.h"
#include "owner_agent/owner_grpc_service.h"
#include "serving/grpc_server.h"
#include "serving/tls_credentials.h"
#include "serving/whole_file.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7401",
          "HOST:PORT (port 0 picks a free port; the start line says which) or "
          "unix:PATH to listen on; any other (non-loopback) address is refused "
          "unless TLS and --token_file are set");
ABSL_FLAG(std::string, keystore, "",
          "keystore directory (required; created mode 0700 if absent). The agent's "
          "ledger registry and evidence live in KEYSTORE/agent. One ml-owner per "
          "keystore");
ABSL_FLAG(std::string, passphrase_file, "",
          "file whose first line is the keystore passphrase (mode 0600); without "
          "it the environment variable ML_PASSPHRASE is used. Never a flag value");
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
ABSL_FLAG(std::string, keystore_kdf, "interactive",
          "Argon2id cost of a keystore created by this start: interactive "
          "(libsodium INTERACTIVE) or min (libsodium minimum; for tests only). An "
          "existing keystore keeps its recorded cost");

namespace microledger {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "ml-owner: %s\n", std::string(status.message()).c_str());
  return 1;
}

int Run() {
  const std::string keystore_dir = absl::GetFlag(FLAGS_keystore);
  if (keystore_dir.empty()) return Fail(absl::InvalidArgumentError("--keystore is required"));
  KeystoreOptions keystore_options;
  const std::string kdf = absl::GetFlag(FLAGS_keystore_kdf);
  if (kdf == "min") {
    keystore_options.argon2id_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    keystore_options.argon2id_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  } else if (kdf != "interactive") {
    return Fail(absl::InvalidArgumentError("--keystore_kdf must be interactive or min"));
  }
  absl::StatusOr<std::string> passphrase =
      LoadPassphrase(absl::GetFlag(FLAGS_passphrase_file));
  if (!passphrase.ok()) return Fail(passphrase.status());
  absl::StatusOr<std::unique_ptr<Keystore>> keystore =
      Keystore::Open(keystore_dir, *passphrase, keystore_options);
  sodium_memzero(passphrase->data(), passphrase->size());
  if (!keystore.ok()) return Fail(keystore.status());

  OwnerAgentOptions options;
  options.default_host = absl::GetFlag(FLAGS_host);
  options.append_timeout =
      std::chrono::seconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_append_timeout_seconds)));
  options.state_flush_interval =
      std::chrono::milliseconds(std::max<int64_t>(0, absl::GetFlag(FLAGS_state_flush_ms)));
  if (absl::GetFlag(FLAGS_max_remembered_requests) <= 0) {
    return Fail(absl::InvalidArgumentError("--max_remembered_requests must be positive"));
  }
  options.max_remembered_requests =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_remembered_requests));
  if (const std::string ca = absl::GetFlag(FLAGS_host_tls_ca); !ca.empty()) {
    absl::StatusOr<std::string> pem = ReadWholeFile(ca);
    if (!pem.ok()) return Fail(pem.status());
    options.host_client.tls_ca_pem = *pem;
  }
  std::string token;
  if (const std::string token_file = absl::GetFlag(FLAGS_token_file); !token_file.empty()) {
    absl::StatusOr<std::string> text = ReadWholeFile(token_file);
    if (!text.ok()) return Fail(text.status());
    token = text->substr(0, text->find('\n'));
    if (!token.empty() && token.back() == '\r') token.pop_back();
    if (token.empty()) return Fail(absl::InvalidArgumentError("--token_file: empty token"));
  }
  absl::StatusOr<std::unique_ptr<OwnerAgent>> agent =
      OwnerAgent::Create(*std::move(keystore), options);
  if (!agent.ok()) return Fail(agent.status());
  OwnerGrpcService service(agent->get(), token);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                             absl::GetFlag(FLAGS_tls_client_ca)});
  if (!credentials.ok()) return Fail(credentials.status());

  ServerConfig config;
  config.program = "ml-owner";
  config.listen = absl::GetFlag(FLAGS_listen);
  if (absl::Status exposure = CheckListenExposure(
          config.listen, !absl::GetFlag(FLAGS_tls_cert).empty(), !token.empty());
      !exposure.ok()) {
    return Fail(exposure);
  }
  config.credentials = *credentials;
  config.max_receive_message_bytes = 64 << 20;
  config.detail = absl::StrCat("keystore=", keystore_dir);
  if (absl::Status served = ServeUntilStopSignal(&service, config); !served.ok()) {
    return Fail(served);
  }
  return 0;
}

}  // namespace
}  // namespace microledger

int main(int argc, char** argv) {
  microledger::BlockStopSignals();
  absl::SetProgramUsageMessage(
      "the Micro Ledger owner agent (gRPC microledger.v1.OwnerAgentService).\n"
      "Holds the owner keys (encrypted keystore), builds and signs blocks for "
      "applications, sends them to host services and verifies every reply.\n"
      "Usage: ml-owner --keystore=DIR [--host=HOST:PORT] [--listen=HOST:PORT|unix:PATH] "
      "[flags]\n(passphrase: --passphrase_file=FILE or the ML_PASSPHRASE environment "
      "variable)");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil runs mutex deadlock detection in every build (GraphCycles
  // on each lock: ~2-3 % of the agent's CPU under load).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return microledger::Run();
}
