#include "common/locator.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/evidence.h"
#include "common/json.h"
#include "common/timestamp.h"

namespace microledger {
namespace {

constexpr absl::string_view kDhtKeyLabel = "microledger-dht-key-v1\n";
constexpr absl::string_view kRecordKeyLabel = "microledger-dht-enc-v1\n";
constexpr absl::string_view kValueMagic = "MLD1";
constexpr size_t kDhtKeyBytes = 20;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kValueOverheadBytes = kValueMagic.size() + kNonceBytes + kTagBytes;
static_assert(kNonceBytes == 24 && kTagBytes == 16, "SPEC §13 value data layout");
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kSha256Size,
              "the record key is a SHA-256");

constexpr absl::string_view kHostRole = "host";
constexpr absl::string_view kMirrorRole = "mirror";
constexpr size_t kMaxUrls = 4;
constexpr size_t kMaxUrlBytes = 200;
constexpr int64_t kMaxSeq = (int64_t{1} << 53) - 1;
constexpr size_t kMaxDnsLabelBytes = 63;

// A broken rule of a locator record: "locator: <rule>: <detail>".
absl::Status Invalid(absl::string_view rule, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("locator: ", rule, ": ", detail));
}

// A broken rule of value data: "value data: <detail>".
absl::Status InvalidValue(absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("value data: ", detail));
}

// The keys SPEC §13 derives from a ledger key.
struct DhtKeys {
  std::string dht_key;          // 20 raw bytes.
  std::string record_key;       // 32 bytes, the XChaCha20-Poly1305 key.
  std::string associated_data;  // "MLD1" ‖ dht_key.
};

absl::StatusOr<DhtKeys> DeriveKeys(absl::string_view ledger_id) {
  absl::StatusOr<std::string> key_text = PublicKeyTextFromLedgerId(ledger_id);
  if (!key_text.ok()) return key_text.status();
  // PublicKeyTextFromLedgerId has checked that the text decodes to 32 bytes.
  const std::string key = *DecodeMultibase(*key_text);
  DhtKeys keys;
  keys.dht_key = Sha256(absl::StrCat(kDhtKeyLabel, key)).substr(0, kDhtKeyBytes);
  keys.record_key = Sha256(absl::StrCat(kRecordKeyLabel, key));
  keys.associated_data = absl::StrCat(kValueMagic, keys.dht_key);
  return keys;
}

const unsigned char* Bytes(absl::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

absl::StatusOr<std::string> Encrypt(const DhtKeys& keys, absl::string_view plaintext) {
  if (plaintext.size() > kMaxValueDataBytes - kValueOverheadBytes) {
    return InvalidValue(absl::StrCat("a plaintext of ", plaintext.size(),
                                     " bytes makes value data longer than ",
                                     kMaxValueDataBytes, " bytes"));
  }
  EnsureSodiumInitialized();
  std::string data(kValueOverheadBytes + plaintext.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(data.data());
  std::memcpy(out, kValueMagic.data(), kValueMagic.size());
  unsigned char* nonce = out + kValueMagic.size();
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceBytes, &written, Bytes(plaintext), plaintext.size(),
      Bytes(keys.associated_data), keys.associated_data.size(), nullptr, nonce,
      Bytes(keys.record_key));
  return data;
}

absl::StatusOr<std::string> Decrypt(const DhtKeys& keys, absl::string_view data) {
  if (data.size() > kMaxValueDataBytes) {
    return InvalidValue(absl::StrCat(data.size(), " bytes, more than ",
                                     kMaxValueDataBytes));
  }
  if (data.size() < kValueOverheadBytes || !absl::StartsWith(data, kValueMagic)) {
    return InvalidValue(
        "not value data (\"MLD1\", a 24-byte nonce, ciphertext, a 16-byte tag)");
  }
  EnsureSodiumInitialized();
  const absl::string_view nonce = data.substr(kValueMagic.size(), kNonceBytes);
  const absl::string_view sealed = data.substr(kValueMagic.size() + kNonceBytes);
  std::string plaintext(sealed.size() - kTagBytes, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &written, nullptr,
          Bytes(sealed), sealed.size(), Bytes(keys.associated_data),
          keys.associated_data.size(), Bytes(nonce), Bytes(keys.record_key)) != 0) {
    return InvalidValue("does not decrypt with the ledger's record key");
  }
  return plaintext;
}

