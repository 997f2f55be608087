#include "tools/witness_commands.h"

#include <optional>
#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "serving/witness_key_file.h"
#include "tools/offline_commands.h"

namespace microledger {

int RunWitnessKeygen(const std::string& name, const std::string& out_path,
                     std::ostream& out, std::ostream& err) {
  if (name.empty() || out_path.empty()) {
    err << "witness keygen: --name=NAME and --out=FILE are required\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  if (!key.ok()) {
    err << "witness keygen: " << key.status().message() << "\n";
    return kExitUsageOrInput;
  }
  absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
  if (!signer.ok()) {
    err << "witness keygen: --name: " << signer.status().message()
        << " (no spaces, no '+', not starting with jlinx:)\n";
    return kExitUsageOrInput;
  }
  if (absl::Status written = WriteWitnessKeyFile(out_path, *signer); !written.ok()) {
    err << "witness keygen: " << written.message() << "\n";
    return kExitUsageOrInput;
  }
  out << FormatWitnessVkey(signer->key()) << "\n";
  return kExitOk;
}

absl::StatusOr<std::shared_ptr<const WitnessPolicy>> WitnessPolicyFromFlags(
    const std::vector<std::string>& vkeys, int64_t quorum, absl::Duration max_age) {
  if (vkeys.empty()) {
    if (quorum != 0 || max_age != absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "--witness_quorum and --witness_max_age need --witness=VKEY");
    }
    return nullptr;
  }
  std::vector<WitnessKey> witnesses;
  for (const std::string& vkey : vkeys) {
    absl::StatusOr<WitnessKey> witness = ParseWitnessVkey(vkey);
    if (!witness.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--witness=", vkey, ": ", witness.status().message()));
    }
    witnesses.push_back(*std::move(witness));
  }
  if (quorum < 0) {
    return absl::InvalidArgumentError("--witness_quorum must not be negative");
  }
  if (max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--witness_max_age must not be negative");
  }
  const size_t required = quorum == 0 ? witnesses.size() : static_cast<size_t>(quorum);
  std::optional<absl::Duration> age_limit;
  if (max_age != absl::ZeroDuration()) age_limit = max_age;
  absl::StatusOr<WitnessPolicy> policy =
      WitnessPolicy::Create(std::move(witnesses), required, age_limit, kWitnessClockSkew);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--witness, --witness_quorum: ", policy.status().message()));
  }
  return std::make_shared<const WitnessPolicy>(*std::move(policy));
}

}  // namespace microledger
