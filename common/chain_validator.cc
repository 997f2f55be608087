#include "common/chain_validator.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/timestamp.h"

namespace microledger {
namespace {

absl::Status Malformed(absl::string_view rule, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(rule, ": ", detail));
}

absl::Status Broke(absl::string_view rule, absl::string_view detail) {
  return absl::FailedPreconditionError(absl::StrCat(rule, ": ", detail));
}

bool IsTerminal(absl::string_view event) {
  return event == kClosedDocument || event == kMovedDocument;
}

enum class MemberKind { kText, kKey, kLedgerId, kDigest };

absl::Status CheckEventMember(const Json& event, const char* name,
                              MemberKind kind, bool required) {
  auto it = event.find(name);
  const std::string rule =
      absl::StrCat("event ", QuoteForError(event["event"].get_ref<const std::string&>()));
  if (it == event.end()) {
    if (!required) return absl::OkStatus();
    return Malformed(rule, absl::StrCat("member \"", name, "\" is required"));
  }
  if (!it->is_string()) {
    return Malformed(rule, absl::StrCat("member \"", name, "\" must be a string"));
  }
  const std::string& text = it->get_ref<const std::string&>();
  bool ok = true;
  switch (kind) {
    case MemberKind::kText:
      break;
    case MemberKind::kKey:
      ok = DecodePublicKeyText(text).ok();
      break;
    case MemberKind::kLedgerId:
      ok = PublicKeyTextFromLedgerId(text).ok();
      break;
    case MemberKind::kDigest:
      ok = DecodeDigest(text).ok();
      break;
  }
  if (!ok) {
    static constexpr const char* kKindNames[] = {"a string", "an Ed25519 key",
                                                 "a ledger id", "a digest"};
    return Malformed(rule, absl::StrCat("member \"", name, "\" must be ",
                                        kKindNames[static_cast<int>(kind)]));
  }
  return absl::OkStatus();
}

absl::Status CheckSigningKeyIsController(const Block& block) {
  const std::string& key =
      block.event["cryptographic signing key"].get_ref<const std::string&>();
  const std::vector<std::string>& keys = block.controllers->keys;
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
    return Malformed(absl::StrCat("event ", QuoteForError(block.event_name())),
                     "\"cryptographic signing key\" must be one of "
                     "controllers.keys");
  }
  return absl::OkStatus();
}

absl::Status CheckGenesisEvent(const Block& block) {
  const std::string& name = block.event_name();
  const Json& event = block.event;
  if (name != kOpenedDocument && name != kBecameDocument) {
    return Malformed("genesis event",
                     "the genesis event must be \"opened document\" or "
                     "\"became document\"");
  }
  if (!block.controllers.has_value()) {
    return Malformed("controllers", "the genesis block must carry controllers");
  }
  struct Member {
    const char* name;
    MemberKind kind;
    bool required;
  };
  std::vector<Member> members = {{"document type", MemberKind::kText, true},
                                 {"cryptographic signing key", MemberKind::kKey, true}};
  if (name == kOpenedDocument) {
    members.push_back({"hyperswarm id", MemberKind::kText, false});
    members.push_back({"host url", MemberKind::kText, false});
  } else {
    members.push_back({"original id", MemberKind::kLedgerId, true});
    members.push_back({"moved from", MemberKind::kLedgerId, true});
    members.push_back({"moved from block", MemberKind::kDigest, true});
  }
  for (const Member& member : members) {
    if (absl::Status s = CheckEventMember(event, member.name, member.kind,
                                          member.required);
        !s.ok()) {
      return s;
    }
  }
  return CheckSigningKeyIsController(block);
}

absl::Status CheckLaterEvent(const Block& block) {
  const std::string& name = block.event_name();
  const Json& event = block.event;
  const std::string rule = absl::StrCat("event ", QuoteForError(name));
  if (name == kOpenedDocument || name == kBecameDocument) {
    return Malformed(rule, "only the genesis block may carry it");
  }
  if (name == kTransferredOwnership) {
    if (!block.controllers.has_value()) {
      return Malformed(rule, "the block must carry the new controllers");
    }
    return absl::OkStatus();
  }
  if (block.controllers.has_value()) {
    return Malformed("controllers",
                     "only a \"transferred ownership\" block may carry "
                     "controllers after the genesis block");
  }
  if (name == kClosedDocument && event.size() != 1) {
    return Malformed(rule, "carries no member but \"event\"");
  }
  if (name == kMovedDocument) {
    if (event.size() != 3) {
      return Malformed(rule, "has exactly the members \"event\", \"new id\" and "
                             "\"new cryptographic signing key\"");
    }
    if (absl::Status s = CheckEventMember(event, "new id", MemberKind::kLedgerId, true);
        !s.ok()) {
      return s;
    }
    return CheckEventMember(event, "new cryptographic signing key",
                            MemberKind::kKey, true);
  }
  return absl::OkStatus();
}