// `plaintext` as a JSON object, if it is the JCS serialisation of one (§1).
absl::StatusOr<Json> ParseJcsObject(absl::string_view plaintext, int max_depth) {
  absl::StatusOr<Json> json = ParseJson(plaintext, max_depth);
  if (!json.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("plaintext: not JSON: ", json.status().message()));
  }
  if (!json->is_object()) return absl::InvalidArgumentError("plaintext: not a JSON object");
  if (CanonicalJson(*json) != plaintext) {
    return absl::InvalidArgumentError("plaintext: not the JCS serialisation of the object");
  }
  return json;
}

// --- URLs (SPEC §13) ---

// A DNS name: labels of 1-63 letters, digits and '-', not starting or ending
// with '-', joined by single dots, no trailing dot. (Every dotted IPv4
// address is one too.)
bool IsDnsName(absl::string_view host) {
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > kMaxDnsLabelBytes || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

bool AllDigits(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

// RFC 3986 dec-octet: 0-255 without leading zeros.
bool IsDecOctet(absl::string_view text) {
  int value = 0;
  return !text.empty() && text.size() <= 3 && AllDigits(text) &&
         (text.size() == 1 || text[0] != '0') && absl::SimpleAtoi(text, &value) &&
         value <= 255;
}

// RFC 3986 IPv4address.
bool IsIpv4Address(absl::string_view text) {
  const std::vector<absl::string_view> octets = absl::StrSplit(text, '.');
  return octets.size() == 4 && std::all_of(octets.begin(), octets.end(), IsDecOctet);
}

// RFC 3986 h16: 1-4 hex digits.
bool IsH16(absl::string_view text) {
  return !text.empty() && text.size() <= 4 &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

// RFC 3986 IPv6address: eight 16-bit pieces, an IPv4address counting as two
// and allowed only at the end; or at most seven around one "::" (which stands
// for at least one piece).
bool IsIpv6Address(absl::string_view text) {
  const size_t gap = text.find("::");
  const absl::string_view head = gap == absl::string_view::npos ? text : text.substr(0, gap);
  const absl::string_view tail =
      gap == absl::string_view::npos ? absl::string_view() : text.substr(gap + 2);
  std::vector<absl::string_view> pieces;
  if (!head.empty()) pieces = absl::StrSplit(head, ':');
  const size_t head_pieces = pieces.size();
  if (!tail.empty()) {
    for (absl::string_view piece : absl::StrSplit(tail, ':')) pieces.push_back(piece);
  }
  size_t units = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const bool ends_address =
        i + 1 == pieces.size() && (gap == absl::string_view::npos || i >= head_pieces);
    if (IsH16(pieces[i])) {
      units += 1;
    } else if (ends_address && IsIpv4Address(pieces[i])) {
      units += 2;
    } else {
      return false;
    }
  }
  return gap == absl::string_view::npos ? units == 8 : units <= 7;
}

// PORT: 1-65535 without leading zeros.
absl::Status CheckPort(absl::string_view port) {
  int value = 0;
  if (port.empty() || port.size() > 5 || !AllDigits(port) || port[0] == '0' ||
      !absl::SimpleAtoi(port, &value) || value > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "port \"", QuoteForError(port), "\" is not 1-65535 without leading zeros"));
  }
  return absl::OkStatus();
}

