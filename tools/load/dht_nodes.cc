#include "tools/load/dht_nodes.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "tools/load/process_stats.h"

namespace microledger {
namespace load {
namespace {

// Attempts at starting the nodes when one exits at once (most likely a port a
// probe found free was taken before the node bound it).
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

// The good IPv4 peers a node's /node/info reports.
absl::StatusOr<int> GoodPeers(const std::string& proxy_url) {
  absl::StatusOr<std::string> info = HttpGet(absl::StrCat(proxy_url, "/node/info"));
  if (!info.ok()) return info.status();
  const nlohmann::json json = nlohmann::json::parse(*info, nullptr, false);
  if (!json.is_object() || !json.contains("ipv4") || !json["ipv4"].is_object() ||
      !json["ipv4"].contains("good") || !json["ipv4"]["good"].is_number_integer()) {
    return absl::UnavailableError("unexpected /node/info");
  }
  return json["ipv4"]["good"].get<int>();
}

std::string Tail(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const std::string all = text.str();
  return all.size() <= 2000 ? all : all.substr(all.size() - 2000);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DhtNodes>> DhtNodes::Start(const DhtNodesOptions& options) {
  if (options.nodes < 2) return absl::InvalidArgumentError("a DHT needs 2 nodes or more");
  std::random_device random;
  absl::Status last;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    // Never 0: a random id of 32 bits keeps the network to itself.
    const uint32_t network_id = 1 + random() % 0xfffffffeu;
    std::unique_ptr<DhtNodes> nodes(new DhtNodes(options, network_id));
    nodes->nodes_.resize(options.nodes);
    for (Node& node : nodes->nodes_) {
      absl::StatusOr<int> udp = FreePort(SOCK_DGRAM);
      absl::StatusOr<int> tcp = FreePort(SOCK_STREAM);
      if (!udp.ok()) return udp.status();
      if (!tcp.ok()) return tcp.status();
      node.udp_port = *udp;
      node.proxy_port = *tcp;
      node.proxy_url = absl::StrCat("http://127.0.0.1:", node.proxy_port);
    }
    last = absl::OkStatus();
    for (int k = 0; k < options.nodes && last.ok(); ++k) last = nodes->Launch(k);
    if (last.ok()) last = nodes->WaitReady();
    if (last.ok()) return nodes;
    if (!absl::IsAborted(last)) return last;
  }
  return last;
}

absl::Status DhtNodes::Launch(int k) {
  Node& node = nodes_[k];
  std::vector<std::string> args = {"dhtnode", "-s", "-n", absl::StrCat(network_id_),
                                   "-p", absl::StrCat(node.udp_port), "--proxyserver",
                                   absl::StrCat(node.proxy_port)};
  if (!options_.rate_limit) args.push_back("--no-rate-limit");
  if (k > 0) {
    args.push_back("-b");
    args.push_back(absl::StrCat("127.0.0.1:", nodes_[0].udp_port));
  }
  const std::string output_path = absl::StrCat(options_.dir, "/node", k, ".out");
  const pid_t parent = getpid();
  // Made before fork: the child may only make async-signal-safe calls (the
  // benchmark has other threads).
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    // The benchmark may have handlers or a blocked mask; a node starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
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

absl::Status DhtNodes::WaitReady() const {
  const absl::Time deadline = absl::Now() + options_.ready_timeout;
  const int want = std::max(1, std::min(size() - 1, options_.min_peers));
  for (int k = 0; k < size(); ++k) {
    const Node& node = nodes_[k];
    const std::string output = absl::StrCat(options_.dir, "/node", k, ".out");
    while (true) {
      int wait_status = 0;
      if (waitpid(node.pid, &wait_status, WNOHANG) == node.pid) {
        return absl::AbortedError(absl::StrCat("dhtnode ", k, " exited (status ", wait_status,
                                               "): ", Tail(output)));
      }
      absl::StatusOr<int> good = GoodPeers(node.proxy_url);
      if (good.ok() && *good >= want) break;
      if (absl::Now() > deadline) {
        return absl::UnavailableError(absl::StrCat(
            "dhtnode ", k, " not ready after ", absl::FormatDuration(options_.ready_timeout),
            " (", good.ok() ? absl::StrCat(*good, " good peers of ", want) : good.status().ToString(),
            "); its output ends: ", Tail(output)));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  return absl::OkStatus();
}

double DhtNodes::CpuSeconds() const {
  double total = 0;
  for (const Node& node : nodes_) {
    if (node.pid <= 0) continue;
    if (absl::StatusOr<double> cpu = ProcessCpuSeconds(node.pid); cpu.ok()) total += *cpu;
  }
  return total;
}

double DhtNodes::NodeCpuSeconds(int k) const {
  if (nodes_[k].pid <= 0) return 0;
  absl::StatusOr<double> cpu = ProcessCpuSeconds(nodes_[k].pid);
  return cpu.ok() ? *cpu : 0;
}

void DhtNodes::Stop() {
  for (const Node& node : nodes_) {
    if (node.pid > 0) kill(node.pid, SIGTERM);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (Node& node : nodes_) {
    if (node.pid <= 0) continue;
    bool exited = false;
    while (!exited && absl::Now() < deadline) {
      exited = waitpid(node.pid, nullptr, WNOHANG) == node.pid;
      if (!exited) absl::SleepFor(absl::Milliseconds(10));
    }
    if (!exited) {
      std::fprintf(stderr, "dhtnode %d did not exit 5 s after SIGTERM; killed\n", node.pid);
      kill(node.pid, SIGKILL);
      waitpid(node.pid, nullptr, 0);
    }
    node.pid = -1;
  }
}

}  // namespace load
}  // namespace microledger
