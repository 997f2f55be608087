// Discovery in mlctl (SPEC §13): `mlctl resolve LEDGER --dht_proxy=URL` lists
// what the DHT says about a ledger, and `--from=dht` lets every read command
// (show, tail, verify LEDGER, export, evidence get) find its server there.
// Both get the values under the ledger's DHT key through a DhtClient (the
// REST proxy of an OpenDHT node) and apply the reader's rules of
// common/locator.h (ResolveLocatorValues): only verified locator records and
// valid evidence are used, in the reader's URL order. Nothing a record says
// is trusted beyond that: whatever the chosen server sends is verified by the
// read command as with --from=ADDR. Like the other command files, each
// command takes its streams and returns the process exit code.
//
// Thread-safety: the functions use their DhtClient from the calling thread.
#ifndef MICROLEDGER_TOOLS_RESOLVE_COMMANDS_H_
#define MICROLEDGER_TOOLS_RESOLVE_COMMANDS_H_

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "serving/dht_client.h"
#include "tools/server_reader.h"

namespace microledger {

// `resolve LEDGER`: gets the values under the ledger's DHT key and applies
// the reader's rules at `now_millis`. Prints one line per record kept, in
// the order its URLs are tried: "<role> <url> [<url>...] expires <time> seq
// <seq>" (role host or mirror), one line "evidence <kind> <id>" per valid
// evidence object and then, if there is any, one line saying the ledger is
// frozen. With `verbose` each value dropped is named on `err` ("dropped:
// <reason>"); otherwise dropped values are never mentioned. Exit 0 when a
// record or evidence was found; 1 when none was ("mlctl resolve: no locator
// record found" on `err`); 2 with one line on `err` when the ledger id is not
// one or the proxy cannot be reached or refuses.
int RunResolve(DhtClient& dht, const std::string& ledger_id, int64_t now_millis, bool verbose,
               std::ostream& out, std::ostream& err);

// A locator URL as a gRPC target: HOST:PORT of a grpc:// (plaintext) or
// grpcs:// (TLS) URL; nullopt for any other (https:// names an HTTP read
// API, not a gRPC server). `url` is one ResolveLocatorValues kept.
struct GrpcTarget {
  std::string address;
  bool tls = false;
};
std::optional<GrpcTarget> GrpcTargetOf(const std::string& url);

// `--from=dht`: resolves the ledger at `now_millis` and tries its gRPC URLs
// in the reader's order (grpcs:// with `base.tls_ca_file`, else gRPC's
// default roots; https:// skipped); the reader of the first server that
// accepts a connection (within min(base.timeout_seconds, 10 s)), with
// `base`'s deadlines. With `verbose` the URL chosen and each one that failed
// are named on `err`. InvalidArgument for a ledger id that is not one;
// Unavailable when the proxy cannot be reached; NotFound when the DHT names
// no gRPC server of the ledger; Unavailable naming every URL tried and why
// (an unreadable CA file included) when none answers.
absl::StatusOr<std::unique_ptr<ServerReader>> ConnectThroughDht(DhtClient& dht,
                                                                const std::string& ledger_id,
                                                                const ServerOptions& base,
                                                                int64_t now_millis, bool verbose,
                                                                std::ostream& err);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_RESOLVE_COMMANDS_H_
