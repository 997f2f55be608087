#include "owner_agent/host_copy_reader.h"

#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bundle.h"
#include "common/checkpoint.h"
#include "owner_agent/host_replay.h"
#include "owner_agent/status_prefix.h"

namespace microledger {

absl::Status ReadHostCopy(HostClient& host, const std::string& ledger_id,
                          const std::string& checkpoint, LedgerVerifier& verifier,
                          std::optional<VerifyFailure>* failure, const HostCopyVisitor& visit,
                          const std::function<void(absl::string_view)>& warn) {
  absl::StatusOr<Checkpoint> verified = VerifyCheckpoint(checkpoint, ledger_id);
  if (!verified.ok()) {
    return Prefix(absl::DataLossError(verified.status().message()), "saved state: ");
  }
  std::vector<std::string> seals;
  auto check = [&](const Block& block) -> absl::Status {
    if (absl::Status added = verifier.AddBlock(block); !added.ok()) return added;
    if (block.seals.has_value()) seals.insert(seals.end(), block.seals->begin(), block.seals->end());
    return absl::OkStatus();
  };
  absl::StatusOr<std::optional<ReplayRejection>> rejection =
      ReplayHostBlocks(host, ledger_id, 1, verified->tree_size, BlockRead::kWholeLedger,
                       check, visit.block);
  if (!rejection.ok()) return rejection.status();
  if (rejection->has_value()) {
    const ReplayRejection& rejected = **rejection;
    if (rejected.beyond_range) {
      return absl::DataLossError(absl::StrCat("the host served more than the ",
                                              verified->tree_size, " blocks asked for"));
    }
    // A verifier failure is the verifier's own record; a block that did not
    // parse fails at its position.
    *failure = verifier.failure().has_value()
                   ? *verifier.failure()
                   : VerifyFailure{rejected.position, FailureRule(rejected.status)};
    return absl::OkStatus();
  }
  if (!verifier.AddCheckpoint(checkpoint).ok()) {
    *failure = verifier.failure();
    return absl::OkStatus();
  }
  if (visit.checkpoint) {
    if (absl::Status s = visit.checkpoint(checkpoint); !s.ok()) return s;
  }
  std::set<std::string> fetched;
  for (const std::string& seal : seals) {
    if (!fetched.insert(seal).second) continue;
    absl::StatusOr<v1::GetAttachmentResponse> attachment = host.GetAttachment(ledger_id, seal);
    if (absl::IsNotFound(attachment.status())) continue;  // A seal need not have one.
    if (!attachment.ok()) {
      warn(absl::StrCat("an attachment could not be read from its host (",
                        absl::StatusCodeToString(attachment.status().code()),
                        "); it is left out of the verification"));
      continue;
    }
    if (!verifier.AddAttachment(attachment->seal(), attachment->data()).ok()) {
      *failure = verifier.failure();
      return absl::OkStatus();
    }
    if (visit.attachment) {
      if (absl::Status s = visit.attachment(*attachment); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::VerifyLedgerResponse> VerifyHostCopy(
    HostClient& host, const std::string& ledger_id, const std::string& checkpoint,
    const std::function<void(absl::string_view)>& warn) {
  LedgerVerifier verifier(ledger_id);
  std::optional<VerifyFailure> failure;
  if (!checkpoint.empty()) {
    if (absl::Status s = ReadHostCopy(host, ledger_id, checkpoint, verifier, &failure,
                                      HostCopyVisitor(), warn);
        !s.ok()) {
      return s;
    }
  }
  BundleVerdict verdict;
  verdict.ledger = ledger_id;
  verdict.ok = !failure.has_value();
  if (failure.has_value()) verdict.failure = *failure;
  verdict.blocks = verifier.block_count();
  v1::VerifyLedgerResponse response;
  response.set_ok(verdict.ok);
  response.set_blocks(verdict.blocks);
  response.set_failure_block(verdict.ok ? 0 : verdict.failure.block_position);
  response.set_rule(verdict.ok ? "" : verdict.failure.rule);
  response.set_verdict(verdict.Line());
  return response;
}

absl::Status ExportHostCopy(HostClient& host, const std::string& ledger_id,
                            const std::string& checkpoint,
                            const std::function<bool(const std::string&)>& sink,
                            const std::function<void(absl::string_view)>& warn) {
  std::ostringstream buffer;
  BundleWriter writer(buffer);
  constexpr size_t kChunk = 64 * 1024;
  // Hands the buffered bundle text to `sink` once a chunk is full (or `force`).
  auto flush = [&](absl::Status written, bool force) -> absl::Status {
    if (!written.ok()) return written;
    if (buffer.tellp() <= 0) return absl::OkStatus();
    if (!force && static_cast<size_t>(buffer.tellp()) < kChunk) return absl::OkStatus();
    const std::string data = buffer.str();
    buffer.str("");
    buffer.clear();
    return sink(data) ? absl::OkStatus() : absl::CancelledError("export cancelled");
  };
  if (absl::Status s = writer.WriteHeader(ledger_id); !s.ok()) return s;
  if (!checkpoint.empty()) {
    HostCopyVisitor visit;
    visit.block = [&](const Block& block) { return flush(writer.WriteBlock(block), false); };
    visit.checkpoint = [&](const std::string& note) {
      return flush(writer.WriteCheckpoint(note), false);
    };
    visit.attachment = [&](const v1::GetAttachmentResponse& attachment) {
      return flush(
          writer.WriteAttachment(attachment.seal(), attachment.name(), attachment.data()),
          false);
    };
    LedgerVerifier verifier(ledger_id);
    std::optional<VerifyFailure> failure;
    if (absl::Status s =
            ReadHostCopy(host, ledger_id, checkpoint, verifier, &failure, visit, warn);
        !s.ok()) {
      return s;
    }
    if (failure.has_value()) {
      return absl::DataLossError(absl::StrCat("the host's copy fails verification at block ",
                                              failure->block_position, ": ", failure->rule));
    }
  }
  return flush(absl::OkStatus(), true);
}

}  // namespace microledger
