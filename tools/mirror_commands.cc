#include "tools/mirror_commands.h"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/timestamp.h"
#include "serving/listen_address.h"
#include "serving/whole_file.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

// Error text on one line.
std::string OneLine(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}});
}

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadWholeFile(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", pem.status().message()));
  }
  return pem;
}

int Failed(const char* command, const absl::Status& status, std::ostream& err) {
  err << "mlctl mirror " << command << ": " << OneLine(status.message()) << "\n";
  return kExitUsageOrInput;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MirrorAdminClient>> MirrorAdminClient::Create(
    const MirrorAdminOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        "--mirror=ADDR is required: the mirror's admin address (its --admin_listen, e.g. "
        "unix:DATA_DIR/admin.sock)");
  }
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.address);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--mirror: ", address.status().message()));
  }
  if (address->kind == ListenAddress::Kind::kTcp && address->port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--mirror: ", options.address, ": port 0 names no server"));
  }
  const bool cert = !options.tls_cert_file.empty(), key = !options.tls_key_file.empty();
  if (cert != key) {
    return absl::InvalidArgumentError("--mirror_tls_cert and --mirror_tls_key go together");
  }
  if (cert && options.tls_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--mirror_tls_cert needs --mirror_tls_ca (the CA that signs the mirror's certificate)");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadPem("mirror_tls_ca", options.tls_ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
    if (cert) {
      absl::StatusOr<std::string> chain = ReadPem("mirror_tls_cert", options.tls_cert_file);
      if (!chain.ok()) return chain.status();
      absl::StatusOr<std::string> private_key = ReadPem("mirror_tls_key", options.tls_key_file);
      if (!private_key.ok()) return private_key.status();
      ssl.pem_cert_chain = *std::move(chain);
      ssl.pem_private_key = *std::move(private_key);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::unique_ptr<MirrorAdminClient> client(new MirrorAdminClient());
  client->options_ = options;
  client->channel_ = grpc::CreateChannel(options.address, credentials);
  client->stub_ = v1::MirrorAdmin::NewStub(client->channel_);
  return client;
}

void MirrorAdminClient::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(std::max<int64_t>(1, options_.timeout_seconds)));
}

absl::Status MirrorAdminClient::Convert(const char* call, const grpc::Status& status) const {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  if (code == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach the mirror admin API at ", options_.address, ": ",
        status.error_message(),
        absl::StartsWith(options_.address, "unix:") ? ""
        : options_.tls_ca_file.empty()
            ? " (a TLS admin API? see --mirror_tls_ca)"
        : options_.tls_cert_file.empty()
            ? " (mutual TLS? see --mirror_tls_cert and --mirror_tls_key)"
            : ""));
  }
  return absl::Status(code, absl::StrCat("mirror ", options_.address, ": ", call, ": ",
                                         absl::StatusCodeToString(code), ": ",
                                         status.error_message()));
}

absl::StatusOr<v1::MirroredLedger> MirrorAdminClient::Follow(const std::string& ledger_id,
                                                             const std::string& upstream,
                                                             v1::MirrorMode mode) {
  v1::FollowRequest request;
  request.set_ledger_id(ledger_id);
  request.set_upstream(upstream);
  request.set_mode(mode);
  v1::FollowResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (absl::Status s = Convert("Follow", stub_->Follow(&context, request, &response)); !s.ok()) {
    return s;
  }
  return response.ledger();
}

absl::Status MirrorAdminClient::Unfollow(const std::string& ledger_id, bool drop_data) {
  v1::UnfollowRequest request;
  request.set_ledger_id(ledger_id);
  request.set_drop_data(drop_data);
  v1::UnfollowResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  return Convert("Unfollow", stub_->Unfollow(&context, request, &response));
}

