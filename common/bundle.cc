#include "common/bundle.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/json.h"
#include "common/ordered_work_pool.h"

namespace microledger {
namespace {

// SPEC §8: a line that begins with these bytes is a block line.
constexpr absl::string_view kBlockLinePrefix = "{\"block\":";
constexpr absl::string_view kBlockKind = "block";
constexpr absl::string_view kHeaderKind = "bundle";
constexpr absl::string_view kCheckpointKind = "checkpoint";
constexpr absl::string_view kAttachmentKind = "attachment";
// SPEC §1: a bundle line's wrapper object is not counted in the depth limit.
constexpr int kMaxLineDepth = kMaxJsonDepth + 1;
// BundleLineReader reads a line this many bytes at a time at most.
constexpr size_t kReadChunkBytes = size_t{64} << 10;
// Of a line longer than the limit, the reader keeps this many first bytes.
constexpr size_t kTooLongLineKeptBytes = 16;

absl::Status Broke(absl::string_view rule, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(rule, ": ", detail));
}

std::string ToString(absl::string_view text) {
  return std::string(text.data(), text.size());
}

// Whether `line` is the JCS of `wrapper`. The JCS of a one-member object
// {"block":…} is its name, then the block's JCS: that comes from BlockJcs,
// which also yields the JCS of the block's body, into `*block_body`.
bool IsCanonicalLine(const Json& wrapper, const std::string& line,
                     std::string* block_body) {
  if (!wrapper.is_object() || wrapper.size() != 1 ||
      wrapper.begin().key() != kBlockKind) {
    return CanonicalJson(wrapper) == line;
  }
  CanonicalJsonSplit block = BlockJcs(wrapper.begin().value());
  *block_body = std::move(block.without);
  absl::string_view text = line;
  return absl::ConsumePrefix(&text, kBlockLinePrefix) &&
         absl::ConsumeSuffix(&text, "}") && text == block.whole;
}

// The rules every line obeys (SPEC §9): not empty, no "\r", the JCS of an
// object with exactly one member. Returns that object; for a block line also
// the JCS of the block's body, in `*block_body`.
absl::StatusOr<Json> ParseBundleLine(const std::string& line,
                                     std::string* block_body) {
  if (line.empty()) return Broke("line", "is empty");
  if (line.find('\r') != std::string::npos) {
    return Broke("line", "contains a carriage return");
  }
  absl::StatusOr<Json> json = ParseJson(line, kMaxLineDepth);
  if (!json.ok()) return Broke("json", json.status().message());
  if (!IsCanonicalLine(*json, line, block_body)) {
    return Broke("canonical form",
                 "the line is not the JCS serialisation of its object");
  }
  if (!json->is_object() || json->size() != 1) {
    return Broke("bundle line",
                 "must be an object with exactly one member, naming its kind");
  }
  return json;
}

// One line of a bundle, with what can be checked of it without the lines
// before it (PrepareBundleLine: pure, run on any thread).
struct BundleLine {
  std::string text;
  uint64_t number = 0;      // 1-based line number.
  uint64_t bytes_read = 0;  // Bytes read up to the end of this line.
  bool too_long = false;    // Longer than the reader's limit; `text` is cut.
  // Set by PrepareBundleLine:
  bool is_block = false;  // SPEC §8: begins with {"block":
  absl::StatusOr<Json> wrapper;          // ParseBundleLine, other lines.
  absl::StatusOr<PreparedBlock> block;   // Block lines: ParseBundleLine, then
                                         // PreparedBlock::FromJson.
};

void PrepareBundleLine(BundleLine& line, size_t max_line_bytes) {
  line.is_block = absl::StartsWith(line.text, kBlockLinePrefix);
  if (line.too_long) {
    const absl::Status too_long = Broke(
        "line", absl::StrCat("is longer than ", max_line_bytes,
                             " bytes, the longest this verifier reads "
                             "(mlctl verify --max_line_bytes)"));
    if (line.is_block) {
      line.block = too_long;
    } else {
      line.wrapper = too_long;
    }
    return;
  }
  std::string block_body;
  absl::StatusOr<Json> wrapper = ParseBundleLine(line.text, &block_body);
  if (!line.is_block) {
    line.wrapper = std::move(wrapper);
  } else if (!wrapper.ok()) {
    line.block = wrapper.status();
  } else {
    line.block =
        PreparedBlock::FromJson(std::move(wrapper->begin().value()), block_body);
  }
}

// Where the reading of a bundle has come to (SPEC §9 order).
enum class Section { kHeader, kBlocks, kCheckpoints, kAttachments };

// The line-by-line state of one VerifyBundle call.
class BundleVerification {
 public:
  // `witness_policy` may be null: checkpoints need no cosignatures.
  BundleVerification(const WitnessPolicy* witness_policy, absl::Time witness_time)
      : witness_policy_(witness_policy), witness_time_(witness_time) {}

