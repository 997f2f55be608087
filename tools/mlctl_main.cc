// mlctl: the Micro Ledger command line. This file parses flags and dispatches;
// the commands live in offline_commands.h.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "tools/offline_commands.h"

ABSL_FLAG(std::string, secret_out, "",
          "keygen: file to create (mode 0600) for the secret key seed");
ABSL_FLAG(uint64_t, blocks, 10, "sample: number of blocks to write");
ABSL_FLAG(std::string, out, "", "sample: bundle file to write");

namespace {

constexpr char kUsage[] =
    R"(mlctl: the Micro Ledger command line (offline commands).

usage:
  mlctl canonicalize < in.json > out.json
      JSON on stdin, its RFC 8785 (JCS) bytes on stdout. Bad input: one line on
      stderr, exit 2.
  mlctl keygen --secret_out=FILE
      A new Ed25519 key pair: the public key ("u..." text) on stdout, the secret
      seed written to FILE, created with mode 0600 (never overwritten).
  mlctl verify FILE
      Verifies a ledger bundle (SPEC §8/§9) offline. Prints "OK <ledger> <n>
      blocks" (exit 0) or "FAIL block <k>: <rule>" (exit 1); exit 2 with one line
      on stderr when FILE cannot be read. Shows progress on stderr when stderr is
      a terminal.
  mlctl sample --blocks=N --out=FILE
      Writes a valid sample bundle of N blocks, signed with owner and host keys
      generated in this process. For demos, tests and benchmarks: it is NOT the
      two-machine mode.
  mlctl help
      This text.)";

int Usage(std::ostream& stream, int exit_code) {
  stream << kUsage << "\n";
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "mlctl_main");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return Usage(std::cerr, microledger::kExitUsageOrInput);
  const std::string command = args[1];
  const size_t operands = args.size() - 2;
  using namespace microledger;
  if (command == "help") return Usage(std::cout, kExitOk);
  if (command == "canonicalize" && operands == 0) {
    return RunCanonicalize(std::cin, std::cout, std::cerr);
  }
  if (command == "keygen" && operands == 0) {
    return RunKeygen(absl::GetFlag(FLAGS_secret_out), std::cout, std::cerr);
  }
  if (command == "verify" && operands == 1) {
    return RunVerify(args[2], isatty(STDERR_FILENO) == 1, std::cout, std::cerr);
  }
  if (command == "sample" && operands == 0) {
    return RunSample(absl::GetFlag(FLAGS_blocks), absl::GetFlag(FLAGS_out),
                     std::cout, std::cerr);
  }
  std::cerr << "mlctl: unknown command or wrong operands: " << command << "\n";
  return Usage(std::cerr, kExitUsageOrInput);
}
