// Calls the online mlctl commands (tools/online_commands.h) directly, with
// string streams, against a real ml-host and ml-owner on loopback.
#include "tools/online_commands.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

class OnlineCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = HostProcess::Start({"--storage=memory"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    auto agent = AgentProcess::Start({"--keystore=" + NewTempDir("mlctl_ks") + "/ks",
                                      "--host=" + host_->address()});
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    AgentOptions options;
    options.address = agent_->address();
    options.timeout_seconds = 20;
    auto client = AgentClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::string CreateLedger() {
    std::ostringstream out, err;
    EXPECT_EQ(RunLedgerCreate(*client_, "", "note", "", {}, 1, out, err), kExitOk)
        << err.str();
    std::string id = out.str();
    if (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  std::unique_ptr<HostProcess> host_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<AgentClient> client_;
};

TEST_F(OnlineCommandsTest, LedgerLifecycle) {
  const std::string ledger = CreateLedger();
  EXPECT_THAT(ledger, MatchesRegex("jlinx:u[A-Za-z0-9_-]+"));

  std::ostringstream out, err;
  EXPECT_EQ(RunAppend(*client_, ledger, R"({"event":"a","n":1})", {}, out, err), kExitOk)
      << err.str();
  EXPECT_EQ(out.str(), "2\n");
  // A retried append with a request id prints the first attempt's block.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::ostringstream retried;
    EXPECT_EQ(RunAppend(*client_, ledger, R"({"event":"a","n":1})", {}, retried, err,
                        "order-17"),
              kExitOk)
        << err.str();
    EXPECT_EQ(retried.str(), "3\n");
  }

  std::ostringstream show;
  EXPECT_EQ(RunShow(*client_, ledger, show, err), kExitOk);
  EXPECT_THAT(show.str(), HasSubstr("status:        open"));
  EXPECT_THAT(show.str(), HasSubstr("head:          block 3 u"));
  EXPECT_THAT(show.str(), HasSubstr("evidence:      none"));

  std::ostringstream verdict;
  EXPECT_EQ(RunVerifyLedger(*client_, ledger, verdict, err), kExitOk);
  EXPECT_EQ(verdict.str(), "OK " + ledger + " 3 blocks\n");

  const std::string bundle = NewTempDir("mlctl_export") + "/b.jsonl";
  std::ostringstream exported;
  EXPECT_EQ(RunExport(*client_, ledger, bundle, exported, err), kExitOk) << err.str();
  EXPECT_EQ(exported.str(), "exported 3 blocks to " + bundle + "\n");
  std::ostringstream offline;
  EXPECT_EQ(RunVerify(bundle, false, offline, err), kExitOk);
  EXPECT_EQ(offline.str(), "OK " + ledger + " 3 blocks\n");

  std::ostringstream tail;
  EXPECT_EQ(RunTail(*client_, ledger, false, 0, tail, err), kExitOk) << err.str();
  std::vector<std::string> lines = absl::StrSplit(tail.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], StartsWith("1 "));
  EXPECT_THAT(lines[1], MatchesRegex(R"(2 [0-9T:.-]+Z \{"event":"a","n":1\})"));

  std::ostringstream closed;
  EXPECT_EQ(RunClose(*client_, ledger, closed, err), kExitOk);
  EXPECT_EQ(closed.str(), "4\n");
  std::ostringstream refused_out, refused_err;
  EXPECT_EQ(RunAppend(*client_, ledger, R"({"event":"b"})", {}, refused_out, refused_err),
            kExitVerifyFailed);
  EXPECT_EQ(refused_out.str(), "");
  EXPECT_THAT(refused_err.str(), StartsWith("mlctl append: FAILED_PRECONDITION: "));
  const std::string refusal = refused_err.str();
  EXPECT_EQ(std::count(refusal.begin(), refusal.end(), '\n'), 1);

  // tail -f of a closed ledger ends after the terminal block.
  std::ostringstream follow;
  EXPECT_EQ(RunTail(*client_, ledger, true, 4, follow, err), kExitOk);
  EXPECT_THAT(follow.str(), MatchesRegex(R"(4 [^ ]+ \{"event":"closed document"\}.)"));
  EXPECT_THAT(follow.str(), ::testing::EndsWith("}\n"));
}

TEST_F(OnlineCommandsTest, AttachmentIsSealedAndExported) {
  const std::string ledger = CreateLedger();
  const std::string file = NewTempDir("mlctl_attach") + "/doc.txt";
  std::ofstream(file) << "attached bytes";
  std::ostringstream out, err;
  EXPECT_EQ(RunAppend(*client_, ledger, R"({"event":"doc"})", {file}, out, err), kExitOk)
      << err.str();
  std::ostringstream missing_out, missing_err;
  EXPECT_EQ(RunAppend(*client_, ledger, R"({"event":"doc"})", {file + ".none"}, missing_out,
                      missing_err),
            kExitUsageOrInput);
  const std::string bundle = NewTempDir("mlctl_export") + "/b.jsonl";
  EXPECT_EQ(RunExport(*client_, ledger, bundle, out, err), kExitOk);
  std::ifstream in(bundle);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(R"({"attachment":{"data":")"));
  EXPECT_THAT(text.str(), HasSubstr(R"("name":"doc.txt")"));
}

TEST_F(OnlineCommandsTest, UnknownLedgerIsRefused) {
  std::ostringstream out, err;
  EXPECT_EQ(RunShow(*client_, "jlinx:uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", out, err),
            kExitVerifyFailed);
  EXPECT_THAT(err.str(), StartsWith("mlctl show: "));
  EXPECT_EQ(out.str(), "");
}

TEST(AgentClientTest, UnreachableAgentIsExit2) {
  AgentOptions options;
  options.address = "127.0.0.1:1";
  options.timeout_seconds = 1;
  auto client = AgentClient::Create(options);
  ASSERT_TRUE(client.ok());
  std::ostringstream out, err;
  EXPECT_EQ(RunKeysList(**client, out, err), kExitUsageOrInput);
  EXPECT_THAT(err.str(), HasSubstr("cannot reach the owner agent at 127.0.0.1:1"));
  EXPECT_EQ(out.str(), "");
}

TEST(AgentClientTest, UnreadableTokenFileIsAnError) {
  AgentOptions options;
  options.token_file = "/nonexistent/token";
  auto client = AgentClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("--token_file"));
}

TEST(AgentClientTest, StatusCodeNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
}

}  // namespace
}  // namespace microledger
