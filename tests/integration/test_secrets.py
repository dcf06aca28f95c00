"""Secrets hygiene: a recognisable secret goes through every verb and every error path, and must
never come back on stderr, in an error answer on stdout, in the process's argv or environment;
the process must not be dumpable (no core dump, /proc hides its memory from other users).

The only place the secret may appear is the stdout of a successful `get`: the tests check that
it does appear there, so a secret that the checks could not see would fail them."""
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from common import (BIN, NOT_FOUND, KeyringCase, KeyringSession, copy_for_anyone, no_bus_env, run,
                    store_json)

SECRET = "S3cr3t-dck-7d4e1f9a-never-print-me"
# A piece of it too: a message that quotes a truncated input must not pass either.
MARKS = (SECRET.encode(), b"7d4e1f9a")
SERVER = "secrets.example.com"
STORE = store_json(SERVER, "alice", SECRET)



class Hygiene:
    def assert_no_secret(self, data, what, r=None):
        for m in MARKS:
            self.assertNotIn(m, data, "%s holds the secret: %r" % (what, r if r else data[:300]))

    def assert_clean(self, r, ok_stdout=False):
        """stderr never holds the secret; stdout only on a successful get (ok_stdout)."""
        self.assert_no_secret(r.err, "stderr", r)
        if not (ok_stdout and r.rc == 0):
            self.assert_no_secret(r.out, "stdout", r)


class EveryVerb(Hygiene, KeyringCase):
    def test_store_get_list_erase(self):
        r = self.run_helper("store", STORE)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assert_clean(r)
        r = self.run_helper("get", SERVER)
        self.assertEqual(r.rc, 0, r)
        self.assertIn(MARKS[0], r.out)  # the checks can see the secret where it belongs
        self.assert_clean(r, ok_stdout=True)
        r = self.run_helper("list")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(SERVER.encode(), r.out)
        self.assert_clean(r)
        r = self.run_helper("erase", SERVER)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assert_clean(r)
        r = self.run_helper("get", SERVER)
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assert_clean(r)

    def test_bad_json_holding_the_secret(self):
        s = SECRET
        inputs = [
            '{"ServerURL":"%s","Username":"u","Secret":"%s"' % (SERVER, s),      # truncated
            '{"ServerURL":"%s","Username":"u","Secret":"%s' % (SERVER, s),       # inside a string
            '{"ServerURL":"%s","Username":"u","Secret":"%s"} x' % (SERVER, s),   # trailing data
            '{"Username":"u","Secret":"%s"}' % s,                                # no server
            '{"ServerURL":"%s","Secret":"%s"}' % (SERVER, s),                    # no username
            '{"ServerURL":"%s","Username":"u","Secret":["%s"]}' % (SERVER, s),   # not a string
            '{"ServerURL":"%s\\u0001","Username":"u","Secret":"%s"}' % (SERVER, s),
            '{"ServerURL":"%s","Username":"u\\u0000","Secret":"%s"}' % (SERVER, s),
            '{"ServerURL":"%s","Username":"u","Secret":"%s",}' % (SERVER, s),    # trailing comma
            '{"ServerURL":"%s","Username":"u","Secret":%s}' % (SERVER, s),       # bare word
            '["%s"]' % s,
            s,
        ]
        for text in inputs:
            with self.subTest(text=text):
                r = self.run_helper("store", text)
                self.assertEqual(r.rc, 1, r)
                self.assertEqual(r.out.count(b"\n"), 1, r)
                self.assert_clean(r)
        # Invalid UTF-8 right after the secret.
        r = self.run_helper("store", b'{"ServerURL":"x","Username":"u","Secret":"' + MARKS[0] +
                            b'\xff\xfe"}')
        self.assert_clean(r)

    def test_get_and_erase_with_the_secret_as_input(self):
        # A secret piped to the wrong verb, with a control character so it is refused.
        for verb in ("get", "erase"):
            with self.subTest(verb=verb):
                r = self.run_helper(verb, SECRET + "\x01")
                self.assertEqual(r.rc, 1, r)
                self.assert_clean(r)

    def test_oversized_input(self):
        big = ('{"ServerURL":"%s","Username":"u","Secret":"%s' % (SERVER, SECRET) +
               "A" * (8 * 1024 * 1024) + '"}')
        for verb, data in (("store", big), ("get", SECRET + "A" * (8 * 1024 * 1024 + 1))):
            with self.subTest(verb=verb):
                r = self.run_helper(verb, data)
                self.assertEqual(r.rc, 1, r)
                self.assert_clean(r)


