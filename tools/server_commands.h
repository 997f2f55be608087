// The `mlctl` commands that read a ledger from any host or mirror without an
// owner agent (`--from=ADDR`): verify, export, show and tail. They trust the
// server for nothing: every block, checkpoint and attachment it sends is
// verified with the common/ library (the SPEC §8 bundle verifier, the chain
// validator, checkpoint signatures, Merkle roots and inclusion proofs) before
// it is printed or written. Like online_commands.h, each command takes its
// streams and returns the process exit code.
//
// Exit codes: 0 done (verify: OK); 1 what the server sent fails verification
// (verify prints the FAIL verdict line on `out`; the others one line on `err`)
// and nothing unverified is written; 2 usage errors, a local file that cannot
// be written, or a server that cannot be reached or answers an error (one
// line on `err`, naming the call and the gRPC status code).
//
// Thread-safety: the commands use their ServerReader from the calling thread.
#ifndef MICROLEDGER_TOOLS_SERVER_COMMANDS_H_
#define MICROLEDGER_TOOLS_SERVER_COMMANDS_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/bundle.h"
#include "common/cosignature.h"
#include "tools/server_reader.h"

namespace microledger {

// `verify LEDGER --from`: reads the server's whole copy (the latest
// checkpoint, blocks 1..its tree size, the attachment of every seal the server
// has one for), builds the SPEC §9 bundle in memory and verifies it exactly as
// `mlctl verify FILE` does; prints its verdict line. A line of the bundle
// longer than `max_line_bytes` is a FAIL at its position. With a
// `witness_policy`, the server's checkpoint must be witnessed under it now
// (SPEC §12), as with `mlctl verify FILE --witness`.
int RunServerVerify(ServerReader& server, const std::string& ledger_id,
                    size_t max_line_bytes, std::ostream& out, std::ostream& err,
                    std::shared_ptr<const WitnessPolicy> witness_policy = nullptr);

// `export LEDGER FILE --from`: the same bundle, written to `path` (atomically,
// durably) only when it verifies; prints "exported <n> blocks to <path>".
int RunServerExport(ServerReader& server, const std::string& ledger_id,
                    const std::string& path, size_t max_line_bytes, std::ostream& out,
                    std::ostream& err);

// `show LEDGER --from`: the server's GetLedger summary (status, head,
// controllers, frozen and its evidence id, held ranges, the latest
// checkpoint), printed only after checking that the checkpoint is signed by
// the ledger key, has the head's tree size, and includes the head block's
// fingerprint (RFC 9162 inclusion proof from the server). Status,
// controllers, frozen and held are printed as the server reports them.
int RunServerShow(ServerReader& server, const std::string& ledger_id, std::ostream& out,
                  std::ostream& err);

// `tail [-f] LEDGER --from [--start=N]`: one line per block, as the agent's
// tail prints them ("<number> <time> <event JCS>"), from block `start` (0 = 1,
// or with `follow` the block after the head) to the head, or with `follow`
// on, as committed, until a terminal block. Blocks before `start` are read
// (GetBlocks) and checked, not printed, so that every printed block is checked
// against the whole chain (ChainValidator rules, owner and host signatures)
// and against the checkpoint that comes with it in Subscribe (signed by the
// ledger key, of the block's tree size, its root recomputed over every block
// up to it). A failure prints "mlctl tail: FAIL block <k>: <rule>" on `err`
// (k: the position of the block being checked) and exits 1.
int RunServerTail(ServerReader& server, const std::string& ledger_id, bool follow,
                  uint64_t start, std::ostream& out, std::ostream& err);

}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_SERVER_COMMANDS_H_
