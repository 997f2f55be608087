// Ledger bundles (SPEC §9): the JSON Lines export of one ledger, and their
// offline verification (SPEC §8), both streaming.
//
// A bundle is, line by line, each line the JCS of a one-member object:
//
//   {"bundle":{"format":"microledger-bundle-v1","ledger":"jlinx:u…"}}
//   {"block":{…}}                                       blocks 1..n
//   {"checkpoint":"<signed note>"}                      zero or more
//   {"attachment":{"data":"u…","name":"…","seal":"u…"}} zero or more
//
// BundleWriter writes those lines; VerifyBundle reads a bundle as a stream
// (memory: a bounded window of lines plus a LedgerVerifier, never the whole
// bundle) and returns the verdict that `mlctl verify` prints. Failure
// positions follow SPEC §8: a line that begins with {"block": is the k-th
// block line and any failure in it is at block k; any other failure is at
// block 0.
//
// Parallel verification: worker threads prepare the lines of a window ahead
// of the chain — everything that depends on one line alone: the line rules,
// JSON parse, canonical form, BlockFromJson (which checks the fingerprint) and
// the Ed25519 math of every signature (PreparedBlock, ledger_verifier.h). The
// calling thread then checks the lines in file order exactly as a serial
// verifier does — section order, header, the chain rules of each block
// (LedgerVerifier::AddPreparedBlock: which keys must have signed, their
// order, the threshold, the host key), checkpoints, attachments — and stops
// at the first line that fails. Every rule is applied to every line in the
// same order as serially, only some of them earlier and on another thread, so
// the verdict (the first failing line, its position and rule text), the
// progress calls and the read errors reported are the same for any number of
// workers.
//
// Thread-safety: a BundleWriter or BundleLineReader is used by one thread at a
// time; VerifyBundle is thread-safe given distinct streams.
#ifndef MICROLEDGER_COMMON_BUNDLE_H_
#define MICROLEDGER_COMMON_BUNDLE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/block.h"
#include "common/cosignature.h"
#include "common/ledger_verifier.h"

namespace microledger {

inline constexpr absl::string_view kBundleFormat = "microledger-bundle-v1";

// The longest line VerifyBundle reads by default. SPEC sets no line length;
// this bounds the verifier's memory (verifying a line costs about ten times
// its length). A line is one block or one attachment: a block is at most
// 64 KiB with the host's default limits, and an attachment line is its data
// in base64url (4/3 of it) plus its name and seal; 16 MiB holds an attachment
// of 12 MiB, twelve times the host's default --max_attachment_bytes, with
// room for its name. A longer line is a failure at its position (SPEC §8).
inline constexpr size_t kDefaultMaxBundleLineBytes = size_t{16} << 20;

// Writes a bundle to `out`, one JCS line plus "\n" per call, in call order.
// The caller makes the order valid: WriteHeader once, then the blocks from
// genesis, then checkpoints, then attachments. Each call returns an Unavailable
// error once `out` has failed. Strings passed in (ledger id, note, name) must
// be UTF-8, as JSON strings are.
class BundleWriter {
 public:
  explicit BundleWriter(std::ostream& out) : out_(out) {}

  // {"bundle":{"format":"microledger-bundle-v1","ledger":<ledger_id>}}
  absl::Status WriteHeader(absl::string_view ledger_id);
  // {"block":<SerializeBlock(block)>}
  absl::Status WriteBlock(const Block& block);
  // {"checkpoint":<signed note text>}
  absl::Status WriteCheckpoint(absl::string_view signed_note);
  // {"attachment":{"data":<multibase of data>,"name":<name>,"seal":<seal>}};
  // empty data is written "u".
  absl::Status WriteAttachment(absl::string_view seal, absl::string_view name,
                               absl::string_view data);

 private:
  absl::Status WriteLine(absl::string_view line);

  std::ostream& out_;
};

// Reads a stream line by line, holding one line at a time, and never more
// than `max_line_bytes` of it.
class BundleLineReader {
 public:
  explicit BundleLineReader(std::istream& in,
                            size_t max_line_bytes = kDefaultMaxBundleLineBytes);

