#!/usr/bin/env python3
"""End to end: the files `docker-credential-keyring configure` writes make real clients log in
through the helper, and `doctor` catches what a real `podman logout --all` does to them.

Unlike test_clients.py, nothing here writes the config files by hand: each test starts with no
~/.docker/config.json and no containers auth file, runs `configure`, then the clients. The
auth file is where podman looks by itself (no REGISTRY_AUTH_FILE): $XDG_RUNTIME_DIR/containers/
auth.json, or, with XDG_RUNTIME_DIR unset, /run/containers/UID/auth.json (in a mount namespace
whose /run is a temporary directory). Docker Hub is unreachable here: its keys are checked with
`docker logout` and `podman logout docker.io`, which reach the helper without the network.

    E2E_HELPER_DIR=build/helper python3 tests/e2e/test_configure.py      # as root
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import registry as fx  # noqa: E402
from keyring import KeyringSession  # noqa: E402

HELPER = "docker-credential-keyring"
HELPER_DIR = os.path.abspath(os.environ["E2E_HELPER_DIR"]) if os.environ.get("E2E_HELPER_DIR") \
    else ""
NOT_FOUND = "credentials not found in native keychain"
HUB = "https://index.docker.io/v1/"
USER = "e2e-user"
PASSWORD = 'pa$$ "w0rd" \\ %ü'

ORIG_PATH = os.environ.get("PATH", os.defpath)
DOCKER = shutil.which("docker", path=ORIG_PATH)
PODMAN = shutil.which("podman", path=ORIG_PATH)

S = None


class Suite:
    """What setUpModule starts: keyring session, CA, a registry with auth, the env."""


def setUpModule():
    global S
    if os.geteuid() != 0:
        raise unittest.SkipTest("the e2e suite runs as root")
    for binary, name in ((shutil.which("docker-registry"), "docker-registry"),
                         (shutil.which("htpasswd"), "htpasswd (apache2-utils)"),
                         (shutil.which("openssl"), "openssl"),
                         (shutil.which("gnome-keyring-daemon"), "gnome-keyring"),
                         (shutil.which("dbus-daemon"), "dbus")):
        if not binary:
            raise RuntimeError("%s is not installed; see tests/e2e/README.md" % name)
    path = (HELPER_DIR + ":" + ORIG_PATH) if HELPER_DIR else ORIG_PATH
    s = Suite()
    s.helper = shutil.which(HELPER, path=path)
    if not s.helper:
        raise RuntimeError("%s not found in E2E_HELPER_DIR=%r nor on PATH" % (HELPER, HELPER_DIR))
    s.work = tempfile.mkdtemp(prefix="e2e-configure-")
    unittest.addModuleCleanup(shutil.rmtree, s.work, ignore_errors=True)
    s.keyring = KeyringSession()
    unittest.addModuleCleanup(s.keyring.stop)
    s.keyring.start()
    s.ca = fx.make_ca(os.path.join(s.work, "ca"))
    s.reg = fx.Registry(s.ca, users={USER: PASSWORD}, parent=s.work)
    unittest.addModuleCleanup(s.reg.stop)
    s.reg.start()

    env = dict(s.keyring.env)
    for var in ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
                "DOCKER_TLS_VERIFY", "REGISTRY_AUTH_FILE", "CONTAINERS_CONF",
                "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF", "CONTAINER_HOST",
                "CONTAINER_CONNECTION"):
        env.pop(var, None)
    env["PATH"] = path
    env["TMPDIR"] = os.path.join(s.work, "tmp")
    os.makedirs(env["TMPDIR"])
    # podman: private storage and config, nothing global touched
    storage = os.path.join(s.work, "storage")
    conf = {"storage.conf": '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n'
                            % (os.path.join(storage, "root"), os.path.join(storage, "run")),
            "containers.conf": '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\n'
                               'tmp_dir = "%s"\n' % os.path.join(s.work, "libpod-tmp"),
            "registries.conf": "unqualified-search-registries = []\n"}
    for name, text in conf.items():
        with open(os.path.join(s.work, name), "w") as f:
            f.write(text)
    env["CONTAINERS_STORAGE_CONF"] = os.path.join(s.work, "storage.conf")
    env["CONTAINERS_CONF"] = os.path.join(s.work, "containers.conf")
    env["CONTAINERS_REGISTRIES_CONF"] = os.path.join(s.work, "registries.conf")
    # the docker CLI without a daemon: a socket that does not exist
    env["DOCKER_HOST"] = "unix://" + os.path.join(s.work, "no-daemon.sock")
    s.env = env
    s.docker_config = os.path.join(env["HOME"], ".docker", "config.json")
    s.auth_file = os.path.join(env["XDG_RUNTIME_DIR"], "containers", "auth.json")
    S = s


def _fmt(r):
    return "exit %s\n--- stdout\n%s\n--- stderr\n%s" % (r.returncode, r.stdout[-3000:],
                                                        r.stderr[-3000:])


def client(argv, input=None, env=None):
    return fx.run(argv, input=input, env=env or S.env)


def helper(verb, stdin):
    return client([S.helper, verb], input=stdin)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def can_unshare():
    return shutil.which("unshare") and subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        stderr=subprocess.DEVNULL).returncode == 0


class ConfigureCase(unittest.TestCase):
    """Each test starts with no config files and nothing in the helper for the hosts used."""

    def setUp(self):
        for path in (S.docker_config, S.auth_file):
            if os.path.exists(path):
                os.unlink(path)
        for key in (S.reg.host, HUB, "docker.io"):
            helper("erase", key)

    def configure(self, *args, env=None):
        r = client([S.helper, "configure"] + list(args), env=env)
        self.assertEqual(r.returncode, 0, _fmt(r))
        return r

    def assertHelperHas(self, host, username, secret):
        r = helper("get", host)
        self.assertEqual(r.returncode, 0, _fmt(r))
        got = json.loads(r.stdout)
        self.assertEqual((got["Username"], got["Secret"]), (username, secret))

    def assertHelperEmpty(self, host):
        r = helper("get", host)
        self.assertEqual((r.returncode, r.stdout.strip()), (1, NOT_FOUND), _fmt(r))

    def assertNoSecretIn(self, *paths):
        for path in paths:
            with open(path) as f:
                text = f.read()
            cfg = json.loads(text)
            for key, entry in (cfg.get("auths") or {}).items():
                self.assertFalse({"auth", "password", "identitytoken"} & set(entry),
                                 "%s holds a secret for %s: %s" % (path, key, text))


class Podman(ConfigureCase):
    @classmethod
    def setUpClass(cls):
        if not PODMAN:
            raise unittest.SkipTest("podman is not installed")

    def podman(self, *args, input=None, env=None):
        return client([PODMAN] + list(args), input=input, env=env)

    def login(self, env=None):
        r = self.podman("login", "--cert-dir", S.ca.cert_dir, "-u", USER, "--password-stdin",
                        S.reg.host, input=PASSWORD + "\n", env=env)
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.assertIn("Login Succeeded", r.stdout)

    def test_login_after_configure_goes_through_the_helper(self):
        self.configure(S.reg.host)
        self.login()
        self.assertHelperHas(S.reg.host, USER, PASSWORD)
        self.assertNoSecretIn(S.docker_config, S.auth_file)
        r = self.podman("logout", S.reg.host)
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.assertHelperEmpty(S.reg.host)

    def test_docker_io_logout_reaches_the_helper(self):
        self.configure("docker.io")
        r = helper("store", json.dumps({"ServerURL": "docker.io", "Username": "u", "Secret": "s"}))
        self.assertEqual(r.returncode, 0, _fmt(r))
        r = self.podman("logout", "docker.io")
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.assertHelperEmpty("docker.io")

    def test_without_xdg_runtime_dir_login_goes_through_the_helper(self):
        # root over ssh without pam_systemd, su, a container: podman's auth file is then
        # /run/containers/0/auth.json. A private /run keeps the real one untouched.
        if not can_unshare():
            self.skipTest("needs unshare for a private /run")
        fake_run = os.path.join(S.work, "fake-run")
        os.makedirs(fake_run, exist_ok=True)
        self.addCleanup(shutil.rmtree, fake_run, ignore_errors=True)
        env = dict(S.env)
        env.pop("XDG_RUNTIME_DIR")

        def in_ns(argv, input=None):
            return client(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           'mount --bind "$0" /run && exec "$@"', fake_run] + argv,
                          input=input, env=env)
        r = in_ns([S.helper, "configure", S.reg.host])
        self.assertEqual(r.returncode, 0, _fmt(r))
        r = in_ns([PODMAN, "login", "--cert-dir", S.ca.cert_dir, "-u", USER, "--password-stdin",
                   S.reg.host], input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, _fmt(r))
        auth = os.path.join(fake_run, "containers", str(os.getuid()), "auth.json")
        self.assertNoSecretIn(auth)
        self.assertEqual(read_json(auth).get("credHelpers"), {S.reg.host: "keyring"})
        self.assertHelperHas(S.reg.host, USER, PASSWORD)

    def test_doctor_catches_logout_all_and_its_fix_works(self):
        self.configure(S.reg.host, "docker.io")
        r = self.podman("logout", "--all")
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.assertNotIn("credHelpers", read_json(S.auth_file))  # what podman does
        r = client([S.helper, "doctor"])
        lines = r.stdout.splitlines()
        i = lines.index("routing: in the docker config only (podman login would write these in "
                        "plaintext): %s docker.io" % S.reg.host)
        fix = lines[i + 1]
        self.assertEqual(fix, "  fix: `docker-credential-keyring configure %s docker.io`"
                         % S.reg.host)
        r = client(["sh", "-c", fix[len("  fix: `"):-1]])
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.login()
        self.assertHelperHas(S.reg.host, USER, PASSWORD)
        self.assertNoSecretIn(S.docker_config, S.auth_file)


class DockerCLI(ConfigureCase):
    @classmethod
    def setUpClass(cls):
        if not DOCKER:
            raise unittest.SkipTest("docker CLI is not installed")

    def docker(self, *args, input=None):
        return client([DOCKER] + list(args), input=input)

    def test_login_after_configure_goes_through_the_helper(self):
        self.configure(S.reg.host)
        r = self.docker("login", "-u", USER, "--password-stdin", S.reg.host, input=PASSWORD + "\n")
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.assertIn("Login Succeeded", r.stdout)
        self.assertHelperHas(S.reg.host, USER, PASSWORD)
        self.assertNoSecretIn(S.docker_config, S.auth_file)

    def test_docker_hub_logout_reaches_the_helper(self):
        # `configure docker.io` must wire the key docker uses for Docker Hub: a login stored
        # there (as `docker login` would) is what `docker logout` erases.
        self.configure("docker.io")
        r = helper("store", json.dumps({"ServerURL": HUB, "Username": "u", "Secret": "s"}))
        self.assertEqual(r.returncode, 0, _fmt(r))
        r = self.docker("logout")
        self.assertEqual(r.returncode, 0, _fmt(r))
        self.assertHelperEmpty(HUB)
        self.assertNoSecretIn(S.docker_config)


if __name__ == "__main__":
    unittest.main(verbosity=2)
