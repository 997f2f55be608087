#include "common/bundle.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/json.h"

namespace microledger {
namespace {

// SPEC §8: a line that begins with these bytes is a block line.
constexpr absl::string_view kBlockLinePrefix = "{\"block\":";
constexpr absl::string_view kHeaderKind = "bundle";
constexpr absl::string_view kCheckpointKind = "checkpoint";
constexpr absl::string_view kAttachmentKind = "attachment";
// SPEC §1: a bundle line's wrapper object is not counted in the depth limit.
constexpr int kMaxLineDepth = kMaxJsonDepth + 1;

absl::Status Broke(absl::string_view rule, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(rule, ": ", detail));
}

std::string ToString(absl::string_view text) {
  return std::string(text.data(), text.size());
}

// The rules every line obeys (SPEC §9): not empty, no "\r", the JCS of an
// object with exactly one member. Returns that object.
absl::StatusOr<Json> ParseBundleLine(const std::string& line) {
  if (line.empty()) return Broke("line", "is empty");
  if (line.find('\r') != std::string::npos) {
    return Broke("line", "contains a carriage return");
  }
  absl::StatusOr<Json> json = ParseJson(line, kMaxLineDepth);
  if (!json.ok()) return Broke("json", json.status().message());
  if (CanonicalJson(*json) != line) {
    return Broke("canonical form",
                 "the line is not the JCS serialisation of its object");
  }
  if (!json->is_object() || json->size() != 1) {
    return Broke("bundle line",
                 "must be an object with exactly one member, naming its kind");
  }
  return json;
}

// Where the reading of a bundle has come to (SPEC §9 order).
enum class Section { kHeader, kBlocks, kCheckpoints, kAttachments };

// The line-by-line state of one VerifyBundle call.
class BundleVerification {
 public:
  // Checks the next line, number `line_number` (1-based). Returns false, with
  // the failure recorded, when the line breaks a rule.
  bool CheckLine(const std::string& line, uint64_t line_number);

  uint64_t blocks() const {
    return verifier_.has_value() ? verifier_->block_count() : 0;
  }

  // The verdict once the input has ended or a line has failed.
  BundleVerdict Verdict() const;

 private:
  // Records the failure and returns false.
  bool Fail(uint64_t block_position, const absl::Status& status,
            uint64_t line_number);
  absl::Status CheckBlockLine(const std::string& line);
  absl::Status CheckOtherLine(const std::string& line);
  absl::Status CheckHeader(const Json& header);
  absl::Status CheckCheckpoint(const Json& checkpoint);
  absl::Status CheckAttachment(const Json& attachment);

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

bool BundleVerification::CheckLine(const std::string& line,
                                   uint64_t line_number) {
  if (!absl::StartsWith(line, kBlockLinePrefix)) {
    absl::Status status = CheckOtherLine(line);
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
  absl::Status status = CheckBlockLine(line);
  return status.ok() || Fail(position, status, line_number);
}

absl::Status BundleVerification::CheckBlockLine(const std::string& line) {
  absl::StatusOr<Json> wrapper = ParseBundleLine(line);
  if (!wrapper.ok()) return wrapper.status();
  absl::StatusOr<Block> block =
      BlockFromJson(wrapper->begin().value(), SignatureStage::kComplete);
  if (!block.ok()) return block.status();
  return verifier_->AddBlock(*block);
}

absl::Status BundleVerification::CheckOtherLine(const std::string& line) {
  absl::StatusOr<Json> wrapper = ParseBundleLine(line);
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
               absl::StrCat("unknown kind \"", absl::string_view(kind).substr(0, 64),
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

absl::StatusOr<bool> BundleLineReader::Next(std::string* line) {
  const auto cannot_read = [] {
    return absl::UnavailableError("bundle: cannot read the bundle");
  };
  if (in_.bad() || (in_.fail() && !in_.eof())) return cannot_read();
  if (in_.eof()) return false;
  std::getline(in_, *line);
  if (in_.bad()) return cannot_read();
  // Nothing extracted: the input ended right after a "\n" (or was empty).
  if (in_.fail()) return false;
  line_terminated_ = !in_.eof();
  ++lines_read_;
  bytes_read_ += line->size() + (line_terminated_ ? 1 : 0);
  return true;
}

std::string BundleVerdict::Line() const {
  if (ok) return absl::StrCat("OK ", ledger, " ", blocks, " blocks");
  return absl::StrCat("FAIL block ", failure.block_position, ": ", failure.rule);
}

absl::StatusOr<BundleVerdict> VerifyBundle(std::istream& in,
                                           const BundleProgressFn& progress) {
  BundleLineReader reader(in);
  BundleVerification verification;
  uint64_t reported_bytes = 0;
  std::string line;
  while (true) {
    absl::StatusOr<bool> read = reader.Next(&line);
    if (!read.ok()) return read.status();
    if (!*read) break;
    const uint64_t blocks_before = verification.blocks();
    if (!verification.CheckLine(line, reader.lines_read())) break;
    if (!progress) continue;
    const uint64_t blocks = verification.blocks();
    const bool block_milestone =
        blocks != blocks_before && blocks % kProgressBlockInterval == 0;
    if (block_milestone ||
        reader.bytes_read() - reported_bytes >= kProgressByteInterval) {
      reported_bytes = reader.bytes_read();
      progress(blocks);
    }
  }
  return verification.Verdict();
}

}  // namespace microledger
