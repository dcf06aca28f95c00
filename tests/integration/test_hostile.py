#!/usr/bin/env python3
"""Hostile input driven through the whole path to a real gnome-keyring: invalid UTF-8 in every
field json-c lets through, `null` and other non-objects, each verb. The answer is always one
clean line (or the protocol's not-found) and an exit status, never a crash, a GLib warning or a
half-written entry."""
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import KeyringCase, NOT_FOUND, run  # noqa: E402
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
DO_HOST = "registry.digitalocean.com"

# Byte sequences that are not UTF-8: overlong, beyond U+10FFFF, a surrogate, a stray byte.
BAD = [b"\xc1\x81", b"\xf5\x80\x80\x80", b"\xed\xa0\x80", b"\xff", b"\xe0\x80\xaf"]


def store_bytes(server=b"reg.example", username=b"u", secret=b"s"):
    return (b'{"ServerURL":"' + server + b'","Username":"' + username + b'","Secret":"' +
            secret + b'"}')


class InvalidUtf8(KeyringCase):
    def assert_clean_line(self, r, rc=1):
        self.assertEqual(r.rc, rc, r)
        self.assertEqual(r.out.count(b"\n"), 1 if rc else 0, r)
        # No GLib or libsecret warnings: the input never reached them.
        self.assertNotIn(b"CRITICAL", r.err, r)
        self.assertNotIn(b"WARNING", r.err, r)

    def test_store_refuses_a_server_or_username_that_is_not_utf8(self):
        before = self.run_helper("list")
        for bad in BAD:
            for field in ("server", "username"):
                with self.subTest(bad=bad, field=field):
                    data = store_bytes(server=b"a" + bad + b"b") if field == "server" \
                        else store_bytes(username=b"u" + bad)
                    r = self.run_helper("store", data)
                    self.assert_clean_line(r)
                    self.assertIn(b"utf-8", r.out.lower(), r)
        # Nothing was written: the keyring lists what it listed before.
        r = self.run_helper("list")
        self.assertEqual((r.rc, r.out), (0, before.out), r)

    def test_get_and_erase_of_a_server_that_is_not_utf8(self):
        for bad in BAD:
            with self.subTest(bad=bad):
                r = self.run_helper("get", b"reg" + bad)
                self.assert_clean_line(r)
                self.assertIn(b"not valid UTF-8", r.out, r)
                r = self.run_helper("erase", b"reg" + bad)
                self.assert_clean_line(r)
                self.assertIn(b"not valid UTF-8", r.out, r)

    def test_a_valid_login_next_to_the_refused_ones_is_untouched(self):
        self.store("good.example", "alice", "pw")
        r = self.run_helper("store", store_bytes(server=b"good.example", username=b"\xc1\x81"))
        self.assert_clean_line(r)
        self.get_ok("good.example", "alice", "pw")

    def test_an_escaped_lone_surrogate_is_refused_and_a_pair_kept(self):
        # json-c turned "\ud800" into U+FFFD: a secret stored as something else than sent.
        self.store("surrogate.example", "alice", "pw")
        for esc in (rb"\ud800", rb"\uDC00", rb"x\ud83dy", rb"\ud83d\u0041"):
            for field in ("username", "secret"):
                with self.subTest(esc=esc, field=field):
                    data = store_bytes(server=b"surrogate.example", **{field: b"a" + esc + b"b"})
                    r = self.run_helper("store", data)
                    self.assert_clean_line(r)
                    self.assertIn(b"surrogate", r.out, r)
        self.get_ok("surrogate.example", "alice", "pw")  # the login before is untouched
        r = self.run_helper("store", store_bytes(server=b"surrogate.example",
                                                 secret=rb"a\ud83d\ude00\\ud800"))
        self.assert_clean_line(r, rc=0)
        self.get_ok("surrogate.example", "u", "a\U0001f600\\ud800")

    def test_non_object_input_says_what_is_wrong(self):
        for text, want in ((b"null", b"expected an object"),
                           (b"[]", b"expected an object"),
                           (b'"x"', b"expected an object"),
                           (b"42", b"expected an object")):
            with self.subTest(text=text):
                r = self.run_helper("store", text)
                self.assert_clean_line(r)
                self.assertIn(want, r.out, r)
                self.assertNotIn(b"success", r.out, r)


class HostileApiAnswer(KeyringCase):
    """A DigitalOcean answer whose credential decodes to a username that is not UTF-8 used to
    crash the write-behind child, or get itself with write-behind off (libsecret refused the
    attribute without an error). Now it is a not-found with the reason, and nothing is stored."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = tempfile.mkdtemp(prefix="dck-hostile-certs-")
        subprocess.run(["sh", os.path.join(HERE, "..", "lib", "mkca.sh"), cls.certs], check=True,
                       timeout=60, stdout=subprocess.DEVNULL)
        cls.fake = FakeServer("fake_do.py", cls.certs, "--quiet")
        cls.env.update(DIGITALOCEAN_API_URL=cls.fake.url,
                       DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=cls.fake.url,
                       SSL_CERT_FILE=os.path.join(cls.certs, "ca.pem"),
                       DIGITALOCEAN_ACCESS_TOKEN="dop_v1_testtoken")

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)
        super().tearDownClass()

    def test_a_username_that_is_not_utf8_is_refused(self):
        for bad in BAD:
            for write_behind in ("true", "false"):
                with self.subTest(bad=bad, write_behind=write_behind):
                    auth = base64.b64encode(b"me" + bad + b"@example.com:dop_v1_pw").decode()
                    body = '{"auths":{"%s":{"auth":"%s"}}}' % (DO_HOST, auth)
                    self.fake.control("POST", "mode", {"mode": "malformed", "body": body})
                    env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_WRITE_BEHIND=write_behind)
                    r = run(env, "get", DO_HOST)
                    self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
                    self.assertIn(b"UTF-8", r.err, r)
                    self.assertNotIn(b"CRITICAL", r.err, r)
                    self.assertNotIn(b"WARNING", r.err, r)
        r = run(self.env, "list")
        self.assertNotIn(DO_HOST.encode(), r.out, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
