#include "owner_agent/host_auditor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/error_text.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/merkle.h"
#include "common/timestamp.h"
#include "owner_agent/fork_prover.h"
#include "owner_agent/host_replay.h"
#include "owner_agent/proto_conversions.h"
#include "owner_agent/status_prefix.h"
#include "serving/log.h"

namespace microledger {

absl::Status CheckHostSignatureOf(const std::string& ledger_id, const Block& block) {
  if (block.signatures.empty()) {
    return absl::FailedPreconditionError("host signature: missing");
  }
  const BlockSignature& host = block.signatures.back();
  absl::StatusOr<std::string> host_key = PublicKeyTextFromLedgerId(ledger_id);
  if (!host_key.ok()) return host_key.status();
  if (host.key != *host_key) {
    return absl::FailedPreconditionError("host signature: is not by the ledger's host key");
  }
  return VerifyEd25519Text(host.key, BlockSignedMessage(block.fingerprint), host.sig,
                           "host signature");
}

uint64_t HeldTreeSize(const LedgerRecord& record) {
  if (record.checkpoint.empty()) return 0;
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(record.checkpoint, record.ledger_id);
  return held.ok() ? held->tree_size : 0;
}

absl::Status HostAuditor::WriteRefusal(const LedgerState& ledger) {
  const LedgerRecord& record = ledger.record;
  if (!record.evidence_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "frozen: ledger ", record.ledger_id, " has equivocation evidence ",
        record.evidence_id, " (SPEC §11); the agent never writes to it again (see "
        "GetEvidence)"));
  }
  if (record.equivocation) {
    return absl::DataLossError(absl::StrCat(
        "host equivocation on ledger ", record.ledger_id,
        ": the agent refuses to write to it (see GetEvidence)"));
  }
  if (!ledger.server_frozen_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "frozen: the host of ledger ", record.ledger_id, " says it has equivocation evidence ",
        QuoteForError(ledger.server_frozen_id),
        " but served none that is valid; the agent does not write to it"));
  }
  return absl::OkStatus();
}

absl::Status HostAuditor::Freeze(LedgerState& ledger, const EvidenceRecord& evidence) {
  LedgerRecord& record = ledger.record;
  absl::StatusOr<std::vector<EvidenceRecord>> kept = registry_.ListEvidence(record.ledger_id);
  if (!kept.ok()) return kept.status();
  const bool known =
      std::any_of(kept->begin(), kept->end(), [&](const EvidenceRecord& e) {
        return e.evidence_id == evidence.evidence_id;
      });
  absl::Status stored = known ? absl::OkStatus() : registry_.AddEvidence(evidence);
  if (record.evidence_id.empty()) record.evidence_id = evidence.evidence_id;
  record.equivocation = true;
  ledger.server_frozen_id.clear();
  absl::Status saved = ledger.saved_in_registry ? flusher_.SaveNow(ledger) : absl::OkStatus();
  return stored.ok() ? saved : stored;
}

void HostAuditor::Report(const std::string& evidence_object, const std::string& evidence_id,
                         const std::vector<std::string>& addresses) {
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& address = addresses[i];
    if (address.empty() ||
        std::find(addresses.begin(), addresses.begin() + i, address) !=
            addresses.begin() + i) {
      continue;
    }
    absl::StatusOr<v1::ReportEquivocationResponse> reported =
        hosts_.Get(address)->ReportEquivocation(evidence_object);
    if (!reported.ok()) {
      warn_(absl::StrCat("equivocation evidence ", evidence_id, " could not be handed to ",
                         address, " (", absl::StatusCodeToString(reported.status().code()),
                         "); it is kept by the agent (GetEvidence) and not sent again"));
    }
  }
}

