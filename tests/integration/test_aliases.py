#!/usr/bin/env python3
"""The aliases as a client runs them: docker-credential-digitalocean and
docker-credential-rancher are relative links beside the binary (DCK_BIN: the build tree's, or
/usr/bin's when test_packaging.sh runs this against the installed package), and each one,
executed through its link, pins its credential source for any host.

Through the links, against the fake APIs over TLS and a private keyring: the DigitalOcean
alias mints a credential for a host that is not DigitalOcean's (libcurl loaded, the copy
cached), the Rancher alias registers a login with Rancher, answers it from the keyring
(the Secret Service plugin loaded from where the binary finds it) and erases it there."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from common import BIN, NOT_FOUND, KeyringCase, run, store_json
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

HERE = os.path.dirname(os.path.abspath(__file__))
MKCA = os.path.join(HERE, "..", "lib", "mkca.sh")
TOKEN = "dop_v1_aliastoken"
CERTS = None


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="dck-alias-certs-")
    subprocess.run(["sh", MKCA, CERTS], check=True, timeout=60)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def link(name):
    """The alias link beside the binary under test."""
    return os.path.join(os.path.dirname(BIN), "docker-credential-" + name)


def run_link(env, name, verb, stdin=b""):
    """Run the binary through its link, as docker runs docker-credential-NAME from PATH."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.run([link(name), verb], input=stdin, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20)
    return p


def clean_env(env):
    """The session's environment without any source setting from outside the test."""
    env = dict(env)
    for var in list(env):
        if var.startswith(("DIGITALOCEAN_", "RANCHER_", "CATTLE_", "SSL_CERT_", "CURL_CA_BUNDLE")) \
                or (var.startswith("DOCKER_CREDENTIAL_KEYRING_")
                    and var != "DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING"):
            del env[var]
    return env


class Links(unittest.TestCase):
    def test_each_alias_is_a_relative_link_to_the_binary(self):
        for name in ("digitalocean", "rancher"):
            with self.subTest(name=name):
                self.assertTrue(os.path.islink(link(name)), link(name))
                self.assertEqual(os.readlink(link(name)), os.path.basename(BIN))
                self.assertEqual(os.path.realpath(link(name)), os.path.realpath(BIN))

    def test_version_names_the_alias(self):
        for name in ("digitalocean", "rancher"):
            with self.subTest(name=name):
                p = run_link(dict(os.environ), name, "version")
                self.assertEqual(p.returncode, 0, p)
                self.assertRegex(p.stdout.decode(), r"^docker-credential-%s \(docker-credential-"
                                 r"keyring\) v\d+\.\d+\.\d+( \(commit [0-9a-f]+(-dirty)?\))?\n$" % name)


class DigitalOceanAlias(KeyringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeServer("fake_do.py", CERTS, "--quiet", "--token", TOKEN)
        cls.env = clean_env(cls.env)
        cls.env.update(DIGITALOCEAN_API_URL=cls.fake.url,
                       DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=cls.fake.url,
                       SSL_CERT_FILE=os.path.join(CERTS, "ca.pem"),
                       DIGITALOCEAN_ACCESS_TOKEN=TOKEN,
                       DOCKER_CREDENTIAL_KEYRING_WRITE_BEHIND="false")

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def test_any_host_is_served_by_digitalocean(self):
        host = "alias.example.test"
        p = run_link(self.env, "digitalocean", "get", host)
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(json.loads(p.stdout)["ServerURL"], host)
        minted = [r for r in self.fake.control("GET", "requests")
                  if r["path"].endswith("/docker-credentials")]
        self.assertEqual(len(minted), 1, minted)
        # Under its own name the binary does not send that host to DigitalOcean.
        r = run(self.env, "get", host + ".other")
        self.assertEqual((r.rc, r.out), (1, NOT_FOUND), r)
        # The copy was cached in the keyring: a second get through the link asks nothing.
        p = run_link(self.env, "digitalocean", "get", host)
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(len([r for r in self.fake.control("GET", "requests")
                              if r["path"].endswith("/docker-credentials")]), 1)


class RancherAlias(KeyringCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeServer("fake_rancher.py", CERTS)
        cls.env = clean_env(cls.env)
        cls.env.update(RANCHER_URL="https://localhost:%d/v2-beta/projects/1a5" % cls.fake.port,
                       RANCHER_ACCESS_KEY="envkey", RANCHER_SECRET_KEY="envsecret",
                       DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS="all",
                       DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE=os.path.join(CERTS, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        super().tearDownClass()

    def active(self, host):
        st = self.fake.control("GET", "state")
        ids = {r["id"] for r in st["registries"] if r["serverAddress"] == host}
        return [(c["publicValue"], c["state"]) for c in st["credentials"]
                if c["registryId"] in ids and c["state"] == "active"]

    def test_store_get_erase_through_the_link(self):
        host = "rancher-alias.example.test"
        p = run_link(self.env, "rancher", "store", store_json(host, "alice", "s3cret"))
        self.assertEqual((p.returncode, p.stdout), (0, b""), p)
        self.assertEqual(self.active(host), [("alice", "active")])
        p = run_link(self.env, "rancher", "get", host)
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(json.loads(p.stdout),
                         {"ServerURL": host, "Username": "alice", "Secret": "s3cret"})
        p = run_link(self.env, "rancher", "erase", host)
        self.assertEqual((p.returncode, p.stdout), (0, b""), p)
        self.assertEqual(self.active(host), [])
        p = run_link(self.env, "rancher", "get", host)
        self.assertEqual((p.returncode, p.stdout), (1, NOT_FOUND), p)


if __name__ == "__main__":
    unittest.main(verbosity=2)
