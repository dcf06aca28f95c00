#!/usr/bin/env python3
"""End to end on the two node set-ups of the README, with no session bus and no keyring daemon:
the kernel keyring is the store.

CIRunner: a build server or CI runner, as root, run by systemd (a private session keyring per
process, as KeyringMode=private makes them) pulls one image from a DigitalOcean-served host 50
times with skopeo and docker (a private dockerd), ten of the pulls at once on a cold cache: every
pull succeeds, and exactly one token is minted.

KubeletNode: the kubelet's provider, run from packaging/kubelet/credential-provider-config.yaml
as the kubelet runs it (tests/integration/test_kubelet.py's harness): its answers carry
credentials the real registry accepts (skopeo pulls with them, handed over in an auth file as
the kubelet hands them to the container runtime), and ten calls mint one token.

The registry is Debian's docker-registry with htpasswd auth; tests/fakes/fake_do.py hands out
exactly its user (--fixed-credential)."""
import base64
import json
import os
import shutil
import sys
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import registry as fx  # noqa: E402
from fakeserver import FakeServer  # noqa: E402
from keyring import forget_kernel_keyring, kernel_keyring_name  # noqa: E402

HELPER_DIR = os.path.abspath(os.environ.get("E2E_HELPER_DIR") or
                             os.path.join(HERE, "..", "..", "build", "helper"))
os.environ.setdefault("DCK_BIN", os.path.join(HELPER_DIR, "docker-credential-keyring"))
import test_kubelet as kt  # noqa: E402  (after DCK_BIN: it names the binary it runs)

ORIG_PATH = os.environ.get("PATH", os.defpath)
SKOPEO = shutil.which("skopeo", path=ORIG_PATH)
DOCKER = shutil.which("docker", path=ORIG_PATH)
DOCKERD = shutil.which("dockerd", path=ORIG_PATH + ":/usr/sbin:/sbin")
KEYCTL_NR = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)

USER, PASSWORD = "do-user@example.com", "dop_v1_e2e-nodes-registry-password"
TOKEN = "dop_v1_testtoken"
PULLS = 50

S = None


class Suite:
    pass


# Runs the rest of its arguments in a new anonymous session keyring, not linked to root's user
# keyring, as systemd starts each process of a system service (KeyringMode=private). A command
# in front rather than a preexec_fn: several run at once from threads.
PRIVATE_SESSION = [sys.executable, "-c", "import ctypes, os, sys\n"
                   "if ctypes.CDLL(None).syscall(%d, 1, None) < 0: sys.exit(126)\n"
                   "os.execvp(sys.argv[1], sys.argv[1:])" % (KEYCTL_NR or 250)]


def setUpModule():
    global S
    if os.geteuid() != 0:
        raise unittest.SkipTest("the e2e suite runs as root")
    if not SKOPEO:
        raise unittest.SkipTest("skopeo is not installed")
    if not os.path.exists("/proc/keys") or not KEYCTL_NR:
        raise unittest.SkipTest("no kernel keyrings here")
    s = Suite()
    s.work = tempfile.mkdtemp(prefix="e2e-nodes-")
    unittest.addModuleCleanup(shutil.rmtree, s.work, ignore_errors=True)
    s.ca = fx.make_ca(os.path.join(s.work, "ca"))
    s.layout = os.path.join(s.work, "oci")
    s.digest = fx.build_oci_image(s.layout, "latest")
    s.registry = fx.Registry(s.ca, users={USER: PASSWORD}, parent=s.work)
    unittest.addModuleCleanup(s.registry.stop)
    s.registry.start()
    s.do = FakeServer("fake_do.py", s.ca.dir, "--quiet", "--token", TOKEN, "--fixed-credential",
                      "%s:%s" % (USER, PASSWORD))
    unittest.addModuleCleanup(s.do.stop)
    s.policy = os.path.join(s.work, "policy.json")
    with open(s.policy, "w") as f:
        json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
    seed_home = os.path.join(s.work, "seed-home")
    os.makedirs(seed_home)
    r = fx.run([SKOPEO, "--policy", s.policy, "copy", "--dest-cert-dir", s.ca.cert_dir,
                "--dest-creds", "%s:%s" % (USER, PASSWORD), "oci:%s:latest" % s.layout,
                "docker://%s/e2e/base:1" % s.registry.host], env=dict(os.environ, HOME=seed_home))
    if r.returncode != 0:
        raise RuntimeError("seeding the registry failed: %s" % r.stderr)
    s.image = "%s/e2e/base:1" % s.registry.host
    S = s


