"""Shared pieces of the integration tests: run the real binary, as a client would, against a
private gnome-keyring (tests/lib/keyring.py). DCK_BIN names the binary under test."""
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from keyring import KeyringSession, forget_kernel_keyring, kernel_keyring_name  # noqa: E402,F401

BIN = os.environ.get("DCK_BIN") or os.path.join(HERE, "..", "..", "build", "helper",
                                                "docker-credential-keyring")
NOT_FOUND = b"credentials not found in native keychain\n"


class Result:
    def __init__(self, rc, out, err, seconds):
        self.rc, self.out, self.err, self.seconds = rc, out, err, seconds

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r, %.3fs)" % (self.rc, self.out[:200], self.err[:300],
                                                         self.seconds)


def run(env, verb, stdin=b"", timeout=20, argv0=None, args=None):
    """Run the helper with one verb (or args) and stdin; returns a Result."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    # argv0: run the binary under another name, as an installed alias link would.
    argv = [argv0 or BIN] + (args if args is not None else [verb])
    start = time.monotonic()
    p = subprocess.run(argv, input=stdin, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout,
                       executable=BIN if argv0 else None)
    return Result(p.returncode, p.stdout, p.stderr, time.monotonic() - start)


def no_bus_env():
    """The environment of a machine with no session bus (a bare server, a CI runner): the
    helper keeps logins in the kernel keyring there, in a keyring of this test run's own
    (removed when the tests end)."""
    import atexit
    import tempfile
    env = dict(os.environ)
    for var in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(var, None)
    env["XDG_RUNTIME_DIR"] = "/nonexistent-runtime-dir"
    name = kernel_keyring_name(tempfile.mktemp(prefix="nobus-"))
    env["DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING"] = name
    atexit.register(forget_kernel_keyring, name)
    return env


def store_json(server, username, secret):
    import json
    return json.dumps({"ServerURL": server, "Username": username, "Secret": secret})


class KeyringCase(unittest.TestCase):
    """A test class with one private, unlocked keyring for all its tests."""
    locked = False

    @classmethod
    def setUpClass(cls):
        cls.ks = KeyringSession(locked=cls.locked).start()
        cls.env = cls.ks.env

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()

    def run_helper(self, verb, stdin=b"", **kw):
        return run(self.env, verb, stdin, **kw)

    def store(self, server, username, secret):
        r = self.run_helper("store", store_json(server, username, secret))
        self.assertEqual((r.rc, r.out), (0, b""), r)

    def get_ok(self, server, username, secret):
        import json
        r = self.run_helper("get", server)
        want = (json.dumps({"ServerURL": server, "Username": username, "Secret": secret},
                           separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        self.assertEqual((r.rc, r.out), (0, want), r)

    def assert_miss(self, server):
        r = self.run_helper("get", server)
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        return r


def keyctl_works():
    # Kernels without CONFIG_KEYS have no /proc/keys; there the cache is off and these skip.
    try:
        with open("/proc/keys"):
            return True
    except OSError:
        return False


def copy_for_anyone(tmpdir):
    """A copy of the binary and its plugins (store/base/plugin.h: they sit in ../lib beside it)
    under tmpdir, where any user can run it: a checkout under a private directory (mktemp -d is
    0700) is out of reach of the other users some tests run as. Returns the binary's path."""
    import shutil
    build = os.path.dirname(os.path.dirname(os.path.realpath(BIN)))
    os.chmod(tmpdir, 0o755)
    os.makedirs(os.path.join(tmpdir, "helper"), mode=0o755)
    copy = os.path.join(tmpdir, "helper", os.path.basename(BIN))
    shutil.copy2(os.path.realpath(BIN), copy)
    os.chmod(copy, 0o755)
    if os.path.isdir(os.path.join(build, "lib")):
        shutil.copytree(os.path.join(build, "lib"), os.path.join(tmpdir, "lib"))
    for root, dirs, files in os.walk(tmpdir):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755)
    return copy