absl::Status CheckMemberNames(const Json& value, size_t max_bytes) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (it.key().size() > max_bytes) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "event member names: a name is ", it.key().size(),
            " bytes, the limit is ", max_bytes));
      }
      if (absl::Status s = CheckMemberNames(it.value(), max_bytes); !s.ok()) return s;
    }
  } else if (value.is_array()) {
    for (const Json& element : value) {
      if (absl::Status s = CheckMemberNames(element, max_bytes); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

constexpr absl::string_view kOwnerSignaturesWhat = "owner signatures";
constexpr absl::string_view kHostSignatureWhat = "host signature";

// The Ed25519 outcome of signature `index` of `block`: looked up in `math`
// when it has it, verified here otherwise.
absl::Status SignatureOutcome(const Block& block, const SignatureMath* math,
                              size_t index, absl::string_view what) {
  if (math != nullptr && index < math->outcomes.size()) {
    return math->outcomes[index];
  }
  const BlockSignature& signature = block.signatures[index];
  return VerifyEd25519Text(signature.key, BlockSignedMessage(block.fingerprint),
                           signature.sig, what);
}

// CheckOwnerSignatures with the Ed25519 math behind `verify(i)`, the outcome
// for owner_signatures[i].
template <typename VerifyFn>
absl::Status CheckOwnerSignaturesWith(
    const Controllers& authorising,
    absl::Span<const BlockSignature> owner_signatures, absl::string_view what,
    const VerifyFn& verify) {
  const std::vector<std::string>& keys = authorising.keys;
  for (size_t i = 0; i < owner_signatures.size(); ++i) {
    const BlockSignature& signature = owner_signatures[i];
    if (i > 0 && !(owner_signatures[i - 1].key < signature.key)) {
      return Broke("owner signatures",
                   "keys must be distinct and in ascending byte order");
    }
    if (std::find(keys.begin(), keys.end(), signature.key) == keys.end()) {
      return Broke("owner signatures",
                   absl::StrCat("key ", QuoteForError(signature.key),
                                " is not an authorising controller of ", what));
    }
    if (absl::Status s = verify(i); !s.ok()) {
      return Broke("owner signatures",
                   absl::StrCat("the signature by ", QuoteForError(signature.key),
                                " does not verify"));
    }
  }
  if (owner_signatures.size() < static_cast<size_t>(authorising.threshold)) {
    return Broke("threshold",
                 absl::StrCat(owner_signatures.size(), " owner signature(s), ",
                              what, " needs ", authorising.threshold));
  }
  return absl::OkStatus();
}

absl::Status CheckHostSignature(const ChainState& state, const Block& block,
                                const SignatureMath* math) {
  const BlockSignature& host = block.signatures.back();
  absl::StatusOr<std::string> host_key = PublicKeyTextFromLedgerId(state.ledger);
  if (!host_key.ok()) return host_key.status();
  if (host.key != *host_key) {
    return Broke("host signature", "is not by the ledger's host key");
  }
  return SignatureOutcome(block, math, block.signatures.size() - 1,
                          kHostSignatureWhat);
}

// CheckNextBlock; the Ed25519 outcomes come from `math` when it is not null.
absl::Status CheckNextBlockImpl(const ChainState& state, const Block& block,
                                SignatureStage stage,
                                const BlockRuleOptions& options,
                                const SignatureMath* math) {
  if (block.ledger != state.ledger) {
    return Broke("ledger", absl::StrCat("block belongs to ", QuoteForError(block.ledger),
                                        ", not to ", QuoteForError(state.ledger)));
  }
  if (!state.terminal_event.empty()) {
    return Broke("terminal", absl::StrCat("no block may follow \"",
                                          state.terminal_event, "\" (block ",
                                          state.head_number, ")"));
  }
  if (block.number != state.head_number + 1) {
    return Broke("number", absl::StrCat("expected block ", state.head_number + 1,
                                        ", got ", block.number));
  }
  if (block.number > 1 && block.previous != state.head_fingerprint) {
    return Broke("previous", absl::StrCat("is not the fingerprint of block ",
                                          state.head_number));
  }
  if (block.number > 1 && block.time_millis < state.head_time_millis) {
    return Broke("time", absl::StrCat("is earlier than block ", state.head_number,
                                      "'s time"));
  }
  if (options.now_millis.has_value() &&
      std::llabs(block.time_millis - *options.now_millis) >
          options.max_clock_skew_millis) {
    return Broke("time", absl::StrCat("is more than ",
                                      options.max_clock_skew_millis / 1000,
                                      " s away from the host's clock"));
  }
  if (absl::Status s = CheckEventRules(block, options.max_event_member_name_bytes);
      !s.ok()) {
    return s;
  }
  const Controllers& authorising =
      block.number == 1 ? *block.controllers : state.controllers;
  const size_t owner_count = stage == SignatureStage::kComplete
                                 ? block.signatures.size() - 1
                                 : block.signatures.size();
  if (absl::Status s = CheckOwnerSignaturesWith(
          authorising,
          absl::MakeConstSpan(block.signatures).subspan(0, owner_count),
          absl::StrCat("block ", block.number),
          [&](size_t i) {
            return SignatureOutcome(block, math, i, kOwnerSignaturesWhat);
          });
      !s.ok()) {
    return s;
  }
  if (stage == SignatureStage::kComplete) {
    return CheckHostSignature(state, block, math);
  }
  return absl::OkStatus();
}

}  // namespace

bool IsReservedEvent(absl::string_view event) {
  return event == kOpenedDocument || event == kBecameDocument || event == kClosedDocument ||
         event == kMovedDocument || event == kTransferredOwnership;
}

LedgerLifecycle LifecycleOf(const ChainState& state) {
  if (state.terminal_event == kClosedDocument) return LedgerLifecycle::kClosed;
  if (state.terminal_event == kMovedDocument) return LedgerLifecycle::kMoved;
  return state.head_number == 0 ? LedgerLifecycle::kNoGenesis : LedgerLifecycle::kOpen;
}

ChainState ChainState::Empty(absl::string_view ledger_id) {
  ChainState state;
  state.ledger = std::string(ledger_id);
  return state;
}

BlockRuleOptions BlockRuleOptions::HostDefaults(int64_t now_millis) {
  BlockRuleOptions options;
  options.max_event_member_name_bytes = kDefaultMaxEventMemberNameBytes;
  options.now_millis = now_millis;
  return options;
}

absl::Status CheckEventRules(const Block& block,
                             std::optional<size_t> max_member_name_bytes) {
  if (block.event.contains("signature")) {
    return Malformed("event", "no event may carry a top-level member \"signature\"");
  }
  if (max_member_name_bytes.has_value()) {
    if (absl::Status s = CheckMemberNames(block.event, *max_member_name_bytes);
        !s.ok()) {
      return s;
    }
  }
  return block.number == 1 ? CheckGenesisEvent(block) : CheckLaterEvent(block);
}

absl::Status CheckOwnerSignatures(const Controllers& authorising,
                                  absl::string_view message,
                                  absl::Span<const BlockSignature> owner_signatures,
                                  absl::string_view what) {
  return CheckOwnerSignaturesWith(
      authorising, owner_signatures, what, [&](size_t i) {
        return VerifyEd25519Text(owner_signatures[i].key, message,
                                 owner_signatures[i].sig, kOwnerSignaturesWhat);
      });
}

absl::Status CheckNextBlock(const ChainState& state, const Block& block,
                            SignatureStage stage, const BlockRuleOptions& options) {
  return CheckNextBlockImpl(state, block, stage, options, /*math=*/nullptr);
}

SignatureMath ComputeSignatureMath(const Block& block, SignatureStage stage,
                                   absl::Span<const RawSignature> raw) {
  SignatureMath math;
  math.outcomes.reserve(block.signatures.size());
  const std::string message = BlockSignedMessage(block.fingerprint);
  for (size_t i = 0; i < block.signatures.size(); ++i) {
    const bool host = stage == SignatureStage::kComplete &&
                      i + 1 == block.signatures.size();
    const BlockSignature& signature = block.signatures[i];
    // A signature that does not verify from its raw bytes is verified again
    // from its texts, for VerifyEd25519Text's exact failure.
    const bool verified =
        i < raw.size() && VerifyEd25519(raw[i].key, message, raw[i].sig);
    math.outcomes.push_back(
        verified ? absl::OkStatus()
                 : VerifyEd25519Text(signature.key, message, signature.sig,
                                     host ? kHostSignatureWhat
                                          : kOwnerSignaturesWhat));
  }
  return math;
}

absl::Status CheckNextBlockWithSignatureMath(const ChainState& state,
                                             const Block& block,
                                             SignatureStage stage,
                                             const BlockRuleOptions& options,
                                             const SignatureMath& math) {
  return CheckNextBlockImpl(state, block, stage, options, &math);
}

ChainState AdvanceChain(ChainState state, const Block& block) {
  state.head_number = block.number;
  state.head_fingerprint = block.fingerprint;
  state.head_time_millis = block.time_millis;
  if (block.controllers.has_value()) state.controllers = *block.controllers;
  if (IsTerminal(block.event_name())) state.terminal_event = block.event_name();
  return state;
}

}  // namespace microledger
