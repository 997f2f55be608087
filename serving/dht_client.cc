#include "serving/dht_client.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "serving/http_client.h"
#include "serving/listen_address.h"

namespace microledger {
namespace {

// Most bytes of a proxy answer read; a Get whose answer is longer keeps the
// values on the complete lines before the cut (a key flooded with junk still
// yields the values the proxy lists first).
constexpr size_t kMaxAnswerBytes = 16 << 20;
// Most bytes of an error answer quoted in a status message.
constexpr size_t kMaxQuotedAnswerBytes = 100;

absl::Status CheckKey(absl::string_view key_hex) {
  if (key_hex.size() != 40) {
    return absl::InvalidArgumentError("a DHT key must be 40 lowercase hex characters");
  }
  for (const char c : key_hex) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) {
      return absl::InvalidArgumentError("a DHT key must be 40 lowercase hex characters");
    }
  }
  return absl::OkStatus();
}

// The value data of one line of a GET answer ({"data":"<base64>","id":...}),
// or nullopt if the line is not such a value.
std::optional<std::string> ValueDataOfLine(absl::string_view line) {
  const nlohmann::json value =
      nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return std::nullopt;
  const auto data = value.find("data");
  if (data == value.end() || !data->is_string()) return std::nullopt;
  absl::StatusOr<std::string> bytes = DecodeBase64Std(data->get_ref<const std::string&>());
  if (!bytes.ok()) return std::nullopt;
  return *std::move(bytes);
}

class DhtProxyClient : public DhtClient {
 public:
  DhtProxyClient(std::string base_url, std::unique_ptr<HttpClient> http)
      : base_url_(std::move(base_url)), http_(std::move(http)) {}

  absl::Status Put(absl::string_view key_hex, absl::string_view value,
                   uint64_t value_id) override {
    if (absl::Status status = CheckKey(key_hex); !status.ok()) return status;
    const nlohmann::json request = {
        {"data", EncodeBase64Std(value)},
        {"id", absl::StrCat(value_id)},
        {"type", 0},
    };
    absl::StatusOr<HttpAnswer> answer = Call(key_hex, request.dump());
    if (!answer.ok()) return answer.status();
    if (answer->status != 200) return Refused("put", *answer);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> Get(absl::string_view key_hex) override {
    if (absl::Status status = CheckKey(key_hex); !status.ok()) return status;
    absl::StatusOr<HttpAnswer> answer = Call(key_hex, std::nullopt);
    if (!answer.ok()) return answer.status();
    if (answer->status != 200) return Refused("get", *answer);
    absl::string_view body = answer->body;
    if (answer->cut) body = body.substr(0, body.rfind('\n') + 1);  // npos + 1 == 0.
    std::vector<std::string> values;
    for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipWhitespace())) {
      if (std::optional<std::string> data = ValueDataOfLine(line)) {
        values.push_back(*std::move(data));
      }
    }
    return values;
  }

 private:
  static absl::Status Refused(absl::string_view what, const HttpAnswer& answer) {
    return absl::UnavailableError(absl::StrCat("the DHT proxy refused the ", what, ": HTTP ",
                                               answer.status, " ",
                                               QuoteForError(answer.body, kMaxQuotedAnswerBytes)));
  }

  // One HTTP request for `key_hex`: a POST of `post_body`, or a GET. The
  // answer, whatever its HTTP status; Unavailable when there is none.
  absl::StatusOr<HttpAnswer> Call(absl::string_view key_hex,
                                  const std::optional<std::string>& post_body) {
    absl::StatusOr<HttpAnswer> answer =
        http_->Call(absl::StrCat(base_url_, "/", key_hex), post_body, "application/json");
    if (!answer.ok()) {
      return absl::UnavailableError(
          absl::StrCat("the DHT proxy did not answer: ", answer.status().message()));
    }
    return answer;
  }

  const std::string base_url_;
  const std::unique_ptr<HttpClient> http_;
};

class MemoryDht : public DhtClient {
 public:
  absl::Status Put(absl::string_view key_hex, absl::string_view value,
                   uint64_t value_id) override {
    if (absl::Status status = CheckKey(key_hex); !status.ok()) return status;
    absl::MutexLock lock(&mu_);
    values_[std::string(key_hex)][value_id] = std::string(value);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> Get(absl::string_view key_hex) override {
    if (absl::Status status = CheckKey(key_hex); !status.ok()) return status;
    absl::MutexLock lock(&mu_);
    std::vector<std::string> found;
    const auto key = values_.find(key_hex);
    if (key == values_.end()) return found;
    for (const auto& [id, value] : key->second) found.push_back(value);
    return found;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::map<uint64_t, std::string>> values_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<DhtClient>> NewDhtProxyClient(absl::string_view proxy_url,
                                                             absl::Duration timeout) {
  constexpr absl::string_view kScheme = "http://";
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("a DHT proxy URL must be http://HOST:PORT, not \"",
                     QuoteForError(proxy_url), "\""));
  };
  if (!absl::StartsWith(proxy_url, kScheme)) return invalid();
  absl::StatusOr<ListenAddress> address = ParseListenAddress(proxy_url.substr(kScheme.size()));
  if (!address.ok() || address->kind != ListenAddress::Kind::kTcp || address->port == 0) {
    return invalid();
  }
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the DHT proxy timeout must be positive");
  }
  HttpClientOptions http;
  http.timeout = timeout;
  http.max_answer_bytes = kMaxAnswerBytes;
  http.protocols = "http";
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(std::move(http));
  if (!client.ok()) return client.status();
  return std::make_unique<DhtProxyClient>(std::string(proxy_url), *std::move(client));
}

std::unique_ptr<DhtClient> NewMemoryDht() { return std::make_unique<MemoryDht>(); }

}  // namespace microledger