  // Checks the next line, prepared by PrepareBundleLine: the rules that
  // depend on the lines before it, in the order of a serial check. Returns
  // false, with the failure recorded, when the line breaks a rule.
  bool CheckLine(const BundleLine& line);

  uint64_t blocks() const {
    return verifier_.has_value() ? verifier_->block_count() : 0;
  }

  // The verdict once the input has ended or a line has failed.
  BundleVerdict Verdict() const;

 private:
  // Records the failure and returns false.
  bool Fail(uint64_t block_position, const absl::Status& status,
            uint64_t line_number);
  absl::Status CheckOtherLine(const absl::StatusOr<Json>& wrapper);
  absl::Status CheckHeader(const Json& header);
  absl::Status CheckCheckpoint(const Json& checkpoint);
  absl::Status CheckAttachment(const Json& attachment);

  const WitnessPolicy* const witness_policy_;
  const absl::Time witness_time_;
  Section section_ = Section::kHeader;
  std::optional<LedgerVerifier> verifier_;  // Set by the header.
  std::optional<VerifyFailure> failure_;
};

bool BundleVerification::Fail(uint64_t block_position, const absl::Status& status,
                              uint64_t line_number) {
  std::string rule = FailureRule(status);
  // A block line is found by its position; any other line by its number.
  if (block_position == 0) absl::StrAppend(&rule, " (line ", line_number, ")");
  failure_ = VerifyFailure{block_position, std::move(rule)};
  return false;
}

bool BundleVerification::CheckLine(const BundleLine& line) {
  const uint64_t line_number = line.number;
  if (!line.is_block) {
    absl::Status status = CheckOtherLine(line.wrapper);
    return status.ok() || Fail(0, status, line_number);
  }
  switch (section_) {
    case Section::kHeader:
      return Fail(0, Broke("header", "the bundle must begin with its header"),
                  line_number);
    case Section::kCheckpoints:
      return Fail(0, Broke("line order", "a block after a checkpoint"),
                  line_number);
    case Section::kAttachments:
      return Fail(0, Broke("line order", "a block after an attachment"),
                  line_number);
    case Section::kBlocks:
      break;
  }
  const uint64_t position = verifier_->block_count() + 1;
  // The line rules, JSON, canonical form, block form and fingerprint were
  // checked by PrepareBundleLine; the chain rules are checked here.
  absl::Status status = line.block.ok()
                            ? verifier_->AddPreparedBlock(*line.block)
                            : line.block.status();
  return status.ok() || Fail(position, status, line_number);
}

absl::Status BundleVerification::CheckOtherLine(
    const absl::StatusOr<Json>& wrapper) {
  if (!wrapper.ok()) return wrapper.status();
  const std::string& kind = wrapper->begin().key();
  const Json& value = wrapper->begin().value();
  if (kind == kHeaderKind) {
    if (section_ != Section::kHeader) {
      return Broke("header", "appears more than once");
    }
    return CheckHeader(value);
  }
  if (section_ == Section::kHeader) {
    return Broke("header", "the bundle must begin with its header");
  }
  if (kind == kCheckpointKind) {
    if (section_ == Section::kAttachments) {
      return Broke("line order", "a checkpoint after an attachment");
    }
    section_ = Section::kCheckpoints;
    return CheckCheckpoint(value);
  }
  if (kind == kAttachmentKind) {
    section_ = Section::kAttachments;
    return CheckAttachment(value);
  }
  return Broke("bundle line",
               absl::StrCat("unknown kind \"", QuoteForError(kind),
                            "\""));
}

absl::Status BundleVerification::CheckHeader(const Json& header) {
  if (!header.is_object() || header.size() != 2 || !header.contains("format") ||
      !header.contains("ledger")) {
    return Broke("header",
                 "must be an object with exactly the members format and ledger");
  }
  const Json& format = header["format"];
  if (!format.is_string() || format.get_ref<const std::string&>() != kBundleFormat) {
    return Broke("header", absl::StrCat("format must be \"", kBundleFormat, "\""));
  }
  const Json& ledger = header["ledger"];
  if (!ledger.is_string()) return Broke("header", "ledger must be a ledger id");
  const std::string& ledger_id = ledger.get_ref<const std::string&>();
  if (absl::StatusOr<std::string> key = PublicKeyTextFromLedgerId(ledger_id);
      !key.ok()) {
    return Broke("header", absl::StrCat("ledger: ", key.status().message()));
  }
  verifier_.emplace(ledger_id);
  if (witness_policy_ != nullptr) {
    verifier_->RequireWitnesses(*witness_policy_, witness_time_);
  }
  section_ = Section::kBlocks;
  return absl::OkStatus();
}

absl::Status BundleVerification::CheckCheckpoint(const Json& checkpoint) {
  if (!checkpoint.is_string()) {
    return Broke("checkpoint", "must be a string holding the signed note");
  }
  return verifier_->AddCheckpoint(checkpoint.get_ref<const std::string&>());
}

absl::Status BundleVerification::CheckAttachment(const Json& attachment) {
  if (!attachment.is_object() || attachment.size() != 3) {
    return Broke("attachment",
                 "must be an object with exactly the members seal, name and data");
  }
  for (const char* member : {"seal", "name", "data"}) {
    auto it = attachment.find(member);
    if (it == attachment.end() || !it->is_string()) {
      return Broke("attachment", "must be an object with exactly the string "
                                 "members seal, name and data");
    }
  }
  absl::StatusOr<std::string> data =
      DecodeMultibase(attachment["data"].get_ref<const std::string&>());
  if (!data.ok()) {
    return Broke("attachment", absl::StrCat("data: ", data.status().message()));
  }
  return verifier_->AddAttachment(attachment["seal"].get_ref<const std::string&>(),
                                  *data);
}

BundleVerdict BundleVerification::Verdict() const {
  BundleVerdict verdict;
  if (verifier_.has_value()) verdict.ledger = verifier_->ledger_id();
  verdict.blocks = blocks();
  if (failure_.has_value()) {
    verdict.failure = *failure_;
  } else if (section_ == Section::kHeader) {
    verdict.failure = VerifyFailure{
        0, "header: the bundle is empty; it must begin with its header"};
  } else if (absl::Status witnessed = verifier_->CheckWitnessedCheckpointSeen();
             !witnessed.ok()) {
    verdict.failure = VerifyFailure{0, FailureRule(witnessed)};
  } else {
    verdict.ok = true;
  }
  return verdict;
}

}  // namespace

