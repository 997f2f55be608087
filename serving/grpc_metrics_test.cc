#include "serving/grpc_metrics.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "microledger/v1/host.grpc.pb.h"
#include "serving/metrics.h"

namespace microledger {
namespace {

// Answers CreateLedger OK and GetLedger NOT_FOUND; every other method is
// left unimplemented.
class FakeHostService final : public v1::HostService::Service {
  grpc::Status CreateLedger(grpc::ServerContext*, const v1::CreateLedgerRequest*,
                            v1::CreateLedgerResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status GetLedger(grpc::ServerContext*, const v1::GetLedgerRequest*,
                         v1::GetLedgerResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such ledger");
  }
};

class GrpcMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_ = std::make_unique<GrpcServerMetrics>(registry_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(metrics_->InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  MetricsRegistry registry_;
  std::unique_ptr<GrpcServerMetrics> metrics_;
  FakeHostService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_F(GrpcMetricsTest, CountsCallsByMethodAndCode) {
  auto stub = v1::HostService::NewStub(channel_);
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    v1::CreateLedgerResponse response;
    ASSERT_TRUE(stub->CreateLedger(&context, v1::CreateLedgerRequest(), &response).ok());
  }
  {
    grpc::ClientContext context;
    v1::GetLedgerResponse response;
    EXPECT_EQ(stub->GetLedger(&context, v1::GetLedgerRequest(), &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    v1::AppendResponse response;
    EXPECT_EQ(stub->Append(&context, v1::AppendRequest(), &response).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  server_->Shutdown();  // Every call's interceptor has finished.
  server_.reset();
  const std::string text = registry_.Exposition();
  const std::string create =
      "grpc_type=\"unary\",grpc_service=\"microledger.v1.HostService\",grpc_method=\"CreateLedger\"";
  EXPECT_TRUE(Contains(text, "grpc_server_started_total{" + create + "} 2")) << text;
  EXPECT_TRUE(Contains(text, "grpc_server_handled_total{" + create + ",grpc_code=\"OK\"} 2"));
  EXPECT_TRUE(Contains(text, "grpc_server_msg_received_total{" + create + "} 2"));
  EXPECT_TRUE(Contains(text, "grpc_server_msg_sent_total{" + create + "} 2"));
  EXPECT_TRUE(Contains(text, "grpc_server_handling_seconds_count{" + create + "} 2"));
  EXPECT_TRUE(Contains(text, "grpc_server_handling_seconds_bucket{" + create + ",le=\"+Inf\"} 2"));
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"microledger."
                       "v1.HostService\",grpc_method=\"GetLedger\",grpc_code=\"NotFound\"} 1"))
      << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"microledger."
                       "v1.HostService\",grpc_method=\"Append\",grpc_code=\"Unimplemented\"} 1"))
      << text;
}

TEST_F(GrpcMetricsTest, UnknownMethodNamesShareOneLabel) {
  grpc::GenericStub generic(channel_);
  for (const char* method : {"/no.Such/Thing", "/microledger.v1.HostService/NoSuchCall"}) {
    grpc::ClientContext context;
    grpc::Slice empty_message("");
    const grpc::ByteBuffer request(&empty_message, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    bool done = false;
    absl::Mutex mu;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                      [&mu, &status, &done](grpc::Status result) {
                        absl::MutexLock lock(&mu);
                        status = result;
                        done = true;
                      });
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30)));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  server_->Shutdown();
  server_.reset();
  const std::string text = registry_.Exposition();
  EXPECT_EQ(text.find("Such"), std::string::npos) << text;
  EXPECT_TRUE(Contains(text,
                       "grpc_server_handled_total{grpc_type=\"bidi_stream\",grpc_service=\"unknown\","
                       "grpc_method=\"unknown\",grpc_code=\"Unimplemented\"} 2"))
      << text;
}

TEST(GrpcCodeNameTest, GoGrpcPrometheusNames) {
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "Canceled");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "InvalidArgument");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FailedPrecondition");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "Unauthenticated");
  EXPECT_STREQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "Unknown");
}

}  // namespace
}  // namespace microledger
