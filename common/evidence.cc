#include "common/evidence.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/block.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/json.h"

namespace microledger {
namespace {

// RFC 9162 audit paths of trees below 2^64 leaves; SPEC §11 allows 63 hashes.
constexpr size_t kMaxProofHashes = 63;
// 2^64 as a double: every whole number below it fits in a uint64_t.
constexpr double kTwoToThe64 = 18446744073709551616.0;

// An evidence object is not counted in the nesting limit (SPEC §1), so a block
// inside one may nest as deep as a block alone.
constexpr int kEvidenceMaxDepth = kMaxJsonDepth + 1;

absl::Status Invalid(absl::string_view who, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(who, ": ", detail));
}

// Prefixes a failure of one side ("a" or "b") with "evidence a: ".
absl::Status SideError(absl::string_view side, const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat("evidence ", side, ": ", status.message()));
}

absl::StatusOr<EvidenceKind> ParseKind(absl::string_view name) {
  for (EvidenceKind kind :
       {EvidenceKind::kCheckpoints, EvidenceKind::kBlocks, EvidenceKind::kLeaves}) {
    if (EvidenceKindName(kind) == name) return kind;
  }
  return Invalid("evidence", absl::StrCat("kind: unknown kind \"", QuoteForError(name),
                                          "\" (checkpoints, blocks or leaves)"));
}

