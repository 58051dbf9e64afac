#!/usr/bin/env python3
"""Read a JUnit XML report with junitparser, a reader independent of sxsaudit, and print
what it counts as one JSON object, for tests/integration/reports.rs to compare with the JSON
report. Exit 3 when junitparser is not installed (the test then skips, or fails when
SXSAUDIT_REQUIRE_JUNITPARSER=1)."""

import json
import sys

try:
    from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite
except ImportError:
    print("junitparser is not installed (pip install junitparser)", file=sys.stderr)
    sys.exit(3)


def main(path):
    xml = JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    out = {"suites": len(suites), "tests": 0, "failures": 0, "errors": 0, "skipped": 0,
           "failures_by_type": {}, "cases": [], "declared": []}
    for suite in suites:
        out["declared"].append({"tests": suite.tests, "failures": suite.failures,
                                "errors": suite.errors, "skipped": suite.skipped})
        for case in suite:
            out["tests"] += 1
            out["cases"].append({"classname": case.classname, "name": case.name,
                                 "failures": sum(isinstance(r, Failure) for r in case.result)})
            for r in case.result:
                if isinstance(r, Failure):
                    out["failures"] += 1
                    out["failures_by_type"][r.type] = out["failures_by_type"].get(r.type, 0) + 1
                elif isinstance(r, Error):
                    out["errors"] += 1
                elif isinstance(r, Skipped):
                    out["skipped"] += 1
    json.dump(out, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
