// mlctl's --from commands (tools/server_commands.h) called directly against a
// real ml-host on loopback, and against a LyingServer in front of it that
// tampers with one thing at a time: every lie must be caught (FAIL, exit 1,
// nothing written), every server error must be exit 2 with one line.
#include "tools/server_commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"
#include "tests/mlctl/lying_server.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kAttachment[] = "the sealed invoice";

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

std::unique_ptr<ServerReader> Reader(const std::string& address) {
  ServerOptions options;
  options.address = address;
  options.timeout_seconds = 10;
  absl::StatusOr<std::unique_ptr<ServerReader>> reader = ServerReader::Create(options);
  EXPECT_TRUE(reader.ok()) << reader.status();
  return reader.ok() ? *std::move(reader) : nullptr;
}

class ServerCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = HostProcess::Start({"--storage=memory"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    stub_ = Connect(host_->address());
    ledger_ = MakeLedger();
  }

  // A ledger of 5 blocks: genesis, "n":2, a block sealing kAttachment (with
  // the attachment), "n":4, "n":5.
  std::string MakeLedger() {
    chains_.push_back(std::make_unique<OwnerChain>(CreateChain(*stub_)));
    OwnerChain& chain = *chains_.back();
    EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
    EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
    const std::string seal = DigestText(kAttachment);
    Block sealed = chain.Next(Json{{"event", "sealed"}}, std::vector<std::string>{seal});
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(sealed));
    v1::Attachment* attachment = request.add_attachments();
    attachment->set_name("invoice.txt");
    attachment->set_data(kAttachment);
    v1::AppendResponse response;
    EXPECT_TRUE(stub_->Append(&context, request, &response).ok());
    EXPECT_TRUE(chain.Accept(sealed, FromProto(response.host_signature())).ok());
    EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
    EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
    return chain.ledger_id();
  }

  std::unique_ptr<LyingServer> Liar(Lie lie) {
    LieOptions options;
    options.lie = lie;
    auto server = LyingServer::Start(host_->address(), options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::unique_ptr<HostProcess> host_;
  std::unique_ptr<HostStub> stub_;
  std::vector<std::unique_ptr<OwnerChain>> chains_;
  std::string ledger_;
};

TEST_F(ServerCommandsTest, VerifyAndExportFromTheHost) {
  std::unique_ptr<ServerReader> server = Reader(host_->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(*server, ledger_, kDefaultMaxBundleLineBytes, out, err), kExitOk)
      << err.str();
  EXPECT_EQ(out.str(), "OK " + ledger_ + " 5 blocks\n");
  EXPECT_EQ(err.str(), "");

  const std::string bundle = NewTempDir("mlctl_from") + "/b.jsonl";
  std::ostringstream exported;
  EXPECT_EQ(RunServerExport(*server, ledger_, bundle, kDefaultMaxBundleLineBytes, exported, err),
            kExitOk)
      << err.str();
  EXPECT_EQ(exported.str(), "exported 5 blocks to " + bundle + "\n");
  std::ostringstream offline;
  EXPECT_EQ(RunVerify(bundle, false, offline, err), kExitOk);
  EXPECT_EQ(offline.str(), "OK " + ledger_ + " 5 blocks\n");
  std::ifstream in(bundle);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(R"("name":"invoice.txt")"));
  EXPECT_THAT(text.str(), HasSubstr(R"({"checkpoint":")"));
}

TEST_F(ServerCommandsTest, HonestProxyGivesTheSameResults) {
  std::unique_ptr<LyingServer> proxy = Liar(Lie::kNone);
  std::unique_ptr<ServerReader> server = Reader(proxy->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(*server, ledger_, kDefaultMaxBundleLineBytes, out, err), kExitOk)
      << err.str();
  EXPECT_EQ(out.str(), "OK " + ledger_ + " 5 blocks\n");
  std::ostringstream tail;
  EXPECT_EQ(RunServerTail(*server, ledger_, false, 0, tail, err), kExitOk) << err.str();
  EXPECT_EQ(Lines(tail.str()), 5);
  std::ostringstream show;
  EXPECT_EQ(RunServerShow(*server, ledger_, show, err), kExitOk) << err.str();
}

TEST_F(ServerCommandsTest, ShowFromTheHost) {
  std::unique_ptr<ServerReader> server = Reader(host_->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerShow(*server, ledger_, out, err), kExitOk) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("ledger:        " + ledger_ + "\n"));
  EXPECT_THAT(out.str(), HasSubstr("status:        open\n"));
  EXPECT_THAT(out.str(), HasSubstr("head:          block 5 u"));
  EXPECT_THAT(out.str(), HasSubstr("controllers:   1 of 1: u"));
  EXPECT_THAT(out.str(), HasSubstr("frozen:        no\n"));
  EXPECT_THAT(out.str(), HasSubstr("held:          "));
  EXPECT_THAT(out.str(), HasSubstr("    " + ledger_ + "\n    5\n"));
}

