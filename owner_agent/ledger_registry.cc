#include "owner_agent/ledger_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string_view>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/error_text.h"
#include "common/json.h"
#include "common/timestamp.h"
#include "serving/durable_file.h"
#include "serving/log.h"
#include "serving/whole_file.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string Get(const Json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

Json EvidenceToJson(const EvidenceRecord& e) {
  return Json{{"ledger", e.ledger_id},
              {"host", e.host_address},
              {"kind", e.kind},
              {"held checkpoint", e.held_checkpoint},
              {"served checkpoint", e.served_checkpoint},
              {"detail", e.detail},
              {"detected", e.detected_unix_millis},
              {"evidence object", EncodeBase64Url(e.evidence_object)},
              {"evidence id", e.evidence_id}};
}

}  // namespace

namespace {

Json LedgerRecordJson(const LedgerRecord& r) {
  Json controllers{{"threshold", r.state.controllers.threshold},
                   {"keys", r.state.controllers.keys}};
  Json json{{"format", kLedgerRecordFormat},
            {"ledger", r.ledger_id},
            {"host", r.host_address},
            {"token", EncodeBase64Url(r.ledger_token)},
            {"document type", r.document_type},
            {"original id", r.original_id},
            {"moved to", r.moved_to},
            {"head number", r.state.head_number},
            {"head fingerprint", r.state.head_fingerprint},
            {"head time", r.state.head_time_millis},
            {"controllers", controllers},
            {"terminal event", r.state.terminal_event},
            {"checkpoint", r.checkpoint},
            {"frontier", EncodeBase64Url(r.frontier)},
            {"previous frontier", EncodeBase64Url(r.previous_frontier)},
            {"equivocation", r.equivocation},
            {"evidence id", r.evidence_id},
            {"move host", r.move_host},
            {"move new id", r.move_new_id},
            {"move token", EncodeBase64Url(r.move_token)},
            {"move new key", r.move_new_key},
            {"move block", r.move_block_fingerprint}};
  return json;
}

}  // namespace

std::string LedgerRecordToJson(const LedgerRecord& r) { return LedgerRecordJson(r).dump(1); }

std::string LedgerRecordToLine(const LedgerRecord& r) {
  std::string out;
  out.reserve(1024 + r.checkpoint.size() + 2 * (r.frontier.size() + r.previous_frontier.size()));
  auto member = [&out](absl::string_view name, bool first = false) {
    if (!first) out.push_back(',');
    out.push_back('"');
    out.append(name.data(), name.size());
    out.append("\":");
  };
  auto string_member = [&](absl::string_view name, std::string_view value) {
    member(name);
    AppendQuoted(value, &out);
  };
  // The members in nlohmann::json's order (its objects are sorted by name).
  out.push_back('{');
  member("checkpoint", /*first=*/true);
  AppendQuoted(r.checkpoint, &out);
  member("controllers");
  out.append("{\"keys\":[");
  for (size_t i = 0; i < r.state.controllers.keys.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendQuoted(r.state.controllers.keys[i], &out);
  }
  absl::StrAppend(&out, "],\"threshold\":", r.state.controllers.threshold, "}");
  string_member("document type", r.document_type);
  member("equivocation");
  out.append(r.equivocation ? "true" : "false");
  string_member("evidence id", r.evidence_id);
  member("format");
  absl::StrAppend(&out, kLedgerRecordFormat);
  string_member("frontier", EncodeBase64Url(r.frontier));
  string_member("head fingerprint", r.state.head_fingerprint);
  member("head number");
  absl::StrAppend(&out, r.state.head_number);
  member("head time");
  absl::StrAppend(&out, r.state.head_time_millis);
  string_member("host", r.host_address);
  string_member("ledger", r.ledger_id);
  string_member("move block", r.move_block_fingerprint);
  string_member("move host", r.move_host);
  string_member("move new id", r.move_new_id);
  string_member("move new key", r.move_new_key);
  string_member("move token", EncodeBase64Url(r.move_token));
  string_member("moved to", r.moved_to);
  string_member("original id", r.original_id);
  string_member("previous frontier", EncodeBase64Url(r.previous_frontier));
  string_member("terminal event", r.state.terminal_event);
  string_member("token", EncodeBase64Url(r.ledger_token));
  out.push_back('}');
  return out;
}

