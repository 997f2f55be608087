#include "owner_agent/event_builder.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/chain_validator.h"
#include "common/encoding.h"
#include "owner_agent/proto_conversions.h"
#include "owner_agent/request_journal.h"
#include "owner_agent/status_prefix.h"

namespace microledger {

absl::StatusOr<Json> ParseExtraMembers(const std::string& text,
                                       std::initializer_list<const char*> taken) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok()) return Prefix(json.status(), "extra members: ");
  if (!json->is_object()) {
    return absl::InvalidArgumentError("extra members: must be a JSON object");
  }
  for (const char* name : taken) {
    if (json->contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra members: \"", name, "\" is set by the agent"));
    }
  }
  if (json->contains("event")) {
    return absl::InvalidArgumentError("extra members: \"event\" is set by the agent");
  }
  return json;
}

absl::StatusOr<Controllers> GenesisControllers(const v1::OwnerCreateLedgerRequest& request,
                                               const std::string& key) {
  if (!request.has_controllers()) return Controllers{1, {key}};
  Controllers controllers = FromProto(request.controllers());
  if (std::find(controllers.keys.begin(), controllers.keys.end(), key) ==
      controllers.keys.end()) {
    return absl::InvalidArgumentError(
        "controllers: the signing key must be one of the controllers' keys");
  }
  if (controllers.threshold < 1 ||
      static_cast<size_t>(controllers.threshold) > controllers.keys.size()) {
    return absl::InvalidArgumentError(
        "controllers: threshold must be a whole number from 1 to the number of keys");
  }
  return controllers;
}

absl::StatusOr<BlockContent> GenesisContent(const v1::OwnerCreateLedgerRequest& request,
                                            const std::string& key,
                                            const Controllers& controllers,
                                            int64_t now_millis) {
  absl::StatusOr<Json> event =
      ParseExtraMembers(request.extra_members_json(),
                        {"document type", "cryptographic signing key", "host url",
                         "hyperswarm id", "signature"});
  if (!event.ok()) return event.status();
  (*event)["event"] = std::string(kOpenedDocument);
  (*event)["document type"] = request.document_type();
  (*event)["cryptographic signing key"] = key;
  if (!request.host_url().empty()) (*event)["host url"] = request.host_url();
  if (!request.hyperswarm_id().empty()) (*event)["hyperswarm id"] = request.hyperswarm_id();
  BlockContent content;
  content.event = *std::move(event);
  content.controllers = controllers;
  content.time_millis = now_millis;
  return content;
}

absl::StatusOr<EventAppend> EventContent(const v1::AppendEventRequest& request,
                                         int64_t now_millis) {
  if (request.request_id().size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request id: longer than ",
                                                   kMaxRequestIdBytes, " bytes"));
  }
  absl::StatusOr<Json> event = ParseJson(request.event_json());
  if (!event.ok()) return Prefix(event.status(), "event: ");
  auto name = event->is_object() ? event->find("event") : event->end();
  if (!event->is_object() || name == event->end() || !name->is_string()) {
    return absl::InvalidArgumentError(
        "event: must be a JSON object with a string member \"event\"");
  }
  if (IsReservedEvent(name->get_ref<const std::string&>())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "event: \"", name->get_ref<const std::string&>(),
        "\" is reserved; use CreateLedger, CloseLedger, MoveLedger or TransferOwnership"));
  }
  EventAppend append;
  append.content.event = *std::move(event);
  append.content.time_millis = now_millis;
  if (request.attachments_size() > 0) {
    std::vector<std::string> seals;
    for (const v1::Attachment& attachment : request.attachments()) {
      std::string seal = DigestText(attachment.data());
      if (std::find(seals.begin(), seals.end(), seal) != seals.end()) continue;
      seals.push_back(seal);
      append.attachments.push_back(attachment);
    }
    append.content.seals = std::move(seals);
  }
  return append;
}

BlockContent ClosedContent(int64_t now_millis) {
  BlockContent content;
  content.event = Json{{"event", std::string(kClosedDocument)}};
  content.time_millis = now_millis;
  return content;
}

absl::StatusOr<BlockContent> TransferContent(const v1::TransferOwnershipRequest& request,
                                             int64_t now_millis) {
  absl::StatusOr<Json> event = ParseExtraMembers(request.extra_members_json(), {"signature"});
  if (!event.ok()) return event.status();
  (*event)["event"] = std::string(kTransferredOwnership);
  BlockContent content;
  content.event = *std::move(event);
  content.controllers = FromProto(request.new_controllers());
  content.time_millis = now_millis;
  return content;
}

BlockContent MovedContent(const std::string& new_id, const std::string& new_key,
                          int64_t now_millis) {
  BlockContent content;
  content.event = Json{{"event", std::string(kMovedDocument)},
                       {"new id", new_id},
                       {"new cryptographic signing key", new_key}};
  content.time_millis = now_millis;
  return content;
}

BlockContent BecameContent(const LedgerRecord& old, int64_t now_millis) {
  BlockContent content;
  content.event = Json{{"event", std::string(kBecameDocument)},
                       {"document type", old.document_type},
                       {"cryptographic signing key", old.move_new_key},
                       {"original id", old.original_id.empty() ? old.ledger_id : old.original_id},
                       {"moved from", old.ledger_id},
                       {"moved from block", old.move_block_fingerprint}};
  content.controllers = Controllers{1, {old.move_new_key}};
  content.time_millis = now_millis;
  return content;
}

}  // namespace microledger
