// The `mlctl evidence` commands (SPEC §11 equivocation evidence): `evidence
// get LEDGER --from=ADDR` fetches the evidence objects a host or mirror keeps
// for a ledger (HostService.GetLedgerEvidence) and `evidence verify FILE`
// validates an evidence file offline, and `evidence report FILE --to=ADDR`
// hands one to a host or mirror, all with common/evidence.h
// (ValidateEvidence). Like the other command files, each command takes its
// streams and returns the process exit code.
//
// Thread-safety: the commands use their ServerReader from the calling thread.
#ifndef MICROLEDGER_TOOLS_EVIDENCE_COMMANDS_H_
#define MICROLEDGER_TOOLS_EVIDENCE_COMMANDS_H_

#include <iosfwd>
#include <string>

#include "tools/server_reader.h"

namespace microledger {

// `evidence get LEDGER --from=ADDR [--out_dir=DIR]`: every object the server
// sends is validated first (valid SPEC §11 evidence of this ledger); then
// each one's bytes are printed, one object per line, or with `out_dir` each is
// written (atomically, durably) to DIR/<evidence id>.json, holding exactly its
// bytes, and the path printed. No evidence: nothing printed, exit 0. Exit 1
// when an object is not valid evidence of the ledger (one line on `err`,
// nothing printed or written); exit 2 with one line on `err` when the server
// cannot be reached or answers any error (UNIMPLEMENTED from a server without
// evidence support included), or a file cannot be written.
int RunEvidenceGet(ServerReader& server, const std::string& ledger_id,
                   const std::string& out_dir, std::ostream& out, std::ostream& err);

// `evidence verify FILE`: "EVIDENCE <ledger> <kind> <id>" on `out` and exit 0,
// or "INVALID: <reason>" (one line) and exit 1; exit 2 with one line on `err`
// and nothing on `out` when FILE cannot be read.
int RunEvidenceVerify(const std::string& path, std::ostream& out, std::ostream& err);

// `evidence report FILE --to=ADDR`: validates the file as `evidence verify`
// does (exit 1 and "INVALID: <reason>" when it is not evidence: nothing is
// sent), then hands it to the host or mirror at ADDR (ReportEquivocation),
// which keeps it and freezes the ledger: prints "REPORTED <ledger> <kind>
// <id> frozen|not frozen", exit 0; exit 2 with one line on `err` when FILE
// cannot be read or the server refuses or cannot be reached.
int RunEvidenceReport(ServerReader& server, const std::string& path, std::ostream& out,
                      std::ostream& err);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_EVIDENCE_COMMANDS_H_
