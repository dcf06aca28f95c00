"""The Secret Service layout: what ends up in the keyring, compatibility with the reference
helper's entries, and concurrent helpers that must lose nothing."""
import json
import subprocess
import unittest
from concurrent.futures import ThreadPoolExecutor

from common import KeyringCase, run, store_json

OURS = "io.github.docker-credential-keyring"
LEGACY = "io.docker.Credentials"


def secret_tool_items(env, server):
    """The schema name of every keyring item whose server attribute is server ("" for none)."""
    p = subprocess.run(["secret-tool", "search", "--all", "server", server], env=env,
                       capture_output=True, text=True, timeout=20)
    items = []
    for line in p.stdout.splitlines():
        if line.startswith("["):
            items.append("")
        elif line.startswith("schema = ") and items:
            items[-1] = line.split("=", 1)[1].strip()
    return items


def legacy_store(env, server, username, secret):
    """Write an entry as docker-credential-secretservice 0.6 does (same schema and attributes)."""
    subprocess.run(["secret-tool", "store", "--label=Docker Credentials", "xdg:schema", LEGACY,
                    "label", "Docker Credentials", "server", server, "username", username,
                    "docker_cli", "1"], input=secret.encode(), env=env, check=True, timeout=20)


class Layout(KeyringCase):
    def test_one_item_per_server_after_replacement(self):
        self.store("layout.example.com", "a", "1")
        self.store("layout.example.com", "b", "2")
        self.store("layout.example.com", "b", "3")
        self.assertEqual(secret_tool_items(self.env, "layout.example.com"), [OURS])
        self.get_ok("layout.example.com", "b", "3")

    def test_a_username_that_is_the_secret_is_not_an_attribute(self):
        # Some registries use the token as the username too (DigitalOcean's "token:token").
        token = "dop_v1_username-and-password"
        self.store("tokentoken.example.com", token, token)
        self.get_ok("tokentoken.example.com", token, token)
        p = subprocess.run(["secret-tool", "search", "--all", "server", "tokentoken.example.com"],
                           env=self.env, capture_output=True, text=True, timeout=20)
        self.assertIn("attribute.username-is-secret = 1", p.stderr + p.stdout)
        self.assertNotIn("attribute.username = " + token, p.stderr + p.stdout)

    def test_secret_is_in_the_keyring_not_a_file(self):
        self.store("nofile.example.com", "u", "find-me-if-you-can")
        out = subprocess.run(["grep", "-r", "-l", "find-me-if-you-can", self.ks.dir],
                             capture_output=True, timeout=20)
        self.assertEqual(out.stdout, b"")  # the keyring file is encrypted, nothing else holds it


class Legacy(KeyringCase):
    def test_reads_reference_entries(self):
        legacy_store(self.env, "legacy.example.com", "olduser", "oldpass")
        self.get_ok("legacy.example.com", "olduser", "oldpass")
        self.assertEqual(json.loads(self.run_helper("list").out)["legacy.example.com"], "olduser")

    def test_the_real_reference_helper_entries(self):
        # Written by Debian's docker-credential-secretservice itself, when it is installed.
        try:
            p = subprocess.run(["docker-credential-secretservice", "store"], env=self.env,
                               input=store_json("ref.example.com", "refuser", "refpass").encode(),
                               capture_output=True, timeout=20)
        except FileNotFoundError:
            self.skipTest("docker-credential-secretservice is not installed")
        self.assertEqual(p.returncode, 0, p)
        self.get_ok("ref.example.com", "refuser", "refpass")

    def test_our_entry_wins_and_erase_removes_both(self):
        legacy_store(self.env, "both.example.com", "old", "oldpass")
        self.store("both.example.com", "new", "newpass")
        self.get_ok("both.example.com", "new", "newpass")
        listed = json.loads(self.run_helper("list").out)
        self.assertEqual(listed["both.example.com"], "new")
        self.assertEqual(sorted(secret_tool_items(self.env, "both.example.com")), sorted([OURS, LEGACY]))
        self.assertEqual(self.run_helper("erase", b"both.example.com").rc, 0)
        self.assertEqual(secret_tool_items(self.env, "both.example.com"), [])
        self.assert_miss("both.example.com")

    def test_other_applications_items_are_ignored(self):
        subprocess.run(["secret-tool", "store", "--label=git", "server", "git.example.com", "user", "x"],
                       input=b"gitpass", env=self.env, check=True, timeout=20)
        self.assert_miss("git.example.com")
        self.assertNotIn("git.example.com", json.loads(self.run_helper("list").out))
        self.assertEqual(self.run_helper("erase", b"git.example.com").rc, 0)
        self.assertEqual(len(secret_tool_items(self.env, "git.example.com")), 1)


