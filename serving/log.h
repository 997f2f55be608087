// The process-wide logger of ml-host, ml-owner and ml-mirror: one line per
// event on stderr, written with a single write(2) so that lines of different
// threads never interleave.
//
// --log_format=text (default): "PROGRAM: MESSAGE" for info and error events,
// "PROGRAM: warning: MESSAGE" and "PROGRAM: debug: MESSAGE" for the others,
// followed by " key=value" per field (a value with a space or quote is
// JSON-quoted).
// --log_format=json: one JSON object per line with the keys "ts" (RFC 3339
// UTC, milliseconds), "level" (debug, info, warning, error), "program",
// "event" (a fixed name such as "start", "stop", "equivocation"), "msg", then
// one key per field (numbers as JSON numbers, the rest as strings; invalid
// UTF-8 is replaced).
// --log_level=debug|info|warning|error (default info): events below it are
// dropped.
//
// Callers never put a ledger id (a capability) or a secret (master key,
// passphrase, token, private key bytes) in a message or a field.
//
// Thread-safe: InitLog is meant to run once at start (before other threads),
// but every function may be called from any thread at any time; before
// InitLog events are written in text format at info level with program
// "microledger".
#ifndef MICROLEDGER_SERVING_LOG_H_
#define MICROLEDGER_SERVING_LOG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace microledger {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// One event field: a key and a string or integer value.
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value);
  LogField(absl::string_view key, const char* value);
  LogField(absl::string_view key, const std::string& value);
  LogField(absl::string_view key, int64_t value);
  LogField(absl::string_view key, int value);
  LogField(absl::string_view key, bool value);

  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  // True when value() is a JSON number or boolean literal.
  bool literal() const { return literal_; }

 private:
  std::string key_;
  std::string value_;
  bool literal_ = false;
};

// Sets the program name, format and minimum level.
void InitLog(absl::string_view program, LogFormat format, LogLevel level);
// InitLog from --log_format and --log_level; InvalidArgument naming the flag
// for an unknown value (nothing is changed then).
absl::Status InitLogFromFlags(absl::string_view program);

// Whether an event of `level` would be written.
bool LogEnabled(LogLevel level);
// The program name given to InitLog.
std::string LogProgram();
LogFormat CurrentLogFormat();

// Writes one event line (if `level` is enabled).
void Log(LogLevel level, absl::string_view event, absl::string_view message,
         absl::Span<const LogField> fields = {});

// For a server's main: logs `status` as the event "fatal" (error level; its
// message is the status message) and returns 1, the exit status to end with.
int LogFatal(const absl::Status& status);

// Writes `line` and a newline to stderr as it is, whatever the format and
// level: the start line "PROGRAM: listening on ADDRESS (DETAIL)" that tests
// and scripts parse in both formats.
void WritePlainLine(absl::string_view line);

// A listener's start line ("PROGRAM: listening on ADDRESS (DETAIL)",
// "PROGRAM: metrics on URL", "PROGRAM: health checks on ADDRESS"): written
// plain in every format (tests and scripts parse it), and in JSON followed by
// a "listen" event with `server`, `address` and `detail`, so that JSON
// collectors see every listener too.
void LogStartLine(absl::string_view line, absl::string_view server, absl::string_view address,
                  absl::string_view detail);

// The text and JSON lines of one event (without the newline), for tests.
std::string FormatTextLine(absl::string_view program, LogLevel level,
                           absl::string_view message,
                           absl::Span<const LogField> fields);
std::string FormatJsonLine(absl::string_view timestamp, absl::string_view program,
                           LogLevel level, absl::string_view event,
                           absl::string_view message, absl::Span<const LogField> fields);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_LOG_H_