TEST_F(ServerCommandsTest, TailFromTheHost) {
  std::unique_ptr<ServerReader> server = Reader(host_->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerTail(*server, ledger_, false, 0, out, err), kExitOk) << err.str();
  std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[0], MatchesRegex(R"(1 [0-9T:.-]+Z \{.*"event":"opened document".*\})"));
  EXPECT_THAT(lines[2], MatchesRegex(R"(3 [0-9T:.-]+Z \{"event":"sealed"\})"));

  std::ostringstream from4;
  EXPECT_EQ(RunServerTail(*server, ledger_, false, 4, from4, err), kExitOk) << err.str();
  lines = absl::StrSplit(from4.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], StartsWith("4 "));
  EXPECT_THAT(lines[1], StartsWith("5 "));

  std::ostringstream past;
  EXPECT_EQ(RunServerTail(*server, ledger_, false, 9, past, err), kExitOk);
  EXPECT_EQ(past.str(), "");
}

TEST_F(ServerCommandsTest, TailFollowsUntilTheLedgerCloses) {
  OwnerChain& chain = *chains_.back();
  std::unique_ptr<ServerReader> server = Reader(host_->address());
  std::ostringstream out, err;
  int code = -1;
  // From block 6 (the head is 5): Subscribe waits for it; whether the appends
  // come before or after it subscribes, tail prints 6 and 7 and ends.
  std::thread follower(
      [&] { code = RunServerTail(*server, ledger_, true, 6, out, err); });
  EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next(Json{{"event", "late"}})).ok());
  EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next(Json{{"event", "closed document"}})).ok());
  follower.join();
  EXPECT_EQ(code, kExitOk) << err.str();
  std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], MatchesRegex(R"(6 [^ ]+ \{"event":"late"\})"));
  EXPECT_THAT(lines[1], MatchesRegex(R"(7 [^ ]+ \{"event":"closed document"\})"));
}

TEST_F(ServerCommandsTest, TamperedBlockFails) {
  std::unique_ptr<LyingServer> liar = Liar(Lie::kTamperedBlock);
  std::unique_ptr<ServerReader> server = Reader(liar->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(*server, ledger_, kDefaultMaxBundleLineBytes, out, err),
            kExitVerifyFailed);
  EXPECT_THAT(out.str(), StartsWith("FAIL block 2: "));
  EXPECT_EQ(Lines(out.str()), 1);

  const std::string bundle = NewTempDir("mlctl_from") + "/tampered.jsonl";
  std::ostringstream exported, export_err;
  EXPECT_EQ(RunServerExport(*server, ledger_, bundle, kDefaultMaxBundleLineBytes, exported,
                            export_err),
            kExitVerifyFailed);
  EXPECT_FALSE(Exists(bundle));
  EXPECT_EQ(exported.str(), "");
  EXPECT_THAT(export_err.str(), HasSubstr("FAIL block 2: "));
  EXPECT_EQ(Lines(export_err.str()), 1);

  // tail checks the blocks before --start too.
  for (uint64_t start : {uint64_t{0}, uint64_t{3}}) {
    std::ostringstream tail, tail_err;
    EXPECT_EQ(RunServerTail(*server, ledger_, false, start, tail, tail_err), kExitVerifyFailed);
    EXPECT_THAT(tail_err.str(), StartsWith("mlctl tail: FAIL block 2: "));
    // From 1: block 1 verifies and is printed; from 3: nothing is.
    EXPECT_EQ(Lines(tail.str()), start == 0 ? 1 : 0);
  }
}

