#include "tools/load/options.h"

#include "absl/strings/str_cat.h"

namespace microledger {
namespace load {

absl::StatusOr<Scenario> ParseScenario(absl::string_view name) {
  if (name == "host-append") return Scenario::kHostAppend;
  if (name == "host-append-stream") return Scenario::kHostAppendStream;
  if (name == "agent-append") return Scenario::kAgentAppend;
  if (name == "agent-bulk") return Scenario::kAgentBulk;
  if (name == "read-range") return Scenario::kReadRange;
  if (name == "proof") return Scenario::kProof;
  if (name == "verify") return Scenario::kVerify;
  if (name == "many-ledgers") return Scenario::kManyLedgers;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown --scenario=", name,
      " (host-append|host-append-stream|agent-append|agent-bulk|read-range|proof|verify|"
      "many-ledgers)"));
}

std::string ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kHostAppend: return "host-append";
    case Scenario::kHostAppendStream: return "host-append-stream";
    case Scenario::kAgentAppend: return "agent-append";
    case Scenario::kAgentBulk: return "agent-bulk";
    case Scenario::kReadRange: return "read-range";
    case Scenario::kProof: return "proof";
    case Scenario::kVerify: return "verify";
    case Scenario::kManyLedgers: return "many-ledgers";
  }
  return "?";
}

bool IsAppend(Scenario scenario) {
  return scenario == Scenario::kHostAppend || scenario == Scenario::kHostAppendStream ||
         scenario == Scenario::kAgentAppend || scenario == Scenario::kAgentBulk;
}

std::string AppendMode(Scenario scenario, int concurrency, int window) {
  switch (scenario) {
    case Scenario::kHostAppend:
      return absl::StrCat("unary, ", concurrency, " in flight");
    case Scenario::kHostAppendStream:
      return absl::StrCat("stream, ", concurrency, concurrency == 1 ? " stream" : " streams",
                          ", window ", window);
    case Scenario::kAgentAppend:
      return absl::StrCat("agent AppendEvent, ", concurrency, " in flight");
    case Scenario::kAgentBulk:
      return absl::StrCat("agent AppendEvents, ", concurrency,
                          concurrency == 1 ? " stream" : " streams", ", ", window,
                          " events per message");
    default:
      return "";
  }
}

}  // namespace load
}  // namespace microledger
