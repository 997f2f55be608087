#include "serving/witness_client.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "serving/http_client.h"

namespace microledger {
namespace {

// Most bytes of a witness's answer read (a few cosignature lines fit many
// times over).
constexpr size_t kMaxAnswerBytes = 64 << 10;
// Most bytes of an answer quoted in a result's detail.
constexpr size_t kMaxQuotedAnswerBytes = 100;

// The note text (the three lines the signatures cover) of a signed note.
absl::string_view NoteText(absl::string_view checkpoint_note) {
  const size_t blank = checkpoint_note.find("\n\n");
  return blank == absl::string_view::npos ? checkpoint_note : checkpoint_note.substr(0, blank + 1);
}

WitnessResult Failed(WitnessOutcome outcome, long http_status, std::string detail) {
  WitnessResult result;
  result.outcome = outcome;
  result.http_status = http_status;
  result.detail = std::move(detail);
  return result;
}

// A decimal without leading zeros that fits 64 bits.
bool ParseSize(absl::string_view text, uint64_t* size) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(text, size);
}

// The first line of `body` by `witness` that verifies on the note's text; a
// 200 may carry lines of other keys (C2SP allows several), which are skipped.
WitnessResult ReadCosignature(const WitnessKey& witness, absl::string_view checkpoint_note,
                              absl::string_view body) {
  const absl::string_view note_text = NoteText(checkpoint_note);
  const std::string line_prefix = absl::StrCat("\xE2\x80\x94 ", witness.name, " ");
  std::string failure = "no cosignature line of this witness";
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, line_prefix)) continue;
    std::string with_newline = absl::StrCat(line, "\n");
    absl::StatusOr<uint64_t> verified = VerifyCosignatureLine(with_newline, note_text, witness);
    if (verified.ok()) {
      WitnessResult result;
      result.outcome = WitnessOutcome::kCosigned;
      result.http_status = 200;
      result.cosignature_line = std::move(with_newline);
      return result;
    }
    failure = std::string(verified.status().message());
  }
  return Failed(WitnessOutcome::kInvalidAnswer, 200,
                absl::StrCat("the witness's 200 answer does not verify: ", failure));
}

class HttpWitnessClient : public WitnessClient {
 public:
  HttpWitnessClient(WitnessEndpoint endpoint, std::unique_ptr<HttpClient> http)
      : endpoint_(std::move(endpoint)),
        add_checkpoint_url_(absl::StrCat(endpoint_.url, "/add-checkpoint")),
        http_(std::move(http)) {}

  const WitnessEndpoint& endpoint() const override { return endpoint_; }

  WitnessResult AddCheckpoint(uint64_t old_size, const std::vector<MerkleHash>& proof,
                              absl::string_view checkpoint_note) override {
    absl::StatusOr<HttpAnswer> answer =
        http_->Call(add_checkpoint_url_, AddCheckpointRequestBody(old_size, proof, checkpoint_note),
                    "text/plain; charset=utf-8");
    if (!answer.ok()) {
      return Failed(WitnessOutcome::kTransportError, 0, std::string(answer.status().message()));
    }
    if (answer->cut) {
      return Failed(WitnessOutcome::kInvalidAnswer, answer->status, "the answer is too long");
    }
    return ReadAddCheckpointAnswer(endpoint_.key, checkpoint_note, answer->status, answer->body);
  }

 private:
  const WitnessEndpoint endpoint_;
  const std::string add_checkpoint_url_;
  const std::unique_ptr<HttpClient> http_;
};

}  // namespace

absl::string_view WitnessOutcomeName(WitnessOutcome outcome) {
  switch (outcome) {
    case WitnessOutcome::kCosigned:
      return "cosigned";
    case WitnessOutcome::kSizeConflict:
      return "size_conflict";
    case WitnessOutcome::kFrozen:
      return "frozen";
    case WitnessOutcome::kInconsistent:
      return "inconsistent";
    case WitnessOutcome::kBadRequest:
      return "bad_request";
    case WitnessOutcome::kForbidden:
      return "forbidden";
    case WitnessOutcome::kNotFound:
      return "not_found";
    case WitnessOutcome::kTooManyRequests:
      return "too_many_requests";
    case WitnessOutcome::kInvalidAnswer:
      return "invalid_answer";
    case WitnessOutcome::kTransportError:
      return "transport_error";
  }
  return "invalid_answer";
}

std::string AddCheckpointRequestBody(uint64_t old_size, const std::vector<MerkleHash>& proof,
                                     absl::string_view checkpoint_note) {
  std::string body = absl::StrCat("old ", old_size, "\n");
  for (const MerkleHash& hash : proof) {
    absl::StrAppend(&body, EncodeBase64Std(MerkleHashBytes(hash)), "\n");
  }
  absl::StrAppend(&body, "\n", checkpoint_note);
  return body;
}

WitnessResult ReadAddCheckpointAnswer(const WitnessKey& witness,
                                      absl::string_view checkpoint_note, long http_status,
                                      absl::string_view body) {
  const std::string quoted = QuoteForError(body, kMaxQuotedAnswerBytes);
  switch (http_status) {
    case 200:
      return ReadCosignature(witness, checkpoint_note, body);
    case 409: {
      uint64_t size = 0;
      if (!ParseSize(absl::StripSuffix(body, "\n"), &size)) {
        return Failed(WitnessOutcome::kInvalidAnswer, http_status,
                      absl::StrCat("a 409 without a size: ", quoted));
      }
      WitnessResult result = Failed(WitnessOutcome::kSizeConflict, http_status,
                                    absl::StrCat("the witness has size ", size));
      result.witness_size = size;
      return result;
    }
    case 422: {
      absl::string_view rest = absl::StripSuffix(body, "\n");
      if (absl::ConsumePrefix(&rest, "frozen ") && !rest.empty() &&
          rest.find_first_of(" \n") == absl::string_view::npos) {
        WitnessResult result =
            Failed(WitnessOutcome::kFrozen, http_status, absl::StrCat("frozen ", rest));
        result.evidence_id = std::string(rest);
        return result;
      }
      return Failed(WitnessOutcome::kInconsistent, http_status, quoted);
    }
    case 400:
      return Failed(WitnessOutcome::kBadRequest, http_status, quoted);
    case 403:
      return Failed(WitnessOutcome::kForbidden, http_status, quoted);
    case 404:
      return Failed(WitnessOutcome::kNotFound, http_status, quoted);
    case 429:
      return Failed(WitnessOutcome::kTooManyRequests, http_status, quoted);
    default:
      return Failed(WitnessOutcome::kInvalidAnswer, http_status,
                    absl::StrCat("HTTP ", http_status, " ", quoted));
  }
}

absl::StatusOr<std::unique_ptr<WitnessClient>> NewHttpWitnessClient(WitnessEndpoint endpoint,
                                                                     absl::Duration timeout) {
  HttpClientOptions options;
  options.timeout = timeout;
  options.max_answer_bytes = kMaxAnswerBytes;
  options.protocols = "http,https";
  absl::StatusOr<std::unique_ptr<HttpClient>> http = HttpClient::Create(std::move(options));
  if (!http.ok()) return http.status();
  return std::unique_ptr<WitnessClient>(
      new HttpWitnessClient(std::move(endpoint), *std::move(http)));
}

}  // namespace microledger
