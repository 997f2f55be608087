// A small HTTP/1.1 client (libcurl) for the services' outgoing requests: the
// DHT proxy (dht_client.h) and witnesses (witness_client.h). Every request has
// one deadline (connecting included), reads at most a bounded answer, ignores
// HTTP proxies named in the environment (http_proxy, ...), and reuses idle
// connections (a few easy handles kept). Errors never quote the URL's path,
// so callers may log them without naming what the path names (a ledger).
//
// Thread safety: thread-safe; requests from several threads run in parallel.
#ifndef MICROLEDGER_SERVING_HTTP_CLIENT_H_
#define MICROLEDGER_SERVING_HTTP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace microledger {

struct HttpClientOptions {
  // Deadline of each request, connecting included; positive.
  absl::Duration timeout = absl::Seconds(10);
  // Most bytes of an answer's body read; the rest is cut (HttpAnswer::cut).
  size_t max_answer_bytes = 16 << 20;
  // The URL schemes allowed, as libcurl's CURLOPT_PROTOCOLS_STR ("http",
  // "http,https").
  std::string protocols = "http";
};

struct HttpAnswer {
  long status = 0;
  std::string content_type;  // Empty when the answer has none.
  std::string body;
  bool cut = false;  // The body was cut at max_answer_bytes.
};

class HttpClient {
 public:
  // InternalError when libcurl cannot be initialized; InvalidArgument for a
  // timeout that is not positive.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

  // A POST of `body` with `content_type` when `body` is set, else a GET. The
  // answer whatever its HTTP status; Unavailable when there is none (no
  // connection, a timeout, a broken answer), with libcurl's reason.
  absl::StatusOr<HttpAnswer> Call(const std::string& url,
                                  const std::optional<std::string>& body,
                                  absl::string_view content_type = "") const;

 private:
  class HandlePool;
  HttpClient(HttpClientOptions options, std::unique_ptr<HandlePool> pool);

  const HttpClientOptions options_;
  const std::unique_ptr<HandlePool> pool_;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_HTTP_CLIENT_H_