absl::StatusOr<std::vector<v1::MirroredLedger>> MirrorAdminClient::Status(
    const std::string& ledger_id) {
  v1::MirrorStatusRequest request;
  request.set_ledger_id(ledger_id);
  v1::MirrorStatusResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (absl::Status s = Convert("Status", stub_->Status(&context, request, &response)); !s.ok()) {
    return s;
  }
  return std::vector<v1::MirroredLedger>(response.ledgers().begin(), response.ledgers().end());
}

absl::StatusOr<v1::MirrorMode> ParseMirrorMode(const std::string& text) {
  if (text.empty() || text == "full") return v1::MIRROR_MODE_FULL;
  if (text == "tail") return v1::MIRROR_MODE_TAIL;
  if (text == "sparse") return v1::MIRROR_MODE_SPARSE;
  return absl::InvalidArgumentError(
      absl::StrCat("--mode=", text, ": must be full, tail or sparse"));
}

std::string MirrorModeText(v1::MirrorMode mode) {
  switch (mode) {
    case v1::MIRROR_MODE_FULL:
      return "full";
    case v1::MIRROR_MODE_TAIL:
      return "tail";
    case v1::MIRROR_MODE_SPARSE:
      return "sparse";
    default:
      return "unspecified";
  }
}

std::string MirroredLedgerText(const v1::MirroredLedger& ledger) {
  std::vector<std::string> held;
  for (const v1::MirroredBlockRange& range : ledger.held()) {
    held.push_back(range.first() == range.last()
                       ? absl::StrCat(range.first())
                       : absl::StrCat(range.first(), "-", range.last()));
  }
  std::string last_error = "none";
  if (!ledger.last_error().empty()) {
    last_error = OneLine(ledger.last_error());
    if (ledger.last_error_unix_millis() > 0) {
      absl::StrAppend(&last_error, " (at ",
                      FormatTimestampMillis(ledger.last_error_unix_millis()), ")");
    }
  }
  return absl::StrCat(
      "ledger:      ", ledger.ledger_id(), "\n",
      "upstream:    ", ledger.upstream().empty() ? "none" : ledger.upstream(), "\n",
      "mode:        ", MirrorModeText(ledger.mode()), "\n",
      "state:       ", ledger.state(), "\n",
      "verified:    ", ledger.verified_size(), " of ", ledger.upstream_size(), " (lag ",
      ledger.lag(), ")\n",
      "held:        ", held.empty() ? "none" : absl::StrJoin(held, ", "), "\n",
      "last error:  ", last_error, "\n",
      "evidence:    ", ledger.evidence_id().empty() ? "none" : ledger.evidence_id(), "\n");
}

int RunMirrorFollow(MirrorAdminClient& mirror, const std::string& ledger_id,
                    const std::string& upstream, const std::string& mode, std::ostream& out,
                    std::ostream& err) {
  absl::StatusOr<v1::MirrorMode> parsed = ParseMirrorMode(mode);
  if (!parsed.ok()) return Failed("follow", parsed.status(), err);
  absl::StatusOr<v1::MirroredLedger> followed = mirror.Follow(ledger_id, upstream, *parsed);
  if (!followed.ok()) return Failed("follow", followed.status(), err);
  out << MirroredLedgerText(*followed);
  return kExitOk;
}

int RunMirrorUnfollow(MirrorAdminClient& mirror, const std::string& ledger_id, bool drop_data,
                      std::ostream& out, std::ostream& err) {
  if (absl::Status s = mirror.Unfollow(ledger_id, drop_data); !s.ok()) {
    return Failed("unfollow", s, err);
  }
  out << "unfollowed " << ledger_id << (drop_data ? ", data dropped" : "") << "\n";
  return kExitOk;
}

int RunMirrorStatus(MirrorAdminClient& mirror, const std::string& ledger_id,
                    std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<v1::MirroredLedger>> ledgers = mirror.Status(ledger_id);
  if (!ledgers.ok()) return Failed("status", ledgers.status(), err);
  for (size_t i = 0; i < ledgers->size(); ++i) {
    if (i > 0) out << "\n";
    out << MirroredLedgerText((*ledgers)[i]);
  }
  return kExitOk;
}

}  // namespace microledger
