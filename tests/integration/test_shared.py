#!/usr/bin/env python3
"""A shared machine: another local user trying to get in the way of this user's helper.

The lock directory (store/base/session.h): another user who creates it first in /tmp, an
XDG_RUNTIME_DIR of /tmp, and a runtime directory that belongs to someone else (`sudo -E`) must
neither block the helper nor make it write where it should not. The debug log file
(helper/log.h): a FIFO at its path must not hang a call, and another user's file, or one others
can read, is never written.

/tmp is private to each case: the helper runs in a mount namespace with a tmpfs on /tmp, and the
keyring session lives under /var/tmp, so nothing here touches the machine's /tmp."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, KeyringSession, copy_for_anyone, store_json  # noqa: E402

NOBODY = 65534
DO_HOST = "registry.digitalocean.com"  # store and erase of a source's host take a lock too


def can_unshare():
    return os.geteuid() == 0 and shutil.which("unshare") and subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True).returncode == 0


@unittest.skipUnless(can_unshare(), "needs root and unshare --mount")
class SharedTmp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.old_tempdir = tempfile.tempdir
        # The session's bus, and a copy of the binary, out of /tmp: they stay visible under the
        # private /tmp (a build directory may well be in /tmp).
        tempfile.tempdir = "/var/tmp"
        cls.ks = KeyringSession().start()
        cls.dir = tempfile.mkdtemp(prefix="dck-shared-")
        cls.bin = copy_for_anyone(cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)
        tempfile.tempdir = cls.old_tempdir

    def in_private_tmp(self, setup, verb, stdin, **env):
        """Run the helper with a fresh tmpfs on /tmp, after the shell commands setup (as root,
        which plays the other user with chown) ran there. Returns (exit status, stdout, the
        listing of /tmp afterwards as "name uid mode" lines)."""
        e = dict(self.ks.env, **env)
        for k, v in list(env.items()):
            if v is None:
                e.pop(k)
        script = ('mount -t tmpfs -o mode=1777 none /tmp && %s && "$0" %s; rc=$?; '
                  'stat -c "%%n %%u %%a" /tmp/* 2>/dev/null; exit $rc' % (setup, verb))
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                            self.bin], input=stdin, env=e, capture_output=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_a_lock_directory_another_user_made_first_is_skipped(self):
        setup = ("mkdir -m 0777 /tmp/docker-credential-keyring-0 && "
                 "chown %d /tmp/docker-credential-keyring-0" % NOBODY)
        for verb, stdin in (("store", store_json("shared.example", "u", "p")),
                            ("store", store_json(DO_HOST, "u", "p")),
                            ("erase", "shared.example")):
            with self.subTest(verb=verb, stdin=stdin[:40]):
                rc, out, err = self.in_private_tmp(setup, verb, stdin.encode(), XDG_RUNTIME_DIR=None)
                self.assertEqual((rc, out.split(b"\n")[0]), (0, b"/tmp/docker-credential-keyring-0 "
                                                                b"%d 777" % NOBODY), (out, err))
                self.assertIn(b"/tmp/docker-credential-keyring-0.1 0 700", out, (out, err))

    def test_a_runtime_directory_anyone_can_write_is_not_used(self):
        # XDG_RUNTIME_DIR=/tmp: the lock directory must not be /tmp/docker-credential-keyring,
        # a name another user can take first; it is the uid's own in /tmp.
        setup = ("mkdir -m 0777 /tmp/docker-credential-keyring && "
                 "chown %d /tmp/docker-credential-keyring" % NOBODY)
        rc, out, err = self.in_private_tmp(setup, "store", store_json(DO_HOST, "u", "p").encode(),
                                           XDG_RUNTIME_DIR="/tmp")
        self.assertEqual(rc, 0, (out, err))
        self.assertIn(b"/tmp/docker-credential-keyring-0 0 700", out)

    def test_root_with_a_users_runtime_directory_leaves_nothing_in_it(self):
        # sudo -E: root's helper sees the user's XDG_RUNTIME_DIR. A lock directory it made there
        # would be root's, and block the user's own helper until logout.
        runtime = tempfile.mkdtemp(prefix="dck-user-run-")
        try:
            os.chown(runtime, NOBODY, NOBODY)
            os.chmod(runtime, 0o700)
            rc, out, err = self.in_private_tmp("true", "store", store_json(DO_HOST, "u", "p").encode(),
                                               XDG_RUNTIME_DIR=runtime)
            self.assertEqual(rc, 0, (out, err))
            self.assertEqual(os.listdir(runtime), [])
        finally:
            shutil.rmtree(runtime, ignore_errors=True)


class DebugLog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ks = KeyringSession().start()
        cls.dir = tempfile.mkdtemp(prefix="dck-log-")
        os.chmod(cls.dir, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def get(self, path):
        env = dict(self.ks.env, DOCKER_CREDENTIAL_KEYRING_DEBUG="1",
                   DOCKER_CREDENTIAL_KEYRING_LOG_FILE=path)
        return subprocess.run([BIN, "get"], input=b"nothing.example", env=env, capture_output=True,
                              timeout=10)

    def test_a_fifo_does_not_hang_a_call(self):
        fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(fifo, 0o600)
        p = self.get(fifo)  # nobody reads the FIFO: an open for writing would wait for ever
        self.assertEqual((p.returncode, p.stdout), (1, b"credentials not found in native keychain\n"))
        self.assertIn(b"debug: get", p.stderr)  # the log still goes to stderr

    def test_a_file_of_another_user_or_readable_by_others_is_not_written(self):
        if os.geteuid() == 0:
            theirs = os.path.join(self.dir, "theirs.log")
            with open(theirs, "w"):
                pass
            os.chown(theirs, NOBODY, NOBODY)
            os.chmod(theirs, 0o666)
            self.get(theirs)
            self.assertEqual(os.path.getsize(theirs), 0)
        open_to_all = os.path.join(self.dir, "open.log")
        with open(open_to_all, "w"):
            pass
        os.chmod(open_to_all, 0o644)
        self.get(open_to_all)
        self.assertEqual(os.path.getsize(open_to_all), 0)

    def test_a_new_file_is_made_private_and_written(self):
        path = os.path.join(self.dir, "new.log")
        self.get(path)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path, "rb") as f:
            self.assertIn(b"docker-credential-keyring: debug: get", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
