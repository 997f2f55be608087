#!/usr/bin/env python3
"""Counts test cases from a `bazel test` run and prints "N passed, N failed".

Reads the target summary lines in the bazel log (argument 1) and, for each
target, the JUnit XML that bazel wrote under bazel-testlogs (argument 2). A
target that failed to build or has no XML counts as one failed test.
"""
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

SUMMARY = re.compile(r"^(//[^\s]+:[^\s]+)\s+(?:\(cached\)\s+)?"
                     r"(PASSED|FAILED|FLAKY|TIMEOUT|NO STATUS|FAILED TO BUILD|"
                     r"INCOMPLETE|REMOTE FAILURE|SKIPPED)\b")


def count_cases(xml_path):
    root = ElementTree.parse(xml_path).getroot()
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status", "run") == "run" and case.get("result") != "skipped":
            passed += 1
    return passed, failed


def main():
    log_path, testlogs = Path(sys.argv[1]), Path(sys.argv[2])
    passed = failed = 0
    for line in log_path.read_text(errors="replace").splitlines():
        match = SUMMARY.match(line.strip())
        if not match:
            continue
        target, outcome = match.groups()
        package, name = target[2:].split(":", 1)
        xml_path = testlogs / package / name / "test.xml"
        if outcome in ("PASSED", "FAILED", "FLAKY", "TIMEOUT") and xml_path.exists():
            case_passed, case_failed = count_cases(xml_path)
            if outcome != "PASSED" and case_failed == 0:
                case_failed = 1
            if case_passed + case_failed == 0:
                case_passed, case_failed = (1, 0) if outcome == "PASSED" else (0, 1)
            passed += case_passed
            failed += case_failed
        elif outcome != "SKIPPED":
            failed += 1
    print(f"{passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
