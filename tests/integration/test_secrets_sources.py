#!/usr/bin/env python3
"""Secrets hygiene with the most verbose logging, through every source: a keyring-only host, a
DigitalOcean host (tests/fakes/fake_do.py) and a Rancher host (tests/fakes/fake_rancher.py, both
as a write-back target and as a read source), every verb, `login`/`logout`, and the failure paths
(401, 500, a malformed body). With DOCKER_CREDENTIAL_KEYRING_DEBUG=1 and a LOG_FILE, none of the
registry secrets, the DigitalOcean API token, the registry passwords the fake minted, or the
Rancher secret keys may appear on stderr, on stdout when a verb fails or is not `get`, or in the
log file. The only place a registry secret may appear is the stdout of a successful `get`.

The log must hold debug lines from main, creds.c and http.c: a test that passed because logging
was silently off would prove nothing."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid

from common import NOT_FOUND, KeyringCase, run, store_json
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
TAG = uuid.uuid4().hex[:10]
DO_HOST = "registry.digitalocean.com"
DO_TOKEN = "dop_v1_logtoken" + TAG
DO_SAVED_TOKEN = "dop_v1_savedtoken" + TAG
KR_HOST = "plain-%s.example.com" % TAG
KR_SECRET = "kr-secret-" + TAG
DO_LOGIN_SECRET = "do-login-secret-" + TAG
R_WRITE_HOST = "rw-%s.example.com" % TAG
R_WRITE_SECRET = "rancher-registry-secret-" + TAG
R_READ_HOST = "rr-%s.example.com" % TAG
R_READ_SECRET = "rancher-seeded-secret-" + TAG
R_SAVED_KEY = "rancher-saved-key-" + TAG
BAD_PASSWORD = "malformed-body-password-" + TAG
PREFIX = b"docker-credential-keyring: debug: "
CERTS = None


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="dck-secrets-certs-")
    subprocess.run(["sh", MKCA, CERTS], check=True, timeout=60)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


class LoggedCase(KeyringCase):
    """Every run with DEBUG=1 and a log file; every result kept for the final check."""
    secrets = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dck-log-")
        self.log = os.path.join(self.tmp, "helper.log")
        self.results = []

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def base_env(self):
        env = dict(self.env)
        for var in list(env):
            if var.startswith(("DIGITALOCEAN_", "DOCKER_CREDENTIAL_KEYRING_", "SSL_CERT_",
                               "CURL_CA_BUNDLE", "RANCHER_", "CATTLE_")) and \
                    var != "DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING":  # the session's own
                del env[var]
        env.update(DOCKER_CREDENTIAL_KEYRING_DEBUG="1", DOCKER_CREDENTIAL_KEYRING_LOG_FILE=self.log)
        return env

    def h(self, env, verb, stdin=b"", args=None):
        r = run(env, verb, stdin, args=args)
        self.results.append((args or [verb], r))
        return r

    def marks(self, extra=()):
        out = []
        for s in tuple(self.secrets) + tuple(extra):
            s = s.encode() if isinstance(s, str) else s
            out += [s, base64.b64encode(s)]
        return out

    def check_clean(self, extra=()):
        marks = self.marks(extra)
        for argv, r in self.results:
            ok_stdout = argv == ["get"] and r.rc == 0
            for m in marks:
                self.assertNotIn(m, r.err, "stderr of %s holds a secret: %r" % (argv, r.err[-2000:]))
                if not ok_stdout:
                    self.assertNotIn(m, r.out, "stdout of %s holds a secret: %r" % (argv, r.out))
            self.assertIn(PREFIX, r.err, "no debug line on stderr of %s: %r" % (argv, r.err))
        with open(self.log, "rb") as f:
            log = f.read()
        self.assertEqual(os.stat(self.log).st_mode & 0o777, 0o600)
        for m in marks:
            self.assertNotIn(m, log, "the log file holds a secret")
        lines = log.splitlines()
        self.assertTrue(lines and all(l.startswith(PREFIX) for l in lines), log[:2000])
        return log


class KeyringOnly(LoggedCase):
    secrets = (KR_SECRET,)

    def test_every_verb(self):
        env = self.base_env()
        self.assertEqual(self.h(env, "store", store_json(KR_HOST, "alice", KR_SECRET)).rc, 0)
        r = self.h(env, "get", KR_HOST)
        self.assertEqual(r.rc, 0, r)
        self.assertIn(KR_SECRET.encode(), r.out)  # the checks can see it where it belongs
        self.assertIn(KR_HOST.encode(), self.h(env, "list").out)
        self.assertEqual(self.h(env, "erase", KR_HOST).rc, 0)
        self.assertEqual(self.h(env, "get", KR_HOST).out, NOT_FOUND)
        self.h(env, "store", '{"ServerURL":"%s","Username":"u","Secret":"%s"' % (KR_HOST, KR_SECRET))
        log = self.check_clean()
        self.assertIn(b"get " + KR_HOST.encode() + b": keyring only", log)
        self.assertIn(b"store (as ", log)


class DoFake(FakeServer):
    def __init__(self):
        super().__init__("fake_do.py", CERTS, "--quiet", "--token", DO_TOKEN, "--token",
                         DO_SAVED_TOKEN)

    def minted(self):
        return [m["password"] for m in self.control("GET", "minted")]

    def mode(self, mode, **params):
        self.control("POST", "mode", dict(params, mode=mode))


class DigitalOcean(LoggedCase):
    secrets = (DO_TOKEN, DO_SAVED_TOKEN, DO_LOGIN_SECRET, BAD_PASSWORD)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = DoFake()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def do_env(self, **extra):
        env = self.base_env()
        env.update(DIGITALOCEAN_API_URL=self.fake.url,
                   DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=self.fake.url,
                   SSL_CERT_FILE=os.path.join(CERTS, "ca.pem"),
                   DIGITALOCEAN_ACCESS_TOKEN=DO_TOKEN,
                   DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="3s")
        env.update(extra)
        return env

    def test_every_verb_and_failure(self):
        env = self.do_env()
        self.h(env, "erase", DO_HOST)
        r = self.h(env, "get", DO_HOST)                       # cold: a fetch
        self.assertEqual(r.rc, 0, r)
        minted = self.fake.minted()
        self.assertTrue(minted)
        self.assertIn(minted[-1].encode(), r.out)
        self.assertEqual(self.h(env, "get", DO_HOST).rc, 0)  # warm: from the cache
        self.h(env, "list")
        self.assertEqual(self.h(env, "erase", DO_HOST).rc, 0)  # revokes the minted token
        # Failures: each a not-found with the reason, a cold cache each time.
        truncated = '{"auths":{"%s":{"auth":"%s"' % (
            DO_HOST, base64.b64encode(("u:" + BAD_PASSWORD).encode()).decode())
        no_colon = '{"auths":{"%s":{"auth":"%s"}}}' % (
            DO_HOST, base64.b64encode(("u" + BAD_PASSWORD).encode()).decode())
        for mode, params in (("status", {"status": 401}), ("status", {"status": 500}),
                             ("malformed", {}), ("malformed", {"body": truncated}),
                             ("malformed", {"body": no_colon})):
            with self.subTest(mode=mode, **params):
                self.fake.mode(mode, **params)
                r = self.h(env, "get", DO_HOST)
                self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
                self.fake.mode("ok")
        # A wrong token in the environment: 401 from the fake, its value never echoed.
        r = self.h(self.do_env(DIGITALOCEAN_ACCESS_TOKEN=DO_LOGIN_SECRET), "get", DO_HOST)
        self.assertEqual(r.rc, 1, r)
        # login / logout with the token on stdin, then a fetch with the saved token.
        noenv = self.do_env()
        del noenv["DIGITALOCEAN_ACCESS_TOKEN"]
        r = self.h(noenv, None, DO_SAVED_TOKEN + "\n", args=["login", "digitalocean"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.h(noenv, "get", DO_HOST).rc, 0)
        self.assertEqual(self.h(noenv, "erase", DO_HOST).rc, 0)
        self.assertEqual(self.h(noenv, None, args=["logout", "digitalocean"]).rc, 0)
        # A login the user stored for the DO host: kept, never revoked, never logged.
        self.assertEqual(self.h(env, "store", store_json(DO_HOST, "me", DO_LOGIN_SECRET)).rc, 0)
        self.assertEqual(self.h(env, "get", DO_HOST).rc, 0)
        self.assertEqual(self.h(env, "erase", DO_HOST).rc, 0)
        log = self.check_clean(self.fake.minted())
        for want in (b"get registry.digitalocean.com: digitalocean", b"fetching from digitalocean",
                     b"/v2/registries/test-registry/docker-credentials?\xe2\x80\xa6 -> 200", b"-> 401", b"-> 500",
                     b"answered from the keyring", b"POST " + self.fake.url.encode() +
                     b"/v1/oauth/revoke -> 200", b"login digitalocean"):
            self.assertIn(want, log)


class RancherFake(FakeServer):
    def __init__(self):
        super().__init__("fake_rancher.py", CERTS)
        self.url = "https://localhost:%d" % self.port

    def seed(self, host, user, secret):
        self.control("POST", "seed", {"registries": [{"serverAddress": host, "credentials": [
            {"publicValue": user, "secretValue": secret, "state": "active",
             "email": "seed@example.com"}]}]})


class Rancher(LoggedCase):
    # The fake's default keys: envkey:envsecret (environment), adminkey:adminsecret (envadmin).
    secrets = (R_WRITE_SECRET, "envsecret", "adminsecret", R_SAVED_KEY)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = RancherFake()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def r_env(self, **extra):
        env = self.base_env()
        env["DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE"] = os.path.join(CERTS, "ca.pem")
        env["DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT"] = "3s"
        env.update(extra)
        return env

    def test_write_back(self):
        self.fake.control("POST", "reset")
        env = self.r_env(RANCHER_URL=self.fake.url + "/v2-beta/projects/1a5",
                         RANCHER_ACCESS_KEY="envkey", RANCHER_SECRET_KEY="envsecret",
                         DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS="all")
        self.assertEqual(self.h(env, "store", store_json(R_WRITE_HOST, "w", R_WRITE_SECRET)).rc, 0)
        self.assertEqual(self.h(env, "get", R_WRITE_HOST).rc, 0)
        self.h(env, "list")
        self.assertEqual(self.h(env, "erase", R_WRITE_HOST).rc, 0)
        # Failures: a wrong secret key (401), a 500, a proxy's HTML page.
        bad = dict(env, RANCHER_SECRET_KEY=R_SAVED_KEY)
        self.assertEqual(self.h(bad, "store", store_json(R_WRITE_HOST, "w", R_WRITE_SECRET)).rc, 1)
        self.h(bad, "erase", R_WRITE_HOST)
        for fault in ({"status": 500, "message": "boom"}, {"status": 502, "html": True}):
            self.fake.control("POST", "mode", dict(fault, mode="status"))
            self.assertEqual(self.h(env, "store", store_json(R_WRITE_HOST, "w", R_WRITE_SECRET)).rc, 1)
            self.h(env, "erase", R_WRITE_HOST)
            self.h(env, "list")
            self.fake.control("POST", "mode", {"mode": "normal"})
        # login rancher: the secret key on stdin, then used for a write-back.
        nokey = dict(env)
        del nokey["RANCHER_SECRET_KEY"]
        r = self.h(nokey, None, "envsecret\n", args=["login", "rancher"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.h(nokey, "store", store_json(R_WRITE_HOST, "w", R_WRITE_SECRET)).rc, 0)
        self.assertEqual(self.h(nokey, "erase", R_WRITE_HOST).rc, 0)
        self.assertEqual(self.h(nokey, None, args=["logout", "rancher"]).rc, 0)
        log = self.check_clean()
        for want in (b": rancher", b"/v2-beta/projects/1a5/registries", b"-> 401", b"-> 500",
                     b"-> 502", b"told rancher", b"login rancher"):
            self.assertIn(want, log)

    def test_read_source(self):
        self.fake.control("POST", "reset")
        self.fake.seed(R_READ_HOST, "ruser", R_READ_SECRET)
        env = self.r_env(CATTLE_URL=self.fake.url + "/v1", CATTLE_ACCESS_KEY="adminkey",
                         CATTLE_SECRET_KEY="adminsecret")
        self.h(env, "erase", R_READ_HOST)
        self.fake.seed(R_READ_HOST, "ruser", R_READ_SECRET)
        r = self.h(env, "get", R_READ_HOST)                   # cold
        self.assertEqual(r.rc, 0, r)
        self.assertIn(R_READ_SECRET.encode(), r.out)
        self.assertEqual(self.h(env, "get", R_READ_HOST).rc, 0)  # warm
        self.h(env, "list")
        for fault in ({"status": 500, "message": "boom"}, {"status": 502, "html": True}):
            self.h(env, "erase", R_READ_HOST)
            self.fake.control("POST", "mode", dict(fault, mode="status"))
            r = self.h(env, "get", R_READ_HOST)
            self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
            self.fake.control("POST", "mode", {"mode": "normal"})
        r = self.h(dict(env, CATTLE_SECRET_KEY=R_SAVED_KEY), "get", R_READ_HOST)  # 401
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        self.h(env, "erase", R_READ_HOST)
        # Only the seeded secret may be on a successful get's stdout: never in the logs.
        log = self.check_clean((R_READ_SECRET,))
        self.assertIn(b"fetching from rancher", log)
        self.assertIn(b"-> 401", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
