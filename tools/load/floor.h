// The cryptographic floor ml-load compares costs with: the best-of-rounds time
// of one Ed25519 sign and one verify with libsodium on this machine, by the
// wall clock and by the thread's CPU clock (which a busy machine's waiting
// does not inflate; what a process's CPU per block is compared with).
//
// Thread-safety: MeasureFloor may be called from any thread and keeps no
// state; it keeps one core busy for some tens of milliseconds.
#ifndef MICROLEDGER_TOOLS_LOAD_FLOOR_H_
#define MICROLEDGER_TOOLS_LOAD_FLOOR_H_

namespace microledger {
namespace load {

// Best-of-rounds microseconds of one Ed25519 sign and one verify (libsodium).
struct Floor {
  double sign_us = 0;
  double verify_us = 0;
  // The same, in CPU time of the measuring thread.
  double sign_cpu_us = 0;
  double verify_cpu_us = 0;
};
Floor MeasureFloor();

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_FLOOR_H_
