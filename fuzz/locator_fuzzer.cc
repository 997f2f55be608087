// libFuzzer target: locator records and DHT values (common/locator.h, SPEC §13)
// on untrusted bytes, for one fixed ledger (host key seed 32 x 0x48, as in
// evidence_fuzzer) and a reader's clock fixed at 2026-12-06T10:00:00.000Z.
// The input is split at '\n' (which no JCS text holds raw) into at most 8
// plaintexts. Two kinds of input:
// - raw: the plaintexts as they are; the whole input is also one more value
//   data as found under the DHT key (seeds hold real value data);
// - "!" + plaintexts: every plaintext that is a JSON object with a member
//   `locator` is signed before use, by the fixed mirror key (seed 32 x 0x4d)
//   if its `key` member is that key's text and by the ledger key otherwise
//   (`key` itself is left alone), so the fuzzer gets past the signature.
// Each plaintext goes through VerifyLocatorPlaintext, and all of them,
// encrypted for the ledger (or as they are when too long), through
// ResolveLocatorValues.
// Properties: no crash; value data decrypts to its plaintext; a record
// accepted and signed by a fixed key is re-signed to the identical plaintext;
// ResolveLocatorValues accounts for every value (kept record, kept evidence
// or dropped) and keeps exactly the records, URLs and evidence that a plain
// reference written here derives from VerifyLocatorPlaintext and
// ValidateEvidence.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/json.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

constexpr size_t kMaxPlaintexts = 8;

const SigningKey& FixedKey(uint8_t byte) {
  absl::StatusOr<SigningKey> made =
      SigningKey::FromSeed(std::vector<uint8_t>(kEd25519SeedSize, byte));
  FUZZ_CHECK(made.ok(), "a fixed seed makes a key");
  return *new SigningKey(*std::move(made));
}

const SigningKey& HostKey() {
  static const SigningKey& key = FixedKey(0x48);
  return key;
}

const SigningKey& MirrorKey() {
  static const SigningKey& key = FixedKey(0x4d);
  return key;
}

const std::string& LedgerId() {
  static const std::string* id =
      new std::string(LedgerIdFromPublicKeyText(HostKey().public_key_text()));
  return *id;
}

int64_t Now() {
  static const int64_t now = *ParseTimestampMillis("2026-12-06T10:00:00.000Z");
  return now;
}

// `piece` signed as the "!" mode says; `piece` itself if it is not a JSON
// object with a member `locator`.
std::string Signed(absl::string_view piece) {
  absl::StatusOr<Json> json = ParseJson(piece);
  if (!json.ok() || !json->is_object() || !json->contains("locator")) {
    return std::string(piece);
  }
  const auto key = json->find("key");
  const SigningKey& signer =
      key != json->end() && *key == MirrorKey().public_key_text() ? MirrorKey() : HostKey();
  json->erase("sig");
  (*json)["sig"] = signer.SignText(absl::StrCat(kLocatorFormat, " ", CanonicalJson(*json)));
  return CanonicalJson(*json);
}

// An accepted record and its plaintext, as the reference keeps them.
struct Accepted {
  std::string plaintext;
  LocatorRecord record;
};

bool SameRecord(const LocatorRecord& x, const LocatorRecord& y) {
  return x.ledger == y.ledger && x.role == y.role && x.key == y.key && x.seq == y.seq &&
         x.expires == y.expires && x.urls == y.urls;
}

// Checks one plaintext alone; returns the record if accepted.
absl::StatusOr<LocatorRecord> CheckPlaintext(const std::string& plaintext) {
  absl::StatusOr<LocatorRecord> record = VerifyLocatorPlaintext(LedgerId(), plaintext, Now());
  if (!record.ok()) return record;
  FUZZ_CHECK(record->ledger == LedgerId(), "an accepted record names the ledger");
  const SigningKey* signer = record->key == HostKey().public_key_text()     ? &HostKey()
                             : record->key == MirrorKey().public_key_text() ? &MirrorKey()
                                                                            : nullptr;
  if (signer != nullptr) {
    absl::StatusOr<std::string> again = SignLocatorRecord(*record, *signer);
    FUZZ_CHECK(again.ok() && *again == plaintext,
               "an accepted record re-signs to the identical plaintext");
  }
  return record;
}