absl::StatusOr<LedgerRecord> LedgerRecordFromJson(const std::string& text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::DataLossError("ledger record is not JSON");
  // Records written before formats were numbered are version 1.
  const Json& format = json.value("format", Json(kLedgerRecordFormat));
  if (!format.is_number_unsigned() || format.get<uint64_t>() != kLedgerRecordFormat) {
    return absl::DataLossError(
        absl::StrCat("ledger record: not of format version ", kLedgerRecordFormat));
  }
  LedgerRecord r;
  r.ledger_id = Get(json, "ledger");
  r.host_address = Get(json, "host");
  absl::StatusOr<std::string> token = DecodeBase64Url(Get(json, "token"));
  absl::StatusOr<std::string> frontier = DecodeBase64Url(Get(json, "frontier"));
  absl::StatusOr<std::string> move_token = DecodeBase64Url(Get(json, "move token"));
  absl::StatusOr<std::string> previous_frontier =
      DecodeBase64Url(Get(json, "previous frontier"));
  if (!token.ok() || !frontier.ok() || !move_token.ok() || !previous_frontier.ok() ||
      r.ledger_id.empty()) {
    return absl::DataLossError("ledger record: bad field");
  }
  r.ledger_token = *token;
  r.frontier = *frontier;
  r.previous_frontier = *previous_frontier;
  r.move_token = *move_token;
  r.document_type = Get(json, "document type");
  r.original_id = Get(json, "original id");
  r.moved_to = Get(json, "moved to");
  r.state.ledger = r.ledger_id;
  const Json& head_number = json.value("head number", Json());
  const Json& head_time = json.value("head time", Json());
  if (!head_number.is_number_unsigned() || !head_time.is_number_integer()) {
    return absl::DataLossError("ledger record: bad head");
  }
  r.state.head_number = head_number.get<uint64_t>();
  r.state.head_fingerprint = Get(json, "head fingerprint");
  r.state.head_time_millis = head_time.get<int64_t>();
  const Json& controllers = json.value("controllers", Json());
  if (controllers.is_object() && controllers.contains("threshold")) {
    const Json& threshold = controllers["threshold"];
    const Json& keys = controllers.value("keys", Json());
    if (!threshold.is_number_unsigned() || !keys.is_array()) {
      return absl::DataLossError("ledger record: bad controllers");
    }
    r.state.controllers.threshold = threshold.get<int>();
    for (const Json& key : keys) {
      if (!key.is_string()) return absl::DataLossError("ledger record: bad controllers");
      r.state.controllers.keys.push_back(key.get<std::string>());
    }
  }
  r.state.terminal_event = Get(json, "terminal event");
  r.checkpoint = Get(json, "checkpoint");
  const Json& equivocation = json.value("equivocation", Json(false));
  if (!equivocation.is_boolean()) return absl::DataLossError("ledger record: bad equivocation");
  r.equivocation = equivocation.get<bool>();
  r.evidence_id = Get(json, "evidence id");
  r.move_host = Get(json, "move host");
  r.move_new_id = Get(json, "move new id");
  r.move_new_key = Get(json, "move new key");
  r.move_block_fingerprint = Get(json, "move block");
  return r;
}

absl::StatusOr<std::unique_ptr<LedgerRegistry>> LedgerRegistry::Open(
    const std::string& dir) {
  std::error_code error;
  for (const std::string& sub :
       {dir, dir + "/ledgers", dir + "/evidence", dir + "/quarantine"}) {
    fs::create_directories(sub, error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", sub, ": ", error.message()));
    }
    ::chmod(sub.c_str(), 0700);
  }
  return std::unique_ptr<LedgerRegistry>(new LedgerRegistry(dir));
}

std::string LedgerRegistry::RecordPath(const std::string& ledger_id) const {
  return absl::StrCat(dir_, "/ledgers/", Hex(Sha256(ledger_id)), ".json");
}

absl::Status LedgerRegistry::NoteWrite(absl::Status status, absl::string_view what) const {
  if (status.ok()) return status;
  if (Counter* failures = write_failures_.load(std::memory_order_acquire); failures != nullptr) {
    failures->Increment();
  }
  // Registry paths name a ledger only by the SHA-256 of its id.
  Log(LogLevel::kError, "registry_write_failed",
      absl::StrCat("the ledger registry could not ", what, ": ", status.message()),
      {{"write", what}, {"code", absl::StatusCodeToString(status.code())}});
  return status;
}

absl::Status LedgerRegistry::Save(const LedgerRecord& record, bool sync) {
  return NoteWrite(WriteFileAtomic(RecordPath(record.ledger_id), LedgerRecordToJson(record), sync),
                   "save a ledger record");
}