class LockedKeyring(Hygiene, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ks = KeyringSession().start()
        assert run(cls.ks.env, "store", STORE).rc == 0
        cls.ks.restart_keyring(locked=True)

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()

    def test_every_verb(self):
        for verb, data in (("store", STORE), ("get", SERVER), ("list", ""), ("erase", SERVER)):
            with self.subTest(verb=verb):
                r = run(self.ks.env, verb, data)
                self.assert_clean(r)
                if verb != "list":
                    self.assertEqual(r.rc, 1, r)


class NoBus(Hygiene, unittest.TestCase):
    def test_every_verb(self):
        # The kernel keyring is the store (get answers the secret), and the Secret Service forced
        # without a bus fails on every path: neither says the secret anywhere else.
        for env in (no_bus_env(), dict(no_bus_env(), DOCKER_CREDENTIAL_KEYRING_STORE="secret-service")):
            for verb, data in (("store", STORE), ("get", SERVER), ("list", ""), ("erase", SERVER)):
                with self.subTest(verb=verb, store=env.get("DOCKER_CREDENTIAL_KEYRING_STORE")):
                    r = run(env, verb, data)
                    self.assert_clean(r, ok_stdout=verb == "get")


def _read_proc(pid, name):
    """The bytes of /proc/pid/name, or None when the kernel refuses (a non-dumpable process
    hides these files from other users: that is the protection, not a failure)."""
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except PermissionError:
        return None


class WhileRunning(Hygiene, unittest.TestCase):
    """A helper blocked on a frozen keyring is still running with the secret in memory: its argv
    and environment must not hold it."""

    def setUp(self):
        self.ks = KeyringSession().start()
        self.assertEqual(run(self.ks.env, "store", STORE).rc, 0)
        self.ks.freeze_keyring()
        self.env = dict(self.ks.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="4s")

    def tearDown(self):
        self.ks.thaw_keyring()
        self.ks.stop()

    def check_blocked(self, verb, data):
        p = subprocess.Popen([BIN, verb], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        out = {}
        t = threading.Thread(target=lambda: out.update(zip(("out", "err"), p.communicate(data))))
        t.start()
        try:
            time.sleep(1.0)  # the input is read; the keyring call is waiting on the frozen daemon
            self.assertIsNone(p.poll(), "the helper did not block on the frozen keyring")
            cmdline = _read_proc(p.pid, "cmdline")
            self.assertEqual(cmdline, BIN.encode() + b"\0" + verb.encode() + b"\0")
            environ = _read_proc(p.pid, "environ")
            if environ is not None:  # readable as root (or when dumpable): check it
                self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_TIMEOUT=4s", environ)
                self.assert_no_secret(environ, "/proc/pid/environ")
        finally:
            t.join(30)
        self.assert_no_secret(out["err"], "stderr")
        self.assert_no_secret(out["out"], "stdout")
        self.assertEqual(p.returncode, 1)

    def test_store(self):
        self.check_blocked("store", STORE.encode())

    def test_get(self):
        self.check_blocked("get", SERVER.encode())


class NotDumpable(unittest.TestCase):
    """The kernel makes /proc/<pid>/{environ,mem,…} of a non-dumpable process owned by root
    (fs/proc/base.c, task_dump_owner), and refuses core dumps for it. Run the helper as a user
    other than root (nobody, when the tests run as root), let it block reading stdin (prctl runs
    first thing in main), and look at who owns its /proc files. The same check on `cat`, which is
    dumpable, must see the process's own uid: so the test fails if the prctl goes away."""

    @classmethod
    def setUpClass(cls):
        # nobody must be able to reach the binary: a checkout under a private directory
        # (mktemp -d is 0700) is not. Run a copy from a directory anyone can enter.
        cls.dir = tempfile.mkdtemp(prefix="dck-dumpable-")
        cls.bin = copy_for_anyone(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def spawn(self, argv):
        kw = {}
        if os.getuid() == 0:
            kw = dict(user=65534, group=65534, extra_groups=[])
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd="/", **kw)

    def owner_after_start(self, argv, want):
        p = self.spawn(argv)
        try:
            deadline = time.monotonic() + 5
            while True:
                uid = os.stat("/proc/%d/environ" % p.pid).st_uid
                with open("/proc/%d/status" % p.pid) as f:
                    real = int([l for l in f if l.startswith("Uid:")][0].split()[1])
                exe = os.readlink("/proc/%d/exe" % p.pid)
                started = exe == os.path.realpath(argv[0])
                if started and (uid == want(real) or time.monotonic() > deadline):
                    return uid, real
                time.sleep(0.05)
        finally:
            p.stdin.close()
            p.wait(20)

    def test_control_a_dumpable_process_owns_its_proc_files(self):
        cat = subprocess.run(["sh", "-c", "command -v cat"], stdout=subprocess.PIPE,
                             check=True).stdout.decode().strip()
        uid, real = self.owner_after_start([cat], lambda real: real)
        self.assertEqual(uid, real)
        self.assertNotEqual(real, 0)

    def test_helper_is_not_dumpable(self):
        uid, real = self.owner_after_start([self.bin, "store"], lambda real: 0)
        self.assertNotEqual(real, 0)
        self.assertEqual(uid, 0, "/proc/<pid>/environ belongs to the helper's own user: it is "
                                 "dumpable (PR_SET_DUMPABLE missing?)")

    def test_write_behind_child_is_not_dumpable(self):
        # The child a get starts to store a fetched copy (helper/write_behind.h) is this binary
        # with the internal verb cache-copy; it reads the copy from stdin as store does.
        uid, real = self.owner_after_start([self.bin, "cache-copy"], lambda real: 0)
        self.assertNotEqual(real, 0)
        self.assertEqual(uid, 0, "the write-behind child is dumpable")


if __name__ == "__main__":
    unittest.main(verbosity=2)
