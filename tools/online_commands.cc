#include "tools/online_commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/block.h"
#include "common/encoding.h"
#include "common/json.h"
#include "microledger/v1/host.grpc.pb.h"
#include "serving/whole_file.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

// One line on `err` for a failed call: exit 1 (the agent answered and refused).
int Refused(const char* command, const grpc::Status& status, std::ostream& err) {
  err << "mlctl " << command << ": " << StatusCodeName(status.error_code()) << ": "
      << status.error_message() << "\n";
  return kExitVerifyFailed;
}

// Connects or prints why not (exit 2).
bool Connected(AgentClient& client, const char* command, std::ostream& err) {
  absl::Status status = client.Connect();
  if (status.ok()) return true;
  err << "mlctl " << command << ": " << status.message() << "\n";
  return false;
}

v1::Controllers MakeControllers(const std::vector<std::string>& keys, int threshold) {
  v1::Controllers controllers;
  controllers.set_threshold(threshold);
  for (const std::string& key : keys) controllers.add_keys(key);
  return controllers;
}

// Prints the outcome of a block-making call: the committed block number on
// `out`, or (proposal) the missing signers on `err` and exit 1.
int ReportOutcome(const char* command, const v1::BlockOutcome& outcome, std::ostream& out,
                  std::ostream& err) {
  if (outcome.has_committed()) {
    out << outcome.committed().number() << "\n";
    return kExitOk;
  }
  if (outcome.has_proposal()) {
    err << "mlctl " << command
        << ": not committed: the block needs more owner signatures (controllers "
        << ControllersText(outcome.proposal().controllers()) << "; missing "
        << absl::StrJoin(outcome.proposal().missing_keys(), ", ")
        << "); mlctl cannot cosign yet\n";
    return kExitVerifyFailed;
  }
  err << "mlctl " << command << ": the agent returned no outcome\n";
  return kExitVerifyFailed;
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string ControllersText(const v1::Controllers& controllers) {
  return absl::StrCat(controllers.threshold(), " of ", controllers.keys_size(), ": ",
                      absl::StrJoin(controllers.keys(), ", "));
}

const char* LedgerStatusText(v1::LedgerStatus status) {
  switch (status) {
    case v1::LEDGER_STATUS_OPEN:
      return "open";
    case v1::LEDGER_STATUS_CLOSED:
      return "closed (terminal: no block may follow)";
    case v1::LEDGER_STATUS_MOVED:
      return "moved (terminal: continues in the successor ledger)";
    default:
      return "unknown";
  }
}

void PrintIndented(const std::string& text, std::ostream& out) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) out << "    " << line << "\n";
}

std::string TailLine(const Block& block) {
  return absl::StrCat(block.number, " ", block.time, " ", CanonicalJson(block.event));
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return absl::StrCat("code ", static_cast<int>(code));
  }
}

absl::StatusOr<std::unique_ptr<AgentClient>> AgentClient::Create(
    const AgentOptions& options) {
  std::unique_ptr<AgentClient> client(new AgentClient());
  client->options_ = options;
  if (options.address.empty()) return absl::InvalidArgumentError("--agent is empty");
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> text = ReadWholeFile(options.token_file);
    if (!text.ok()) return absl::InvalidArgumentError(
        absl::StrCat("--token_file: ", text.status().message()));
    client->token_ = std::string(FirstLine(*text));
    if (client->token_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token_file: no token on the first line of ", options.token_file));
    }
  }
  if (!options.host_tls_ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadWholeFile(options.host_tls_ca_file);
    if (!pem.ok()) return absl::InvalidArgumentError(
        absl::StrCat("--host_tls_ca: ", pem.status().message()));
    client->host_tls_ca_pem_ = *pem;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options.agent_tls_ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadWholeFile(options.agent_tls_ca_file);
    if (!pem.ok()) return absl::InvalidArgumentError(
        absl::StrCat("--agent_tls_ca: ", pem.status().message()));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *pem;
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  client->channel_ = grpc::CreateCustomChannel(options.address, credentials, arguments);
  client->stub_ = v1::OwnerAgentService::NewStub(client->channel_);
  return client;
}

absl::Status AgentClient::Connect() {
  const int64_t seconds = std::clamp<int64_t>(options_.timeout_seconds, 1, 10);
  if (!channel_->WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::seconds(seconds))) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach the owner agent at ", options_.address,
        " (is ml-owner running? see --agent", options_.agent_tls_ca_file.empty()
            ? ")" : ", --agent_tls_ca)"));
  }
  return absl::OkStatus();
}

