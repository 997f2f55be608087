// Internal to owner_agent/: the content (event JSON, controllers, seals) of
// every block the agent drafts, built from its API requests, and the checks of
// what a client may put into an event (SPEC §3: reserved event names and
// members are set by the agent only). Pure functions of their arguments (the
// time is passed in); thread-safe.
//
// Errors: malformed input is INVALID_ARGUMENT; a reserved event name, which
// breaks a rule, is FAILED_PRECONDITION. Messages name the field.
#ifndef MICROLEDGER_OWNER_AGENT_EVENT_BUILDER_H_
#define MICROLEDGER_OWNER_AGENT_EVENT_BUILDER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/block_builder.h"
#include "common/json.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/ledger_registry.h"

namespace microledger {

// Optional extra event members (`text`, may be empty): a JSON object without
// "event" and without any of the `taken` member names.
absl::StatusOr<Json> ParseExtraMembers(const std::string& text,
                                       std::initializer_list<const char*> taken);

// The controllers of a new ledger: the request's, which must include `key`
// and have a threshold from 1 to their number, or `key` alone.
absl::StatusOr<Controllers> GenesisControllers(const v1::OwnerCreateLedgerRequest& request,
                                               const std::string& key);

// The "opened document" genesis signed with `key`.
absl::StatusOr<BlockContent> GenesisContent(const v1::OwnerCreateLedgerRequest& request,
                                            const std::string& key,
                                            const Controllers& controllers,
                                            int64_t now_millis);

// An application event and the attachments it seals (the first of each seal).
struct EventAppend {
  BlockContent content;
  std::vector<v1::Attachment> attachments;
};
absl::StatusOr<EventAppend> EventContent(const v1::AppendEventRequest& request,
                                         int64_t now_millis);

BlockContent ClosedContent(int64_t now_millis);

absl::StatusOr<BlockContent> TransferContent(const v1::TransferOwnershipRequest& request,
                                             int64_t now_millis);

// "moved document" pointing at the new ledger and its key.
BlockContent MovedContent(const std::string& new_id, const std::string& new_key,
                          int64_t now_millis);

// "became document", the genesis of the ledger that `old` (a record whose
// moved block is committed) moves to.
BlockContent BecameContent(const LedgerRecord& old, int64_t now_millis);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_EVENT_BUILDER_H_