// HOST[:PORT] (the port required for gRPC).
absl::Status CheckAuthority(absl::string_view authority, bool port_required) {
  absl::string_view host = authority;
  std::optional<absl::string_view> port;
  bool valid_host = false;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close != absl::string_view::npos) {
      host = authority.substr(0, close + 1);
      const absl::string_view rest = authority.substr(close + 1);
      if (absl::StartsWith(rest, ":")) {
        port = rest.substr(1);
      } else if (!rest.empty()) {
        return absl::InvalidArgumentError(
            "after \"[IPv6]\" comes \":\" and a port, or the end of the authority");
      }
      valid_host = IsIpv6Address(host.substr(1, host.size() - 2));
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != absl::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    valid_host = IsDnsName(host);
  }
  if (!valid_host) {
    return absl::InvalidArgumentError(absl::StrCat(
        "host \"", QuoteForError(host),
        "\" is not a DNS name (labels of 1-63 letters, digits and -, not starting "
        "or ending with -, single dots, no trailing dot), a dotted IPv4 address or "
        "[an RFC 3986 IPv6address] without zone id"));
  }
  if (port.has_value()) return CheckPort(*port);
  if (port_required) return absl::InvalidArgumentError("a gRPC URL needs a port");
  return absl::OkStatus();
}

// RFC 3986 pchar other than pct-encoded: unreserved, sub-delims, ":", "@".
bool IsPlainPchar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("-._~!$&'()*+,;=:@").find(c) != absl::string_view::npos;
}

// True when `text` is made of RFC 3986 pchar (pct-encoded included) and the
// characters of `extra`.
bool IsPcharText(absl::string_view text, absl::string_view extra) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3 ||
          !absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 1])) ||
          !absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        return false;
      }
      i += 2;
    } else if (!IsPlainPchar(c) && extra.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

// What follows "https://": HOST[:PORT][PATH][?QUERY], PATH being RFC 3986
// path-abempty and QUERY RFC 3986 query.
absl::Status CheckHttpsRest(absl::string_view rest) {
  const size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
  if (absl::Status s = CheckAuthority(rest.substr(0, authority_end), false); !s.ok()) {
    return s;
  }
  const absl::string_view after = rest.substr(authority_end);
  const size_t question = std::min(after.find('?'), after.size());
  if (!IsPcharText(after.substr(0, question), "/")) {
    return absl::InvalidArgumentError("the path is not RFC 3986 path syntax");
  }
  if (question < after.size() && !IsPcharText(after.substr(question + 1), "/?")) {
    return absl::InvalidArgumentError("the query is not RFC 3986 query syntax");
  }
  return absl::OkStatus();
}

absl::Status CheckUrl(absl::string_view url) {
  if (url.size() > kMaxUrlBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(url.size(), " bytes, more than ", kMaxUrlBytes));
  }
  for (absl::string_view scheme : {"grpc://", "grpcs://"}) {
    if (absl::StartsWith(url, scheme)) {
      return CheckAuthority(url.substr(scheme.size()), true);
    }
  }
  if (absl::StartsWith(url, "https://")) return CheckHttpsRest(url.substr(8));
  return absl::InvalidArgumentError(
      "not grpc://HOST:PORT, grpcs://HOST:PORT or https://HOST[:PORT][PATH][?QUERY]");
}

// --- Records ---

absl::string_view RoleName(LocatorRole role) {
  return role == LocatorRole::kHost ? kHostRole : kMirrorRole;
}

