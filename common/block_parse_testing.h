// Test aids for ParseBlock's fast path (canonical_block_reader.h), shared by
// common/canonical_block_reader_test.cc and fuzz/canonical_block_reader_fuzzer.cc:
// the promise the fast path keeps (it returns the slow path's Block or
// declines), a field-by-field Block comparison, and block bytes written from
// their members' texts with the fingerprint recomputed over the body as
// written, so that a variant can only be refused for its text (canonical
// form, members, encodings), never for its fingerprint. Thread-safe: pure
// functions and a plain value type.
#ifndef MICROLEDGER_COMMON_BLOCK_PARSE_TESTING_H_
#define MICROLEDGER_COMMON_BLOCK_PARSE_TESTING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/json.h"

namespace microledger {

// Whether `a` and `b` are the same JSON value with the same kinds throughout:
// stricter than Json's operator== (1.0 stored as a double differs from 1
// stored as an integer; doubles must have the same bits, so 0 differs from -0).
bool SameJsonValue(const Json& a, const Json& b);

// The name of the first field in which `a` and `b` differ, empty if none.
std::string BlockDifference(const Block& a, const Block& b);

// Empty if, for `bytes` at `stage`, ReadCanonicalBlock either declines or
// returns the Block ParseBlockThroughJsonTree returns, and ParseBlock returns
// what ParseBlockThroughJsonTree returns (the same status, the same Block);
// otherwise what went wrong.
std::string FastPathBreach(absl::string_view bytes, SignatureStage stage);

// A block as the texts of its members, in the order they are written.
struct RawBlock {
  struct Member {
    std::string name;   // The member name as written, quotes included.
    std::string value;  // The value as written.
  };
  std::vector<Member> members;

  // The members of the canonical block `bytes` (which must be JSON) as JCS
  // writes them.
  static RawBlock FromCanonical(absl::string_view bytes);

  // The member named `name` (written "\"name\""), or null.
  Member* Find(absl::string_view name);

  // `{name:value,...}` with the value of "fingerprint", if present, replaced
  // by the digest text of the members other than "fingerprint" and
  // "signatures" written the same way.
  std::string Render() const;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_BLOCK_PARSE_TESTING_H_