absl::Status HostAuditor::Equivocation(LedgerState& ledger, const std::string& kind,
                                       const std::string& served, const std::string& detail,
                                       HostClient* server) {
  if (metrics_ != nullptr) metrics_->equivocations_detected.Increment();
  LedgerRecord& record = ledger.record;
  EvidenceRecord evidence;
  evidence.ledger_id = record.ledger_id;
  evidence.host_address = server != nullptr ? server->address() : record.host_address;
  evidence.kind = kind;
  evidence.held_checkpoint = record.checkpoint;
  evidence.served_checkpoint = served;
  evidence.detail = detail;
  evidence.detected_unix_millis = NowMillis();
  std::string unproven;
  if (server != nullptr) {
    HeldTree held{record.ledger_id, record.checkpoint, record.state.head_fingerprint,
                  record.previous_frontier, ledger.head_block};
    absl::StatusOr<std::string> object = ProveFork(held, *server, served);
    if (object.ok()) {
      evidence.evidence_object = *std::move(object);
      evidence.evidence_id = EvidenceId(evidence.evidence_object);
    } else {
      unproven = std::string(object.status().message());
    }
  }
  absl::Status stored;
  if (evidence.evidence_id.empty()) {
    stored = registry_.AddEvidence(evidence);
    record.equivocation = true;
    if (ledger.saved_in_registry) stored.Update(flusher_.SaveNow(ledger));
  } else {
    stored = Freeze(ledger, evidence);
    Report(evidence.evidence_object, evidence.evidence_id,
           {record.host_address, evidence.host_address});
  }
  // No ledger id: the evidence id names the evidence, not the ledger.
  Log(LogLevel::kError, "equivocation",
      absl::StrCat("EQUIVOCATION: a ", server != nullptr && server->address() != record.host_address
                                           ? "mirror or other host"
                                           : "host",
                   " showed two histories of a ledger (", kind, ")",
                   evidence.evidence_id.empty() ? "; no SPEC §11 evidence could be built"
                                                : "; SPEC §11 evidence kept, the ledger is frozen"),
      {{"kind", kind},
       {"evidence_id", evidence.evidence_id},
       {"frozen", !evidence.evidence_id.empty()},
       {"evidence_stored", stored.ok()}});
  std::string outcome;
  if (!evidence.evidence_id.empty()) {
    outcome = absl::StrCat("; SPEC §11 evidence ", evidence.evidence_id,
                           " kept, the ledger is frozen");
  } else if (server != nullptr) {
    outcome = absl::StrCat("; no SPEC §11 evidence: ", unproven);
  }
  return absl::DataLossError(absl::StrCat(
      "host equivocation on ledger ", record.ledger_id, " (", kind, "): ", detail, outcome,
      stored.ok() ? "; evidence kept in " + registry_.dir() + "/evidence"
                  : absl::StrCat("; evidence or state NOT stored: ", stored.message())));
}

