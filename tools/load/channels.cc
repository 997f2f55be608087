#include "tools/load/channels.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace microledger {
namespace load {

absl::StatusOr<Channels> Channels::Open(const LoadOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    auto read = [](const std::string& path, std::string* out) -> absl::Status {
      if (path.empty()) return absl::OkStatus();
      std::ifstream in(path, std::ios::binary);
      if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
      std::stringstream buffer;
      buffer << in.rdbuf();
      *out = buffer.str();
      return absl::OkStatus();
    };
    if (absl::Status s = read(options.tls_ca, &ssl.pem_root_certs); !s.ok()) return s;
    if (absl::Status s = read(options.tls_cert, &ssl.pem_cert_chain); !s.ok()) return s;
    if (absl::Status s = read(options.tls_key, &ssl.pem_private_key); !s.ok()) return s;
    credentials = grpc::SslCredentials(ssl);
  }
  Channels channels;
  const int n = std::max(1, options.connections);
  for (int i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    // A distinct connection per channel, as ghz --connections does.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("ml-load.channel", i);
    args.SetMaxReceiveMessageSize(64 << 20);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(options.addr, credentials, args);
    channels.stubs_.push_back(v1::HostService::NewStub(channel));
    channels.agent_stubs_.push_back(v1::OwnerAgentService::NewStub(channel));
  }
  return channels;
}

void SetDeadline(grpc::ClientContext& context, int64_t deadline_ms) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(deadline_ms));
}

}  // namespace load
}  // namespace microledger
