#!/usr/bin/env python3
"""The DigitalOcean source through the real binary: tests/fakes/fake_do.py plays the API over TLS
with a throwaway CA (tests/lib/mkca.sh), a private gnome-keyring holds the cache.

What is checked, each with the exact stdout and exit status: a cold get asks once (query and
bearer checked), a warm get asks nothing, a copy is refreshed once its share of the lifetime
is gone, and every failure (no token, 401/403/404/412/429/5xx, silence, trickle, reset,
malformed or huge bodies, redirects, bad certificates, plain http) is a not-found with the
reason on stderr, answered from a still-valid cached copy where there is one. 32 parallel gets
on a cold cache make one request; erase revokes; store, list, doctl's config and `login` work.
"""
import base64
import fcntl
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from common import BIN, NOT_FOUND, KeyringCase, run, store_json
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
HOST = "registry.digitalocean.com"
TOKEN = "dop_v1_testtoken"
TOKEN2 = "dop_v1_secondtoken"
READONLY = "dop_v1_readonly"      # registry:read only: lists registries, cannot mint
UPDATEONLY = "dop_v1_updateonly"  # registry:update without registry:read
EMAIL = "test@example.com"
CREDS = "/v2/registry/docker-credentials"  # the deprecated single-registry endpoint
REGISTRY = "test-registry"                 # the fake's only registry by default
NAMED = "/v2/registries/%s/docker-credentials" % REGISTRY
RESERVED = "docker-credential-keyring:digitalocean-token"
EXTRA = "docr.example.test"

CERTS = None  # made once for the module


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="dck-do-certs-")
    subprocess.run(["sh", MKCA, CERTS], check=True, timeout=60)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


class Fake(FakeServer):
    """One fake_do.py process; TLS with the named certificate unless plain."""

    def __init__(self, *args, cert="server", plain=False):
        super().__init__("fake_do.py", CERTS, "--quiet", *args, cert=cert, plain=plain)

    def requests(self):
        return self.control("GET", "requests")

    def api_requests(self, path=None):
        """The requests to path; by default, to the endpoints that mint a registry token."""
        return [r for r in self.requests()
                if (r["path"].endswith("/docker-credentials") if path is None else r["path"] == path)]

    def counts(self):
        return self.control("GET", "counts")

    def minted(self):
        return self.control("GET", "minted")

    def mode(self, mode, **params):
        self.control("POST", "mode", dict(params, mode=mode))

    def reset(self):
        self.control("POST", "reset")


def answer(server, username, secret):
    return (json.dumps({"ServerURL": server, "Username": username, "Secret": secret},
                       separators=(",", ":")) + "\n").encode()


class DoCase(KeyringCase):
    """A keyring and a fake API for the class; the cache and the fake are reset per test."""

    fake_args = ("--token", TOKEN, "--token", TOKEN2, "--token-scopes",
                 READONLY + "=registry:read", "--token-scopes", UPDATEONLY + "=registry:update")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = Fake(*cls.fake_args)
        for var in list(cls.env):
            if var.startswith(("DIGITALOCEAN_", "DOCKER_CREDENTIAL_KEYRING_", "SSL_CERT_",
                               "CURL_CA_BUNDLE")) and \
                    var != "DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING":  # the session's own
                del cls.env[var]
        cls.env.update(DIGITALOCEAN_API_URL=cls.fake.url,
                       DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=cls.fake.url,
                       SSL_CERT_FILE=os.path.join(CERTS, "ca.pem"),
                       DIGITALOCEAN_ACCESS_TOKEN=TOKEN,
                       DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="3s")

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def setUp(self):
        # Through the helper, so the kernel-keyring cache in front of the keyring forgets too.
        for server in (HOST, EXTRA):
            r = run(self.env, "erase", server)
            self.assertEqual(r.rc, 0, r)
        run(self.env, None, args=["logout", "digitalocean"])  # test_login checks it works
        self.fake.reset()
        # The steady state: the helper learned the account's registry at an earlier fetch.
        # The Registry class tests how it learns it.
        self.remember(REGISTRY)

    # --- the registry name the helper remembers (docs/digitalocean.md) ----------------------
    def names_file(self):
        return os.path.join(self.env["XDG_CACHE_HOME"], "docker-credential-keyring",
                            "digitalocean-registry")

    def remember(self, name, url=None):
        os.makedirs(os.path.dirname(self.names_file()), exist_ok=True)
        with open(self.names_file(), "w") as f:
            f.write("%s %s\n" % (url or self.fake.url, name))

    def forget(self):
        if os.path.exists(self.names_file()):
            os.unlink(self.names_file())

    def remembered(self):
        with open(self.names_file()) as f:
            return f.read()

    # --- helpers ---------------------------------------------------------------------------
    def env_with(self, **changes):
        env = dict(self.env)
        for k, v in changes.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def get(self, server=HOST, **changes):
        return run(self.env_with(**changes), "get", server)

    def get_ok(self, server=HOST, **changes):
        """A successful get; returns the password, checked against what the fake minted last."""
        r = self.get(server, **changes)
        minted = self.fake.minted()
        self.assertTrue(minted, r)
        want = answer(server, minted[-1]["username"], minted[-1]["password"])
        self.assertEqual((r.rc, r.out), (0, want), r)
        self.assertEqual(r.err, b"", r)
        return minted[-1]["password"]

    def miss(self, reason, server=HOST, **changes):
        """A not-found whose stderr says reason; no secret on stderr. Returns the Result."""
        r = self.get(server, **changes)
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(reason.encode(), r.err, r)
        self.assertEqual(r.err.count(b"\n"), 1, r)
        self.assertNotIn(TOKEN.encode(), r.err)
        for m in self.fake.minted():
            self.assertNotIn(m["password"].encode(), r.err)
        return r

    def cache(self, **changes):
        """A cached copy that every later get (refresh share 1) asks to refresh."""
        return self.get_ok(**changes)

    def listed(self):
        r = run(self.env, "list")
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)

    def listed_once_stored(self, server=HOST, seconds=10):
        """list, once server shows in it: get answers before a detached child stores the copy
        it fetched (write-behind), so the keyring holds it shortly after, not at once."""
        deadline = time.monotonic() + seconds
        while True:
            listed = self.listed()
            if server in listed:
                return listed
            self.assertLess(time.monotonic(), deadline, "%s never reached the keyring" % server)
            time.sleep(0.02)


