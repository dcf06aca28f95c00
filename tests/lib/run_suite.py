#!/usr/bin/env python3
"""Run one unittest file for CTest, with an exit status CTest can tell apart:

    0   its tests ran and passed (some may have been skipped: their reasons are printed)
    1   a test failed or errored
    77  every test in it was skipped (no root, a tool missing, no kernel keyrings...): CTest's
        SKIP_RETURN_CODE shows the suite as skipped, not passed

    run_suite.py tests/integration/test_kernel.py [unittest arguments, e.g. a test name]

The file runs as its own __main__ (its sys.path and checks as when run directly); only
unittest.main is replaced, by one that reports the status above."""
import os
import runpy
import sys
import unittest

SKIPPED = 77


def status(result):
    """The exit status for a finished run (see the module's text)."""
    if not result.wasSuccessful():
        return 1
    # A skipped test method counts in testsRun; a skipped class or module (SkipTest from
    # setUpClass or setUpModule) is one skip entry that ran nothing.
    skipped_tests = sum(1 for test, _ in result.skipped if isinstance(test, unittest.TestCase))
    if result.skipped and result.testsRun - skipped_tests == 0:
        print("all tests of this suite were skipped", file=sys.stderr)
        return SKIPPED
    return 0


class Program(unittest.TestProgram):
    def runTests(self):
        self.exit = False
        super().runTests()
        sys.exit(status(self.result))


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: run_suite.py TEST_FILE [unittest arguments]")
    path = os.path.abspath(argv[1])
    sys.argv = [path] + argv[2:]
    sys.path.insert(0, os.path.dirname(path))
    unittest.main = Program
    runpy.run_path(path, run_name="__main__")
    # A file whose __main__ block does not call unittest.main ran nothing we can judge.
    sys.exit("%s did not run its tests through unittest.main" % path)


if __name__ == "__main__":
    main(sys.argv)
