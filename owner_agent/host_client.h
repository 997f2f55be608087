// The owner agent's connection to one host service: a gRPC channel (TLS when
// a CA is given, presenting a client certificate for mutual TLS when one is
// given), typed calls returning absl::StatusOr with the deadlines of
// HostClientOptions (no other code of the agent sees a stub, a
// grpc::ClientContext or a grpc::Status), and one long-lived AppendStream
// that pipelines appends (DESIGN §4): requests are queued and written in
// submission order by a writer thread, and each reply is handed to the
// callback submitted with its request, in the same order, by a reader thread.
//
// When the stream ends (host gone, cancelled), every request still waiting is
// answered with the stream's error and the next Submit opens a new stream.
// Callbacks run on the reader thread and must not block on network calls.
// Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_HOST_CLIENT_H_
#define MICROLEDGER_OWNER_AGENT_HOST_CLIENT_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"

namespace microledger {

// A host's error as an absl::Status: the same code (UNKNOWN when it is not a
// gRPC code) and the message quoted through QuoteForError (at most 800 bytes).
absl::Status HostError(int code, absl::string_view message);
// gRPC status -> absl::Status, through HostError.
absl::Status FromGrpc(const grpc::Status& status);

struct HostClientOptions {
  // PEM CA bundle that signs the host's certificate; empty = plaintext.
  std::string tls_ca_pem;
  // PEM client certificate chain and private key the agent presents to hosts
  // that require mutual TLS (ml-host --tls_client_ca); both or neither, and
  // only with tls_ca_pem.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Deadline of unary calls.
  std::chrono::milliseconds call_timeout{10000};
  // Deadline of reading the blocks a host appended since the verified head
  // (BlockRead::kCatchUp).
  std::chrono::milliseconds catch_up_timeout{60000};
  // Deadline of reading a whole ledger to verify or export it
  // (BlockRead::kWholeLedger).
  std::chrono::milliseconds whole_ledger_timeout{300000};
};

// Which deadline a GetBlocks read gets (HostClientOptions).
enum class BlockRead { kCatchUp, kWholeLedger };

class HostClient {
 public:
  using AppendCallback =
      std::function<void(absl::Status, const v1::AppendResponse&)>;

  HostClient(std::string address, const HostClientOptions& options);
  ~HostClient();

  const std::string& address() const { return address_; }

  // Unary calls; a host's error comes back through FromGrpc (bounded).
  absl::StatusOr<v1::CreateLedgerResponse> CreateLedger();
  absl::StatusOr<v1::GetLedgerResponse> GetLedger(const std::string& ledger_id);
  absl::StatusOr<v1::GetConsistencyProofResponse> GetConsistencyProof(
      const std::string& ledger_id, uint64_t old_size, uint64_t new_size);
  // SPEC §11 evidence handed over (HostService.ReportEquivocation) and the
  // evidence a server keeps for a ledger (GetLedgerEvidence).
  absl::StatusOr<v1::ReportEquivocationResponse> ReportEquivocation(
      const std::string& evidence);
  absl::StatusOr<v1::GetLedgerEvidenceResponse> GetLedgerEvidence(
      const std::string& ledger_id);
  absl::StatusOr<v1::GetInclusionProofResponse> GetInclusionProof(
      const std::string& ledger_id, uint64_t number, uint64_t tree_size);
  absl::StatusOr<v1::GetAttachmentResponse> GetAttachment(const std::string& ledger_id,
                                                          const std::string& seal);

  // Streams the serialized blocks `from`..`to` of a ledger to `visit`, in the
  // host's order (the host's answer is not checked here: it may send fewer,
  // more or other blocks). A non-OK status from `visit` cancels the read and
  // is returned unchanged; otherwise the stream's own error, prefixed
  // "reading blocks: ".
  using BlockVisitor = std::function<absl::Status(const std::string& block)>;
  absl::Status GetBlocks(const std::string& ledger_id, uint64_t from, uint64_t to,
                         BlockRead read, const BlockVisitor& visit);
  // The serialized block `number` as the host serves it (the first block of
  // a GetBlocks read of that one number); NOT_FOUND when it serves none.
  absl::StatusOr<std::string> GetBlock(const std::string& ledger_id, uint64_t number);

  // Queues `request` on the append stream; `done` is called exactly once
  // with the host's reply or error. Never calls `done` synchronously.
  void Submit(v1::AppendRequest request, AppendCallback done);

  // Cancels the current stream (its waiting requests fail).
  void CancelStream();

 private:
  struct Stream;
  // Joins and frees the streams whose reader has ended (not current_).
  void ReapFinishedStreamsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReaderLoop(Stream* stream);
  void WriterLoop(Stream* stream);
  // A context with the deadline `timeout` from now.
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::milliseconds timeout) const;
  // One unary call with the unary deadline; the host's error through FromGrpc.
  template <typename Request, typename Response>
  using UnaryMethod = grpc::Status (v1::HostService::Stub::*)(grpc::ClientContext*,
                                                              const Request&, Response*);
  template <typename Request, typename Response>
  absl::StatusOr<Response> Unary(UnaryMethod<Request, Response> method,
                                 const Request& request);

  const std::string address_;
  const HostClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::HostService::Stub> stub_;

  absl::Mutex mu_;
  Stream* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_HOST_CLIENT_H_
