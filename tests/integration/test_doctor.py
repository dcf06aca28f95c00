#!/usr/bin/env python3
"""doctor's credential-source checks through the real binary, against the fake DigitalOcean and
Rancher APIs (TLS from a test CA) with a private keyring: one read-only API call per source (for
DigitalOcean GET /v2/registries, never the endpoint that mints a token), the exact line of each
result, and on failure the exact `fix:` line under it."""
import os
import shutil
import subprocess
import tempfile
import unittest

from common import KeyringCase, run
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
TOKEN = "dop_v1_testtoken"
WRITEONLY = "dop_v1_writeonly"  # registry:update without registry:read: 403
CERTS = None

DO_LOGIN_FIX = ("    fix: set DIGITALOCEAN_ACCESS_TOKEN or run "
                "`docker-credential-keyring login digitalocean`")
DO_NEW_TOKEN = ("make a new token with the registry:read and registry:update scopes (control "
                "panel: API, Tokens), then set DIGITALOCEAN_ACCESS_TOKEN to it")
DO_401_FIX = "    fix: the token is wrong, expired or revoked: " + DO_NEW_TOKEN
DO_403_FIX = "    fix: " + DO_NEW_TOKEN
DO_NO_TOKEN = ("no API token (DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE, DIGITALOCEAN_ACCESS_TOKEN, "
               "DIGITALOCEAN_TOKEN, digitalocean.token-file, digitalocean.token, `login`, "
               "doctl's config: none set)")
DO_UNCHECKED = ("; not checked: the registry:update scope, which getting credentials also needs "
                "(checking it would mint a token)")
RANCHER_401_FIX = ("    fix: the key pair named above is wrong or was deleted in Rancher (API, "
                   "Keys): make a new environment API key and set it, or save its secret with "
                   "`docker-credential-keyring login rancher`")
RANCHER_LOGIN_FIX = ("    fix: set RANCHER_SECRET_KEY or run "
                     "`docker-credential-keyring login rancher`")


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="dck-doctor-certs-")
    subprocess.run(["sh", MKCA, CERTS], check=True, timeout=60)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


