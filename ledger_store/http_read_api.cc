#include "ledger_store/http_read_api.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/encoding.h"
#include "common/tile_path.h"
#include "serving/gzip.h"
#include "serving/log.h"

namespace microledger {
namespace {

constexpr absl::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr absl::string_view kShortLived = "public, max-age=2";
constexpr absl::string_view kRevalidate = "no-cache";
constexpr absl::string_view kNotStored = "no-store";
constexpr absl::string_view kPageSecurityPolicy =
    "default-src 'self'; connect-src *; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// A strong validator of `body`: 128 bits of its SHA-256.
std::string EntityTag(absl::string_view body) {
  return absl::StrCat("\"", EncodeBase64Url(Sha256(body).substr(0, 16)), "\"");
}

// Whether an If-None-Match header value names `tag` (or is "*").
bool Matches(absl::string_view if_none_match, absl::string_view tag) {
  for (absl::string_view candidate : absl::StrSplit(if_none_match, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    if (absl::StartsWith(candidate, "W/")) candidate.remove_prefix(2);
    if (candidate == "*" || candidate == tag) return true;
  }
  return false;
}

HttpResponse Error(int status, absl::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = absl::StrCat(message, "\n");
  response.headers.emplace_back("Cache-Control", std::string(kNotStored));
  return response;
}

HttpResponse ErrorOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return Error(404, status.message());
    case absl::StatusCode::kInvalidArgument:
      return Error(400, status.message());
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return Error(503, "the store is unavailable, try again");
    default:
      return Error(500, "internal error");
  }
}

// A 200 of `answer`, cached as `cache_control`, or a 304 when the client's
// copy is current.
// An answer offered gzip-encoded is two representations, each with its own
// entity tag ("…-gzip" for the encoded one).
HttpResponse Found(const HttpRequest& request, const ImmutableAnswer& answer,
                   absl::string_view content_type, absl::string_view cache_control) {
  HttpResponse response;
  response.headers = answer.headers;
  const bool gzip = !answer.gzip_body.empty() && AcceptsGzip(request.Header("accept-encoding"));
  const std::string tag =
      gzip ? absl::StrCat(absl::string_view(answer.entity_tag).substr(
                              0, answer.entity_tag.size() - 1),
                          "-gzip\"")
           : answer.entity_tag;
  if (Matches(request.Header("if-none-match"), tag)) {
    response.status = 304;
  } else {
    response.body = gzip ? answer.gzip_body : answer.body;
  }
  if (answer.varies_by_encoding) response.headers.emplace_back("Vary", "Accept-Encoding");
  if (gzip) response.headers.emplace_back("Content-Encoding", "gzip");
  response.content_type = std::string(content_type);
  response.headers.emplace_back("ETag", tag);
  response.headers.emplace_back("Cache-Control", std::string(cache_control));
  return response;
}

std::shared_ptr<ImmutableAnswer> AnswerOf(
    std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto answer = std::make_shared<ImmutableAnswer>();
  answer->entity_tag = EntityTag(body);
  answer->body = std::move(body);
  answer->headers = std::move(headers);
  return answer;
}

// RFC 8187 ext-value of a UTF-8 file name: every byte but unreserved ones
// percent-encoded, so no header can be forged through a name.
std::string ContentDisposition(absl::string_view name) {
  std::string encoded;
  for (const unsigned char c : name) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&encoded, "%%%02X", c);
    }
  }
  return absl::StrCat("attachment; filename*=UTF-8''", encoded);
}

const char* ResourceLabel(int resource) {
  static const char* const kLabels[] = {"page", "checkpoint", "tile", "blocks", "attachment",
                                        "other"};
  return kLabels[resource];
}

}  // namespace

HttpReadApi::HttpReadApi(const LedgerReader* reader, std::vector<StaticFile> page_files,
                         HttpReadApiOptions options, MetricsRegistry* registry,
                         const std::string& metrics_prefix)
    : reader_(reader),
      page_files_(std::move(page_files)),
      options_(options),
      limiter_(options.client_requests.per_second > 0
                   ? std::make_unique<ClientRateLimiter>(options.client_requests)
                   : nullptr),
      cache_(options.cache_bytes),
      reads_(registry == nullptr
                 ? nullptr
                 : &registry->AddCounter(metrics_prefix + "http_reads_total",
                                         "HTTP read API requests answered, by resource "
                                         "(page, checkpoint, tile, blocks, attachment, "
                                         "other) and HTTP status code.",
                                         {"resource", "code"})) {
  for (const StaticFile& file : page_files_) page_answers_.push_back(AnswerOf(file.body));
}

