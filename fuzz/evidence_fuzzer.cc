// libFuzzer target: equivocation evidence (common/evidence.h, SPEC §11) on
// untrusted bytes. Two kinds of input:
// - raw: the whole input is an evidence file, validated as it is;
// - "!" + JSON: the target signs what the JSON holds with a fixed host key
//   before validating the JCS bytes of the result: every checkpoint note (`a`
//   and `b`, or their `checkpoint` members) gets a signature line by that key
//   after its note text, and every block (an object `a` or `b` with a
//   `signatures` array) gets its fingerprint recomputed and its last
//   signature replaced by the host's. So the fuzzer explores the order, size,
//   block form and proof rules instead of stopping at a signature.
// Properties: no crash; accepted bytes are their own JCS, their id is
// EvidenceId(bytes), and validating them again gives the same ledger, kind
// and id; the builders, given the two sides in the other order, produce
// exactly the accepted bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/json.h"
#include "common/merkle.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

const SigningKey& HostKey() {
  static const SigningKey* key = [] {
    const std::vector<uint8_t> seed(kEd25519SeedSize, 0x48);
    absl::StatusOr<SigningKey> made = SigningKey::FromSeed(seed);
    FUZZ_CHECK(made.ok(), "a fixed seed makes a key");
    return new SigningKey(*std::move(made));
  }();
  return *key;
}

const std::string& LedgerId() {
  static const std::string* id =
      new std::string(LedgerIdFromPublicKeyText(HostKey().public_key_text()));
  return *id;
}

// `note`'s text (up to its first blank line) with one signature line by the
// host key; `note` itself when it has no blank line.
std::string SignedNote(const std::string& note) {
  const size_t blank = note.find("\n\n");
  if (blank == std::string::npos) return note;
  const std::string text = note.substr(0, blank + 1);
  const std::string payload =
      SignedNoteKeyHash(LedgerId(), HostKey().public_key()) + HostKey().Sign(text);
  return absl::StrCat(text, "\n\xE2\x80\x94 ", LedgerId(), " ", EncodeBase64Std(payload),
                      "\n");
}

// Signs one side of an evidence object in place (see the header comment).
void SignSide(Json& side) {
  if (side.is_string()) {
    side = SignedNote(side.get<std::string>());
    return;
  }
  if (!side.is_object()) return;
  if (auto checkpoint = side.find("checkpoint");
      checkpoint != side.end() && checkpoint->is_string()) {
    *checkpoint = SignedNote(checkpoint->get<std::string>());
  }
  auto signatures = side.find("signatures");
  if (signatures == side.end() || !signatures->is_array() || signatures->empty() ||
      !signatures->back().is_object()) {
    return;
  }
  const std::string fingerprint = DigestText(BlockJcs(side).without);
  side["fingerprint"] = fingerprint;
  Json& host = side["signatures"].back();
  host["key"] = HostKey().public_key_text();
  host["sig"] = HostKey().SignText(BlockSignedMessage(fingerprint));
}

// The input with its sides signed; empty if it is not a JSON object.
std::string Signed(absl::string_view json_text) {
  absl::StatusOr<Json> json = ParseJson(json_text, kMaxJsonDepth + 1);
  if (!json.ok() || !json->is_object()) return "";
  for (const char* side : {"a", "b"}) {
    if (auto it = json->find(side); it != json->end()) SignSide(*it);
  }
  return CanonicalJson(*json);
}

LeafClaim ClaimOf(const Json& side) {
  LeafClaim claim{side.at("checkpoint").get<std::string>(),
                  static_cast<uint64_t>(side.at("index").get<double>()),
                  side.at("leaf").get<std::string>(),
                  {}};
  for (const Json& hash : side.at("proof")) {
    absl::StatusOr<std::string> bytes = DecodeMultibase(hash.get<std::string>());
    FUZZ_CHECK(bytes.ok(), "an accepted proof hash decodes");
    claim.proof.push_back(*MerkleHashFromBytes(*bytes));
  }
  return claim;
}

void Check(absl::string_view bytes) {
  const absl::StatusOr<EvidenceInfo> info = ValidateEvidence(bytes);
  if (!info.ok()) return;
  FUZZ_CHECK(info->id == EvidenceId(bytes), "the id is the digest of the bytes");
  const absl::StatusOr<EvidenceInfo> again = ValidateEvidence(bytes);
  FUZZ_CHECK(again.ok() && again->id == info->id && again->ledger == info->ledger &&
                 again->kind == info->kind,
             "validating again gives the same result");
  const absl::StatusOr<Json> json = ParseJson(bytes, kMaxJsonDepth + 1);
  FUZZ_CHECK(json.ok() && CanonicalJson(*json) == bytes, "accepted bytes are JCS");
  const Json& a = json->at("a");
  const Json& b = json->at("b");
  absl::StatusOr<std::string> rebuilt;
  switch (info->kind) {
    case EvidenceKind::kCheckpoints:
      rebuilt = BuildCheckpointsEvidence(info->ledger, b.get<std::string>(),
                                         a.get<std::string>());
      break;
    case EvidenceKind::kBlocks:
      rebuilt = BuildBlocksEvidence(info->ledger, CanonicalJson(b), CanonicalJson(a));
      break;
    case EvidenceKind::kLeaves:
      rebuilt = BuildLeavesEvidence(info->ledger, ClaimOf(b), ClaimOf(a));
      break;
  }
  FUZZ_CHECK(rebuilt.ok() && *rebuilt == bytes,
             "the builder makes the accepted bytes from the sides in the other order");
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == '!') {
    microledger::Check(microledger::Signed(input.substr(1)));
  } else {
    microledger::Check(input);
  }
  return 0;
}
