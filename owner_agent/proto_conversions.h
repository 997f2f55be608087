// Internal to owner_agent/: conversions between the agent's types
// (chain_validator.h, ledger_registry.h) and the microledger.v1 messages of
// owner.proto. Pure functions; thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_PROTO_CONVERSIONS_H_
#define MICROLEDGER_OWNER_AGENT_PROTO_CONVERSIONS_H_

#include <string>
#include <vector>

#include "common/block.h"
#include "common/chain_validator.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/ledger_registry.h"

namespace microledger {

Controllers FromProto(const v1::Controllers& controllers);
void ToProto(const Controllers& controllers, v1::Controllers* out);
void ToProto(const EvidenceRecord& evidence, v1::Evidence* out);

// The ledger's status as the API names it (UNSPECIFIED before genesis).
v1::LedgerStatus StatusOf(const ChainState& state);

std::vector<v1::Attachment> ToVector(
    const google::protobuf::RepeatedPtrField<v1::Attachment>& list);

// The committed block as reported to clients: `serialized` is the complete
// block's bytes, `checkpoint` the verified checkpoint that covers it.
v1::CommittedBlock ToCommittedBlock(const std::string& ledger_id, const Block& block,
                                    std::string serialized, const std::string& checkpoint);

// The outcome of a committed block.
v1::BlockOutcome CommittedOutcome(v1::CommittedBlock committed);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_PROTO_CONVERSIONS_H_