// Every rule of SPEC §13 a record holds on its own (not the reader's clock,
// not the signature): ledger, role and key, seq, expires, urls.
absl::Status CheckRecordRules(const LocatorRecord& record) {
  absl::StatusOr<std::string> ledger_key = PublicKeyTextFromLedgerId(record.ledger);
  if (!ledger_key.ok()) return Invalid("ledger", "not a ledger id");
  if (!DecodePublicKeyText(record.key).ok()) {
    return Invalid("key", "not an Ed25519 public key (\"u\" + base64url of 32 bytes)");
  }
  if (record.role == LocatorRole::kHost && record.key != *ledger_key) {
    return Invalid("key", "a host record's key is the ledger key");
  }
  if (record.role == LocatorRole::kMirror && record.key == *ledger_key) {
    return Invalid("key", "a mirror record's key is the mirror's own, not the ledger key");
  }
  if (record.seq < 0 || record.seq > kMaxSeq) {
    return Invalid("seq", "must be an integer, 0 <= seq <= 2^53-1");
  }
  absl::StatusOr<int64_t> expires = ParseTimestampMillis(record.expires);
  if (!expires.ok()) {
    return Invalid("expires", absl::StrCat("not a SPEC §1 time: ", expires.status().message()));
  }
  if (*expires <= record.seq) return Invalid("expires", "must be later than seq");
  if (*expires - record.seq > kMaxLocatorLifetimeMillis) {
    return Invalid("expires", "must be at most 48 h after seq");
  }
  if (record.urls.empty() || record.urls.size() > kMaxUrls) {
    return Invalid("urls", absl::StrCat(record.urls.size(), " URLs, not 1 to ", kMaxUrls));
  }
  std::set<absl::string_view> seen;
  for (size_t i = 0; i < record.urls.size(); ++i) {
    const std::string& url = record.urls[i];
    if (absl::Status s = CheckUrl(url); !s.ok()) {
      return Invalid("urls", absl::StrCat("url ", i, " \"", QuoteForError(url), "\": ",
                                          s.message()));
    }
    if (!seen.insert(url).second) {
      return Invalid("urls", absl::StrCat("url ", i, " \"", QuoteForError(url),
                                          "\" appears twice"));
    }
  }
  return absl::OkStatus();
}

// The record's members but `sig`, as JSON.
Json UnsignedRecordJson(const LocatorRecord& record) {
  return {{"locator", std::string(kLocatorFormat)},
          {"ledger", record.ledger},
          {"role", std::string(RoleName(record.role))},
          {"key", record.key},
          {"seq", static_cast<double>(record.seq)},
          {"expires", record.expires},
          {"urls", record.urls}};
}

std::string SignedMessage(absl::string_view unsigned_jcs) {
  return absl::StrCat(kLocatorFormat, " ", unsigned_jcs);
}

const std::string* StringMember(const Json& json, const char* name) {
  const Json& member = json.at(name);
  return member.is_string() ? &member.get_ref<const std::string&>() : nullptr;
}

// The record `json` (an object) holds, with its member kinds checked.
absl::StatusOr<LocatorRecord> RecordFromJson(const Json& json) {
  static constexpr const char* kMembers[] = {"locator", "ledger", "role", "key",
                                             "seq",     "expires", "urls", "sig"};
  for (const char* name : kMembers) {
    if (!json.contains(name)) {
      return Invalid("members", absl::StrCat("member \"", name, "\" is missing"));
    }
  }
  if (json.size() != std::size(kMembers)) {
    return Invalid("members", "a record has exactly locator, ledger, role, key, seq, "
                              "expires, urls and sig");
  }
  const std::string* format = StringMember(json, "locator");
  if (format == nullptr || *format != kLocatorFormat) {
    return Invalid("locator", absl::StrCat("must be \"", kLocatorFormat, "\""));
  }
  LocatorRecord record;
  const std::string* ledger = StringMember(json, "ledger");
  if (ledger == nullptr) return Invalid("ledger", "must be a ledger id");
  record.ledger = *ledger;
  const std::string* role = StringMember(json, "role");
  if (role == nullptr || (*role != kHostRole && *role != kMirrorRole)) {
    return Invalid("role", "must be \"host\" or \"mirror\"");
  }
  record.role = *role == kHostRole ? LocatorRole::kHost : LocatorRole::kMirror;
  const std::string* key = StringMember(json, "key");
  if (key == nullptr) return Invalid("key", "must be an Ed25519 public key");
  record.key = *key;
  const Json& seq = json.at("seq");
  // Checked here too (not only by CheckRecordRules) so that the conversion to
  // an integer below is defined.
  const double seq_value = seq.is_number() ? seq.get<double>() : -1;
  if (std::floor(seq_value) != seq_value || seq_value < 0 ||
      seq_value > static_cast<double>(kMaxSeq)) {
    return Invalid("seq", "must be an integer, 0 <= seq <= 2^53-1");
  }
  record.seq = static_cast<int64_t>(seq_value);
  const std::string* expires = StringMember(json, "expires");
  if (expires == nullptr) return Invalid("expires", "must be a SPEC §1 time");
  record.expires = *expires;
  const Json& urls = json.at("urls");
  if (!urls.is_array()) return Invalid("urls", "must be an array of URLs");
  for (const Json& url : urls) {
    if (!url.is_string()) return Invalid("urls", "every URL is a string");
    record.urls.push_back(url.get<std::string>());
  }
  if (!json.at("sig").is_string()) return Invalid("sig", "must be an Ed25519 signature");
  return record;
}

