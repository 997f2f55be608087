#include "owner_agent/host_client.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/error_text.h"
#include "grpcpp/support/client_interceptor.h"

namespace microledger {
namespace {

// A host that requires client certificates closes the TLS connection of an
// agent without one, and gRPC reports only "Socket closed". On a TLS channel
// without a client certificate, UNAVAILABLE errors say what may be missing.
class ClientCertificateHint final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_STATUS)) {
      grpc::Status* status = methods->GetRecvStatus();
      if (status->error_code() == grpc::StatusCode::UNAVAILABLE) {
        *status = grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            absl::StrCat(status->error_message(),
                         " (the agent sends no client certificate: if the host requires "
                         "one, ml-host --tls_client_ca, start ml-owner with "
                         "--host_tls_cert and --host_tls_key)"));
      }
    }
    methods->Proceed();
  }
};

class ClientCertificateHintFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new ClientCertificateHint();
  }
};

}  // namespace

absl::Status HostError(int code, absl::string_view message) {
  // A host's status is untrusted input: a code outside gRPC's range becomes
  // UNKNOWN, and at most a bounded quote of its message is kept.
  const absl::StatusCode known =
      code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated)
          ? static_cast<absl::StatusCode>(code)
          : absl::StatusCode::kUnknown;
  return absl::Status(known, QuoteForError(message, 4 * kMaxQuotedInputBytes));
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return HostError(status.error_code(), status.error_message());
}

// One AppendStream: its queues under its own mutex (taken after
// HostClient::mu_ when both are held).
struct HostClient::Stream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AppendRequest, v1::AppendStreamResponse>>
      rw;
  absl::Mutex mu;
  std::deque<v1::AppendRequest> outbound ABSL_GUARDED_BY(mu);
  std::deque<AppendCallback> waiting ABSL_GUARDED_BY(mu);
  bool broken ABSL_GUARDED_BY(mu) = false;
  // Set by the reader as its last act: the stream may be joined and freed.
  bool finished ABSL_GUARDED_BY(mu) = false;
  std::thread reader;
  std::thread writer;

  // Marks the stream broken and cancels the call.
  void BreakLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    broken = true;
    context.TryCancel();
  }
  bool WriterHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return broken || !outbound.empty();
  }
};

HostClient::HostClient(std::string address, const HostClientOptions& options)
    : address_(std::move(address)), options_(options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options_.tls_ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.tls_ca_pem;
    ssl.pem_cert_chain = options_.tls_cert_pem;
    ssl.pem_private_key = options_.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // A restarted host is found again quickly (fail-fast calls meanwhile).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> hints;
  if (!options_.tls_ca_pem.empty() && options_.tls_cert_pem.empty()) {
    hints.push_back(std::make_unique<ClientCertificateHintFactory>());
  }
  channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
      address_, credentials, args, std::move(hints));
  stub_ = v1::HostService::NewStub(channel_);
}

HostClient::~HostClient() {
  std::vector<std::unique_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    for (auto& stream : streams_) {
      absl::MutexLock stream_lock(&stream->mu);
      stream->BreakLocked();
    }
    streams.swap(streams_);
    current_ = nullptr;
  }
  // Each reader joins its writer before it ends.
  for (auto& stream : streams) {
    if (stream->reader.joinable()) stream->reader.join();
  }
}

