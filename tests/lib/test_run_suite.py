#!/usr/bin/env python3
"""run_suite.py's exit status, as CTest reads it: 77 (skipped) only when every test of a suite
was skipped, whether by a test, a class or the module; 0 when at least one ran and all passed;
1 on a failure, skipped tests or not."""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

RUN_SUITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_suite.py")

SUITES = {
    "every test skipped": ("""
        class A(unittest.TestCase):
            def test_a(self): self.skipTest("no tool")
            @unittest.skip("no root")
            def test_b(self): pass
        """, 77),
    "the class skipped in setUpClass": ("""
        class A(unittest.TestCase):
            @classmethod
            def setUpClass(cls): raise unittest.SkipTest("no keyctl")
            def test_a(self): pass
        """, 77),
    "the module skipped in setUpModule": ("""
        def setUpModule(): raise unittest.SkipTest("not root")
        class A(unittest.TestCase):
            def test_a(self): pass
        """, 77),
    "a skipped class beside one that ran": ("""
        @unittest.skip("no podman")
        class A(unittest.TestCase):
            def test_a(self): pass
        class B(unittest.TestCase):
            @classmethod
            def setUpClass(cls): raise unittest.SkipTest("no docker")
            def test_b(self): pass
        class C(unittest.TestCase):
            def test_c(self): pass
        """, 0),
    "all passed": ("""
        class A(unittest.TestCase):
            def test_a(self): pass
        """, 0),
    "a failure beside skips": ("""
        class A(unittest.TestCase):
            def test_a(self): self.skipTest("no tool")
            def test_b(self): self.fail("broken")
        """, 1),
    "an error in setUpModule": ("""
        def setUpModule(): raise RuntimeError("fake API did not start")
        class A(unittest.TestCase):
            def test_a(self): pass
        """, 1),
}


class RunSuite(unittest.TestCase):
    def test_exit_status(self):
        with tempfile.TemporaryDirectory() as d:
            for name, (body, expected) in SUITES.items():
                with self.subTest(name):
                    path = os.path.join(d, "test_x.py")
                    with open(path, "w") as f:
                        f.write("import unittest\n" + textwrap.dedent(body) +
                                "\nif __name__ == '__main__':\n    unittest.main(verbosity=2)\n")
                    p = subprocess.run([sys.executable, RUN_SUITE, path], capture_output=True,
                                       text=True, timeout=60)
                    self.assertEqual(p.returncode, expected, p.stderr)

    def test_a_file_that_runs_no_unittest_main_fails(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "test_y.py")
            with open(path, "w") as f:
                f.write("print('hello')\n")
            p = subprocess.run([sys.executable, RUN_SUITE, path], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 1, p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
