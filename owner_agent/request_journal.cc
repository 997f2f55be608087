#include "owner_agent/request_journal.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/json.h"
#include "serving/durable_file.h"
#include "serving/whole_file.h"

namespace microledger {
namespace {

std::string Line(const std::string& ledger_id, const std::string& request_id,
                 const RequestAttempt& attempt) {
  return Json::array({kRequestJournalFormat, ledger_id, request_id, attempt.number,
                      attempt.fingerprint})
             .dump() +
         "\n";
}

// The fields of a line of version 1: with the version first, or without it
// (written before formats were numbered).
std::optional<Json> VersionOneFields(absl::string_view line) {
  Json entry = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!entry.is_array()) return std::nullopt;
  if (entry.size() == 5) {
    if (!entry[0].is_number_unsigned() || entry[0].get<uint64_t>() != kRequestJournalFormat) {
      return std::nullopt;
    }
    entry.erase(0);
  }
  if (entry.size() != 4 || !entry[0].is_string() || !entry[1].is_string() ||
      !entry[2].is_number_unsigned() || !entry[3].is_string()) {
    return std::nullopt;
  }
  return entry;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestJournal>> RequestJournal::Open(const std::string& path,
                                                                     size_t max_entries) {
  std::unique_ptr<RequestJournal> journal(new RequestJournal(path, max_entries));
  absl::MutexLock lock(&journal->mu_);
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  size_t lines = 0;
  if (text.ok()) {
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      ++lines;
      std::optional<Json> entry = VersionOneFields(line);
      if (!entry.has_value()) {  // Torn by a crash in a write, or of another format.
        ++journal->unreadable_lines_;
        continue;
      }
      journal->RememberLocked(
          {(*entry)[0].get<std::string>(), (*entry)[1].get<std::string>()},
          RequestAttempt{(*entry)[2].get<uint64_t>(), (*entry)[3].get<std::string>()});
    }
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  // Rewritten only when it holds something to drop (lines evicted past
  // max_entries, unreadable lines, a last line without its newline): a
  // clean journal is not rewritten and fsynced at every start.
  const bool clean = text.ok() && journal->unreadable_lines_ == 0 &&
                     lines == journal->order_.size() &&
                     (text->empty() || text->back() == '\n');
  if (clean) {
    journal->lines_in_file_ = lines;
    if (absl::Status s = journal->OpenFileLocked(); !s.ok()) return s;
    return journal;
  }
  if (absl::Status s = journal->CompactLocked(); !s.ok()) return s;
  return journal;
}

absl::Status RequestJournal::OpenFileLocked() {
  absl::StatusOr<std::unique_ptr<AppendOnlyFile>> file = AppendOnlyFile::Open(path_);
  if (!file.ok()) return file.status();
  file_ = *std::move(file);
  return absl::OkStatus();
}

void RequestJournal::RememberLocked(Key key, RequestAttempt attempt) {
  attempts_[key].push_back(std::move(attempt));
  order_.push_back(std::move(key));
  while (order_.size() > max_entries_) {
    auto it = attempts_.find(order_.front());
    if (it != attempts_.end()) {
      it->second.erase(it->second.begin());
      if (it->second.empty()) attempts_.erase(it);
    }
    order_.pop_front();
  }
}

absl::Status RequestJournal::CompactLocked() {
  // Rebuilds the file in attempt order: order_ names each key once per
  // attempt, oldest first, which is also the order of the key's vector.
  absl::flat_hash_map<Key, size_t> written;
  std::string text;
  for (const Key& key : order_) {
    const RequestAttempt& attempt = attempts_.at(key)[written[key]++];
    text += Line(key.first, key.second, attempt);
  }
  // A failed rewrite leaves the old file in place and open: a working
  // (longer) journal. Once the rename is done the old file is gone, so it is
  // closed; a failed reopen is tried again by the next Record.
  if (absl::Status s = WriteFileAtomic(path_, text, /*sync=*/true); !s.ok()) return s;
  file_.reset();
  lines_in_file_ = order_.size();
  return OpenFileLocked();
}

absl::Status RequestJournal::Record(const std::string& ledger_id,
                                    const std::string& request_id,
                                    const RequestAttempt& attempt) {
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) {
    if (absl::Status s = OpenFileLocked(); !s.ok()) return s;
  }
  if (absl::Status s = file_->Append(Line(ledger_id, request_id, attempt)); !s.ok()) return s;
  ++lines_in_file_;
  RememberLocked({ledger_id, request_id}, attempt);
  // The attempt is recorded either way; a compaction that fails is tried
  // again at the next Record.
  if (lines_in_file_ > 2 * max_entries_) compaction_error_ = CompactLocked();
  return absl::OkStatus();
}

std::vector<RequestAttempt> RequestJournal::Attempts(const std::string& ledger_id,
                                                     const std::string& request_id) const {
  absl::MutexLock lock(&mu_);
  auto it = attempts_.find(Key{ledger_id, request_id});
  if (it == attempts_.end()) return {};
  return it->second;
}

absl::Status RequestJournal::Sync() {
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) return absl::InternalError(absl::StrCat(path_, " is not open"));
  if (!compaction_error_.ok()) return compaction_error_;
  return file_->Sync();
}

}  // namespace microledger
