// TLS on both hops of the two-machine flow: an application talks TLS (with a
// bearer token) to ml-owner, and ml-owner talks TLS to ml-host, verifying the
// host certificate against --host_tls_ca.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

constexpr char kToken[] = "s3cret-agent-token";

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class OwnerTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    certs_ = NewTempDir("certs");
    other_certs_ = NewTempDir("other_certs");
    ASSERT_EQ(std::system(("tests/tls/make_test_certs.sh " + certs_).c_str()), 0);
    ASSERT_EQ(std::system(("tests/tls/make_test_certs.sh " + other_certs_).c_str()), 0);
    token_file_ = NewTempDir("token") + "/token";
    std::ofstream(token_file_) << kToken << "\n";
    absl::StatusOr<std::unique_ptr<HostProcess>> host =
        HostProcess::Start({"--storage=memory", "--tls_cert=" + certs_ + "/server.pem",
                            "--tls_key=" + certs_ + "/server.key"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  // An agent serving TLS with a token, trusting `host_ca` for the host.
  std::unique_ptr<AgentProcess> StartAgent(const std::string& host_ca) {
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start(
        {"--keystore=" + NewTempDir("keystore") + "/ks", "--host=" + host_->address(),
         "--host_tls_ca=" + host_ca, "--tls_cert=" + certs_ + "/server.pem",
         "--tls_key=" + certs_ + "/server.key", "--token_file=" + token_file_});
    EXPECT_TRUE(agent.ok()) << agent.status();
    return agent.ok() ? *std::move(agent) : nullptr;
  }

  std::unique_ptr<AgentStub> TlsStub(const AgentProcess& agent) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(certs_ + "/ca.pem");
    return v1::OwnerAgentService::NewStub(
        grpc::CreateChannel(agent.address(), grpc::SslCredentials(options)));
  }

  grpc::Status CreateLedgerWithToken(AgentStub& stub, v1::OwnerCreateLedgerResponse* out,
                                     const std::string& token) {
    v1::OwnerCreateLedgerRequest request;
    request.set_document_type("didDocument");
    auto context = Ctx();
    if (!token.empty()) context->AddMetadata("authorization", std::string("Bearer ") + token);
    return stub.CreateLedger(context.get(), request, out);
  }

  std::string certs_, other_certs_, token_file_;
  std::unique_ptr<HostProcess> host_;
};

TEST_F(OwnerTlsTest, TwoHopsOverTlsWithToken) {
  std::unique_ptr<AgentProcess> agent = StartAgent(certs_ + "/ca.pem");
  ASSERT_NE(agent, nullptr);
  std::unique_ptr<AgentStub> stub = TlsStub(*agent);
  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedgerWithToken(*stub, &created, kToken);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(created.genesis().has_committed());
  EXPECT_EQ(created.genesis().committed().number(), 1u);

  v1::OwnerCreateLedgerResponse refused;
  EXPECT_EQ(CreateLedgerWithToken(*stub, &refused, "wrong").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(CreateLedgerWithToken(*stub, &refused, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auto plaintext = v1::OwnerAgentService::NewStub(
      grpc::CreateChannel(agent->address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(CreateLedgerWithToken(*plaintext, &refused, kToken).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(OwnerTlsTest, HostCertificateFromAnotherCaIsRefused) {
  std::unique_ptr<AgentProcess> agent = StartAgent(other_certs_ + "/ca.pem");
  ASSERT_NE(agent, nullptr);
  std::unique_ptr<AgentStub> stub = TlsStub(*agent);
  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedgerWithToken(*stub, &created, kToken);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
}

TEST_F(OwnerTlsTest, ExposedListenAddressNeedsTlsAndToken) {
  const auto [exit_code, stderr_text] = AgentProcess::RunToExit(
      {"--keystore=" + NewTempDir("exposed") + "/ks", "--listen=0.0.0.0:0"});
  EXPECT_EQ(exit_code, 1);
  EXPECT_NE(stderr_text.find("reachable from other machines"), std::string::npos)
      << stderr_text;
}

}  // namespace
}  // namespace microledger