class Fetch(DoCase):
    def test_cold_get_asks_once_with_bearer_and_query(self):
        password = self.get_ok()
        reqs = self.fake.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual((reqs[0]["method"], reqs[0]["path"]), ("GET", NAMED))
        self.assertEqual(reqs[0]["query"], {"read_write": "true", "expiry_seconds": "86400"})
        self.assertEqual(reqs[0]["authorization"], "Bearer " + TOKEN)
        self.assertEqual(reqs[0]["status"], 200)
        self.assertTrue(password.startswith("dop_v1_"))
        self.assertEqual(self.listed_once_stored().get(HOST), EMAIL)

    def test_the_debug_log_shows_the_query(self):
        # read_write and expiry_seconds are not secret; the token and the answer are.
        r = self.get(DOCKER_CREDENTIAL_KEYRING_DEBUG="1", DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="2h",
                     DOCKER_CREDENTIAL_KEYRING_DO_READ_ONLY="yes")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"debug: digitalocean: minting a registry token: GET " + NAMED.encode() +
                      b"?read_write=false&expiry_seconds=7200\n", r.err)
        self.assertNotIn(TOKEN.encode(), r.err)
        self.assertNotIn(self.fake.minted()[-1]["password"].encode(), r.err)

    def test_warm_get_makes_no_request(self):
        first = self.get_ok()
        for _ in range(3):
            r = self.get()
            self.assertEqual((r.rc, r.out, r.err), (0, answer(HOST, EMAIL, first), b""), r)
        self.assertEqual(len(self.fake.requests()), 1)
        r = self.get(DIGITALOCEAN_ACCESS_TOKEN=None)  # nor does it need the token
        self.assertEqual((r.rc, r.out, r.err), (0, answer(HOST, EMAIL, first), b""), r)

    def test_settings_shape_the_query(self):
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_READ_ONLY="true",
                    DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="1h")
        run(self.env, "erase", HOST)
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="never")
        queries = [r["query"] for r in self.fake.api_requests()]
        self.assertEqual(queries, [{"read_write": "false", "expiry_seconds": "3600"},
                                   {"read_write": "true"}])
        self.assertEqual([m["expiry_seconds"] for m in self.fake.minted()], [3600, 0])

    def test_refresh_once_the_share_of_the_lifetime_is_gone(self):
        quick = dict(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="4",
                     DOCKER_CREDENTIAL_KEYRING_DO_REFRESH_SHARE="0.5")
        first = self.get_ok(**quick)
        r = self.get(**quick)
        self.assertEqual((r.rc, r.out), (0, answer(HOST, EMAIL, first)), r)
        self.assertEqual(len(self.fake.requests()), 1)
        time.sleep(2.3)  # less than half of the 4 s left
        second = self.get_ok(**quick)
        self.assertNotEqual(first, second)
        self.assertEqual(len(self.fake.api_requests()), 2)

    def test_extra_hosts_are_served_and_others_are_not(self):
        extra = dict(DOCKER_CREDENTIAL_KEYRING_DO_HOSTS=" %s , other.example.test" % EXTRA.upper())
        self.get_ok(EXTRA, **extra)
        r = self.get("unrelated.example.test", **extra)
        self.assertEqual((r.rc, r.out, r.err), (1, NOT_FOUND, b""), r)  # a plain keyring miss
        self.assertEqual(len(self.fake.requests()), 1)

    def test_keys_docker_never_sends_are_not_ours(self):
        # Only HOST, https://HOST and http://HOST (with a path) are the registry's keys: a key
        # with user info, another scheme or a query is a plain keyring miss, never a minted token.
        for server in ("user@" + HOST, "oci://" + HOST, HOST + "#x", HOST + "?x"):
            r = self.get(server)
            self.assertEqual((r.rc, r.out, r.err), (1, NOT_FOUND, b""), (server, r))
        self.assertEqual(self.fake.requests(), [])

    def test_alias_name_pins_the_source(self):
        # "host": "digitalocean" in credHelpers runs docker-credential-digitalocean: any host.
        r = run(self.env_with(), "get", "alias.example.test", argv0="docker-credential-digitalocean")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out)["ServerURL"], "alias.example.test")
        self.assertEqual(len(self.fake.requests()), 1)
        r = self.get("alias2.example.test")  # under its own name, the host is not DigitalOcean's
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)

    def test_named_registry_uses_the_multi_registry_endpoint(self):
        self.fake.control("POST", "config", {"registries": ["alpha", "beta"]})
        r = self.miss("several registries (alpha, beta)")
        self.assertIn(b"DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY", r.err)
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY="beta")
        self.assertEqual(self.fake.requests()[-1]["path"], "/v2/registries/beta/docker-credentials")
        self.assertEqual(self.fake.minted()[-1]["registry"], "beta")

    def test_legacy_token_token_credentials(self):
        self.fake.mode("legacy")
        r = self.get()
        password = self.fake.minted()[-1]["password"]
        self.assertEqual((r.rc, r.out), (0, answer(HOST, password, password)), r)

    def test_parallel_cold_gets_make_one_request(self):
        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda _: self.get(), range(32)))
        minted = self.fake.minted()
        self.assertEqual(len(self.fake.requests()), 1, [r.err for r in results])
        want = answer(HOST, EMAIL, minted[0]["password"])
        self.assertEqual([(r.rc, r.out) for r in results], [(0, want)] * 32)


