// Strict JSON parsing and RFC 8785 (JCS) canonical serialisation (SPEC.md §1).
//
// ParseJson accepts exactly the JSON the format allows and rejects everything
// else with an InvalidArgument status: a leading byte-order mark, duplicate
// member names, lone surrogates (escaped or raw), invalid UTF-8, numbers that
// overflow to ±infinity, anything that is not RFC 8259 JSON (comments, trailing
// commas, NaN, leading zeros, trailing bytes, raw NUL bytes, empty input) and
// nesting deeper than `max_depth`. A number that underflows becomes 0.
//
// JCS treats every number as an IEEE-754 double, so every number ParseJson
// returns is stored as one (Json::value_t::number_float). CanonicalJson writes
// the one RFC 8785 serialisation of a value; two texts that parse to the same
// value have the same canonical form, and canonical form is a fixed point:
// Canonicalize(Canonicalize(x)) == Canonicalize(x).

#ifndef MICROLEDGER_COMMON_JSON_H_
#define MICROLEDGER_COMMON_JSON_H_

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace microledger {

using Json = nlohmann::json;

// SPEC.md §1: nesting deeper than 32 levels is rejected.
inline constexpr int kMaxJsonDepth = 32;

// Parses `text` strictly (see above). The outermost object or array is at
// nesting level 1, so `max_depth` = 32 accepts 32 nested arrays and rejects 33;
// a scalar at top level is at level 0. Errors are InvalidArgument with a short
// message naming the problem and, for problems found while reading the text,
// where: "at byte N" means the first N bytes had been read.
absl::StatusOr<Json> ParseJson(absl::string_view text,
                               int max_depth = kMaxJsonDepth);

// Returns the RFC 8785 serialisation of `value`: no whitespace, object members
// sorted by their names as arrays of UTF-16 code units, strings escaped as
// ECMAScript JSON.stringify does, numbers as FormatJsonNumber. An integer
// stored as number_integer or number_unsigned is written as its nearest double.
//
// Precondition: `value` is one ParseJson can produce — its strings are valid
// UTF-8, its numbers finite, and it holds no binary or discarded value. Any
// value built from strings, finite numbers, booleans, null, objects and
// arrays qualifies. A non-finite number or a binary value aborts the process.
std::string CanonicalJson(const Json& value);

// The canonical form of a value, whole and without some of its members.
struct CanonicalJsonSplit {
  std::string whole;    // CanonicalJson(value).
  std::string without;  // CanonicalJson of `value` less the omitted members.
};

// Both forms of CanonicalJsonSplit from one pass that serialises each member
// of `value` once (the object's members go to `without` unless their name is
// in `omitted`). A value that is not an object has no members to omit: both
// forms are CanonicalJson(value). Precondition: CanonicalJson's.
CanonicalJsonSplit CanonicalJsonWithout(
    const Json& value, std::initializer_list<absl::string_view> omitted);

// Appends `text` as a JSON string literal escaped the way JCS (ECMAScript
// JSON.stringify) does: `"` and `\`, the five short control escapes, \u00xx
// with lowercase hex for the other control characters, every other byte as is
// (also what nlohmann::json's dump writes for valid UTF-8).
void AppendQuoted(std::string_view text, std::string* out);

// ParseJson followed by CanonicalJson.
absl::StatusOr<std::string> Canonicalize(absl::string_view text,
                                         int max_depth = kMaxJsonDepth);

// Returns ECMAScript Number::toString(value) (RFC 8785 §3.2.2.3): the shortest
// digits that round-trip, written as a plain decimal when value = d.ddd × 10^e
// with -7 < e < 21 and as `d.ddde+N` / `d.ddde-N` otherwise. Examples:
// 1e+21, 1e-7, 0.000001, 5e-324; -0 is written "0".
// Precondition: `value` is finite (aborts if not).
std::string FormatJsonNumber(double value);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_JSON_H_
