#!/usr/bin/env python3
"""End to end with credential sources: real clients pull from a real registry with credentials
that came from the (fake) DigitalOcean and Rancher APIs, and `docker login`/`logout` change what
Rancher holds. The helper is `docker-credential-keyring` from $E2E_HELPER_DIR, named in
credHelpers for the registry in both config files; nothing else holds credentials.

The registry is Debian's docker-registry with htpasswd auth; the fake APIs hand out exactly the
credentials that registry accepts (fake_do.py --fixed-credential; a Rancher credential seeded or
stored by the test)."""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import registry as fx  # noqa: E402
from fakeserver import FakeServer  # noqa: E402
from keyring import KeyringSession  # noqa: E402

HELPER_DIR = os.path.abspath(os.environ.get("E2E_HELPER_DIR") or
                             os.path.join(HERE, "..", "..", "build", "helper"))
ORIG_PATH = os.environ.get("PATH", os.defpath)
SKOPEO = shutil.which("skopeo", path=ORIG_PATH)
PODMAN = shutil.which("podman", path=ORIG_PATH)
DOCKER = shutil.which("docker", path=ORIG_PATH)

DO_USER, DO_PASS = "do-user@example.com", "dop_v1_e2e-registry-password"
RANCHER_USER, RANCHER_PASS = "rancher-user", "rancher e2e \"pass\""
NOT_FOUND = "credentials not found in native keychain"

S = None


class Suite:
    pass


def setUpModule():
    global S
    if os.geteuid() != 0:
        raise unittest.SkipTest("the e2e suite runs as root")
    if not SKOPEO:
        raise unittest.SkipTest("skopeo is not installed")
    s = Suite()
    s.work = tempfile.mkdtemp(prefix="e2e-sources-")
    unittest.addModuleCleanup(shutil.rmtree, s.work, ignore_errors=True)
    s.keyring = KeyringSession().start()
    unittest.addModuleCleanup(s.keyring.stop)
    s.ca = fx.make_ca(os.path.join(s.work, "ca"))
    s.layout = os.path.join(s.work, "oci")
    s.digest = fx.build_oci_image(s.layout, "latest")
    s.registry = fx.Registry(s.ca, users={DO_USER: DO_PASS, RANCHER_USER: RANCHER_PASS},
                             parent=s.work)
    unittest.addModuleCleanup(s.registry.stop)
    s.registry.start()
    s.do = FakeServer("fake_do.py", s.ca.dir, "--quiet", "--fixed-credential",
                      "%s:%s" % (DO_USER, DO_PASS))
    unittest.addModuleCleanup(s.do.stop)
    s.rancher = FakeServer("fake_rancher.py", s.ca.dir)
    unittest.addModuleCleanup(s.rancher.stop)

    env = dict(s.keyring.env)
    for var in ("DOCKER_HOST", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "DIGITALOCEAN_ACCESS_TOKEN",
                "DIGITALOCEAN_TOKEN", "RANCHER_URL", "RANCHER_ACCESS_KEY", "RANCHER_SECRET_KEY",
                "CATTLE_URL", "CATTLE_ACCESS_KEY", "CATTLE_SECRET_KEY"):
        env.pop(var, None)
    env["PATH"] = HELPER_DIR + ":" + ORIG_PATH
    env["SSL_CERT_FILE"] = s.ca.ca_pem  # the fake APIs' CA, for the helper's libcurl
    env["DOCKER_HOST"] = "unix://" + os.path.join(s.work, "no-daemon.sock")
    helpers = {s.registry.host: "keyring"}
    for path in (os.path.join(env["HOME"], ".docker", "config.json"),
                 os.path.join(env["XDG_RUNTIME_DIR"], "containers", "auth.json")):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"credHelpers": helpers}, f)
    env["REGISTRY_AUTH_FILE"] = path
    s.env = env
    s.policy = os.path.join(s.work, "policy.json")
    with open(s.policy, "w") as f:
        json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
    r = fx.run([SKOPEO, "--policy", s.policy, "copy", "--dest-cert-dir", s.ca.cert_dir,
                "--dest-creds", "%s:%s" % (DO_USER, DO_PASS), "oci:%s:latest" % s.layout,
                "docker://%s/e2e/base:1" % s.registry.host], env=dict(env, HOME=s.work))
    if r.returncode != 0:
        raise RuntimeError("seeding the registry failed: %s" % r.stderr)
    S = s


