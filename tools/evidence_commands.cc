#include "tools/evidence_commands.h"

#include <ostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/evidence.h"
#include "common/ledger_verifier.h"
#include "serving/durable_file.h"
#include "serving/whole_file.h"
#include "tools/offline_commands.h"

namespace microledger {

int RunEvidenceGet(ServerReader& server, const std::string& ledger_id,
                   const std::string& out_dir, std::ostream& out, std::ostream& err) {
  if (absl::Status s = server.Connect(); !s.ok()) {
    err << "mlctl evidence get: " << FailureRule(s) << "\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<std::vector<std::string>> evidence = server.GetLedgerEvidence(ledger_id);
  if (!evidence.ok()) {
    err << "mlctl evidence get: " << FailureRule(evidence.status()) << "\n";
    return kExitUsageOrInput;
  }
  std::vector<EvidenceInfo> infos;
  for (size_t i = 0; i < evidence->size(); ++i) {
    absl::StatusOr<EvidenceInfo> info = ValidateEvidence((*evidence)[i]);
    if (info.ok() && info->ledger != ledger_id) {
      info = absl::InvalidArgumentError("ledger: names another ledger");
    }
    if (!info.ok()) {
      err << "mlctl evidence get: FAIL: object " << i + 1 << " from the server is not "
          << "evidence of this ledger: " << FailureRule(info.status()) << "\n";
      return kExitVerifyFailed;
    }
    infos.push_back(*std::move(info));
  }
  for (size_t i = 0; i < infos.size(); ++i) {
    if (out_dir.empty()) {
      out << (*evidence)[i] << "\n";  // JCS: no raw newline inside.
      continue;
    }
    const std::string path = absl::StrCat(out_dir, "/", infos[i].id, ".json");
    if (absl::Status written = WriteFileAtomic(path, (*evidence)[i], /*sync=*/true);
        !written.ok()) {
      err << "mlctl evidence get: " << FailureRule(written) << "\n";
      return kExitUsageOrInput;
    }
    out << path << "\n";
  }
  return kExitOk;
}

int RunEvidenceVerify(const std::string& path, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) {
    err << "mlctl evidence verify: " << FailureRule(bytes.status()) << "\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(*bytes);
  if (!info.ok()) {
    out << "INVALID: " << FailureRule(info.status()) << "\n";
    return kExitVerifyFailed;
  }
  out << "EVIDENCE " << info->ledger << " " << EvidenceKindName(info->kind) << " " << info->id
      << "\n";
  return kExitOk;
}

int RunEvidenceReport(ServerReader& server, const std::string& path, std::ostream& out,
                      std::ostream& err) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) {
    err << "mlctl evidence report: " << FailureRule(bytes.status()) << "\n";
    return kExitUsageOrInput;
  }
  // Checked here first: nothing that is not evidence is sent.
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(*bytes);
  if (!info.ok()) {
    out << "INVALID: " << FailureRule(info.status()) << "\n";
    return kExitVerifyFailed;
  }
  absl::StatusOr<v1::ReportEquivocationResponse> reported = server.ReportEquivocation(*bytes);
  if (!reported.ok()) {
    err << "mlctl evidence report: " << reported.status().message() << "\n";
    return kExitUsageOrInput;
  }
  out << "REPORTED " << reported->ledger_id() << " " << reported->kind() << " "
      << reported->evidence_id() << (reported->frozen() ? " frozen" : " not frozen") << "\n";
  return kExitOk;
}

}  // namespace microledger
