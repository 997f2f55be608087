#include "witness/client_limits.h"

#include <functional>

namespace microledger {

AddCheckpointAnswer AddCheckpointForClient(Witness& witness, const AddCheckpointRequest& request,
                                           const std::string& client, const ClientLimits& limits) {
  if (limits.requests != nullptr && !limits.requests->Allow(client)) {
    AddCheckpointAnswer answer;
    answer.outcome = AddCheckpointOutcome::kTooManyRequests;
    answer.reason = "too many requests from this client; try again later";
    return answer;
  }
  std::function<bool()> admit_new_ledger;
  if (limits.new_ledgers != nullptr) {
    admit_new_ledger = [&limits, &client] { return limits.new_ledgers->Allow(client); };
  }
  return witness.AddCheckpoint(request, admit_new_ledger);
}

}  // namespace microledger
