#include "common/json.h"

#include "common/error_text.h"
#include "common/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace microledger {
namespace {

// nlohmann's out_of_range.406: a number literal whose value is not finite.
constexpr int kNumberOverflowErrorId = 406;

[[noreturn]] void DieOnBrokenPrecondition(std::string_view message) {
  std::fprintf(stderr, "common/json: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::abort();
}

// Whether JCS escapes byte `c` inside a string: '"', '\\' and the control
// characters.
bool NeedsEscape(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
}

// Whether any of the 8 bytes of `word` needs escaping (NeedsEscape), tested at
// once: (x - 0x0101…01 * n) & ~x & 0x8080…80 is non-zero exactly when a byte of
// x is below n (for n <= 0x80), and x has a byte equal to c exactly when
// x ^ (0x0101…01 * c) has a byte below 1.
bool WordNeedsEscape(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighBits = 0x8080808080808080;
  const auto has_byte_below = [](uint64_t x, uint64_t n) {
    return ((x - kOnes * n) & ~x & kHighBits) != 0;
  };
  return has_byte_below(word, 0x20) || has_byte_below(word ^ (kOnes * '"'), 1) ||
         has_byte_below(word ^ (kOnes * '\\'), 1);
}

}  // namespace

// The bytes between escapes are appended in runs, skipped 8 at a time.
void AppendQuoted(std::string_view text, std::string* out) {
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < text.size();) {
    uint64_t word;
    if (i + sizeof(word) <= text.size()) {
      std::memcpy(&word, text.data() + i, sizeof(word));
      if (!WordNeedsEscape(word)) {
        i += sizeof(word);
        continue;
      }
    }
    const char c = text[i];
    if (!NeedsEscape(c)) {
      ++i;
      continue;
    }
    out->append(text.data() + run_start, i - run_start);
    run_start = ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        absl::StrAppendFormat(out, "\\u%04x", static_cast<int>(c));
    }
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

namespace {

// Returns the UTF-16 code units of UTF-8 `text`, the order JCS sorts member
// names in. Ill-formed input (a broken precondition) still yields a
// deterministic sequence: each bad byte becomes one unit.
std::u16string ToUtf16(std::string_view text) {
  const absl::string_view utf8(text.data(), text.size());
  std::u16string units;
  units.reserve(text.size());
  size_t pos = 0;
  while (pos < utf8.size()) {
    uint32_t code_point;
    if (!DecodeUtf8(utf8, &pos, &code_point)) {
      code_point = static_cast<uint8_t>(utf8[pos++]);
    }
    if (code_point < 0x10000) {
      units.push_back(static_cast<char16_t>(code_point));
    } else {
      code_point -= 0x10000;
      units.push_back(static_cast<char16_t>(0xD800 + (code_point >> 10)));
      units.push_back(static_cast<char16_t>(0xDC00 + (code_point & 0x3FF)));
    }
  }
  return units;
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Calls `visit(member)` for the members of `object` in JCS order: by the UTF-16
// code units of their names. The map holds them in byte order, which is the
// same order when every name is ASCII; otherwise they are sorted here.
template <typename Visit>
void ForEachMemberInJcsOrder(const Json::object_t& object, const Visit& visit) {
  if (std::all_of(object.begin(), object.end(),
                  [](const auto& member) { return IsAscii(member.first); })) {
    for (const auto& member : object) visit(member);
    return;
  }
  std::vector<std::pair<std::u16string, const Json::object_t::value_type*>>
      members;
  for (const auto& member : object) {
    members.emplace_back(ToUtf16(member.first), &member);
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [sort_key, member] : members) visit(*member);
}

void AppendCanonical(const Json& value, std::string* out);

// Appends one object member as JCS writes it: "name":value.
void AppendCanonicalMember(const Json::object_t::value_type& member,
                           std::string* out) {
  AppendQuoted(member.first, out);
  out->push_back(':');
  AppendCanonical(member.second, out);
}

void AppendCanonical(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return;
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return;
    case Json::value_t::number_integer:
      out->append(FormatJsonNumber(
          static_cast<double>(value.get<Json::number_integer_t>())));
      return;
    case Json::value_t::number_unsigned:
      out->append(FormatJsonNumber(
          static_cast<double>(value.get<Json::number_unsigned_t>())));
      return;
    case Json::value_t::number_float:
      out->append(FormatJsonNumber(value.get<Json::number_float_t>()));
      return;
    case Json::value_t::string:
      AppendQuoted(value.get_ref<const Json::string_t&>(), out);
      return;
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& element : value.get_ref<const Json::array_t&>()) {
        if (!first) out->push_back(',');
        first = false;
        AppendCanonical(element, out);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      ForEachMemberInJcsOrder(value.get_ref<const Json::object_t&>(),
                              [&](const Json::object_t::value_type& member) {
                                if (!first) out->push_back(',');
                                first = false;
                                AppendCanonicalMember(member, out);
                              });
      out->push_back('}');
      return;
    }
    case Json::value_t::binary:
      DieOnBrokenPrecondition("CanonicalJson: binary values have no JSON form");
    case Json::value_t::discarded:
      DieOnBrokenPrecondition("CanonicalJson: discarded value");
  }
}

// Replaces every byte of `text` outside ASCII by \xNN, so that a message
// quoting (possibly ill-formed) input is itself valid UTF-8; quotes at most
// kMaxQuotedInputBytes of it (error_text.h), then "... (N bytes)".
std::string AsciiOnly(std::string_view text) {
  const std::string_view quoted = text.substr(0, kMaxQuotedInputBytes);
  std::string ascii;
  for (const char c : quoted) {
    if (static_cast<unsigned char>(c) < 0x80) {
      ascii.push_back(c);
    } else {
      absl::StrAppendFormat(&ascii, "\\x%02X", static_cast<unsigned char>(c));
    }
  }
  if (quoted.size() < text.size()) {
    absl::StrAppend(&ascii, "... (", text.size(), " bytes)");
  }
  return ascii;
}

// Turns an error reported by nlohmann's lexer or parser into our status.
// `position` is the 1-based offset of the last byte nlohmann read.
absl::Status DescribeParseError(std::size_t position,
                                const std::string& last_token,
                                const nlohmann::detail::exception& error) {
  if (error.id == kNumberOverflowErrorId) {
    return absl::InvalidArgumentError(absl::StrCat(
        "number overflows to infinity at byte ", position, ": ",
        QuoteForError(last_token)));
  }
  // what() reads "[json.exception.parse_error.101] parse error at line 1,
  // column 4: <detail>"; the line and column repeat `position`.
  std::string_view detail = error.what();
  const std::size_t colon = detail.find(": ");
  if (colon != std::string_view::npos) detail.remove_prefix(colon + 2);
  if (detail.find("ill-formed UTF-8") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid UTF-8 at byte ", position));
  }
  if (detail.find("surrogate U+") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("lone surrogate at byte ", position));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON at byte ", position, ": ", AsciiOnly(detail)));
}

// Receives nlohmann's SAX events and builds the Json they describe, storing
// every number as a double. Stops the parse at the first duplicate member name
// or at nesting deeper than `max_depth`, and records why the parse stopped.
class StrictJsonBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit StrictJsonBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Add(nullptr); }
  bool boolean(bool value) { return Add(value); }
  bool number_integer(number_integer_t value) {
    return Add(static_cast<double>(value));
  }
  bool number_unsigned(number_unsigned_t value) {
    return Add(static_cast<double>(value));
  }
  bool number_float(number_float_t value, const string_t& /*literal*/) {
    return Add(value);
  }
  // Copied, not moved: `value` is the lexer's buffer, which keeps its capacity
  // for the next string only while it keeps its allocation.
  bool string(string_t& value) { return Add(value); }
  // Required by nlohmann's SAX interface; only its binary formats (CBOR,
  // MessagePack, ...) report binary values, JSON text never does.
  bool binary(binary_t& /*value*/) {
    return Fail(absl::InvalidArgumentError("binary value is not JSON"));
  }

  bool start_object(std::size_t /*unknown_size*/) {
    return Open(Json::object());
  }
  // `name` is copied, not moved, as in string().
  bool key(string_t& name) {
    auto& members = open_.back()->get_ref<Json::object_t&>();
    const auto [member, inserted] = members.try_emplace(name);
    if (!inserted) {
      // The name is valid UTF-8 (the lexer checked it): at most
      // kMaxQuotedInputBytes of it, cut at a character boundary.
      std::string_view shown = name;
      if (shown.size() > kMaxQuotedInputBytes) {
        size_t cut = kMaxQuotedInputBytes;
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
        shown = shown.substr(0, cut);
      }
      std::string message = "duplicate member name ";
      AppendQuoted(shown, &message);
      if (shown.size() < name.size()) {
        absl::StrAppend(&message, "… (", name.size(), " bytes)");
      }
      return Fail(absl::InvalidArgumentError(message));
    }
    next_member_ = &member->second;
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t /*unknown_size*/) { return Open(Json::array()); }
  bool end_array() { return Close(); }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& error) {
    return Fail(DescribeParseError(position, last_token, error));
  }

  // Why the parse stopped; OK if it did not.
  const absl::Status& status() const { return status_; }
  Json TakeResult() && { return std::move(root_); }

 private:
  // Stores `value` where the grammar puts it and returns its address.
  Json* Place(Json value) {
    if (open_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& container = *open_.back();
    if (container.is_array()) {
      container.push_back(std::move(value));
      return &container.back();
    }
    *next_member_ = std::move(value);
    return next_member_;
  }

  bool Add(Json value) {
    Place(std::move(value));
    return true;
  }

  bool Open(Json container) {
    if (static_cast<int>(open_.size()) >= max_depth_) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("nesting deeper than ", max_depth_, " levels")));
    }
    open_.push_back(Place(std::move(container)));
    return true;
  }

  bool Close() {
    open_.pop_back();
    return true;
  }

  bool Fail(absl::Status status) {
    status_ = std::move(status);
    return false;
  }

  const int max_depth_;
  Json root_;
  // The objects and arrays being filled, outermost first. Addresses stay valid:
  // a container only grows while it is the innermost one.
  std::vector<Json*> open_;
  // The member of the innermost object that the next value belongs to.
  Json* next_member_ = nullptr;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<Json> ParseJson(absl::string_view text, int max_depth) {
  // nlohmann skips a byte-order mark silently; SPEC.md §1 rejects it.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return absl::InvalidArgumentError("byte-order mark not allowed");
  }
  // nlohmann's lexer takes a NUL byte for the end of the input, so it would
  // accept "[1]\0garbage". A raw NUL is never valid JSON: it is not whitespace,
  // and inside a string it must be escaped.
  const std::size_t nul = text.find('\0');
  if (nul != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", nul + 1, ": raw NUL byte"));
  }
  StrictJsonBuilder builder(max_depth);
  if (!Json::sax_parse(text.begin(), text.end(), &builder,
                       Json::input_format_t::json, /*strict=*/true,
                       /*ignore_comments=*/false)) {
    return builder.status();
  }
  return std::move(builder).TakeResult();
}

