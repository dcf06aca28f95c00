#!/usr/bin/env python3
"""Contention and interruption at a realistic size, against a real gnome-keyring holding about
1,000 entries: exactly one item per server afterwards, every exit status true to what happened,
get and list always naming the same login; and the promises the old kernel cache broke.

The keyring's truth is read item by item (tests/lib/minibus.py, on one connection),
independently of the helper."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BIN, NOT_FOUND, KeyringSession, run, store_json  # noqa: E402
from test_list import OURS  # noqa: E402

import fill  # noqa: E402  (tests/lib, on the path through common)
import minibus  # noqa: E402


def filled(n):
    """A keyring session holding n entries of ours (server filler-NNNN.example)."""
    ks = KeyringSession().start()
    items = [("Registry login for filler-%04d.example" % i,
              {"xdg:schema": OURS, "server": "filler-%04d.example" % i, "username": "u%d" % i,
               "origin": "login", "expires": "0"}, "s%d" % i) for i in range(n)]
    fill.fill(ks, items)
    return ks


def items_per_server(env):
    """{server: how many of our items hold it}, read from every item."""
    counts = {}
    for _, (a, _) in minibus.items(env["DBUS_SESSION_BUS_ADDRESS"], {"xdg:schema": OURS}).items():
        counts[a.get("server")] = counts.get(a.get("server"), 0) + 1
    return counts


def truth(env):
    """What list must show: {server: username} of the newest item of each server."""
    newest = {}
    for path, (a, modified) in minibus.items(env["DBUS_SESSION_BUS_ADDRESS"],
                                             {"xdg:schema": OURS}).items():
        key = (modified, len(path), path)
        if a.get("server") and key > newest.get(a["server"], ((-1,), ""))[0]:
            newest[a["server"]] = (key, a.get("username", ""))
    return {s: u for s, (_, u) in newest.items()}


class Stress(unittest.TestCase):
    """More than 100 parallel store, erase, get and list calls against 1,000 entries."""

    @classmethod
    def setUpClass(cls):
        cls.ks = filled(1000)
        cls.env = cls.ks.env

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()

    def test_parallel_mixed_verbs_leave_one_item_per_server(self):
        jobs = []
        new = ["new-%03d.example" % i for i in range(40)]
        hot = "hot.example"
        erased = ["filler-%04d.example" % i for i in range(0, 200, 10)]
        changed = ["filler-%04d.example" % i for i in range(5, 200, 10)]
        read = ["filler-%04d.example" % i for i in range(500, 520)]
        with ThreadPoolExecutor(max_workers=120) as pool:
            for n in new:
                jobs.append(("store", n, pool.submit(run, self.env, "store", store_json(n, "nu", "np"),
                                                     timeout=120)))
            for i in range(20):  # twenty logins of one server at once
                jobs.append(("store", hot, pool.submit(run, self.env, "store",
                                                       store_json(hot, "hu%d" % i, "hp%d" % i),
                                                       timeout=120)))
            for n in erased:
                jobs.append(("erase", n, pool.submit(run, self.env, "erase", n, timeout=120)))
            for n in changed:
                jobs.append(("store", n, pool.submit(run, self.env, "store", store_json(n, "cu", "cp"),
                                                     timeout=120)))
            for n in read:
                jobs.append(("get", n, pool.submit(run, self.env, "get", n, timeout=120)))
            for _ in range(10):
                jobs.append(("list", None, pool.submit(run, self.env, "list", timeout=120)))
        self.assertGreaterEqual(len(jobs), 130)
        for verb, server, job in jobs:
            r = job.result()
            with self.subTest(verb=verb, server=server):
                if verb == "get":
                    i = int(server[7:11])
                    want = {"ServerURL": server, "Username": "u%d" % i, "Secret": "s%d" % i}
                    self.assertEqual((r.rc, json.loads(r.out)), (0, want), r)
                else:
                    self.assertEqual((r.rc, r.err), (0, b""), r)
                    if verb != "list":
                        self.assertEqual(r.out, b"", r)
                if verb == "list":
                    # Under churn a list still shows every server that existed throughout:
                    # the untouched ones with their usernames, the changed ones with either.
                    listed = json.loads(r.out)
                    for i in range(1000):
                        n = "filler-%04d.example" % i
                        if n in changed:
                            self.assertIn(listed.get(n), ["u%d" % i, "cu"], n)
                        elif n not in erased:
                            self.assertEqual(listed.get(n), "u%d" % i, n)
        # The keyring, item by item: one item per server, each change as its exit status said.
        counts = items_per_server(self.env)
        self.assertEqual(len(counts), 1000 - len(erased) + len(new) + 1)
        self.assertEqual([s for s, c in counts.items() if c != 1], [])
        listed = json.loads(run(self.env, "list").out)
        self.assertEqual(listed, truth(self.env))
        for n in new:
            self.assertEqual(listed.get(n), "nu")
        for n in erased:
            self.assertNotIn(n, listed)
        for n in changed:
            self.assertEqual(listed.get(n), "cu")
        self.assertIn(listed.get(hot), ["hu%d" % i for i in range(20)])
        r = run(self.env, "get", hot)
        self.assertEqual(json.loads(r.out)["Username"], listed[hot])
        self.assertEqual(len(listed), 1000 - len(erased) + len(new) + 1)


class Contention(unittest.TestCase):
    """The cases reported against 800 entries: 100 parallel stores of distinct servers all
    succeed and all are there; 40 parallel stores of one server leave one item, and get and list
    name the same login. (Before, the wait for the writers' lock used up the keyring's 3 s
    timeout: 85 of 100 failed, 2 of the failed were written, and one server had 3 items.)"""

    @classmethod
    def setUpClass(cls):
        cls.ks = filled(800)
        cls.env = cls.ks.env

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()

    def test_a_hundred_stores_of_distinct_servers(self):
        servers = ["distinct-%03d.example" % i for i in range(100)]
        with ThreadPoolExecutor(max_workers=100) as pool:
            results = list(pool.map(lambda s: run(self.env, "store", store_json(s, "u", "p"),
                                                  timeout=120), servers))
        self.assertEqual([(r.rc, r.out) for r in results], [(0, b"")] * 100,
                         [r for r in results if r.rc][:3])
        counts = items_per_server(self.env)
        self.assertEqual([counts.get(s) for s in servers], [1] * 100)

    def test_forty_stores_of_one_server(self):
        with ThreadPoolExecutor(max_workers=40) as pool:
            results = list(pool.map(lambda i: run(self.env, "store", store_json(
                "one.example", "user%d" % i, "pw%d" % i), timeout=120), range(40)))
        self.assertEqual([(r.rc, r.out) for r in results], [(0, b"")] * 40)
        self.assertEqual(items_per_server(self.env).get("one.example"), 1)
        got = json.loads(run(self.env, "get", "one.example").out)
        listed = json.loads(run(self.env, "list").out)
        self.assertEqual(listed["one.example"], got["Username"])
        self.assertEqual(got["Secret"], "pw" + got["Username"][4:])

    def test_a_lock_wait_that_runs_out_is_said_so(self):
        # Hold the writers' lock from here: a store with a short lock budget says it waited for
        # another helper (not that the keyring did not answer) and changes nothing.
        import fcntl
        d = os.path.join(self.env["XDG_RUNTIME_DIR"], "docker-credential-keyring-%d" % os.getuid())
        os.makedirs(d, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(d, "keyring-writers.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            r = run(dict(self.env, DOCKER_CREDENTIAL_KEYRING_LOCK_TIMEOUT="300ms"), "store",
                    store_json("waited.example", "u", "p"))
        finally:
            os.close(fd)
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.out, rb"^cannot change the keyring: waited 0\.\d s for another "
                                rb"docker-credential-keyring to release .*keyring-writers\.lock "
                                rb"\(the lock-timeout setting\)\n$")
        self.assertNotIn("waited.example", items_per_server(self.env))


class Interrupted(unittest.TestCase):
    """kill -9 of stores part-way: get and list always agree, and the next store of that
    server leaves one item."""

    def test_killed_stores(self):
        with KeyringSession() as ks:
            rng = random.Random(12)
            for round_ in range(30):
                p = subprocess.Popen([BIN, "store"], stdin=subprocess.PIPE, env=ks.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                p.stdin.write(store_json("killed.example", "k%d" % round_, "p%d" % round_).encode())
                p.stdin.close()
                time.sleep(rng.uniform(0, 0.03))
                p.send_signal(signal.SIGKILL)
                p.wait()
                listed = json.loads(run(ks.env, "list").out)
                r = run(ks.env, "get", "killed.example")
                if r.rc == 0:
                    self.assertEqual(json.loads(r.out)["Username"], listed["killed.example"])
                else:
                    self.assertEqual((r.out, listed.get("killed.example")), (NOT_FOUND, None))
            r = run(ks.env, "store", store_json("killed.example", "final", "pf"))
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(items_per_server(ks.env).get("killed.example"), 1)
            self.assertEqual(json.loads(run(ks.env, "list").out)["killed.example"], "final")


class CachePromises(unittest.TestCase):
    """What the kernel cache in front of the keyring used to break (it is gone): an erase made
    with the bus address spelled differently, a server named like one of its internal keys, and
    gets that filled the user's kernel key quota."""

    def test_an_erase_through_another_spelling_of_the_bus_is_seen_at_once(self):
        with KeyringSession() as ks:
            self.assertEqual(run(ks.env, "store", store_json("spelled.example", "u", "p")).rc, 0)
            self.assertEqual(run(ks.env, "get", "spelled.example").rc, 0)
            bare = ks.env["DBUS_SESSION_BUS_ADDRESS"].split(",guid=")[0]
            self.assertNotEqual(bare, ks.env["DBUS_SESSION_BUS_ADDRESS"])
            r = run(dict(ks.env, DBUS_SESSION_BUS_ADDRESS=bare), "erase", "spelled.example")
            self.assertEqual((r.rc, r.out), (0, b""), r)
            r = run(ks.env, "get", "spelled.example")
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)

    def test_a_server_named_gen(self):
        with KeyringSession() as ks:
            for pw in ("first", "second"):
                self.assertEqual(run(ks.env, "store", store_json("gen", "u", pw)).rc, 0)
                r = run(ks.env, "get", "gen")
                self.assertEqual(json.loads(r.out)["Secret"], pw, r)

    def test_gets_from_the_keyring_keep_nothing_in_the_kernel(self):
        with KeyringSession() as ks:
            token = "t" * 2800
            for i in range(8):
                self.assertEqual(run(ks.env, "store", store_json("big%d.example" % i, "u", token)).rc, 0)
            for i in range(8):
                self.assertEqual(run(ks.env, "get", "big%d.example" % i).rc, 0)
            with open("/proc/keys", "rb") as f:  # (keys an older version left expire: "expd")
                ours = [line for line in f if b"big" in line and b".example" in line and
                        line.split()[3] != b"expd"]
            self.assertEqual(ours, [])


