#include "owner_agent/event_builder.h"

#include <string>

#include "common/chain_validator.h"
#include "gtest/gtest.h"
#include "owner_agent/request_journal.h"

namespace microledger {
namespace {

TEST(ParseExtraMembersTest, EmptyTextIsAnEmptyObject) {
  absl::StatusOr<Json> extras = ParseExtraMembers("", {"signature"});
  ASSERT_TRUE(extras.ok());
  EXPECT_TRUE(extras->is_object());
  EXPECT_TRUE(extras->empty());
}

TEST(ParseExtraMembersTest, RefusesReservedMembersAndNonObjects) {
  EXPECT_EQ(ParseExtraMembers("[1]", {}).status().message(),
            "extra members: must be a JSON object");
  EXPECT_EQ(ParseExtraMembers(R"({"signature":"x"})", {"signature"}).status().message(),
            "extra members: \"signature\" is set by the agent");
  EXPECT_EQ(ParseExtraMembers(R"({"event":"x"})", {}).status().message(),
            "extra members: \"event\" is set by the agent");
  absl::Status malformed = ParseExtraMembers("{", {}).status();
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(malformed.message().rfind("extra members: ", 0), 0u) << malformed.message();
}

TEST(GenesisTest, ControllersDefaultToTheSigningKey) {
  v1::OwnerCreateLedgerRequest request;
  absl::StatusOr<Controllers> controllers = GenesisControllers(request, "uKEY");
  ASSERT_TRUE(controllers.ok());
  EXPECT_EQ(controllers->threshold, 1);
  EXPECT_EQ(controllers->keys, std::vector<std::string>{"uKEY"});
}

TEST(GenesisTest, ControllersMustIncludeTheKeyAndAValidThreshold) {
  v1::OwnerCreateLedgerRequest request;
  request.mutable_controllers()->add_keys("uOTHER");
  request.mutable_controllers()->set_threshold(1);
  EXPECT_EQ(GenesisControllers(request, "uKEY").status().code(),
            absl::StatusCode::kInvalidArgument);
  request.mutable_controllers()->add_keys("uKEY");
  request.mutable_controllers()->set_threshold(3);
  EXPECT_EQ(GenesisControllers(request, "uKEY").status().message(),
            "controllers: threshold must be a whole number from 1 to the number of keys");
  request.mutable_controllers()->set_threshold(2);
  EXPECT_TRUE(GenesisControllers(request, "uKEY").ok());
}

TEST(GenesisTest, ContentNamesTypeKeyAndOptionalMembers) {
  v1::OwnerCreateLedgerRequest request;
  request.set_document_type("invoice");
  request.set_host_url("https://h");
  request.set_extra_members_json(R"({"customer":"c"})");
  absl::StatusOr<BlockContent> content =
      GenesisContent(request, "uKEY", Controllers{1, {"uKEY"}}, 42);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->event["event"], std::string(kOpenedDocument));
  EXPECT_EQ(content->event["document type"], "invoice");
  EXPECT_EQ(content->event["cryptographic signing key"], "uKEY");
  EXPECT_EQ(content->event["host url"], "https://h");
  EXPECT_EQ(content->event["customer"], "c");
  EXPECT_FALSE(content->event.contains("hyperswarm id"));
  EXPECT_EQ(content->time_millis, 42);
  ASSERT_TRUE(content->controllers.has_value());

  request.set_extra_members_json(R"({"host url":"x"})");
  EXPECT_EQ(GenesisContent(request, "uKEY", Controllers{1, {"uKEY"}}, 42).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EventContentTest, AcceptsAnApplicationEventAndDeduplicatesSeals) {
  v1::AppendEventRequest request;
  request.set_event_json(R"({"event":"paid","amount":3})");
  request.add_attachments()->set_data("pdf");
  request.add_attachments()->set_data("pdf");
  request.add_attachments()->set_data("png");
  absl::StatusOr<EventAppend> append = EventContent(request, 7);
  ASSERT_TRUE(append.ok()) << append.status();
  EXPECT_EQ(append->content.event["amount"], 3);
  EXPECT_EQ(append->content.time_millis, 7);
  ASSERT_TRUE(append->content.seals.has_value());
  EXPECT_EQ(append->content.seals->size(), 2u);
  EXPECT_EQ(append->attachments.size(), 2u);
  EXPECT_FALSE(append->content.controllers.has_value());
}

TEST(EventContentTest, RefusesMalformedAndReservedEvents) {
  v1::AppendEventRequest request;
  request.set_event_json(R"({"name":"paid"})");
  EXPECT_EQ(EventContent(request, 0).status().message(),
            "event: must be a JSON object with a string member \"event\"");
  request.set_event_json("{");
  EXPECT_EQ(EventContent(request, 0).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_event_json(R"({"event":"closed document"})");
  EXPECT_EQ(EventContent(request, 0).status().code(), absl::StatusCode::kFailedPrecondition);
  request.set_event_json(R"({"event":"paid"})");
  request.set_request_id(std::string(kMaxRequestIdBytes + 1, 'r'));
  EXPECT_EQ(EventContent(request, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LifecycleContentTest, ClosedTransferMovedAndBecame) {
  EXPECT_EQ(ClosedContent(1).event, (Json{{"event", std::string(kClosedDocument)}}));

  v1::TransferOwnershipRequest transfer;
  transfer.mutable_new_controllers()->add_keys("uNEW");
  transfer.mutable_new_controllers()->set_threshold(1);
  absl::StatusOr<BlockContent> transferred = TransferContent(transfer, 1);
  ASSERT_TRUE(transferred.ok());
  EXPECT_EQ(transferred->event["event"], std::string(kTransferredOwnership));
  EXPECT_EQ(transferred->controllers->keys, std::vector<std::string>{"uNEW"});
  transfer.set_extra_members_json(R"({"signature":"x"})");
  EXPECT_FALSE(TransferContent(transfer, 1).ok());

  BlockContent moved = MovedContent("uNEWID", "uNEWKEY", 1);
  EXPECT_EQ(moved.event["new id"], "uNEWID");
  EXPECT_EQ(moved.event["new cryptographic signing key"], "uNEWKEY");

  LedgerRecord old;
  old.ledger_id = "uOLD";
  old.document_type = "invoice";
  old.move_new_key = "uNEWKEY";
  old.move_block_fingerprint = "uFP";
  BlockContent became = BecameContent(old, 1);
  EXPECT_EQ(became.event["event"], std::string(kBecameDocument));
  EXPECT_EQ(became.event["original id"], "uOLD");  // No original id: the old ledger.
  EXPECT_EQ(became.event["moved from block"], "uFP");
  EXPECT_EQ(became.controllers->keys, std::vector<std::string>{"uNEWKEY"});
  old.original_id = "uFIRST";
  EXPECT_EQ(BecameContent(old, 1).event["original id"], "uFIRST");
}

}  // namespace
}  // namespace microledger