// A checkpoint of the ledger (SPEC §7) whose tree is not empty.
absl::StatusOr<Checkpoint> CheckNote(const Json& note, absl::string_view ledger_id) {
  if (!note.is_string()) return Invalid("checkpoint", "must be a string (note text)");
  absl::StatusOr<Checkpoint> checkpoint =
      VerifyCheckpoint(note.get_ref<const std::string&>(), ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  if (checkpoint->tree_size == 0) {
    return Invalid("checkpoint", "tree size 0: an empty tree proves nothing");
  }
  return checkpoint;
}

absl::Status CheckCheckpointsPair(const Json& a, const Json& b,
                                  absl::string_view ledger_id) {
  absl::StatusOr<Checkpoint> first = CheckNote(a, ledger_id);
  if (!first.ok()) return SideError("a", first.status());
  absl::StatusOr<Checkpoint> second = CheckNote(b, ledger_id);
  if (!second.ok()) return SideError("b", second.status());
  if (first->tree_size != second->tree_size) {
    return Invalid("evidence", absl::StrCat("checkpoints: tree sizes differ (",
                                            first->tree_size, " and ",
                                            second->tree_size, ")"));
  }
  if (first->root_hash == second->root_hash) {
    return Invalid("evidence", "checkpoints: the roots are equal");
  }
  return absl::OkStatus();
}

// An owner signature as SPEC §11 checks it: exactly four string members, role
// `owner`, alg `Ed25519`; its key and sig are not looked at.
absl::Status CheckOwnerSignatureForm(const Json& signature) {
  if (!signature.is_object() || signature.size() != 4) {
    return Invalid("signatures",
                   "a signature is an object with exactly role, alg, key, sig");
  }
  for (const char* name : {"role", "alg", "key", "sig"}) {
    auto member = signature.find(name);
    if (member == signature.end() || !member->is_string()) {
      return Invalid("signatures", absl::StrCat("member \"", name,
                                                "\" must be a string"));
    }
  }
  if (signature.at("role").get_ref<const std::string&>() != kOwnerRole) {
    return Invalid("signatures",
                   "owner signatures first, then exactly one host signature, last");
  }
  const std::string& alg = signature.at("alg").get_ref<const std::string&>();
  if (alg != kEd25519Alg) {
    return Invalid("alg", absl::StrCat("unsupported signature algorithm \"",
                                       QuoteForError(alg),
                                       "\" (v1 accepts Ed25519 only)"));
  }
  return absl::OkStatus();
}

struct BlockSide {
  uint64_t number = 0;
  std::string fingerprint;
};

// One block of a `blocks` object, checked on its own as SPEC §11 lists: the
// §2 form (ParseBlock's checks, but owner signatures for form only), block 1
// with controllers, the ledger, and the host signature by the ledger key.
absl::StatusOr<BlockSide> CheckBlock(Json value, absl::string_view ledger_id,
                                     absl::string_view ledger_key_text) {
  // The owner signatures are checked here and removed, so that BlockFromJson
  // sees the host signature alone: it would decode the owner keys and sigs,
  // which §11 does not check. The fingerprint does not cover signatures.
  if (value.is_object()) {
    auto signatures = value.find("signatures");
    if (signatures != value.end() && signatures->is_array() && signatures->size() > 1) {
      for (size_t i = 0; i + 1 < signatures->size(); ++i) {
        if (absl::Status s = CheckOwnerSignatureForm((*signatures)[i]); !s.ok()) {
          return s;
        }
      }
      signatures->erase(signatures->begin(), signatures->end() - 1);
    }
  }
  const std::string body_jcs = BlockJcs(value).without;
  BlockBinaries binaries;
  absl::StatusOr<Block> block =
      BlockFromJson(std::move(value), body_jcs, SignatureStage::kComplete, &binaries);
  if (!block.ok()) return block.status();
  if (block->number == 1 && !block->controllers.has_value()) {
    return Invalid("controllers", "required in the genesis block");
  }
  if (block->ledger != ledger_id) {
    return Invalid("ledger", "the block's ledger is not the evidence's ledger");
  }
  const BlockSignature& host = block->signatures.back();
  if (host.key != ledger_key_text) {
    return Invalid("host signature", "not by the ledger key");
  }
  const RawSignature& raw = binaries.signatures.back();
  if (!VerifyEd25519(raw.key, BlockSignedMessage(block->fingerprint), raw.sig)) {
    return Invalid("host signature", "does not verify");
  }
  return BlockSide{block->number, std::move(block->fingerprint)};
}

absl::Status CheckBlocksPair(const Json& a, const Json& b, absl::string_view ledger_id,
                             absl::string_view ledger_key_text) {
  absl::StatusOr<BlockSide> first = CheckBlock(a, ledger_id, ledger_key_text);
  if (!first.ok()) return SideError("a", first.status());
  absl::StatusOr<BlockSide> second = CheckBlock(b, ledger_id, ledger_key_text);
  if (!second.ok()) return SideError("b", second.status());
  if (first->number != second->number) {
    return Invalid("evidence", absl::StrCat("blocks: numbers differ (", first->number,
                                            " and ", second->number, ")"));
  }
  if (first->fingerprint == second->fingerprint) {
    return Invalid("evidence", "blocks: the fingerprints are equal");
  }
  return absl::OkStatus();
}

struct LeafSide {
  uint64_t index = 0;
  std::string leaf;
};

// `index`: a whole JSON number, 0 <= index < tree_size.
absl::StatusOr<uint64_t> LeafIndex(const Json& value, uint64_t tree_size) {
  if (!value.is_number()) return Invalid("index", "must be a number");
  const double number = value.get<double>();
  if (std::floor(number) != number || number < 0) {
    return Invalid("index", "must be an integer, at least 0");
  }
  if (number >= kTwoToThe64 || static_cast<uint64_t>(number) >= tree_size) {
    return Invalid("index", absl::StrCat("must be below the note's tree size ",
                                         tree_size));
  }
  return static_cast<uint64_t>(number);
}

absl::StatusOr<std::vector<MerkleHash>> AuditPath(const Json& value) {
  if (!value.is_array()) return Invalid("proof", "must be an array of hashes");
  if (value.size() > kMaxProofHashes) {
    return Invalid("proof", absl::StrCat(value.size(), " hashes, more than ",
                                         kMaxProofHashes));
  }
  std::vector<MerkleHash> path;
  for (const Json& element : value) {
    absl::StatusOr<std::string> bytes =
        element.is_string() ? DecodeMultibase(element.get_ref<const std::string&>())
                            : absl::InvalidArgumentError("not a string");
    absl::StatusOr<MerkleHash> hash =
        bytes.ok() ? MerkleHashFromBytes(*bytes) : bytes.status();
    if (!hash.ok()) {
      return Invalid("proof", absl::StrCat("hash ", path.size(),
                                           " is not u + base64url of 32 bytes: ",
                                           hash.status().message()));
    }
    path.push_back(*hash);
  }
  return path;
}

// One side of a `leaves` object.
absl::StatusOr<LeafSide> CheckLeaf(const Json& value, absl::string_view ledger_id) {
  if (!value.is_object() || value.size() != 4 || !value.contains("checkpoint") ||
      !value.contains("index") || !value.contains("leaf") || !value.contains("proof")) {
    return Invalid("members",
                   "an object of exactly checkpoint, index, leaf and proof");
  }
  absl::StatusOr<Checkpoint> checkpoint = CheckNote(value.at("checkpoint"), ledger_id);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<uint64_t> index = LeafIndex(value.at("index"), checkpoint->tree_size);
  if (!index.ok()) return index.status();
  const Json& leaf = value.at("leaf");
  if (!leaf.is_string()) return Invalid("leaf", "must be a digest");
  absl::StatusOr<std::string> leaf_bytes = DecodeDigest(leaf.get_ref<const std::string&>());
  if (!leaf_bytes.ok()) return Invalid("leaf", leaf_bytes.status().message());
  absl::StatusOr<std::vector<MerkleHash>> path = AuditPath(value.at("proof"));
  if (!path.ok()) return path.status();
  if (absl::Status s = VerifyMerkleInclusion(HashMerkleLeaf(*leaf_bytes), *index,
                                             checkpoint->tree_size, *path,
                                             checkpoint->root_hash);
      !s.ok()) {
    return Invalid("proof", s.message());
  }
  return LeafSide{*index, leaf.get<std::string>()};
}

absl::Status CheckLeavesPair(const Json& a, const Json& b, absl::string_view ledger_id) {
  absl::StatusOr<LeafSide> first = CheckLeaf(a, ledger_id);
  if (!first.ok()) return SideError("a", first.status());
  absl::StatusOr<LeafSide> second = CheckLeaf(b, ledger_id);
  if (!second.ok()) return SideError("b", second.status());
  if (first->index != second->index) {
    return Invalid("evidence", absl::StrCat("leaves: indexes differ (", first->index,
                                            " and ", second->index, ")"));
  }
  if (first->leaf == second->leaf) {
    return Invalid("evidence", "leaves: the leaves are equal");
  }
  return absl::OkStatus();
}

// The evidence object of `kind` with `x` and `y` as `a` and `b` in the order
// SPEC §11 requires, as JCS bytes, validated.
absl::StatusOr<std::string> Build(absl::string_view ledger_id, EvidenceKind kind,
                                  Json x, Json y) {
  if (CanonicalJson(y) < CanonicalJson(x)) std::swap(x, y);
  Json object = {{"evidence", std::string(kEvidenceFormat)},
                 {"ledger", std::string(ledger_id)},
                 {"kind", std::string(EvidenceKindName(kind))},
                 {"a", std::move(x)},
                 {"b", std::move(y)}};
  std::string bytes = CanonicalJson(object);
  if (absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes); !info.ok()) {
    return info.status();
  }
  return bytes;
}

