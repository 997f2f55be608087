#include "serving/unix_socket_claim.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace microledger {
namespace {

// Fresh directories (mode 0700) under /tmp, removed at the end of the test:
// $TEST_TMPDIR is too long for a Unix socket path (107 bytes).
class PrivateDirs {
 public:
  ~PrivateDirs() {
    for (const std::string& dir : dirs_) std::filesystem::remove_all(dir);
  }
  std::string Make() {
    char name[] = "/tmp/ml_claim_test.XXXXXX";
    EXPECT_NE(mkdtemp(name), nullptr);
    dirs_.emplace_back(name);
    return name;
  }

 private:
  std::vector<std::string> dirs_;
};

mode_t ModeOf(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

// A Unix socket bound at `path`; listening when `listening` (else stale
// after close). Returns the descriptor.
int BindSocket(const std::string& path, bool listening) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) {
    ADD_FAILURE() << "socket path too long: " << path;
    return fd;
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  if (listening) {
    EXPECT_EQ(listen(fd, 1), 0);
  }
  return fd;
}

TEST(UnixSocketClaimTest, CreatesAMissingDirectory0700UnderUmask000) {
  PrivateDirs dirs;
  const std::string dir = dirs.Make() + "/run";
  const mode_t old_umask = umask(0);
  absl::StatusOr<UnixSocketClaim> claim = UnixSocketClaim::Claim(dir + "/agent.sock");
  umask(old_umask);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(ModeOf(dir), 0700u);
}

TEST(UnixSocketClaimTest, RestrictsTheBoundSocketTo0600) {
  PrivateDirs dirs;
  const std::string path = dirs.Make() + "/agent.sock";
  absl::StatusOr<UnixSocketClaim> claim = UnixSocketClaim::Claim(path);
  ASSERT_TRUE(claim.ok()) << claim.status();
  const mode_t old_umask = umask(0);
  const int fd = BindSocket(path, true);
  umask(old_umask);
  EXPECT_EQ(ModeOf(path), 0777u);
  EXPECT_TRUE(claim->RestrictSocketMode().ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  close(fd);
}

TEST(UnixSocketClaimTest, RefusesADirectoryOpenToGroupOrOther) {
  PrivateDirs dirs;
  for (mode_t mode : {0755, 0750, 0701, 01777}) {
    const std::string dir = dirs.Make();
    ASSERT_EQ(chmod(dir.c_str(), mode), 0);
    absl::StatusOr<UnixSocketClaim> claim = UnixSocketClaim::Claim(dir + "/agent.sock");
    EXPECT_EQ(claim.status().code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_NE(claim.status().message().find("mode 0700"), absl::string_view::npos)
        << claim.status();
    EXPECT_EQ(ModeOf(dir), mode) << "the directory must not be changed";
  }
}

TEST(UnixSocketClaimTest, RefusesWhileAnotherClaimHoldsThePath) {
  PrivateDirs dirs;
  const std::string path = dirs.Make() + "/agent.sock";
  absl::StatusOr<UnixSocketClaim> first = UnixSocketClaim::Claim(path);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<UnixSocketClaim> second = UnixSocketClaim::Claim(path);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use"), absl::string_view::npos);
  { UnixSocketClaim released = *std::move(first); }
  EXPECT_TRUE(UnixSocketClaim::Claim(path).ok());
}

TEST(UnixSocketClaimTest, RefusesALiveServerAndKeepsItsSocket) {
  PrivateDirs dirs;
  const std::string path = dirs.Make() + "/agent.sock";
  const int fd = BindSocket(path, true);
  absl::StatusOr<UnixSocketClaim> claim = UnixSocketClaim::Claim(path);
  EXPECT_EQ(claim.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(claim.status().message().find("another server answers"), absl::string_view::npos)
      << claim.status();
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  close(fd);
}

TEST(UnixSocketClaimTest, RemovesAStaleSocket) {
  PrivateDirs dirs;
  const std::string path = dirs.Make() + "/agent.sock";
  close(BindSocket(path, false));
  ASSERT_EQ(access(path.c_str(), F_OK), 0);
  absl::StatusOr<UnixSocketClaim> claim = UnixSocketClaim::Claim(path);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST(UnixSocketClaimTest, NeverRemovesAFileThatIsNotASocket) {
  PrivateDirs dirs;
  const std::string path = dirs.Make() + "/agent.sock";
  std::ofstream(path) << "precious";
  absl::StatusOr<UnixSocketClaim> claim = UnixSocketClaim::Claim(path);
  EXPECT_EQ(claim.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace microledger
