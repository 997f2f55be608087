// The offline `mlctl` commands (no agent, no host): canonicalise JSON, make a key
// pair, verify a bundle (SPEC §8/§9) and write a sample bundle. Each takes its
// streams as arguments and returns the process exit code, so tests call them
// directly and the binary's main only wires them to stdin/stdout/stderr.
#ifndef MICROLEDGER_TOOLS_OFFLINE_COMMANDS_H_
#define MICROLEDGER_TOOLS_OFFLINE_COMMANDS_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/bundle.h"
#include "common/cosignature.h"

namespace microledger {

// Exit codes shared by the commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitUsageOrInput = 2;

// JSON on `in`, its RFC 8785 bytes on `out`; bad input: one line on `err`, 2.
int RunCanonicalize(std::istream& in, std::ostream& out, std::ostream& err);

// A new Ed25519 key pair: the public key text on `out`, the secret seed
// ("u" + base64url, one line) to `secret_path`, created with mode 0600. An
// existing file is never overwritten.
int RunKeygen(const std::string& secret_path, std::ostream& out, std::ostream& err);

// SPEC §9: the verdict line on `out`, exit 0 (OK) or 1 (FAIL); 2 with one line
// on `err` and nothing on `out` when the file cannot be read. With
// `show_progress`, a progress line is rewritten on `err` while verifying. A
// line longer than `max_line_bytes` is a FAIL at its position (SPEC §8), read
// without being held. With a `witness_policy`, every checkpoint must be
// witnessed under it now, and one must come (SPEC §12; BundleVerifyOptions).
int RunVerify(const std::string& bundle_path, bool show_progress, std::ostream& out,
              std::ostream& err, size_t max_line_bytes = kDefaultMaxBundleLineBytes,
              std::shared_ptr<const WitnessPolicy> witness_policy = nullptr);

// Writes a valid bundle of `blocks` blocks (genesis, application events, one
// sealed attachment, a checkpoint) made with keys generated in this process.
int RunSample(uint64_t blocks, const std::string& out_path, std::ostream& out,
              std::ostream& err);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_OFFLINE_COMMANDS_H_
