// Test helpers for talking to a running ml-host over gRPC.
#ifndef MICROLEDGER_TESTS_HOST_GRPC_CLIENT_H_
#define MICROLEDGER_TESTS_HOST_GRPC_CLIENT_H_

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/host.grpc.pb.h"
#include "tests/host/owner_chain.h"

namespace microledger {

using HostStub = microledger::v1::HostService::Stub;

inline std::unique_ptr<HostStub> Connect(const std::string& address) {
  return v1::HostService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

// CreateLedger; the chain's owners are fresh local keys.
inline OwnerChain CreateChain(HostStub& stub, int owners = 1, int threshold = 1) {
  grpc::ClientContext context;
  v1::CreateLedgerRequest request;
  v1::CreateLedgerResponse response;
  grpc::Status status = stub.CreateLedger(&context, request, &response);
  if (!status.ok()) return OwnerChain("", "", owners, threshold);
  return OwnerChain(response.ledger_id(), response.ledger_token(), owners, threshold);
}

inline BlockSignature FromProto(const v1::Signature& s) {
  return {s.role(), s.alg(), s.key(), s.sig()};
}

// Unary Append of `block`; on success the chain accepts it.
inline grpc::Status AppendBlock(HostStub& stub, OwnerChain& chain, const Block& block,
                                v1::AppendResponse* out = nullptr) {
  grpc::ClientContext context;
  v1::AppendRequest request;
  request.set_block(OwnerChain::Bytes(block));
  if (block.number == 1) request.set_ledger_token(chain.token());
  v1::AppendResponse response;
  grpc::Status status = stub.Append(&context, request, &response);
  if (status.ok()) {
    absl::Status accepted = chain.Accept(block, FromProto(response.host_signature()));
    if (!accepted.ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, std::string(accepted.message()));
    }
    if (out != nullptr) *out = response;
  }
  return status;
}

// All blocks [from, to] (to 0 = head) via GetBlocks, `per_message` blocks per
// response message at most (0 = one, in the `block` field). `messages` counts
// the response messages.
inline grpc::Status ReadBlocks(HostStub& stub, const std::string& ledger_id, uint64_t from,
                               uint64_t to, std::vector<std::string>* blocks,
                               std::vector<uint64_t>* numbers = nullptr,
                               uint32_t per_message = 0, int* messages = nullptr) {
  grpc::ClientContext context;
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(from);
  request.set_to_number(to);
  request.set_max_blocks_per_message(per_message);
  auto reader = stub.GetBlocks(&context, request);
  v1::GetBlocksResponse response;
  while (reader->Read(&response)) {
    if (messages != nullptr) ++*messages;
    if (per_message <= 1) {
      blocks->push_back(response.block());
      if (numbers != nullptr) numbers->push_back(response.number());
      continue;
    }
    if (response.blocks_size() == 0 || !response.block().empty() ||
        static_cast<uint32_t>(response.blocks_size()) > per_message) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "a batched message of the wrong shape");
    }
    for (int i = 0; i < response.blocks_size(); ++i) {
      blocks->push_back(response.blocks(i));
      if (numbers != nullptr) numbers->push_back(response.number() + i);
    }
  }
  return reader->Finish();
}

// ForgetLedger of `ledger_id` at `head`, signed by `signatures` (SPEC §10).
inline grpc::Status ForgetLedger(HostStub& stub, const std::string& ledger_id,
                                 const std::string& head,
                                 const std::vector<BlockSignature>& signatures) {
  grpc::ClientContext context;
  v1::ForgetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  request.set_head_fingerprint(head);
  for (const BlockSignature& signature : signatures) {
    v1::Signature* out = request.add_signatures();
    out->set_role(signature.role);
    out->set_alg(signature.alg);
    out->set_key(signature.key);
    out->set_sig(signature.sig);
  }
  v1::ForgetLedgerResponse response;
  return stub.ForgetLedger(&context, request, &response);
}

// grpc.health.v1 HealthCheckResponse.status values.
constexpr int kHealthServing = 1;
constexpr int kHealthNotServing = 2;

// grpc.health.v1 Health/Check of `service` ("" = the whole server: liveness;
// a full service name, under 128 bytes: its readiness), 5 s deadline. The
// messages are encoded by hand (no generated health code in this build). On
// OK, *health is the answered status (0 when absent: UNKNOWN).
inline grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, int* health) {
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // HealthCheckRequest: field 1 (length-delimited) service, omitted when empty.
  const std::string encoded =
      service.empty() ? "" : std::string("\x0a") + static_cast<char>(service.size()) + service;
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> finished;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&finished](grpc::Status s) { finished.set_value(s); });
  const grpc::Status status = finished.get_future().get();
  if (!status.ok()) return status;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unreadable health response");
  }
  std::string bytes;
  for (const grpc::Slice& piece : slices) {
    bytes.append(reinterpret_cast<const char*>(piece.begin()), piece.size());
  }
  // HealthCheckResponse: field 1 (varint) status, a single byte for 0..3.
  *health = bytes.size() == 2 && bytes[0] == '\x08' ? bytes[1] : 0;
  return status;
}

inline uint64_t HeadNumber(HostStub& stub, const std::string& ledger_id) {
  grpc::ClientContext context;
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::GetLedgerResponse response;
  if (!stub.GetLedger(&context, request, &response).ok()) return 0;
  return response.head_number();
}

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_HOST_GRPC_CLIENT_H_