void HttpReadApi::Register(HttpServer& server) {
  server.HandleGetUnder("/", [this](const HttpRequest& request) { return Answer(request); });
}

void HttpReadApi::Count(Resource resource, int status) const {
  if (reads_ == nullptr) return;
  reads_->WithLabels({ResourceLabel(static_cast<int>(resource)), absl::StrCat(status)})
      .Increment();
}

HttpResponse HttpReadApi::Answer(const HttpRequest& request) const {
  Resource resource = Resource::kOther;
  HttpResponse response;
  if (request.path.size() > options_.max_path_bytes) {
    response = Error(414, "the path is too long");
  } else if (limiter_ != nullptr && !limiter_->Allow(request.remote_address)) {
    response = Error(429, "too many requests from this address, slow down");
    response.headers.emplace_back("Retry-After", "1");
  } else {
    response = AnswerLedgerPath(request, resource);
  }
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  Count(resource, response.status);
  return response;
}

HttpResponse HttpReadApi::Immutable(const HttpRequest& request, absl::string_view ledger_id,
                                    absl::string_view key, bool complete,
                                    absl::string_view content_type,
                                    const AnswerReader& read) const {
  if (complete) {
    if (std::shared_ptr<const ImmutableAnswer> kept = cache_.Find(key)) {
      // Kept answers change only by being deleted with their ledger.
      absl::StatusOr<uint64_t> head = reader_->CommittedHead(ledger_id);
      if (!head.ok()) return ErrorOf(head.status());
      return Found(request, *kept, content_type, kImmutable);
    }
  }
  absl::StatusOr<std::shared_ptr<const ImmutableAnswer>> answer = read();
  if (!answer.ok()) return ErrorOf(answer.status());
  if (complete) cache_.Insert(key, *answer);
  return Found(request, **answer, content_type, complete ? kImmutable : kShortLived);
}

