// libFuzzer target: strict JSON parsing and RFC 8785 (JCS) serialisation
// (common/json.h). Any input: ParseJson must not crash, and whatever it accepts
// must canonicalise to bytes that re-parse and re-serialise to the same bytes
// (the canonical form is a fixed point), Canonicalize must agree with
// ParseJson + CanonicalJson, and a depth limit may only reject more.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/json.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using microledger::Json;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<Json> parsed = microledger::ParseJson(text);
  const absl::StatusOr<std::string> canonicalized = microledger::Canonicalize(text);
  FUZZ_CHECK(parsed.ok() == canonicalized.ok(),
             "Canonicalize accepts exactly what ParseJson accepts");
  // A stricter depth limit never accepts what the default limit rejects.
  const absl::StatusOr<Json> shallow = microledger::ParseJson(text, 4);
  FUZZ_CHECK(!shallow.ok() || parsed.ok(), "max_depth 4 accepts only what 32 accepts");
  if (!parsed.ok()) return 0;

  const std::string canonical = microledger::CanonicalJson(*parsed);
  FUZZ_CHECK(*canonicalized == canonical, "Canonicalize == CanonicalJson(ParseJson)");
  const absl::StatusOr<Json> reparsed = microledger::ParseJson(canonical);
  FUZZ_CHECK(reparsed.ok(), "canonical output parses again");
  FUZZ_CHECK(microledger::CanonicalJson(*reparsed) == canonical,
             "canonical output re-serialises to the same bytes");
  FUZZ_CHECK(*reparsed == *parsed, "canonical output parses to the same value");
  if (parsed->is_object()) {
    const microledger::CanonicalJsonSplit split =
        microledger::CanonicalJsonWithout(*parsed, {"fingerprint", "signatures"});
    FUZZ_CHECK(split.whole == canonical, "CanonicalJsonWithout whole == CanonicalJson");
    Json body = *parsed;
    body.erase("fingerprint");
    body.erase("signatures");
    FUZZ_CHECK(split.without == microledger::CanonicalJson(body),
               "CanonicalJsonWithout without == CanonicalJson of the rest");
  }
  return 0;
}
