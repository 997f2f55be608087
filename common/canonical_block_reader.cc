#include "common/canonical_block_reader.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/timestamp.h"
#include "common/utf8.h"

namespace microledger {
namespace {

bool IsAscii(absl::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A byte that can be part of a JSON number token.
bool IsNumberByte(char c) {
  return IsDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Sets *value for a whole number written with at most 15 digits, no leading
// zero and an optional minus sign ("0", "42", "-7"): such numbers are exact
// doubles and FormatJsonNumber writes them exactly so. False for any other
// token, which may still be canonical.
bool ReadSmallWholeNumber(absl::string_view token, double* value) {
  if (token == "0") {
    *value = 0;
    return true;
  }
  const bool negative = !token.empty() && token[0] == '-';
  const absl::string_view digits = token.substr(negative ? 1 : 0);
  if (digits.empty() || digits.size() > 15 || digits[0] == '0') return false;
  int64_t whole = 0;
  for (const char c : digits) {
    if (!IsDigit(c)) return false;
    whole = whole * 10 + (c - '0');
  }
  *value = static_cast<double>(negative ? -whole : whole);
  return true;
}

// Reads JSON written as JCS writes it (RFC 8785: no whitespace, the escapes
// and numbers of ECMAScript, members in order) from the front of a text, and
// fails at the first byte that differs from that form.
class CanonicalTextReader {
 public:
  explicit CanonicalTextReader(absl::string_view text) : text_(text) {}

  size_t position() const { return pos_; }
  bool AtEnd() const { return pos_ == text_.size(); }

  // Consumes `literal` if the text continues with it.
  bool Consume(absl::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }

  // Reads a string literal into *out: raw bytes as valid UTF-8 except '"',
  // '\' and the control characters, which must be escaped the way JCS does.
  bool ReadString(std::string* out) {
    if (!Consume("\"")) return false;
    out->clear();
    size_t run_start = pos_;
    while (pos_ < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        out->append(text_.data() + run_start, pos_ - run_start);
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        out->append(text_.data() + run_start, pos_ - run_start);
        ++pos_;
        if (!ReadEscape(out)) return false;
        run_start = pos_;
      } else if (c < 0x80) {
        ++pos_;
      } else {
        uint32_t code_point;
        if (!DecodeUtf8(text_, &pos_, &code_point)) return false;
      }
    }
    return false;
  }

  // Reads a number written exactly as FormatJsonNumber writes its value.
  bool ReadNumber(double* value) {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsNumberByte(text_[pos_])) ++pos_;
    const absl::string_view token = text_.substr(start, pos_ - start);
    if (ReadSmallWholeNumber(token, value)) return true;
    if (token.empty()) return false;
    const char* const end = token.data() + token.size();
    const std::from_chars_result read = std::from_chars(token.data(), end, *value);
    return read.ec == std::errc() && read.ptr == end &&
           FormatJsonNumber(*value) == token;
  }

  // Reads any JSON value into *out, built as ParseJson builds it (numbers as
  // doubles). A container opened here is at nesting level `level`.
  bool ReadValue(int level, Json* out) {
    if (pos_ == text_.size()) return false;
    switch (text_[pos_]) {
      case '{':
        return ReadObject(level, out);
      case '[':
        return ReadArray(level, out);
      case '"': {
        std::string text;
        if (!ReadString(&text)) return false;
        *out = std::move(text);
        return true;
      }
      case 't':
        *out = true;
        return Consume("true");
      case 'f':
        *out = false;
        return Consume("false");
      case 'n':
        *out = nullptr;
        return Consume("null");
      default: {
        double number;
        if (!ReadNumber(&number)) return false;
        *out = number;
        return true;
      }
    }
  }

 private:
  // After the backslash: one of the escapes JCS writes, appended decoded.
  bool ReadEscape(std::string* out) {
    if (pos_ == text_.size()) return false;
    const char c = text_[pos_++];
    switch (c) {
      case '"':
      case '\\':
        out->push_back(c);
        return true;
      case 'b':
        out->push_back('\b');
        return true;
      case 'f':
        out->push_back('\f');
        return true;
      case 'n':
        out->push_back('\n');
        return true;
      case 'r':
        out->push_back('\r');
        return true;
      case 't':
        out->push_back('\t');
        return true;
      case 'u':
        return ReadControlEscape(out);
      default:
        return false;
    }
  }

  // After "\u": 00 and two lowercase hex digits naming a control character
  // that has no short escape.
  bool ReadControlEscape(std::string* out) {
    if (text_.size() - pos_ < 4 || text_[pos_] != '0' || text_[pos_ + 1] != '0') {
      return false;
    }
    const char high = text_[pos_ + 2];
    const char low = text_[pos_ + 3];
    if (high != '0' && high != '1') return false;
    int low_value;
    if (IsDigit(low)) {
      low_value = low - '0';
    } else if (low >= 'a' && low <= 'f') {
      low_value = low - 'a' + 10;
    } else {
      return false;
    }
    const char control = static_cast<char>((high - '0') * 16 + low_value);
    if (control == '\b' || control == '\f' || control == '\n' || control == '\r' ||
        control == '\t') {
      return false;
    }
    pos_ += 4;
    out->push_back(control);
    return true;
  }

  // Member names must be ASCII (so that JCS's UTF-16 order is byte order) and
  // strictly increasing (in order, no duplicates).
  bool ReadObject(int level, Json* out) {
    if (level > kMaxJsonDepth || !Consume("{")) return false;
    *out = Json::object();
    Json::object_t& members = out->get_ref<Json::object_t&>();
    if (Consume("}")) return true;
    do {
      std::string name;
      if (!ReadString(&name) || !IsAscii(name) ||
          (!members.empty() && !(members.rbegin()->first < name)) || !Consume(":")) {
        return false;
      }
      auto member = members.emplace_hint(members.end(), std::move(name), nullptr);
      if (!ReadValue(level + 1, &member->second)) return false;
    } while (Consume(","));
    return Consume("}");
  }

  bool ReadArray(int level, Json* out) {
    if (level > kMaxJsonDepth || !Consume("[")) return false;
    *out = Json::array();
    Json::array_t& elements = out->get_ref<Json::array_t&>();
    if (Consume("]")) return true;
    do {
      elements.emplace_back();
      if (!ReadValue(level + 1, &elements.back())) return false;
    } while (Consume(","));
    return Consume("]");
  }

  const absl::string_view text_;
  size_t pos_ = 0;
};

// A signature object: exactly alg, key, role, sig, all strings, in JCS order.
bool ReadSignature(CanonicalTextReader& reader, BlockSignature* signature) {
  return reader.Consume("{\"alg\":") && reader.ReadString(&signature->alg) &&
         reader.Consume(",\"key\":") && reader.ReadString(&signature->key) &&
         reader.Consume(",\"role\":") && reader.ReadString(&signature->role) &&
         reader.Consume(",\"sig\":") && reader.ReadString(&signature->sig) &&
         reader.Consume("}");
}

bool ReadSignatures(CanonicalTextReader& reader,
                    std::vector<BlockSignature>* signatures) {
  if (!reader.Consume("[")) return false;
  if (reader.Consume("]")) return true;
  do {
    signatures->emplace_back();
    if (!ReadSignature(reader, &signatures->back())) return false;
  } while (reader.Consume(","));
  return reader.Consume("]");
}

bool EventValid(const Json& event) {
  if (!event.is_object()) return false;
  const auto name = event.find("event");
  return name != event.end() && name->is_string();
}

}  // namespace

std::optional<Block> ReadCanonicalBlock(absl::string_view bytes,
                                        SignatureStage stage) {
  // JCS orders the members: controllers, event, fingerprint, ledger, number,
  // previous, seals, signatures, time. The body (what the fingerprint
  // digests) is the block less `fingerprint` and `signatures`, so its JCS is
  // the bytes with those two members cut out.
  CanonicalTextReader reader(bytes);
  Block block;
  double number;
  if (!reader.Consume("{\"event\":") || !reader.ReadValue(2, &block.event)) {
    return std::nullopt;
  }
  const size_t fingerprint_start = reader.position();
  if (!reader.Consume(",\"fingerprint\":") || !reader.ReadString(&block.fingerprint)) {
    return std::nullopt;
  }
  const size_t ledger_start = reader.position();
  if (!reader.Consume(",\"ledger\":") || !reader.ReadString(&block.ledger) ||
      !reader.Consume(",\"number\":") || !reader.ReadNumber(&number)) {
    return std::nullopt;
  }
  if (reader.Consume(",\"previous\":") &&
      !reader.ReadString(&block.previous.emplace())) {
    return std::nullopt;
  }
  const size_t signatures_start = reader.position();
  if (!reader.Consume(",\"signatures\":") || !ReadSignatures(reader, &block.signatures)) {
    return std::nullopt;
  }
  const size_t time_start = reader.position();
  if (!reader.Consume(",\"time\":") || !reader.ReadString(&block.time) ||
      !reader.Consume("}") || !reader.AtEnd()) {
    return std::nullopt;
  }

  if (!EventValid(block.event) || !PublicKeyTextFromLedgerId(block.ledger).ok()) {
    return std::nullopt;
  }
  const absl::StatusOr<uint64_t> whole = JsonWholeNumber(Json(number), 1, kMaxBlockNumber);
  if (!whole.ok()) return std::nullopt;
  block.number = *whole;
  if (block.previous.has_value() != (block.number > 1) ||
      (block.previous.has_value() && !DecodeDigest(*block.previous).ok())) {
    return std::nullopt;
  }
  const absl::StatusOr<int64_t> millis = ParseTimestampMillis(block.time);
  if (!millis.ok()) return std::nullopt;
  block.time_millis = *millis;
  for (const BlockSignature& signature : block.signatures) {
    if (!CheckSignatureTexts(signature, /*raw=*/nullptr).ok()) return std::nullopt;
  }
  if (!CheckSignatureRoles(block.signatures, stage).ok()) return std::nullopt;

  const absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  if (!leaf.ok()) return std::nullopt;
  const std::string body = absl::StrCat(
      bytes.substr(0, fingerprint_start),
      bytes.substr(ledger_start, signatures_start - ledger_start),
      bytes.substr(time_start));
  if (Sha256Multihash(body) != *leaf) return std::nullopt;
  return block;
}

}  // namespace microledger