absl::Status BundleWriter::WriteLine(absl::string_view line) {
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.put('\n');
  if (!out_) return absl::UnavailableError("bundle: cannot write the bundle");
  return absl::OkStatus();
}

absl::Status BundleWriter::WriteHeader(absl::string_view ledger_id) {
  const Json header = {{ToString(kHeaderKind),
                        {{"format", ToString(kBundleFormat)},
                         {"ledger", ToString(ledger_id)}}}};
  return WriteLine(CanonicalJson(header));
}

absl::Status BundleWriter::WriteBlock(const Block& block) {
  // The JCS of a one-member object is its name, then the member's JCS.
  return WriteLine(absl::StrCat(kBlockLinePrefix, SerializeBlock(block), "}"));
}

absl::Status BundleWriter::WriteCheckpoint(absl::string_view signed_note) {
  const Json checkpoint = {{ToString(kCheckpointKind), ToString(signed_note)}};
  return WriteLine(CanonicalJson(checkpoint));
}

absl::Status BundleWriter::WriteAttachment(absl::string_view seal,
                                           absl::string_view name,
                                           absl::string_view data) {
  const Json attachment = {{ToString(kAttachmentKind),
                            {{"seal", ToString(seal)},
                             {"name", ToString(name)},
                             {"data", EncodeMultibase(data)}}}};
  return WriteLine(CanonicalJson(attachment));
}