absl::Status LedgerRegistry::Remove(const std::string& ledger_id) {
  const std::string path = RecordPath(ledger_id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("cannot remove ", path, ": ", strerror(errno)));
  }
  return SyncDirectory(dir_ + "/ledgers");
}

std::string LedgerRegistry::HeadLogPath(uint64_t rotation) const {
  return rotation == 0 ? absl::StrCat(dir_, "/heads.log")
                       : absl::StrCat(dir_, "/heads.", rotation, ".log");
}

absl::Status LedgerRegistry::OpenHeadLogLocked() {
  absl::StatusOr<std::unique_ptr<AppendOnlyFile>> log = AppendOnlyFile::Open(HeadLogPath(0));
  if (!log.ok()) return log.status();
  head_log_ = *std::move(log);
  head_log_lines_ = 0;
  return absl::OkStatus();
}

absl::Status LedgerRegistry::AppendHead(const LedgerRecord& record, bool sync) {
  const std::string line = LedgerRecordToLine(record) + "\n";
  absl::MutexLock lock(&head_log_mu_);
  if (!head_log_started_) return absl::FailedPreconditionError("the head log is not open");
  if (head_log_ == nullptr) {
    // A rotation could not reopen it: try again now.
    if (absl::Status s = OpenHeadLogLocked(); !s.ok()) return NoteWrite(s, "append a head");
  }
  if (absl::Status s = head_log_->Append(line); !s.ok()) return NoteWrite(s, "append a head");
  ++head_log_lines_;
  return sync ? NoteWrite(head_log_->Sync(), "sync the head log") : absl::OkStatus();
}

absl::StatusOr<uint64_t> LedgerRegistry::RotateHeadLog() {
  absl::MutexLock lock(&head_log_mu_);
  if (!head_log_started_) return absl::FailedPreconditionError("the head log is not open");
  if (head_log_ == nullptr) {
    if (absl::Status s = OpenHeadLogLocked(); !s.ok()) return s;
  }
  if (head_log_lines_ == 0) return head_log_rotation_;
  const std::string rotated = HeadLogPath(head_log_rotation_ + 1);
  if (::rename(HeadLogPath(0).c_str(), rotated.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rotate the head log: ", strerror(errno)));
  }
  ++head_log_rotation_;
  head_log_.reset();
  // On failure the next AppendHead or rotation opens it again; the rotated
  // log is not dropped, since this rotation reports an error.
  if (absl::Status s = OpenHeadLogLocked(); !s.ok()) return s;
  return head_log_rotation_;
}

absl::Status LedgerRegistry::DropHeadLogs(uint64_t rotation) {
  absl::MutexLock lock(&head_log_mu_);
  for (; head_log_dropped_ < rotation; ++head_log_dropped_) {
    const std::string path = HeadLogPath(head_log_dropped_ + 1);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat("cannot remove ", path, ": ", strerror(errno)));
    }
  }
  return SyncDirectory(dir_);
}

absl::Status LedgerRegistry::ReplayHeadLogs(Recovered& recovered) {
  // Rotated logs (oldest first), then the current one: a line is a whole
  // record, newer than the saved record when its head is higher.
  std::vector<std::pair<uint64_t, std::string>> logs;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    uint64_t rotation = 0;
    if (name == "heads.log" ||
        (absl::StartsWith(name, "heads.") && absl::EndsWith(name, ".log") &&
         absl::SimpleAtoi(name.substr(6, name.size() - 10), &rotation) && rotation > 0)) {
      logs.emplace_back(name == "heads.log" ? UINT64_MAX : rotation, entry.path().string());
    }
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list ", dir_));
  std::sort(logs.begin(), logs.end());
  // Per ledger, the log line with the highest head (the first of equals).
  absl::flat_hash_map<std::string, LedgerRecord> newest;
  for (const auto& [rotation, path] : logs) {
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) return text.status();
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      absl::StatusOr<LedgerRecord> record = LedgerRecordFromJson(std::string(line));
      if (!record.ok()) {  // Torn by a crash, or of another format.
        ++recovered.unreadable_head_lines;
        continue;
      }
      auto [it, inserted] = newest.try_emplace(record->ledger_id);
      if (inserted || record->state.head_number > it->second.state.head_number) {
        it->second = *std::move(record);
      }
    }
  }
  for (const auto& [id, logged] : newest) {
    absl::StatusOr<LedgerRecord> saved = Load(id);
    if (!saved.ok() && !absl::IsNotFound(saved.status())) return saved.status();
    if (saved.ok() && saved->state.head_number >= logged.state.head_number) continue;
    if (absl::Status s = Save(logged, /*sync=*/true); !s.ok()) return s;
    if (!saved.ok()) ++recovered.records;
  }
  for (const auto& [rotation, path] : logs) ::unlink(path.c_str());
  if (absl::Status s = SyncDirectory(dir_); !s.ok()) return s;
  absl::MutexLock lock(&head_log_mu_);
  head_log_.reset();
  head_log_rotation_ = head_log_dropped_ = 0;
  head_log_started_ = true;
  return OpenHeadLogLocked();
}

