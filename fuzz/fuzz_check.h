// Shared by the libFuzzer targets in fuzz/: FUZZ_CHECK, which stops the
// process with a message when a property of the code under test does not hold,
// so libFuzzer records the input as a crash (a finding) like any sanitizer
// report.
#ifndef MICROLEDGER_FUZZ_FUZZ_CHECK_H_
#define MICROLEDGER_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                       \
  do {                                                                    \
    if (!(condition)) {                                                   \
      std::fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, \
                   __LINE__, what, #condition);                           \
      std::abort();                                                       \
    }                                                                     \
  } while (false)

#endif  // MICROLEDGER_FUZZ_FUZZ_CHECK_H_
