#include "serving/http_server.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "serving/metrics.h"
#include "serving/metrics_http.h"

namespace microledger {
namespace {

TEST(HttpServerTest, ServesRegisteredPathsOnly) {
  HttpServer server;
  server.HandleGet("/v1/echo", [](const HttpRequest& request) {
    HttpResponse response;
    auto found = request.query.find("say");
    response.body = found == request.query.end() ? "nothing" : found->second;
    return response;
  });
  server.HandlePost("/v1/upper", [](const HttpRequest& request) {
    HttpResponse response;
    response.status = 201;
    response.body = "got " + request.body;
    return response;
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_GT(server.port(), 0);
  EXPECT_EQ(server.bound_address(), "127.0.0.1:" + std::to_string(server.port()));

  httplib::Client client("127.0.0.1", server.port());
  httplib::Result echo = client.Get("/v1/echo?say=a%20b");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(echo->body, "a b");

  httplib::Result posted = client.Post("/v1/upper", "xyz", "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(posted->body, "got xyz");

  httplib::Result missing = client.Get("/v1/echoes");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  httplib::Result wrong_method = client.Post("/v1/echo", "", "text/plain");
  ASSERT_TRUE(wrong_method);
  EXPECT_NE(wrong_method->status, 200);
  server.Stop();
  EXPECT_FALSE(client.Get("/v1/echo"));
}

TEST(HttpServerTest, PrefixHandlerTakesWhatEarlierHandlersDoNotAndSeesHeaders) {
  HttpServer server;
  server.HandleGet("/", [](const HttpRequest&) { return HttpResponse{200, "text/html", "page"}; });
  server.HandleGetUnder("/", [](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.path + " " + request.Header("if-none-match");
    response.headers.emplace_back("ETag", "\"e1\"");
    response.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return response;
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  httplib::Client client("127.0.0.1", server.port());
  httplib::Result page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "page");
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html");
  httplib::Result deep = client.Get("/jlinx:uAB/tile/0/x001/002.p/5", {{"If-None-Match", "\"e0\""}});
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 200);
  EXPECT_EQ(deep->body, "/jlinx:uAB/tile/0/x001/002.p/5 \"e0\"");
  EXPECT_EQ(deep->get_header_value("ETag"), "\"e1\"");
  EXPECT_EQ(deep->get_header_value("Access-Control-Allow-Origin"), "*");
  httplib::Result head = client.Head("/anything");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("ETag"), "\"e1\"");
  EXPECT_TRUE(head->body.empty());
}

TEST(HttpServerTest, StarSegmentsMatchOneSegmentAndReachTheHandler) {
  HttpServer server;
  server.HandleGet("/*/checkpoint", [](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.path_parameters.size() == 1
                        ? request.path_parameters[0] + " from " + request.remote_address
                        : "wrong parameters";
    return response;
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  httplib::Client client("127.0.0.1", server.port());
  httplib::Result matched = client.Get("/ab_C-9/checkpoint");
  ASSERT_TRUE(matched);
  EXPECT_EQ(matched->status, 200);
  EXPECT_EQ(matched->body, "ab_C-9 from 127.0.0.1");
  for (const char* path : {"/checkpoint", "//checkpoint", "/a/b/checkpoint", "/a.b/checkpoint",
                           "/a/checkpoints", "/a/checkpoint/x"}) {
    httplib::Result missing = client.Get(path);
    ASSERT_TRUE(missing) << path;
    EXPECT_EQ(missing->status, 404) << path;
  }
}

TEST(HttpServerTest, RefusesBadAndBusyAddresses) {
  HttpServer unix_socket;
  EXPECT_EQ(unix_socket.Start("unix:/tmp/x.sock").code(), absl::StatusCode::kInvalidArgument);
  HttpServer bad_port;
  EXPECT_EQ(bad_port.Start("127.0.0.1:99999").code(), absl::StatusCode::kInvalidArgument);

  HttpServer first;
  ASSERT_TRUE(first.Start("127.0.0.1:0").ok());
  HttpServer second;
  const absl::Status busy = second.Start(first.bound_address());
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(busy.message().find(first.bound_address()), std::string::npos) << busy;
}

TEST(HttpServerTest, ServesIpv6Loopback) {
  HttpServer server;
  server.HandleGet("/x", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "six"}; });
  const absl::Status started = server.Start("[::1]:0");
  if (!started.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << started;
  EXPECT_EQ(server.bound_address(), "[::1]:" + std::to_string(server.port()));
  httplib::Client client("::1", server.port());
  httplib::Result got = client.Get("/x");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "six");
}

TEST(MetricsHttpTest, ServesTheExposition) {
  MetricsRegistry registry;
  registry.AddCounter("test_requests_total", "Requests.").WithLabels({}).Increment(3);
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      StartMetricsServer("metrics_test", "127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result got = client.Get("/metrics");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->get_header_value("Content-Type"), kExpositionContentType);
  EXPECT_EQ(got->body, registry.Exposition());
  EXPECT_NE(got->body.find("test_requests_total 3\n"), std::string::npos);
}

}  // namespace
}  // namespace microledger