void AgentClient::Prepare(grpc::ClientContext* context,
                          bool streaming_without_deadline) const {
  if (!streaming_without_deadline) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(std::max<int64_t>(1, options_.timeout_seconds)));
  }
  if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
}

int RunLedgerCreate(AgentClient& client, const std::string& host,
                    const std::string& document_type, const std::string& key,
                    const std::vector<std::string>& controllers, int threshold,
                    std::ostream& out, std::ostream& err) {
  if (document_type.empty()) {
    err << "mlctl ledger create: --type=TYPE (the document type) is required\n";
    return kExitUsageOrInput;
  }
  if (!Connected(client, "ledger create", err)) return kExitUsageOrInput;
  v1::OwnerCreateLedgerRequest request;
  request.set_host_address(host);
  request.set_document_type(document_type);
  request.set_key(key);
  if (!controllers.empty()) {
    *request.mutable_controllers() = MakeControllers(controllers, threshold);
  }
  v1::OwnerCreateLedgerResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().CreateLedger(&context, request, &response);
  if (!status.ok()) return Refused("ledger create", status, err);
  out << response.ledger_id() << "\n";
  if (response.genesis().has_proposal()) {
    err << "mlctl ledger create: the genesis block is not committed yet: it needs "
           "signatures from "
        << absl::StrJoin(response.genesis().proposal().missing_keys(), ", ") << "\n";
    return kExitVerifyFailed;
  }
  return kExitOk;
}

int RunLedgerList(AgentClient& client, std::ostream& out, std::ostream& err) {
  if (!Connected(client, "ledger list", err)) return kExitUsageOrInput;
  v1::ListLedgersResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status =
      client.stub().ListLedgers(&context, v1::ListLedgersRequest(), &response);
  if (!status.ok()) return Refused("ledger list", status, err);
  for (const auto& entry : response.ledgers()) {
    out << entry.ledger_id() << " " << entry.head_number() << " " << entry.host_address()
        << "\n";
  }
  return kExitOk;
}

int RunAppend(AgentClient& client, const std::string& ledger_id,
              const std::string& event_json,
              const std::vector<std::string>& attachment_paths, std::ostream& out,
              std::ostream& err, const std::string& request_id,
              std::optional<absl::Duration> wait_witnessed) {
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger_id);
  request.set_event_json(event_json);
  request.set_request_id(request_id);
  // The agent caps its wait at 300 s; the call's deadline leaves room for it.
  absl::Duration wait = absl::ZeroDuration();
  if (wait_witnessed.has_value()) {
    request.set_wait_witnessed(true);
    request.set_witness_timeout_millis(static_cast<uint32_t>(
        absl::ToInt64Milliseconds(std::min(*wait_witnessed, absl::Seconds(300)))));
    wait = *wait_witnessed == absl::ZeroDuration() ? absl::Seconds(300)
                                                   : std::min(*wait_witnessed, absl::Seconds(300));
  }
  for (const std::string& path : attachment_paths) {
    absl::StatusOr<std::string> data = ReadWholeFile(path);
    if (!data.ok()) {
      err << "mlctl append: --attach: " << data.status().message() << "\n";
      return kExitUsageOrInput;
    }
    v1::Attachment* attachment = request.add_attachments();
    attachment->set_name(Basename(path));
    attachment->set_data(*data);
  }
  if (!Connected(client, "append", err)) return kExitUsageOrInput;
  v1::BlockOutcome outcome;
  grpc::ClientContext context;
  client.Prepare(&context);
  if (wait_witnessed.has_value()) {
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + wait +
                           absl::Seconds(std::max<int64_t>(1, client.options().timeout_seconds))));
  }
  grpc::Status status = client.stub().AppendEvent(&context, request, &outcome);
  if (!status.ok()) return Refused("append", status, err);
  const int reported = ReportOutcome("append", outcome, out, err);
  if (wait_witnessed.has_value() && outcome.has_committed()) {
    out << (outcome.witnessed() ? std::string("witnessed")
                                : "not witnessed: " + outcome.witness_detail())
        << "\n";
  }
  return reported;
}

