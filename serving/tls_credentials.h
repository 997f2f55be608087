// TLS credentials for the project's gRPC servers, built from the PEM files that
// their --tls_cert, --tls_key and --tls_client_ca flags name: none set means
// plaintext, cert and key mean TLS, and a client CA adds mutual TLS. Shared by
// ml-host and ml-owner (which may not depend on each other). Thread-safe.
#ifndef MICROLEDGER_SERVING_TLS_CREDENTIALS_H_
#define MICROLEDGER_SERVING_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace microledger {

struct ServerTlsFiles {
  std::string cert;       // PEM certificate chain.
  std::string key;        // PEM private key.
  std::string client_ca;  // PEM CA bundle; set = clients must present a certificate.

  bool enabled() const { return !cert.empty() || !key.empty() || !client_ca.empty(); }
};

// Plaintext credentials when no file is named; InvalidArgument when only one
// of cert and key is.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_TLS_CREDENTIALS_H_