HttpResponse HttpReadApi::AnswerLedgerPath(const HttpRequest& request,
                                           Resource& resource) const {
  for (size_t i = 0; i < page_files_.size(); ++i) {
    const StaticFile& file = page_files_[i];
    if (request.path == file.path || (i == 0 && request.path == "/")) {
      resource = Resource::kPage;
      HttpResponse response =
          Found(request, *page_answers_[i], file.content_type, kRevalidate);
      if (absl::StartsWith(file.content_type, "text/html")) {
        response.headers.emplace_back("Content-Security-Policy",
                                      std::string(kPageSecurityPolicy));
      }
      return response;
    }
  }
  // "/<ledger id>/<resource path>"
  absl::string_view path = request.path;
  if (!absl::ConsumePrefix(&path, "/")) return Error(404, "not found");
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return Error(404, "not found");
  const absl::string_view ledger_id = path.substr(0, slash);
  absl::string_view rest = path.substr(slash + 1);

  if (rest == "checkpoint") {
    resource = Resource::kCheckpoint;
    absl::StatusOr<std::string> latest = reader_->GetCheckpoint(ledger_id, 0);
    if (!latest.ok()) return ErrorOf(latest.status());
    absl::StatusOr<std::string> witnessed = reader_->GetWitnessedCheckpoint(ledger_id);
    // Cosigned lines only when they are on the latest checkpoint itself.
    std::string note = witnessed.ok() && absl::StartsWith(*witnessed, *latest)
                           ? *std::move(witnessed)
                           : *std::move(latest);
    return Found(request, *AnswerOf(std::move(note)), "text/plain; charset=utf-8",
                 kShortLived);
  }
  if (absl::ConsumePrefix(&rest, "tile/")) {
    resource = Resource::kTile;
    const size_t level_end = rest.find('/');
    if (level_end == absl::string_view::npos) return Error(404, "not a tile path");
    std::optional<int> level = ParseTileLevel(rest.substr(0, level_end));
    std::optional<TileIndex> tile = ParseTileIndex(rest.substr(level_end + 1));
    if (!level.has_value() || !tile.has_value()) return Error(404, "not a tile path");
    return Immutable(request, ledger_id, path, !tile->partial(), "application/octet-stream",
                     [&]() -> absl::StatusOr<std::shared_ptr<const ImmutableAnswer>> {
                       absl::StatusOr<std::string> hashes =
                           reader_->ReadTile(ledger_id, *level, *tile);
                       if (!hashes.ok()) return hashes.status();
                       return AnswerOf(*std::move(hashes));
                     });
  }
  if (absl::ConsumePrefix(&rest, "blocks/")) {
    resource = Resource::kBlocks;
    std::optional<TileIndex> bundle = ParseTileIndex(rest);
    if (!bundle.has_value()) return Error(404, "not a block bundle path");
    if (!TreeHoldsTile(UINT64_MAX, 0, *bundle)) return Error(404, "no such block bundle");
    return Immutable(request, ledger_id, path, !bundle->partial(), "application/jsonl",
                     [&]() -> absl::StatusOr<std::shared_ptr<const ImmutableAnswer>> {
                       const uint64_t first = bundle->index * kTileWidth + 1;
                       const uint64_t last = first + bundle->width - 1;
                       absl::StatusOr<LedgerReader::BlockRange> range =
                           reader_->ResolveBlockRange(ledger_id, first, last);
                       if (!range.ok()) return range.status();
                       absl::StatusOr<std::vector<std::string>> blocks =
                           reader_->ReadBlocks(ledger_id, *range, first, bundle->width);
                       if (!blocks.ok()) return blocks.status();
                       std::string lines;
                       for (const std::string& block : *blocks) {
                         absl::StrAppend(&lines, "{\"block\":", block, "}\n");
                       }
                       std::shared_ptr<ImmutableAnswer> answer = AnswerOf(std::move(lines));
                       answer->varies_by_encoding = true;
                       // Kept answers are compressed once for every later
                       // client; a partial one only for a client that takes it.
                       if (!bundle->partial() || AcceptsGzip(request.Header("accept-encoding"))) {
                         absl::StatusOr<std::string> gzip = GzipEncode(answer->body);
                         if (!gzip.ok()) return gzip.status();
                         answer->gzip_body = *std::move(gzip);
                       }
                       return std::shared_ptr<const ImmutableAnswer>(std::move(answer));
                     });
  }
  if (absl::ConsumePrefix(&rest, "attachment/")) {
    resource = Resource::kAttachment;
    return Immutable(request, ledger_id, path, true, "application/octet-stream",
                     [&]() -> absl::StatusOr<std::shared_ptr<const ImmutableAnswer>> {
                       absl::StatusOr<StoredAttachment> attachment =
                           reader_->GetAttachment(ledger_id, rest);
                       if (!attachment.ok()) return attachment.status();
                       std::vector<std::pair<std::string, std::string>> headers;
                       if (!attachment->name.empty()) {
                         headers.emplace_back("Content-Disposition",
                                              ContentDisposition(attachment->name));
                       }
                       return AnswerOf(std::move(attachment->data), std::move(headers));
                     });
  }
  return Error(404, "not found");
}

absl::StatusOr<HttpReadServer> StartHttpReadServer(
    const std::string& program, const std::string& listen, int threads,
    const LedgerReader* reader, std::vector<StaticFile> page_files,
    HttpReadApiOptions options, MetricsRegistry* registry, const std::string& metrics_prefix) {
  HttpReadServer started;
  started.api = std::make_unique<HttpReadApi>(reader, std::move(page_files), options, registry,
                                              metrics_prefix);
  HttpServerOptions server_options;
  server_options.worker_threads = threads;
  server_options.max_request_body_bytes = 4096;  // GETs carry no body.
  started.server = std::make_unique<HttpServer>(server_options);
  started.api->Register(*started.server);
  if (absl::Status status = started.server->Start(listen); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("--http_listen: ", status.message()));
  }
  const std::string url = absl::StrCat("http://", started.server->bound_address(), "/");
  LogStartLine(absl::StrCat(program, ": HTTP read API on ", url), program,
               started.server->bound_address(), "HTTP read API");
  return started;
}

}  // namespace microledger
