// TLS on both hops of the two-machine flow: an application talks TLS (with a
// bearer token) to ml-owner, and ml-owner talks TLS to ml-host, verifying the
// host certificate against --host_tls_ca and, when the host requires mutual
// TLS (--tls_client_ca), presenting --host_tls_cert/--host_tls_key.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
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

// A host that requires client certificates signed by the test CA, and agents
// on loopback (plaintext) talking TLS to it, with or without a certificate.
class OwnerMutualTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    certs_ = NewTempDir("mtls_certs");
    ASSERT_EQ(std::system(("tests/tls/make_test_certs.sh " + certs_).c_str()), 0);
    absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
        {"--storage=memory", "--tls_cert=" + certs_ + "/server.pem",
         "--tls_key=" + certs_ + "/server.key", "--tls_client_ca=" + certs_ + "/ca.pem"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  std::unique_ptr<AgentProcess> StartAgent(const std::string& keystore, bool client_cert) {
    std::vector<std::string> flags = {"--keystore=" + keystore, "--host=" + host_->address(),
                                      "--host_tls_ca=" + certs_ + "/ca.pem"};
    if (client_cert) {
      flags.push_back("--host_tls_cert=" + certs_ + "/client.pem");
      flags.push_back("--host_tls_key=" + certs_ + "/client.key");
    }
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start(flags);
    EXPECT_TRUE(agent.ok()) << agent.status();
    return agent.ok() ? *std::move(agent) : nullptr;
  }

  // The ledger's head as the host reports it, asked over mutual TLS.
  uint64_t HostHeadOverTls(const std::string& ledger) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(certs_ + "/ca.pem");
    options.pem_cert_chain = ReadFile(certs_ + "/client.pem");
    options.pem_private_key = ReadFile(certs_ + "/client.key");
    auto stub = v1::HostService::NewStub(
        grpc::CreateChannel(host_->address(), grpc::SslCredentials(options)));
    v1::GetLedgerRequest request;
    request.set_ledger_id(ledger);
    v1::GetLedgerResponse response;
    const grpc::Status status = stub->GetLedger(Ctx(10).get(), request, &response);
    EXPECT_TRUE(status.ok()) << Msg(status);
    return response.head_number();
  }

  std::string certs_;
  std::unique_ptr<HostProcess> host_;
};

TEST_F(OwnerMutualTlsTest, AgentWithClientCertificateAppends) {
  std::unique_ptr<AgentProcess> agent = StartAgent(NewTempDir("mtls_ok") + "/ks", true);
  ASSERT_NE(agent, nullptr);
  std::unique_ptr<AgentStub> stub = agent->Stub();
  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedger(*stub, host_->address(), &created);
  ASSERT_TRUE(status.ok()) << Msg(status);
  v1::BlockOutcome appended;
  status = Append(*stub, created.ledger_id(), R"({"event":"over mutual TLS"})", &appended);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(appended.committed().number(), 2u);
}

TEST_F(OwnerMutualTlsTest, AgentWithoutClientCertificateCannotAppend) {
  const std::string keystore = NewTempDir("mtls_none") + "/ks";
  std::string ledger;
  {
    std::unique_ptr<AgentProcess> agent = StartAgent(keystore, true);
    ASSERT_NE(agent, nullptr);
    v1::OwnerCreateLedgerResponse created;
    grpc::Status status = CreateLedger(*agent->Stub(), host_->address(), &created);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ledger = created.ledger_id();
  }
  // The same keystore and ledger, restarted without the client certificate.
  std::unique_ptr<AgentProcess> agent = StartAgent(keystore, false);
  ASSERT_NE(agent, nullptr);
  v1::BlockOutcome appended;
  grpc::Status status =
      Append(*agent->Stub(), ledger, R"({"event":"no client certificate"})", &appended);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "--host_tls_cert")) << Msg(status);
  EXPECT_EQ(HostHeadOverTls(ledger), 1u) << "nothing was appended";
}

TEST(OwnerTlsFlagsTest, ClientCertificateNeedsItsKeyAndTheHostCa) {
  const std::string keystore = "--keystore=" + NewTempDir("mtls_flags") + "/ks";
  const auto [no_key_exit, no_key_output] = AgentProcess::RunToExit(
      {keystore, "--host_tls_ca=/dev/null", "--host_tls_cert=/dev/null"});
  EXPECT_EQ(no_key_exit, 1) << no_key_output;
  EXPECT_TRUE(absl::StrContains(no_key_output, "go together")) << no_key_output;
  const auto [no_ca_exit, no_ca_output] = AgentProcess::RunToExit(
      {keystore, "--host_tls_cert=/dev/null", "--host_tls_key=/dev/null"});
  EXPECT_EQ(no_ca_exit, 1) << no_ca_output;
  EXPECT_TRUE(absl::StrContains(no_ca_output, "needs --host_tls_ca")) << no_ca_output;
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
