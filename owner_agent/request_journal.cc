#include "owner_agent/request_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestJournal>> RequestJournal::Open(const std::string& path,
                                                                     size_t max_entries) {
  std::unique_ptr<RequestJournal> journal(new RequestJournal(path, max_entries));
  absl::MutexLock lock(&journal->mu_);
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (text.ok()) {
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
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
  if (absl::Status s = journal->CompactLocked(); !s.ok()) return s;
  return journal;
}

RequestJournal::~RequestJournal() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) ::close(fd_);
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
  // The old file stays open for appending until the new one is in place and
  // open: a failed compaction leaves a working (longer) journal.
  if (absl::Status s = WriteFileAtomic(path_, text, /*sync=*/true); !s.ok()) return s;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", path_, ": ", strerror(errno)));
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  lines_in_file_ = order_.size();
  return absl::OkStatus();
}

absl::Status RequestJournal::Record(const std::string& ledger_id,
                                    const std::string& request_id,
                                    const RequestAttempt& attempt) {
  absl::MutexLock lock(&mu_);
  if (fd_ < 0) return absl::InternalError(absl::StrCat(path_, " is not open"));
  if (absl::Status s = WriteAll(fd_, Line(ledger_id, request_id, attempt), path_); !s.ok()) {
    return s;
  }
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
  if (fd_ < 0) return absl::InternalError(absl::StrCat(path_, " is not open"));
  if (!compaction_error_.ok()) return compaction_error_;
  if (::fdatasync(fd_) != 0) {
    return absl::InternalError(absl::StrCat("cannot sync ", path_, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace microledger
