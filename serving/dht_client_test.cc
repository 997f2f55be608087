#include "serving/dht_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr absl::string_view kKey = "0123456789abcdef0123456789abcdef01234567";

TEST(MemoryDhtTest, KeepsValuesByKeyAndIdAndReplacesSameId) {
  std::unique_ptr<DhtClient> dht = NewMemoryDht();
  ASSERT_TRUE(dht->Put(kKey, "one", 1).ok());
  ASSERT_TRUE(dht->Put(kKey, "two", 2).ok());
  ASSERT_TRUE(dht->Put(kKey, "uno", 1).ok());
  EXPECT_THAT(*dht->Get(kKey), ElementsAre("uno", "two"));
  EXPECT_THAT(*dht->Get("ffffffffffffffffffffffffffffffffffffffff"), IsEmpty());
}

TEST(MemoryDhtTest, RejectsKeysThatAreNot40LowercaseHex) {
  std::unique_ptr<DhtClient> dht = NewMemoryDht();
  for (absl::string_view key : {"", "0123", "0123456789ABCDEF0123456789abcdef01234567",
                                "0123456789abcdef0123456789abcdef0123456g",
                                "0123456789abcdef0123456789abcdef012345678"}) {
    EXPECT_EQ(dht->Put(key, "v", 1).code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(dht->Get(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
  }
}

TEST(DhtProxyClientTest, AcceptsOnlyHttpHostPortUrls) {
  for (absl::string_view url :
       {"http://127.0.0.1:4222", "http://[::1]:4222", "http://dht.example:80"}) {
    EXPECT_TRUE(NewDhtProxyClient(url, absl::Seconds(1)).ok()) << url;
  }
  for (absl::string_view url :
       {"", "127.0.0.1:4222", "https://127.0.0.1:4222", "http://127.0.0.1",
        "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:4222/",
        "http://127.0.0.1:4222/path", "http://user@127.0.0.1:4222", "http://unix:/tmp/s",
        "http://127.0.0.1:4222?q"}) {
    EXPECT_EQ(NewDhtProxyClient(url, absl::Seconds(1)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
  EXPECT_EQ(NewDhtProxyClient("http://127.0.0.1:4222", absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A one-answer-per-connection HTTP server on 127.0.0.1: answers every request
// with `status` and `body` and records the requests it got.
class FakeProxy {
 public:
  FakeProxy(int status, std::string body) : status_(status), body_(std::move(body)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 || listen(fd_, 8) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeProxy() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  std::vector<std::string> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (true) {
      const int connection = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) return;
      std::string request;
      char buffer[4096];
      while (true) {
        const size_t head_end = request.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          size_t length = 0;
          const size_t at = request.find("Content-Length: ");
          if (at != std::string::npos && at < head_end) {
            (void)absl::SimpleAtoi(
                request.substr(at + 16, request.find("\r\n", at) - at - 16), &length);
          }
          if (request.size() >= head_end + 4 + length) break;
        }
        const ssize_t n = read(connection, buffer, sizeof buffer);
        if (n <= 0) break;
        request.append(buffer, n);
      }
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(request);
      }
      const std::string answer =
          absl::StrCat("HTTP/1.1 ", status_, " X\r\nContent-Type: application/json\r\n",
                       "Connection: close\r\nContent-Length: ", body_.size(), "\r\n\r\n", body_);
      (void)!write(connection, answer.data(), answer.size());
      close(connection);
    }
  }

  const int status_;
  const std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
};

TEST(DhtProxyClientTest, GetKeepsWellFormedValuesAndSkipsTheRest) {
  FakeProxy proxy(200,
                  "{\"data\":\"b25l\",\"id\":\"1\",\"type\":0}\n"
                  "not json\n"
                  "{\"id\":\"2\",\"type\":0}\n"
                  "{\"data\":17,\"id\":\"3\"}\n"
                  "{\"data\":\"not base64!\",\"id\":\"4\"}\n"
                  "[\"data\"]\n"
                  "\n"
                  "{\"data\":\"dHdv\",\"id\":\"5\",\"type\":0,\"owner\":{}}\n"
                  "{\"data\":\"\",\"id\":\"6\",\"type\":0}");
  auto client = NewDhtProxyClient(proxy.url(), absl::Seconds(5));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::vector<std::string>> values = (*client)->Get(kKey);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values, ElementsAre("one", "two", ""));
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_THAT(proxy.requests()[0], HasSubstr(absl::StrCat("GET /", kKey, " HTTP/1.1")));
}

TEST(DhtProxyClientTest, PutPostsTheValueAsOpenDhtJson) {
  FakeProxy proxy(200, "{\"data\":\"AAH/\",\"id\":\"18446744073709551615\",\"type\":0}");
  auto client = NewDhtProxyClient(proxy.url(), absl::Seconds(5));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Put(kKey, std::string("\0\1\xff", 3), UINT64_MAX).ok());
  ASSERT_EQ(proxy.requests().size(), 1u);
  const std::string request = proxy.requests()[0];
  EXPECT_THAT(request, HasSubstr(absl::StrCat("POST /", kKey, " HTTP/1.1")));
  EXPECT_THAT(request, HasSubstr("Content-Type: application/json"));
  EXPECT_THAT(request,
              HasSubstr("\r\n\r\n{\"data\":\"AAH/\",\"id\":\"18446744073709551615\",\"type\":0}"));
}

TEST(DhtProxyClientTest, RefusalsAreUnavailableWithoutTheKey) {
  FakeProxy proxy(502, "{\"err\":\"Put failed\"}");
  auto client = NewDhtProxyClient(proxy.url(), absl::Seconds(5));
  ASSERT_TRUE(client.ok()) << client.status();
  const absl::Status put = (*client)->Put(kKey, "v", 1);
  EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(put.message(), HasSubstr("502"));
  EXPECT_THAT(put.message(), HasSubstr("Put failed"));
  EXPECT_THAT(put.message(), Not(HasSubstr(kKey)));
  EXPECT_EQ((*client)->Get(kKey).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->Put("nothex", "v", 1).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace microledger