class Token(DoCase):
    def test_no_token_is_a_miss_without_a_request(self):
        self.miss("no DigitalOcean API token", DIGITALOCEAN_ACCESS_TOKEN=None,
                  XDG_CONFIG_HOME=tempfile.gettempdir() + "/dck-no-such-dir")
        self.assertEqual(self.fake.requests(), [])

    def test_digitalocean_token_variable(self):
        self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None, DIGITALOCEAN_TOKEN=TOKEN2)
        self.assertEqual(self.fake.requests()[0]["authorization"], "Bearer " + TOKEN2)

    def test_token_in_the_config_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config")
            with open(path, "w") as f:
                f.write("[digitalocean]\ntoken = %s\n" % TOKEN2)
            self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None, DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
        self.assertEqual(self.fake.requests()[0]["authorization"], "Bearer " + TOKEN2)

    def token_file(self, content, mode=0o600):
        path = os.path.join(self.env["HOME"], "do-token")
        if os.path.isdir(path):
            os.rmdir(path)
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        os.chmod(path, mode)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        return path

    def test_token_file_wins_and_is_read_at_each_fetch(self):
        path = self.token_file("  %s\r\n\n" % TOKEN2)
        # Ours, the most specific: over DIGITALOCEAN_ACCESS_TOKEN (set in self.env).
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE=path)
        # A file rotated in place (Kubernetes updates mounted secrets so) is read again.
        self.token_file(TOKEN)
        run(self.env, "erase", HOST)
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE=path)
        self.assertEqual([r["authorization"] for r in self.fake.api_requests()],
                         ["Bearer " + TOKEN2, "Bearer " + TOKEN])

    def test_token_file_in_the_config_file(self):
        self.token_file(TOKEN2 + "\n")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config")
            with open(path, "w") as f:
                f.write("[digitalocean]\ntoken-file = ~/do-token\n")
            self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None, DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
            run(self.env, "erase", HOST)
            # The environment's token comes before the config file's token-file.
            self.get_ok(DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
            with open(path, "a") as f:
                f.write("token = %s\n" % TOKEN)
            run(self.env, "erase", HOST)
            r = self.get(DIGITALOCEAN_ACCESS_TOKEN=None, DOCKER_CREDENTIAL_KEYRING_CONFIG=path)
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
            self.assertIn(b"digitalocean.token-file and digitalocean.token are both set in the "
                          b"config file: keep one", r.err)
        self.assertEqual([r["authorization"] for r in self.fake.api_requests()],
                         ["Bearer " + TOKEN2, "Bearer " + TOKEN])

    def test_token_file_failures_are_one_line_naming_the_setting(self):
        var = "DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE"
        missing = os.path.join(self.env["HOME"], "no-such-token")
        self.miss("%s (%s): cannot read the token file: No such file or directory"
                  % (var, missing), **{var: missing})
        fifo = os.path.join(self.env["HOME"], "token-fifo")
        os.mkfifo(fifo)
        self.addCleanup(os.unlink, fifo)
        r = self.miss("%s (%s): not a regular file" % (var, fifo), **{var: fifo})
        self.assertLess(r.seconds, 3)  # a FIFO nobody writes must not block the get
        self.miss("%s (%s): not a regular file" % (var, self.env["HOME"]),
                  **{var: self.env["HOME"]})
        for content, reason in ((b"", "is empty"), (b" \n\t\n", "is empty"),
                                (b"x" * 6000, "larger than 5120 bytes"),
                                (TOKEN.encode() + b"\n" + TOKEN2.encode(), "holds a character"),
                                (TOKEN.encode() + b"\xc3\xa9", "holds a character")):
            with self.subTest(content=content[:20]):
                path = self.token_file(content)
                self.miss("%s (%s)" % (var, path), **{var: path})
                self.miss(reason, **{var: path})
        self.assertEqual(self.fake.requests(), [])

    def test_token_file_must_be_an_absolute_path(self):
        r = self.get(DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE="do-token")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertEqual(r.err, b"docker-credential-keyring: DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE: "
                                b"\"do-token\" is not an absolute path (or ~/\xe2\x80\xa6) "
                                b"(going on without it)\n")

    def test_token_with_a_header_breaking_character_is_refused(self):
        self.miss("holds a character no token has",
                  DIGITALOCEAN_ACCESS_TOKEN=TOKEN + "\r\nX-Evil: 1")
        self.assertEqual(self.fake.requests(), [])

    def test_doctl_config_fallback(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "doctl"))
            path = os.path.join(d, "doctl", "config.yaml")
            with open(path, "w") as f:
                f.write("access-token: %s\n"
                        "auth-contexts:\n"
                        "  other: dop_v1_wrong\n"
                        "\n"
                        "  # the work account\n"
                        "  'Work@Example.com': \"%s\"   # quoted, with a comment\n"
                        "context: default\n"
                        "\n"
                        "output: text\n" % (TOKEN, TOKEN2))
            self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None, XDG_CONFIG_HOME=d)
            run(self.env, "erase", HOST)
            self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None, XDG_CONFIG_HOME=d,
                        DIGITALOCEAN_CONTEXT="work@example.com")
            run(self.env, "erase", HOST)
            self.miss("has none for context nope", DIGITALOCEAN_ACCESS_TOKEN=None,
                      XDG_CONFIG_HOME=d, DIGITALOCEAN_CONTEXT="nope")
        auths = [r["authorization"] for r in self.fake.api_requests()]
        self.assertEqual(auths, ["Bearer " + TOKEN, "Bearer " + TOKEN2])

    def test_hostile_doctl_configs(self):
        configs = [b"\x00\xff\xfe garbage\n\n:\n'\n\"", b"auth-contexts:\n" + b"  a: b\n" * 5000,
                   b"access-token: two words\n", b"a" * (2 << 20)]
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "doctl"))
            for text in configs:
                with self.subTest(text=text[:40]):
                    with open(os.path.join(d, "doctl", "config.yaml"), "wb") as f:
                        f.write(text)
                    r = self.get(DIGITALOCEAN_ACCESS_TOKEN=None, XDG_CONFIG_HOME=d)
                    self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
                    self.assertEqual(r.err.count(b"\n"), 1, r)
                    self.assertRegex(r.err, rb"no DigitalOcean API token|DigitalOcean token from")
        self.assertEqual(self.fake.requests(), [])

    def test_a_doctl_config_that_is_a_fifo_does_not_block(self):
        # Nobody writes to it: the get must not wait for a writer that never comes.
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "doctl"))
            os.mkfifo(os.path.join(d, "doctl", "config.yaml"))
            r = run(self.env_with(DIGITALOCEAN_ACCESS_TOKEN=None, XDG_CONFIG_HOME=d), "get", HOST,
                    timeout=10)
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.assertIn(b"no DigitalOcean API token", r.err)
        self.assertLess(r.seconds, 3)
        self.assertEqual(self.fake.requests(), [])

    def test_login_saves_the_token_in_the_keyring(self):
        r = run(self.env, None, stdin=TOKEN2 + "\n", args=["login", "digitalocean"])
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.out.startswith(b"saved the DigitalOcean API token for "), r)
        self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual(self.fake.requests()[0]["authorization"], "Bearer " + TOKEN2)
        # The saved token is the helper's own: list hides it, the protocol verbs refuse it.
        self.assertNotIn(RESERVED, self.listed())
        self.assertEqual(run(self.env, "get", RESERVED).out, NOT_FOUND)
        self.assertEqual(run(self.env, "erase", RESERVED).rc, 1)
        # The environment still wins over the saved token.
        run(self.env, "erase", HOST)
        self.get_ok()
        self.assertEqual(self.fake.requests()[-1]["authorization"], "Bearer " + TOKEN)
        r = run(self.env, None, args=["logout", "digitalocean"])
        self.assertEqual((r.rc, r.out), (0, b""), r)
        run(self.env, "erase", HOST)
        self.miss("no DigitalOcean API token", DIGITALOCEAN_ACCESS_TOKEN=None)

    def test_login_refuses_what_is_not_a_token(self):
        for bad in (b"", b" \n", b"two words\n", b"tok\x00en"):
            with self.subTest(bad=bad):
                r = run(self.env, None, stdin=bad, args=["login", "digitalocean"])
                self.assertEqual(r.rc, 1, r)
                self.assertIn(b"token", r.out)
        self.miss("no DigitalOcean API token", DIGITALOCEAN_ACCESS_TOKEN=None)


