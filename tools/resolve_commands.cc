#include "tools/resolve_commands.h"

#include "serving/locator_lookup.h"

#include <ostream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/evidence.h"
#include "common/ledger_verifier.h"
#include "common/locator.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

// The values under the ledger's DHT key, judged by the reader's rules.
absl::StatusOr<ResolvedLedger> Resolve(DhtClient& dht, const std::string& ledger_id,
                                       int64_t now_millis) {
  absl::StatusOr<ResolvedLedger> resolved = LookUpLedger(dht, ledger_id, now_millis);
  if (absl::IsInvalidArgument(resolved.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("LEDGER: ", resolved.status().message()));
  }
  return resolved;
}

}  // namespace

int RunResolve(DhtClient& dht, const std::string& ledger_id, int64_t now_millis, bool verbose,
               std::ostream& out, std::ostream& err) {
  absl::StatusOr<ResolvedLedger> resolved = Resolve(dht, ledger_id, now_millis);
  if (!resolved.ok()) {
    err << "mlctl resolve: " << FailureRule(resolved.status()) << "\n";
    return kExitUsageOrInput;
  }
  if (verbose) {
    for (const std::string& reason : resolved->dropped) err << "dropped: " << reason << "\n";
  }
  for (const LocatorRecord& record : resolved->records) {
    out << (record.role == LocatorRole::kHost ? "host " : "mirror ")
        << absl::StrJoin(record.urls, " ") << " expires " << record.expires << " seq "
        << record.seq << "\n";
  }
  for (const std::string& evidence : resolved->evidence) {
    // Kept by ResolveLocatorValues: valid evidence of this ledger.
    absl::StatusOr<EvidenceInfo> info = ValidateEvidence(evidence);
    if (!info.ok()) continue;
    out << "evidence " << EvidenceKindName(info->kind) << " " << info->id << "\n";
  }
  if (!resolved->evidence.empty()) {
    out << "frozen: the ledger key signed two histories (SPEC §11 evidence above); its "
           "servers take no more writes\n";
  }
  if (resolved->records.empty() && resolved->evidence.empty()) {
    err << "mlctl resolve: no locator record found\n";
    return kExitVerifyFailed;
  }
  return kExitOk;
}

std::optional<GrpcTarget> GrpcTargetOf(const std::string& url) {
  constexpr absl::string_view kGrpc = "grpc://";
  constexpr absl::string_view kGrpcs = "grpcs://";
  if (absl::StartsWith(url, kGrpc)) return GrpcTarget{url.substr(kGrpc.size()), false};
  if (absl::StartsWith(url, kGrpcs)) return GrpcTarget{url.substr(kGrpcs.size()), true};
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<ServerReader>> ConnectThroughDht(DhtClient& dht,
                                                                const std::string& ledger_id,
                                                                const ServerOptions& base,
                                                                int64_t now_millis, bool verbose,
                                                                std::ostream& err) {
  absl::StatusOr<ResolvedLedger> resolved = Resolve(dht, ledger_id, now_millis);
  if (!resolved.ok()) return resolved.status();
  std::vector<std::string> failed;
  for (const std::string& url : resolved->urls) {
    std::optional<GrpcTarget> target = GrpcTargetOf(url);
    if (!target.has_value()) continue;
    ServerOptions options = base;
    options.address = target->address;
    options.tls = target->tls;
    if (!target->tls) options.tls_ca_file.clear();
    absl::StatusOr<std::unique_ptr<ServerReader>> reader = ServerReader::Create(options);
    absl::Status connected = reader.ok() ? (*reader)->Connect() : reader.status();
    if (connected.ok()) {
      if (verbose) err << "mlctl: reading from " << url << " (found in the DHT)\n";
      return reader;
    }
    if (verbose) err << "mlctl: " << url << ": " << FailureRule(connected) << "\n";
    failed.push_back(absl::StrCat(url, ": ", FailureRule(connected)));
  }
  if (failed.empty()) {
    return absl::NotFoundError(
        resolved->records.empty()
            ? "the DHT has no locator record of the ledger"
            : "the ledger's locator records in the DHT name no gRPC server (grpc:// or "
              "grpcs://)");
  }
  return absl::UnavailableError(absl::StrCat("no server the DHT names for the ledger answers: ",
                                             absl::StrJoin(failed, "; ")));
}

}  // namespace microledger
