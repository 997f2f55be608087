// The HTTP read API of a ledger store, shared by ml-host and ml-mirror
// (`--http_listen`): every ledger readable by any HTTP client — a browser, a
// CDN, curl — as static, cacheable resources laid out like C2SP tlog-tiles
// (https://c2sp.org/tlog-tiles), plus the web page that verifies a ledger in
// the browser. Under /<ledger id>/:
//
//   checkpoint                 the latest signed checkpoint (SPEC §7), with
//                              the witnesses' cosignature lines (SPEC §12)
//                              when a quorum of the host's witnesses cosigned
//                              it; text/plain
//   tile/<L>/<N>[.p/<W>]       Merkle tiles exactly as tlog-tiles lays them
//                              out (common/tile_path.h); application/octet-stream
//   blocks/<N>[.p/<W>]         the blocks N*256+1 .. N*256+W (W = 256 when
//                              full) as SPEC §9 block lines ({"block":<JCS>}
//                              + "\n"), aligned like tlog-tiles entry
//                              bundles; application/jsonl, gzip-encoded for
//                              clients that accept it (tlog-tiles: bundles
//                              should be compressed)
//   attachment/<seal>          an attachment's bytes (SPEC §6);
//                              application/octet-stream
//
// and the web page's files (serving/static_files.h) at their paths, the first
// one at "/" too. Resources a tree of the committed head does not hold (yet),
// unknown and forgotten ledgers answer 404; there is no listing of ledgers.
//
// Caching: full tiles, full block bundles and attachments never change:
// "Cache-Control: public, max-age=31536000, immutable"; the checkpoint and
// partial tiles and bundles are short-lived ("public, max-age=2"); the page's
// files are revalidated ("no-cache"); errors are not stored ("no-store").
// Every 200 carries a strong ETag (a digest of the body) and a matching
// If-None-Match is answered 304. Every answer carries
// "Access-Control-Allow-Origin: *" (CORS: any page may read any ledger) and
// "X-Content-Type-Options: nosniff"; the page's HTML a Content-Security-Policy
// that lets it fetch from any origin and run only its own scripts.
//
// Answers that never change are kept in memory (immutable_answer_cache.h),
// served after checking that their ledger is still there.
//
// Limits: a path longer than max_path_bytes is answered 414; each client IP
// address has a token bucket of requests (429 with Retry-After when empty).
//
// Thread safety: thread-safe; `reader` and `registry` must outlive the API
// and the server it is registered on.
#ifndef MICROLEDGER_LEDGER_STORE_HTTP_READ_API_H_
#define MICROLEDGER_LEDGER_STORE_HTTP_READ_API_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger_store/immutable_answer_cache.h"
#include "ledger_store/ledger_reader.h"
#include "serving/client_rate_limiter.h"
#include "serving/http_server.h"
#include "serving/metrics.h"
#include "serving/static_files.h"

namespace microledger {

struct HttpReadApiOptions {
  size_t max_path_bytes = 512;
  // Per client IP address; per_second 0 = unlimited.
  RateLimit client_requests{/*per_second=*/500, /*burst=*/1000};
  // Memory for answers that never change (immutable_answer_cache.h).
  size_t cache_bytes = size_t{32} << 20;
};

class HttpReadApi {
 public:
  // `registry` (may be null) gets PREFIX_http_reads_total{resource,code},
  // `metrics_prefix` being "microledger_host_" or "microledger_mirror_".
  HttpReadApi(const LedgerReader* reader, std::vector<StaticFile> page_files,
              HttpReadApiOptions options, MetricsRegistry* registry = nullptr,
              const std::string& metrics_prefix = "");
  HttpReadApi(const HttpReadApi&) = delete;
  HttpReadApi& operator=(const HttpReadApi&) = delete;

  // Registers the page's files and every ledger path on `server` (before
  // HttpServer::Start).
  void Register(HttpServer& server);

  // The answer to a GET (or HEAD) of `request`.
  HttpResponse Answer(const HttpRequest& request) const;

 private:
  // What a request read, for the metric's `resource` label.
  enum class Resource { kPage, kCheckpoint, kTile, kBlocks, kAttachment, kOther };

  using AnswerReader = std::function<absl::StatusOr<std::shared_ptr<const ImmutableAnswer>>()>;

  HttpResponse AnswerLedgerPath(const HttpRequest& request, Resource& resource) const;
  // The answer at `key` ("<ledger id>/<resource path>"): from the cache when
  // `complete` (the resource never changes) and kept, else from `read` (and
  // then kept when complete).
  HttpResponse Immutable(const HttpRequest& request, absl::string_view ledger_id,
                         absl::string_view key, bool complete, absl::string_view content_type,
                         const AnswerReader& read) const;
  void Count(Resource resource, int status) const;

  const LedgerReader* const reader_;
  const std::vector<StaticFile> page_files_;
  std::vector<std::shared_ptr<const ImmutableAnswer>> page_answers_;  // ETags computed once.
  const HttpReadApiOptions options_;
  std::unique_ptr<ClientRateLimiter> limiter_;  // Null: unlimited.
  mutable ImmutableAnswerCache cache_;
  CounterFamily* const reads_;                  // Null: not counted.
};

// The HTTP read API on its own listener, for the --http_listen flag of
// ml-host and ml-mirror.
struct HttpReadServer {
  std::unique_ptr<HttpReadApi> api;
  std::unique_ptr<HttpServer> server;
};

// Starts serving `reader` on `listen` with `threads` worker threads and
// prints one start line on stderr, "PROGRAM: HTTP read API on
// http://HOST:PORT/" (port 0 resolved), which tests and scripts parse.
// Errors as HttpServer::Start, the message prefixed with the flag name.
absl::StatusOr<HttpReadServer> StartHttpReadServer(
    const std::string& program, const std::string& listen, int threads,
    const LedgerReader* reader, std::vector<StaticFile> page_files,
    HttpReadApiOptions options, MetricsRegistry* registry, const std::string& metrics_prefix);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_HTTP_READ_API_H_
