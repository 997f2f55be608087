#!/usr/bin/env python3
"""Counts test results and prints "N passed, N failed".

Two uses:

  count_test_results.py [--label=L] [--record=FILE] BAZEL_LOG TESTLOGS
      Counts test cases from a `bazel test` run: reads the target summary
      lines in BAZEL_LOG and, for each target, the JUnit XML that bazel wrote
      under TESTLOGS (its bazel-testlogs directory). A target that failed to
      build or has no XML counts as one failed test. With --record, also
      appends one line per test case to FILE: "PASS <target>.<case>" or
      "FAIL <target>.<case>" (prefixed "L:" with --label). With --label, the
      summary line reads "L: N passed, N failed".

  count_test_results.py --total FILE...
      Adds up the PASS and FAIL lines recorded in FILE(s) (by the first use,
      fuzz/run_fuzzers.sh and tests/crash/crash_test.sh) and prints the one
      "N passed, N failed" line of a whole CI run (.ci/run).
"""
import argparse
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

SUMMARY = re.compile(r"^(//[^\s]+:[^\s]+)\s+(?:\(cached\)\s+)?"
                     r"(PASSED|FAILED|FLAKY|TIMEOUT|NO STATUS|FAILED TO BUILD|"
                     r"INCOMPLETE|REMOTE FAILURE|SKIPPED)\b")


def case_results(xml_path):
    """(name, passed) for every test case run in one JUnit XML file."""
    root = ElementTree.parse(xml_path).getroot()
    results = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
        if case.find("failure") is not None or case.find("error") is not None:
            results.append((name, False))
        elif case.get("status", "run") == "run" and case.get("result") != "skipped":
            results.append((name, True))
    return results


def target_results(target, outcome, testlogs):
    """(name, passed) for the test cases of one target of the bazel summary."""
    package, name = target[2:].split(":", 1)
    xml_path = testlogs / package / name / "test.xml"
    if outcome in ("PASSED", "FAILED", "FLAKY", "TIMEOUT") and xml_path.exists():
        cases = [(f"{target}.{case}", ok) for case, ok in case_results(xml_path)]
        if outcome != "PASSED" and all(ok for _, ok in cases):
            cases.append((f"{target} ({outcome})", False))
        if not cases:
            cases = [(target, outcome == "PASSED")]
        return cases
    if outcome == "SKIPPED":
        return []
    return [(f"{target} ({outcome})", False)]


def count_bazel(log_path, testlogs):
    results = []
    for line in log_path.read_text(errors="replace").splitlines():
        match = SUMMARY.match(line.strip())
        if match:
            results += target_results(*match.groups(), testlogs)
    return results


def count_records(paths):
    results = []
    for path in paths:
        for line in Path(path).read_text(errors="replace").splitlines():
            verdict, _, name = line.partition(" ")
            if verdict in ("PASS", "FAIL"):
                results.append((name, verdict == "PASS"))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="")
    parser.add_argument("--record")
    parser.add_argument("--total", action="store_true")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    if args.total:
        results = count_records(args.paths)
    else:
        if len(args.paths) != 2:
            parser.error("expected BAZEL_LOG TESTLOGS")
        results = count_bazel(Path(args.paths[0]), Path(args.paths[1]))
        if args.record:
            prefix = f"{args.label}:" if args.label else ""
            with open(args.record, "a", encoding="utf-8") as record:
                for name, ok in results:
                    record.write(f"{'PASS' if ok else 'FAIL'} {prefix}{name}\n")
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    label = f"{args.label}: " if args.label else ""
    print(f"{label}{passed} passed, {failed} failed")


if __name__ == "__main__":
    sys.exit(main())
