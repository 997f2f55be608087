// The one HTTP server of the Micro Ledger services: it serves /metrics
// (serving/metrics_http.h), the witness protocol (witness/witness_http.h) and
// the HTTP read API with its web page (ledger_store/http_read_api.h), so
// handlers are registered by method and path. A path is literal except for
// segments written "*", each of which matches one non-empty path segment of
// letters, digits, '_' and '-' (handed to the handler in
// HttpRequest::path_parameters); HandleGetUnder matches every path under a
// prefix. Handlers are tried in the order they were registered. A GET handler
// also answers HEAD (the same headers, no body).
//
// Built on cpp-httplib (Debian's libcpp-httplib-dev): MIT licence, packaged by
// Debian (nothing vendored or downloaded), small (one header and a small
// shared library), and a thread-pool server (a fixed number of worker
// threads, so a burst of scrapes cannot start threads without bound).
//
// Listening follows the rules of the gRPC listen addresses
// (serving/listen_address.h): HOST:PORT parsed strictly, port 0 picks a free
// port (port() says which), and the port is bound exclusively (SO_REUSEADDR
// only, never httplib's default SO_REUSEPORT), so a busy port is refused
// instead of shared. unix:PATH is refused: plain HTTP is served on TCP only.
//
// Thread safety: Handle* and Start are called before serving, from one
// thread; Stop (also run by the destructor) from that thread too. Handlers run
// concurrently on the worker threads and must be thread-safe. Threads are
// started by Start, so they inherit the caller's signal mask (see
// BlockStopSignals in serving/grpc_server.h).
#ifndef MICROLEDGER_SERVING_HTTP_SERVER_H_
#define MICROLEDGER_SERVING_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace httplib {
class Server;
}

namespace microledger {

struct HttpRequest {
  std::string path;
  // What the "*" segments of the registered path matched, in order.
  std::vector<std::string> path_parameters;
  // The client's IP address, without its port.
  std::string remote_address;
  std::multimap<std::string, std::string> query;  // Decoded query parameters.
  // Request headers, names in lower case.
  std::multimap<std::string, std::string> headers;
  std::string body;

  // The first value of header `lower_case_name`; empty when absent.
  std::string Header(const std::string& lower_case_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Further response headers (Content-Type is set from content_type).
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  int worker_threads = 2;
  // Larger request bodies are answered 413.
  size_t max_request_body_bytes = 1 << 20;
  // Per socket read and write timeouts.
  int io_timeout_seconds = 10;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `path` is matched exactly but for its "*" segments (see above). Other
  // paths are answered 404.
  void HandleGet(const std::string& path, HttpHandler handler);
  void HandlePost(const std::string& path, HttpHandler handler);
  // Every GET path that starts with `prefix` (literal, e.g. "/") and that no
  // handler registered before matches.
  void HandleGetUnder(const std::string& prefix, HttpHandler handler);

  // Binds `listen` and serves on the worker threads until Stop.
  // InvalidArgument for a bad or unix: address, Unavailable when it cannot be
  // bound; each message names the address.
  absl::Status Start(const std::string& listen);

  // The bound address as HOST:PORT ([IPv6]:PORT), port 0 resolved; empty
  // before Start.
  const std::string& bound_address() const { return bound_address_; }
  int port() const { return port_; }

  // Stops accepting, finishes the requests being served, joins the threads.
  void Stop();

 private:
  const HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::string bound_address_;
  int port_ = 0;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_HTTP_SERVER_H_
