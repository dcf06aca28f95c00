#!/usr/bin/env python3
"""Write-behind (helper/write_behind.h) through the real binary, the fake DigitalOcean API
(tests/fakes/fake_do.py) and a private gnome-keyring: a cold get answers without waiting for the
keyring's write, and a detached child stores the copy afterwards.

What a user sees, checked: the answer, then the copy in the keyring shortly after, one API
request; a second get right after asks nothing more; erase or store right after a get wait for
the child and win; 16 parallel cold gets make one request and one entry; `write-behind = false`
stores before answering; the child's argv and environment hold no secret, it holds neither of
get's output pipes, runs in its own session and holds the fetch lock; without /proc the copy is
stored before answering; a keyring that does not answer keeps the login it holds (the copy goes
to the kernel keyring instead).

The deterministic cases hold the keyring writers' lock (store/base/lockfile.h) from the test:
get reads without it and answers, and its child visibly waits to store the copy."""
import fcntl
import os
import shutil
import subprocess
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import test_digitalocean as do
from common import BIN, NOT_FOUND, run, store_json

HOST = do.HOST
VERB = b"cache-copy"


def setUpModule():
    do.setUpModule()


def tearDownModule():
    do.tearDownModule()


def children(session_dir):
    """pids of running write-behind children of this keyring session: their fetch lock (fd 3)
    lives in its runtime directory, which keeps other tests' children out. As a user other
    than root a child's /proc files but cmdline are hidden (it is not dumpable): then every
    cache-copy child counts."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                if f.read().split(b"\0")[1:2] != [VERB]:
                    continue
            if not os.readlink("/proc/%s/fd/3" % name).startswith(session_dir + "/"):
                continue
        except PermissionError:
            pass
        except OSError:
            continue  # gone, or not holding a lock
        pids.append(int(name))
    return pids


def secret_tool_items(env, server):
    """How many keyring items have this server attribute (read without the helper)."""
    p = subprocess.run(["secret-tool", "search", "--all", "server", server], env=env,
                       capture_output=True, text=True, timeout=20)
    return sum(1 for line in p.stdout.splitlines() if line.startswith("["))


class WriteBehindCase(do.DoCase):
    def setUp(self):
        super().setUp()
        self.frozen = False
        self.lock_fd = None

    def tearDown(self):
        if self.frozen:
            self.ks.thaw_keyring()
        if self.lock_fd is not None:
            self.release_writers_lock()
        self.wait_for_children()

    def thaw(self):
        self.ks.thaw_keyring()
        self.frozen = False

    def wait_for_children(self, seconds=15):
        deadline = time.monotonic() + seconds
        while children(self.ks.dir):
            self.assertLess(time.monotonic(), deadline, "a write-behind child is still running")
            time.sleep(0.02)

    def api_count(self):
        return len(self.fake.api_requests())

    def hold_writers_lock(self):
        """Take the lock every writer of the keyring takes: the next cold get answers (reads
        take no lock), and its child waits to store the copy until release_writers_lock."""
        path = os.path.join(self.env["XDG_RUNTIME_DIR"], "docker-credential-keyring-%d" % os.getuid())
        os.makedirs(path, mode=0o700, exist_ok=True)
        self.lock_fd = os.open(os.path.join(path, "keyring-writers.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)

    def release_writers_lock(self):
        os.close(self.lock_fd)
        self.lock_fd = None


class Cold(WriteBehindCase):
    def test_cold_get_answers_then_the_copy_reaches_the_keyring(self):
        password = self.get_ok()
        self.assertEqual(self.listed_once_stored().get(HOST), do.EMAIL)
        self.assertEqual(self.api_count(), 1)
        # What the keyring holds is the copy the client got.
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, do.answer(HOST, do.EMAIL, password)), r)
        self.assertEqual(self.api_count(), 1)
        self.wait_for_children()
        self.assertEqual(secret_tool_items(self.env, HOST), 1)

    def test_second_get_right_after_asks_nothing(self):
        password = self.get_ok()
        # This get may miss the keyring while the child writes: it waits for the fetch lock the
        # child holds, and then finds the copy.
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, do.answer(HOST, do.EMAIL, password)), r)
        self.assertEqual(self.api_count(), 1)

    def test_parallel_cold_gets_make_one_request_and_one_entry(self):
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda _: self.get(), range(16)))
        minted = self.fake.minted()
        self.assertEqual(self.api_count(), 1, [r.err for r in results])
        want = do.answer(HOST, do.EMAIL, minted[0]["password"])
        self.assertEqual([(r.rc, r.out) for r in results], [(0, want)] * 16)
        self.wait_for_children()
        self.assertEqual(secret_tool_items(self.env, HOST), 1)
        self.assertEqual(self.listed().get(HOST), do.EMAIL)


class UserChanges(WriteBehindCase):
    def test_erase_right_after_a_get_waits_and_revokes(self):
        password = self.get_ok()
        r = run(self.env, "erase", HOST)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.wait_for_children()
        self.assertNotIn(HOST, self.listed())
        self.assertEqual(secret_tool_items(self.env, HOST), 0)
        revokes = self.fake.api_requests("/v1/oauth/revoke")
        self.assertEqual([x["body"] for x in revokes], ["token=" + password])
        self.assertEqual([m["revoked"] for m in self.fake.minted()], [True])

    def test_store_right_after_a_get_keeps_the_login(self):
        self.get_ok()
        r = run(self.env, "store", store_json(HOST, "me@example.com", "my-own-secret"))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.wait_for_children()
        want = do.answer(HOST, "me@example.com", "my-own-secret")
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, want), r)
        self.assertEqual(self.listed().get(HOST), "me@example.com")
        self.assertEqual(secret_tool_items(self.env, HOST), 1)
        self.assertEqual(self.api_count(), 1)

    def change_while_a_child_is_stuck(self, verb, stdin):
        """A cold get whose child waits to store its copy, then verb: it must wait for the
        child's fetch lock (its debug log says so), not go first. Returns the get's password."""
        env = self.env_with(DOCKER_CREDENTIAL_KEYRING_LOCK_TIMEOUT="20s")
        self.hold_writers_lock()
        r = run(env, "get", HOST)
        self.assertEqual(r.rc, 0, r)
        change = subprocess.Popen([BIN, verb], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  env=dict(env, DOCKER_CREDENTIAL_KEYRING_DEBUG="1"))
        res = {}
        t = threading.Thread(target=lambda: res.update(
            zip(("out", "err"), change.communicate(stdin.encode(), timeout=60))))
        t.start()
        time.sleep(0.5)
        self.assertIsNone(change.poll(), "%s did not wait" % verb)
        self.release_writers_lock()
        t.join(60)
        self.assertEqual((change.returncode, res["out"]), (0, b""), res)
        # It waited for the child's lock, not only for the frozen keyring.
        self.assertRegex(res["err"], rb"waited \d+ ms for the single-flight lock")
        self.wait_for_children()
        return self.fake.minted()[-1]["password"]

    def test_a_keyring_that_does_not_answer_keeps_the_login(self):
        # The keyring times out: the get fetches and answers, but its copy must not replace
        # the login the keyring may hold (here: does hold) once it answers again. The copy
        # waits in the kernel keyring instead, and the login wins once the keyring answers.
        r = run(self.env, "store", store_json(HOST, "me@example.com", "mine"))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.ks.freeze_keyring()
        self.frozen = True
        r = self.get(DOCKER_CREDENTIAL_KEYRING_TIMEOUT="500ms")
        minted = self.fake.minted()[-1]
        self.assertEqual((r.rc, r.out), (0, do.answer(HOST, minted["username"], minted["password"])), r)
        self.assertEqual(children(self.ks.dir), [], "a child would store the copy")
        self.thaw()
        self.wait_for_children()
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, do.answer(HOST, "me@example.com", "mine")), r)
        self.assertEqual(secret_tool_items(self.env, HOST), 1)

    def test_a_keyring_that_answers_the_second_look_gives_the_login(self):
        # The first look times out (600 ms); the keyring is back for the look under the fetch
        # lock, which finds the login: that is the answer, and nothing is fetched.
        r = run(self.env, "store", store_json(HOST, "me@example.com", "mine"))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.ks.freeze_keyring()
        self.frozen = True
        threading.Timer(0.9, self.thaw).start()
        r = self.get(DOCKER_CREDENTIAL_KEYRING_TIMEOUT="600ms")
        self.assertEqual((r.rc, r.out), (0, do.answer(HOST, "me@example.com", "mine")), r)
        self.assertEqual(self.api_count(), 0)

    def test_erase_waits_for_a_child_stuck_in_the_keyring(self):
        password = self.change_while_a_child_is_stuck("erase", HOST)
        self.assertEqual(secret_tool_items(self.env, HOST), 0)
        self.assertEqual([x["body"] for x in self.fake.api_requests("/v1/oauth/revoke")],
                         ["token=" + password])

    def test_store_waits_for_a_child_stuck_in_the_keyring(self):
        self.change_while_a_child_is_stuck("store", store_json(HOST, "me@example.com", "mine"))
        self.assertEqual(secret_tool_items(self.env, HOST), 1)
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, do.answer(HOST, "me@example.com", "mine")), r)


@unittest.skipUnless(os.geteuid() == 0, "a child's /proc files are hidden from its own user")
class Detached(WriteBehindCase):
    def test_answer_does_not_wait_for_the_keyring(self):
        env = self.env_with(DOCKER_CREDENTIAL_KEYRING_LOCK_TIMEOUT="20s")
        self.hold_writers_lock()
        # Pipes, as docker and podman read the helper: communicate returns at end of file on
        # both, so a child holding either would keep it waiting until the keyring answers.
        start = time.monotonic()
        p = subprocess.Popen([BIN, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        out, err = p.communicate(HOST.encode(), timeout=10)
        self.assertLess(time.monotonic() - start, 5)
        password = self.fake.minted()[-1]["password"]
        self.assertEqual((p.returncode, out, err), (0, do.answer(HOST, do.EMAIL, password), b""))
        pids = children(self.ks.dir)
        self.assertEqual(len(pids), 1, "no child waiting for the keyring")
        self.check_child(pids[0], password)
        self.release_writers_lock()
        self.assertEqual(self.listed_once_stored().get(HOST), do.EMAIL)
        self.assertEqual(self.api_count(), 1)

    def check_child(self, pid, password):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            self.assertEqual(f.read(), b"docker-credential-keyring\0cache-copy\0")
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                environ = f.read()
        except PermissionError:
            environ = None  # not dumpable and not ours to read: that is the protection
        if environ is not None:
            self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_LOCK_TIMEOUT=20s", environ)  # inherited
            self.assertNotIn(password.encode(), environ)
        # 0 to 3 are what the spawn handed over; the child, busy in libsecret, may open and
        # close others while we look.
        fds = {fd: os.readlink("/proc/%d/fd/%d" % (pid, fd)) for fd in range(4)}
        self.assertTrue(fds[0].startswith("pipe:"), fds)
        self.assertEqual((fds[1], fds[2]), ("/dev/null", "/dev/null"))
        self.assertRegex(fds[3], r"/docker-credential-keyring-%d/fetch-digitalocean-[0-9a-f]{16}\.lock$"
                         % os.getuid())
        self.assertEqual(os.getsid(pid), pid, "the child has no session of its own")


class Settings(WriteBehindCase):
    def test_write_behind_false_stores_before_answering(self):
        with open(os.path.join(self.ks.dir, "config"), "w") as f:
            f.write("write-behind = false\n")
        for changes in ({"DOCKER_CREDENTIAL_KEYRING_WRITE_BEHIND": "false"},
                        {"DOCKER_CREDENTIAL_KEYRING_CONFIG": os.path.join(self.ks.dir, "config")}):
            with self.subTest(changes=changes):
                run(self.env, "erase", HOST)
                self.fake.reset()
                r = self.get(DOCKER_CREDENTIAL_KEYRING_DEBUG="1", **changes)
                self.assertEqual(r.rc, 0, r)
                self.assertNotIn(b"write-behind child", r.err)
                # No waiting: the copy is there when get returns.
                self.assertEqual(secret_tool_items(self.env, HOST), 1)
                if os.geteuid() == 0:
                    self.assertEqual(children(self.ks.dir), [])

    def test_a_bad_value_is_named(self):
        r = self.get(DOCKER_CREDENTIAL_KEYRING_WRITE_BEHIND="sometimes")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_WRITE_BEHIND", r.err)
        self.assertEqual(self.fake.requests(), [])

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                         "needs root and unshare to hide /proc")
    def test_without_proc_the_copy_is_stored_before_answering(self):
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount -t tmpfs none /proc && exec "$0" get', BIN],
                           input=HOST.encode(), capture_output=True, timeout=30,
                           env=dict(self.env, DOCKER_CREDENTIAL_KEYRING_DEBUG="1"))
        password = self.fake.minted()[-1]["password"]
        self.assertEqual(r.stdout, do.answer(HOST, do.EMAIL, password), r)
        # LeakSanitizer (the ASan build) fails at exit without /proc, whatever the program did.
        asan = b"libasan" in subprocess.run(["ldd", BIN], capture_output=True).stdout
        if not asan:
            self.assertEqual(r.returncode, 0, r)
        self.assertIn(b"no write-behind (cannot start /proc/self/exe", r.stderr)
        self.assertEqual(secret_tool_items(self.env, HOST), 1)
        self.assertEqual(self.listed().get(HOST), do.EMAIL)


class InternalVerb(WriteBehindCase):
    def test_cache_copy_is_not_advertised_and_prints_nothing(self):
        r = run(self.env, None, args=["--help"])
        self.assertNotIn(VERB, r.out)
        r = run(self.env, None, stdin=b"not a copy", args=["cache-copy"])
        self.assertEqual((r.rc, r.out, r.err), (1, b"", b""), r)
        copy = (b'{"ServerURL":"registry.digitalocean.com","Username":"me","Secret":"s3cr3t",'
                b'"Origin":"digitalocean","Expires":0}')
        r = run(self.env, None, stdin=copy, args=["cache-copy"])
        self.assertEqual((r.rc, r.out, r.err), (0, b"", b""), r)
        self.assertEqual(self.listed().get(HOST), "me")


if __name__ == "__main__":
    unittest.main(verbosity=2)
