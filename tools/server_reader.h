// The read side of HostService (proto/microledger/v1/host.proto) as mlctl
// uses it with --from=ADDR: one channel to one server, a host or a mirror (both
// serve the same read calls). A thin transport: it returns what the server
// sent, unverified; the commands (server_commands.h) verify every answer with
// the common/ library before they print or write anything.
//
// Errors: a call the server answers with a gRPC error comes back as an
// absl::Status with the same code and the message "server <address>: <call>:
// <CODE>: <server's message>"; a server that cannot be reached is Unavailable
// ("cannot reach the server at <address>").
//
// Thread-safety: a ServerReader (and a Subscription) is used by one thread at
// a time.
#ifndef MICROLEDGER_TOOLS_SERVER_READER_H_
#define MICROLEDGER_TOOLS_SERVER_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {

struct ServerOptions {
  // HOST:PORT, [IPv6]:PORT or unix:PATH of a host or mirror.
  std::string address;
  // PEM CA bundle that signs the server's certificate; enables TLS.
  std::string tls_ca_file;
  // TLS also without tls_ca_file (then with gRPC's default roots).
  bool tls = false;
  // Deadline of each call (not of a following subscription), and how long to
  // wait for the server to accept the connection is min(this, 10 s).
  int64_t timeout_seconds = 60;
};

// Blocks per GetBlocks message that ReadBlocks asks for (the most host.proto
// allows).
inline constexpr uint32_t kBlocksPerMessage = 256;

class ServerReader {
 public:
  // Checks the address (InvalidArgument naming --from: a TCP port must be
  // 1..65535) and reads the CA file (InvalidArgument naming --from_tls_ca);
  // does not connect yet.
  static absl::StatusOr<std::unique_ptr<ServerReader>> Create(const ServerOptions& options);

  // Waits for the server to accept a connection; Unavailable naming the
  // address when it does not.
  absl::Status Connect();

  const std::string& address() const { return options_.address; }

  absl::StatusOr<v1::GetLedgerResponse> GetLedger(const std::string& ledger_id);
  // The latest signed checkpoint note; with `witnessed`, the newest one the
  // host's witnesses cosigned (GetCheckpoint witnessed), cosignatures included.
  absl::StatusOr<std::string> GetLatestCheckpoint(const std::string& ledger_id,
                                                  bool witnessed = false);
  // Hands the bytes of blocks from..to (inclusive), in the order the server
  // sends them, to `visit`, asking for kBlocksPerMessage blocks per message.
  // Stops after to - from + 1 blocks (a server that sends more is cut off) or
  // when `visit` fails (its error is returned). A server that sends fewer
  // blocks and ends the stream with OK is not an error here: the verifier
  // finds the gap.
  absl::Status ReadBlocks(const std::string& ledger_id, uint64_t from, uint64_t to,
                          const std::function<absl::Status(const std::string&)>& visit);
  absl::StatusOr<v1::GetAttachmentResponse> GetAttachment(const std::string& ledger_id,
                                                          const std::string& seal);
  absl::StatusOr<v1::GetInclusionProofResponse> GetInclusionProof(
      const std::string& ledger_id, uint64_t number, uint64_t tree_size);
  // The evidence objects' bytes, as the server sent them.
  absl::StatusOr<std::vector<std::string>> GetLedgerEvidence(const std::string& ledger_id);
  // Hands SPEC §11 evidence to the server (its only call that is not a read).
  absl::StatusOr<v1::ReportEquivocationResponse> ReportEquivocation(
      const std::string& evidence);

  // A Subscribe stream: blocks from `from_number` on, each with the checkpoint
  // of its tree size.
  class Subscription {
   public:
    // The next message; false when the stream ended (then call Finish).
    bool Next(v1::SubscribeResponse* response) { return reader_->Read(response); }
    // The stream's final status, converted as above.
    absl::Status Finish();
    // Ends the stream early (then Finish returns at once).
    void Cancel();

   private:
    friend class ServerReader;
    Subscription() = default;
    std::string address_;
    grpc::ClientContext context_;
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
  };
  // With `follow` the stream has no deadline (it runs until cancelled);
  // without, it has the deadline of every other call.
  std::unique_ptr<Subscription> Subscribe(const std::string& ledger_id, uint64_t from_number,
                                          bool follow);

 private:
  ServerReader() = default;
  void SetDeadline(grpc::ClientContext* context) const;

  ServerOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::HostService::Stub> stub_;
};

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_SERVER_READER_H_
