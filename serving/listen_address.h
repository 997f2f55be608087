// The address a server listens on, parsed strictly from a --listen (or
// --admin_listen, ...) value before anything binds, so that a typo fails with
// a clear message instead of gRPC's own interpretation (an out-of-range port
// wrapping to another one, a name resolved to whatever it resolves to today):
//   HOST:PORT  HOST is a DNS name, an IPv4 dotted quad or an IPv6 address in
//              brackets ([::1]); PORT is decimal digits, 0..65535 (0 = any free
//              port). Nothing is resolved here.
//   unix:PATH  a Unix domain socket at PATH (at most 107 bytes).
// Thread-safe (pure functions).
#ifndef MICROLEDGER_SERVING_LISTEN_ADDRESS_H_
#define MICROLEDGER_SERVING_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {

struct ListenAddress {
  enum class Kind { kTcp, kUnix };
  enum class HostForm { kName, kIpv4, kIpv6 };

  Kind kind = Kind::kTcp;
  // kTcp only: the host as written (without the brackets of an IPv6 address),
  // which form it has, and the port.
  std::string host;
  HostForm host_form = HostForm::kName;
  int port = 0;
  // kUnix only: the socket's file system path.
  std::string path;
};

// InvalidArgument naming what is wrong: "listen address INPUT: WHY" (the
// input quoted, at most ~200 bytes). The message names no flag; a caller that
// read the address from one may prefix it.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen);

// True for "unix:PATH", a literal 127.0.0.0/8 address and [::1]; false for
// names (localhost included: nothing is resolved) and for text that is not a
// valid listen address.
bool IsLocalListenAddress(absl::string_view listen);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_LISTEN_ADDRESS_H_