std::string CanonicalJson(const Json& value) {
  std::string out;
  AppendCanonical(value, &out);
  return out;
}

CanonicalJsonSplit CanonicalJsonWithout(
    const Json& value, std::initializer_list<absl::string_view> omitted) {
  CanonicalJsonSplit split;
  if (!value.is_object()) {
    split.whole = CanonicalJson(value);
    split.without = split.whole;
    return split;
  }
  split.whole.push_back('{');
  split.without.push_back('{');
  ForEachMemberInJcsOrder(
      value.get_ref<const Json::object_t&>(),
      [&](const Json::object_t::value_type& member) {
        if (split.whole.size() > 1) split.whole.push_back(',');
        const size_t start = split.whole.size();
        AppendCanonicalMember(member, &split.whole);
        const absl::string_view name(member.first.data(), member.first.size());
        if (std::find(omitted.begin(), omitted.end(), name) != omitted.end()) {
          return;
        }
        if (split.without.size() > 1) split.without.push_back(',');
        split.without.append(split.whole, start, std::string::npos);
      });
  split.whole.push_back('}');
  split.without.push_back('}');
  return split;
}

absl::StatusOr<std::string> Canonicalize(absl::string_view text, int max_depth) {
  absl::StatusOr<Json> value = ParseJson(text, max_depth);
  if (!value.ok()) return value.status();
  return CanonicalJson(*value);
}

