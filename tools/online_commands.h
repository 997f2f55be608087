// The online `mlctl` commands: they drive an owner agent (ml-owner) over gRPC
// (OwnerAgentService, proto/microledger/v1/owner.proto), and `tail` also reads
// the ledger's host directly (HostService.Subscribe). Like offline_commands.h,
// each command takes its streams as arguments and returns the process exit
// code, so tests call them directly and main only parses flags and dispatches.
//
// Exit codes: 0 done; 1 the agent (or host) refused the operation, or a verify
// verdict is FAIL (one line on `err`: the gRPC status code name and message);
// 2 usage errors, unreadable local files and an agent (or host) that cannot be
// reached (one line on `err`).
//
// An AgentClient is used from one thread at a time.
#ifndef MICROLEDGER_TOOLS_ONLINE_COMMANDS_H_
#define MICROLEDGER_TOOLS_ONLINE_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/block.h"
#include "grpcpp/grpcpp.h"
#include "microledger/v1/owner.grpc.pb.h"

namespace microledger {

inline constexpr char kDefaultAgentAddress[] = "127.0.0.1:7401";

struct AgentOptions {
  // HOST:PORT or unix:PATH of the owner agent.
  std::string address = kDefaultAgentAddress;
  // File whose first line is a bearer token, sent as
  // "authorization: Bearer <token>" on every agent call. Empty = none.
  std::string token_file;
  // PEM CA bundle that signs the agent's certificate; enables TLS to the agent.
  std::string agent_tls_ca_file;
  // PEM CA bundle that signs the host's certificate; enables TLS on the direct
  // host connection of `tail`.
  std::string host_tls_ca_file;
  // Deadline of each agent call, and how long to wait for the agent to accept
  // the connection is min(this, 10 s).
  int64_t timeout_seconds = 60;
};

class AgentClient {
 public:
  // Reads the token and CA files (InvalidArgument naming the file if one cannot
  // be read) and makes the channel; does not connect yet.
  static absl::StatusOr<std::unique_ptr<AgentClient>> Create(const AgentOptions& options);

  // Waits for the agent to accept a connection; Unavailable naming the address
  // when it does not.
  absl::Status Connect();

  v1::OwnerAgentService::Stub& stub() { return *stub_; }
  // Sets the deadline (unless `streaming_without_deadline`) and the token.
  void Prepare(grpc::ClientContext* context, bool streaming_without_deadline = false) const;

  const AgentOptions& options() const { return options_; }
  // The host TLS CA bundle text (empty = plaintext to hosts).
  const std::string& host_tls_ca_pem() const { return host_tls_ca_pem_; }

