#!/usr/bin/env python3
"""The kernel keyring cache (store/store_kernel.c): a hit needs no Secret Service, store and
erase through the helper are seen at once, and cache-ttl 0 turns it off."""
import json
import unittest

from common import KeyringCase, NOT_FOUND, run, store_json

FROZEN = "500ms"  # deadline while the daemon is stopped: a miss must not take the default 3 s


def keyctl_works():
    # Kernels without CONFIG_KEYS have no /proc/keys; there the cache is off and these skip.
    try:
        with open("/proc/keys"):
            return True
    except OSError:
        return False


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
        self.assert_miss("gone.example.com")
        self.freeze()  # nothing cached either: a frozen keyring means a (bounded) miss
        r = self.frozen_get("gone.example.com")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
