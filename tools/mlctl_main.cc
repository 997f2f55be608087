// mlctl: the Micro Ledger command line. This file parses flags and dispatches;
// the offline commands live in offline_commands.h, the ones that drive an owner
// agent in online_commands.h, the ones that read and verify a ledger from any
// host or mirror (--from) in server_commands.h, the evidence commands in
// evidence_commands.h, discovery through the DHT (resolve, --from=dht) in
// resolve_commands.h, witness keys and the readers' witness policy in
// witness_commands.h. Single-threaded.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/flags/flag.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/timestamp.h"
#include "serving/command_line.h"
#include "serving/dht_client.h"
#include "serving/repeated_flag.h"
#include "tools/evidence_commands.h"
#include "tools/mirror_commands.h"
#include "tools/offline_commands.h"
#include "tools/online_commands.h"
#include "tools/resolve_commands.h"
#include "tools/server_commands.h"
#include "tools/server_reader.h"
#include "tools/witness_commands.h"

namespace {

// The value a bare --wait_witnessed stands for: the agent's default timeout.
constexpr char kAgentsTimeout[] = "agent";

}  // namespace

ABSL_FLAG(std::string, secret_out, "",
          "keygen: file to create (mode 0600) for the secret key seed");
ABSL_FLAG(uint64_t, blocks, 10, "sample: number of blocks to write");
ABSL_FLAG(std::string, out, "",
          "sample: bundle file to write; witness keygen: key file to create (mode 0600)");
ABSL_FLAG(std::string, name, "",
          "witness keygen: the witness's key name (e.g. witness.example.com/w1; no "
          "spaces, no '+', not starting with jlinx:)");
ABSL_FLAG(std::string, witness, "",
          "verify FILE, verify LEDGER --from: a witness the reader trusts, as its C2SP "
          "verifier key NAME+KEYID+KEY (repeatable, or comma-separated); the "
          "checkpoints verified must carry a quorum of their cosignatures (SPEC §12)");
ABSL_FLAG(int64_t, witness_quorum, 0,
          "with --witness: how many distinct witnesses must have cosigned each "
          "checkpoint (default 0: all of them)");
ABSL_FLAG(absl::Duration, witness_max_age, absl::ZeroDuration(),
          "with --witness: a cosignature older than this (e.g. 24h) does not count "
          "(default 0: no limit); one more than 5 minutes in the future never counts");
ABSL_FLAG(uint64_t, max_line_bytes, microledger::kDefaultMaxBundleLineBytes,
          "verify FILE, and verify and export with --from: the longest bundle line "
          "read; a longer one is a FAIL at its position (the default holds attachments "
          "of up to 12 MiB)");

ABSL_FLAG(std::string, agent, microledger::kDefaultAgentAddress,
          "online commands: the owner agent (ml-owner), HOST:PORT or unix:PATH");
ABSL_FLAG(std::string, token_file, "",
          "online commands: file whose first line is the agent's bearer token, sent "
          "as \"authorization: Bearer <token>\"");
ABSL_FLAG(std::string, agent_tls_ca, "",
          "online commands: PEM CA bundle that signs the agent's certificate; "
          "connects to the agent with TLS (plaintext without it)");
ABSL_FLAG(std::string, host_tls_ca, "",
          "tail through the agent: PEM CA bundle that signs the ledger's host's "
          "certificate; connects to the host with TLS (plaintext without it)");
ABSL_FLAG(int64_t, timeout_seconds, 60,
          "online commands: deadline of each call to the agent, to the --from server or to "
          "the --mirror admin API "
          "(tail -f runs until stopped)");
ABSL_FLAG(std::string, from, "",
          "show, tail, verify LEDGER, export, evidence get: read the ledger from this "
          "host or mirror (HOST:PORT, [IPv6]:PORT or unix:PATH) instead of through the "
          "agent, and verify everything it sends; \"dht\": from the first server the "
          "ledger's locator records in the DHT name that answers (needs --dht_proxy); "
          "mirror follow: the upstream the mirror follows the ledger from (HOST:PORT of "
          "a host or mirror, or dht)");
ABSL_FLAG(std::string, from_tls_ca, "",
          "with --from: PEM CA bundle that signs the server's certificate; connects "
          "with TLS (plaintext without it)");
ABSL_FLAG(std::string, host, "",
          "ledger create, move: HOST:PORT of the host service (default: the agent's "
          "--host for create, the ledger's current host for move)");
ABSL_FLAG(std::string, type, "", "ledger create: the document type (required)");
ABSL_FLAG(std::string, key, "",
          "ledger create: an existing agent key as the signing key (default: a new key)");
ABSL_FLAG(std::string, controllers, "",
          "transfer (required), ledger create (optional): comma-separated owner keys");
ABSL_FLAG(int32_t, threshold, 1,
          "transfer, ledger create: how many of --controllers must sign each block");
