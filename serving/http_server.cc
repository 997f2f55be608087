#include "serving/http_server.h"

#include <sys/socket.h>

#include <chrono>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "serving/listen_address.h"

namespace microledger {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
// An idle kept-alive connection is closed after this; it also bounds how long
// Stop waits for one.
constexpr time_t kKeepAliveSeconds = 2;

// httplib matches paths as regular expressions: a literal character is
// escaped unless it is one a literal path is made of.
void AppendLiteral(char c, std::string& pattern) {
  const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-';
  if (!plain) pattern += '\\';
  pattern += c;
}

// A "*" segment becomes a capture of one segment; the rest is literal.
std::string PathPattern(const std::string& path) {
  std::string pattern;
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    const bool whole_segment = c == '*' && i > 0 && path[i - 1] == '/' &&
                               (i + 1 == path.size() || path[i + 1] == '/');
    if (whole_segment) {
      pattern += "([A-Za-z0-9_-]+)";
    } else {
      AppendLiteral(c, pattern);
    }
  }
  return pattern;
}

httplib::Server::Handler Adapt(HttpHandler handler) {
  return [handler = std::move(handler)](const httplib::Request& request,
                                        httplib::Response& response) {
    HttpRequest ours;
    ours.path = request.path;
    for (size_t i = 1; i < request.matches.size(); ++i) {
      ours.path_parameters.push_back(request.matches[i].str());
    }
    ours.remote_address = request.remote_addr;
    ours.query.insert(request.params.begin(), request.params.end());
    for (const auto& [name, value] : request.headers) {
      ours.headers.emplace(absl::AsciiStrToLower(name), value);
    }
    ours.body = request.body;
    HttpResponse answer = handler(ours);
    response.status = answer.status;
    for (auto& [name, value] : answer.headers) response.set_header(name, value);
    response.set_content(std::move(answer.body), answer.content_type.c_str());
  };
}

}  // namespace

std::string HttpRequest::Header(const std::string& lower_case_name) const {
  auto found = headers.find(lower_case_name);
  return found == headers.end() ? std::string() : found->second;
}

HttpServer::HttpServer(HttpServerOptions options)
    : options_(options), server_(std::make_unique<httplib::Server>()) {
  const int threads = options_.worker_threads > 0 ? options_.worker_threads : 1;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_socket_options([](socket_t sock) {
    const int on = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  });
  server_->set_payload_max_length(options_.max_request_body_bytes);
  server_->set_read_timeout(options_.io_timeout_seconds, 0);
  server_->set_write_timeout(options_.io_timeout_seconds, 0);
  server_->set_keep_alive_timeout(kKeepAliveSeconds);
  // An answer is written in two pieces (headers, body): without TCP_NODELAY the
  // second waits for the client's delayed ACK, about 40 ms per request on a
  // kept-alive connection.
  server_->set_tcp_nodelay(true);
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::HandleGet(const std::string& path, HttpHandler handler) {
  server_->Get(PathPattern(path), Adapt(std::move(handler)));
}

void HttpServer::HandlePost(const std::string& path, HttpHandler handler) {
  server_->Post(PathPattern(path), Adapt(std::move(handler)));
}

void HttpServer::HandleGetUnder(const std::string& prefix, HttpHandler handler) {
  std::string pattern;
  for (const char c : prefix) AppendLiteral(c, pattern);
  server_->Get(pattern + ".*", Adapt(std::move(handler)));
}

absl::Status HttpServer::Start(const std::string& listen) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen);
  if (!address.ok()) return address.status();
  if (address->kind == ListenAddress::Kind::kUnix) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address ", listen, ": unix: sockets are not served, use HOST:PORT"));
  }
  if (address->port == 0) {
    port_ = server_->bind_to_any_port(address->host);
  } else if (server_->bind_to_port(address->host, address->port)) {
    port_ = address->port;
  }
  if (port_ <= 0) {
    port_ = 0;
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": the address is in use or cannot be bound"));
  }
  bound_address_ = address->host_form == ListenAddress::HostForm::kIpv6
                       ? absl::StrCat("[", address->host, "]:", port_)
                       : absl::StrCat(address->host, ":", port_);
  listener_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  // httplib's stop() is lost if it comes before the accept loop runs: wait
  // (bounded) until it does, so Stop always ends it.
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    Stop();
    return absl::UnavailableError(absl::StrCat("cannot serve HTTP on ", listen));
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!listener_.joinable()) return;
  server_->stop();
  listener_.join();
}

}  // namespace microledger
