// The Micro Ledger release version, printed by --version of ml-host, ml-owner,
// ml-mirror and mlctl ("PROGRAM VERSION"). A constant: thread-safe.
#ifndef MICROLEDGER_SERVING_VERSION_H_
#define MICROLEDGER_SERVING_VERSION_H_

namespace microledger {

inline constexpr char kMicroLedgerVersion[] = "0.13.0";

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_VERSION_H_
