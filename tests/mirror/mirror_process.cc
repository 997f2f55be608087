#include "tests/mirror/mirror_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/process/server_process.h"

namespace microledger {
namespace {

ServerCommand MirrorCommand(const std::vector<std::string>& flags) {
  const char* binary = std::getenv("ML_MIRROR_BINARY");
  ServerCommand command{binary != nullptr ? binary : "mirror/ml-mirror",
                        {"--listen=127.0.0.1:0"},
                        {}};
  command.args.insert(command.args.end(), flags.begin(), flags.end());
  return command;
}

// The address after "PROGRAM: listening on " in `output`, "" if that line
// is not complete yet.
std::string StartLineAddress(const std::string& output, absl::string_view program) {
  const std::string marker = absl::StrCat(program, ": listening on ");
  size_t at = output.find(marker);
  // "ml-mirror: " must not match inside "ml-mirror admin: " (it cannot: the
  // colon follows the program name), but it must start a line.
  while (at != std::string::npos && at != 0 && output[at - 1] != '\n') {
    at = output.find(marker, at + 1);
  }
  if (at == std::string::npos) return "";
  const size_t end = output.find_first_of(" \n", at + marker.size());
  if (end == std::string::npos) return "";
  return output.substr(at + marker.size(), end - at - marker.size());
}

std::vector<std::string>* dirs_for_exit() {
  static auto* dirs = new std::vector<std::string>();
  return dirs;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MirrorProcess>> MirrorProcess::Start(
    const std::vector<std::string>& flags) {
  std::unique_ptr<MirrorProcess> process(new MirrorProcess());
  bool admin = false;
  for (const std::string& flag : flags) {
    if (absl::string_view(flag).substr(0, 15) == "--admin_listen=" && flag.size() > 15) {
      admin = true;
    }
    if (flag == "--storage=rocksdb") admin = true;  // Default admin socket.
  }
  const ServerCommand command = MirrorCommand(flags);
  int output_fd = -1;
  const pid_t pid = SpawnServer(command, &output_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("cannot start ", command.binary));
  process->pid_ = pid;
  process->output_fd_ = output_fd;
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{process->output_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(process->output_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    (void)!write(2, buffer, n);
    output.append(buffer, n);
    process->address_ = StartLineAddress(output, "ml-mirror");
    process->admin_address_ = admin ? StartLineAddress(output, "ml-mirror admin") : "";
    if (process->address_.empty() || (admin && process->admin_address_.empty())) continue;
    const int fd = process->output_fd_;
    process->drain_ = std::thread([fd] {
      char sink[4096];
      ssize_t got;
      while ((got = read(fd, sink, sizeof sink)) > 0) (void)!write(2, sink, got);
    });
    return process;
  }
  process->Kill9();
  return absl::UnavailableError(absl::StrCat(command.binary, " did not start: ", output));
}

std::pair<int, std::string> MirrorProcess::RunToExit(const std::vector<std::string>& flags) {
  return ServerProcess::RunToExit(MirrorCommand(flags));
}

void MirrorProcess::Kill9() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();
  if (output_fd_ >= 0) {
    close(output_fd_);
    output_fd_ = -1;
  }
}

void MirrorProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(100 * 1000);
    }
  }
  Kill9();
}

MirrorProcess::~MirrorProcess() { Stop(); }

std::unique_ptr<v1::HostService::Stub> MirrorProcess::Stub() const {
  return v1::HostService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<v1::MirrorAdmin::Stub> MirrorProcess::Admin() const {
  return v1::MirrorAdmin::NewStub(
      grpc::CreateChannel(admin_address_, grpc::InsecureChannelCredentials()));
}

std::string AdminSocketFlag() {
  static const bool registered = [] {
    std::atexit([] {
      for (const std::string& dir : *dirs_for_exit()) std::filesystem::remove_all(dir);
    });
    return true;
  }();
  (void)registered;
  char dir[] = "/tmp/mlmXXXXXX";
  if (mkdtemp(dir) == nullptr) return "--admin_listen=unix:/tmp/mlm-admin.sock";
  dirs_for_exit()->push_back(dir);
  return absl::StrCat("--admin_listen=unix:", dir, "/admin.sock");
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<v1::MirroredLedger> MirrorStatus(v1::MirrorAdmin::Stub& admin,
                                                const std::string& ledger_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::MirrorStatusRequest request;
  request.set_ledger_id(ledger_id);
  v1::MirrorStatusResponse response;
  grpc::Status status = admin.Status(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  if (response.ledgers_size() != 1) {
    return absl::InternalError(absl::StrCat("Status gave ", response.ledgers_size(), " ledgers"));
  }
  return response.ledgers(0);
}

bool WaitForVerifiedSize(v1::MirrorAdmin::Stub& admin, const std::string& ledger_id,
                         uint64_t size, absl::Duration timeout) {
  return WaitFor(
      [&] {
        absl::StatusOr<v1::MirroredLedger> status = MirrorStatus(admin, ledger_id);
        return status.ok() && status->verified_size() >= size;
      },
      timeout);
}

uint64_t HeadOf(v1::HostService::Stub& stub, const std::string& ledger_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::GetLedgerResponse response;
  if (!stub.GetLedger(&context, request, &response).ok()) return 0;
  return response.head_number();
}

bool WaitForHead(v1::HostService::Stub& stub, const std::string& ledger_id, uint64_t head,
                 absl::Duration timeout) {
  return WaitFor([&] { return HeadOf(stub, ledger_id) >= head; }, timeout);
}

}  // namespace microledger