// A block's JCS bytes as a JSON value (a block alone: the usual depth limit).
absl::StatusOr<Json> BlockValue(absl::string_view bytes, absl::string_view which) {
  absl::StatusOr<Json> value = ParseJson(bytes);
  if (!value.ok()) {
    return Invalid("evidence", absl::StrCat(which, " is not JSON: ",
                                            value.status().message()));
  }
  if (CanonicalJson(*value) != bytes) {
    return Invalid("evidence", absl::StrCat(which, " is not JCS bytes"));
  }
  return value;
}

Json LeafClaimJson(const LeafClaim& claim) {
  Json proof = Json::array();
  for (const MerkleHash& hash : claim.proof) {
    proof.push_back(EncodeMultibase(MerkleHashBytes(hash)));
  }
  return {{"checkpoint", claim.checkpoint},
          {"index", static_cast<double>(claim.index)},
          {"leaf", claim.leaf},
          {"proof", std::move(proof)}};
}

// True when `index` survives the trip through a JSON number (a double).
bool ExactAsJsonNumber(uint64_t index) {
  const double number = static_cast<double>(index);
  return number < kTwoToThe64 && static_cast<uint64_t>(number) == index;
}

}  // namespace

absl::string_view EvidenceKindName(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kCheckpoints:
      return "checkpoints";
    case EvidenceKind::kBlocks:
      return "blocks";
    case EvidenceKind::kLeaves:
      return "leaves";
  }
  return "";
}

std::string EvidenceId(absl::string_view bytes) { return DigestText(bytes); }