// Every rule a reader applies to a locator record (`json`, the JCS object of
// its plaintext) found under `ledger_id`'s DHT key, at `now_millis`.
absl::StatusOr<LocatorRecord> VerifyLocatorJson(absl::string_view ledger_id,
                                                const Json& json, int64_t now_millis) {
  absl::StatusOr<LocatorRecord> record = RecordFromJson(json);
  if (!record.ok()) return record.status();
  if (absl::Status s = CheckRecordRules(*record); !s.ok()) return s;
  if (record->ledger != ledger_id) return Invalid("ledger", "names another ledger");
  const std::string unsigned_jcs = CanonicalJsonWithout(json, {"sig"}).without;
  if (absl::Status s = VerifyEd25519Text(record->key, SignedMessage(unsigned_jcs),
                                         *StringMember(json, "sig"), "locator: sig");
      !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  // CheckRecordRules has parsed `expires`.
  const int64_t expires = *ParseTimestampMillis(record->expires);
  if (expires + kLocatorClockSkewMillis < now_millis) {
    return Invalid("expires", "expired: the reader's clock is later than expires + 300 s");
  }
  if (expires - kMaxLocatorLifetimeMillis - kLocatorClockSkewMillis > now_millis) {
    return Invalid("expires",
                   "too late: more than 48 h + 300 s after the reader's clock");
  }
  return record;
}

}  // namespace

absl::StatusOr<std::string> DhtKeyHex(absl::string_view ledger_id) {
  absl::StatusOr<DhtKeys> keys = DeriveKeys(ledger_id);
  if (!keys.ok()) return keys.status();
  return absl::BytesToHexString(keys->dht_key);
}

absl::StatusOr<std::string> EncryptValueData(absl::string_view ledger_id,
                                             absl::string_view plaintext) {
  absl::StatusOr<DhtKeys> keys = DeriveKeys(ledger_id);
  if (!keys.ok()) return keys.status();
  return Encrypt(*keys, plaintext);
}

absl::StatusOr<std::string> DecryptValueData(absl::string_view ledger_id,
                                             absl::string_view value_data) {
  absl::StatusOr<DhtKeys> keys = DeriveKeys(ledger_id);
  if (!keys.ok()) return keys.status();
  return Decrypt(*keys, value_data);
}

uint64_t DhtValueId(absl::string_view value_data) {
  const std::string digest = Sha256(value_data);
  uint64_t id = 0;
  for (size_t i = 0; i < 8; ++i) id = (id << 8) | static_cast<uint8_t>(digest[i]);
  return id == 0 ? 1 : id;
}

absl::StatusOr<std::string> SignLocatorRecord(LocatorRecord record,
                                              const SigningKey& signer) {
  record.key = signer.public_key_text();
  if (absl::Status s = CheckRecordRules(record); !s.ok()) return s;
  Json json = UnsignedRecordJson(record);
  const std::string message = SignedMessage(CanonicalJson(json));
  json["sig"] = signer.SignText(message);
  return CanonicalJson(json);
}

