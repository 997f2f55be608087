#include "common/block.h"

#include <cmath>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/canonical_block_reader.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/timestamp.h"

namespace microledger {
namespace {

absl::Status Broke(absl::string_view rule, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(rule, ": ", detail));
}

// Moves the string out of member `name` of `object`.
absl::StatusOr<std::string> StringMember(Json& object, const char* name,
                                         absl::string_view rule) {
  auto it = object.find(name);
  if (it == object.end()) {
    return Broke(rule, absl::StrCat("member \"", name, "\" is missing"));
  }
  if (!it->is_string()) {
    return Broke(rule, absl::StrCat("member \"", name, "\" must be a string"));
  }
  return std::move(it->get_ref<std::string&>());
}

absl::Status CheckMemberSet(const Json& object,
                            std::initializer_list<absl::string_view> allowed,
                            absl::string_view rule, absl::string_view what) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (absl::string_view name : allowed) known = known || it.key() == name;
    if (!known) {
      return Broke(rule, absl::StrCat(what, " has an unknown member \"",
                                      QuoteForError(it.key()), "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Controllers> ParseControllers(const Json& value) {
  if (!value.is_object()) return Broke("controllers", "must be an object");
  if (absl::Status s = CheckMemberSet(value, {"threshold", "keys"},
                                      "controllers", "controllers");
      !s.ok()) {
    return s;
  }
  auto keys = value.find("keys");
  auto threshold = value.find("threshold");
  if (keys == value.end() || threshold == value.end()) {
    return Broke("controllers", "needs exactly \"threshold\" and \"keys\"");
  }
  if (!keys->is_array() || keys->empty() || keys->size() > kMaxControllerKeys) {
    return Broke("controllers", "keys must be an array of 1 to 16 owner keys");
  }
  Controllers controllers;
  std::set<std::string> distinct;
  for (const Json& key : *keys) {
    if (!key.is_string() || !DecodePublicKeyText(key.get<std::string>()).ok()) {
      return Broke("controllers", "every key must be an Ed25519 public key text");
    }
    if (!distinct.insert(key.get<std::string>()).second) {
      return Broke("controllers", "keys must be distinct");
    }
    controllers.keys.push_back(key.get<std::string>());
  }
  absl::StatusOr<uint64_t> count =
      JsonWholeNumber(*threshold, 1, controllers.keys.size());
  if (!count.ok()) {
    return Broke("controllers",
                 "threshold must be a whole number from 1 to the number of keys");
  }
  controllers.threshold = static_cast<int>(*count);
  return controllers;
}

absl::StatusOr<std::vector<std::string>> ParseSeals(const Json& value) {
  if (!value.is_array() || value.size() > kMaxSeals) {
    return Broke("seals", "must be an array of at most 64 digests");
  }
  std::vector<std::string> seals;
  std::set<std::string> distinct;
  for (const Json& seal : value) {
    if (!seal.is_string()) return Broke("seals", "every seal must be a digest");
    if (absl::StatusOr<std::string> raw = DecodeDigest(seal.get<std::string>());
        !raw.ok()) {
      return Broke("seals", raw.status().message());
    }
    if (!distinct.insert(seal.get<std::string>()).second) {
      return Broke("seals", "seals must be distinct");
    }
    seals.push_back(seal.get<std::string>());
  }
  return seals;
}

// Also sets `*raw` to the decoded key and signature.
absl::StatusOr<BlockSignature> ParseSignature(Json& value, RawSignature* raw) {
  if (!value.is_object() || value.size() != 4) {
    return Broke("signatures",
                 "a signature is an object with exactly role, alg, key, sig");
  }
  BlockSignature signature;
  std::pair<const char*, std::string*> members[] = {{"role", &signature.role},
                                                    {"alg", &signature.alg},
                                                    {"key", &signature.key},
                                                    {"sig", &signature.sig}};
  for (auto& [name, field] : members) {
    absl::StatusOr<std::string> text = StringMember(value, name, "signatures");
    if (!text.ok()) return text.status();
    *field = *std::move(text);
  }
  if (absl::Status s = CheckSignatureTexts(signature, raw); !s.ok()) return s;
  return signature;
}

}  // namespace

absl::Status CheckSignatureTexts(const BlockSignature& signature, RawSignature* raw) {
  if (signature.alg != kEd25519Alg) {
    return Broke("alg", absl::StrCat("unsupported signature algorithm \"",
                                     QuoteForError(signature.alg),
                                     "\" (v1 accepts Ed25519 only)"));
  }
  absl::StatusOr<std::string> key = DecodePublicKeyText(signature.key);
  if (!key.ok()) {
    return Broke("signatures", "key is not an Ed25519 public key text");
  }
  absl::StatusOr<std::string> sig = DecodeMultibase(signature.sig);
  if (!sig.ok() || sig->size() != kEd25519SignatureSize) {
    return Broke("signatures", "sig is not an Ed25519 signature text");
  }
  if (raw != nullptr) {
    raw->key = *std::move(key);
    raw->sig = *std::move(sig);
  }
  return absl::OkStatus();
}

absl::Status CheckSignatureRoles(const std::vector<BlockSignature>& signatures,
                                 SignatureStage stage) {
  const size_t owner_count = stage == SignatureStage::kComplete
                                 ? (signatures.empty() ? 0 : signatures.size() - 1)
                                 : signatures.size();
  for (size_t i = 0; i < signatures.size(); ++i) {
    const absl::string_view want = i < owner_count ? kOwnerRole : kHostRole;
    if (signatures[i].role != want) {
      return Broke("signatures",
                   stage == SignatureStage::kComplete
                       ? "owner signatures first, then exactly one host "
                         "signature, last"
                       : "a block sent for countersigning carries owner "
                         "signatures only");
    }
  }
  if (stage == SignatureStage::kComplete && signatures.empty()) {
    return Broke("signatures", "the host signature is missing");
  }
  return absl::OkStatus();
}

const std::string& Block::event_name() const {
  return event.at("event").get_ref<const std::string&>();
}

absl::StatusOr<uint64_t> JsonWholeNumber(const Json& value, uint64_t min,
                                         uint64_t max) {
  if (!value.is_number()) {
    return absl::InvalidArgumentError("not a number");
  }
  const double number = value.get<double>();
  if (std::floor(number) != number || number < static_cast<double>(min) ||
      number > static_cast<double>(max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a whole number from ", min, " to ", max));
  }
  return static_cast<uint64_t>(number);
}

absl::StatusOr<Block> ParseBlock(absl::string_view bytes, SignatureStage stage) {
  if (std::optional<Block> block = ReadCanonicalBlock(bytes, stage)) {
    return *std::move(block);
  }
  return ParseBlockThroughJsonTree(bytes, stage);
}

absl::StatusOr<Block> ParseBlockThroughJsonTree(absl::string_view bytes,
                                                SignatureStage stage) {
  absl::StatusOr<Json> json = ParseJson(bytes);
  if (!json.ok()) return Broke("json", json.status().message());
  const CanonicalJsonSplit jcs = BlockJcs(*json);
  if (jcs.whole != bytes) {
    return Broke("canonical form",
                 "the bytes are not the JCS serialisation of the block");
  }
  return BlockFromJson(*std::move(json), jcs.without, stage, /*binaries=*/nullptr);
}

CanonicalJsonSplit BlockJcs(const Json& value) {
  return CanonicalJsonWithout(value, {"fingerprint", "signatures"});
}

absl::StatusOr<Block> BlockFromJson(Json value, absl::string_view body_jcs,
                                    SignatureStage stage, BlockBinaries* binaries) {
  if (!value.is_object()) return Broke("members", "a block is a JSON object");
  if (absl::Status s = CheckMemberSet(
          value,
          {"ledger", "number", "previous", "time", "controllers", "seals",
           "event", "fingerprint", "signatures"},
          "members", "the block");
      !s.ok()) {
    return s;
  }
  Block block;

  absl::StatusOr<std::string> ledger = StringMember(value, "ledger", "ledger");
  if (!ledger.ok()) return ledger.status();
  if (absl::StatusOr<std::string> key = PublicKeyTextFromLedgerId(*ledger);
      !key.ok()) {
    return Broke("ledger", key.status().message());
  }
  block.ledger = *std::move(ledger);

  auto number = value.find("number");
  if (number == value.end()) return Broke("number", "member \"number\" is missing");
  absl::StatusOr<uint64_t> number_value =
      JsonWholeNumber(*number, 1, kMaxBlockNumber);
  if (!number_value.ok()) return Broke("number", number_value.status().message());
  block.number = *number_value;

  auto previous = value.find("previous");
  if (block.number == 1 && previous != value.end()) {
    return Broke("previous", "the genesis block has no \"previous\"");
  }
  if (block.number > 1) {
    absl::StatusOr<std::string> text = StringMember(value, "previous", "previous");
    if (!text.ok()) return text.status();
    if (absl::StatusOr<std::string> raw = DecodeDigest(*text); !raw.ok()) {
      return Broke("previous", raw.status().message());
    }
    block.previous = *std::move(text);
  }

  absl::StatusOr<std::string> time = StringMember(value, "time", "time");
  if (!time.ok()) return time.status();
  absl::StatusOr<int64_t> millis = ParseTimestampMillis(*time);
  if (!millis.ok()) return Broke("time", millis.status().message());
  block.time = *std::move(time);
  block.time_millis = *millis;

  if (auto controllers = value.find("controllers"); controllers != value.end()) {
    absl::StatusOr<Controllers> parsed = ParseControllers(*controllers);
    if (!parsed.ok()) return parsed.status();
    block.controllers = *std::move(parsed);
  }

  if (auto seals = value.find("seals"); seals != value.end()) {
    absl::StatusOr<std::vector<std::string>> parsed = ParseSeals(*seals);
    if (!parsed.ok()) return parsed.status();
    block.seals = *std::move(parsed);
  }

  auto event = value.find("event");
  if (event == value.end()) return Broke("event", "member \"event\" is missing");
  if (!event->is_object()) return Broke("event", "the event must be a JSON object");
  auto event_name = event->find("event");
  if (event_name == event->end() || !event_name->is_string()) {
    return Broke("event", "the event needs a string member \"event\"");
  }
  block.event = std::move(*event);

  absl::StatusOr<std::string> fingerprint =
      StringMember(value, "fingerprint", "fingerprint");
  if (!fingerprint.ok()) return fingerprint.status();
  absl::StatusOr<std::string> leaf = DecodeDigest(*fingerprint);
  if (!leaf.ok()) return Broke("fingerprint", leaf.status().message());
  block.fingerprint = *std::move(fingerprint);

  auto signatures = value.find("signatures");
  if (signatures == value.end() || !signatures->is_array()) {
    return Broke("signatures", "member \"signatures\" must be an array");
  }
  std::vector<RawSignature> raw_signatures(signatures->size());
  block.signatures.reserve(signatures->size());
  for (size_t i = 0; i < signatures->size(); ++i) {
    absl::StatusOr<BlockSignature> parsed =
        ParseSignature((*signatures)[i], &raw_signatures[i]);
    if (!parsed.ok()) return parsed.status();
    block.signatures.push_back(*std::move(parsed));
  }
  if (absl::Status s = CheckSignatureRoles(block.signatures, stage); !s.ok()) {
    return s;
  }

  // The fingerprint text is canonical, so comparing the decoded multihash is
  // comparing the text.
  if (Sha256Multihash(body_jcs) != *leaf) {
    return Broke("fingerprint",
                 "is not the sha2-256 digest of the block body's JCS bytes");
  }
  if (binaries != nullptr) {
    binaries->leaf = *std::move(leaf);
    binaries->signatures = std::move(raw_signatures);
  }
  return block;
}

Json BlockBodyJson(const Block& block) {
  Json body = Json::object();
  body["ledger"] = block.ledger;
  body["number"] = static_cast<double>(block.number);
  if (block.previous.has_value()) body["previous"] = *block.previous;
  body["time"] = block.time;
  if (block.controllers.has_value()) {
    Json keys = Json::array();
    for (const std::string& key : block.controllers->keys) keys.push_back(key);
    body["controllers"] = {
        {"threshold", static_cast<double>(block.controllers->threshold)},
        {"keys", std::move(keys)}};
  }
  if (block.seals.has_value()) {
    Json seals = Json::array();
    for (const std::string& seal : *block.seals) seals.push_back(seal);
    body["seals"] = std::move(seals);
  }
  body["event"] = block.event;
  return body;
}

std::string ComputeFingerprint(const Block& block) {
  return DigestText(CanonicalJson(BlockBodyJson(block)));
}

std::string BlockSignedMessage(absl::string_view fingerprint) {
  return absl::StrCat(kBlockSignedMessagePrefix, fingerprint);
}

std::string SpliceHostSignature(absl::string_view owner_signed,
                                const BlockSignature& host) {
  // JCS sorts the members: `signatures` is the one before `time`, the last.
  static constexpr absl::string_view kTail = "],\"time\":\"";
  const size_t at = owner_signed.rfind(kTail);
  if (at == absl::string_view::npos ||
      owner_signed.find(']', at + kTail.size()) != absl::string_view::npos) {
    return std::string();
  }
  std::string out;
  out.reserve(owner_signed.size() + host.key.size() + host.sig.size() + 64);
  out.append(owner_signed.data(), at);
  absl::StrAppend(&out, ",{\"alg\":\"", host.alg, "\",\"key\":\"", host.key,
                  "\",\"role\":\"", host.role, "\",\"sig\":\"", host.sig, "\"}");
  out.append(owner_signed.data() + at, owner_signed.size() - at);
  return out;
}

std::string ForgetRequestMessage(absl::string_view ledger_id,
                                 absl::string_view head_fingerprint) {
  return absl::StrCat("microledger-forget-v1 ", ledger_id, " ", head_fingerprint);
}

Json BlockJson(const Block& block) {
  Json json = BlockBodyJson(block);
  json["fingerprint"] = block.fingerprint;
  Json signatures = Json::array();
  for (const BlockSignature& signature : block.signatures) {
    signatures.push_back({{"role", signature.role},
                          {"alg", signature.alg},
                          {"key", signature.key},
                          {"sig", signature.sig}});
  }
  json["signatures"] = std::move(signatures);
  return json;
}

std::string SerializeBlock(const Block& block) {
  return CanonicalJson(BlockJson(block));
}

}  // namespace microledger
