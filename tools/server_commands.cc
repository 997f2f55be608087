#include "tools/server_commands.h"

#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/ledger_verifier.h"
#include "common/merkle.h"
#include "serving/durable_file.h"
#include "tools/offline_commands.h"
#include "tools/online_commands.h"

namespace microledger {
namespace {

// One line on `err` for a server that cannot be reached or answered an error.
int ServerError(const char* command, const absl::Status& status, std::ostream& err) {
  err << "mlctl " << command << ": " << FailureRule(status) << "\n";
  return kExitUsageOrInput;
}

// The server's copy of a ledger as a SPEC §9 bundle, written to `bundle`:
// the header, blocks 1..n of the latest checkpoint (tree size n) exactly as
// the server sent their bytes, that checkpoint, then the attachment of every
// seal of a parsable block that the server has one for; with `witnessed`,
// the newest witnessed checkpoint (with its cosignatures) instead of the
// latest. Nothing is checked here; the bundle verifier judges it all. The
// error is the server's (transport or gRPC status), or Unavailable when
// `bundle` fails.
absl::Status FetchBundle(ServerReader& server, const std::string& ledger_id,
                         std::stringstream& bundle, bool witnessed) {
  absl::StatusOr<std::string> checkpoint = server.GetLatestCheckpoint(ledger_id, witnessed);
  if (!checkpoint.ok()) return checkpoint.status();
  // The blocks it covers. An invalid checkpoint covers nothing; the verifier
  // rejects it.
  absl::StatusOr<Checkpoint> covered = VerifyCheckpoint(*checkpoint, ledger_id);
  const uint64_t size = covered.ok() ? covered->tree_size : 0;
  BundleWriter writer(bundle);
  if (absl::Status s = writer.WriteHeader(ledger_id); !s.ok()) return s;
  std::vector<std::string> seals;
  std::set<std::string> seen;
  absl::Status read = server.ReadBlocks(
      ledger_id, 1, size, [&](const std::string& bytes) -> absl::Status {
        // The server's own bytes, so that the verifier sees exactly them (a
        // block's canonical bytes are its line's JCS).
        bundle << "{\"block\":" << bytes << "}\n";
        if (!bundle) return absl::UnavailableError("cannot buffer the bundle");
        absl::StatusOr<Block> block = ParseBlock(bytes, SignatureStage::kComplete);
        if (block.ok() && block->seals.has_value()) {
          for (const std::string& seal : *block->seals) {
            if (seen.insert(seal).second) seals.push_back(seal);
          }
        }
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  if (absl::Status s = writer.WriteCheckpoint(*checkpoint); !s.ok()) return s;
  for (const std::string& seal : seals) {
    absl::StatusOr<v1::GetAttachmentResponse> attachment =
        server.GetAttachment(ledger_id, seal);
    if (absl::IsNotFound(attachment.status())) continue;  // A seal need not have one.
    if (!attachment.ok()) return attachment.status();
    // Under the seal asked for: data the server swapped fails its digest.
    if (absl::Status s = writer.WriteAttachment(seal, attachment->name(), attachment->data());
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Fetches and verifies the bundle: the verdict, or exit 2 already reported.
std::optional<BundleVerdict> FetchAndVerify(
    const char* command, ServerReader& server, const std::string& ledger_id,
    size_t max_line_bytes, std::stringstream& bundle, std::ostream& err,
    std::shared_ptr<const WitnessPolicy> witness_policy = nullptr) {
  if (absl::Status s = server.Connect(); !s.ok()) {
    ServerError(command, s, err);
    return std::nullopt;
  }
  if (absl::Status s = FetchBundle(server, ledger_id, bundle, witness_policy != nullptr);
      !s.ok()) {
    ServerError(command, s, err);
    return std::nullopt;
  }
  BundleVerifyOptions options;
  options.max_line_bytes = max_line_bytes;
  options.witness_policy = std::move(witness_policy);
  options.witness_time = absl::Now();
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(bundle, nullptr, options);
  if (!verdict.ok()) {
    err << "mlctl " << command << ": " << FailureRule(verdict.status()) << "\n";
    return std::nullopt;
  }
  return *verdict;
}

// "1-5, 8-9", or "none reported".
std::string HeldText(const v1::GetLedgerResponse& ledger) {
  if (ledger.held().empty()) return "none reported";
  std::vector<std::string> ranges;
  for (const v1::BlockRange& range : ledger.held()) {
    ranges.push_back(absl::StrCat(range.first(), "-", range.last()));
  }
  return absl::StrJoin(ranges, ", ");
}

// OK when `ledger` is a true summary of `ledger_id` as far as show checks it:
// its checkpoint verifies by the ledger key, has the head's tree size, and
// `proof` includes the head fingerprint under its root. The failure names the
// rule broken.
absl::Status CheckSummary(const std::string& ledger_id, const v1::GetLedgerResponse& ledger,
                          const v1::GetInclusionProofResponse& proof) {
  absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(ledger.checkpoint(), ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  if (checkpoint->tree_size != ledger.head_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: block ", ledger.head_number(),
                     " is not the latest checkpoint's tree size ", checkpoint->tree_size));
  }
  absl::StatusOr<std::string> leaf = DecodeDigest(ledger.head_fingerprint());
  if (!leaf.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: fingerprint: ", leaf.status().message()));
  }
  absl::StatusOr<std::vector<MerkleHash>> path = MerkleHashesFromBytes(proof.hashes());
  if (!path.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: ", path.status().message()));
  }
  absl::Status included =
      VerifyMerkleInclusion(HashMerkleLeaf(*leaf), ledger.head_number() - 1,
                            checkpoint->tree_size, *path, checkpoint->root_hash);
  if (!included.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("head: block ", ledger.head_number(),
                     " is not included in the checkpoint: ", included.message()));
  }
  return absl::OkStatus();
}

// Parses `bytes` as the next block of `verifier` and adds it. On a failure
// (a block that does not parse counts) sets *failure at the block's position.
std::optional<Block> AddBlockBytes(LedgerVerifier& verifier, const std::string& bytes,
                                   std::optional<VerifyFailure>* failure) {
  const uint64_t position = verifier.block_count() + 1;
  absl::StatusOr<Block> block = ParseBlock(bytes, SignatureStage::kComplete);
  if (!block.ok()) {
    *failure = VerifyFailure{position, FailureRule(block.status())};
    return std::nullopt;
  }
  if (!verifier.AddBlock(*block).ok()) {
    *failure = verifier.failure();
    return std::nullopt;
  }
  return *std::move(block);
}

// Checks the checkpoint that came with the block just added: of its tree size
// (the block's position), and valid for the verifier's tree. On a failure sets
// *failure at that position.
bool CheckBlockCheckpoint(LedgerVerifier& verifier, const std::string& note,
                          std::optional<VerifyFailure>* failure) {
  const uint64_t position = verifier.block_count();
  absl::Status checked = verifier.AddCheckpoint(note);
  if (checked.ok()) {
    absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note, verifier.ledger_id());
    if (checkpoint.ok() && checkpoint->tree_size != position) {
      checked = absl::InvalidArgumentError(
          absl::StrCat("checkpoint: its tree size is ", checkpoint->tree_size,
                       ", not the tree size ", position, " of the block it came with"));
    }
  }
  if (checked.ok()) return true;
  *failure = VerifyFailure{position, FailureRule(checked)};
  return false;
}

int TailFailed(const VerifyFailure& failure, std::ostream& err) {
  err << "mlctl tail: FAIL block " << failure.block_position << ": " << failure.rule << "\n";
  return kExitVerifyFailed;
}

}  // namespace

int RunServerVerify(ServerReader& server, const std::string& ledger_id,
                    size_t max_line_bytes, std::ostream& out, std::ostream& err,
                    std::shared_ptr<const WitnessPolicy> witness_policy) {
  std::stringstream bundle;
  std::optional<BundleVerdict> verdict =
      FetchAndVerify("verify", server, ledger_id, max_line_bytes, bundle, err,
                     std::move(witness_policy));
  if (!verdict.has_value()) return kExitUsageOrInput;
  out << verdict->Line() << "\n";
  return verdict->ok ? kExitOk : kExitVerifyFailed;
}

int RunServerExport(ServerReader& server, const std::string& ledger_id,
                    const std::string& path, size_t max_line_bytes, std::ostream& out,
                    std::ostream& err) {
  std::stringstream bundle;
  std::optional<BundleVerdict> verdict =
      FetchAndVerify("export", server, ledger_id, max_line_bytes, bundle, err);
  if (!verdict.has_value()) return kExitUsageOrInput;
  if (!verdict->ok) {
    err << "mlctl export: the server's copy fails verification, " << path
        << " not written: " << verdict->Line() << "\n";
    return kExitVerifyFailed;
  }
  if (absl::Status written = WriteFileAtomic(path, bundle.str(), /*sync=*/true);
      !written.ok()) {
    err << "mlctl export: " << FailureRule(written) << "\n";
    return kExitUsageOrInput;
  }
  out << "exported " << verdict->blocks << " blocks to " << path << "\n";
  return kExitOk;
}

int RunServerShow(ServerReader& server, const std::string& ledger_id, std::ostream& out,
                  std::ostream& err) {
  if (absl::Status s = server.Connect(); !s.ok()) return ServerError("show", s, err);
  absl::StatusOr<v1::GetLedgerResponse> ledger = server.GetLedger(ledger_id);
  if (!ledger.ok()) return ServerError("show", ledger.status(), err);
  if (ledger->ledger_id() != ledger_id || ledger->head_number() == 0) {
    err << "mlctl show: FAIL: the server's summary is not of this ledger or has no head "
           "block\n";
    return kExitVerifyFailed;
  }
  absl::StatusOr<v1::GetInclusionProofResponse> proof =
      server.GetInclusionProof(ledger_id, ledger->head_number(), ledger->head_number());
  if (!proof.ok()) return ServerError("show", proof.status(), err);
  if (absl::Status checked = CheckSummary(ledger_id, *ledger, *proof); !checked.ok()) {
    err << "mlctl show: FAIL: " << FailureRule(checked) << "\n";
    return kExitVerifyFailed;
  }
  out << "ledger:        " << ledger->ledger_id() << "\n";
  out << "server:        " << server.address() << "\n";
  out << "status:        " << LedgerStatusText(ledger->status()) << "\n";
  out << "head:          block " << ledger->head_number() << " "
      << ledger->head_fingerprint() << "\n";
  out << "controllers:   " << ControllersText(ledger->controllers()) << "\n";
  out << "frozen:        "
      << (ledger->frozen() ? absl::StrCat("yes: equivocation evidence ", ledger->evidence_id(),
                                          " (mlctl evidence get)")
                           : std::string("no"))
      << "\n";
  out << "held:          " << HeldText(*ledger) << "\n";
  out << "checkpoint:    (signed by the ledger key and including the head block: "
         "verified by mlctl; the lines above it are the server's word)\n";
  PrintIndented(ledger->checkpoint(), out);
  return kExitOk;
}

int RunServerTail(ServerReader& server, const std::string& ledger_id, bool follow,
                  uint64_t start, std::ostream& out, std::ostream& err) {
  if (absl::Status s = server.Connect(); !s.ok()) return ServerError("tail", s, err);
  absl::StatusOr<v1::GetLedgerResponse> ledger = server.GetLedger(ledger_id);
  if (!ledger.ok()) return ServerError("tail", ledger.status(), err);
  // The head and status only bound the reads; every block is verified.
  const uint64_t head = ledger->head_number();
  const uint64_t from = start > 0 ? start : (follow ? head + 1 : uint64_t{1});
  const bool terminal = ledger->status() == v1::LEDGER_STATUS_CLOSED ||
                        ledger->status() == v1::LEDGER_STATUS_MOVED;
  // Nothing to print and nothing will come.
  if ((!follow || terminal) && from > head) return kExitOk;

  LedgerVerifier verifier(ledger_id);
  std::optional<VerifyFailure> failure;
  absl::Status read = server.ReadBlocks(
      ledger_id, 1, from - 1, [&](const std::string& bytes) -> absl::Status {
        if (AddBlockBytes(verifier, bytes, &failure).has_value()) return absl::OkStatus();
        return absl::DataLossError("verification failed");
      });
  if (failure.has_value()) return TailFailed(*failure, err);
  if (!read.ok()) return ServerError("tail", read, err);

  std::unique_ptr<ServerReader::Subscription> subscription =
      server.Subscribe(ledger_id, from, follow);
  v1::SubscribeResponse response;
  bool done = false;
  while (!done && subscription->Next(&response)) {
    std::optional<Block> block = AddBlockBytes(verifier, response.block(), &failure);
    if (!block.has_value() || !CheckBlockCheckpoint(verifier, response.checkpoint(), &failure)) {
      break;
    }
    out << TailLine(*block) << std::endl;
    const std::string& name = block->event_name();
    if (name == kClosedDocument || name == kMovedDocument) done = true;
    if (!follow && block->number >= head) done = true;
  }
  if (done || failure.has_value()) {
    // Cancelled by us: the stream's end status says nothing about the ledger.
    subscription->Cancel();
    subscription->Finish().IgnoreError();
    return failure.has_value() ? TailFailed(*failure, err) : kExitOk;
  }
  absl::Status finished = subscription->Finish();
  if (!finished.ok()) return ServerError("tail", finished, err);
  if (!follow) {
    err << "mlctl tail: server " << server.address() << ": Subscribe ended before block "
        << head << "\n";
    return kExitUsageOrInput;
  }
  return kExitOk;
}

}  // namespace microledger
