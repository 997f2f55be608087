// Command-line parsing shared by ml-host, ml-owner, ml-mirror and mlctl:
// --help (and --helpshort) prints the usage message and the program's own
// flags to stdout and exits 0, --helpfull prints every flag (Abseil's and
// gRPC's libraries' too) and exits 0, --version prints "PROGRAM VERSION" and
// exits 0; anything else is parsed by absl::ParseCommandLine (an unknown flag
// or bad value: a message on stderr, exit 1). A server's parse then applies
// --log_format and --log_level (serving/log.h) and logs the "start" event with
// the effective value of every flag of the program when it starts serving (no
// flag holds a secret: secrets come from files or the environment, whose paths
// may be logged).
//
// Call once at the top of main, before other threads start: not thread-safe
// (Abseil's flag parsing is process-wide).
#ifndef MICROLEDGER_SERVING_COMMAND_LINE_H_
#define MICROLEDGER_SERVING_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace microledger {

struct CommandLineSpec {
  std::string program;  // "ml-host": the name --version and logs show.
  std::string usage;    // The program usage message (absl::SetProgramUsageMessage).
  // Source files (path substrings, e.g. "host_service/ml-host_main.cc") whose
  // flags are the program's own: listed by --help and logged at start.
  std::vector<std::string> flag_files;
  // Flags whose values the start event leaves out (e.g. ml-mirror's --follow,
  // which names ledgers: a ledger id is never logged).
  std::vector<std::string> unlogged_flags;
};

// --help, --helpfull and --version as above, then absl::ParseCommandLine;
// returns its positional arguments (argv[0] first).
std::vector<char*> ParseCommandLineWithHelp(int argc, char** argv,
                                            const CommandLineSpec& spec);

// ParseCommandLineWithHelp, with the flags of serving/ (logging, shutdown)
// also the program's own, then logging set up from --log_format and
// --log_level (a bad value: one line on stderr, exit 1); the effective value
// of every flag of the program is kept for LogStartEvent.
std::vector<char*> ParseServerCommandLine(int argc, char** argv, CommandLineSpec spec);

// Logs the "start" event: the version and every flag kept by
// ParseServerCommandLine (none without it), except the values of
// CommandLineSpec::unlogged_flags. serving/grpc_server.h calls it once the
// configuration is accepted, just after the first start line, so that a
// start that fails prints only its one error line.
void LogStartEvent();

// The --help text: `usage`, then every flag defined in one of `flag_files`
// (all flags when empty), grouped by file, with its help and default.
std::string FlagsHelpText(absl::string_view usage,
                          const std::vector<std::string>& flag_files);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_COMMAND_LINE_H_
