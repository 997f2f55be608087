#include "serving/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace microledger {
namespace {

// Idle connections (easy handles) kept for reuse.
constexpr size_t kMaxIdleHandles = 8;

struct Transfer {
  HttpAnswer answer;
  size_t max_bytes = 0;
};

size_t AppendToAnswer(char* data, size_t size, size_t count, void* transfer_ptr) {
  Transfer& transfer = *static_cast<Transfer*>(transfer_ptr);
  const size_t bytes = size * count;
  if (transfer.answer.body.size() + bytes > transfer.max_bytes) {
    transfer.answer.cut = true;
    return 0;  // Aborts the transfer (CURLE_WRITE_ERROR).
  }
  transfer.answer.body.append(data, bytes);
  return bytes;
}

}  // namespace

class HttpClient::HandlePool {
 public:
  ~HandlePool() {
    absl::MutexLock lock(&mu_);
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  CURL* Take() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Return(CURL* handle) {
    curl_easy_reset(handle);  // Options go; the connection stays for reuse.
    absl::MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(handle);
      return;
    }
    curl_easy_cleanup(handle);
  }

 private:
  absl::Mutex mu_;
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("an HTTP client's timeout must be positive");
  }
  static const CURLcode curl_initialized = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (curl_initialized != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init: ", curl_easy_strerror(curl_initialized)));
  }
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::move(options), std::make_unique<HandlePool>()));
}

HttpClient::HttpClient(HttpClientOptions options, std::unique_ptr<HandlePool> pool)
    : options_(std::move(options)), pool_(std::move(pool)) {}

HttpClient::~HttpClient() = default;

absl::StatusOr<HttpAnswer> HttpClient::Call(const std::string& url,
                                            const std::optional<std::string>& body,
                                            absl::string_view content_type) const {
  CURL* handle = pool_->Take();
  if (handle == nullptr) return absl::InternalError("curl_easy_init failed");
  const long timeout_ms =
      static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.timeout)));
  Transfer transfer;
  transfer.max_bytes = options_.max_answer_bytes;
  char error[CURL_ERROR_SIZE] = "";
  curl_slist* headers = nullptr;
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, options_.protocols.c_str());
  curl_easy_setopt(handle, CURLOPT_PROXY, "");  // Ignore http_proxy & co.
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &AppendToAnswer);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  if (body.has_value()) {
    headers = curl_slist_append(headers, absl::StrCat("Content-Type: ", content_type).c_str());
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body->data());
  }
  const CURLcode code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.answer.status);
  char* answer_type = nullptr;
  if (curl_easy_getinfo(handle, CURLINFO_CONTENT_TYPE, &answer_type) == CURLE_OK &&
      answer_type != nullptr) {
    transfer.answer.content_type = answer_type;
  }
  curl_slist_free_all(headers);
  pool_->Return(handle);
  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer.answer.cut)) {
    return std::move(transfer.answer);
  }
  // The error buffer names the host and port at most, never the path.
  return absl::UnavailableError(error[0] != '\0' ? error : curl_easy_strerror(code));
}

}  // namespace microledger