absl::Status HostAuditor::CheckServedCheckpoint(LedgerState& ledger, HostClient& server,
                                                const std::string& served, bool mirror) {
  LedgerRecord& record = ledger.record;
  const std::string who = absl::StrCat(mirror ? "mirror " : "host ", server.address());
  absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(served, record.ledger_id);
  if (!cp.ok()) {
    return absl::DataLossError(absl::StrCat(who, " served an invalid checkpoint of ledger ",
                                            record.ledger_id, ": ", cp.status().message()));
  }
  if (record.checkpoint.empty()) return absl::OkStatus();
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(record.checkpoint, record.ledger_id);
  if (!held.ok()) return absl::InternalError("the agent's saved checkpoint is invalid");
  if (cp->tree_size < held->tree_size) {
    if (mirror) {
      return absl::FailedPreconditionError(
          absl::StrCat(who, " is behind: it serves a tree of ", cp->tree_size,
                       " blocks, the agent verified ", held->tree_size));
    }
    return Equivocation(
        ledger, "rollback", served,
        absl::StrCat("the host serves a tree of ", cp->tree_size,
                     " blocks after signing a checkpoint of ", held->tree_size, " blocks"),
        nullptr);
  }
  if (cp->tree_size == held->tree_size) {
    if (cp->root_hash != held->root_hash) {
      return Equivocation(
          ledger, "fork", served,
          absl::StrCat(who, ": two checkpoints of size ", cp->tree_size,
                       " with different roots"),
          &server);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<v1::GetConsistencyProofResponse> response =
      server.GetConsistencyProof(record.ledger_id, held->tree_size, cp->tree_size);
  if (!response.ok()) return Prefix(response.status(), "consistency proof: ");
  absl::StatusOr<std::vector<MerkleHash>> proof = MerkleHashesFromBytes(response->hashes());
  absl::Status consistent =
      proof.ok() ? VerifyMerkleConsistency(held->tree_size, cp->tree_size, held->root_hash,
                                           cp->root_hash, *proof)
                 : proof.status();
  if (!consistent.ok()) {
    return Equivocation(
        ledger, "fork", served,
        absl::StrCat(who, ": no valid consistency proof from size ", held->tree_size, " to ",
                     cp->tree_size, ": ", consistent.message()),
        &server);
  }
  return absl::OkStatus();
}

absl::Status HostAuditor::Sync(LedgerState& ledger) {
  std::shared_ptr<HostClient> host = hosts_.Get(ledger.record.host_address);
  return SyncWith(ledger, *host, /*mirror=*/false);
}

absl::Status HostAuditor::SyncFromMirror(LedgerState& ledger, HostClient& mirror) {
  return SyncWith(ledger, mirror, /*mirror=*/true);
}

absl::Status HostAuditor::AdoptHost(LedgerState& ledger, HostClient& candidate) {
  if (absl::Status s = SyncWith(ledger, candidate, /*mirror=*/true); !s.ok()) return s;
  LedgerRecord& record = ledger.record;
  record.host_address = candidate.address();
  if (ledger.saved_in_registry) {
    if (absl::Status s = flusher_.SaveNow(ledger); !s.ok()) return s;
  }
  warn_(absl::StrCat("a ledger's recorded host did not answer; ", candidate.address(),
                     ", named by its host locator record in the DHT, serves the history the "
                     "agent verified and is its host from now on"));
  return SyncWith(ledger, candidate, /*mirror=*/false);
}

void HostAuditor::AdoptServerEvidence(LedgerState& ledger, HostClient& server,
                                      const std::string& evidence_id) {
  LedgerRecord& record = ledger.record;
  absl::StatusOr<v1::GetLedgerEvidenceResponse> served =
      server.GetLedgerEvidence(record.ledger_id);
  bool adopted = false;
  if (served.ok()) {
    for (const std::string& bytes : served->evidence()) {
      absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes);
      if (!info.ok() || info->ledger != record.ledger_id) continue;
      EvidenceRecord evidence;
      evidence.ledger_id = record.ledger_id;
      evidence.host_address = server.address();
      evidence.kind = "reported";
      evidence.detected_unix_millis = NowMillis();
      evidence.evidence_object = bytes;
      evidence.evidence_id = info->id;
      if (absl::Status s = Freeze(ledger, evidence); !s.ok()) {
        warn_(absl::StrCat("equivocation evidence ", info->id,
                           " served by a host could not be stored: ", s.message()));
        continue;
      }
      adopted = true;
    }
  }
  if (!adopted) {
    ledger.server_frozen_id = evidence_id.empty() ? "(none named)" : evidence_id;
  }
}

absl::Status HostAuditor::SyncWith(LedgerState& ledger, HostClient& server, bool mirror) {
  LedgerRecord& record = ledger.record;
  const std::string who = absl::StrCat(mirror ? "mirror " : "host ", server.address());
  absl::StatusOr<v1::GetLedgerResponse> info = server.GetLedger(record.ledger_id);
  if (absl::IsNotFound(info.status()) && record.state.head_number == 0 &&
      record.checkpoint.empty()) {
    if (mirror) return Prefix(info.status(), absl::StrCat(who, ": "));
    ledger.drafted = record.state;
    ledger.needs_sync = false;
    return absl::OkStatus();
  }
  if (absl::IsNotFound(info.status())) {
    if (mirror) return Prefix(info.status(), absl::StrCat(who, " does not serve it: "));
    // An unsigned answer proves nothing (a lost disk, the wrong replica behind
    // a Service): refuse to write, change nothing, keep no evidence; the
    // ledger works again once the right host answers.
    return absl::DataLossError(absl::StrCat(
        "host ", record.host_address, " no longer knows the ledger ",
        QuoteForError(record.ledger_id), " after signing ",
        std::max<uint64_t>(record.state.head_number, HeldTreeSize(record)),
        " blocks of it; the agent will not write to it there (a lost or restored host, "
        "or the wrong replica)"));
  }
  if (!info.ok()) return Prefix(info.status(), absl::StrCat(who, ": "));
  if (absl::Status s = CheckServedCheckpoint(ledger, server, info->checkpoint(), mirror);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(info->checkpoint(), record.ledger_id);
  if (!cp.ok()) return absl::InternalError("a checked checkpoint does not verify");
  if (cp->tree_size > record.state.head_number) {
    // The blocks appended meanwhile, replayed on a copy of the verified head.
    ChainState state = record.state;
    MerkleFrontier frontier = ledger.frontier;
    MerkleFrontier previous_frontier;
    std::string head_block;
    std::string document_type = record.document_type, original_id = record.original_id;
    const std::string ledger_id = record.ledger_id;
    auto check = [&](const Block& block) -> absl::Status {
      absl::Status valid =
          CheckNextBlock(state, block, SignatureStage::kComplete, BlockRuleOptions{});
      if (!valid.ok()) return Prefix(valid, absl::StrCat("block ", block.number, ": "));
      if (block.number == 1) {
        document_type = block.event.value("document type", "");
        original_id = block.event.value("original id", ledger_id);
      }
      absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
      if (!leaf.ok()) return leaf.status();
      previous_frontier = frontier;
      frontier.Append(HashMerkleLeaf(*leaf));
      if (block.number == cp->tree_size) head_block = SerializeBlock(block);
      state = AdvanceChain(state, block);
      return absl::OkStatus();
    };
    absl::StatusOr<std::optional<ReplayRejection>> rejection =
        ReplayHostBlocks(server, record.ledger_id, record.state.head_number + 1,
                         cp->tree_size, BlockRead::kCatchUp, check, nullptr);
    if (!rejection.ok()) return rejection.status();
    if (rejection->has_value()) {
      const ReplayRejection& rejected = **rejection;
      return absl::DataLossError(absl::StrCat(
          who, " served a block of ledger ", record.ledger_id,
          " that fails verification: ",
          rejected.beyond_range
              ? absl::StrCat("more blocks than the checkpoint's ", cp->tree_size)
              : std::string(rejected.status.message())));
    }
    if (state.head_number != cp->tree_size || frontier.Root() != cp->root_hash) {
      return Equivocation(
          ledger, "fork", info->checkpoint(),
          absl::StrCat(who, ": the blocks served (", state.head_number,
                       ") do not match the checkpoint of size ", cp->tree_size),
          nullptr);
    }
    record.state = state;
    record.document_type = document_type;
    record.original_id = original_id;
    ledger.frontier = frontier;
    record.frontier = frontier.Serialize();
    record.previous_frontier = previous_frontier.Serialize();
    ledger.head_block = std::move(head_block);
    record.ledger_token.clear();
  }
  if (cp->tree_size >= record.state.head_number) {
    record.checkpoint = info->checkpoint();
    if (witnesses_ != nullptr) {
      witnesses_->Offer(record.ledger_id, cp->tree_size, record.checkpoint, record.host_address);
    }
  }
  if (info->frozen()) {
    AdoptServerEvidence(ledger, server, info->evidence_id());
  } else if (!mirror) {
    ledger.server_frozen_id.clear();
  }
  if (ledger.saved_in_registry) {
    if (absl::Status s = flusher_.SaveNow(ledger); !s.ok()) return s;
  }
  ledger.drafted = record.state;
  ++ledger.draft_epoch;
  // A mirror's view may be older than the host's: writes sync with the host.
  ledger.needs_sync = mirror;
  return absl::OkStatus();
}

absl::Status HostAuditor::AcceptReply(LedgerState& ledger, Block block,
                                      absl::string_view owner_signed,
                                      const v1::AppendResponse& response,
                                      v1::CommittedBlock* committed, bool* save_later) {
  absl::Status accepted = CheckAndAcceptReply(ledger, std::move(block), owner_signed, response,
                                              committed, save_later);
  // DATA_LOSS is the auditor's verdict on the reply (a storage error is not).
  if (metrics_ != nullptr && accepted.code() == absl::StatusCode::kDataLoss) {
    metrics_->host_replies_rejected.Increment();
  }
  return accepted;
}

absl::Status HostAuditor::CheckAndAcceptReply(LedgerState& ledger, Block block,
                                              absl::string_view owner_signed,
                                              const v1::AppendResponse& response,
                                              v1::CommittedBlock* committed,
                                              bool* save_later) {
  *save_later = false;
  LedgerRecord& record = ledger.record;
  const std::string where = absl::StrCat("block ", block.number, " of ledger ",
                                         record.ledger_id, ": ");
  if (response.ledger_id() != record.ledger_id || response.number() != block.number ||
      response.fingerprint() != block.fingerprint) {
    return absl::DataLossError(absl::StrCat(where, "the host's reply names another block"));
  }
  const v1::Signature& s = response.host_signature();
  if (s.role() != kHostRole || s.alg() != kEd25519Alg) {
    return absl::DataLossError(absl::StrCat(
        where, "the host's signature is not a host Ed25519 signature (role \"",
        QuoteForError(s.role()), "\", alg \"", QuoteForError(s.alg()), "\")"));
  }
  block.signatures.push_back({s.role(), s.alg(), s.key(), s.sig()});
  // A block that follows the verified head (same number and previous as when
  // it was drafted) passed every block rule and owner-signature check against
  // this very head before it was sent (the append pipeline, CosignBlock); only
  // the host signature is new. Anything else gets the full check.
  const ChainState& head = record.state;
  const bool follows_head = block.number > 1 && block.ledger == head.ledger &&
                            head.terminal_event.empty() &&
                            block.number == head.head_number + 1 &&
                            block.previous == head.head_fingerprint;
  if (absl::Status checked =
          follows_head ? CheckHostSignatureOf(record.ledger_id, block)
                       : CheckNextBlock(head, block, SignatureStage::kComplete,
                                        BlockRuleOptions{});
      !checked.ok()) {
    return absl::DataLossError(
        absl::StrCat(where, "the host's signature does not verify: ", checked.message()));
  }
  absl::StatusOr<Checkpoint> cp = VerifyCheckpoint(response.checkpoint(), record.ledger_id);
  if (!cp.ok()) {
    return absl::DataLossError(
        absl::StrCat(where, "invalid checkpoint: ", cp.status().message()));
  }
  if (cp->tree_size != block.number) {
    return absl::DataLossError(absl::StrCat(where, "the checkpoint is of size ",
                                            cp->tree_size));
  }
  absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  if (!leaf.ok()) return absl::DataLossError(absl::StrCat(where, leaf.status().message()));
  MerkleFrontier frontier = ledger.frontier;
  frontier.Append(HashMerkleLeaf(*leaf));
  if (frontier.Root() != cp->root_hash) {
    return Equivocation(
        ledger, "fork", response.checkpoint(),
        absl::StrCat("the checkpoint of size ", cp->tree_size,
                     " does not extend the agent's tree with block ", block.number),
        nullptr);
  }
  record.state = AdvanceChain(record.state, block);
  record.checkpoint = response.checkpoint();
  record.ledger_token.clear();
  record.previous_frontier = ledger.frontier.Serialize();
  ledger.frontier = std::move(frontier);
  record.frontier = ledger.frontier.Serialize();
  if (block.number == 1) {
    record.document_type = block.event.value("document type", "");
    record.original_id = block.event.value("original id", record.ledger_id);
  }
  // The signature's members passed the checks above (role, alg, the ledger's
  // key, canonical base64): spliced verbatim they keep the bytes canonical.
  ledger.head_block = SpliceHostSignature(owner_signed, block.signatures.back());
  if (ledger.head_block.empty()) ledger.head_block = SerializeBlock(block);
  if (witnesses_ != nullptr) {
    witnesses_->Offer(record.ledger_id, cp->tree_size, record.checkpoint, record.host_address);
  }
  *committed = ToCommittedBlock(record.ledger_id, block, ledger.head_block,
                                response.checkpoint());
  if (block.number == 1 || !record.state.terminal_event.empty()) {
    // Genesis and terminal states are promised durable before the call
    // returns: a failed save fails the call (the block is committed; the
    // ledger re-syncs and saves again before its next block).
    if (absl::Status saved = flusher_.SaveNow(ledger); !saved.ok()) {
      return absl::InternalError(absl::StrCat(where, "committed, but its ledger record "
                                                     "could not be saved: ",
                                              saved.message()));
    }
  } else {
    *save_later = true;
  }
  return absl::OkStatus();
}

}  // namespace microledger
