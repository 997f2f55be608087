#include "owner_agent/multisig.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "owner_agent/proto_conversions.h"
#include "owner_agent/status_prefix.h"

namespace microledger {

absl::StatusOr<int> SignWithHeldKeys(const Keystore& keystore, Block& block,
                                     const Controllers& authorising) {
  std::set<std::string> signed_keys;
  for (const BlockSignature& s : block.signatures) signed_keys.insert(s.key);
  const std::string message = BlockSignedMessage(block.fingerprint);
  for (const std::string& key : authorising.keys) {
    if (signed_keys.count(key) > 0 || !keystore.HasKey(key)) continue;
    absl::StatusOr<std::string> sig = keystore.SignText(key, message);
    if (!sig.ok()) return sig.status();
    block.signatures.push_back(
        {std::string(kOwnerRole), std::string(kEd25519Alg), key, *sig});
    signed_keys.insert(key);
  }
  std::sort(block.signatures.begin(), block.signatures.end(),
            [](const BlockSignature& a, const BlockSignature& b) { return a.key < b.key; });
  return static_cast<int>(block.signatures.size());
}

std::vector<std::string> MissingKeys(const Block& block, const Controllers& authorising) {
  std::vector<std::string> missing;
  for (const std::string& key : authorising.keys) {
    const bool has = std::any_of(block.signatures.begin(), block.signatures.end(),
                                 [&](const BlockSignature& s) { return s.key == key; });
    if (!has) missing.push_back(key);
  }
  return missing;
}

void DescribeProposal(const Block& block, const Controllers& authorising,
                      v1::BlockProposal* proposal) {
  proposal->set_block(SerializeBlock(block));
  proposal->clear_controllers();
  ToProto(authorising, proposal->mutable_controllers());
  proposal->clear_missing_keys();
  for (const std::string& key : MissingKeys(block, authorising)) {
    proposal->add_missing_keys(key);
  }
}

absl::Status CheckProposalFollows(const ChainState& head, const Block& block) {
  if (block.number != head.head_number + 1 ||
      (block.number > 1 && block.previous != head.head_fingerprint)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "previous: the proposal is for block ", block.number, " but the ledger's head is ",
        head.head_number, " (", head.head_fingerprint, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckProposalSignatures(const Block& block, const Controllers& authorising) {
  const std::string message = BlockSignedMessage(block.fingerprint);
  for (const BlockSignature& s : block.signatures) {
    if (std::find(authorising.keys.begin(), authorising.keys.end(), s.key) ==
        authorising.keys.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "authority: block ", block.number, " is signed by ", s.key,
          ", not a controller in force"));
    }
    if (absl::Status v = VerifyEd25519Text(s.key, message, s.sig, "owner signature");
        !v.ok()) {
      return Prefix(v, absl::StrCat("block ", block.number, ": "));
    }
  }
  return absl::OkStatus();
}

}  // namespace microledger
