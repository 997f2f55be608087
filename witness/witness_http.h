// ml-witness's HTTP edge (SPEC §12, C2SP tlog-witness), with the prefix at
// the root:
//   POST /add-checkpoint           the body of add_checkpoint_request.h; the
//                                  answer of witness.h, byte-exact: 200 with
//                                  the cosignature line, 409 with "<size>\n" as
//                                  text/x.tlog.size, 422 "frozen <id>\n" for a
//                                  frozen ledger, 400/403/404/422 with a short
//                                  reason, 429 when a client limit refuses it
//   GET /<origin hash>/checkpoint  the latest cosigned note (404 if none)
//   GET /<origin hash>/evidence    the evidence objects, each JCS + "\n" (404 if none)
// where the origin hash is the lowercase hex SHA-256 of the ledger id.
// Larger bodies than the server's limit are answered 413 by the HTTP server.
//
// Thread safety: the handlers are thread-safe; the witness, the limiters and
// the metrics must outlive the server's serving.
#ifndef MICROLEDGER_WITNESS_WITNESS_HTTP_H_
#define MICROLEDGER_WITNESS_WITNESS_HTTP_H_

#include "serving/http_server.h"
#include "witness/client_limits.h"
#include "witness/witness.h"
#include "witness/witness_metrics.h"

namespace microledger {

// The 409 answer's Content-Type (C2SP tlog-witness).
inline constexpr char kTlogSizeContentType[] = "text/x.tlog.size";

// Registers the three handlers on `server` (before it starts). `metrics` may
// be null.
void RegisterWitnessHttp(HttpServer& server, Witness* witness, ClientLimits limits,
                         WitnessMetrics* metrics);

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_WITNESS_HTTP_H_