absl::StatusOr<EvidenceInfo> ValidateEvidence(absl::string_view bytes) {
  if (bytes.size() > kMaxEvidenceBytes) {
    return Invalid("evidence", absl::StrCat("size: ", bytes.size(),
                                            " bytes, more than ", kMaxEvidenceBytes));
  }
  absl::StatusOr<Json> json = ParseJson(bytes, kEvidenceMaxDepth);
  if (!json.ok()) return Invalid("evidence", absl::StrCat("json: ", json.status().message()));
  if (CanonicalJson(*json) != bytes) {
    return Invalid("evidence",
                   "canonical form: the bytes are not the JCS serialisation of "
                   "the object (no byte-order mark, no trailing newline)");
  }
  if (!json->is_object()) return Invalid("evidence", "members: must be a JSON object");
  for (auto it = json->begin(); it != json->end(); ++it) {
    const std::string& name = it.key();
    if (name != "evidence" && name != "ledger" && name != "kind" && name != "a" &&
        name != "b") {
      return Invalid("evidence", absl::StrCat("members: unknown member \"",
                                              QuoteForError(name), "\""));
    }
  }
  for (const char* name : {"evidence", "ledger", "kind", "a", "b"}) {
    if (!json->contains(name)) {
      return Invalid("evidence", absl::StrCat("members: member \"", name,
                                              "\" is missing"));
    }
  }
  const Json& format = json->at("evidence");
  if (!format.is_string() || format.get_ref<const std::string&>() != kEvidenceFormat) {
    return Invalid("evidence", absl::StrCat("format: \"evidence\" must be \"",
                                            kEvidenceFormat, "\""));
  }
  const Json& ledger = json->at("ledger");
  if (!ledger.is_string()) return Invalid("evidence", "ledger: must be a ledger id");
  const std::string& ledger_id = ledger.get_ref<const std::string&>();
  absl::StatusOr<std::string> ledger_key_text = PublicKeyTextFromLedgerId(ledger_id);
  if (!ledger_key_text.ok()) {
    return Invalid("evidence", absl::StrCat("ledger: ", ledger_key_text.status().message()));
  }
  const Json& kind_name = json->at("kind");
  if (!kind_name.is_string()) return Invalid("evidence", "kind: must be a string");
  absl::StatusOr<EvidenceKind> kind = ParseKind(kind_name.get_ref<const std::string&>());
  if (!kind.ok()) return kind.status();

  // std::string compares as unsigned bytes (char_traits<char>), as memcmp
  // does, a proper prefix first.
  const Json& a = json->at("a");
  const Json& b = json->at("b");
  if (!(CanonicalJson(a) < CanonicalJson(b))) {
    return Invalid("evidence",
                   "order: the JCS bytes of a must sort strictly before those of b "
                   "(unsigned bytes, memcmp order)");
  }

  absl::Status valid;
  switch (*kind) {
    case EvidenceKind::kCheckpoints:
      valid = CheckCheckpointsPair(a, b, ledger_id);
      break;
    case EvidenceKind::kBlocks:
      valid = CheckBlocksPair(a, b, ledger_id, *ledger_key_text);
      break;
    case EvidenceKind::kLeaves:
      valid = CheckLeavesPair(a, b, ledger_id);
      break;
  }
  if (!valid.ok()) return valid;
  return EvidenceInfo{ledger_id, *kind, EvidenceId(bytes)};
}

absl::StatusOr<std::string> BuildCheckpointsEvidence(absl::string_view ledger_id,
                                                     absl::string_view checkpoint_1,
                                                     absl::string_view checkpoint_2) {
  return Build(ledger_id, EvidenceKind::kCheckpoints, Json(std::string(checkpoint_1)),
               Json(std::string(checkpoint_2)));
}

absl::StatusOr<std::string> BuildBlocksEvidence(absl::string_view ledger_id,
                                                absl::string_view block_1,
                                                absl::string_view block_2) {
  absl::StatusOr<Json> first = BlockValue(block_1, "block 1");
  if (!first.ok()) return first.status();
  absl::StatusOr<Json> second = BlockValue(block_2, "block 2");
  if (!second.ok()) return second.status();
  return Build(ledger_id, EvidenceKind::kBlocks, *std::move(first), *std::move(second));
}

absl::StatusOr<std::string> BuildLeavesEvidence(absl::string_view ledger_id,
                                                const LeafClaim& claim_1,
                                                const LeafClaim& claim_2) {
  for (const LeafClaim* claim : {&claim_1, &claim_2}) {
    if (!ExactAsJsonNumber(claim->index)) {
      return Invalid("evidence", absl::StrCat("index ", claim->index,
                                              " is not exact as a JSON number"));
    }
  }
  return Build(ledger_id, EvidenceKind::kLeaves, LeafClaimJson(claim_1),
               LeafClaimJson(claim_2));
}

}  // namespace microledger
