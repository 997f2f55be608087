#include "serving/command_line.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "serving/log.h"
#include "serving/version.h"

namespace microledger {
namespace {

constexpr char kServingFlagFiles[] = "serving/";

// The flags' values logged by LogStartEvent: written once by
// ParseServerCommandLine before any other thread starts, then only read.
std::vector<LogField>& StartConfiguration() {
  static auto* const configuration = new std::vector<LogField>();
  return *configuration;
}

bool FromFiles(const absl::CommandLineFlag& flag, const std::vector<std::string>& files) {
  if (files.empty()) return true;
  const std::string file = flag.Filename();
  return std::any_of(files.begin(), files.end(), [&file](const std::string& wanted) {
    return absl::StrContains(file, wanted);
  });
}

// The flags defined in `files`, sorted by file, then name.
std::vector<const absl::CommandLineFlag*> FlagsOf(const std::vector<std::string>& files) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!flag->IsRetired() && FromFiles(*flag, files)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const absl::CommandLineFlag* a, const absl::CommandLineFlag* b) {
              const std::string a_file = a->Filename();
              const std::string b_file = b->Filename();
              if (a_file != b_file) return a_file < b_file;
              return a->Name() < b->Name();
            });
  return flags;
}

// Which of --help, --helpfull and --version comes first in argv (flags end
// at "--"); empty if none.
std::string FirstHelpFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    for (const char* name : {"help", "helpshort", "helpfull", "version"}) {
      if (arg == absl::StrCat("--", name) || arg == absl::StrCat("-", name)) return name;
    }
  }
  return "";
}

}  // namespace

std::string FlagsHelpText(absl::string_view usage,
                          const std::vector<std::string>& flag_files) {
  std::string text = absl::StrCat(usage, "\n");
  std::string current_file;
  for (const absl::CommandLineFlag* flag : FlagsOf(flag_files)) {
    if (flag->Filename() != current_file) {
      current_file = flag->Filename();
      absl::StrAppend(&text, "\n  Flags from ", current_file, ":\n");
    }
    absl::StrAppend(&text, "    --", flag->Name(), " (", flag->Help(), "); default: ",
                    flag->IsOfType<std::string>() ? absl::StrCat("\"", flag->DefaultValue(), "\"")
                                                  : flag->DefaultValue(),
                    ";\n");
  }
  return text;
}

std::vector<char*> ParseCommandLineWithHelp(int argc, char** argv,
                                            const CommandLineSpec& spec) {
  absl::SetProgramUsageMessage(spec.usage);
  const std::string help = FirstHelpFlag(argc, argv);
  if (help == "version") {
    std::cout << spec.program << " " << kMicroLedgerVersion << "\n";
    std::cout.flush();
    std::exit(0);
  }
  if (!help.empty()) {
    std::cout << FlagsHelpText(spec.usage, help == "helpfull" ? std::vector<std::string>{}
                                                              : spec.flag_files);
    std::cout.flush();
    std::exit(0);
  }
  return absl::ParseCommandLine(argc, argv);
}

std::vector<char*> ParseServerCommandLine(int argc, char** argv, CommandLineSpec spec) {
  spec.flag_files.push_back(kServingFlagFiles);
  std::vector<char*> positional = ParseCommandLineWithHelp(argc, argv, spec);
  if (absl::Status logging = InitLogFromFlags(spec.program); !logging.ok()) {
    std::cerr << spec.program << ": " << logging.message() << "\n";
    std::exit(1);
  }
  std::vector<LogField>& configuration = StartConfiguration();
  configuration.clear();
  for (const absl::CommandLineFlag* flag : FlagsOf(spec.flag_files)) {
    const bool unlogged = std::find(spec.unlogged_flags.begin(), spec.unlogged_flags.end(),
                                    flag->Name()) != spec.unlogged_flags.end();
    configuration.emplace_back(flag->Name(),
                               unlogged ? std::string("(not logged)") : flag->CurrentValue());
  }
  return positional;
}

void LogStartEvent() {
  Log(LogLevel::kInfo, "start", absl::StrCat("started, version ", kMicroLedgerVersion),
      StartConfiguration());
}

}  // namespace microledger
