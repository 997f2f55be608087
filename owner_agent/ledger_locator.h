// Internal to owner_agent/: where the DHT says a ledger is served (SPEC §13),
// for the agent's failover when a ledger's recorded host is unreachable
// (ml-owner --dht_proxy). Gets the values under the ledger's DHT key through
// a DhtClient, keeps what the reader's rules of common/locator.h keep
// (ResolveLocatorValues: verified records, newest per signer) and turns the
// records' URLs into addresses for the agent's host channels, which are all
// plaintext or all TLS: grpc://HOST:PORT URLs when the agent talks plaintext
// to hosts, grpcs://HOST:PORT ones when it talks TLS (--host_tls_ca); other
// URLs (https://, the other gRPC scheme) are skipped. Nothing found is
// trusted: the caller verifies each server as it verifies a host.
//
// Thread-safe (the DhtClient is; the locator keeps no state of its own).
#ifndef MICROLEDGER_OWNER_AGENT_LEDGER_LOCATOR_H_
#define MICROLEDGER_OWNER_AGENT_LEDGER_LOCATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/locator.h"
#include "serving/dht_client.h"

namespace microledger {

// A failure after which the agent looks elsewhere for a ledger's copy (its
// mirrors, the DHT): the server cannot be reached (UNAVAILABLE) or did not
// answer in time (DEADLINE_EXCEEDED).
bool ServerUnreachable(const absl::Status& status);

struct LocatedServer {
  std::string address;  // HOST:PORT
  LocatorRole role = LocatorRole::kHost;
};

class LedgerLocator {
 public:
  // `tls`: the agent's host channels use TLS.
  LedgerLocator(std::shared_ptr<DhtClient> dht, bool tls) : dht_(std::move(dht)), tls_(tls) {}

  // The servers the ledger's records name, in the reader's order (host
  // records first), each address once. Unavailable when the DHT proxy cannot
  // be reached or refuses (its message never names the ledger);
  // InvalidArgument for a text that is not a ledger id.
  absl::StatusOr<std::vector<LocatedServer>> Locate(const std::string& ledger_id) const;

 private:
  const std::shared_ptr<DhtClient> dht_;
  const bool tls_;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_LEDGER_LOCATOR_H_