class PropertyWholePath(unittest.TestCase):
    """Seeded random inputs — mutated store documents, invalid UTF-8, escapes, NUL, huge and
    empty fields — driven through the binary into a real gnome-keyring: every answer is the
    protocol's (one line, or the exact get answer), nothing crashes, and whatever store accepted
    reads back byte for byte. Each seed's count of accepted documents has a floor: a run in
    which store refused (almost) everything would check the read-back of nothing."""

    def drive(self, rng, pieces, n=150):
        """n documents from rng and pieces through store (and get and erase when accepted);
        returns how many store accepted."""
        accepted = 0

        def field():
            return b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))

        with KeyringSession() as ks:
            for i in range(n):
                server = b"h%d.example" % i + field()
                user, secret = field() or b"u", field()
                doc = b'{"ServerURL":"' + server + b'","Username":"' + user + b'","Secret":"' + \
                    secret + b'"}'
                if rng.random() < 0.2:
                    doc = doc[:rng.randint(0, len(doc))]
                r = run(ks.env, "store", doc)
                self.assertIn(r.rc, (0, 1), r)
                self.assertNotIn(b"CRITICAL", r.err, r)
                self.assertNotIn(b"WARNING", r.err, r)
                if r.rc:
                    self.assertEqual(r.out.count(b"\n"), 1, r)
                    continue
                self.assertEqual(r.out, b"", r)
                want = json.loads(doc)  # what store accepted is JSON by Python's strict rules too
                g = run(ks.env, "get", want["ServerURL"].encode())
                self.assertEqual(g.rc, 0, (doc, g))
                self.assertEqual(json.loads(g.out), want, (doc, g))
                e = run(ks.env, "erase", want["ServerURL"].encode())
                self.assertEqual((e.rc, e.out), (0, b""), (doc, e))
                accepted += 1
        return accepted

    def test_random_inputs(self):
        # Four of the 16 pieces are invalid UTF-8 and one a raw control character, so most
        # documents are refused: with this seed, 3 of 150 are accepted (measured).
        rng = random.Random(2026)
        pieces = [b"a", b"\xc1\x81", b"\xf5\x80\x80\x80", b"\xed\xa0\x80", b"\\u0000", b"\\ud800",
                  b"\\\"", b"\\\\", b"\xe2\x82\xac", b"\x01", b" ", b":", b"/", b"\xff", b"%", b"\\n"]
        self.assertGreaterEqual(self.drive(rng, pieces), 2)

    def test_random_valid_utf8(self):
        # The same, from pieces that are all valid UTF-8 (escapes, an escaped NUL and a
        # surrogate pair; raw control characters and cut documents still among them), so that
        # many documents are accepted and read back: with this seed, 45 of 150 (measured). No
        # lone surrogate (\\ud800): json-c reads it as U+FFFD, which store accepts and get
        # then answers, so it would not read back as sent. No space: get trims its input (as
        # docker's helpers do), so a server that ends in one is stored but never found.
        rng = random.Random(2027)
        pieces = [b"a", b"\\u0000", b"\\ud83d\\udc33", b"\\\"", b"\\\\", b"\xe2\x82\xac", b"\x01", b"+",
                  b":", b"/", b"%", b"\\n", b"\\u00e9", b"\xf0\x9f\x90\xb3", b"\\/", b"~"]
        self.assertGreaterEqual(self.drive(rng, pieces), 40)


if __name__ == "__main__":
    unittest.main(verbosity=2)