void Check(const std::vector<std::string>& plaintexts, absl::string_view extra_value) {
  std::vector<std::string> values;
  for (const std::string& plaintext : plaintexts) {
    absl::StatusOr<std::string> data = EncryptValueData(LedgerId(), plaintext);
    if (data.ok()) {
      absl::StatusOr<std::string> back = DecryptValueData(LedgerId(), *data);
      FUZZ_CHECK(back.ok() && *back == plaintext, "value data decrypts to its plaintext");
      FUZZ_CHECK(DhtValueId(*data) != 0, "a value id is never 0");
    }
    values.push_back(data.ok() ? *data : plaintext);
  }
  if (!extra_value.empty()) values.emplace_back(extra_value);

  // The reference: what each value holds, then the keep and order rules.
  std::vector<Accepted> accepted;
  std::vector<std::string> evidence;
  std::set<std::string> seen;
  size_t dropped = 0;
  for (const std::string& value : values) {
    absl::StatusOr<std::string> plaintext = DecryptValueData(LedgerId(), value);
    if (!plaintext.ok() || !seen.insert(*plaintext).second) {
      ++dropped;
      continue;
    }
    absl::StatusOr<Json> json = ParseJson(*plaintext, kMaxJsonDepth + 1);
    if (json.ok() && json->is_object() && json->contains("evidence")) {
      absl::StatusOr<EvidenceInfo> info = ValidateEvidence(*plaintext);
      if (info.ok() && info->ledger == LedgerId()) {
        evidence.push_back(*plaintext);
      } else {
        ++dropped;
      }
      continue;
    }
    absl::StatusOr<LocatorRecord> record = CheckPlaintext(*plaintext);
    if (record.ok()) {
      accepted.push_back({*plaintext, *std::move(record)});
    } else {
      ++dropped;
    }
  }
  std::map<std::string, int64_t> newest;
  for (const Accepted& a : accepted) {
    newest[a.record.key] = std::max(newest[a.record.key], a.record.seq);
  }
  std::vector<Accepted> kept;
  for (const Accepted& a : accepted) {
    if (a.record.seq == newest[a.record.key]) {
      kept.push_back(a);
    } else {
      ++dropped;
    }
  }
  std::sort(kept.begin(), kept.end(), [](const Accepted& x, const Accepted& y) {
    return std::make_tuple(x.record.role != LocatorRole::kHost, -x.record.seq, x.plaintext) <
           std::make_tuple(y.record.role != LocatorRole::kHost, -y.record.seq, y.plaintext);
  });
  std::vector<std::string> urls;
  for (const Accepted& a : kept) {
    for (const std::string& url : a.record.urls) {
      if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
    }
  }

  const ResolvedLedger resolved = ResolveLocatorValues(LedgerId(), values, Now());
  FUZZ_CHECK(resolved.records.size() + resolved.evidence.size() + resolved.dropped.size() ==
                 values.size(),
             "every value is kept or dropped, once");
  FUZZ_CHECK(resolved.dropped.size() == dropped, "the reference drops as many values");
  FUZZ_CHECK(resolved.evidence == evidence, "the reference keeps the same evidence");
  FUZZ_CHECK(resolved.records.size() == kept.size(), "the reference keeps as many records");
  for (size_t i = 0; i < kept.size(); ++i) {
    FUZZ_CHECK(SameRecord(resolved.records[i], kept[i].record),
               "the reference keeps the same records in the same order");
  }
  FUZZ_CHECK(resolved.urls == urls, "the reference tries the same URLs in the same order");
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const bool sign = !input.empty() && input[0] == '!';
  std::vector<std::string> plaintexts;
  for (absl::string_view piece : absl::StrSplit(sign ? input.substr(1) : input, '\n')) {
    if (plaintexts.size() == microledger::kMaxPlaintexts) break;
    plaintexts.push_back(sign ? microledger::Signed(piece) : std::string(piece));
  }
  microledger::Check(plaintexts, sign ? absl::string_view() : input);
  return 0;
}
