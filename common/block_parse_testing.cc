#include "common/block_parse_testing.h"

#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/canonical_block_reader.h"
#include "common/encoding.h"

namespace microledger {
namespace {

constexpr absl::string_view kFingerprintName = "\"fingerprint\"";
constexpr absl::string_view kSignaturesName = "\"signatures\"";

std::string Join(const std::vector<RawBlock::Member>& members, bool body_only,
                 absl::string_view fingerprint) {
  std::string out = "{";
  for (const RawBlock::Member& member : members) {
    const bool is_fingerprint = member.name == kFingerprintName;
    if (body_only && (is_fingerprint || member.name == kSignaturesName)) continue;
    if (out.size() > 1) out.push_back(',');
    absl::StrAppend(&out, member.name, ":",
                    is_fingerprint ? absl::StrCat("\"", fingerprint, "\"")
                                   : member.value);
  }
  out.push_back('}');
  return out;
}

}  // namespace

bool SameJsonValue(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::value_t::number_float: {
      const double x = a.get<double>();
      const double y = b.get<double>();
      return std::memcmp(&x, &y, sizeof(x)) == 0;
    }
    case Json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!SameJsonValue(a[i], b[i])) return false;
      }
      return true;
    }
    case Json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
        if (x.key() != y.key() || !SameJsonValue(x.value(), y.value())) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

std::string BlockDifference(const Block& a, const Block& b) {
  if (a.ledger != b.ledger) return "ledger";
  if (a.number != b.number) return "number";
  if (a.previous != b.previous) return "previous";
  if (a.time != b.time) return "time";
  if (a.time_millis != b.time_millis) return "time_millis";
  if (!(a.controllers == b.controllers)) return "controllers";
  if (a.seals != b.seals) return "seals";
  if (!SameJsonValue(a.event, b.event)) return "event";
  if (a.fingerprint != b.fingerprint) return "fingerprint";
  if (a.signatures.size() != b.signatures.size()) return "signatures (count)";
  for (size_t i = 0; i < a.signatures.size(); ++i) {
    const BlockSignature& x = a.signatures[i];
    const BlockSignature& y = b.signatures[i];
    if (x.role != y.role || x.alg != y.alg || x.key != y.key || x.sig != y.sig) {
      return absl::StrCat("signatures[", i, "]");
    }
  }
  return "";
}

std::string FastPathBreach(absl::string_view bytes, SignatureStage stage) {
  const std::optional<Block> fast = ReadCanonicalBlock(bytes, stage);
  const absl::StatusOr<Block> slow = ParseBlockThroughJsonTree(bytes, stage);
  if (fast.has_value()) {
    if (!slow.ok()) {
      return absl::StrCat("the fast path accepts what the slow path refuses: ",
                          slow.status().ToString());
    }
    if (std::string field = BlockDifference(*fast, *slow); !field.empty()) {
      return absl::StrCat("the fast path's block differs in ", field);
    }
  }
  const absl::StatusOr<Block> parsed = ParseBlock(bytes, stage);
  if (parsed.status() != slow.status()) {
    return absl::StrCat("ParseBlock says ", parsed.status().ToString(),
                        ", the slow path ", slow.status().ToString());
  }
  if (parsed.ok()) {
    if (std::string field = BlockDifference(*parsed, *slow); !field.empty()) {
      return absl::StrCat("ParseBlock's block differs in ", field);
    }
  }
  return "";
}

RawBlock RawBlock::FromCanonical(absl::string_view bytes) {
  RawBlock raw;
  const Json value = *ParseJson(bytes);
  for (auto it = value.begin(); it != value.end(); ++it) {
    raw.members.push_back({CanonicalJson(it.key()), CanonicalJson(it.value())});
  }
  return raw;
}

RawBlock::Member* RawBlock::Find(absl::string_view name) {
  const std::string written = absl::StrCat("\"", name, "\"");
  for (Member& member : members) {
    if (member.name == written) return &member;
  }
  return nullptr;
}

std::string RawBlock::Render() const {
  const std::string body = Join(members, /*body_only=*/true, "");
  return Join(members, /*body_only=*/false, DigestText(body));
}

}  // namespace microledger
