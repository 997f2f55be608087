// LoadPassphrase (keystore.h): the passphrase file's first line, its
// permissions and size, pipes, FIFOs, character devices, standard input ("-")
// and a terminal prompt with echo off, and the environment variable.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "owner_agent/keystore.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

// A fresh, empty directory under the test's temporary directory.
std::string NewTempDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/passphrase_XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return pattern;
}

void WriteFile(const std::string& path, absl::string_view contents, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

class LoadPassphraseTest : public testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kPassphraseEnvVar);
    dir_ = NewTempDir();
  }
  void TearDown() override { ::unsetenv(kPassphraseEnvVar); }

  std::string PassphraseFile(absl::string_view contents, mode_t mode = 0600) {
    const std::string path = absl::StrCat(dir_, "/passphrase");
    WriteFile(path, contents, mode);
    return path;
  }

  std::string dir_;
};

TEST_F(LoadPassphraseTest, ReadsFirstLineOfFile) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile("secret words\n"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "secret words");
}

TEST_F(LoadPassphraseTest, FileWithoutTrailingNewline) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile("secret"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "secret");
}

TEST_F(LoadPassphraseTest, StripsCarriageReturnAndIgnoresLaterLines) {
  absl::StatusOr<std::string> passphrase =
      LoadPassphrase(PassphraseFile("secret \r\nsecond line\n"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "secret ");
}

TEST_F(LoadPassphraseTest, EmptyFileIsRefused) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile(""));
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("empty"));
}

TEST_F(LoadPassphraseTest, EmptyFirstLineIsRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(LoadPassphrase(PassphraseFile("\nsecret\n")).status()));
}

TEST_F(LoadPassphraseTest, FileOthersCanReadIsRefused) {
  const std::string path = PassphraseFile("secret\n", 0640);
  absl::StatusOr<std::string> passphrase = LoadPassphrase(path);
  EXPECT_TRUE(absl::IsFailedPrecondition(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("chmod 600"));
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr(path));
}

TEST_F(LoadPassphraseTest, OversizedFileIsRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      LoadPassphrase(PassphraseFile(std::string(kMaxPassphraseFileSize + 1, 'a')))
          .status()));
}

TEST_F(LoadPassphraseTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(absl::StrCat(dir_, "/absent"));
  EXPECT_TRUE(absl::IsNotFound(passphrase.status())) << passphrase.status();
}

TEST_F(LoadPassphraseTest, ReadsEnvironmentVariableWithoutFile) {
  ASSERT_EQ(::setenv(kPassphraseEnvVar, "from env", 1), 0);
  absl::StatusOr<std::string> passphrase = LoadPassphrase("");
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "from env");
}

TEST_F(LoadPassphraseTest, FileTakesPrecedenceOverEnvironment) {
  ASSERT_EQ(::setenv(kPassphraseEnvVar, "from env", 1), 0);
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile("from file\n"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "from file");
}

TEST_F(LoadPassphraseTest, EmptyEnvironmentVariableIsRefused) {
  ASSERT_EQ(::setenv(kPassphraseEnvVar, "", 1), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(LoadPassphrase("").status()));
}

TEST_F(LoadPassphraseTest, NoSourceIsInvalidArgumentNamingBoth) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase("");
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr(kPassphraseEnvVar));
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("passphrase file"));
}

// A pipe whose read end is open as /dev/fd/N: what `<(command)` gives.
class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe(fds_), 0); }
  ~Pipe() {
    CloseWriteEnd();
    ::close(fds_[0]);
  }
  int read_fd() const { return fds_[0]; }
  std::string ReadEndPath() const { return absl::StrCat("/dev/fd/", fds_[0]); }
  void Write(absl::string_view bytes) {
    ASSERT_EQ(::write(fds_[1], bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  void CloseWriteEnd() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Makes `fd` the process's standard input until destroyed.
class StdinReplacement {
 public:
  explicit StdinReplacement(int fd) : saved_(::dup(STDIN_FILENO)) {
    EXPECT_GE(saved_, 0);
    EXPECT_EQ(::dup2(fd, STDIN_FILENO), STDIN_FILENO);
  }
  ~StdinReplacement() {
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }

 private:
  const int saved_;
};

TEST_F(LoadPassphraseTest, ReadsFirstLineOfPipe) {
  Pipe pipe;
  pipe.Write("pipe secret\nsecond line\n");
  pipe.CloseWriteEnd();
  absl::StatusOr<std::string> passphrase = LoadPassphrase(pipe.ReadEndPath());
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "pipe secret");
}

TEST_F(LoadPassphraseTest, PipeIsReadUpToTheNewlineWithoutWaitingForItsEnd) {
  Pipe pipe;
  pipe.Write("still open\n");
  // Should LoadPassphrase wait for the end of the pipe, this closes it after
  // 60 s and the test fails instead of hanging.
  absl::Notification returned;
  bool had_to_close = false;
  std::thread closer([&] {
    if (!returned.WaitForNotificationWithTimeout(absl::Seconds(60))) {
      had_to_close = true;
      pipe.CloseWriteEnd();
    }
  });
  absl::StatusOr<std::string> passphrase = LoadPassphrase(pipe.ReadEndPath());
  returned.Notify();
  closer.join();
  EXPECT_FALSE(had_to_close);
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "still open");
}

TEST_F(LoadPassphraseTest, ReadsNamedFifo) {
  const std::string path = absl::StrCat(dir_, "/fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::thread writer([&] {
    std::ofstream out(path, std::ios::binary);
    out << "fifo secret\n";
  });
  absl::StatusOr<std::string> passphrase = LoadPassphrase(path);
  writer.join();
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "fifo secret");
}