class ApiErrors(DoCase):
    def test_401_refused_token(self):
        r = self.miss("refused the API token from DIGITALOCEAN_ACCESS_TOKEN",
                      DIGITALOCEAN_ACCESS_TOKEN="dop_v1_revoked")
        self.assertIn(b"HTTP 401: unauthorized: Unable to authenticate you.", r.err)

    def test_a_server_that_echoes_the_token_cannot_leak_it(self):
        # The error line quotes the server's message; the token we sent is redacted from it.
        self.fake.mode("status", status=401, id="unauthorized",
                       message="token %s is not valid" % TOKEN)
        r = self.miss("refused the API token")
        self.assertNotIn(TOKEN.encode(), r.err + r.out)
        self.assertIn(b"token [redacted] is not valid", r.err)
        r = self.get(DOCKER_CREDENTIAL_KEYRING_DEBUG="1")  # the debug log quotes it too
        self.assertNotIn(TOKEN.encode(), r.err + r.out)
        self.assertIn(b"debug: ", r.err)

    def test_a_long_message_is_cut_between_characters(self):
        # The line keeps 300 bytes of the server's message: "é" (2 bytes) at bytes 299-300 must
        # be kept whole or left out, never split into a byte that is not UTF-8.
        self.fake.mode("status", status=401, id="unauthorized", message="x" * 299 + "é" * 10)
        r = self.miss("refused the API token")
        r.err.decode("utf-8")  # raises on a split character
        self.assertIn(("x" * 299 + "é…").encode(), r.err)

    def test_403_token_without_scope(self):
        r = self.miss("refused the API token", DIGITALOCEAN_ACCESS_TOKEN=READONLY)
        self.assertIn(b"registry:update", r.err)
        self.assertIn(b"HTTP 403: forbidden", r.err)

    def test_404_no_registry(self):
        self.fake.control("POST", "config", {"registries": []})
        self.miss("no container registry on this account")
        self.miss("no registry named nope", DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY="nope")

    def test_429_waits_for_retry_after_within_the_deadline(self):
        self.fake.mode("rate_limited", retry_after=1, count=1)
        start = time.monotonic()
        self.get_ok()
        self.assertGreaterEqual(time.monotonic() - start, 1)
        self.assertEqual([r["status"] for r in self.fake.requests()], [429, 200])

    def test_429_waits_for_ratelimit_reset_without_retry_after(self):
        self.fake.mode("rate_limited", reset_in=1, count=1)
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="5s")  # whole seconds: up to 2 s
        self.assertEqual([r["status"] for r in self.fake.requests()], [429, 200])

    def test_429_gives_up_after_three_requests(self):
        self.fake.mode("rate_limited", retry_after=0)
        self.miss("rate limit is still reached after 3 requests")
        self.assertEqual(len(self.fake.requests()), 3)

    def test_429_past_the_deadline_is_a_quick_miss(self):
        for params in ({"reset_in": 600}, {"reset_in": 600, "retry_after": "soon"},
                       {"reset_in": 1, "retry_after": "99999999999999999999"},
                       {"reset_in": 1e12}):
            with self.subTest(params=params):
                self.fake.reset()
                self.fake.mode("rate_limited", **params)
                r = self.miss("rate limit is reached and lifts in")
                self.assertLess(r.seconds, 2)
                self.assertEqual(len(self.fake.requests()), 1)

    def test_5xx_is_retried_once(self):
        self.fake.mode("status", status=502, body="<html>bad gateway</html>", count=1)
        self.get_ok()
        self.fake.reset()
        run(self.env, "erase", HOST)
        self.fake.mode("status", status=503, body="<html>down</html>")
        r = self.miss("HTTP 503")
        self.assertNotIn(b"html", r.err)
        self.assertEqual(len(self.fake.api_requests()), 2)

    def test_every_failure_serves_a_still_valid_copy(self):
        # Refresh share 1: the cached copy is always due for a refresh, yet valid for an hour.
        due = dict(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="3600",
                   DOCKER_CREDENTIAL_KEYRING_DO_REFRESH_SHARE="0.9999",  # due at once
                   DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="1.5")
        cached = self.cache(**due)
        faults = [("status", {"status": 500}), ("status", {"status": 401}),
                  ("rate_limited", {"reset_in": 600}), ("silence", {"seconds": 5}),
                  ("reset", {}), ("malformed", {})]
        for mode, params in faults:
            with self.subTest(mode=mode, params=params):
                self.fake.mode(mode, **params)
                r = self.get(**due)
                self.assertEqual((r.rc, r.out), (0, answer(HOST, EMAIL, cached)), r)
        r = self.get(DIGITALOCEAN_ACCESS_TOKEN=None, XDG_CONFIG_HOME="/nonexistent", **due)
        self.assertEqual((r.rc, r.out), (0, answer(HOST, EMAIL, cached)), r)
        self.assertEqual(len(self.fake.minted()), 1)

    def test_an_expired_copy_is_not_served(self):
        quick = dict(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="1")
        self.get_ok(**quick)
        time.sleep(1.1)
        self.fake.mode("status", status=500)
        self.miss("HTTP 500", **quick)


class Transport(DoCase):
    def test_silence_is_bounded(self):
        self.fake.mode("silence", seconds=30)
        r = self.miss("did not answer in time", DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="1.5")
        self.assertLess(r.seconds, 4)

    def test_trickle_is_bounded(self):
        self.fake.mode("trickle", interval=0.5)
        r = self.miss("did not answer in time", DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="1.5")
        self.assertLess(r.seconds, 4)

    def test_connection_reset(self):
        self.fake.mode("reset")
        self.miss("cannot reach 127.0.0.1")

    def test_huge_body_is_cut_off(self):
        self.fake.mode("huge", size=20 << 20)
        r = self.miss("larger than")
        self.assertLess(r.seconds, 3)

    def test_malformed_bodies(self):
        bad = {
            '{"auths":{"registry.digitalocean.com":{"auth":"dGVzdEBl': "not JSON",
            "[]": "no \"auths\" object",
            '{"auths":[]}': "no \"auths\" object",
            '{"auths":{}}': "no credentials at all",
            '{"auths":{"a.example":{"auth":"dTpw"},"b.example":{"auth":"dTpw"}}}':
                "no credentials for registry.digitalocean.com",
            '{"auths":{"registry.digitalocean.com":{"auth":5}}}': "no \"auth\" string",
            '{"auths":{"registry.digitalocean.com":{}}}': "no \"auth\" string",
            '{"auths":{"registry.digitalocean.com":"x"}}': "no \"auth\" string",
            '{"auths":{"registry.digitalocean.com":{"auth":"not base64!"}}}': "not base64",
            '{"auths":{"registry.digitalocean.com":{"auth":"%s"}}}'
            % base64.b64encode(b"no-colon-here").decode(): "not username:password",
            '{"auths":{"registry.digitalocean.com":{"auth":"%s"}}}'
            % base64.b64encode(b":password").decode(): "not username:password",
            '{"auths":{"registry.digitalocean.com":{"auth":"%s"}}}'
            % base64.b64encode(b"u:p\x01w").decode(): "control characters",
            '{"auths":{"registry.digitalocean.com":{"auth":"%s"}}}' % ("QUFB" * 5000):
                "longer than 16384",
            '{"auths":{"registry.digitalocean.com":{"auth":"dTpw"}}} trailing': "not JSON",
            '': "not JSON",
        }
        for body, reason in bad.items():
            with self.subTest(body=body[:60]):
                run(self.env, "erase", HOST)  # a wrongly accepted body must not spoil the next
                self.fake.mode("malformed", body=body)
                self.miss(reason)

    def test_auth_split_at_the_first_colon_and_host_from_the_auths_key(self):
        auth = base64.b64encode(b"me@example.com:pa:ss\n").decode()
        body = '{"auths":{"REGISTRY.digitalocean.com":{"auth":"%s"}}}' % auth
        self.fake.mode("malformed", body=body)
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, answer(HOST, "me@example.com", "pa:ss")), r)

    def test_redirect_is_not_followed(self):
        seen = []
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(0.2)

        def accept():
            try:
                conn, _ = listener.accept()
                conn.settimeout(1)
                seen.append(conn.recv(65536))
                conn.close()
            except OSError:
                pass

        t = threading.Thread(target=accept)
        t.start()
        try:
            self.fake.mode("redirect", status=307,
                           location="https://127.0.0.1:%d/v2/registry/docker-credentials"
                           % listener.getsockname()[1])
            r = self.miss("redirect")
        finally:
            t.join()
            listener.close()
        self.assertEqual(seen, [])
        self.assertEqual(len(self.fake.requests()), 1)

    def test_certificates(self):
        for cert, reason in (("wronghost", "TLS"), ("expired", "TLS")):
            with self.subTest(cert=cert):
                other = Fake("--token", TOKEN, cert=cert)
                try:
                    self.miss(reason, DIGITALOCEAN_API_URL=other.url)
                    self.assertEqual(other.requests(), [])
                finally:
                    other.stop()
        # Without our CA (the system's store does not know it) the fake is not trusted either;
        # CURL_CA_BUNDLE works as SSL_CERT_FILE does.
        self.miss("TLS", SSL_CERT_FILE=None)
        self.assertEqual(self.fake.requests(), [])
        self.get_ok(SSL_CERT_FILE=None, CURL_CA_BUNDLE=os.path.join(CERTS, "ca.pem"))

    def test_plain_http_only_when_allowed(self):
        plain = Fake("--token", TOKEN, plain=True)
        try:
            self.miss("only https", DIGITALOCEAN_API_URL=plain.url)
            self.assertEqual(plain.requests(), [])
            r = self.get(DIGITALOCEAN_API_URL=plain.url,
                         DOCKER_CREDENTIAL_KEYRING_DO_ALLOW_PLAIN_HTTP="1")
            minted = plain.minted()
            self.assertEqual((r.rc, r.out), (0, answer(HOST, EMAIL, minted[0]["password"])), r)
        finally:
            plain.stop()


