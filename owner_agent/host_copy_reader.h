// Internal to owner_agent/: reads a host's whole copy of a ledger back and
// verifies it with the format library's LedgerVerifier (SPEC §8), for
// VerifyLedger and ExportLedger: blocks 1..size of the agent's verified
// checkpoint, then that checkpoint, then the attachment of every seal the
// host holds one for. Thread-safe as far as the visitor is; one read per
// verifier.
#ifndef MICROLEDGER_OWNER_AGENT_HOST_COPY_READER_H_
#define MICROLEDGER_OWNER_AGENT_HOST_COPY_READER_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/ledger_verifier.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/host_client.h"

namespace microledger {

// What ReadHostCopy hands to its caller, in bundle order: each block, the
// checkpoint and each attachment, once verified. An error stops the read.
struct HostCopyVisitor {
  std::function<absl::Status(const Block&)> block;
  std::function<absl::Status(const std::string& checkpoint)> checkpoint;
  std::function<absl::Status(const v1::GetAttachmentResponse&)> attachment;
};

// Reads the host's copy of `ledger_id` up to `checkpoint` (the agent's
// verified one) through `verifier`. The first verification failure (a block
// that does not parse counts, at its position) stops the read and lands in
// *failure; the return value is for everything else (transport, saved state,
// a visitor's error). An attachment the host cannot serve for a reason other
// than NOT_FOUND is skipped with a warning through `warn`.
absl::Status ReadHostCopy(HostClient& host, const std::string& ledger_id,
                          const std::string& checkpoint, LedgerVerifier& verifier,
                          std::optional<VerifyFailure>* failure, const HostCopyVisitor& visit,
                          const std::function<void(absl::string_view)>& warn);

// VerifyLedger: the verdict on the host's copy up to `checkpoint` (empty: a
// ledger without a committed block, which verifies with 0 blocks).
absl::StatusOr<v1::VerifyLedgerResponse> VerifyHostCopy(
    HostClient& host, const std::string& ledger_id, const std::string& checkpoint,
    const std::function<void(absl::string_view)>& warn);

// ExportLedger: the host's copy up to `checkpoint` as a bundle (bundle.h),
// handed to `sink` in chunks of about 64 KiB as it is verified; DATA_LOSS
// when it fails verification, CANCELLED when `sink` returns false.
absl::Status ExportHostCopy(HostClient& host, const std::string& ledger_id,
                            const std::string& checkpoint,
                            const std::function<bool(const std::string&)>& sink,
                            const std::function<void(absl::string_view)>& warn);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_HOST_COPY_READER_H_