std::string FormatJsonNumber(double value) {
  if (!std::isfinite(value)) {
    DieOnBrokenPrecondition(
        "FormatJsonNumber: a non-finite number is not JSON");
  }
  if (value == 0) return "0";  // Both +0 and -0.
  std::string out;
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // Shortest round-trip digits in the form d[.ddd]e±XX.
  char buffer[32];
  const std::to_chars_result written = std::to_chars(
      buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const std::string_view scientific(buffer, written.ptr - buffer);
  const std::size_t e = scientific.find('e');
  std::string digits(scientific.substr(0, e));
  if (digits.size() > 1) digits.erase(1, 1);  // The decimal point.
  const bool negative_exponent = scientific[e + 1] == '-';
  int exponent = 0;
  std::from_chars(scientific.data() + e + 2, written.ptr, exponent);
  if (negative_exponent) exponent = -exponent;

  // ECMAScript Number::toString with k digits and value = digits × 10^(n-k).
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out.append(digits).append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, n).append(".").append(digits, n);
  } else if (-6 < n && n <= 0) {
    out.append("0.").append(-n, '0').append(digits);
  } else {
    out.push_back(digits[0]);
    if (k > 1) out.append(".").append(digits, 1);
    absl::StrAppend(&out, n - 1 < 0 ? "e-" : "e+", std::abs(n - 1));
  }
  return out;
}

}  // namespace microledger
