#include "serving/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

ABSL_FLAG(std::string, log_format, "text",
          "text (one human line per event) or json (one JSON object per line: ts, "
          "level, program, event, msg and the event's fields); the start line "
          "\"PROGRAM: listening on ADDRESS (DETAIL)\" is written as it is in both");
ABSL_FLAG(std::string, log_level, "info",
          "least important events written: debug (also every call answered with an "
          "error), info, warning or error");

namespace microledger {
namespace {

struct LogSettings {
  absl::Mutex mu;
  std::string program ABSL_GUARDED_BY(mu) = "microledger";
  std::atomic<LogFormat> format{LogFormat::kText};
  std::atomic<LogLevel> level{LogLevel::kInfo};
};

LogSettings& Settings() {
  static LogSettings* const settings = new LogSettings();
  return *settings;
}

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string JsonString(absl::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Writes all of `line` with one write(2) (retried only for the rest of a
// partial write or an interrupted call).
void WriteLine(const std::string& line) {
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace

LogField::LogField(absl::string_view key, absl::string_view value)
    : key_(key), value_(value) {}
LogField::LogField(absl::string_view key, const char* value)
    : key_(key), value_(value == nullptr ? "" : value) {}
LogField::LogField(absl::string_view key, const std::string& value)
    : key_(key), value_(value) {}
LogField::LogField(absl::string_view key, int64_t value)
    : key_(key), value_(absl::StrCat(value)), literal_(true) {}
LogField::LogField(absl::string_view key, int value)
    : key_(key), value_(absl::StrCat(value)), literal_(true) {}
LogField::LogField(absl::string_view key, bool value)
    : key_(key), value_(value ? "true" : "false"), literal_(true) {}

void InitLog(absl::string_view program, LogFormat format, LogLevel level) {
  LogSettings& settings = Settings();
  {
    absl::MutexLock lock(&settings.mu);
    settings.program = std::string(program);
  }
  settings.format.store(format);
  settings.level.store(level);
}

absl::Status InitLogFromFlags(absl::string_view program) {
  const std::string format_name = absl::GetFlag(FLAGS_log_format);
  const std::string level_name = absl::GetFlag(FLAGS_log_level);
  LogFormat format;
  if (format_name == "text") {
    format = LogFormat::kText;
  } else if (format_name == "json") {
    format = LogFormat::kJson;
  } else {
    return absl::InvalidArgumentError("--log_format must be text or json");
  }
  LogLevel level;
  if (level_name == "debug") {
    level = LogLevel::kDebug;
  } else if (level_name == "info") {
    level = LogLevel::kInfo;
  } else if (level_name == "warning") {
    level = LogLevel::kWarning;
  } else if (level_name == "error") {
    level = LogLevel::kError;
  } else {
    return absl::InvalidArgumentError("--log_level must be debug, info, warning or error");
  }
  InitLog(program, format, level);
  return absl::OkStatus();
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= static_cast<int>(Settings().level.load());
}

std::string LogProgram() {
  LogSettings& settings = Settings();
  absl::MutexLock lock(&settings.mu);
  return settings.program;
}

LogFormat CurrentLogFormat() { return Settings().format.load(); }

std::string FormatTextLine(absl::string_view program, LogLevel level,
                           absl::string_view message, absl::Span<const LogField> fields) {
  std::string line = absl::StrCat(program, ": ");
  if (level == LogLevel::kWarning || level == LogLevel::kDebug) {
    absl::StrAppend(&line, LevelName(level), ": ");
  }
  // Control characters (a client's bytes may reach a message or a field)
  // are escaped, so one event is always one line that cannot forge another.
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppend(&line, "\\x", absl::Hex(byte, absl::kZeroPad2));
    } else {
      line.push_back(c);
    }
  }
  for (const LogField& field : fields) {
    const bool plain =
        !field.value().empty() &&
        std::none_of(field.value().begin(), field.value().end(), [](char c) {
          const auto byte = static_cast<unsigned char>(c);
          return c == ' ' || c == '"' || byte < 0x20 || byte == 0x7f;
        });
    absl::StrAppend(&line, " ", field.key(), "=",
                    plain ? field.value() : JsonString(field.value()));
  }
  return line;
}

std::string FormatJsonLine(absl::string_view timestamp, absl::string_view program,
                           LogLevel level, absl::string_view event,
                           absl::string_view message, absl::Span<const LogField> fields) {
  std::string line = absl::StrCat("{\"ts\":", JsonString(timestamp),
                                  ",\"level\":", JsonString(LevelName(level)),
                                  ",\"program\":", JsonString(program),
                                  ",\"event\":", JsonString(event),
                                  ",\"msg\":", JsonString(message));
  for (const LogField& field : fields) {
    absl::StrAppend(&line, ",", JsonString(field.key()), ":",
                    field.literal() ? field.value() : JsonString(field.value()));
  }
  line.push_back('}');
  return line;
}

void Log(LogLevel level, absl::string_view event, absl::string_view message,
         absl::Span<const LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string program = LogProgram();
  std::string line;
  if (CurrentLogFormat() == LogFormat::kJson) {
    const std::string timestamp =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
    line = FormatJsonLine(timestamp, program, level, event, message, fields);
  } else {
    line = FormatTextLine(program, level, message, fields);
  }
  line.push_back('\n');
  WriteLine(line);
}

int LogFatal(const absl::Status& status) {
  Log(LogLevel::kError, "fatal", status.message());
  return 1;
}

void WritePlainLine(absl::string_view line) { WriteLine(absl::StrCat(line, "\n")); }

void LogStartLine(absl::string_view line, absl::string_view server, absl::string_view address,
                  absl::string_view detail) {
  WritePlainLine(line);
  if (CurrentLogFormat() == LogFormat::kJson) {
    Log(LogLevel::kInfo, "listen", "accepting calls",
        {{"server", server}, {"address", address}, {"detail", detail}});
  }
}

}  // namespace microledger