class Concurrency(KeyringCase):
    def test_parallel_stores_of_distinct_keys_lose_nothing(self):
        names = ["par%02d.example.com" % i for i in range(24)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda n: run(self.env, "store", store_json(n, "u-" + n, "p-" + n)), names))
        for r in results:
            self.assertEqual((r.rc, r.out), (0, b""), r)
        listed = json.loads(self.run_helper("list").out)
        for n in names:
            self.assertEqual(listed.get(n), "u-" + n)
        with ThreadPoolExecutor(max_workers=12) as pool:
            gets = list(pool.map(lambda n: run(self.env, "get", n), names * 2))
        for n, r in zip(names * 2, gets):
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(json.loads(r.out)["Secret"], "p-" + n)

    def test_parallel_stores_of_one_key_leave_exactly_one_entry(self):
        users = ["user%d" % i for i in range(12)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda u: run(self.env, "store", store_json("race.example.com", u, "p-" + u)), users))
        self.assertTrue(all(r.rc == 0 for r in results), results)
        self.assertEqual(secret_tool_items(self.env, "race.example.com"), [OURS])
        r = self.run_helper("get", b"race.example.com")
        got = json.loads(r.out)
        self.assertIn(got["Username"], users)
        self.assertEqual(got["Secret"], "p-" + got["Username"])

    def test_parallel_store_erase_and_get_of_other_keys(self):
        keep = ["keep%02d.example.com" % i for i in range(8)]
        drop = ["drop%02d.example.com" % i for i in range(8)]
        for n in keep + drop:
            self.store(n, "u-" + n, "p-" + n)
        new = ["new%02d.example.com" % i for i in range(8)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            jobs = [pool.submit(run, self.env, "erase", n) for n in drop]
            jobs += [pool.submit(run, self.env, "store", store_json(n, "u-" + n, "p-" + n)) for n in new]
            gets = [pool.submit(run, self.env, "get", n) for n in keep * 2]
            self.assertTrue(all(j.result().rc == 0 for j in jobs), [j.result() for j in jobs])
            for g in gets:
                r = g.result()
                self.assertEqual(r.rc, 0, r)
        listed = json.loads(self.run_helper("list").out)
        for n in keep + new:
            self.assertEqual(listed.get(n), "u-" + n)
            self.assertEqual(secret_tool_items(self.env, n), [OURS])  # exactly one entry each
        for n in drop:
            self.assertNotIn(n, listed)
            self.assertEqual(secret_tool_items(self.env, n), [])

    def test_gets_during_replacement_always_find_an_entry(self):
        self.store("flip.example.com", "u0", "p0")

        def writer(i):
            return run(self.env, "store", store_json("flip.example.com", "u%d" % i, "p%d" % i))

        with ThreadPoolExecutor(max_workers=6) as pool:
            writes = [pool.submit(writer, i) for i in range(1, 9)]
            reads = [pool.submit(run, self.env, "get", "flip.example.com") for _ in range(24)]
            for f in writes:
                self.assertEqual(f.result().rc, 0)
            for f in reads:
                r = f.result()
                self.assertEqual(r.rc, 0, r)
                got = json.loads(r.out)
                self.assertEqual(got["Secret"], "p" + got["Username"][1:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
