#include "tests/dht/dht_cluster.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/process/server_process.h"

namespace microledger {
namespace {

// Attempts at starting a cluster when a node exits at once (most likely a
// port a probe found free was taken before the node bound it).
constexpr int kStartAttempts = 3;

// A port that a dual-stack ([::], IPv4 too) socket of `type` could bind.
absl::StatusOr<int> FreePort(int type) {
  const int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int off = 0;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_any;
  socklen_t size = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat("probe bind: ", error));
  }
  close(fd);
  return ntohs(address.sin6_port);
}

size_t AppendBody(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

// GET `url` with a 1 s timeout: the body of a 200 answer, else Unavailable.
absl::StatusOr<std::string> HttpGet(const std::string& url) {
  static const CURLcode initialized = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialized != CURLE_OK) return absl::InternalError("curl_global_init failed");
  CURL* handle = curl_easy_init();
  if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROXY, "");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(handle);
  if (code != CURLE_OK) return absl::UnavailableError(curl_easy_strerror(code));
  if (status != 200) return absl::UnavailableError(absl::StrCat("HTTP ", status));
  return body;
}

std::string LogTail(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const std::string all = text.str();
  return all.size() <= 3000 ? all : all.substr(all.size() - 3000);
}

void StopPid(pid_t pid) {
  kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

absl::StatusOr<int> UnusedTcpPort() { return FreePort(SOCK_STREAM); }

absl::StatusOr<std::unique_ptr<DhtCluster>> DhtCluster::Start(int nodes,
                                                               absl::Duration ready_timeout) {
  if (nodes < 1) return absl::InvalidArgumentError("a cluster needs a node");
  std::random_device random;
  absl::Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    // Never 0: a random id of 32 bits keeps the cluster to itself.
    const uint32_t network_id = 1 + random() % 0xfffffffeu;
    std::unique_ptr<DhtCluster> cluster(new DhtCluster(NewTempDir("dht_cluster"), network_id));
    cluster->nodes_.resize(nodes);
    std::vector<int> all;
    for (int k = 0; k < nodes; ++k) {
      Node& node = cluster->nodes_[k];
      absl::StatusOr<int> udp = FreePort(SOCK_DGRAM);
      absl::StatusOr<int> tcp = FreePort(SOCK_STREAM);
      if (!udp.ok()) return udp.status();
      if (!tcp.ok()) return tcp.status();
      node.udp_port = *udp;
      node.proxy_port = *tcp;
      node.proxy_url = absl::StrCat("http://127.0.0.1:", node.proxy_port);
      node.log_path = absl::StrCat(cluster->dir_, "/node", k, ".log");
      all.push_back(k);
    }
    last = absl::OkStatus();
    for (int k = 0; k < nodes && last.ok(); ++k) last = cluster->Launch(k);
    if (last.ok()) last = cluster->WaitReady(all, ready_timeout);
    if (last.ok()) return cluster;
    if (!absl::IsAborted(last)) return last;
  }
  return last;
}

DhtCluster::~DhtCluster() {
  for (int k = 0; k < size(); ++k) StopNode(k);
}

absl::Status DhtCluster::Launch(int k) {
  Node& node = nodes_[k];
  std::vector<std::string> args = {"dhtnode",
                                   "-v",
                                   "-s",
                                   "-n",
                                   absl::StrCat(network_id_),
                                   "-p",
                                   absl::StrCat(node.udp_port),
                                   "--proxyserver",
                                   absl::StrCat(node.proxy_port),
                                   "-l",
                                   node.log_path};
  // Node k > 0 bootstraps to node 0. Node 0 is started first, with nobody to
  // bootstrap to (the others find it); restarted, it bootstraps to node 1.
  const int bootstrap = k > 0 ? 0 : (size() > 1 && nodes_[1].pid > 0 ? 1 : -1);
  if (bootstrap >= 0) {
    args.push_back("-b");
    args.push_back(absl::StrCat("127.0.0.1:", nodes_[bootstrap].udp_port));
  }
  const std::string output_path = absl::StrCat(dir_, "/node", k, ".out");
  const pid_t parent = getpid();
  // Made before fork: the child may only make async-signal-safe calls (the
  // test has other threads; see tests/process/server_process.cc).
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    const int null = open("/dev/null", O_RDONLY);
    const int out = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null, 0);
    dup2(out, 1);
    dup2(out, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  node.pid = pid;
  return absl::OkStatus();
}

absl::Status DhtCluster::WaitReady(const std::vector<int>& nodes,
                                   absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  for (const int k : nodes) {
    while (true) {
      const Node& node = nodes_[k];
      int wait_status = 0;
      if (waitpid(node.pid, &wait_status, WNOHANG) == node.pid) {
        return absl::AbortedError(absl::StrCat("dhtnode ", k, " exited (status ", wait_status,
                                               "): ", LogTail(node.log_path),
                                               LogTail(absl::StrCat(dir_, "/node", k, ".out"))));
      }
      absl::StatusOr<int> good = GoodPeers(k);
      if (good.ok() && (*good >= 1 || size() == 1)) break;
      if (absl::Now() > deadline) {
        return absl::UnavailableError(
            absl::StrCat("dhtnode ", k, " not ready after ", absl::FormatDuration(timeout), " (",
                         good.ok() ? "no good peer" : good.status().ToString(),
                         "); its log ends: ", LogTail(node.log_path)));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> DhtCluster::GoodPeers(int k) const {
  absl::StatusOr<std::string> info = HttpGet(absl::StrCat(proxy_url(k), "/node/info"));
  if (!info.ok()) return info.status();
  const nlohmann::json json = nlohmann::json::parse(*info, nullptr, false);
  if (!json.is_object() || !json.contains("ipv4") || !json["ipv4"].is_object() ||
      !json["ipv4"].contains("good") || !json["ipv4"]["good"].is_number_integer()) {
    return absl::UnavailableError(absl::StrCat("unexpected /node/info: ", *info));
  }
  return json["ipv4"]["good"].get<int>();
}

void DhtCluster::StopNode(int k) {
  Node& node = nodes_[k];
  if (node.pid <= 0) return;
  StopPid(node.pid);
  node.pid = -1;
}

absl::Status DhtCluster::RestartNode(int k, absl::Duration ready_timeout) {
  if (nodes_[k].pid > 0) return absl::FailedPreconditionError("the node is running");
  if (absl::Status status = Launch(k); !status.ok()) return status;
  return WaitReady({k}, ready_timeout);
}

DhtCluster* ThreeNodeDhtTest::cluster_ = nullptr;

void ThreeNodeDhtTest::SetUpTestSuite() {
  absl::StatusOr<std::unique_ptr<DhtCluster>> started = DhtCluster::Start(3);
  ASSERT_TRUE(started.ok()) << started.status();
  cluster_ = started->release();
}

void ThreeNodeDhtTest::TearDownTestSuite() {
  delete cluster_;
  cluster_ = nullptr;
}

void ThreeNodeDhtTest::SetUp() { ASSERT_NE(cluster_, nullptr); }

}  // namespace microledger
