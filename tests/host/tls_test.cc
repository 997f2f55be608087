// ml-host with --tls_cert/--tls_key (TLS) and --tls_client_ca (mutual TLS):
// clients that trust the CA (and, for mutual TLS, present a certificate) get
// answers; plaintext clients and clients without a certificate do not.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class HostTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    certs_ = NewTempDir("certs");
    ASSERT_EQ(std::system(("tests/tls/make_test_certs.sh " + certs_).c_str()), 0);
  }

  // A GetLedger call for an unknown ledger: NOT_FOUND proves the call got through.
  grpc::StatusCode Probe(const std::string& address,
                         std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub = v1::HostService::NewStub(grpc::CreateChannel(address, credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetLedgerRequest request;
    request.set_ledger_id("jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    v1::GetLedgerResponse response;
    return stub->GetLedger(&context, request, &response).error_code();
  }

  grpc::SslCredentialsOptions TrustingCa() {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(certs_ + "/ca.pem");
    return options;
  }

  std::vector<std::string> TlsFlags() {
    return {"--storage=memory", "--tls_cert=" + certs_ + "/server.pem",
            "--tls_key=" + certs_ + "/server.key"};
  }

  std::string certs_;
};

TEST_F(HostTlsTest, ServesTlsClientsThatTrustTheCa) {
  absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(TlsFlags());
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(Probe((*host)->address(), grpc::SslCredentials(TrustingCa())),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Probe((*host)->address(), grpc::InsecureChannelCredentials()),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Probe((*host)->address(), grpc::SslCredentials({})),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(HostTlsTest, MutualTlsRequiresAClientCertificate) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca=" + certs_ + "/ca.pem");
  absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(flags);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(Probe((*host)->address(), grpc::SslCredentials(TrustingCa())),
            grpc::StatusCode::UNAVAILABLE);
  grpc::SslCredentialsOptions with_client_cert = TrustingCa();
  with_client_cert.pem_cert_chain = ReadFile(certs_ + "/client.pem");
  with_client_cert.pem_private_key = ReadFile(certs_ + "/client.key");
  EXPECT_EQ(Probe((*host)->address(), grpc::SslCredentials(with_client_cert)),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HostTlsTest, KeyWithoutCertificateIsRefusedAtStart) {
  const auto [exit_code, stderr_text] =
      HostProcess::RunToExit({"--storage=memory", "--tls_key=" + certs_ + "/server.key"});
  EXPECT_NE(exit_code, 0);
  EXPECT_NE(stderr_text.find("--tls_cert"), std::string::npos) << stderr_text;
}

}  // namespace
}  // namespace microledger
