#!/usr/bin/env python3
"""The kernel keyring cache (store/store_kernel.c): a hit needs no Secret Service, store and
erase through the helper are seen at once, and cache-ttl 0 turns it off. A miss is cached too,
briefly: store through the helper is still seen at once, a login made by another program after
at most the miss lifetime, and a credential source still fetches for a host that missed."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from common import KeyringCase, NOT_FOUND, run, store_json, keyctl_works
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
DO_HOST = "registry.digitalocean.com"
DO_TOKEN = "dop_v1_cachetoken"

FROZEN = "500ms"  # deadline while the daemon is stopped: a miss must not take the default 3 s


@unittest.skipUnless(keyctl_works(), "no kernel keyrings here")
class Cache(KeyringCase):
    def setUp(self):
        # Each test uses its own server names and thaws the daemon when it ends.
        self.frozen = False

    def tearDown(self):
        if self.frozen:
            self.ks.thaw_keyring()

    def freeze(self):
        self.ks.freeze_keyring()
        self.frozen = True

    def thaw(self):
        self.ks.thaw_keyring()
        self.frozen = False

    def frozen_get(self, server, **extra):
        env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT=FROZEN, **extra)
        return run(env, "get", server.encode())

    def answer(self, server, username, secret):
        return (json.dumps({"ServerURL": server, "Username": username, "Secret": secret},
                           separators=(",", ":"), ensure_ascii=False) + "\n").encode()

    def test_hit_is_served_while_the_secret_service_is_frozen(self):
        self.store("hit.example.com", "u", "p\u00e9")
        self.get_ok("hit.example.com", "u", "p\u00e9")  # fills the cache
        self.freeze()
        r = self.frozen_get("hit.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("hit.example.com", "u", "p\u00e9")), r)
        self.assertEqual(r.err, b"")

    def test_secret_with_nul_bytes_survives_the_cache(self):
        secret = "a\u0000b\u0000"
        self.store("nul.example.com", "u", secret)
        self.get_ok("nul.example.com", "u", secret)
        self.freeze()
        r = self.frozen_get("nul.example.com")
        self.assertEqual((r.rc, json.loads(r.out)["Secret"]), (0, secret), r)

    def test_store_then_get_answers_the_new_value(self):
        self.store("new.example.com", "u1", "old")
        self.get_ok("new.example.com", "u1", "old")  # the old value is cached
        self.store("new.example.com", "u2", "new")
        self.get_ok("new.example.com", "u2", "new")
        self.freeze()  # and the new value is what the cache holds now
        r = self.frozen_get("new.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("new.example.com", "u2", "new")), r)

    def test_erase_then_get_misses_at_once(self):
        self.store("gone.example.com", "u", "p")
        self.get_ok("gone.example.com", "u", "p")  # cached
        self.assertEqual(self.run_helper("erase", b"gone.example.com").rc, 0)
        self.assert_miss("gone.example.com")  # and that miss is what the cache holds now
        self.freeze()
        r = self.frozen_get("gone.example.com")
        self.assertEqual((r.rc, r.out, r.err), (1, NOT_FOUND, b""), r)

    def test_miss_is_served_while_the_secret_service_is_frozen(self):
        self.assert_miss("absent.example.com")  # asks the Secret Service, caches "not found"
        self.freeze()
        r = self.frozen_get("absent.example.com")
        self.assertEqual((r.rc, r.out, r.err), (1, NOT_FOUND, b""), r)
        # Without the cache the same get waits for the deadline.
        r = self.frozen_get("absent.example.com", DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="0")
        self.assertIn(b"did not answer", r.err, r)

    def test_errors_are_not_cached_as_misses(self):
        self.store("late.example.com", "u", "p")
        self.freeze()
        r = self.frozen_get("late.example.com")  # times out: not an answer, nothing cached
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"did not answer", r.err, r)
        self.thaw()
        self.get_ok("late.example.com", "u", "p")

    def test_store_after_a_cached_miss_is_seen_at_once(self):
        self.assert_miss("later.example.com")  # cached "not found"
        self.store("later.example.com", "u", "p")
        self.get_ok("later.example.com", "u", "p")
        self.assertEqual(self.run_helper("erase", b"later.example.com").rc, 0)
        self.assert_miss("later.example.com")

    def test_a_login_by_another_program_shows_after_the_miss_lifetime(self):
        # cache-ttl 2s: a miss lives min(2 s, 10 s). The reference helper writes the legacy
        # schema, which we read; it does not know about our cache.
        ref = shutil.which("docker-credential-secretservice")
        if not ref:
            self.skipTest("docker-credential-secretservice is not installed")
        env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="2s")
        r = run(env, "get", b"other-program.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        p = subprocess.run([ref, "store"], env=self.env, capture_output=True, timeout=20,
                           input=store_json("other-program.example.com", "u", "p").encode())
        self.assertEqual(p.returncode, 0, p)
        r = run(env, "get", b"other-program.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)  # still the cached miss
        time.sleep(2.2)
        r = run(env, "get", b"other-program.example.com")
        self.assertEqual((r.rc, r.out), (0, self.answer("other-program.example.com", "u", "p")), r)

    def test_ttl_zero_disables_the_cache(self):
        off = dict(self.env, DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="0")
        self.assertEqual(run(off, "store", store_json("off.example.com", "u", "p")).rc, 0)
        r = run(off, "get", b"off.example.com")
        self.assertEqual(r.rc, 0, r)
        self.freeze()
        r = self.frozen_get("off.example.com", DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="0")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"did not answer", r.err)

    def test_ttl_zero_reads_nothing_that_an_earlier_run_cached(self):
        self.store("was.example.com", "u", "p")
        self.get_ok("was.example.com", "u", "p")  # cached with the default TTL
        self.freeze()
        r = self.frozen_get("was.example.com", DOCKER_CREDENTIAL_KEYRING_CACHE_TTL="0")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)

    def test_keyrings_of_other_sessions_are_not_seen(self):
        # Same uid, another Secret Service on another bus: the cache must not leak across.
        self.store("other.example.com", "u", "p")
        self.get_ok("other.example.com", "u", "p")
        from keyring import KeyringSession
        with KeyringSession() as other:
            r = run(other.env, "get", b"other.example.com")
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)

    def test_cached_entries_are_private_to_the_user(self):
        self.store("perm.example.com", "u", "p")
        self.get_ok("perm.example.com", "u", "p")
        with open("/proc/keys") as f:
            lines = [l.split() for l in f if "docker-credential-keyring:v1:" in l
                     and l.rstrip().split(":")[-2].endswith("perm.example.com")]
        self.assertTrue(lines, "no cached key found in /proc/keys")
        perm = int(lines[0][4], 16)
        self.assertEqual(perm & 0x0000ffff, 0, "group or others may access %08x" % perm)
        self.assertNotEqual(lines[0][3], "perm", "the key has no timeout")


@unittest.skipUnless(keyctl_works(), "no kernel keyrings here")
class SourceAfterMiss(KeyringCase):
    """A cached miss must neither stop a credential source's fetch nor hide what it stored."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = tempfile.mkdtemp(prefix="dck-cache-certs-")
        subprocess.run(["sh", MKCA, cls.certs], check=True, timeout=60)
        cls.fake = FakeServer("fake_do.py", cls.certs, "--quiet", "--token", DO_TOKEN)
        cls.env = {k: v for k, v in cls.env.items()
                   if not k.startswith(("DIGITALOCEAN_", "DOCKER_CREDENTIAL_KEYRING_",
                                        "SSL_CERT_", "CURL_CA_BUNDLE"))}
        cls.env.update(DIGITALOCEAN_API_URL=cls.fake.url,
                       DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=cls.fake.url,
                       SSL_CERT_FILE=os.path.join(cls.certs, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)
        super().tearDownClass()

    def api_requests(self):
        """The requests that mint a token (the first fetch also looks up the registry's name)."""
        return [r for r in self.fake.control("GET", "requests")
                if r["path"].endswith("/docker-credentials")]

    def test_source_host_fetches_after_a_cached_miss(self):
        # No token yet: the keyring misses (cached) and the source cannot fetch.
        r = run(self.env, "get", DO_HOST.encode())
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertEqual(self.api_requests(), [])
        env = dict(self.env, DIGITALOCEAN_ACCESS_TOKEN=DO_TOKEN)
        r = run(env, "get", DO_HOST.encode())  # the cached miss must not stop the fetch
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(self.api_requests()), 1)
        minted = self.fake.control("GET", "minted")[-1]
        self.assertEqual(json.loads(r.out)["Secret"], minted["password"])
        r2 = run(env, "get", DO_HOST.encode())  # the put removed the miss: warm, no request
        self.assertEqual((r2.rc, r2.out), (0, r.out), r2)
        self.assertEqual(len(self.api_requests()), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