BundleLineReader::BundleLineReader(std::istream& in, size_t max_line_bytes)
    : in_(in),
      max_line_bytes_(std::max<size_t>(max_line_bytes, 1)),
      chunk_(std::min<size_t>(max_line_bytes_, kReadChunkBytes) + 1) {}

absl::StatusOr<bool> BundleLineReader::Next(std::string* line) {
  const auto cannot_read = [] {
    return absl::UnavailableError("bundle: cannot read the bundle");
  };
  if (in_.bad() || (in_.fail() && !in_.eof())) return cannot_read();
  if (in_.eof()) return false;
  line->clear();
  line_too_long_ = false;
  bool terminated = false;
  uint64_t consumed = 0;  // Bytes taken from the stream, "\n" included.
  const auto keep = [&](size_t count) {
    if (line->size() + count <= max_line_bytes_) {
      line->append(chunk_.data(), count);
      return;
    }
    // Too long: keep what tells a block line (SPEC §8), skip the rest.
    line_too_long_ = true;
    line->append(chunk_.data(), std::min(count, kTooLongLineKeptBytes));
    line->resize(std::min(line->size(), kTooLongLineKeptBytes));
    line->shrink_to_fit();
  };
  while (true) {
    // Stops after "\n", at the end of the input, or with the chunk full
    // (failbit set, no "\n" taken).
    in_.getline(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
    if (in_.bad()) return cannot_read();
    const size_t got = static_cast<size_t>(in_.gcount());
    consumed += got;
    if (in_.eof()) {
      keep(got);
      break;
    }
    if (!in_.fail()) {
      keep(got - 1);  // Without the "\n".
      terminated = true;
      break;
    }
    in_.clear();
    keep(got);
    if (line_too_long_) {
      in_.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
      if (in_.bad()) return cannot_read();
      consumed += static_cast<uint64_t>(in_.gcount());
      terminated = !in_.eof();
      break;
    }
  }
  // Nothing extracted: the input ended right after a "\n" (or was empty).
  if (consumed == 0) return false;
  line_terminated_ = terminated;
  ++lines_read_;
  bytes_read_ += consumed;
  return true;
}

std::string BundleVerdict::Line() const {
  if (ok) return absl::StrCat("OK ", ledger, " ", blocks, " blocks");
  return absl::StrCat("FAIL block ", failure.block_position, ": ", failure.rule);
}

absl::StatusOr<BundleVerdict> VerifyBundle(std::istream& in,
                                           const BundleProgressFn& progress) {
  return VerifyBundle(in, progress, BundleVerifyOptions());
}

absl::StatusOr<BundleVerdict> VerifyBundle(std::istream& in,
                                           const BundleProgressFn& progress,
                                           const BundleVerifyOptions& options) {
  int workers = options.workers;
  if (workers <= 0) workers = static_cast<int>(std::thread::hardware_concurrency());
  if (workers <= 0) workers = 1;

  BundleLineReader reader(in, options.max_line_bytes);
  const size_t max_line_bytes = reader.max_line_bytes();
  BundleVerification verification(options.witness_policy.get(),
                                  options.witness_time);
  uint64_t reported_bytes = 0;
  // Checks the next line in file order and reports progress; false once
  // verification has failed.
  const auto check = [&](const BundleLine& line) {
    const uint64_t blocks_before = verification.blocks();
    if (!verification.CheckLine(line)) return false;
    if (!progress) return true;
    const uint64_t blocks = verification.blocks();
    const bool block_milestone =
        blocks != blocks_before && blocks % kProgressBlockInterval == 0;
    if (block_milestone || line.bytes_read - reported_bytes >= kProgressByteInterval) {
      reported_bytes = line.bytes_read;
      progress(blocks);
    }
    return true;
  };
  // Reads the next line into `*line`; false at the end of the input.
  const auto read_line = [&reader](BundleLine* line) -> absl::StatusOr<bool> {
    absl::StatusOr<bool> got = reader.Next(&line->text);
    if (!got.ok() || !*got) return got;
    line->number = reader.lines_read();
    line->bytes_read = reader.bytes_read();
    line->too_long = reader.line_too_long();
    return true;
  };

  if (workers == 1) {
    BundleLine line;
    while (true) {
      absl::StatusOr<bool> more = read_line(&line);
      if (!more.ok()) return more.status();
      if (!*more) break;
      PrepareBundleLine(line, max_line_bytes);
      if (!check(line)) break;
    }
    return verification.Verdict();
  }

  // Lines read and not yet checked, oldest first, in batches: a task of
  // `pool` prepares one batch, so that the threads meet once per batch, not
  // once per line. `pool` is declared after `window` so that it is destroyed
  // (its running tasks finished) before the lines they use.
  struct LineBatch {
    std::vector<BundleLine> lines;
    size_t bytes = 0;
  };
  const size_t max_lines = std::max<size_t>(options.window_lines, 1);
  const size_t max_bytes = std::max<size_t>(options.window_bytes, 1);
  // About eight batches in the window, so that every worker has some.
  const size_t batch_lines = std::clamp<size_t>(max_lines / 8, 1, 32);
  const size_t batch_bytes = std::max<size_t>(max_bytes / 8, 1);
  std::deque<std::unique_ptr<LineBatch>> window;
  size_t window_lines = 0;
  size_t window_bytes = 0;
  OrderedWorkPool pool(workers);
  absl::Status read_status;
  bool input_done = false;
  while (true) {
    // Read ahead while the window has room (at least one line in flight).
    while (!input_done && (window_lines == 0 || (window_lines < max_lines &&
                                                 window_bytes < max_bytes))) {
      auto batch = std::make_unique<LineBatch>();
      batch->lines.reserve(batch_lines);
      while (batch->lines.size() < batch_lines && batch->bytes < batch_bytes &&
             (window_lines + batch->lines.size() == 0 ||
              (window_lines + batch->lines.size() < max_lines &&
               window_bytes + batch->bytes < max_bytes))) {
        BundleLine& line = batch->lines.emplace_back();
        absl::StatusOr<bool> more = read_line(&line);
        if (!more.ok() || !*more) {
          // A read error counts only if every line before it passes, as
          // when verifying serially.
          if (!more.ok()) read_status = more.status();
          batch->lines.pop_back();
          input_done = true;
          break;
        }
        batch->bytes += line.text.size();
      }
      if (batch->lines.empty()) break;
      window_lines += batch->lines.size();
      window_bytes += batch->bytes;
      LineBatch* raw = batch.get();
      window.push_back(std::move(batch));
      pool.Submit([raw, max_line_bytes] {
        for (BundleLine& line : raw->lines) PrepareBundleLine(line, max_line_bytes);
      });
    }
    if (window.empty()) break;
    pool.RetireOldest();
    const std::unique_ptr<LineBatch> batch = std::move(window.front());
    window.pop_front();
    window_lines -= batch->lines.size();
    window_bytes -= batch->bytes;
    for (const BundleLine& line : batch->lines) {
      if (!check(line)) return verification.Verdict();
    }
  }
  if (!read_status.ok()) return read_status;
  return verification.Verdict();
}

}  // namespace microledger