  // Reads the next line, without its "\n", into `*line`. Returns true when a
  // line was read and false at the end of the input (the bytes after the last
  // "\n" form a last line only if there are any). A line longer than
  // max_line_bytes is read in pieces and not kept: `*line` holds its first
  // 16 bytes, the rest is skipped, and line_too_long() is true. Returns an
  // Unavailable error when the stream cannot be read (it was already failed,
  // or a read failed).
  absl::StatusOr<bool> Next(std::string* line);

  // Whether the line last read was longer than max_line_bytes (and cut).
  bool line_too_long() const { return line_too_long_; }
  size_t max_line_bytes() const { return max_line_bytes_; }
  // Whether the line last read ended in "\n"; only the last line can lack it.
  bool line_terminated() const { return line_terminated_; }
  // Lines and bytes ("\n" included) read so far.
  uint64_t lines_read() const { return lines_read_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  std::istream& in_;
  const size_t max_line_bytes_;
  std::vector<char> chunk_;  // Each line is read through it.
  bool line_too_long_ = false;
  bool line_terminated_ = false;
  uint64_t lines_read_ = 0;
  uint64_t bytes_read_ = 0;
};

// The outcome of verifying a bundle.
struct BundleVerdict {
  bool ok = false;
  // The ledger named by the header; empty if no valid header was read.
  std::string ledger;
  // The number of blocks verified (all of them when ok).
  uint64_t blocks = 0;
  // The first failure when !ok.
  VerifyFailure failure;

  // "OK <ledger> <n> blocks" or "FAIL block <k>: <rule>", without "\n".
  std::string Line() const;
};

// Progress callback of VerifyBundle: the number of blocks verified so far.
// Called after every kProgressBlockInterval-th block, and whenever another
// kProgressByteInterval bytes have been read (so that a bundle of large
// attachments shows progress too).
using BundleProgressFn = std::function<void(uint64_t blocks)>;
inline constexpr uint64_t kProgressBlockInterval = 1000;
inline constexpr uint64_t kProgressByteInterval = uint64_t{16} << 20;

// How VerifyBundle uses threads and memory; the verdict does not depend on it.
struct BundleVerifyOptions {
  // Worker threads preparing lines ahead; 0 means
  // std::thread::hardware_concurrency(). 1 verifies serially on the calling
  // thread, starting no thread.
  int workers = 0;
  // The window of lines read and not yet checked, with workers > 1: at most
  // this many lines, and this many bytes of them plus one line (so a line of
  // any length is verified). The workers take the window in batches of
  // window_lines / 8 lines (1 to 32).
  size_t window_lines = 256;
  size_t window_bytes = size_t{32} << 20;
  // The longest line read; a longer one fails at its position with the rule
  // "line: is longer than N bytes, ..." (its bytes are skipped, not held).
  size_t max_line_bytes = kDefaultMaxBundleLineBytes;
  // With a witness policy, every checkpoint must be witnessed under it at
  // `witness_time` (SPEC §12) and at least one must come; otherwise the
  // verdict fails at block 0 ("checkpoint: witnessed by 1 of 2 required
  // witnesses", "checkpoint: none, and the witness policy needs ...").
  std::shared_ptr<const WitnessPolicy> witness_policy;
  absl::Time witness_time;
};

// Applies SPEC §8 to the bundle read from `in` and stops at the first failure.
// Returns an error (Unavailable) only when `in` cannot be read before the first
// failing line; every problem with the bundle's content is a verdict with
// ok == false. `progress` may be empty; it is called on the calling thread.
absl::StatusOr<BundleVerdict> VerifyBundle(
    std::istream& in, const BundleProgressFn& progress = nullptr);
absl::StatusOr<BundleVerdict> VerifyBundle(std::istream& in,
                                           const BundleProgressFn& progress,
                                           const BundleVerifyOptions& options);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_BUNDLE_H_