namespace {

// The events of an `append --from-file` input, with the line each came from.
struct EventLines {
  std::vector<std::string> events;
  std::vector<uint64_t> line_numbers;
};

// Every non-blank line, checked to be a JSON object with a string "event".
absl::StatusOr<EventLines> ReadEventLines(std::istream& in) {
  EventLines lines;
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    absl::StatusOr<Json> event = ParseJson(line);
    if (!event.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": not JSON: ", event.status().message()));
    }
    auto name = event->is_object() ? event->find("event") : event->end();
    if (!event->is_object() || name == event->end() || !name->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", number, ": not a JSON object with a string member \"event\""));
    }
    lines.events.push_back(std::move(line));
    lines.line_numbers.push_back(number);
  }
  if (in.bad()) return absl::InvalidArgumentError("read error");
  return lines;
}

}  // namespace

int RunAppendFromFile(AgentClient& client, const std::string& ledger_id, std::istream& events,
                      const std::string& source, bool progress, std::ostream& out,
                      std::ostream& err) {
  absl::StatusOr<EventLines> lines = ReadEventLines(events);
  if (!lines.ok()) {
    err << "mlctl append: " << source << ": " << lines.status().message()
        << " (nothing was sent)\n";
    return kExitUsageOrInput;
  }
  if (!Connected(client, "append", err)) return kExitUsageOrInput;
  // Messages of at most this many bytes of events (the agent takes 64 MiB).
  constexpr size_t kMessageBytes = 256 << 10;
  const size_t total = lines->events.size();
  grpc::ClientContext context;
  client.Prepare(&context, /*streaming_without_deadline=*/true);
  v1::AppendEventsSummary summary;
  std::unique_ptr<grpc::ClientWriter<v1::AppendEventsRequest>> writer =
      client.stub().AppendEvents(&context, &summary);
  auto last_progress = std::chrono::steady_clock::now();
  size_t sent = 0;
  bool first = true;
  while (sent < total || first) {
    v1::AppendEventsRequest request;
    if (first) request.set_ledger_id(ledger_id);
    first = false;
    size_t bytes = 0;
    while (sent < total && (bytes == 0 || bytes + lines->events[sent].size() <= kMessageBytes)) {
      bytes += lines->events[sent].size();
      request.add_events()->set_event_json(std::move(lines->events[sent]));
      ++sent;
    }
    if (!writer->Write(request)) break;
    const auto now = std::chrono::steady_clock::now();
    if (progress && now - last_progress >= std::chrono::milliseconds(250)) {
      err << "\r" << sent << "/" << total << " blocks" << std::flush;
      last_progress = now;
    }
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (progress) err << "\r" << sent << "/" << total << " blocks\n" << std::flush;
  if (!status.ok()) return Refused("append", status, err);
  out << "appended " << summary.appended() << " blocks";
  if (summary.appended() > 0) {
    out << " " << summary.first_number() << ".." << summary.last_number() << ", head "
        << summary.last_fingerprint();
  }
  out << "\n";
  if (summary.error_code() == 0) return kExitOk;
  const uint64_t failed = summary.failed_event();
  err << "mlctl append: " << source << ": line "
      << (failed < lines->line_numbers.size() ? lines->line_numbers[failed] : 0) << ": "
      << StatusCodeName(static_cast<grpc::StatusCode>(summary.error_code())) << ": "
      << summary.error_message() << "; the events before it were appended, none after it\n";
  return kExitVerifyFailed;
}

int RunClose(AgentClient& client, const std::string& ledger_id, std::ostream& out,
             std::ostream& err) {
  if (!Connected(client, "close", err)) return kExitUsageOrInput;
  v1::CloseLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::BlockOutcome outcome;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().CloseLedger(&context, request, &outcome);
  if (!status.ok()) return Refused("close", status, err);
  return ReportOutcome("close", outcome, out, err);
}

int RunMove(AgentClient& client, const std::string& ledger_id, const std::string& host,
            std::ostream& out, std::ostream& err) {
  if (!Connected(client, "move", err)) return kExitUsageOrInput;
  v1::MoveLedgerRequest request;
  request.set_ledger_id(ledger_id);
  request.set_host_address(host);
  v1::MoveLedgerResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().MoveLedger(&context, request, &response);
  if (!status.ok()) return Refused("move", status, err);
  out << response.new_ledger_id() << "\n";
  return kExitOk;
}

int RunTransfer(AgentClient& client, const std::string& ledger_id,
                const std::vector<std::string>& controllers, int threshold,
                std::ostream& out, std::ostream& err) {
  if (controllers.empty() || threshold < 1) {
    err << "mlctl transfer: --controllers=KEY,KEY,... and --threshold=N (>= 1) are "
           "required\n";
    return kExitUsageOrInput;
  }
  if (!Connected(client, "transfer", err)) return kExitUsageOrInput;
  v1::TransferOwnershipRequest request;
  request.set_ledger_id(ledger_id);
  *request.mutable_new_controllers() = MakeControllers(controllers, threshold);
  v1::BlockOutcome outcome;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().TransferOwnership(&context, request, &outcome);
  if (!status.ok()) return Refused("transfer", status, err);
  return ReportOutcome("transfer", outcome, out, err);
}

int RunShow(AgentClient& client, const std::string& ledger_id, std::ostream& out,
            std::ostream& err) {
  if (!Connected(client, "show", err)) return kExitUsageOrInput;
  v1::OwnerGetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::OwnerGetLedgerResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().GetLedger(&context, request, &response);
  if (!status.ok()) return Refused("show", status, err);
  out << "ledger:        " << response.ledger_id() << "\n";
  out << "host:          " << response.host_address() << "\n";
  out << "document type: " << response.document_type() << "\n";
  out << "status:        " << LedgerStatusText(response.status()) << "\n";
  out << "head:          block " << response.head_number() << " "
      << response.head_fingerprint() << "\n";
  out << "controllers:   " << ControllersText(response.controllers()) << "\n";
  out << "held here:     "
      << (response.held_keys().empty() ? std::string("none")
                                       : absl::StrJoin(response.held_keys(), ", "))
      << "\n";
  if (!response.original_id().empty() && response.original_id() != response.ledger_id()) {
    out << "original id:   " << response.original_id() << "\n";
  }
  if (!response.moved_to().empty()) out << "moved to:      " << response.moved_to() << "\n";
  out << "checkpoint:    (signed by the host, verified by the agent)\n";
  PrintIndented(response.checkpoint(), out);
  if (response.equivocation() || response.evidence_size() > 0) {
    out << "EQUIVOCATION:  the host forked or rolled back this ledger; writes are "
           "refused. Evidence:\n";
    for (const v1::Evidence& evidence : response.evidence()) {
      out << "  " << evidence.kind() << " at host " << evidence.host_address() << ": "
          << evidence.detail() << "\n";
      out << "  held checkpoint:\n";
      PrintIndented(evidence.held_checkpoint(), out);
      out << "  served checkpoint:\n";
      PrintIndented(evidence.served_checkpoint(), out);
    }
  } else {
    out << "evidence:      none (no equivocation seen)\n";
  }
  return kExitOk;
}

int RunVerifyLedger(AgentClient& client, const std::string& ledger_id, std::ostream& out,
                    std::ostream& err) {
  if (!Connected(client, "verify", err)) return kExitUsageOrInput;
  v1::VerifyLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::VerifyLedgerResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().VerifyLedger(&context, request, &response);
  if (!status.ok()) return Refused("verify", status, err);
  out << response.verdict() << "\n";
  return response.ok() ? kExitOk : kExitVerifyFailed;
}

int RunExport(AgentClient& client, const std::string& ledger_id, const std::string& path,
              std::ostream& out, std::ostream& err) {
  if (!Connected(client, "export", err)) return kExitUsageOrInput;
  const std::string temp_path = absl::StrCat(path, ".partial.", getpid());
  std::ofstream file(temp_path, std::ios::binary | std::ios::trunc);
  if (!file) {
    err << "mlctl export: cannot write " << temp_path << "\n";
    return kExitUsageOrInput;
  }
  v1::ExportLedgerRequest request;
  request.set_ledger_id(ledger_id);
  grpc::ClientContext context;
  client.Prepare(&context);
  std::unique_ptr<grpc::ClientReader<v1::ExportLedgerChunk>> reader =
      client.stub().ExportLedger(&context, request);
  v1::ExportLedgerChunk chunk;
  uint64_t blocks = 0;
  bool at_line_start = true;
  const std::string block_prefix = "{\"block\":";
  std::string line_head;  // The first bytes of the current line.
  while (reader->Read(&chunk)) {
    file.write(chunk.data().data(), chunk.data().size());
    for (char c : chunk.data()) {
      if (at_line_start) line_head.clear();
      at_line_start = c == '\n';
      if (!at_line_start && line_head.size() < block_prefix.size()) {
        line_head.push_back(c);
        if (line_head == block_prefix) ++blocks;
      }
    }
  }
  grpc::Status status = reader->Finish();
  file.close();
  if (!status.ok()) {
    unlink(temp_path.c_str());
    return Refused("export", status, err);
  }
  if (!file || std::rename(temp_path.c_str(), path.c_str()) != 0) {
    unlink(temp_path.c_str());
    err << "mlctl export: cannot write " << path << "\n";
    return kExitUsageOrInput;
  }
  out << "exported " << blocks << " blocks to " << path << "\n";
  return kExitOk;
}

int RunTail(AgentClient& client, const std::string& ledger_id, bool follow,
            uint64_t from_number, std::ostream& out, std::ostream& err) {
  if (!Connected(client, "tail", err)) return kExitUsageOrInput;
  v1::OwnerGetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::OwnerGetLedgerResponse ledger;
  {
    grpc::ClientContext context;
    client.Prepare(&context);
    grpc::Status status = client.stub().GetLedger(&context, request, &ledger);
    if (!status.ok()) return Refused("tail", status, err);
  }
  const uint64_t head = ledger.head_number();
  const uint64_t from =
      from_number > 0 ? from_number : (follow ? head + 1 : uint64_t{1});
  const bool terminal = ledger.status() != v1::LEDGER_STATUS_OPEN &&
                        ledger.status() != v1::LEDGER_STATUS_UNSPECIFIED;
  // Nothing to print and nothing will come.
  if ((!follow || terminal) && from > head) return kExitOk;

  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!client.host_tls_ca_pem().empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = client.host_tls_ca_pem();
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(ledger.host_address(), credentials, arguments);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10))) {
    err << "mlctl tail: cannot reach the ledger's host at " << ledger.host_address()
        << (client.host_tls_ca_pem().empty() ? " (TLS host? see --host_tls_ca)" : "")
        << "\n";
    return kExitUsageOrInput;
  }
  std::unique_ptr<v1::HostService::Stub> host = v1::HostService::NewStub(channel);
  v1::SubscribeRequest subscribe;
  subscribe.set_ledger_id(ledger_id);
  subscribe.set_from_number(from);
  grpc::ClientContext context;  // No deadline: -f runs until stopped.
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      host->Subscribe(&context, subscribe);
  v1::SubscribeResponse response;
  bool done = false;
  int result = kExitOk;
  while (!done && reader->Read(&response)) {
    absl::StatusOr<Block> block = ParseBlock(response.block(), SignatureStage::kComplete);
    if (!block.ok()) {
      err << "mlctl tail: block " << response.number()
          << " from the host does not parse: " << block.status().message() << "\n";
      result = kExitVerifyFailed;
      break;
    }
    out << TailLine(*block) << std::endl;
    const std::string& name = block->event_name();
    if (name == "closed document" || name == "moved document") done = true;
    if (!follow && block->number >= head) done = true;
  }
  if (done || result != kExitOk) {
    context.TryCancel();
    reader->Finish();
    return result;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Refused("tail", status, err);
  return kExitOk;
}

int RunKeysCreate(AgentClient& client, const std::string& label, std::ostream& out,
                  std::ostream& err) {
  if (!Connected(client, "keys create", err)) return kExitUsageOrInput;
  v1::CreateKeyRequest request;
  request.set_label(label);
  v1::CreateKeyResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().CreateKey(&context, request, &response);
  if (!status.ok()) return Refused("keys create", status, err);
  out << response.key() << "\n";
  return kExitOk;
}

int RunKeysList(AgentClient& client, std::ostream& out, std::ostream& err) {
  if (!Connected(client, "keys list", err)) return kExitUsageOrInput;
  v1::ListKeysResponse response;
  grpc::ClientContext context;
  client.Prepare(&context);
  grpc::Status status = client.stub().ListKeys(&context, v1::ListKeysRequest(), &response);
  if (!status.ok()) return Refused("keys list", status, err);
  for (const v1::OwnerKey& key : response.keys()) {
    out << key.key() << " " << key.label() << "\n";
  }
  return kExitOk;
}

}  // namespace microledger
