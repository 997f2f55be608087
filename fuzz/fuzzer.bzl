"""ml_fuzzer: a libFuzzer target of fuzz/ (see fuzz/README.md)."""

def ml_fuzzer(name, srcs, deps):
    """A fuzz target `name` whose LLVMFuzzerTestOneInput is in `srcs`.

    With --config=fuzz (clang-14) it links libFuzzer's main; otherwise
    fuzz/replay_main.cc, which runs the target once on each file or directory
    given, so a corpus or crash file replays under gcc and --config=asan too.
    Tagged manual: `bazel build //...` does not build it;
    `fuzz/run_fuzzers.sh` builds and runs every fuzz target.
    """
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + [":fuzz_check"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual"],
    )
