#include "witness/witness_http.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "witness/witness_store.h"

namespace microledger {
namespace {

constexpr char kTextContentType[] = "text/plain; charset=utf-8";

HttpResponse Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = kTextContentType;
  response.body = std::move(body);
  return response;
}

HttpResponse AnswerResponse(const AddCheckpointAnswer& answer) {
  const int status = HttpStatusOf(answer.outcome);
  switch (answer.outcome) {
    case AddCheckpointOutcome::kCosigned:
      return Text(status, answer.cosignature_line);
    case AddCheckpointOutcome::kFrozen:
      return Text(status, absl::StrCat("frozen ", answer.evidence_id, "\n"));
    case AddCheckpointOutcome::kSizeConflict: {
      HttpResponse response = Text(status, absl::StrCat(answer.latest_size, "\n"));
      response.content_type = kTlogSizeContentType;
      return response;
    }
    default:
      return Text(status, absl::StrCat(answer.reason, "\n"));
  }
}

// The raw origin hash named by the request's path, or empty when the path
// segment is not an origin hash.
std::string RequestedOriginHash(const HttpRequest& request) {
  if (request.path_parameters.size() != 1) return "";
  absl::StatusOr<std::string> hash = OriginHashFromHex(request.path_parameters[0]);
  return hash.ok() ? *hash : "";
}

}  // namespace

void RegisterWitnessHttp(HttpServer& server, Witness* witness, ClientLimits limits,
                         WitnessMetrics* metrics) {
  server.HandlePost("/add-checkpoint", [witness, limits, metrics](const HttpRequest& request) {
    AddCheckpointAnswer answer;
    absl::StatusOr<AddCheckpointRequest> parsed = ParseAddCheckpointBody(request.body);
    if (parsed.ok()) {
      answer = AddCheckpointForClient(*witness, *parsed, request.remote_address, limits);
    } else {
      answer.outcome = AddCheckpointOutcome::kMalformed;
      answer.reason = std::string(parsed.status().message());
    }
    if (metrics != nullptr) metrics->CountAnswer(HttpStatusOf(answer.outcome));
    return AnswerResponse(answer);
  });
  server.HandleGet("/*/checkpoint", [witness](const HttpRequest& request) {
    const std::string origin_hash = RequestedOriginHash(request);
    if (origin_hash.empty()) return Text(404, "not an origin hash\n");
    absl::StatusOr<std::string> note = witness->LatestCheckpoint(origin_hash);
    if (absl::IsNotFound(note.status())) return Text(404, "no checkpoint cosigned\n");
    if (!note.ok()) return Text(500, "storage failed\n");
    return Text(200, *std::move(note));
  });
  server.HandleGet("/*/evidence", [witness](const HttpRequest& request) {
    const std::string origin_hash = RequestedOriginHash(request);
    if (origin_hash.empty()) return Text(404, "not an origin hash\n");
    absl::StatusOr<std::vector<std::string>> evidence = witness->Evidence(origin_hash);
    if (absl::IsNotFound(evidence.status())) return Text(404, "no evidence\n");
    if (!evidence.ok()) return Text(500, "storage failed\n");
    std::string body;
    for (const std::string& object : *evidence) absl::StrAppend(&body, object, "\n");
    return Text(200, std::move(body));
  });
}

}  // namespace microledger