def minted():
    return S.do.control("GET", "minted")


def mint_requests():
    return [q for q in S.do.control("GET", "requests") if q["path"].endswith("/docker-credentials")]


class NodeCase(unittest.TestCase):
    def setUp(self):
        S.do.control("POST", "reset")
        self.keyring = kernel_keyring_name(tempfile.mktemp(prefix="nodes-"))
        self.addCleanup(forget_kernel_keyring, self.keyring)

    def assertOK(self, r):
        self.assertEqual(r.returncode, 0, "exit %s\n%s\n%s" % (r.returncode, r.stdout, r.stderr))


class CIRunner(NodeCase):
    """A runner's job environment: HOME and the client configs, no bus, no XDG_RUNTIME_DIR,
    the API token in the environment, the helper named in credHelpers for the host."""

    @classmethod
    def setUpClass(cls):
        cls.dockerd = None
        if DOCKER and DOCKERD and not os.environ.get("E2E_SKIP_DOCKERD"):
            cls.dockerd = fx.Dockerd(binary=DOCKERD, env=dict(os.environ), parent=S.work)
            cls.addClassCleanup(cls.dockerd.stop)
            cls.dockerd.start()

    def setUp(self):
        super().setUp()
        home = tempfile.mkdtemp(prefix="runner-home-", dir=S.work)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DBUS_", "DISPLAY", "WAYLAND_", "XDG_", "DOCKER_",
                                    "DIGITALOCEAN_", "REGISTRY_AUTH_FILE", "SSL_CERT_"))}
        env.update(HOME=home, PATH=HELPER_DIR + ":" + ORIG_PATH,
                   DIGITALOCEAN_ACCESS_TOKEN=TOKEN, DIGITALOCEAN_API_URL=S.do.url,
                   DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL=S.do.url,
                   DOCKER_CREDENTIAL_KEYRING_DO_HOSTS=S.registry.host,
                   DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING=self.keyring,
                   SSL_CERT_FILE=S.ca.ca_pem,  # the fake API's CA, for the helper's libcurl
                   REGISTRY_AUTH_FILE=os.path.join(home, "auth.json"))
        helpers = {"credHelpers": {S.registry.host: "keyring"}}
        for path in (os.path.join(home, ".docker", "config.json"), env["REGISTRY_AUTH_FILE"]):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump(helpers, f)
        if self.dockerd:
            env["DOCKER_HOST"] = self.dockerd.host
        self.env = env
        self.home = home

    def skopeo_pull(self, i):
        dest = os.path.join(self.home, "pulled-%d" % i)
        return fx.run(PRIVATE_SESSION + [SKOPEO, "--policy", S.policy, "copy", "--src-cert-dir",
                                         S.ca.cert_dir, "docker://" + S.image,
                                         "oci:%s:latest" % dest], env=self.env)

    def docker_pull(self):
        return fx.run(PRIVATE_SESSION + [DOCKER, "pull", S.image], env=self.env)

    def test_fifty_pulls_mint_one_token(self):
        with ThreadPoolExecutor(max_workers=10) as pool:  # a cold cache, ten jobs at once
            first = list(pool.map(self.skopeo_pull, range(10)))
        for r in first:
            self.assertOK(r)
        by = {"skopeo": 10, "docker": 0}
        for i in range(10, PULLS):
            if self.dockerd and i % 2:
                r = self.docker_pull()
                self.assertOK(r)
                self.assertIn("Digest: " + S.digest, r.stdout)
                by["docker"] += 1
            else:
                self.assertOK(self.skopeo_pull(i))
                by["skopeo"] += 1
        self.assertEqual(by, {"skopeo": 30, "docker": 20} if self.dockerd else {"skopeo": 50})
        with open(os.path.join(self.home, "pulled-0", "index.json")) as f:
            self.assertEqual(json.load(f)["manifests"][0]["digest"], S.digest)
        self.assertEqual(len(minted()), 1)
        self.assertEqual(len(mint_requests()), 1)
        # Nothing of it was written where a person would find it: no config file holds it.
        for path in (os.path.join(self.home, ".docker", "config.json"),
                     self.env["REGISTRY_AUTH_FILE"]):
            with open(path) as f:
                self.assertNotIn(PASSWORD, f.read())
        # It lives in the kernel keyring: a get with nothing to fetch with answers it.
        env = dict(self.env)
        del env["DIGITALOCEAN_ACCESS_TOKEN"]
        r = fx.run(["docker-credential-keyring", "get"], input=S.registry.host, env=env)
        self.assertOK(r)
        self.assertEqual(json.loads(r.stdout)["Secret"], PASSWORD)