ABSL_FLAG(std::string, attach, "",
          "append: comma-separated files to attach; each is sealed in the block "
          "(its digest in \"seals\") and stored by the host");
ABSL_FLAG(std::string, request_id, "",
          "append: an idempotency key (up to 128 bytes, e.g. a UUID): running the same "
          "append again with the same id prints the block the first run committed "
          "instead of appending twice (also after an agent restart)");
ABSL_FLAG(std::string, wait_witnessed, "",
          "append: --wait_witnessed[=TIMEOUT] waits until a quorum of the agent's witnesses "
          "(ml-owner --witness) cosigned a checkpoint covering the block, at most TIMEOUT (a "
          "duration such as 30s; alone: the agent's --witness_timeout_ms), and prints "
          "\"witnessed\" or \"not witnessed: <why>\" on a second line; the block is committed "
          "either way (exit 0)");
ABSL_FLAG(std::string, from_file, "",
          "append: EVENTS.jsonl (or - for stdin), one event per line, appended as "
          "consecutive blocks through one stream; every line is checked before anything "
          "is sent");
ABSL_FLAG(std::string, label, "", "keys create: a label for the new key");
ABSL_FLAG(std::string, to, "",
          "evidence report: the host or mirror (HOST:PORT, [IPv6]:PORT or unix:PATH; TLS "
          "with --from_tls_ca) the evidence is handed to");
ABSL_FLAG(std::string, out_dir, "",
          "evidence get: write each evidence object to DIR/<evidence id>.json instead "
          "of printing it");
ABSL_FLAG(std::string, mirror, "",
          "mirror follow, unfollow, status: the mirror's admin address (its "
          "--admin_listen: unix:PATH, default unix:DATA_DIR/admin/admin.sock, or HOST:PORT)");
ABSL_FLAG(std::string, mode, "",
          "mirror follow: full (default: every block from genesis), tail (from the "
          "upstream's head on) or sparse (blocks fetched when read)");
ABSL_FLAG(bool, drop_data, false,
          "mirror unfollow: also delete the ledger's blocks and proofs at the mirror "
          "(its evidence is kept)");
ABSL_FLAG(std::string, mirror_tls_ca, "",
          "mirror commands: PEM CA bundle that signs the mirror's admin certificate; "
          "connects with TLS (plaintext without it)");
ABSL_FLAG(std::string, mirror_tls_cert, "",
          "mirror commands: PEM client certificate chain for a mutual-TLS admin API "
          "(with --mirror_tls_key and --mirror_tls_ca)");
ABSL_FLAG(std::string, mirror_tls_key, "",
          "mirror commands: PEM private key of --mirror_tls_cert");
ABSL_FLAG(bool, f, false, "tail: follow: keep printing new blocks as they are committed");
ABSL_FLAG(std::string, dht_proxy, "",
          "resolve, --from=dht: the REST proxy of an OpenDHT node (dhtnode --proxyserver "
          "PORT), http://HOST:PORT");
ABSL_FLAG(int64_t, dht_timeout_ms, 5000, "resolve, --from=dht: deadline of the DHT get");
ABSL_FLAG(bool, verbose, false,
          "resolve: also name on stderr each DHT value dropped and why; --from=dht: name "
          "the URL read from and each one that failed");
ABSL_FLAG(uint64_t, start, 0,
          "tail: first block number to print (default: 1, or with -f the block after "
          "the head)");

