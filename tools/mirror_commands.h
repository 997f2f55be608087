// The `mlctl mirror` commands: a client of an ml-mirror's admin API
// (proto/microledger/v1/mirror.proto, MirrorAdmin) at --mirror=ADDR, the
// mirror's --admin_listen address (unix:PATH, a loopback HOST:PORT, or any
// address with mutual TLS: --mirror_tls_ca, --mirror_tls_cert,
// --mirror_tls_key).
//
//   mirror follow LEDGER --mirror=ADDR --from=UPSTREAM [--mode=full|tail|sparse]
//   mirror unfollow LEDGER --mirror=ADDR [--drop_data]
//   mirror status [LEDGER] --mirror=ADDR
//
// What a mirror says about itself is printed as it is (the mirror verifies
// the ledgers; mlctl does not re-check its status report). Like the other
// command files, each command takes its streams and returns the exit code:
// 0 done; 2 with one line on `err` for anything else (a usage error, a
// mirror that cannot be reached, or any error the mirror answers: NOT_FOUND,
// INVALID_ARGUMENT, FAILED_PRECONDITION, ...).
//
// Thread-safety: a MirrorAdminClient is used by one thread at a time.
#ifndef MICROLEDGER_TOOLS_MIRROR_COMMANDS_H_
#define MICROLEDGER_TOOLS_MIRROR_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/mirror.grpc.pb.h"

namespace microledger {

struct MirrorAdminOptions {
  // The mirror's admin address: unix:PATH, HOST:PORT or [IPv6]:PORT.
  std::string address;
  // PEM CA bundle that signs the mirror's admin certificate; enables TLS.
  std::string tls_ca_file;
  // PEM client certificate chain and key for mutual TLS (both or neither;
  // only with tls_ca_file).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Deadline of each call.
  int64_t timeout_seconds = 60;
};

// A thin MirrorAdmin client. Errors: InvalidArgument naming the flag for a
// bad address or unreadable TLS file (Create); a call the mirror answers
// with an error comes back with the same code and the message "mirror
// <address>: <call>: <CODE>: <mirror's message>"; a mirror that cannot be
// reached is Unavailable ("cannot reach the mirror admin API at <address>").
class MirrorAdminClient {
 public:
  static absl::StatusOr<std::unique_ptr<MirrorAdminClient>> Create(
      const MirrorAdminOptions& options);

  absl::StatusOr<v1::MirroredLedger> Follow(const std::string& ledger_id,
                                            const std::string& upstream, v1::MirrorMode mode);
  absl::Status Unfollow(const std::string& ledger_id, bool drop_data);
  // Every ledger the mirror follows or holds when `ledger_id` is empty.
  absl::StatusOr<std::vector<v1::MirroredLedger>> Status(const std::string& ledger_id);

 private:
  MirrorAdminClient() = default;
  absl::Status Convert(const char* call, const grpc::Status& status) const;
  void SetDeadline(grpc::ClientContext* context) const;

  MirrorAdminOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::MirrorAdmin::Stub> stub_;
};

// "full", "tail", "sparse" (or "" = full); InvalidArgument otherwise.
absl::StatusOr<v1::MirrorMode> ParseMirrorMode(const std::string& text);
// "full", "tail", "sparse", "unspecified".
std::string MirrorModeText(v1::MirrorMode mode);

// One ledger's status as mlctl prints it (ends with a newline):
//   ledger:      jlinx:...
//   upstream:    HOST:PORT
//   mode:        full
//   state:       following
//   verified:    120 of 120 (lag 0)
//   held:        1-120
//   last error:  none | <message> (at <RFC 3339 time>)
//   evidence:    none | <evidence id>
std::string MirroredLedgerText(const v1::MirroredLedger& ledger);

// `mirror follow`: prints the ledger's status as the mirror answered Follow.
int RunMirrorFollow(MirrorAdminClient& mirror, const std::string& ledger_id,
                    const std::string& upstream, const std::string& mode, std::ostream& out,
                    std::ostream& err);
// `mirror unfollow`: prints "unfollowed <ledger>" (", data dropped").
int RunMirrorUnfollow(MirrorAdminClient& mirror, const std::string& ledger_id, bool drop_data,
                      std::ostream& out, std::ostream& err);
// `mirror status [LEDGER]`: one block per ledger, separated by an empty line;
// nothing printed when the mirror follows and holds no ledger.
int RunMirrorStatus(MirrorAdminClient& mirror, const std::string& ledger_id,
                    std::ostream& out, std::ostream& err);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_MIRROR_COMMANDS_H_
