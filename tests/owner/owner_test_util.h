// Helpers shared by the owner agent integration tests.
#ifndef MICROLEDGER_TESTS_OWNER_OWNER_TEST_UTIL_H_
#define MICROLEDGER_TESTS_OWNER_OWNER_TEST_UTIL_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/bundle.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "microledger/v1/host.grpc.pb.h"
#include "microledger/v1/owner.grpc.pb.h"

namespace microledger {

using AgentStub = v1::OwnerAgentService::Stub;

inline std::unique_ptr<grpc::ClientContext> Ctx(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

inline std::string Msg(const grpc::Status& s) {
  return absl::StrCat(s.error_code(), ": ", s.error_message());
}

inline grpc::Status CreateLedger(AgentStub& stub, const std::string& host,
                                 v1::OwnerCreateLedgerResponse* out,
                                 const std::string& key = "",
                                 const v1::Controllers* controllers = nullptr) {
  v1::OwnerCreateLedgerRequest request;
  request.set_host_address(host);
  request.set_document_type("didDocument");
  request.set_key(key);
  request.set_host_url(absl::StrCat("grpc://", host));
  if (controllers != nullptr) *request.mutable_controllers() = *controllers;
  return stub.CreateLedger(Ctx().get(), request, out);
}

inline grpc::Status Append(AgentStub& stub, const std::string& ledger, const std::string& event,
                           v1::BlockOutcome* out, const std::string& attachment = "") {
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger);
  request.set_event_json(event);
  if (!attachment.empty()) {
    v1::Attachment* a = request.add_attachments();
    a->set_name("file.txt");
    a->set_data(attachment);
  }
  return stub.AppendEvent(Ctx().get(), request, out);
}

// Creates a ledger on the agent's default host, then appends `events` times
// the event `event_json`; sets *ledger and, when given, *last to the last
// append's outcome.
inline grpc::Status CreateLedgerWithEvents(AgentStub& stub, int events,
                                           const std::string& event_json,
                                           std::string* ledger,
                                           v1::BlockOutcome* last = nullptr) {
  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedger(stub, "", &created);
  if (!status.ok()) return status;
  *ledger = created.ledger_id();
  v1::BlockOutcome outcome;
  for (int i = 0; i < events && status.ok(); ++i) {
    status = Append(stub, *ledger, event_json, &outcome);
  }
  if (last != nullptr) *last = outcome;
  return status;
}

inline grpc::Status Export(AgentStub& stub, const std::string& ledger, std::string* out) {
  v1::ExportLedgerRequest request;
  request.set_ledger_id(ledger);
  auto context = Ctx();
  auto reader = stub.ExportLedger(context.get(), request);
  v1::ExportLedgerChunk chunk;
  while (reader->Read(&chunk)) out->append(chunk.data());
  return reader->Finish();
}

inline BundleVerdict VerifyBundleBytes(const std::string& bytes) {
  std::istringstream in(bytes);
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in);
  if (!verdict.ok()) return BundleVerdict();
  return *verdict;
}

// The agent's GetLedger of `ledger`; with `offline`, what the agent holds
// without asking its host.
inline v1::OwnerGetLedgerResponse LedgerInfo(AgentStub& stub, const std::string& ledger,
                                             bool offline) {
  v1::OwnerGetLedgerRequest request;
  request.set_ledger_id(ledger);
  request.set_offline(offline);
  v1::OwnerGetLedgerResponse info;
  grpc::Status status = stub.GetLedger(Ctx().get(), request, &info);
  EXPECT_TRUE(status.ok()) << Msg(status);
  return info;
}

inline uint64_t HostHead(const std::string& address, const std::string& ledger) {
  auto stub = v1::HostService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger);
  v1::GetLedgerResponse response;
  if (!stub->GetLedger(Ctx(10).get(), request, &response).ok()) return 0;
  return response.head_number();
}

// A loopback port that was free a moment ago.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_OWNER_OWNER_TEST_UTIL_H_
