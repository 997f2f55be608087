// libFuzzer target: offline bundle verification (common/bundle.h, SPEC §8/§9,
// with common/ledger_verifier.h underneath) on untrusted bytes, the input of
// `mlctl verify FILE`. Properties: VerifyBundle never crashes and never fails
// to give a verdict on an in-memory stream; the verdict (OK or the first
// failing block and rule) is the same serially and with worker threads and
// small windows; the verdict line is one line of printable UTF-8; an OK verdict
// counts exactly the block lines of the input.
// Seeds (fuzz/corpus/bundle) are small `mlctl sample` bundles and variants.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/bundle.h"
#include "common/utf8.h"
#include "fuzz/fuzz_check.h"

namespace microledger {
namespace {

// One line of printable UTF-8: what a verdict line must be.
bool IsPrintableUtf8Line(absl::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const uint8_t byte = static_cast<uint8_t>(text[pos]);
    uint32_t code_point;
    if (byte < 0x20 || byte == 0x7F || !DecodeUtf8(text, &pos, &code_point)) return false;
  }
  return true;
}

BundleVerdict Verify(absl::string_view input, int workers, size_t window_lines) {
  std::istringstream in{std::string(input)};
  BundleVerifyOptions options;
  options.workers = workers;
  options.window_lines = window_lines;
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in, nullptr, options);
  FUZZ_CHECK(verdict.ok(), "an in-memory bundle always gets a verdict");
  return *std::move(verdict);
}

}  // namespace
}  // namespace microledger

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using microledger::BundleVerdict;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const BundleVerdict serial = microledger::Verify(input, 1, 256);
  const BundleVerdict parallel = microledger::Verify(input, 3, 2);
  FUZZ_CHECK(serial.Line() == parallel.Line(), "the verdict does not depend on workers");
  FUZZ_CHECK(serial.blocks == parallel.blocks, "the block count does not depend on workers");

  const std::string line = serial.Line();
  FUZZ_CHECK(microledger::IsPrintableUtf8Line(line),
             "the verdict is one line of printable UTF-8");
  if (serial.ok) {
    uint64_t block_lines = 0;
    for (absl::string_view bundle_line : absl::StrSplit(input, '\n')) {
      if (absl::StartsWith(bundle_line, "{\"block\":")) ++block_lines;
    }
    FUZZ_CHECK(serial.blocks == block_lines, "an OK verdict counts every block line");
  }
  return 0;
}