 private:
  AgentClient() = default;
  AgentOptions options_;
  std::string token_;
  std::string host_tls_ca_pem_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::OwnerAgentService::Stub> stub_;
};

// "NOT_FOUND" etc.
std::string StatusCodeName(grpc::StatusCode code);

// Text shared by the agent's and the server's (server_commands.h) views:
// "<threshold> of <n>: <key>, <key>"; a ledger status ("open", "closed
// (terminal: …)"); `text` line by line, each indented by four spaces; a
// tail line "<number> <time> <event JCS>" (without "\n").
std::string ControllersText(const v1::Controllers& controllers);
const char* LedgerStatusText(v1::LedgerStatus status);
void PrintIndented(const std::string& text, std::ostream& out);
std::string TailLine(const Block& block);

// `ledger create`: prints the new ledger id alone on `out`. `host` empty = the
// agent's --host; `key` empty = a new key; `controllers` empty = {1, [key]}.
int RunLedgerCreate(AgentClient& client, const std::string& host,
                    const std::string& document_type, const std::string& key,
                    const std::vector<std::string>& controllers, int threshold,
                    std::ostream& out, std::ostream& err);
// `ledger list`: one line per ledger of the agent's registry:
// "<ledger id> <head number> <host address>".
int RunLedgerList(AgentClient& client, std::ostream& out, std::ostream& err);

// `append`: appends `event_json` (with the files `attachment_paths` sealed in
// the block); prints the committed block number on `out`. A block that needs
// more owner signatures (k-of-n) is not committed: exit 1, the missing keys on
// `err`. With a `request_id`, a retry with the same id prints the block an
// earlier attempt committed instead of appending again. With
// `wait_witnessed` (zero: the agent's default timeout) the agent waits for a
// quorum of its witnesses; a second line on `out` says "witnessed" or "not
// witnessed: <why>", and a committed block exits 0 either way.
int RunAppend(AgentClient& client, const std::string& ledger_id,
              const std::string& event_json,
              const std::vector<std::string>& attachment_paths, std::ostream& out,
              std::ostream& err, const std::string& request_id = "",
              std::optional<absl::Duration> wait_witnessed = std::nullopt);
// `append --from-file`: one event per line of `events` (the JSON `append`
// takes; blank lines are skipped), streamed to the agent's AppendEvents as
// consecutive blocks of the ledger. The whole input is read and every line
// checked (a JSON object with a string member "event") before anything is
// sent: a malformed line is exit 2, "line <n>: <why>" on `err`, nothing
// appended. With `progress` (stderr is a terminal), "\r<sent>/<total> blocks"
// on `err` a few times a second. Prints one line on `out`: "appended <n>
// blocks" and, when n > 0, " <first>..<last>, head <fingerprint>". An event
// the agent refuses ends the stream: the blocks before it stay, the summary
// is still printed, "line <n>: <CODE>: <message>" goes to `err`, exit 1.
// `source` names the input in messages ("-" for stdin).
int RunAppendFromFile(AgentClient& client, const std::string& ledger_id, std::istream& events,
                      const std::string& source, bool progress, std::ostream& out,
                      std::ostream& err);
// `close`: appends "closed document"; prints the block number.
int RunClose(AgentClient& client, const std::string& ledger_id, std::ostream& out,
             std::ostream& err);
// `move`: prints the new ledger id.
int RunMove(AgentClient& client, const std::string& ledger_id, const std::string& host,
            std::ostream& out, std::ostream& err);
// `transfer`: appends "transferred ownership" with the new controllers; prints
// the block number.
int RunTransfer(AgentClient& client, const std::string& ledger_id,
                const std::vector<std::string>& controllers, int threshold,
                std::ostream& out, std::ostream& err);
// `show`: the agent's view of the ledger, human readable.
int RunShow(AgentClient& client, const std::string& ledger_id, std::ostream& out,
            std::ostream& err);
// `verify LEDGER`: the agent's VerifyLedger verdict line (SPEC §9); 0 OK, 1 FAIL.
int RunVerifyLedger(AgentClient& client, const std::string& ledger_id, std::ostream& out,
                    std::ostream& err);
// `export`: writes the SPEC §9 bundle to `path` (through a temporary file in
// the same directory, renamed when complete); prints "exported <n> blocks to
// <path>".
int RunExport(AgentClient& client, const std::string& ledger_id, const std::string& path,
              std::ostream& out, std::ostream& err);
// `tail`: the ledger's host address comes from the agent (GetLedger); blocks
// come from the host's Subscribe. One line per block: "<number> <time> <event
// JCS>". Without `follow`: blocks from_number (0 = 1) .. the head, then exit.
// With `follow`: from from_number (0 = the block after the head) on, as they
// are committed, until the ledger's terminal block or the process is stopped.
int RunTail(AgentClient& client, const std::string& ledger_id, bool follow,
            uint64_t from_number, std::ostream& out, std::ostream& err);
// `keys create`: prints the new public key.
int RunKeysCreate(AgentClient& client, const std::string& label, std::ostream& out,
                  std::ostream& err);
// `keys list`: "<key> <label>" per line.
int RunKeysList(AgentClient& client, std::ostream& out, std::ostream& err);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_ONLINE_COMMANDS_H_