def inspect(env):
    return fx.run([SKOPEO, "--policy", S.policy, "inspect", "--cert-dir", S.ca.cert_dir,
                   "docker://%s/e2e/base:1" % S.registry.host], env=env)


def helper(env, verb, stdin):
    return fx.run(["docker-credential-keyring", verb], input=stdin, env=env)


class SourceCase(unittest.TestCase):
    settings = {}

    def setUp(self):
        S.do.control("POST", "reset")
        S.rancher.control("POST", "reset")
        self.env = dict(S.env, **self.settings)
        helper(self.env, "erase", S.registry.host)  # the keyring holds nothing for the registry

    def assertOK(self, r):
        self.assertEqual(r.returncode, 0, "exit %s\n%s\n%s" % (r.returncode, r.stdout, r.stderr))


class DigitalOcean(SourceCase):
    @property
    def settings(self):
        return {"DIGITALOCEAN_ACCESS_TOKEN": "dop_v1_testtoken",
                "DIGITALOCEAN_API_URL": S.do.url,
                "DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL": S.do.url,
                "DOCKER_CREDENTIAL_KEYRING_DO_HOSTS": S.registry.host}

    def api_requests(self):
        """The requests that mint a token (/v2/registries/<name>/docker-credentials)."""
        return [q for q in S.do.control("GET", "requests")
                if q["path"].endswith("/docker-credentials")]

    def test_skopeo_inspect_with_credentials_from_the_api(self):
        r = inspect(self.env)
        self.assertOK(r)
        self.assertEqual(json.loads(r.stdout)["Digest"], S.digest)
        # The current per-registry endpoint, the account's only registry learned by name.
        self.assertEqual([q["path"] for q in self.api_requests()],
                         ["/v2/registries/test-registry/docker-credentials"])
        # A second pull is served from the keyring: no new token is minted.
        self.assertOK(inspect(self.env))
        self.assertEqual(len(self.api_requests()), 1)

    @unittest.skipUnless(PODMAN, "podman is not installed")
    def test_podman_pull(self):
        storage = os.path.join(S.work, "podman-do")
        r = fx.run([PODMAN, "--root", storage + "/root", "--runroot", storage + "/run",
                    "--storage-driver", "vfs", "pull", "--cert-dir", S.ca.cert_dir,
                    "%s/e2e/base:1" % S.registry.host], env=self.env)
        self.assertOK(r)
        self.assertEqual(len(self.api_requests()), 1)

    def test_logout_revokes_and_leaves_nothing(self):
        self.assertOK(inspect(self.env))
        r = helper(self.env, "erase", S.registry.host)
        self.assertOK(r)
        self.assertEqual([m["revoked"] for m in S.do.control("GET", "minted")], [True])
        without_token = dict(self.env)
        del without_token["DIGITALOCEAN_ACCESS_TOKEN"]
        r = helper(without_token, "get", S.registry.host)
        self.assertEqual((r.returncode, r.stdout.strip()), (1, NOT_FOUND))

    def test_refused_token_is_a_clean_401_from_the_registry(self):
        env = dict(self.env, DIGITALOCEAN_ACCESS_TOKEN="dop_v1_wrong")
        r = inspect(env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unauthorized", r.stderr.lower())
        self.assertNotIn("error getting credentials", r.stderr.lower())


class RancherReadSource(SourceCase):
    """An environmentAdmin key (a system-stack container on a Rancher host) reads the secret."""

    @property
    def settings(self):
        return {"CATTLE_URL": S.rancher.url + "/v2-beta", "CATTLE_ACCESS_KEY": "adminkey",
                "CATTLE_SECRET_KEY": "adminsecret"}

    def test_pull_with_credentials_read_from_rancher(self):
        S.rancher.control("POST", "seed", {"registries": [{
            "project": "1a5", "serverAddress": S.registry.host,
            "credentials": [{"publicValue": RANCHER_USER, "secretValue": RANCHER_PASS,
                             "state": "active"}]}]})
        r = inspect(self.env)
        self.assertOK(r)
        self.assertEqual(json.loads(r.stdout)["Digest"], S.digest)


@unittest.skipUnless(DOCKER, "docker CLI is not installed")
class RancherWriteBack(SourceCase):
    """Ordinary keys: docker login registers the login in Rancher, docker logout removes it,
    and the environment's admin key can then pull with it."""

    @property
    def settings(self):
        return {"RANCHER_URL": S.rancher.url + "/v2-beta/projects/1a5",
                "RANCHER_ACCESS_KEY": "envkey", "RANCHER_SECRET_KEY": "envsecret",
                "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": S.registry.host}

    def live_credentials(self):
        st = S.rancher.control("GET", "state")
        ids = {r["id"] for r in st["registries"] if r["serverAddress"] == S.registry.host}
        # "removing" is Rancher accepting the delete; it ends in "removed" on its own.
        return [(c["publicValue"], c["secretValue"], c["state"]) for c in st["credentials"]
                if c["registryId"] in ids and not c["state"].startswith(("remov", "purg"))]

    def test_login_registers_and_logout_removes(self):
        r = fx.run([DOCKER, "login", "-u", RANCHER_USER, "--password-stdin", S.registry.host],
                   input=RANCHER_PASS + "\n", env=self.env)
        self.assertOK(r)
        self.assertEqual(self.live_credentials(), [(RANCHER_USER, RANCHER_PASS, "active")])
        # What Rancher now holds is what a host of the environment pulls with.
        reader = dict(S.env, CATTLE_URL=S.rancher.url + "/v2-beta", CATTLE_ACCESS_KEY="adminkey",
                      CATTLE_SECRET_KEY="adminsecret")
        self.assertOK(inspect(reader))
        r = fx.run([DOCKER, "logout", S.registry.host], env=self.env)
        self.assertOK(r)
        self.assertEqual(self.live_credentials(), [])
        r = helper(self.env, "get", S.registry.host)
        self.assertEqual((r.returncode, r.stdout.strip()), (1, NOT_FOUND))


@unittest.skipUnless(PODMAN, "podman is not installed")
class RancherLogoutAll(SourceCase):
    """`podman logout --all` (list, then erase every key) must not take from Rancher what this
    user never registered: the environment's hosts keep pulling with it."""

    @property
    def settings(self):
        return {"RANCHER_URL": S.rancher.url + "/v2-beta/projects/1a5",
                "RANCHER_ACCESS_KEY": "envkey", "RANCHER_SECRET_KEY": "envsecret",
                "DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS": "all"}

    def test_logout_all_leaves_the_environments_credential(self):
        S.rancher.control("POST", "seed", {"registries": [{
            "project": "1a5", "serverAddress": S.registry.host,
            "credentials": [{"publicValue": RANCHER_USER, "secretValue": RANCHER_PASS,
                             "state": "active"}]}]})
        r = fx.run([PODMAN, "logout", "--all"], env=self.env)
        self.assertOK(r)
        st = S.rancher.control("GET", "state")
        self.assertEqual([(c["publicValue"], c["state"]) for c in st["credentials"]],
                         [(RANCHER_USER, "active")])
        self.assertEqual([q for q in S.rancher.control("GET", "requests")
                          if q["method"] != "GET"], [])
        reader = dict(S.env, CATTLE_URL=S.rancher.url + "/v2-beta", CATTLE_ACCESS_KEY="adminkey",
                      CATTLE_SECRET_KEY="adminsecret")
        self.assertOK(inspect(reader))


if __name__ == "__main__":
    unittest.main(verbosity=2)
