// Default options of AddressSanitizer, LeakSanitizer and
// UndefinedBehaviorSanitizer for every binary and test built with
// --config=asan or --config=fuzz. .bazelrc links this library into every
// cc_binary and cc_test of those builds through --custom_malloc (Bazel adds
// the "malloc" library to every C++ executable; this one provides no malloc,
// only the sanitizers' hook functions, so the sanitizer runtime's allocator
// stays in place). Options given in the environment (ASAN_OPTIONS,
// LSAN_OPTIONS, UBSAN_OPTIONS) are applied after these and win.
//
// The leak suppressions live here rather than in a file named by
// LSAN_OPTIONS=suppressions=PATH because that path would have to be absolute
// or relative to each process's working directory, which differs for tests
// (runfiles), the servers they start and the fuzzers; compiled in, they apply
// to every process wherever it runs. See fuzz/README.md ("Sanitizers").
extern "C" {

// halt_on_error: the first error ends the process (its exit code fails the
// test). detect_leaks: LeakSanitizer stays on. detect_container_overflow is
// left at its default: libstdc++ only annotates containers when built with
// _GLIBCXX_SANITIZE_VECTOR, which neither Debian's libraries nor our builds
// define, so the uninstrumented system libraries cannot cause its false
// positives. strict_string_checks, detect_stack_use_after_return and
// check_initialization_order add checks at little cost.
const char* __asan_default_options() {
  return "halt_on_error=1:detect_leaks=1:strict_string_checks=1:"
         "detect_stack_use_after_return=1:check_initialization_order=1";
}

const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}

// Leaks inside uninstrumented Debian system libraries only, one
// "leak:<library>.so" line each with the reason. Empty: the whole suite, and
// the servers its tests start, report no leak. LeakSanitizer matches a
// suppression against any frame of the allocation stack, so an entry could
// hide a leak of ours whose stack passes through the library: check each one
// against the reports of the whole suite before adding it.
const char* __lsan_default_suppressions() {
  return "";
}

}  // extern "C"