TEST_F(ServerCommandsTest, BadCheckpointSignatureFails) {
  std::unique_ptr<LyingServer> liar = Liar(Lie::kBadCheckpointSignature);
  std::unique_ptr<ServerReader> server = Reader(liar->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(*server, ledger_, kDefaultMaxBundleLineBytes, out, err),
            kExitVerifyFailed);
  EXPECT_THAT(out.str(), StartsWith("FAIL block 0: "));

  const std::string bundle = NewTempDir("mlctl_from") + "/badsig.jsonl";
  EXPECT_EQ(RunServerExport(*server, ledger_, bundle, kDefaultMaxBundleLineBytes, out, err),
            kExitVerifyFailed);
  EXPECT_FALSE(Exists(bundle));

  std::ostringstream show, show_err;
  EXPECT_EQ(RunServerShow(*server, ledger_, show, show_err), kExitVerifyFailed);
  EXPECT_EQ(show.str(), "");
  EXPECT_THAT(show_err.str(), StartsWith("mlctl show: FAIL: "));

  std::ostringstream tail, tail_err;
  EXPECT_EQ(RunServerTail(*server, ledger_, false, 0, tail, tail_err), kExitVerifyFailed);
  EXPECT_EQ(tail.str(), "");  // Block 1 is not printed before its checkpoint holds.
  EXPECT_THAT(tail_err.str(), StartsWith("mlctl tail: FAIL block 1: "));
}

TEST_F(ServerCommandsTest, SwappedAttachmentFails) {
  std::unique_ptr<LyingServer> liar = Liar(Lie::kSwappedAttachment);
  std::unique_ptr<ServerReader> server = Reader(liar->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(*server, ledger_, kDefaultMaxBundleLineBytes, out, err),
            kExitVerifyFailed);
  EXPECT_THAT(out.str(), StartsWith("FAIL block 0: "));
  const std::string bundle = NewTempDir("mlctl_from") + "/swapped.jsonl";
  EXPECT_EQ(RunServerExport(*server, ledger_, bundle, kDefaultMaxBundleLineBytes, out, err),
            kExitVerifyFailed);
  EXPECT_FALSE(Exists(bundle));
}

TEST_F(ServerCommandsTest, WrongHeadFails) {
  std::unique_ptr<LyingServer> liar = Liar(Lie::kWrongHeadFingerprint);
  std::unique_ptr<ServerReader> server = Reader(liar->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerShow(*server, ledger_, out, err), kExitVerifyFailed);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), StartsWith("mlctl show: FAIL: head: block 5 is not included"));
  EXPECT_EQ(Lines(err.str()), 1);
}

TEST_F(ServerCommandsTest, ServerErrorIsExit2) {
  std::unique_ptr<LyingServer> liar = Liar(Lie::kBlocksError);
  std::unique_ptr<ServerReader> server = Reader(liar->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(*server, ledger_, kDefaultMaxBundleLineBytes, out, err),
            kExitUsageOrInput);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "mlctl verify: server " + liar->address() +
                           ": GetBlocks: INTERNAL: the disk is on fire\n");
  const std::string bundle = NewTempDir("mlctl_from") + "/error.jsonl";
  EXPECT_EQ(RunServerExport(*server, ledger_, bundle, kDefaultMaxBundleLineBytes, out, err),
            kExitUsageOrInput);
  EXPECT_FALSE(Exists(bundle));

  std::unique_ptr<ServerReader> host = Reader(host_->address());
  std::ostringstream unknown, unknown_err;
  EXPECT_EQ(RunServerShow(*host, "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", unknown,
                          unknown_err),
            kExitUsageOrInput);
  EXPECT_THAT(unknown_err.str(), HasSubstr(": GetLedger: NOT_FOUND: "));
  EXPECT_EQ(Lines(unknown_err.str()), 1);
}

TEST(ServerReaderTest, UnreachableServerIsExit2) {
  ServerOptions options;
  options.address = "127.0.0.1:1";
  options.timeout_seconds = 1;
  auto server = ServerReader::Create(options);
  ASSERT_TRUE(server.ok());
  std::ostringstream out, err;
  EXPECT_EQ(RunServerVerify(**server, "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                            kDefaultMaxBundleLineBytes, out, err),
            kExitUsageOrInput);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), StartsWith("mlctl verify: cannot reach the server at 127.0.0.1:1"));
  EXPECT_EQ(Lines(err.str()), 1);
}

TEST(ServerReaderTest, BadAddressesAreRefused) {
  for (const std::string address : {"127.0.0.1:0", "nonsense", "host:99999", ""}) {
    ServerOptions options;
    options.address = address;
    auto server = ServerReader::Create(options);
    EXPECT_FALSE(server.ok()) << address;
    EXPECT_THAT(std::string(server.status().message()), StartsWith("--from: "));
  }
  ServerOptions options;
  options.address = "unix:/nonexistent/host.sock";
  options.tls_ca_file = "/nonexistent/ca.pem";
  auto server = ServerReader::Create(options);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), StartsWith("--from_tls_ca: "));
}

}  // namespace
}  // namespace microledger
