// gzip (RFC 1952) encoding of HTTP answer bodies, with zlib, for answers the
// HTTP server does not compress itself (cpp-httplib compresses only text-like
// content types): the block bundles of the HTTP read API
// (ledger_store/http_read_api.h), which C2SP tlog-tiles says should be
// compressed, and whether a request accepts gzip.
//
// Thread-safe: pure functions.
#ifndef MICROLEDGER_SERVING_GZIP_H_
#define MICROLEDGER_SERVING_GZIP_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {

// `data` gzip-encoded at zlib's default level. Internal error only if zlib
// fails (out of memory).
absl::StatusOr<std::string> GzipEncode(absl::string_view data);

// Whether an Accept-Encoding header value accepts gzip: it names "gzip" (or
// "*") with a q-value that is not 0.
bool AcceptsGzip(absl::string_view accept_encoding);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_GZIP_H_