absl::StatusOr<LocatorRecord> VerifyLocatorPlaintext(absl::string_view ledger_id,
                                                     absl::string_view plaintext,
                                                     int64_t now_millis) {
  absl::StatusOr<Json> json = ParseJcsObject(plaintext, kMaxJsonDepth);
  if (!json.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("locator: ", json.status().message()));
  }
  return VerifyLocatorJson(ledger_id, *json, now_millis);
}

ResolvedLedger ResolveLocatorValues(absl::string_view ledger_id,
                                    const std::vector<std::string>& values,
                                    int64_t now_millis) {
  ResolvedLedger resolved;
  const absl::StatusOr<DhtKeys> keys = DeriveKeys(ledger_id);
  // A record kept so far, with what orders it.
  struct Found {
    size_t value;
    std::string plaintext;
    LocatorRecord record;
  };
  std::vector<Found> found;
  std::map<std::string, size_t> plaintexts;  // Plaintext -> first value holding it.
  for (size_t i = 0; i < values.size(); ++i) {
    auto drop = [&](absl::string_view why) {
      resolved.dropped.push_back(absl::StrCat("value ", i, ": ", why));
    };
    if (!keys.ok()) {
      drop("the ledger id is not a ledger id");
      continue;
    }
    absl::StatusOr<std::string> plaintext = Decrypt(*keys, values[i]);
    if (!plaintext.ok()) {
      drop(plaintext.status().message());
      continue;
    }
    if (auto [first, inserted] = plaintexts.emplace(*plaintext, i); !inserted) {
      drop(absl::StrCat("the same plaintext as value ", first->second));
      continue;
    }
    // An evidence object is not counted in the nesting limit (SPEC §1).
    absl::StatusOr<Json> json = ParseJcsObject(*plaintext, kMaxJsonDepth + 1);
    if (!json.ok()) {
      drop(json.status().message());
      continue;
    }
    if (json->contains("evidence")) {
      absl::StatusOr<EvidenceInfo> info = ValidateEvidence(*plaintext);
      if (!info.ok()) {
        drop(info.status().message());
      } else if (info->ledger != ledger_id) {
        drop("evidence: of another ledger");
      } else {
        resolved.evidence.push_back(*plaintext);
      }
      continue;
    }
    if (!json->contains("locator")) {
      drop("plaintext: neither a locator record (member \"locator\") nor evidence "
           "(member \"evidence\")");
      continue;
    }
    absl::StatusOr<LocatorRecord> record = VerifyLocatorJson(ledger_id, *json, now_millis);
    if (!record.ok()) {
      drop(record.status().message());
      continue;
    }
    found.push_back({i, *std::move(plaintext), *std::move(record)});
  }

  // Per key, only the records of its highest seq.
  std::map<std::string, int64_t> newest;
  for (const Found& f : found) {
    auto [it, inserted] = newest.emplace(f.record.key, f.record.seq);
    if (!inserted) it->second = std::max(it->second, f.record.seq);
  }
  std::vector<Found> kept;
  for (Found& f : found) {
    if (f.record.seq == newest[f.record.key]) {
      kept.push_back(std::move(f));
    } else {
      resolved.dropped.push_back(absl::StrCat(
          "value ", f.value, ": locator: seq: a newer record of its key exists"));
    }
  }
  // Host records first, then by descending seq, then by plaintext bytes.
  std::sort(kept.begin(), kept.end(), [](const Found& x, const Found& y) {
    if (x.record.role != y.record.role) return x.record.role == LocatorRole::kHost;
    if (x.record.seq != y.record.seq) return x.record.seq > y.record.seq;
    return x.plaintext < y.plaintext;
  });
  std::set<std::string> urls;
  for (Found& f : kept) {
    for (const std::string& url : f.record.urls) {
      if (urls.insert(url).second) resolved.urls.push_back(url);
    }
    resolved.records.push_back(std::move(f.record));
  }
  return resolved;
}

}  // namespace microledger