class DoctorCase(KeyringCase):
    """A private keyring, a fresh HOME, and no source settings from the caller's environment."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dck-doctor-")
        env = dict(self.env)
        for var in list(env):
            if var.startswith(("DIGITALOCEAN_", "DOCKER_CREDENTIAL_KEYRING_", "RANCHER_", "CATTLE_",
                               "SSL_CERT_", "CURL_CA_BUNDLE", "DOCKER_CONFIG",
                               "REGISTRY_AUTH_FILE")):
                del env[var]
        env.update(HOME=self.dir, XDG_CONFIG_HOME=os.path.join(self.dir, ".config"),
                   SSL_CERT_FILE=os.path.join(CERTS, "ca.pem"),
                   DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="3s",
                   DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT="3s")
        self.denv = env
        run(env, None, args=["logout", "digitalocean"])
        run(env, None, args=["logout", "rancher"])

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def doctor(self, **extra):
        env = dict(self.denv)
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        r = run(env, "doctor", timeout=30)
        return r, r.out.decode().splitlines()

    def source_lines(self, lines, name):
        """The line of source name and the one after it."""
        i = next(n for n, l in enumerate(lines) if l.startswith("  %s: " % name))
        return lines[i], (lines[i + 1] if i + 1 < len(lines) else "")


class DigitalOcean(DoctorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeServer("fake_do.py", CERTS, "--quiet", "--token", TOKEN,
                              "--token-scopes", WRITEONLY + "=registry:update")

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.fake.control("POST", "reset")
        self.denv["DIGITALOCEAN_API_URL"] = self.fake.url

    def no_doctl(self):
        return "; no doctl config at %s/.config/doctl/config.yaml" % self.dir

    def test_token_accepted_with_one_read_only_call(self):
        r, lines = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=TOKEN)
        line, after = self.source_lines(lines, "digitalocean")
        self.assertEqual(line, "  digitalocean: token accepted (registry test-registry, token from "
                               "DIGITALOCEAN_ACCESS_TOKEN)" + DO_UNCHECKED, r)
        self.assertFalse(after.strip().startswith("fix:"), r)
        paths = [(q["method"], q["path"]) for q in self.fake.control("GET", "requests")]
        self.assertEqual(paths, [("GET", "/v2/registries")])
        self.assertEqual(self.fake.control("GET", "minted"), [])

    def test_token_saved_by_login_is_checked(self):
        r = run(dict(self.denv), "login", TOKEN.encode(), args=["login", "digitalocean"])
        self.assertEqual(r.rc, 0, r)
        r, lines = self.doctor()
        self.assertEqual(self.source_lines(lines, "digitalocean")[0],
                         "  digitalocean: token accepted (registry test-registry, token from "
                         "the keyring (saved by login))" + DO_UNCHECKED, r)

    def test_token_refused(self):
        r, lines = self.doctor(DIGITALOCEAN_ACCESS_TOKEN="dop_v1_wrong")
        line, fix = self.source_lines(lines, "digitalocean")
        self.assertTrue(line.startswith(
            "  digitalocean: DigitalOcean refused the API token from DIGITALOCEAN_ACCESS_TOKEN "
            "(HTTP 401: unauthorized: Unable to authenticate you."), r)
        self.assertEqual(fix, DO_401_FIX, r)
        self.assertEqual(r.rc, 1, r)
        self.assertNotIn(b"dop_v1_wrong", r.out + r.err)

    def test_token_without_the_read_scope(self):
        r, lines = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=WRITEONLY)
        line, fix = self.source_lines(lines, "digitalocean")
        self.assertIn("HTTP 403", line, r)
        self.assertEqual(fix, DO_403_FIX, r)
        self.assertEqual(r.rc, 1, r)

    def test_no_token_and_not_routed_is_not_a_problem(self):
        r, lines = self.doctor()
        line, after = self.source_lines(lines, "digitalocean")
        self.assertEqual(line, "  digitalocean: not in use: " + DO_NO_TOKEN + self.no_doctl(), r)
        self.assertFalse(after.strip().startswith("fix:"), r)
        self.assertEqual(self.fake.control("GET", "requests"), [])

    def test_no_token_but_routed_is_a_problem(self):
        self.assertEqual(run(self.denv, None, args=["configure", "--digitalocean"]).rc, 0)
        r, lines = self.doctor()
        self.assertEqual(self.source_lines(lines, "digitalocean"),
                         ("  digitalocean: " + DO_NO_TOKEN + self.no_doctl(), DO_LOGIN_FIX), r)
        self.assertEqual(r.rc, 1, r)

    def test_several_registries_need_the_registry_setting(self):
        self.fake.control("POST", "config", {"registries": ["alpha", "beta"]})
        r, lines = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=TOKEN)
        self.assertEqual(self.source_lines(lines, "digitalocean"), (
            "  digitalocean: token accepted, but the account has 2 registries (alpha, beta) and "
            "DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY (or registry in [digitalocean]) names none",
            "    fix: set DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY (or `registry = …` in the config "
            "file's [digitalocean] section) to one of: alpha, beta"), r)
        r, lines = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=TOKEN,
                               DOCKER_CREDENTIAL_KEYRING_DO_REGISTRY="beta")
        self.assertEqual(self.source_lines(lines, "digitalocean")[0],
                         "  digitalocean: token accepted (registry beta, token from "
                         "DIGITALOCEAN_ACCESS_TOKEN)" + DO_UNCHECKED, r)

    def test_unreachable_api_in_bounded_time(self):
        r, lines = self.doctor(DIGITALOCEAN_ACCESS_TOKEN=TOKEN,
                               DIGITALOCEAN_API_URL="https://127.0.0.1:1")
        line, fix = self.source_lines(lines, "digitalocean")
        self.assertTrue(line.startswith("  digitalocean: DigitalOcean API: "), r)
        self.assertTrue(fix.startswith("    fix: check that the API (DIGITALOCEAN_API_URL"), r)
        self.assertLess(r.seconds, 10, r)


class Rancher(DoctorCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeServer("fake_rancher.py", CERTS)
        cls.url = "https://localhost:%d" % cls.fake.port

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.fake.control("POST", "reset")
        self.fake.control("POST", "seed", {"registries": [
            {"project": "1a5", "serverAddress": h,
             "credentials": [{"publicValue": "u", "secretValue": "s", "state": "active"}]}
            for h in ("one.example.com", "two.example.com")]})
        self.fake.control("DELETE", "requests")
        self.denv.update(RANCHER_URL=self.url + "/v2-beta", RANCHER_ACCESS_KEY="envkey",
                         DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE=os.path.join(CERTS, "ca.pem"))
        self.host = "localhost:%d" % self.fake.port

    def test_key_accepted_and_environment_learnt(self):
        r, lines = self.doctor(RANCHER_SECRET_KEY="envsecret")
        line, after = self.source_lines(lines, "rancher")
        self.assertEqual(line, "  rancher: key accepted (RANCHER_* key envkey: environment 1a5, "
                               "2 registries)", r)
        self.assertFalse(after.strip().startswith("fix:"), r)
        reqs = self.fake.control("GET", "requests")
        self.assertEqual([(q["method"], q["path"]) for q in reqs], [("GET", "/v2-beta/registries")])

    def test_both_key_pairs_reported(self):
        r, lines = self.doctor(RANCHER_SECRET_KEY="envsecret", CATTLE_ACCESS_KEY="adminkey",
                               CATTLE_SECRET_KEY="adminsecret")
        self.assertEqual(self.source_lines(lines, "rancher")[0],
                         "  rancher: keys accepted (RANCHER_* key envkey: environment 1a5, "
                         "2 registries; CATTLE_* key adminkey: environment 1a5, 2 registries)", r)
        self.assertEqual(len(self.fake.control("GET", "requests")), 2)

    def test_key_refused(self):
        r, lines = self.doctor(RANCHER_SECRET_KEY="wrong")
        self.assertEqual(self.source_lines(lines, "rancher"), (
            "  rancher: Rancher at %s refused the API key envkey (401 Unauthorized): check "
            "RANCHER_ACCESS_KEY and RANCHER_SECRET_KEY" % self.host, RANCHER_401_FIX), r)
        self.assertEqual(r.rc, 1, r)
        self.assertNotIn(b"wrong", r.err)

    def test_reader_key_refused_writer_accepted(self):
        r, lines = self.doctor(RANCHER_SECRET_KEY="envsecret", CATTLE_ACCESS_KEY="adminkey",
                               CATTLE_SECRET_KEY="nope")
        self.assertEqual(self.source_lines(lines, "rancher"), (
            "  rancher: RANCHER_* key envkey: environment 1a5, 2 registries accepted, but the "
            "CATTLE_* key: Rancher at %s refused the API key adminkey (401 Unauthorized): check "
            "CATTLE_ACCESS_KEY and CATTLE_SECRET_KEY" % self.host, RANCHER_401_FIX), r)
        self.assertEqual(r.rc, 1, r)

    def test_no_secret_key(self):
        no_key = ("no Rancher secret key: set RANCHER_SECRET_KEY, or save it with "
                  "`docker-credential-keyring login rancher`")
        # Nothing routed here (RANCHER_URL and RANCHER_ACCESS_KEY may be the rancher CLI's).
        r, lines = self.doctor()
        line, after = self.source_lines(lines, "rancher")
        self.assertEqual(line, "  rancher: not in use: " + no_key, r)
        self.assertFalse(after.strip().startswith("fix:"), r)
        # A registry routed to the helper: the missing key is a problem.
        self.assertEqual(run(self.denv, None, args=["configure", "a.example"]).rc, 0)
        r, lines = self.doctor()
        self.assertEqual(self.source_lines(lines, "rancher"), ("  rancher: " + no_key,
                                                               RANCHER_LOGIN_FIX), r)
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.fake.control("GET", "requests"), [])

    def test_secret_saved_by_login_is_checked(self):
        r = run(dict(self.denv), "login", b"envsecret", args=["login", "rancher"])
        self.assertEqual(r.rc, 0, r)
        r, lines = self.doctor()
        self.assertEqual(self.source_lines(lines, "rancher")[0],
                         "  rancher: key accepted (RANCHER_* key envkey: environment 1a5, "
                         "2 registries)", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