namespace {

constexpr char kUsage[] =
    R"(mlctl: the Micro Ledger command line.

usage: mlctl [flags] COMMAND [operands]   (flags may also follow the operands)

Offline commands (no agent, no host):
  mlctl canonicalize < in.json > out.json
      JSON on stdin, its RFC 8785 (JCS) bytes on stdout. Bad input: one line on
      stderr, exit 2.
  mlctl keygen --secret_out=FILE
      A new Ed25519 key pair: the public key ("u..." text) on stdout, the secret
      seed written to FILE, created with mode 0600 (never overwritten).
  mlctl verify FILE
      Verifies a ledger bundle (SPEC §8/§9) offline. Prints "OK <ledger> <n>
      blocks" (exit 0) or "FAIL block <k>: <rule>" (exit 1); exit 2 with one line
      on stderr when FILE cannot be read. Shows progress on stderr when stderr is
      a terminal. A line longer than --max_line_bytes (default 16 MiB) is a FAIL
      at its position. An operand that starts with "jlinx:" is a ledger id, not
      a file: see "verify LEDGER" below.
  mlctl verify FILE --witness=VKEY... [--witness_quorum=K] [--witness_max_age=D]
      Also requires witnesses (SPEC §12): every checkpoint in FILE must carry
      valid cosignatures of at least K (default: all) of the witnesses given
      by their C2SP verifier keys (NAME+KEYID+KEY; --witness repeatable),
      each at most D old (e.g. 24h; default no limit) and at most 5 minutes
      in the future, and FILE must hold a checkpoint. Else
      "FAIL block 0: checkpoint: witnessed by 1 of 2 required witnesses", or
      "checkpoint: witness NAME: cosignature does not verify" when a trusted
      witness's line is invalid (the note is rejected, SPEC §7), or
      "checkpoint: none, ..." when there is none. Lines of other witnesses are
      ignored. The same flags apply to verify LEDGER --from=ADDR, which then
      verifies the blocks up to the server's newest witnessed checkpoint
      (GetCheckpoint witnessed; FAILED_PRECONDITION, exit 2, when none is).
  mlctl witness keygen --name=NAME --out=FILE
      A new witness key: writes the private key to FILE (mode 0600, never
      overwritten; one line PRIVATE+KEY+NAME+KEYID+base64(0x04 || seed), the
      --key_file of ml-witness) and prints its C2SP verifier key
      NAME+KEYID+base64(0x04 || public key), which readers pass as --witness.
  mlctl sample --blocks=N --out=FILE
      Writes a valid sample bundle of N blocks, signed with owner and host keys
      generated in this process. For demos, tests and benchmarks: it is NOT the
      two-machine mode.

Online commands (drive the owner agent ml-owner at --agent, default
127.0.0.1:7401 or unix:PATH; --token_file=FILE sends its bearer token;
--agent_tls_ca=PEM verifies the agent's TLS certificate). show, verify LEDGER,
export and tail read through the agent unless --from names a server (below):
  mlctl ledger create --type=TYPE [--host=HOST:PORT] [--key=KEY]
                      [--controllers=KEY,... --threshold=N]
      Creates a ledger ("opened document" genesis, signed by the agent's key and
      the host's key) on the host (default: the agent's --host). Prints the new
      ledger id alone on stdout.
  mlctl ledger list
      The agent's ledgers: "<ledger id> <head number> <host>" per line.
  mlctl append LEDGER [JSON|-] [--attach=FILE,...] [--request_id=ID]
               [--wait_witnessed[=TIMEOUT]]
      Appends an application event: a JSON object with a string member "event"
      (e.g. '{"event":"paid","amount":5}'), from the operand, or from stdin when
      the operand is "-" or missing. --attach seals files in the block. Prints
      the committed block number. With --request_id, a retry (same id, same
      ledger) prints the block the first attempt committed, never appending
      twice. With --wait_witnessed, a second line says "witnessed" (a quorum
      of the agent's witnesses cosigned a checkpoint covering the block within
      TIMEOUT) or "not witnessed: <why>"; exit 0 either way.
  mlctl append LEDGER --from-file=EVENTS.jsonl|-
      Appends one event per line (the JSON above; blank lines skipped) as
      consecutive blocks, streamed to the agent (AppendEvents), every block
      signed by both keys and verified. The whole file is read and each line
      checked first: a malformed line is reported as "line N: ..." (exit 2)
      and nothing is sent. Progress "SENT/TOTAL blocks" on stderr when it is
      a terminal. Prints "appended N blocks FIRST..LAST, head FINGERPRINT". An
      event the agent refuses (e.g. a reserved event name) stops the stream:
      the blocks before it stay appended (the summary counts them), none
      after it is sent, stderr names its line; exit 1.
  mlctl close LEDGER
      Appends "closed document" (terminal: later appends are refused). Prints
      the block number.
  mlctl move LEDGER [--host=HOST:PORT]
      Moves the ledger to a new ledger ("moved document" here, "became
      document" there; default: the same host). Prints the new ledger id.
  mlctl transfer LEDGER --controllers=KEY,KEY,... --threshold=N
      Appends "transferred ownership": later blocks need N of these keys.
      Prints the block number.
  mlctl show LEDGER
      Status, head, controllers, keys held by the agent, latest checkpoint and
      equivocation evidence (if any), human readable.
  mlctl verify LEDGER
      LEDGER starts with "jlinx:": the agent verifies the host's copy (SPEC §8)
      and the SPEC §9 verdict line is printed; exit 0 OK, 1 FAIL.
  mlctl export LEDGER FILE
      Writes the ledger's SPEC §9 bundle to FILE (check it with "mlctl verify
      FILE", anywhere, offline).
  mlctl tail [-f] [--start=N] LEDGER
      One line per block, "<number> <time> <event JSON>", read from the ledger's
      host (its address comes from the agent). Without -f: blocks N (default 1)
      to the head, then exit. With -f: from N (default: the next block) on, as
      they are committed, until the ledger is closed or moved or mlctl is
      stopped. --host_tls_ca=PEM if the host uses TLS.
  mlctl keys create [--label=TEXT]
      A new owner key in the agent's keystore; prints its public key.
  mlctl keys list
      "<key> <label>" per key of the agent's keystore.

Reading without an agent (--from=ADDR: any host or mirror, HOST:PORT,
[IPv6]:PORT or unix:PATH; --from_tls_ca=PEM verifies its TLS certificate).
mlctl trusts the server for nothing: it checks everything the server sends
against the ledger id alone, with the same verifier as "mlctl verify FILE". A
server that cannot be reached or answers an error: one line on stderr, exit 2.
  mlctl verify LEDGER --from=ADDR
      Reads the server's copy (its latest checkpoint, the blocks it covers, the
      attachments of their seals) into a SPEC §9 bundle in memory and verifies
      it: the same verdict line as "mlctl verify FILE"; exit 0 OK, 1 FAIL.
  mlctl export LEDGER FILE --from=ADDR
      The same bundle, written to FILE only when it verifies (otherwise exit 1
      and FILE is not touched). Prints "exported <n> blocks to FILE".
  mlctl show LEDGER --from=ADDR
      The server's summary: status, head, controllers, frozen (with the
      evidence id), the block ranges it holds and the latest checkpoint,
      printed after checking that the checkpoint is signed by the ledger key
      and includes the head block (exit 1 if not). Status, controllers, frozen
      and held are the server's word; "verify LEDGER --from" checks the chain.
  mlctl tail [-f] [--start=N] LEDGER --from=ADDR
      As tail above, from that server. Every block is checked against the
      whole chain (blocks before N are read and checked too) and against the
      checkpoint that comes with it before it is printed; a failure ends tail
      with "mlctl tail: FAIL block <k>: <rule>" on stderr, exit 1.
  mlctl evidence get LEDGER --from=ADDR [--out_dir=DIR]
      The SPEC §11 equivocation evidence the server keeps for the ledger, each
      object checked first (exit 1 if one is not valid evidence of LEDGER):
      its bytes one object per line, or with --out_dir each written to
      DIR/<evidence id>.json and its path printed. Nothing printed: no
      evidence. Any error of the server (also UNIMPLEMENTED): exit 2.

Mirror administration (the MirrorAdmin API of an ml-mirror at --mirror=ADDR,
its --admin_listen address: unix:PATH (default unix:DATA_DIR/admin/admin.sock), a
loopback HOST:PORT, or mutual TLS with --mirror_tls_ca=PEM --mirror_tls_cert=PEM
--mirror_tls_key=PEM). What the mirror reports is printed as it is. Any error
(unreachable mirror, NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, ...):
one line on stderr, exit 2.
  mlctl mirror follow LEDGER --mirror=ADDR --from=UPSTREAM [--mode=MODE]
      The mirror starts following LEDGER from UPSTREAM (HOST:PORT of its host
      or of another mirror, or dht: found through the DHT on every connection,
      which needs ml-mirror --dht_proxy), and keeps following it after a restart. MODE:
      full (default; every block from genesis), tail (from the upstream's
      head on) or sparse (blocks fetched, with proofs, when readers ask).
      Following again with another upstream replaces it; with another mode
      is refused. Prints the ledger's status (as below) at once: it does not
      wait for the mirror to catch up.
  mlctl mirror unfollow LEDGER --mirror=ADDR [--drop_data]
      Stops following; what the mirror verified stays served unless
      --drop_data (evidence is always kept). Prints "unfollowed LEDGER".
  mlctl mirror status [LEDGER] --mirror=ADDR
      One block per ledger the mirror follows or holds (or only LEDGER):
        ledger:      jlinx:...
        upstream:    HOST:PORT
        mode:        full | tail | sparse
        state:       following | connecting | stopped | frozen | closed
        verified:    V of U (lag U-V)   (tree sizes: verified here, upstream's
                                         as last seen by the mirror)
        held:        1-120, ...         (block ranges held, or none)
        last error:  none | MESSAGE (at TIME)
        evidence:    none | EVIDENCE_ID (the ledger is frozen)

Discovery (SPEC §13; --dht_proxy=http://HOST:PORT, the REST proxy of an OpenDHT
node). Only someone who knows the ledger id can find or read its records;
only records signed as SPEC §13 requires and valid evidence count:
  mlctl resolve LEDGER --dht_proxy=URL [--verbose]
      One line per locator record found, in the order its URLs are tried:
      "host|mirror <url>... expires <time> seq <n>"; "evidence <kind> <id>"
      per equivocation evidence object and a line saying the ledger is frozen.
      Exit 0 if anything was found, 1 if not ("no locator record found"), 2
      with one line on stderr if the proxy cannot be reached. --verbose names
      the values dropped (and why) on stderr.
  --from=dht --dht_proxy=URL (show, tail, verify LEDGER, export, evidence get)
      Reads from the first server the ledger's records name that answers
      (grpc://HOST:PORT plaintext, grpcs:// TLS with --from_tls_ca, https://
      skipped), verified exactly as with --from=ADDR. None found or none
      answers: one line on stderr, exit 2.

Equivocation evidence (SPEC §11), handed to a server:
  mlctl evidence report FILE --to=ADDR
      Validates FILE as evidence verify does (exit 1, "INVALID: <reason>", and
      nothing sent if it is not evidence), then hands it to the host or mirror
      at ADDR (ReportEquivocation), which keeps it and freezes the ledger:
      prints "REPORTED <ledger> <kind> <id> frozen", exit 0. A server that
      refuses it (NOT_FOUND: it never held the ledger) or cannot be reached:
      one line on stderr, exit 2.

Equivocation evidence (SPEC §11), offline:
  mlctl evidence verify FILE
      Validates an evidence file: prints "EVIDENCE <ledger> <kind> <id>" (exit
      0) or "INVALID: <reason>" (exit 1); exit 2 with one line on stderr and
      nothing on stdout when FILE cannot be read.

