// Where the servers may listen, with the real binaries: a busy port or Unix
// socket is refused (no SO_REUSEPORT sharing, no silent socket takeover), an
// invalid address or a name as the agent's "local" address is refused with one
// line, and the agent's Unix socket is private (0600 in a 0700 directory) even
// under umask 000.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

// A directory under /tmp ($TEST_TMPDIR is too long for a Unix socket path),
// mode 0700, removed at the end of the test.
class ShortTempDir {
 public:
  ShortTempDir() {
    char name[] = "/tmp/ml_listen_test.XXXXXX";
    EXPECT_NE(mkdtemp(name), nullptr);
    path_ = name;
  }
  ~ShortTempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

bool Answers(const AgentProcess& agent) {
  v1::ListKeysResponse keys;
  return agent.Stub()->ListKeys(Ctx(10).get(), v1::ListKeysRequest(), &keys).ok();
}

// The output's last non-empty line, and how many non-empty lines it has.
std::pair<std::string, int> LastLine(const std::string& output) {
  std::string last;
  int lines = 0;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    if (end > start) {
      last = output.substr(start, end - start);
      ++lines;
    }
    start = end + 1;
  }
  return {last, lines};
}

std::string Keystore(const std::string& name) { return "--keystore=" + NewTempDir(name) + "/ks"; }

TEST(ListenTest, SecondAgentOnABusyPortIsRefused) {
  absl::StatusOr<std::unique_ptr<AgentProcess>> first = AgentProcess::Start({Keystore("first")});
  ASSERT_TRUE(first.ok()) << first.status();
  const auto [exit_code, output] =
      AgentProcess::RunToExit({Keystore("second"), "--listen=" + (*first)->address()});
  EXPECT_EQ(exit_code, 1) << output;
  const auto [line, lines] = LastLine(output);
  EXPECT_EQ(lines, 1) << output;
  EXPECT_TRUE(absl::StrContains(line, "cannot listen on " + (*first)->address()) &&
              absl::StrContains(line, "Address already in use"))
      << output;
  EXPECT_TRUE(Answers(**first));
}

TEST(ListenTest, SecondHostOnABusyPortIsRefused) {
  absl::StatusOr<std::unique_ptr<HostProcess>> first = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(first.ok()) << first.status();
  const auto [exit_code, output] =
      HostProcess::RunToExit({"--storage=memory", "--listen=" + (*first)->address()});
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_TRUE(absl::StrContains(output, "Address already in use")) << output;
}

TEST(ListenTest, InvalidAddressesAreRefused) {
  for (const std::string listen : {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:+1",
                                   "::1:0", "127.1:0", "unix://tmp/x.sock"}) {
    const auto [exit_code, output] = AgentProcess::RunToExit({Keystore("bad"), "--listen=" + listen});
    EXPECT_EQ(exit_code, 1) << listen << ": " << output;
    const auto [line, lines] = LastLine(output);
    EXPECT_EQ(lines, 1) << output;
    EXPECT_TRUE(absl::StartsWith(line, "ml-owner: listen address ")) << output;
  }
  const auto [host_exit, host_output] =
      HostProcess::RunToExit({"--storage=memory", "--listen=127.0.0.1:99999"});
  EXPECT_EQ(host_exit, 1) << host_output;
  EXPECT_TRUE(absl::StrContains(host_output, "0..65535")) << host_output;
}

TEST(ListenTest, NamesAreNotLocalForTheAgent) {
  for (const std::string listen : {"localhost:0", "127.0.0.1.nip.io:0"}) {
    const auto [exit_code, output] = AgentProcess::RunToExit({Keystore("name"), "--listen=" + listen});
    EXPECT_EQ(exit_code, 1) << output;
    EXPECT_TRUE(absl::StrContains(output, "reachable from other machines")) << output;
  }
}

TEST(ListenTest, UnixSocketIsPrivateUnderUmask000) {
  ShortTempDir dir;
  const std::string socket_dir = dir.path() + "/run";
  const std::string socket = socket_dir + "/agent.sock";
  const mode_t old_umask = umask(0);
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent =
      AgentProcess::Start({Keystore("umask"), "--listen=unix:" + socket});
  umask(old_umask);
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ((*agent)->address(), "unix:" + socket);
  EXPECT_EQ(ModeOf(socket_dir), 0700u);
  EXPECT_EQ(ModeOf(socket), 0600u);
  EXPECT_TRUE(Answers(**agent));
}

TEST(ListenTest, SecondAgentOnAUnixSocketIsRefusedAndTheFirstKeepsIt) {
  ShortTempDir dir;
  const std::string listen = "--listen=unix:" + dir.path() + "/agent.sock";
  absl::StatusOr<std::unique_ptr<AgentProcess>> first =
      AgentProcess::Start({Keystore("unix_first"), listen});
  ASSERT_TRUE(first.ok()) << first.status();
  const auto [exit_code, output] = AgentProcess::RunToExit({Keystore("unix_second"), listen});
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_TRUE(absl::StrContains(LastLine(output).first, "is in use")) << output;
  EXPECT_TRUE(Answers(**first));
}

TEST(ListenTest, StaleUnixSocketIsReplaced) {
  ShortTempDir dir;
  const std::string listen = "--listen=unix:" + dir.path() + "/agent.sock";
  const std::string keystore = Keystore("stale");
  absl::StatusOr<std::unique_ptr<AgentProcess>> crashed = AgentProcess::Start({keystore, listen});
  ASSERT_TRUE(crashed.ok()) << crashed.status();
  (*crashed)->Kill9();
  ASSERT_EQ(access((dir.path() + "/agent.sock").c_str(), F_OK), 0) << "kill -9 leaves the socket";
  absl::StatusOr<std::unique_ptr<AgentProcess>> restarted = AgentProcess::Start({keystore, listen});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_TRUE(Answers(**restarted));
}

TEST(ListenTest, UnixSocketInAnOpenDirectoryIsRefused) {
  ShortTempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  const auto [exit_code, output] = AgentProcess::RunToExit(
      {Keystore("open_dir"), "--listen=unix:" + dir.path() + "/agent.sock"});
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_TRUE(absl::StrContains(output, "mode 0700")) << output;
  EXPECT_EQ(access((dir.path() + "/agent.sock").c_str(), F_OK), -1);
}

}  // namespace
}  // namespace microledger
