// Helpers shared by the bundle tests (bundle_test.cc, bundle_failures_test.cc,
// bundle_line_failures_test.cc): bundles written from TestChain blocks, and
// verification in every worker mode, which must all give the same verdict.
#ifndef MICROLEDGER_COMMON_BUNDLE_TEST_UTIL_H_
#define MICROLEDGER_COMMON_BUNDLE_TEST_UTIL_H_

#include "common/bundle.h"
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/merkle.h"
#include "common/test_chain.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"


namespace microledger {
namespace bundle_test {

struct TestAttachment {
  std::string seal;
  std::string name;
  std::string data;
};

inline std::string WriteBundle(absl::string_view ledger_id, const std::vector<Block>& blocks,
                        const std::vector<std::string>& checkpoints = {},
                        const std::vector<TestAttachment>& attachments = {}) {
  std::ostringstream out;
  BundleWriter writer(out);
  EXPECT_TRUE(writer.WriteHeader(ledger_id).ok());
  for (const Block& block : blocks) EXPECT_TRUE(writer.WriteBlock(block).ok());
  for (const std::string& note : checkpoints) {
    EXPECT_TRUE(writer.WriteCheckpoint(note).ok());
  }
  for (const TestAttachment& attachment : attachments) {
    EXPECT_TRUE(
        writer.WriteAttachment(attachment.seal, attachment.name, attachment.data).ok());
  }
  return out.str();
}

inline std::string BundleOf(const TestChain& chain) {
  return WriteBundle(chain.ledger_id(), chain.blocks());
}

inline BundleVerifyOptions Workers(int workers, size_t window_lines = 256) {
  BundleVerifyOptions options;
  options.workers = workers;
  options.window_lines = window_lines;
  return options;
}

// Serial verification, then parallel verification with several worker counts
// and windows (down to one line in flight), which must all agree.
inline const std::vector<BundleVerifyOptions>& AllModes() {
  static const auto* modes = new std::vector<BundleVerifyOptions>{
      Workers(1), Workers(0), Workers(2), Workers(2, 1), Workers(3, 2),
      Workers(4, 7)};
  return *modes;
}

// Test-only corpus hook: when the environment variable ML_BUNDLE_CORPUS_DIR
// names a directory, VerifyWith (with mlctl verify's options) writes each bundle it is given there, named by the
// lowercase hex SHA-256 of its bytes (so a bundle is written once however often
// it is verified). tests/web/verifier_agreement_test collects the bundles of
// every bundle test this way and compares the JavaScript verifier's verdict
// with `mlctl verify` on each.
inline void SaveToCorpus(const std::string& text) {
  const char* dir = std::getenv("ML_BUNDLE_CORPUS_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const std::string digest = Sha256(text);
  std::string name;
  for (const char byte : digest) {
    absl::StrAppend(&name, absl::Hex(static_cast<unsigned char>(byte), absl::kZeroPad2));
  }
  std::ofstream out(absl::StrCat(dir, "/", name), std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  EXPECT_TRUE(out.good()) << "cannot write the bundle corpus file " << name;
}

// The verdict line of the bundle `text` with `options`.
inline std::string VerifyWith(const std::string& text, const BundleVerifyOptions& options) {
  // What `mlctl verify FILE` does (it sets no witness policy by default).
  if (options.max_line_bytes == kDefaultMaxBundleLineBytes &&
      options.witness_policy == nullptr) {
    SaveToCorpus(text);
  }
  std::istringstream in(text);
  absl::StatusOr<BundleVerdict> verdict = VerifyBundle(in, nullptr, options);
  EXPECT_TRUE(verdict.ok()) << verdict.status();
  return verdict.ok() ? verdict->Line() : "";
}

// The verdict line of the bundle `text`, serially; every parallel mode must
// give the same line.
inline std::string Verify(const std::string& text) {
  const std::string serial = VerifyWith(text, Workers(1));
  for (const BundleVerifyOptions& options : AllModes()) {
    EXPECT_EQ(VerifyWith(text, options), serial)
        << "workers " << options.workers << ", window " << options.window_lines;
  }
  return serial;
}

// The lines of `text`, each without its "\n".
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// `lines`, each followed by "\n".
inline std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
  return text;
}

inline std::string OkLine(const TestChain& chain, size_t blocks) {
  return absl::StrCat("OK ", chain.ledger_id(), " ", blocks, " blocks");
}


}  // namespace bundle_test
}  // namespace microledger

#endif  // MICROLEDGER_COMMON_BUNDLE_TEST_UTIL_H_
