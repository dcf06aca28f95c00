"""Valgrind memcheck over every verb, against a private keyring: no invalid read or write, no use
of uninitialised memory, no definite leak (a leaked block that held a secret is never wiped).

Runs the normal build's binary (valgrind cannot run an ASan one). Library-internal noise that is
not ours is suppressed in tests/valgrind.supp, library frames only."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from common import BIN, NOT_FOUND, KeyringCase, KeyringSession, no_bus_env, store_json
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
SUPP = os.path.join(HERE, "..", "valgrind.supp")
VALGRIND = shutil.which("valgrind")
OPTIONS = ["--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
           "--show-leak-kinds=definite", "--num-callers=40", "--track-origins=yes",
           "--suppressions=" + SUPP]
SERVER = "valgrind.example.com"
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
DO_HOST = "registry.digitalocean.com"
DO_TOKEN = "dop_v1_valgrindtoken"


def memcheck(env, args, stdin=b"", timeout=120):
    """Run the helper under memcheck; returns (exit status, stdout, stderr, valgrind's log)."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    with tempfile.NamedTemporaryFile(prefix="memcheck-", suffix=".log") as log:
        p = subprocess.run([VALGRIND, "--log-file=" + log.name] + OPTIONS + args, input=stdin,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        with open(log.name, errors="replace") as f:
            return p.returncode, p.stdout, p.stderr, f.read()



@unittest.skipUnless(VALGRIND, "valgrind is not installed (tests/run installs it)")
class Memcheck(KeyringCase):
    def setUp(self):
        self.assertTrue(VALGRIND, "valgrind is not installed (tests/run installs it)")
        # Valgrind is 20-50x slower: give the keyring calls room.
        self.vg_env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="60s")

    def check(self, args, stdin=b"", rc=0, out=None, env=None):
        status, stdout, stderr, log = memcheck(env or self.vg_env, [BIN] + args, stdin)
        self.assertNotEqual(status, 99, "memcheck found errors in %s:\n%s" % (args, log))
        self.assertEqual(status, rc, (args, stdout, stderr, log[-3000:]))
        if out is not None:
            self.assertEqual(stdout, out)
        return stdout

    def test_every_verb(self):
        secret = "vg-secret-\u00e9\u0000-end"
        self.check(["store"], store_json(SERVER, "alice", secret))
        self.check(["store"], store_json(SERVER, "bob", secret))  # replaces an entry
        self.assertIn(b"bob", self.check(["get"], SERVER))
        self.assertIn(SERVER.encode(), self.check(["list"]))
        self.check(["erase"], SERVER, out=b"")
        self.check(["get"], SERVER, rc=1, out=NOT_FOUND)
        self.check(["erase"], SERVER, out=b"")  # a miss is fine for erase
        self.check(["version"])
        self.check(["--help"])

    def test_error_paths(self):
        self.check(["store"], '{"ServerURL":"x","Username":"u","Secret":"s"', rc=1)
        self.check(["store"], '{"ServerURL":"","Username":"u"}', rc=1)
        self.check(["store"], b"x" * (8 * 1024 * 1024 + 1), rc=1)
        self.check(["get"], "", rc=1)
        self.check(["get"], "bad\x01server", rc=1)
        self.check(["nonsense"], rc=1)
        env = dict(self.vg_env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="soon")
        self.check(["store"], store_json(SERVER, "u", "s"), rc=1, env=env)

    def test_no_bus(self):
        # The kernel keyring is the store; and the Secret Service forced without a bus fails.
        env = dict(no_bus_env(), DOCKER_CREDENTIAL_KEYRING_TIMEOUT="60s")
        self.check(["get"], SERVER, rc=1, out=NOT_FOUND, env=env)
        self.check(["store"], store_json(SERVER, "u", "s"), env=env)
        self.check(["get"], SERVER, env=env)
        self.check(["list"], env=env)
        self.check(["erase"], SERVER, env=env)
        env["DOCKER_CREDENTIAL_KEYRING_STORE"] = "secret-service"
        self.check(["get"], SERVER, rc=1, out=NOT_FOUND, env=env)
        self.check(["store"], store_json(SERVER, "u", "s"), rc=1, env=env)
        self.check(["list"], out=b"{}\n", env=env)
        self.check(["erase"], SERVER, rc=1, env=env)

    def test_locked_keyring(self):
        with KeyringSession() as ks:
            env = dict(ks.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="60s")
            self.check(["store"], store_json(SERVER, "u", "s"), env=env)
            ks.restart_keyring(locked=True)
            self.check(["get"], SERVER, rc=1, out=NOT_FOUND, env=env)
            self.check(["store"], store_json(SERVER, "u", "t"), rc=1, env=env)
            self.check(["list"], env=env)
            self.check(["erase"], SERVER, rc=1, env=env)


    def test_write_behind_child(self):
        # The child a cold get starts to store a fetched copy (helper/write_behind.h) is not
        # run under memcheck (/proc/self/exe is valgrind's tool here): check its verb directly.
        server = "copy.valgrind.example.com"
        copy = json.dumps({"ServerURL": server, "Username": "carol", "Secret": "vg-copy-secret",
                           "Origin": "digitalocean", "Expires": 0})
        self.check(["cache-copy"], copy, out=b"")
        self.assertIn(b"vg-copy-secret", self.check(["get"], server))
        self.check(["cache-copy"], "not a copy", rc=1, out=b"")


@unittest.skipUnless(VALGRIND, "valgrind is not installed (tests/run installs it)")
class MemcheckSources(KeyringCase):
    """The same checks through the sources: libcurl, TLS, json-c and the cache paths of creds.c,
    against the fake DigitalOcean and Rancher APIs (the debug log on, so its paths run too)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = tempfile.mkdtemp(prefix="dck-vg-certs-")
        subprocess.run(["sh", MKCA, cls.certs], check=True, timeout=60)
        cls.do = FakeServer("fake_do.py", cls.certs, "--quiet", "--token", DO_TOKEN)
        cls.rancher = FakeServer("fake_rancher.py", cls.certs)

    @classmethod
    def tearDownClass(cls):
        cls.do.stop()
        cls.rancher.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)
        super().tearDownClass()

    check = Memcheck.check

    def setUp(self):
        self.vg_env = dict(self.env, DOCKER_CREDENTIAL_KEYRING_TIMEOUT="60s")
        for var in list(self.vg_env):
            if var.startswith(("DIGITALOCEAN_", "SSL_CERT_", "CURL_CA_BUNDLE", "RANCHER_",
                               "CATTLE_")):
                del self.vg_env[var]
        self.vg_env.update(DOCKER_CREDENTIAL_KEYRING_DEBUG="1",
                           SSL_CERT_FILE=os.path.join(self.certs, "ca.pem"))

    def test_digitalocean(self):
        env = dict(self.vg_env, DIGITALOCEAN_API_URL=self.do.url,
                   DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=self.do.url,
                   DIGITALOCEAN_ACCESS_TOKEN=DO_TOKEN, DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="60s")
        self.check(["erase"], DO_HOST, env=env)
        self.assertIn(b"Secret", self.check(["get"], DO_HOST, env=env))  # cold: a fetch
        self.assertIn(b"Secret", self.check(["get"], DO_HOST, env=env))  # warm: the cache
        self.check(["erase"], DO_HOST, out=b"", env=env)                  # revokes
        self.do.control("POST", "mode", {"mode": "status", "status": 500})
        self.check(["get"], DO_HOST, rc=1, out=NOT_FOUND, env=env)
        self.do.control("POST", "mode", {"mode": "malformed"})
        self.check(["get"], DO_HOST, rc=1, out=NOT_FOUND, env=env)
        self.do.control("POST", "mode", {"mode": "ok"})

    def test_kubelet_and_pull_secret(self):
        env = dict(self.vg_env, DIGITALOCEAN_API_URL=self.do.url,
                   DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=self.do.url,
                   DIGITALOCEAN_ACCESS_TOKEN=DO_TOKEN, DOCKER_CREDENTIAL_KEYRING_DO_TIMEOUT="60s",
                   DOCKER_CREDENTIAL_KEYRING_KUBELET_DEADLINE="50s")
        request = json.dumps({"kind": "CredentialProviderRequest",
                              "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
                              "image": DO_HOST + "/team/app:1", "serviceAccountToken": "sa-tok"})
        out = json.loads(self.check(["kubelet"], request, env=env))
        self.assertIn(DO_HOST, out["auth"])
        self.check(["kubelet"], "{not json", rc=1, out=b"", env=env)
        out = json.loads(self.check(["pull-secret", "--lifetime", "1h", DO_HOST], env=env))
        self.assertIn(DO_HOST, out["auths"])
        self.check(["erase"], DO_HOST, out=b"", env=env)

    def test_rancher(self):
        url = self.rancher.url.replace("127.0.0.1", "localhost")
        env = dict(self.vg_env, RANCHER_URL=url + "/v2-beta/projects/1a5",
                   RANCHER_ACCESS_KEY="envkey", RANCHER_SECRET_KEY="envsecret",
                   DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS="all",
                   DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT="60s")
        self.check(["store"], store_json(SERVER, "alice", "vg-rancher-secret"), env=env)
        self.assertIn(SERVER.encode(), self.check(["list"], env=env))
        self.check(["erase"], SERVER, out=b"", env=env)
        self.check(["store"], store_json(SERVER, "alice", "x"), rc=1,
                   env=dict(env, RANCHER_SECRET_KEY="wrong"))


@unittest.skipUnless(VALGRIND and shutil.which("cc"), "needs valgrind and a C compiler")
class MemcheckCanFail(unittest.TestCase):
    """The same options on a program that leaks and reads past a block must fail: the checks
    above are not vacuous."""

    def test_leak_and_bad_read_are_caught(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "bad.c")
            with open(src, "w") as f:
                f.write("#include <stdlib.h>\n#include <string.h>\n"
                        "int main(void) { char *p = malloc(8); memset(p, 1, 8); p = malloc(4);"
                        " return p[4] == 7; }\n")
            subprocess.run(["cc", "-O0", "-g", "-o", os.path.join(d, "bad"), src], check=True)
            status, _, _, log = memcheck(dict(os.environ), [os.path.join(d, "bad")])
            self.assertEqual(status, 99, log)
            self.assertIn("definitely lost", log)
            self.assertIn("Invalid read", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
