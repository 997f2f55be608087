// The DHT as our services and mlctl see it: put a value under a key and get
// the values stored under a key. The DHT is OpenDHT, run as Debian's
// `dhtnode` process with its REST proxy (`--proxyserver PORT`); we talk to
// that proxy over HTTP (libcurl) and never link OpenDHT (GPL-3). Keys are
// OpenDHT InfoHashes (40 lowercase hex characters); values are opaque bytes
// (SPEC §13 value data) with a 64-bit value id.
//
// Implementations: NewDhtProxyClient (HTTP, the real one) and NewMemoryDht
// (in-process, for unit tests: a map, values kept until the process ends).
// Both reject a key that is not 40 lowercase hex characters (InvalidArgument)
// and never put a key or a value into an error message, so that callers may
// log errors without revealing which ledger they concern.
//
// Thread safety: implementations are thread-safe.
#ifndef MICROLEDGER_SERVING_DHT_CLIENT_H_
#define MICROLEDGER_SERVING_DHT_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace microledger {

class DhtClient {
 public:
  virtual ~DhtClient() = default;
  // Stores `value` under `key_hex` with OpenDHT value id `value_id` (type 0);
  // a value with the same key and id replaces the one stored. Unavailable
  // when the proxy cannot be reached or refuses the put (OpenDHT refuses while
  // its node has no peers).
  virtual absl::Status Put(absl::string_view key_hex, absl::string_view value,
                           uint64_t value_id) = 0;
  // The values found under `key_hex` (possibly none). Unavailable when the
  // proxy cannot be reached; values the proxy returns that are not
  // well-formed are skipped.
  virtual absl::StatusOr<std::vector<std::string>> Get(absl::string_view key_hex) = 0;
};

// `proxy_url` is the REST proxy's base URL, "http://HOST:PORT" (no path;
// HOST a DNS name, IPv4 address or bracketed IPv6 address). Every request has
// `timeout` (connecting included). InvalidArgument for a URL that is not of
// that form or a timeout that is not positive. HTTP proxies named in the
// environment (http_proxy, ...) are not used. Connections are kept alive and
// reused by later calls.
absl::StatusOr<std::unique_ptr<DhtClient>> NewDhtProxyClient(absl::string_view proxy_url,
                                                             absl::Duration timeout);

std::unique_ptr<DhtClient> NewMemoryDht();

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_DHT_CLIENT_H_