class KubeletNode(NodeCase):
    def setUp(self):
        super().setUp()
        self.bin_dir = tempfile.mkdtemp(prefix="kubelet-bin-", dir=S.work)
        token_file = os.path.join(self.bin_dir, "digitalocean-token")
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, TOKEN.encode())
        os.close(fd)
        provider = kt.load_yaml(kt.EXAMPLE)["providers"][0]
        provider["matchImages"] = [S.registry.host]  # what the kubelet would match; not ours
        for var in provider["env"]:
            if var["name"] == "DOCKER_CREDENTIAL_KEYRING_DO_TOKEN_FILE":
                var["value"] = token_file
        provider["env"] += [{"name": k, "value": v} for k, v in (
            ("DIGITALOCEAN_API_URL", S.do.url), ("DOCKER_CREDENTIAL_KEYRING_DO_OAUTH_URL", S.do.url),
            ("DOCKER_CREDENTIAL_KEYRING_DO_HOSTS", S.registry.host), ("SSL_CERT_FILE", S.ca.ca_pem))]
        self.provider = kt.Provider(provider, self.bin_dir, kt.node_environ(self.keyring))

    def pull_with(self, auth):
        """skopeo with the credentials in an auth file, as the kubelet hands them to the CRI."""
        path = os.path.join(self.bin_dir, "auth.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, json.dumps({"auths": auth}).encode())
        os.close(fd)
        return fx.run([SKOPEO, "--policy", S.policy, "inspect", "--authfile", path,
                       "--cert-dir", S.ca.cert_dir, "docker://" + S.image],
                      env=dict(os.environ, HOME=self.bin_dir))

    def test_the_providers_answer_pulls(self):
        def call(i):
            return self.provider.exec("%s/e2e/base:%d" % (S.registry.host, i),
                                      wrap=PRIVATE_SESSION)
        with ThreadPoolExecutor(max_workers=5) as pool:
            answers = list(pool.map(call, range(10)))
        for r in answers:
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.response["auth"],
                             {S.registry.host: {"username": USER, "password": PASSWORD}})
            self.assertLessEqual(r.response["seconds"], 43200)
        self.assertEqual(len(minted()), 1)
        self.assertEqual(minted()[0]["read_write"], False)
        auth = {host: {"auth": base64.b64encode(("%s:%s" % (a["username"], a["password"]))
                                                .encode()).decode()}
                for host, a in answers[0].response["auth"].items()}
        r = self.pull_with(auth)
        self.assertOK(r)
        self.assertEqual(json.loads(r.stdout)["Digest"], S.digest)
        # Without them the registry refuses: the answer is what made the pull work.
        r = self.pull_with({})
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("unauthorized", r.stderr.lower())


if __name__ == "__main__":
    unittest.main(verbosity=2)