class Verbs(DoCase):
    def test_erase_revokes_the_cached_token(self):
        password = self.get_ok()
        r = run(self.env, "erase", HOST)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        self.assertNotIn(HOST, self.listed())
        revokes = self.fake.api_requests("/v1/oauth/revoke")
        self.assertEqual(len(revokes), 1)
        self.assertEqual(revokes[0]["method"], "POST")
        self.assertEqual(revokes[0]["authorization"], "Bearer " + password)
        self.assertEqual(revokes[0]["headers"]["content-type"], "application/x-www-form-urlencoded")
        self.assertEqual(revokes[0]["body"], "token=" + password)
        self.assertEqual([m["revoked"] for m in self.fake.minted()], [True])
        # Nothing left to revoke: erasing again asks nothing.
        self.assertEqual(run(self.env, "erase", HOST).rc, 0)
        self.assertEqual(len(self.fake.api_requests("/v1/oauth/revoke")), 1)

    def test_erase_reports_a_failed_revocation_but_erases(self):
        self.get_ok()
        self.fake.mode("status", status=500)
        r = run(self.env, "erase", HOST)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(b"did not revoke its token", r.out)
        self.assertEqual(r.out.count(b"\n"), 1)
        self.assertNotIn(HOST, self.listed())

    def test_erase_of_a_token_that_is_no_longer_valid(self):
        # The token authenticates its own revocation: a 401 means it is already dead.
        password = self.get_ok()
        self.fake.reset()  # the fake forgets the token, as DigitalOcean does a revoked one
        r = run(self.env, "erase", HOST)
        self.assertEqual((r.rc, r.out), (0, b""), r)
        revokes = self.fake.api_requests("/v1/oauth/revoke")
        self.assertEqual([(x["status"], x["body"]) for x in revokes], [(401, "token=" + password)])

    def test_store_of_a_do_host_is_a_login_like_any_other(self):
        r = run(self.env, "store", store_json(HOST, "me@example.com", "my-own-secret"))
        self.assertEqual((r.rc, r.out), (0, b""), r)
        r = self.get()
        self.assertEqual((r.rc, r.out), (0, answer(HOST, "me@example.com", "my-own-secret")), r)
        self.assertEqual(self.listed().get(HOST), "me@example.com")
        # The user's own login is not ours to revoke.
        self.assertEqual(run(self.env, "erase", HOST).rc, 0)
        self.assertEqual(self.fake.requests(), [])

    def test_list_shows_the_cached_host(self):
        self.assertNotIn(HOST, self.listed())
        self.get_ok()
        self.assertEqual(self.listed_once_stored().get(HOST), EMAIL)
        self.assertEqual(len(self.fake.requests()), 1)  # list asks the API nothing

    def test_timeouts_in_range_are_taken(self):
        for timeout, connect in (("100ms", "100ms"), ("0.5", "0.5"), ("2m", "1m"), ("120", "60")):
            with self.subTest(timeout=timeout, connect=connect):
                r = self.get(DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT=timeout,
                             DOCKER_CREDENTIAL_KEYRING_DO_CONNECT_TIMEOUT=connect)
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(r.err, b"", r)

    def test_bad_settings_are_named(self):
        # Out of range, or without the unit it needs, is an error: never a silent default.
        cases = [
            ("DOCKER_CREDENTIAL_KEYRING_DO_REFRESH_SHARE", "1.5"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_REFRESH_SHARE", "50%"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY", "2.5"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY", "-60"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY", "1576800001"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY", "30d"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT", "0"),      # was made 1 ms
            ("DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT", "3000"),   # 50 minutes: meant as ms?
            ("DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT", "50ms"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_CONNECT_TIMEOUT", "0"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_CONNECT_TIMEOUT", "2h"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_READ_ONLY", "maybe"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_ALLOW_PLAIN_HTTP", "2"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY", "Not_A_Name"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_HOSTS", "a.example,bad/host"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE", "relative/token"),
            ("DIGITALOCEAN_API_URL", "ftp://example.com"),
            ("DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL", "https://user:pw@example.com"),
        ]
        for var, value in cases:
            with self.subTest(var=var, value=value):
                # get: still the exact miss (a pull goes on anonymously), the reason on stderr
                r = self.get(**{var: value})
                self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
                self.assertTrue(r.err.startswith(b"docker-credential-keyring: " + var.encode() + b": "), r)
                self.assertEqual(r.err.count(b"\n"), 1, r)
                # store: the user asked for a change, so it stops with the setting named
                r = run(self.env_with(**{var: value}), "store",
                        store_json("registry.digitalocean.com", "u", "p"))
                self.assertEqual(r.rc, 1, r)
                self.assertTrue(r.out.startswith(var.encode() + b": "), r)
                self.assertEqual(r.out.count(b"\n"), 1, r)
        self.assertEqual(self.fake.requests(), [])


class Registry(DoCase):
    """Without the registry setting, the helper learns the account's registry from GET
    /v2/registries once, remembers it, and uses /v2/registries/<name>/docker-credentials."""

    def test_the_only_registry_is_learned_once(self):
        self.forget()
        self.get_ok()
        self.assertEqual(self.fake.counts(), {"GET /v2/registries": 1, "GET " + NAMED: 1})
        self.assertEqual(self.remembered(), "%s %s\n" % (self.fake.url, REGISTRY))
        for _ in range(2):  # later fetches (a new token each) ask for the name no more
            run(self.env, "erase", HOST)
            self.get_ok()
        self.assertEqual(self.fake.counts(), {"GET /v2/registries": 1, "GET " + NAMED: 3,
                                              "POST /v1/oauth/revoke": 2})

    def test_several_registries_are_named_and_nothing_is_minted(self):
        self.forget()
        self.fake.control("POST", "config", {"registries": ["alpha", "beta:nyc3"]})
        self.miss("the DigitalOcean account has several registries (alpha, beta): set "
                  "DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY (or registry in [digitalocean]) to "
                  "the one to use")
        self.assertEqual(self.fake.counts(), {"GET /v2/registries": 1})
        self.assertEqual(self.fake.minted(), [])
        self.assertFalse(os.path.exists(self.names_file()))

    def test_a_registry_name_with_a_nul_is_refused(self):
        # "ab\u0000cd" was taken as "ab" and put in the URL. A list with a name that is not one
        # counts as no list: the single-registry endpoint answers, "ab" goes nowhere.
        self.forget()
        self.fake.control("POST", "config", {"registries": ["ab\u0000cd"]})
        self.get(HOST)
        paths = [q["path"] for q in self.fake.requests()]
        self.assertEqual(paths, ["/v2/registries", "/v2/registry/docker-credentials"])
        self.assertFalse(os.path.exists(self.names_file()))

    def test_no_registry_at_all(self):
        self.forget()
        self.fake.control("POST", "config", {"registries": []})
        self.miss("DigitalOcean has no container registry on this account")
        self.assertEqual(self.fake.counts(), {"GET /v2/registries": 1})

    def test_a_remembered_registry_that_is_gone_is_learned_again(self):
        self.remember("deleted-one")
        self.get_ok()
        self.assertEqual([(r["path"], r["status"]) for r in self.fake.requests()],
                         [("/v2/registries/deleted-one/docker-credentials", 404),
                          ("/v2/registries", 200), (NAMED, 200)])
        self.assertEqual(self.remembered(), "%s %s\n" % (self.fake.url, REGISTRY))

    def test_names_are_remembered_per_api_url(self):
        other = "https://127.0.0.1:1"
        with open(self.names_file(), "a") as f:
            f.write("%s other-name\n" % other)
        self.get_ok()  # this API's name is used, and the other line is kept
        self.assertEqual(self.fake.requests()[0]["path"], NAMED)
        self.remember("junk name with spaces/../x")  # a line that is not a name is ignored
        run(self.env, "erase", HOST)
        self.get_ok()
        self.assertEqual([r["path"] for r in self.fake.requests()][-2:],
                         ["/v2/registries", NAMED])

    def test_the_setting_wins_over_the_remembered_name(self):
        self.fake.control("POST", "config", {"registries": ["alpha", REGISTRY]})
        self.get_ok(DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY="alpha")
        self.assertEqual([r["path"] for r in self.fake.requests()],
                         ["/v2/registries/alpha/docker-credentials"])

    def test_an_api_without_a_registry_list_uses_the_deprecated_endpoint(self):
        self.forget()
        self.fake.mode("status", status=404, path="/v2/registries")
        self.get_ok()
        self.assertEqual([(r["path"], r["status"]) for r in self.fake.requests()],
                         [("/v2/registries", 404), (CREDS, 200)])
        self.assertFalse(os.path.exists(self.names_file()))
        # There, several registries are a 412: the same advice, without the names.
        run(self.env, "erase", HOST)
        self.fake.control("POST", "config", {"registries": ["alpha", "beta"]})
        self.miss("the DigitalOcean account has several registries: set "
                  "DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY")

    def test_a_cache_directory_that_cannot_be_written(self):
        self.forget()
        for _ in range(2):  # works each time, asking for the name each time
            run(self.env, "erase", HOST)
            self.get_ok(XDG_CACHE_HOME="/proc/no-cache-here")
        self.assertEqual(self.fake.counts()["GET /v2/registries"], 2)


class Doctor(DoCase):
    """doctor's DigitalOcean line (one GET /v2/registries, nothing minted) and, for each
    failure, the exact fix: a command to run or a setting to change, never "correct the
    setting the line above names"."""

    NEW = ("make a new token with the registry:read and registry:update scopes (control panel: "
           "API, Tokens), then ")

    def doctor(self, **changes):
        r = run(self.env_with(**changes), "doctor", timeout=30)
        lines = r.out.decode().splitlines()
        i = next(n for n, l in enumerate(lines) if l.startswith("  digitalocean: "))
        fix = lines[i + 1] if lines[i + 1].startswith("    fix: ") else None
        return r, lines[i][len("  digitalocean: "):], fix and fix[len("    fix: "):]

    def test_registry_update_is_said_to_be_unchecked(self):
        # A registry:read token lists registries, yet every get would fail 403: doctor must not
        # call it simply "accepted". Checking registry:update would mint a token, so it says so.
        for token in (READONLY, TOKEN):
            with self.subTest(token=token):
                r, line, fix = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=token)
                self.assertEqual(line, "token accepted (registry test-registry, token from "
                                 "DIGITALOCEAN_ACCESS_TOKEN); not checked: the registry:update "
                                 "scope, which getting credentials also needs (checking it would "
                                 "mint a token)", r)
                self.assertIsNone(fix, r)
        self.assertEqual(self.fake.counts(), {"GET /v2/registries": 2})
        self.assertEqual(self.fake.minted(), [])

    def test_each_failure_has_its_exact_fix(self):
        tmp = tempfile.mkdtemp(prefix="dck-do-doctor-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as f:
            f.write("dop_v1_revoked\n")
        config = os.path.join(tmp, "config")
        with open(config, "w") as f:
            f.write("[digitalocean]\ntoken = dop_v1_revoked\n")
        missing = os.path.join(tmp, "missing")
        alone = "the token alone (no spaces, quotes or line breaks)"
        cases = [
            ({"DIGITALOCEAN_ACCESS_TOKEN": "dop_v1_revoked"}, None,
             "the token is wrong, expired or revoked: " + self.NEW +
             "set DIGITALOCEAN_ACCESS_TOKEN to it"),
            ({"DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE": token_file}, None,
             "the token is wrong, expired or revoked: " + self.NEW + "write it to %s "
             "(DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE)" % token_file),
            ({"DIGITALOCEAN_ACCESS_TOKEN": None, "DOCKER_CREDENTIAL_KEYRING_CONFIG": config}, None,
             "the token is wrong, expired or revoked: " + self.NEW + "set `token = …` in the "
             "config file's [digitalocean] section to it (or save it with "
             "`docker-credential-keyring login digitalocean` and remove that line)"),
            ({"DIGITALOCEAN_ACCESS_TOKEN": UPDATEONLY}, None,
             self.NEW + "set DIGITALOCEAN_ACCESS_TOKEN to it"),
            ({"DIGITALOCEAN_TOKEN": "two words", "DIGITALOCEAN_ACCESS_TOKEN": None}, None,
             "set DIGITALOCEAN_TOKEN to " + alone),
            ({"DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE": missing}, None,
             "write %s to %s (DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE)" % (alone, missing)),
            ({}, ("rate_limited", {"reset_in": 600}),
             "wait for DigitalOcean's rate limit on this token to lift, then run "
             "`docker-credential-keyring doctor` again"),
            ({}, ("status", {"status": 503, "body": "<html>down</html>"}),
             "DigitalOcean's API is failing: run `docker-credential-keyring doctor` again later"),
            ({}, ("malformed", {"body": '{"registries": 5}'}),
             "check that DIGITALOCEAN_API_URL (%s) is DigitalOcean's API, "
             "https://api.digitalocean.com (unset it to use that)" % self.fake.url),
            ({"DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY": "nope"}, None,
             "set DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY to one of: test-registry"),
            ({"DIGITALOCEAN_API_URL": "http://127.0.0.1:1"}, None,
             "set DIGITALOCEAN_API_URL to an https:// URL (plain http goes only to a loopback "
             "address, with DOCKER_CREDENTIAL_KEYRING_DO_ALLOW_PLAIN_HTTP)"),
            ({"DIGITALOCEAN_API_URL": "https://127.0.0.1:1"}, None,
             "check that the API (DIGITALOCEAN_API_URL: https://127.0.0.1:1) is reachable from "
             "here: network, proxy, or set DOCKER_CREDENTIAL_KEYRING_DO_CA_FILE to the CA "
             "bundle that signed its certificate"),
            ({"DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT": "1"}, ("silence", {"seconds": 5}),
             "check that the API (DIGITALOCEAN_API_URL: %s) is reachable from here, or raise "
             "DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT" % self.fake.url),
        ]
        for changes, mode, want in cases:
            with self.subTest(changes=changes, mode=mode):
                self.fake.reset()
                if mode:
                    self.fake.mode(mode[0], path="/v2/registries", **mode[1])
                r, line, fix = self.doctor(**changes)
                self.assertEqual(fix, want, (line, r))
                self.assertEqual(r.rc, 1, r)
                self.assertNotIn(b"revoked\n", r.out)
        self.fake.reset()
        self.fake.control("POST", "config", {"registries": []})
        r, line, fix = self.doctor()
        self.assertEqual((line, fix), (
            "token accepted, but the account has no container registry",
            "create a container registry: `doctl registry create NAME`, or the control panel's "
            "Container Registry page"), r)

    def test_a_token_saved_by_login_is_replaced_by_login(self):
        r = run(self.env, None, stdin=TOKEN2 + "\n", args=["login", "digitalocean"])
        self.assertEqual(r.rc, 0, r)
        self.fake.mode("status", status=401, path="/v2/registries")
        r, line, fix = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual(fix, "the token is wrong, expired or revoked: " + self.NEW +
                         "save it with `docker-credential-keyring login digitalocean`", r)


class Login(DoCase):
    """`login digitalocean`: from a pipe as scripts do, and on a terminal (a real pty) with a
    prompt and no echo, the terminal restored on every way out; the token checked with calls
    that mint nothing before it is saved, and the account it belongs to said."""

    SAVED = ("saved the DigitalOcean API token for test@example.com (team My Team) in the "
             "keyring\n"
             "  registry: test-registry\n"
             "  not checked: the registry:update scope, which getting credentials also needs "
             "(checking it would mint a token)\n")
    PROMPT = b"DigitalOcean API token (input hidden): "

    def login(self, stdin, name="digitalocean", **changes):
        return run(self.env_with(**changes), None, stdin=stdin, args=["login", name])

    def saved_token_is(self, token):
        """A fetch with no token but the saved one uses token."""
        run(self.env, "erase", HOST)
        before = len(self.fake.api_requests())
        self.get_ok(DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual(self.fake.api_requests()[before]["authorization"], "Bearer " + token)

    def nothing_saved(self):
        run(self.env, "erase", HOST)
        self.miss("no DigitalOcean API token", DIGITALOCEAN_ACCESS_TOKEN=None)

    # --- a pipe ----------------------------------------------------------------------------
    def test_checked_then_saved_with_the_account(self):
        r = self.login(TOKEN2 + "\n", DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual((r.rc, r.out.decode(), r.err), (0, self.SAVED, b""), r)
        self.assertEqual(self.fake.counts(), {"GET /v2/account": 1, "GET /v2/registries": 1})
        self.assertEqual(self.fake.minted(), [])
        self.assertTrue(all(q["authorization"] == "Bearer " + TOKEN2 for q in self.fake.requests()))
        self.saved_token_is(TOKEN2)

    def test_a_token_that_comes_first_is_named(self):
        r = self.login(TOKEN2)  # DIGITALOCEAN_ACCESS_TOKEN is set in self.env
        self.assertEqual((r.rc, r.out.decode()), (0, self.SAVED + "  note: "
                         "DIGITALOCEAN_ACCESS_TOKEN is set and comes before the saved token\n"), r)

    def test_a_refused_token_is_not_saved(self):
        r = self.login("dop_v1_revoked\n")
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(r.out.startswith(b"DigitalOcean refused this token (HTTP 401: "
                                         b"unauthorized: Unable to authenticate you."), r)
        self.assertTrue(r.out.endswith(b"): nothing saved\n"), r)
        self.assertNotIn(b"revoked", r.out)
        # Without registry:read (nor account:read): refused at GET /v2/registries.
        r = self.login(UPDATEONLY)
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(r.out.startswith(b"DigitalOcean refused this token: it needs the "
                                         b"registry:read and registry:update scopes (HTTP 403"), r)
        self.assertEqual(self.fake.minted(), [])
        self.nothing_saved()

    def test_a_token_without_account_read_is_saved(self):
        r = self.login(READONLY, DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual((r.rc, r.out.decode()), (0, self.SAVED.replace(
            "for test@example.com (team My Team) in the keyring",
            "in the keyring (the account is not shown: the token has no account:read scope)")), r)

    def test_an_account_e_mail_with_a_nul_is_not_shown(self):
        # "a\u0000b" was checked up to the NUL and shown cut: "saved … for a@x (team My Team)".
        self.fake.control("POST", "config", {"email": "a@x\u0000\u001b[2Jevil"})
        r = self.login(TOKEN2 + "\n", DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual((r.rc, r.out.decode()), (0, self.SAVED.replace(
            "for test@example.com (team My Team) in the keyring",
            "in the keyring (the account is not shown: DigitalOcean's answer names no usable "
            "account e-mail)")), r)
        self.fake.control("POST", "config", {"email": "test@example.com"})  # it mints with it
        self.saved_token_is(TOKEN2)

    def test_an_api_out_of_reach_saves_it_unchecked(self):
        r = self.login(TOKEN2, DIGITALOCEAN_API_URL="https://127.0.0.1:1",
                       DIGITALOCEAN_ACCESS_TOKEN=None)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.decode().splitlines(), [
            "saved the DigitalOcean API token in the keyring, unchecked: DigitalOcean API: cannot "
            "reach 127.0.0.1: " + r.out.decode().split("cannot reach 127.0.0.1: ")[1].split("\n")[0],
            "  `docker-credential-keyring doctor` checks it once the API can be reached"], r)
        self.saved_token_is(TOKEN2)

    def test_rancher_login_keeps_working(self):
        r = self.login("rancher-secret\n", name="rancher")
        self.assertEqual((r.rc, r.out), (0, b"saved the Rancher API secret key in the keyring\n"
                                            b"  not checked here: `docker-credential-keyring "
                                            b"doctor` checks it\n"), r)
        self.assertEqual(self.fake.requests(), [])
        r = run(self.env, None, args=["logout", "rancher"])
        self.assertEqual((r.rc, r.out), (0, b""), r)

    # --- a terminal --------------------------------------------------------------------------
    def start_on_a_pty(self, **changes):
        """The helper with a new pty as its controlling terminal and stdin/stdout/stderr, as a
        person's shell would run it. Returns (process, master fd, slave fd); the test keeps
        the slave open to read the terminal's settings after the helper is gone."""
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        self.assertTrue(self.echo_is_on(slave))  # as a shell leaves it

        def controlling_tty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        p = subprocess.Popen([BIN, "login", "digitalocean"], stdin=slave, stdout=slave,
                             stderr=slave, env=self.env_with(**changes), start_new_session=True,
                             preexec_fn=controlling_tty)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p, master, slave

    def read_until(self, master, want, p=None, seconds=10):
        """What the terminal shows, until want appears (or p ends and nothing is left)."""
        seen, deadline = b"", time.monotonic() + seconds
        while want not in seen:
            self.assertLess(time.monotonic(), deadline, "waited for %r, saw %r" % (want, seen))
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                seen += os.read(master, 4096)
            elif p is not None and p.poll() is not None:
                break
        return seen

    def echo_is_on(self, slave):
        return bool(termios.tcgetattr(slave)[3] & termios.ECHO)

    def test_prompt_without_echo_then_saved(self):
        p, master, slave = self.start_on_a_pty(DIGITALOCEAN_ACCESS_TOKEN=None)
        shown = self.read_until(master, self.PROMPT)
        self.assertFalse(self.echo_is_on(slave), "echo is on while the token is typed")
        os.write(master, TOKEN2.encode() + b"\r")  # Enter
        self.assertEqual(p.wait(timeout=20), 0)
        shown += self.read_until(master, b"(checking it would mint a token)\r\n", p)
        self.assertNotIn(TOKEN2.encode(), shown)  # not echoed, not printed
        self.assertEqual(shown.replace(b"\r\n", b"\n"),
                         self.PROMPT + b"\n" + self.SAVED.encode())
        self.assertTrue(self.echo_is_on(slave), "echo not restored")
        self.saved_token_is(TOKEN2)

    def test_a_signal_while_typing_restores_the_terminal(self):
        for how in ("ctrl-c", "sigterm", "sighup"):
            with self.subTest(how=how):
                p, master, slave = self.start_on_a_pty(DIGITALOCEAN_ACCESS_TOKEN=None)
                self.read_until(master, self.PROMPT)
                os.write(master, b"dop_v1_half")  # typed, not yet entered
                self.assertFalse(self.echo_is_on(slave))
                if how == "ctrl-c":
                    os.write(master, b"\x03")  # the terminal's own SIGINT
                    want = -signal.SIGINT
                else:
                    sig = signal.SIGTERM if how == "sigterm" else signal.SIGHUP
                    p.send_signal(sig)
                    want = -sig
                self.assertEqual(p.wait(timeout=20), want)
                self.assertTrue(self.echo_is_on(slave), "echo left off after %s" % how)
                self.assertNotIn(b"dop_v1_half", self.read_until(master, b"\0", p, 2))
        self.assertEqual(self.fake.requests(), [])
        self.nothing_saved()

    def test_ctrl_d_ends_the_token_too(self):
        p, master, slave = self.start_on_a_pty(DIGITALOCEAN_ACCESS_TOKEN=None)
        self.read_until(master, self.PROMPT)
        os.write(master, TOKEN2.encode() + b"\x04")  # pasted, then Ctrl-D instead of Enter
        self.assertEqual(p.wait(timeout=20), 0)
        self.assertNotIn(TOKEN2.encode(), self.read_until(master, b"a token)\r\n", p))
        self.assertTrue(self.echo_is_on(slave))
        self.saved_token_is(TOKEN2)

    def test_nothing_typed(self):
        for keys in (b"\r", b"\x04", b"   \r"):  # Enter, Ctrl-D, blanks
            with self.subTest(keys=keys):
                p, master, slave = self.start_on_a_pty(DIGITALOCEAN_ACCESS_TOKEN=None)
                self.read_until(master, self.PROMPT)
                os.write(master, keys)
                self.assertEqual(p.wait(timeout=20), 1)
                self.assertIn(b"no DigitalOcean API token on standard input\r\n",
                              self.read_until(master, b"input\r\n", p))
                self.assertTrue(self.echo_is_on(slave))
        self.assertEqual(self.fake.requests(), [])


class OptimisedBuild(unittest.TestCase):
    """The DigitalOcean files compile without a warning at -O3 with GCC and with clang, as a
    Release build compiles them: -Werror is on, and some warnings (GCC's stringop-overflow on
    the source's free, inlined into its constructor) appear only when the optimiser inlines.
    The flags are the build's own, from the compile_commands.json next to DCK_BIN."""

    FILES = ("helper/source_do.c", "helper/login.c")

    def commands(self):
        build = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))
        path = os.path.join(build, "compile_commands.json")
        if not os.path.exists(path):
            self.skipTest("no compile_commands.json in %s" % build)
        with open(path) as f:
            entries = json.load(f)
        found = [e for e in entries if e["file"].endswith(self.FILES)]
        self.assertTrue(found, "none of %s in %s" % (self.FILES, path))
        return found

    def test_o3_with_gcc_and_clang(self):
        for compiler in ("gcc", "clang"):
            if not shutil.which(compiler):
                continue
            for entry in self.commands():
                argv = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
                # The same flags without optimisation, debug or output options, then -O3.
                args, skip = [], False
                for a in argv[1:]:
                    if skip:
                        skip = False
                    elif a == "-o":
                        skip = True
                    elif not re.fullmatch(r"-O.*|-g.*|-fsanitize.*|-fno-sanitize.*", a):
                        args.append(a)
                with self.subTest(compiler=compiler, file=os.path.basename(entry["file"])):
                    p = subprocess.run([compiler] + args + ["-O3", "-DNDEBUG", "-o", os.devnull],
                                       cwd=entry["directory"], capture_output=True, text=True,
                                       timeout=120)
                    self.assertEqual((p.returncode, p.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main(verbosity=2)
