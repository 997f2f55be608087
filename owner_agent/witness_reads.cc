#include "owner_agent/witness_reads.h"

#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "serving/http_client.h"

namespace microledger {
namespace {

// A note is a few hundred bytes; a witness keeps few evidence objects per
// ledger, each at most kMaxEvidenceBytes.
constexpr size_t kMaxAnswerBytes = 16 * kMaxEvidenceBytes;

class HttpWitnessReads : public WitnessReads {
 public:
  HttpWitnessReads(std::string url, std::unique_ptr<HttpClient> http)
      : url_(std::move(url)), http_(std::move(http)) {}

  absl::StatusOr<std::string> LatestCheckpoint(const std::string& ledger_id) override {
    return Get(ledger_id, "checkpoint");
  }

  absl::StatusOr<std::vector<std::string>> Evidence(const std::string& ledger_id) override {
    absl::StatusOr<std::string> body = Get(ledger_id, "evidence");
    if (absl::IsNotFound(body.status())) return std::vector<std::string>();
    if (!body.ok()) return body.status();
    return std::vector<std::string>(absl::StrSplit(*body, '\n', absl::SkipEmpty()));
  }

 private:
  absl::StatusOr<std::string> Get(const std::string& ledger_id, absl::string_view what) {
    absl::StatusOr<HttpAnswer> answer = http_->Call(
        absl::StrCat(url_, "/", WitnessOriginHash(ledger_id), "/", what), std::nullopt);
    if (!answer.ok()) return answer.status();
    if (answer->status == 404) {
      return absl::NotFoundError(absl::StrCat("the witness has no ", what, " of the ledger"));
    }
    if (answer->status != 200 || answer->cut) {
      return absl::UnavailableError(absl::StrCat("the witness answered GET ", what, " with ",
                                                 answer->status,
                                                 answer->cut ? " (too long)" : ""));
    }
    return std::move(answer->body);
  }

  const std::string url_;
  const std::unique_ptr<HttpClient> http_;
};

}  // namespace

std::string WitnessOriginHash(absl::string_view ledger_id) {
  return absl::BytesToHexString(Sha256(ledger_id));
}

absl::StatusOr<std::unique_ptr<WitnessReads>> NewHttpWitnessReads(const std::string& url,
                                                                  absl::Duration timeout) {
  HttpClientOptions options;
  options.timeout = timeout;
  options.max_answer_bytes = kMaxAnswerBytes;
  options.protocols = "http,https";
  absl::StatusOr<std::unique_ptr<HttpClient>> http = HttpClient::Create(options);
  if (!http.ok()) return http.status();
  return std::make_unique<HttpWitnessReads>(url, *std::move(http));
}

}  // namespace microledger