TEST_F(LoadPassphraseTest, EmptyPipeIsRefused) {
  Pipe pipe;
  pipe.CloseWriteEnd();
  absl::StatusOr<std::string> passphrase = LoadPassphrase(pipe.ReadEndPath());
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("empty"));
}

TEST_F(LoadPassphraseTest, PipeWithoutNewlineWithinLimitIsRefused) {
  Pipe pipe;
  pipe.Write(std::string(kMaxPassphraseFileSize + 100, 'a'));
  absl::StatusOr<std::string> passphrase = LoadPassphrase(pipe.ReadEndPath());
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("longer than"));
}

TEST_F(LoadPassphraseTest, CharacterDeviceIsReadOnce) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase("/dev/null");
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("empty"));
}

TEST_F(LoadPassphraseTest, DirectoryIsRefused) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(dir_);
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("not a regular file"));
}

TEST_F(LoadPassphraseTest, DashReadsStandardInputPipe) {
  Pipe pipe;
  pipe.Write("stdin secret\n");
  pipe.CloseWriteEnd();
  StdinReplacement stdin_is_pipe(pipe.read_fd());
  absl::StatusOr<std::string> passphrase = LoadPassphrase("-");
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "stdin secret");
}

TEST_F(LoadPassphraseTest, DashOnARegularFileKeepsThePermissionCheck) {
  const int fd = ::open(PassphraseFile("secret\n", 0644).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  absl::StatusOr<std::string> passphrase;
  {
    StdinReplacement stdin_is_file(fd);
    passphrase = LoadPassphrase("-");
  }
  ::close(fd);
  EXPECT_TRUE(absl::IsFailedPrecondition(passphrase.status())) << passphrase.status();
}

// A pseudo-terminal as standard input: LoadPassphrase("-") prompts, turns echo
// off before the line is typed, and restores the terminal afterwards.
TEST_F(LoadPassphraseTest, DashOnATerminalReadsWithEchoOff) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int terminal = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(terminal, 0);
  // Types the line once echo is off (at most 20 s of polling).
  std::thread typist([&] {
    for (int attempt = 0; attempt < 2000; ++attempt) {
      struct termios settings;
      if (::tcgetattr(terminal, &settings) == 0 && (settings.c_lflag & ECHO) == 0) {
        constexpr absl::string_view kTyped = "typed secret\n";
        EXPECT_EQ(::write(master, kTyped.data(), kTyped.size()),
                  static_cast<ssize_t>(kTyped.size()));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "echo was never turned off";
    EXPECT_EQ(::write(master, "\n", 1), 1);
  });
  absl::StatusOr<std::string> passphrase;
  {
    StdinReplacement stdin_is_terminal(terminal);
    passphrase = LoadPassphrase("-");
  }
  typist.join();
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "typed secret");

  struct termios after;
  ASSERT_EQ(::tcgetattr(terminal, &after), 0);
  EXPECT_NE(after.c_lflag & ECHO, 0u) << "echo was not restored";
  ASSERT_EQ(::fcntl(master, F_SETFL, O_NONBLOCK), 0);
  char echoed[256];
  const ssize_t n = ::read(master, echoed, sizeof(echoed));
  const std::string shown(echoed, n > 0 ? static_cast<size_t>(n) : 0);
  EXPECT_THAT(shown, ::testing::Not(HasSubstr("typed secret")));
  ::close(terminal);
  ::close(master);
}

}  // namespace
}  // namespace microledger