  mlctl help [COMMAND]
      This text, or only the entries of COMMAND (e.g. "mlctl help append").
      "mlctl --help" also lists every flag, "mlctl --version" the version.

Exit codes: 0 done (verify: OK); 1 the agent or host refused the operation
(one line on stderr: gRPC status code and message), verify says FAIL, or what
a --from server sent fails verification; 2 usage error, unreadable file, the
agent or host cannot be reached, a --from server cannot be reached or
answers an error, or any error of a mirror command.)";

int Usage(std::ostream& stream, int exit_code) {
  stream << kUsage << "\n";
  return exit_code;
}

std::vector<std::string> SplitList(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

int UsageError(const std::string& message) {
  std::cerr << "mlctl: " << message << " (see mlctl help)\n";
  return microledger::kExitUsageOrInput;
}

// "mlctl help COMMAND": every entry of the usage text for COMMAND (an entry is
// a line "  mlctl COMMAND ..." and the more indented lines after it).
int CommandUsage(const std::string& command) {
  std::string entries;
  bool in_entry = false;
  for (absl::string_view line : absl::StrSplit(kUsage, '\n')) {
    if (absl::StartsWith(line, "  mlctl ")) {
      const std::vector<absl::string_view> words =
          absl::StrSplit(line.substr(8), absl::ByAnyChar(" ["), absl::SkipEmpty());
      in_entry = !words.empty() && words[0] == command;
    } else if (!absl::StartsWith(line, "    ")) {
      in_entry = false;
    }
    if (in_entry) absl::StrAppend(&entries, line, "\n");
  }
  if (entries.empty()) return UsageError("help: unknown command: " + command);
  std::cout << entries;
  return microledger::kExitOk;
}

// The DHT proxy client of --dht_proxy.
absl::StatusOr<std::unique_ptr<microledger::DhtClient>> DhtFromFlags() {
  const std::string proxy = absl::GetFlag(FLAGS_dht_proxy);
  if (proxy.empty()) return absl::InvalidArgumentError("--dht_proxy=http://HOST:PORT is required");
  absl::StatusOr<std::unique_ptr<microledger::DhtClient>> dht = microledger::NewDhtProxyClient(
      proxy, absl::Milliseconds(std::max<int64_t>(1, absl::GetFlag(FLAGS_dht_timeout_ms))));
  if (!dht.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--dht_proxy: ", dht.status().message()));
  }
  return dht;
}

// `resolve LEDGER` (args[1] the command).
int RunResolveCommand(const std::vector<std::string>& args) {
  if (args.size() != 3 || !absl::StartsWith(args[2], "jlinx:")) {
    return UsageError("resolve takes one LEDGER (a jlinx: id)");
  }
  absl::StatusOr<std::unique_ptr<microledger::DhtClient>> dht = DhtFromFlags();
  if (!dht.ok()) return UsageError(std::string(dht.status().message()));
  return microledger::RunResolve(**dht, args[2], microledger::NowMillis(),
                                 absl::GetFlag(FLAGS_verbose), std::cout, std::cerr);
}

// --from=dht: the reader of the first server the ledger's records name that
// answers.
absl::StatusOr<std::unique_ptr<microledger::ServerReader>> ReaderThroughDht(
    const std::string& ledger, const microledger::ServerOptions& options) {
  absl::StatusOr<std::unique_ptr<microledger::DhtClient>> dht = DhtFromFlags();
  if (!dht.ok()) return dht.status();
  return microledger::ConnectThroughDht(**dht, ledger, options, microledger::NowMillis(),
                                        absl::GetFlag(FLAGS_verbose), std::cerr);
}

// The commands that read from the --from server (args[1] the command, the
// operands after it), without an agent.
int RunFromServer(const std::string& command, const std::vector<std::string>& args,
                  std::shared_ptr<const microledger::WitnessPolicy> witness_policy) {
  using namespace microledger;
  const std::string from = absl::GetFlag(FLAGS_from);
  const size_t operands = args.size() - 2;
  const bool ledger_operand = operands >= 1 && absl::StartsWith(args[2], "jlinx:");
  const bool evidence_get = command == "evidence" && operands == 2 && args[2] == "get" &&
                            absl::StartsWith(args[3], "jlinx:");
  const bool known = ((command == "verify" || command == "show" || command == "tail") &&
                      operands == 1 && ledger_operand) ||
                     (command == "export" && operands == 2 && ledger_operand) ||
                     evidence_get;
  if (!known) {
    return UsageError(
        "--from applies to show LEDGER, tail LEDGER, verify LEDGER, export LEDGER FILE "
        "and evidence get LEDGER (LEDGER a jlinx: id), not to: " + command);
  }
  if (absl::c_all_of(from, [](char c) { return absl::ascii_isdigit(c); })) {
    return UsageError("--from=" + from +
                      ": --from is the server's address (HOST:PORT or unix:PATH); tail's "
                      "first block number is --start=N");
  }
  ServerOptions options;
  options.address = from;
  options.tls_ca_file = absl::GetFlag(FLAGS_from_tls_ca);
  options.timeout_seconds = absl::GetFlag(FLAGS_timeout_seconds);
  const std::string& ledger = evidence_get ? args[3] : args[2];
  absl::StatusOr<std::unique_ptr<ServerReader>> reader =
      from == "dht" ? ReaderThroughDht(ledger, options) : ServerReader::Create(options);
  if (!reader.ok()) {
    if (from != "dht") return UsageError(std::string(reader.status().message()));
    std::cerr << "mlctl " << command << ": " << reader.status().message() << "\n";
    return kExitUsageOrInput;
  }
  ServerReader& server = **reader;
  if (evidence_get) {
    return RunEvidenceGet(server, ledger, absl::GetFlag(FLAGS_out_dir), std::cout, std::cerr);
  }
  const size_t max_line_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_line_bytes));
  if (command == "verify") {
    return RunServerVerify(server, ledger, max_line_bytes, std::cout, std::cerr,
                           std::move(witness_policy));
  }
  if (command == "export") {
    return RunServerExport(server, ledger, args[3], max_line_bytes, std::cout, std::cerr);
  }
  if (command == "show") return RunServerShow(server, ledger, std::cout, std::cerr);
  return RunServerTail(server, ledger, absl::GetFlag(FLAGS_f), absl::GetFlag(FLAGS_start),
                       std::cout, std::cerr);
}