namespace {

// Threads that read and parse the record files at start: parsing JSON is
// most of the start of an agent with many ledgers.
int LoadThreads() {
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 8);
}

bool IsRecordFileName(const std::string& name) {
  return absl::EndsWith(name, ".json") && !absl::StrContains(name, ".json.tmp");
}

// A record file's contents: its record, or why it is damaged. NotFound
// (from ReadWholeFile) or another error of the file system when the file
// cannot be read at all, which is not damage.
struct ReadRecord {
  absl::Status read_error;
  absl::StatusOr<LedgerRecord> record = absl::UnknownError("not read");
};

ReadRecord ReadRecordFile(const fs::path& path) {
  ReadRecord read;
  absl::StatusOr<std::string> text = ReadWholeFile(path.string());
  if (!text.ok()) {
    read.read_error = text.status();
    return read;
  }
  read.record = LedgerRecordFromJson(*text);
  if (read.record.ok() && path.filename().string() !=
                              absl::StrCat(Hex(Sha256(read.record->ledger_id)), ".json")) {
    read.record = absl::DataLossError("ledger record: stored under another ledger's name");
  }
  return read;
}

// One record file as checked at start: only why it cannot be used (the
// record itself is not kept).
struct CheckedFile {
  fs::path path;
  absl::Status read_error;
  absl::Status damage;
};

}  // namespace

absl::StatusOr<LedgerRegistry::Recovered> LedgerRegistry::Recover() {
  Recovered recovered;
  std::vector<std::string> leftovers;
  std::vector<CheckedFile> damaged;
  // Checked kCheckBatch files at a time, so that the start's memory does not
  // grow with the number of records.
  constexpr size_t kCheckBatch = 4096;
  std::vector<CheckedFile> batch;
  auto check_batch = [&]() -> absl::Status {
    std::atomic<size_t> next{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < LoadThreads(); ++t) {
      readers.emplace_back([&] {
        for (size_t i = next++; i < batch.size(); i = next++) {
          ReadRecord read = ReadRecordFile(batch[i].path);
          batch[i].read_error = std::move(read.read_error);
          batch[i].damage = read.record.status();
        }
      });
    }
    for (std::thread& reader : readers) reader.join();
    for (CheckedFile& file : batch) {
      // A file that cannot be read (permissions, I/O) stops the start: only
      // a file that reads but does not parse is damaged and quarantined.
      if (!file.read_error.ok()) return file.read_error;
      if (file.damage.ok()) {
        ++recovered.records;
      } else {
        damaged.push_back(std::move(file));
      }
    }
    batch.clear();
    return absl::OkStatus();
  };
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_ + "/ledgers", error)) {
    const std::string name = entry.path().filename().string();
    if (absl::StrContains(name, ".json.tmp")) {
      // A write cut short by a crash; the record is intact.
      leftovers.push_back(entry.path().string());
      continue;
    }
    if (!IsRecordFileName(name)) continue;
    batch.emplace_back().path = entry.path();
    if (batch.size() == kCheckBatch) {
      if (absl::Status s = check_batch(); !s.ok()) return s;
    }
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list ", dir_, "/ledgers"));
  if (absl::Status s = check_batch(); !s.ok()) return s;
  // Moved once the directory has been listed to the end.
  for (const CheckedFile& file : damaged) {
    const std::string path = file.path.string();
    const std::string moved_to =
        absl::StrCat(dir_, "/quarantine/", file.path.filename().string(), ".", NowMillis());
    if (::rename(path.c_str(), moved_to.c_str()) != 0) {
      return absl::DataLossError(absl::StrCat(path, ": ", file.damage.message(),
                                              "; cannot move it to quarantine: ",
                                              strerror(errno)));
    }
    recovered.quarantined.push_back(
        QuarantinedRecord{moved_to, std::string(file.damage.message())});
  }
  // The readers' parsing freed all it allocated; give the heap back rather
  // than keep the peak of the start for the life of the process.
  ::malloc_trim(0);
  for (const std::string& path : leftovers) ::unlink(path.c_str());
  if (!recovered.quarantined.empty()) {
    if (absl::Status s = SyncDirectory(dir_ + "/ledgers"); !s.ok()) return s;
    if (absl::Status s = SyncDirectory(dir_ + "/quarantine"); !s.ok()) return s;
  }
  if (absl::Status s = ReplayHeadLogs(recovered); !s.ok()) return s;
  return recovered;
}