std::unique_ptr<grpc::ClientContext> HostClient::NewContext(
    std::chrono::milliseconds timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

template <typename Request, typename Response>
absl::StatusOr<Response> HostClient::Unary(UnaryMethod<Request, Response> method,
                                           const Request& request) {
  auto context = NewContext(options_.call_timeout);
  Response response;
  absl::Status status = FromGrpc(((*stub_).*method)(context.get(), request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::CreateLedgerResponse> HostClient::CreateLedger() {
  return Unary(&v1::HostService::Stub::CreateLedger, v1::CreateLedgerRequest());
}

absl::StatusOr<v1::GetLedgerResponse> HostClient::GetLedger(const std::string& ledger_id) {
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  return Unary(&v1::HostService::Stub::GetLedger, request);
}

absl::StatusOr<v1::GetConsistencyProofResponse> HostClient::GetConsistencyProof(
    const std::string& ledger_id, uint64_t old_size, uint64_t new_size) {
  v1::GetConsistencyProofRequest request;
  request.set_ledger_id(ledger_id);
  request.set_old_size(old_size);
  request.set_new_size(new_size);
  return Unary(&v1::HostService::Stub::GetConsistencyProof, request);
}

absl::StatusOr<v1::ReportEquivocationResponse> HostClient::ReportEquivocation(
    const std::string& evidence) {
  v1::ReportEquivocationRequest request;
  request.set_evidence(evidence);
  return Unary(&v1::HostService::Stub::ReportEquivocation, request);
}

absl::StatusOr<v1::GetLedgerEvidenceResponse> HostClient::GetLedgerEvidence(
    const std::string& ledger_id) {
  v1::GetLedgerEvidenceRequest request;
  request.set_ledger_id(ledger_id);
  return Unary(&v1::HostService::Stub::GetLedgerEvidence, request);
}

absl::StatusOr<v1::GetInclusionProofResponse> HostClient::GetInclusionProof(
    const std::string& ledger_id, uint64_t number, uint64_t tree_size) {
  v1::GetInclusionProofRequest request;
  request.set_ledger_id(ledger_id);
  request.set_number(number);
  request.set_tree_size(tree_size);
  return Unary(&v1::HostService::Stub::GetInclusionProof, request);
}

absl::StatusOr<v1::GetAttachmentResponse> HostClient::GetAttachment(
    const std::string& ledger_id, const std::string& seal) {
  v1::GetAttachmentRequest request;
  request.set_ledger_id(ledger_id);
  request.set_seal(seal);
  return Unary(&v1::HostService::Stub::GetAttachment, request);
}

absl::Status HostClient::GetBlocks(const std::string& ledger_id, uint64_t from, uint64_t to,
                                   BlockRead read, const BlockVisitor& visit) {
  auto context = NewContext(read == BlockRead::kCatchUp ? options_.catch_up_timeout
                                                        : options_.whole_ledger_timeout);
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(from);
  request.set_to_number(to);
  auto reader = stub_->GetBlocks(context.get(), request);
  v1::GetBlocksResponse response;
  absl::Status stopped;
  while (stopped.ok() && reader->Read(&response)) stopped = visit(response.block());
  if (!stopped.ok()) context->TryCancel();
  const absl::Status finished = FromGrpc(reader->Finish());
  if (!stopped.ok()) return stopped;
  if (!finished.ok()) {
    return absl::Status(finished.code(), absl::StrCat("reading blocks: ", finished.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HostClient::GetBlock(const std::string& ledger_id,
                                                 uint64_t number) {
  auto context = NewContext(options_.call_timeout);
  v1::GetBlocksRequest request;
  request.set_ledger_id(ledger_id);
  request.set_from_number(number);
  request.set_to_number(number);
  auto reader = stub_->GetBlocks(context.get(), request);
  v1::GetBlocksResponse response;
  const bool served = reader->Read(&response);
  context->TryCancel();
  const absl::Status finished = FromGrpc(reader->Finish());
  if (served) return std::move(*response.mutable_block());
  if (!finished.ok()) return finished;
  return absl::NotFoundError(absl::StrCat("the host served no block ", number));
}

void HostClient::Submit(v1::AppendRequest request, AppendCallback done) {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (current_ == nullptr) {
      ReapFinishedStreamsLocked();
      auto stream = std::make_unique<Stream>();
      stream->rw = stub_->AppendStream(&stream->context);
      Stream* raw = stream.get();
      streams_.push_back(std::move(stream));
      current_ = raw;
      // The writer first: the reader joins it when the stream ends, which
      // can happen at once (a host that is down).
      raw->writer = std::thread([this, raw] { WriterLoop(raw); });
      raw->reader = std::thread([this, raw] { ReaderLoop(raw); });
    }
    {
      // Checked and queued in one critical section: a stream's reader fails
      // everything queued when it breaks, under the same mutex.
      absl::MutexLock stream_lock(&current_->mu);
      if (!current_->broken) {
        current_->outbound.push_back(std::move(request));
        current_->waiting.push_back(std::move(done));
        return;
      }
    }
    current_ = nullptr;  // Broken: the request goes on a new stream.
  }
}

void HostClient::CancelStream() {
  absl::MutexLock lock(&mu_);
  if (current_ != nullptr) {
    absl::MutexLock stream_lock(&current_->mu);
    current_->BreakLocked();
  }
}

void HostClient::WriterLoop(Stream* stream) {
  std::deque<v1::AppendRequest> batch;
  while (true) {
    {
      absl::MutexLock lock(&stream->mu);
      stream->mu.Await(absl::Condition(stream, &Stream::WriterHasWork));
      if (stream->broken) return;
      batch.swap(stream->outbound);
    }
    // Everything queued goes out together: all but the last write carry the
    // buffer hint, so a burst of appends shares HTTP/2 frames and sendmsg
    // calls instead of one system call per block.
    while (!batch.empty()) {
      const bool last = batch.size() == 1;
      grpc::WriteOptions options;
      if (!last) options.set_buffer_hint();
      if (!stream->rw->Write(batch.front(), options)) {
        absl::MutexLock lock(&stream->mu);
        stream->BreakLocked();
        return;
      }
      batch.pop_front();
    }
  }
}

void HostClient::ReaderLoop(Stream* stream) {
  v1::AppendStreamResponse response;
  while (stream->rw->Read(&response)) {
    AppendCallback done;
    {
      absl::MutexLock lock(&stream->mu);
      if (stream->waiting.empty()) break;  // A reply nobody asked for.
      done = std::move(stream->waiting.front());
      stream->waiting.pop_front();
    }
    if (response.code() == 0) {
      done(absl::OkStatus(), response.result());
    } else {
      done(HostError(response.code(), response.message()), v1::AppendResponse());
    }
  }
  std::deque<AppendCallback> failed;
  {
    absl::MutexLock lock(&stream->mu);
    stream->BreakLocked();
    failed.swap(stream->waiting);
    stream->outbound.clear();
  }
  stream->writer.join();
  grpc::Status finish = stream->rw->Finish();
  absl::Status error = absl::UnavailableError(absl::StrCat(
      "host ", address_, ": append stream ended (",
      finish.ok() ? std::string("closed") : finish.error_message(),
      "); the block may or may not be stored"));
  for (AppendCallback& done : failed) done(error, v1::AppendResponse());
  absl::MutexLock lock(&stream->mu);
  stream->finished = true;
}

void HostClient::ReapFinishedStreamsLocked() {
  for (auto it = streams_.begin(); it != streams_.end();) {
    bool finished;
    {
      absl::MutexLock stream_lock(&(*it)->mu);
      finished = (*it)->finished;
    }
    if (!finished || it->get() == current_) {
      ++it;
      continue;
    }
    (*it)->reader.join();  // It has returned, or is returning, from ReaderLoop.
    it = streams_.erase(it);
  }
}

}  // namespace microledger