// `witness keygen` (args[1] == "witness").
int RunWitness(const std::vector<std::string>& args) {
  if (args.size() != 3 || args[2] != "keygen") {
    return UsageError("witness takes keygen (with --name=NAME --out=FILE)");
  }
  return microledger::RunWitnessKeygen(absl::GetFlag(FLAGS_name), absl::GetFlag(FLAGS_out),
                                       std::cout, std::cerr);
}

// `mirror follow|unfollow|status` (args[1] == "mirror").
int RunMirror(const std::vector<std::string>& args) {
  using namespace microledger;
  const size_t operands = args.size() - 2;
  const std::string sub = operands >= 1 ? args[2] : "";
  const bool ledger_operand = operands == 2 && absl::StartsWith(args[3], "jlinx:");
  const std::string from = absl::GetFlag(FLAGS_from);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const bool drop_data = absl::GetFlag(FLAGS_drop_data);
  if (sub == "follow") {
    if (!ledger_operand) return UsageError("mirror follow takes one LEDGER (a jlinx: id)");
    if (from.empty()) {
      return UsageError("mirror follow needs --from=HOST:PORT, the upstream host or mirror");
    }
    if (drop_data) return UsageError("--drop_data applies to mirror unfollow only");
  } else if (sub == "unfollow") {
    if (!ledger_operand) return UsageError("mirror unfollow takes one LEDGER (a jlinx: id)");
  } else if (sub == "status") {
    if (operands > 2 || (operands == 2 && !ledger_operand)) {
      return UsageError("mirror status takes at most one LEDGER (a jlinx: id)");
    }
  } else {
    return UsageError("mirror takes follow, unfollow or status, not: " + sub);
  }
  if (sub != "follow" && (!from.empty() || !mode.empty())) {
    return UsageError("--from and --mode apply to mirror follow only");
  }
  if (sub == "status" && drop_data) {
    return UsageError("--drop_data applies to mirror unfollow only");
  }
  if (sub == "follow") {
    if (absl::StatusOr<microledger::v1::MirrorMode> parsed = ParseMirrorMode(mode);
        !parsed.ok()) {
      return UsageError(std::string(parsed.status().message()));
    }
  }
  MirrorAdminOptions options;
  options.address = absl::GetFlag(FLAGS_mirror);
  options.tls_ca_file = absl::GetFlag(FLAGS_mirror_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_mirror_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_mirror_tls_key);
  options.timeout_seconds = absl::GetFlag(FLAGS_timeout_seconds);
  absl::StatusOr<std::unique_ptr<MirrorAdminClient>> client = MirrorAdminClient::Create(options);
  if (!client.ok()) return UsageError(std::string(client.status().message()));
  const std::string ledger = operands == 2 ? args[3] : "";
  if (sub == "follow") {
    return RunMirrorFollow(**client, ledger, from, mode, std::cout, std::cerr);
  }
  if (sub == "unfollow") {
    return RunMirrorUnfollow(**client, ledger, drop_data, std::cout, std::cerr);
  }
  return RunMirrorStatus(**client, ledger, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "mlctl_main");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  // --wait_witnessed alone takes no value (Abseil would take the next
  // argument as one): it stands for the agent's default timeout.
  // --from-file (as the help spells it) is the flag --from_file.
  std::vector<char*> given(argv, argv + argc);
  std::string bare_wait = std::string("--wait_witnessed=") + kAgentsTimeout;
  std::vector<std::string> from_file_args;
  from_file_args.reserve(argc);
  for (char*& arg : given) {
    const absl::string_view view(arg);
    if (view == "--wait_witnessed" || view == "-wait_witnessed") {
      arg = bare_wait.data();
    } else if (absl::StartsWith(view, "--from-file")) {
      from_file_args.push_back(absl::StrCat("--from_file", view.substr(11)));
      arg = from_file_args.back().data();
    }
  }
  std::vector<char*> raw_args = microledger::ParseCommandLineWithHelp(
      argc, given.data(), {"mlctl", kUsage, {"tools/mlctl_main.cc"}});
  // Debian's Abseil runs mutex deadlock detection in every build (a graph
  // update on each lock); the verifier's work pool locks per bundle line.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(raw_args.begin(), raw_args.end());
  if (args.size() < 2) return Usage(std::cerr, microledger::kExitUsageOrInput);
  const std::string command = args[1];
  const size_t operands = args.size() - 2;
  using namespace microledger;
  if (command == "help" && operands == 0) return Usage(std::cout, kExitOk);
  if (command == "help") return CommandUsage(args[2]);
  absl::StatusOr<std::shared_ptr<const WitnessPolicy>> witness_policy =
      WitnessPolicyFromFlags(RepeatedFlagValues(argc, argv, "witness"),
                             absl::GetFlag(FLAGS_witness_quorum),
                             absl::GetFlag(FLAGS_witness_max_age));
  if (!witness_policy.ok()) return UsageError(std::string(witness_policy.status().message()));
  const bool online_verify =
      command == "verify" && operands == 1 && absl::StartsWith(args[2], "jlinx:");
  if (*witness_policy != nullptr &&
      (command != "verify" || (online_verify && absl::GetFlag(FLAGS_from).empty()))) {
    return UsageError(
        "--witness applies to verify FILE and verify LEDGER --from=ADDR only (the agent's "
        "verify LEDGER does not take a witness policy)");
  }
  if (command == "witness") return RunWitness(args);
  if (command == "mirror") return RunMirror(args);
  if (command == "resolve") return RunResolveCommand(args);
  if (!absl::GetFlag(FLAGS_from).empty()) {
    return RunFromServer(command, args, *std::move(witness_policy));
  }
  if (command == "canonicalize" && operands == 0) {
    return RunCanonicalize(std::cin, std::cout, std::cerr);
  }
  if (command == "keygen" && operands == 0) {
    return RunKeygen(absl::GetFlag(FLAGS_secret_out), std::cout, std::cerr);
  }
  if (command == "evidence" && operands == 2 && args[2] == "verify") {
    return RunEvidenceVerify(args[3], std::cout, std::cerr);
  }
  if (command == "evidence" && operands == 2 && args[2] == "report") {
    if (absl::GetFlag(FLAGS_to).empty()) {
      return UsageError("evidence report FILE needs --to=ADDR, the host or mirror");
    }
    ServerOptions options;
    options.address = absl::GetFlag(FLAGS_to);
    options.tls_ca_file = absl::GetFlag(FLAGS_from_tls_ca);
    options.timeout_seconds = absl::GetFlag(FLAGS_timeout_seconds);
    absl::StatusOr<std::unique_ptr<ServerReader>> server = ServerReader::Create(options);
    if (!server.ok()) return UsageError(std::string(server.status().message()));
    return RunEvidenceReport(**server, args[3], std::cout, std::cerr);
  }
  if (command == "evidence") {
    return UsageError(
        "evidence get LEDGER needs --from=ADDR; evidence verify takes one FILE; evidence "
        "report FILE needs --to=ADDR");
  }
  if (command == "verify" && operands == 1 && !online_verify) {
    return RunVerify(args[2], isatty(STDERR_FILENO) == 1, std::cout, std::cerr,
                     static_cast<size_t>(absl::GetFlag(FLAGS_max_line_bytes)),
                     *std::move(witness_policy));
  }
  if (command == "sample" && operands == 0) {
    return RunSample(absl::GetFlag(FLAGS_blocks), absl::GetFlag(FLAGS_out),
                     std::cout, std::cerr);
  }

  // Online commands: check the operands before touching the agent.
  const std::string sub = operands >= 1 ? args[2] : "";
  const bool known =
      online_verify || (command == "ledger" && operands == 1 && (sub == "create" || sub == "list")) ||
      (command == "keys" && operands == 1 && (sub == "create" || sub == "list")) ||
      (command == "append" && (operands == 1 || operands == 2)) ||
      ((command == "close" || command == "move" || command == "transfer" ||
        command == "show" || command == "tail") &&
       operands == 1) ||
      (command == "export" && operands == 2);
  if (!known) return UsageError("unknown command or wrong operands: " + command);
  AgentOptions options;
  options.address = absl::GetFlag(FLAGS_agent);
  options.token_file = absl::GetFlag(FLAGS_token_file);
  options.agent_tls_ca_file = absl::GetFlag(FLAGS_agent_tls_ca);
  options.host_tls_ca_file = absl::GetFlag(FLAGS_host_tls_ca);
  options.timeout_seconds = absl::GetFlag(FLAGS_timeout_seconds);
  absl::StatusOr<std::unique_ptr<AgentClient>> client = AgentClient::Create(options);
  if (!client.ok()) return UsageError(std::string(client.status().message()));
  AgentClient& agent = **client;
  const std::vector<std::string> controllers = SplitList(absl::GetFlag(FLAGS_controllers));
  const int threshold = absl::GetFlag(FLAGS_threshold);

  if (online_verify) return RunVerifyLedger(agent, args[2], std::cout, std::cerr);
  if (command == "ledger" && sub == "create") {
    return RunLedgerCreate(agent, absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_type),
                           absl::GetFlag(FLAGS_key), controllers, threshold, std::cout,
                           std::cerr);
  }
  if (command == "ledger") return RunLedgerList(agent, std::cout, std::cerr);
  if (command == "keys" && sub == "create") {
    return RunKeysCreate(agent, absl::GetFlag(FLAGS_label), std::cout, std::cerr);
  }
  if (command == "keys") return RunKeysList(agent, std::cout, std::cerr);
  if (command == "append" && !absl::GetFlag(FLAGS_from_file).empty()) {
    if (operands != 1 || !absl::GetFlag(FLAGS_attach).empty() ||
        !absl::GetFlag(FLAGS_request_id).empty() || !absl::GetFlag(FLAGS_wait_witnessed).empty()) {
      return UsageError(
          "append LEDGER --from-file=FILE takes no event operand, --attach, --request_id or "
          "--wait_witnessed");
    }
    const std::string path = absl::GetFlag(FLAGS_from_file);
    const bool progress = isatty(STDERR_FILENO) == 1;
    if (path == "-") {
      return RunAppendFromFile(agent, sub, std::cin, "-", progress, std::cout, std::cerr);
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) return UsageError("append: --from-file: cannot open " + path);
    return RunAppendFromFile(agent, sub, file, path, progress, std::cout, std::cerr);
  }
  if (command == "append") {
    std::string json;
    if (operands == 2 && args[3] != "-") {
      json = args[3];
    } else {
      json.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      if (std::cin.bad()) return UsageError("append: cannot read standard input");
    }
    std::optional<absl::Duration> wait_witnessed;
    if (const std::string wait = absl::GetFlag(FLAGS_wait_witnessed); wait == kAgentsTimeout) {
      wait_witnessed = absl::ZeroDuration();
    } else if (!wait.empty()) {
      absl::Duration timeout;
      if (!absl::ParseDuration(wait, &timeout) || timeout <= absl::ZeroDuration()) {
        return UsageError("append: --wait_witnessed=TIMEOUT needs a positive duration such as 30s");
      }
      wait_witnessed = timeout;
    }
    return RunAppend(agent, sub, json, SplitList(absl::GetFlag(FLAGS_attach)), std::cout,
                     std::cerr, absl::GetFlag(FLAGS_request_id), wait_witnessed);
  }
  if (command == "close") return RunClose(agent, sub, std::cout, std::cerr);
  if (command == "move") {
    return RunMove(agent, sub, absl::GetFlag(FLAGS_host), std::cout, std::cerr);
  }
  if (command == "transfer") {
    return RunTransfer(agent, sub, controllers, threshold, std::cout, std::cerr);
  }
  if (command == "show") return RunShow(agent, sub, std::cout, std::cerr);
  if (command == "export") return RunExport(agent, sub, args[3], std::cout, std::cerr);
  // tail
  return RunTail(agent, sub, absl::GetFlag(FLAGS_f), absl::GetFlag(FLAGS_start), std::cout,
                 std::cerr);
}