absl::StatusOr<LedgerRecord> LedgerRegistry::Load(const std::string& ledger_id) const {
  const std::string path = RecordPath(ledger_id);
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no record of ", QuoteForError(ledger_id)));
    }
    return absl::InternalError(
        absl::StrCat("the ledger's record cannot be read: ", strerror(errno)));
  }
  // The messages name no path: they reach the agent's clients.
  ReadRecord read = ReadRecordFile(path);
  if (!read.read_error.ok()) {
    // Registry paths name a ledger only by the SHA-256 of its id.
    Log(LogLevel::kError, "registry_read_failed",
        absl::StrCat("a ledger record cannot be read: ", read.read_error.message()));
    return absl::InternalError("the ledger's record cannot be read (see the agent's log)");
  }
  if (!read.record.ok()) {
    return absl::DataLossError(absl::StrCat("the ledger's record is damaged (",
                                            read.record.status().message(),
                                            "); it is quarantined at the agent's next start"));
  }
  return read.record;
}

bool LedgerRegistry::Contains(const std::string& ledger_id) const {
  struct stat info;
  return ::stat(RecordPath(ledger_id).c_str(), &info) == 0;
}

absl::StatusOr<size_t> LedgerRegistry::ForEachRecord(
    const std::function<void(LedgerRecord)>& visit) const {
  size_t unreadable = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_ + "/ledgers", error)) {
    if (!IsRecordFileName(entry.path().filename().string())) continue;
    ReadRecord read = ReadRecordFile(entry.path());
    if (!read.read_error.ok()) {
      struct stat info;
      if (::stat(entry.path().c_str(), &info) != 0 && errno == ENOENT) continue;  // Removed.
      ++unreadable;
      continue;
    }
    if (!read.record.ok()) {
      ++unreadable;
      continue;
    }
    visit(*std::move(read.record));
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list ", dir_, "/ledgers"));
  return unreadable;
}

absl::Status LedgerRegistry::AddEvidence(const EvidenceRecord& evidence) {
  int n;
  {
    absl::MutexLock lock(&evidence_mu_);
    n = evidence_counter_++;
  }
  return NoteWrite(
      WriteFileAtomic(absl::StrCat(dir_, "/evidence/", Hex(Sha256(evidence.ledger_id)), "-",
                                   evidence.detected_unix_millis, "-", n, ".json"),
                      EvidenceToJson(evidence).dump(1), /*sync=*/true),
      "store evidence");
}

absl::StatusOr<std::vector<EvidenceRecord>> LedgerRegistry::ListEvidence(
    const std::string& ledger_id) const {
  std::vector<EvidenceRecord> out;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_ + "/evidence", error)) {
    const std::string path = entry.path().string();
    if (!absl::EndsWith(path, ".json")) continue;
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) continue;
    Json json = Json::parse(*text, nullptr, false);
    if (!json.is_object()) continue;
    EvidenceRecord e;
    e.ledger_id = Get(json, "ledger");
    if (!ledger_id.empty() && e.ledger_id != ledger_id) continue;
    e.host_address = Get(json, "host");
    e.kind = Get(json, "kind");
    e.held_checkpoint = Get(json, "held checkpoint");
    e.served_checkpoint = Get(json, "served checkpoint");
    e.detail = Get(json, "detail");
    const Json& detected = json.value("detected", Json(0));
    e.detected_unix_millis = detected.is_number_integer() ? detected.get<int64_t>() : 0;
    absl::StatusOr<std::string> object = DecodeBase64Url(Get(json, "evidence object"));
    if (object.ok()) e.evidence_object = *std::move(object);
    e.evidence_id = Get(json, "evidence id");
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const EvidenceRecord& a, const EvidenceRecord& b) {
    return a.detected_unix_millis < b.detected_unix_millis;
  });
  return out;
}

}  // namespace microledger
