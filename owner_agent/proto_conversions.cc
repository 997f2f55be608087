#include "owner_agent/proto_conversions.h"

#include <utility>

namespace microledger {

Controllers FromProto(const v1::Controllers& controllers) {
  Controllers out;
  out.threshold = static_cast<int>(controllers.threshold());
  out.keys.assign(controllers.keys().begin(), controllers.keys().end());
  return out;
}

void ToProto(const Controllers& controllers, v1::Controllers* out) {
  out->set_threshold(controllers.threshold);
  for (const std::string& key : controllers.keys) out->add_keys(key);
}

void ToProto(const EvidenceRecord& evidence, v1::Evidence* out) {
  out->set_ledger_id(evidence.ledger_id);
  out->set_host_address(evidence.host_address);
  out->set_kind(evidence.kind);
  out->set_held_checkpoint(evidence.held_checkpoint);
  out->set_served_checkpoint(evidence.served_checkpoint);
  out->set_detail(evidence.detail);
  out->set_detected_unix_millis(evidence.detected_unix_millis);
  out->set_evidence_object(evidence.evidence_object);
  out->set_evidence_id(evidence.evidence_id);
}

v1::LedgerStatus StatusOf(const ChainState& state) {
  switch (LifecycleOf(state)) {
    case LedgerLifecycle::kClosed:
      return v1::LEDGER_STATUS_CLOSED;
    case LedgerLifecycle::kMoved:
      return v1::LEDGER_STATUS_MOVED;
    case LedgerLifecycle::kOpen:
      return v1::LEDGER_STATUS_OPEN;
    case LedgerLifecycle::kNoGenesis:
      break;
  }
  return v1::LEDGER_STATUS_UNSPECIFIED;
}

std::vector<v1::Attachment> ToVector(
    const google::protobuf::RepeatedPtrField<v1::Attachment>& list) {
  return std::vector<v1::Attachment>(list.begin(), list.end());
}

v1::CommittedBlock ToCommittedBlock(const std::string& ledger_id, const Block& block,
                                    std::string serialized, const std::string& checkpoint) {
  v1::CommittedBlock committed;
  committed.set_ledger_id(ledger_id);
  committed.set_number(block.number);
  committed.set_fingerprint(block.fingerprint);
  committed.set_block(std::move(serialized));
  committed.set_checkpoint(checkpoint);
  return committed;
}

v1::BlockOutcome CommittedOutcome(v1::CommittedBlock committed) {
  v1::BlockOutcome outcome;
  *outcome.mutable_committed() = std::move(committed);
  return outcome;
}

}  // namespace microledger
