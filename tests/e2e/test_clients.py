#!/usr/bin/env python3
"""End to end: real clients authenticate through a docker-credential helper named in credHelpers.

The helper under test is `docker-credential-$E2E_HELPER_NAME` (default `keyring`), found first in
`$E2E_HELPER_DIR` (put first on PATH for the clients). Every client runs with a private HOME,
D-Bus session and unlocked gnome-keyring (tests/lib/keyring.py), against Debian's docker-registry
on 127.0.0.1 with TLS from a throwaway CA:

  * AUTH:   htpasswd (bcrypt) auth; the only credentials anywhere are in the helper.
  * PUBLIC: no auth; the helper is named for it too and holds nothing.

Both ~/.docker/config.json and $XDG_RUNTIME_DIR/containers/auth.json (= REGISTRY_AUTH_FILE) name
the helper in credHelpers for both hosts, and nothing else. See README.md beside this file.

    E2E_HELPER_DIR=/usr/bin E2E_HELPER_NAME=secretservice python3 tests/e2e/test_clients.py
"""
import atexit
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import registry as fx  # noqa: E402
from keyring import KeyringSession  # noqa: E402

HELPER_NAME = os.environ.get("E2E_HELPER_NAME") or "keyring"
HELPER_DIR = os.path.abspath(os.environ["E2E_HELPER_DIR"]) if os.environ.get("E2E_HELPER_DIR") \
    else ""
HELPER = "docker-credential-" + HELPER_NAME
NOT_FOUND = "credentials not found in native keychain"

# The registry user. The secret has characters that need escaping in JSON and in shells.
USER = "e2e-user"
PASSWORD = 'pa$$ "w0rd" \\ %ü'

# Clients are resolved on the PATH we were started with, *before* E2E_HELPER_DIR goes first:
# with E2E_HELPER_DIR=/usr/bin, a bare `docker` would otherwise be Debian's 20.10 CLI in /usr/bin
# instead of the newer one in /usr/local/bin.
ORIG_PATH = os.environ.get("PATH", os.defpath)
DOCKER = shutil.which("docker", path=ORIG_PATH)
SKOPEO = shutil.which("skopeo", path=ORIG_PATH)
PODMAN = shutil.which("podman", path=ORIG_PATH)
BUILDAH = shutil.which("buildah", path=ORIG_PATH)
DOCKERD = shutil.which("dockerd", path=ORIG_PATH + ":/usr/sbin:/sbin")

# Shared, started once by setUpModule.
S = None


class Suite:
    """What setUpModule starts: keyring session, CA, OCI image, both registries, the env."""


def _need(binary, name):
    if not binary:
        raise unittest.SkipTest("%s is not installed" % name)


def _write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _clip(text, limit=3000):
    # Go stack dumps (podman's stack overflow) run to megabytes: keep the start and the end.
    if len(text) <= limit:
        return text
    return text[:limit // 2] + "\n[... %d characters ...]\n" % (len(text) - limit) \
        + text[-limit // 2:]


def _fmt(r):
    return "exit %s\n--- stdout\n%s\n--- stderr\n%s" % (r.returncode, _clip(r.stdout),
                                                        _clip(r.stderr))


def _on_sigterm(signum, frame):
    # Unwind like ^C; atexit then stops whatever is still running.
    raise KeyboardInterrupt("SIGTERM")


def setUpModule():
    global S
    if os.geteuid() != 0:
        # podman/buildah/dockerd are used rootful with private roots; rootless needs subuids etc.
        raise unittest.SkipTest("the e2e suite runs as root")
    for binary, name in ((SKOPEO, "skopeo"), (shutil.which("docker-registry"), "docker-registry"),
                         (shutil.which("htpasswd"), "htpasswd (apache2-utils)"),
                         (shutil.which("openssl"), "openssl"),
                         (shutil.which("gnome-keyring-daemon"), "gnome-keyring"),
                         (shutil.which("dbus-daemon"), "dbus")):
        if not binary:
            raise RuntimeError("%s is not installed; see tests/e2e/README.md" % name)
    path = (HELPER_DIR + ":" + ORIG_PATH) if HELPER_DIR else ORIG_PATH
    helper_path = shutil.which(HELPER, path=path)
    if not helper_path:
        raise RuntimeError("%s not found in E2E_HELPER_DIR=%r nor on PATH" % (HELPER, HELPER_DIR))
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    unittest.addModuleCleanup(signal.signal, signal.SIGTERM, previous)

    s = Suite()
    s.helper_path = helper_path
    s.work = tempfile.mkdtemp(prefix="e2e-clients-")
    unittest.addModuleCleanup(shutil.rmtree, s.work, ignore_errors=True)
    s.keyring = KeyringSession()
    unittest.addModuleCleanup(s.keyring.stop)

    def emergency_cleanup():
        # Only does anything when the module cleanups did not run (^C, SIGTERM): every stop()
        # here is idempotent. Registered after registry.py's own atexit hook, so runs first.
        fx.kill_leftovers()
        s.keyring.stop()
        shutil.rmtree(s.work, ignore_errors=True)
    atexit.register(emergency_cleanup)
    s.keyring.start()

    s.ca = fx.make_ca(os.path.join(s.work, "ca"))
    s.layout = os.path.join(s.work, "oci")
    s.digest = fx.build_oci_image(s.layout, "latest")
    s.config_digest = _read_json(os.path.join(
        s.layout, "blobs", "sha256", s.digest.split(":")[1]))["config"]["digest"]

    s.auth = fx.Registry(s.ca, users={USER: PASSWORD}, parent=s.work)
    unittest.addModuleCleanup(s.auth.stop)
    s.auth.start()
    s.public = fx.Registry(s.ca, parent=s.work)
    unittest.addModuleCleanup(s.public.stop)
    s.public.start()

    # The environment every client gets: the keyring session's (private HOME, XDG dirs, D-Bus),
    # the helper first on PATH, and nothing inherited that could point elsewhere.
    env = dict(s.keyring.env)
    for var in ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH",
                "DOCKER_TLS_VERIFY", "REGISTRY_AUTH_FILE", "CONTAINERS_CONF",
                "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF", "CONTAINER_HOST",
                "CONTAINER_CONNECTION", "BUILDAH_ISOLATION", "STORAGE_DRIVER"):
        env.pop(var, None)
    env["PATH"] = path
    env["TMPDIR"] = os.path.join(s.work, "tmp")  # containers/image's big blob copies
    os.makedirs(env["TMPDIR"])
    home, run = env["HOME"], env["XDG_RUNTIME_DIR"]
    helpers = {s.auth.host: HELPER_NAME, s.public.host: HELPER_NAME}
    s.docker_config = os.path.join(home, ".docker", "config.json")
    s.auth_file = os.path.join(run, "containers", "auth.json")
    _write_json(s.docker_config, {"credHelpers": helpers})
    _write_json(s.auth_file, {"auths": {}, "credHelpers": helpers})
    env["REGISTRY_AUTH_FILE"] = s.auth_file

    # podman and buildah: private storage, state and config, so nothing global is touched.
    storage = os.path.join(s.work, "storage")
    s.storage_conf = os.path.join(s.work, "storage.conf")
    with open(s.storage_conf, "w") as f:
        f.write('[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n'
                % (os.path.join(storage, "root"), os.path.join(storage, "run")))
    containers_conf = os.path.join(s.work, "containers.conf")
    with open(containers_conf, "w") as f:
        f.write('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\n'
                'tmp_dir = "%s"\n' % os.path.join(s.work, "libpod-tmp"))
    registries_conf = os.path.join(s.work, "registries.conf")
    with open(registries_conf, "w") as f:
        f.write('unqualified-search-registries = []\n')
    env["CONTAINERS_STORAGE_CONF"] = s.storage_conf
    env["CONTAINERS_CONF"] = containers_conf
    env["CONTAINERS_REGISTRIES_CONF"] = registries_conf
    s.policy = os.path.join(s.work, "policy.json")
    _write_json(s.policy, {"default": [{"type": "insecureAcceptAnything"}]})
    # The docker CLI without a daemon: a socket that does not exist (never the system's).
    env["DOCKER_HOST"] = "unix://" + os.path.join(s.work, "no-daemon.sock")
    s.env = env
    S = s
    r = helper("version", "")
    sys.stderr.write("e2e: helper %s: %s\n" % (helper_path, (r.stdout.strip() or r.stderr.strip())
                                               .splitlines()[0] if r.stdout or r.stderr else "?"))

    # Seed both registries with the image without the helper under test: credentials on the
    # command line, and a HOME and auth file with no credHelpers. (skopeo still reads
    # ~/.docker/config.json when --dest-authfile is given.)
    seed = os.path.join(s.work, "seed")
    seed_env = dict(env, HOME=seed, XDG_CONFIG_HOME=os.path.join(seed, ".config"),
                    XDG_RUNTIME_DIR=seed, REGISTRY_AUTH_FILE=os.path.join(seed, "auth.json"))
    _write_json(seed_env["REGISTRY_AUTH_FILE"], {})
    for reg, creds in ((s.auth, ["--dest-creds", "%s:%s" % (USER, PASSWORD)]), (s.public, [])):
        r = skopeo("copy", "--dest-cert-dir", s.ca.cert_dir, *creds,
                   "oci:%s:latest" % s.layout, "docker://%s/e2e/base:1" % reg.host, env=seed_env)
        if r.returncode != 0:
            raise RuntimeError("seeding %s failed:\n%s" % (reg.host, _fmt(r)))
        assert reg.manifest_digest("e2e/base", "1", auth=(USER, PASSWORD)) == s.digest


# --- running things ------------------------------------------------------------------------

def client(argv, input=None, env=None):
    return fx.run(argv, input=input, env=env or S.env)


def skopeo(*args, env=None):
    return client([SKOPEO, "--policy", S.policy] + list(args), env=env)


def helper(verb, stdin):
    return client([HELPER, verb], input=stdin)


def helper_store(host, username=USER, secret=PASSWORD):
    r = helper("store", json.dumps({"ServerURL": host, "Username": username, "Secret": secret}))
    assert r.returncode == 0, "helper store failed:\n" + _fmt(r)


def helper_erase(host):
    r = helper("erase", host)
    assert r.returncode == 0 or r.stdout.strip() == NOT_FOUND, "helper erase failed:\n" + _fmt(r)


class HelperTestCase(unittest.TestCase):
    """Each test starts with the helper empty for both registries."""

    def setUp(self):
        helper_erase(S.auth.host)
        helper_erase(S.public.host)

    def assertOK(self, r):
        self.assertEqual(r.returncode, 0, _fmt(r))

    def assertHelperHas(self, host, username, secret):
        r = helper("get", host)
        self.assertEqual(r.returncode, 0, _fmt(r))
        got = json.loads(r.stdout)
        self.assertEqual((got.get("Username"), got.get("Secret")), (username, secret), r.stdout)

    def assertHelperEmpty(self, host):
        r = helper("get", host)
        self.assertEqual(r.returncode, 1, _fmt(r))
        self.assertEqual(r.stdout.strip(), NOT_FOUND, _fmt(r))

    def assertNoStoredSecrets(self):
        """Neither config file holds credentials of its own; credHelpers is still intact."""
        helpers = {S.auth.host: HELPER_NAME, S.public.host: HELPER_NAME}
        for path in (S.docker_config, S.auth_file):
            cfg = _read_json(path)
            for key, entry in (cfg.get("auths") or {}).items():
                self.assertFalse({"auth", "password", "identitytoken"} & set(entry),
                                 "%s holds a secret for %s: %s" % (path, key, cfg))
            self.assertNotIn("credsStore", cfg, path)
            self.assertEqual(cfg.get("credHelpers"), helpers, path)
        # ... and none of the other places containers/image and docker read credentials from.
        home = S.env["HOME"]
        for path in (os.path.join(home, ".dockercfg"),
                     os.path.join(S.env["XDG_CONFIG_HOME"], "containers", "auth.json")):
            self.assertFalse(os.path.exists(path), path)

    def assertUnauthorized(self, r):
        """The client failed because the registry said 401, not because the helper failed."""
        self.assertNotEqual(r.returncode, 0, _fmt(r))
        text = r.stderr.lower()
        self.assertTrue(any(w in text for w in ("unauthorized", "401", "invalid username/password")),
                        _fmt(r))
        self.assertNotIn("docker-credential", text, _fmt(r))
        self.assertNotIn("error getting credentials", text, _fmt(r))


# --- docker CLI, no daemon -----------------------------------------------------------------

class DockerCLI(HelperTestCase):
    """`docker login`/`logout` need no daemon: the CLI logs in client side and calls the helper."""

    @classmethod
    def setUpClass(cls):
        _need(DOCKER, "docker CLI")

    def docker(self, *args, input=None):
        return client([DOCKER] + list(args), input=input)

    def test_login_stores_through_helper_and_logout_erases(self):
        r = self.docker("login", "-u", USER, "--password-stdin", S.auth.host,
                        input=PASSWORD + "\n")
        self.assertOK(r)
        self.assertIn("Login Succeeded", r.stdout)
        self.assertHelperHas(S.auth.host, USER, PASSWORD)
        self.assertNoStoredSecrets()

        r = self.docker("logout", S.auth.host)
        self.assertOK(r)
        self.assertHelperEmpty(S.auth.host)
        self.assertNoStoredSecrets()

    def test_logout_with_nothing_stored_succeeds(self):
        # docker erases up to four spellings of the key; all answer "not found" or nothing.
        r = self.docker("logout", S.auth.host)
        self.assertOK(r)
        self.assertHelperEmpty(S.auth.host)

    def test_login_with_wrong_password_stores_nothing(self):
        r = self.docker("login", "-u", USER, "--password-stdin", S.auth.host,
                        input="not-the-password\n")
        self.assertUnauthorized(r)
        self.assertHelperEmpty(S.auth.host)
        self.assertNoStoredSecrets()


# --- skopeo --------------------------------------------------------------------------------

class Skopeo(HelperTestCase):

    def test_copy_and_inspect_with_helper_credentials(self):
        helper_store(S.auth.host)
        r = skopeo("copy", "--dest-cert-dir", S.ca.cert_dir,
                   "oci:%s:latest" % S.layout, "docker://%s/e2e/skopeo:1" % S.auth.host)
        self.assertOK(r)
        self.assertEqual(S.auth.manifest_digest("e2e/skopeo", "1", auth=(USER, PASSWORD)),
                         S.digest)
        r = skopeo("inspect", "--cert-dir", S.ca.cert_dir, "docker://%s/e2e/base:1" % S.auth.host)
        self.assertOK(r)
        self.assertEqual(json.loads(r.stdout)["Digest"], S.digest)

    def test_without_credentials_registry_says_401(self):
        r = skopeo("inspect", "--cert-dir", S.ca.cert_dir, "docker://%s/e2e/base:1" % S.auth.host)
        self.assertUnauthorized(r)
        r = skopeo("copy", "--dest-cert-dir", S.ca.cert_dir,
                   "oci:%s:latest" % S.layout, "docker://%s/e2e/denied:1" % S.auth.host)
        self.assertUnauthorized(r)
        self.assertIsNone(S.auth.manifest_digest("e2e/denied", "1", auth=(USER, PASSWORD)))

    def test_wrong_password_in_helper_registry_says_401(self):
        helper_store(S.auth.host, secret="not-the-password")
        r = skopeo("inspect", "--cert-dir", S.ca.cert_dir, "docker://%s/e2e/base:1" % S.auth.host)
        self.assertUnauthorized(r)

    def test_public_inspect_with_empty_helper(self):
        r = skopeo("inspect", "--cert-dir", S.ca.cert_dir,
                   "docker://%s/e2e/base:1" % S.public.host)
        self.assertOK(r)
        self.assertEqual(json.loads(r.stdout)["Digest"], S.digest)


# --- podman --------------------------------------------------------------------------------

class Podman(HelperTestCase):
    """podman with storage, state and config of its own (CONTAINERS_*_CONF in S.env)."""

    @classmethod
    def setUpClass(cls):
        _need(PODMAN, "podman")

    def podman(self, *args, input=None):
        return client([PODMAN] + list(args), input=input)

    def pull(self, ref):
        self.addCleanup(self.podman, "rmi", "--force", "--ignore", ref)
        return self.podman("pull", "--cert-dir", S.ca.cert_dir, ref)

    def image_digest(self, ref):
        r = self.podman("image", "inspect", "--format", "{{.Digest}}", ref)
        self.assertOK(r)
        return r.stdout.strip()

    def test_login_stores_through_helper_get_login_and_logout(self):
        r = self.podman("login", "--cert-dir", S.ca.cert_dir, "-u", USER, "--password-stdin",
                        S.auth.host, input=PASSWORD + "\n")
        self.assertOK(r)
        self.assertIn("Login Succeeded", r.stdout)
        self.assertHelperHas(S.auth.host, USER, PASSWORD)
        self.assertNoStoredSecrets()

        r = self.podman("login", "--get-login", S.auth.host)
        self.assertOK(r)
        self.assertEqual(r.stdout.strip(), USER)

        r = self.podman("logout", S.auth.host)
        self.assertOK(r)
        self.assertHelperEmpty(S.auth.host)
        self.assertNoStoredSecrets()
        r = self.podman("login", "--get-login", S.auth.host)
        self.assertNotEqual(r.returncode, 0, _fmt(r))

    def test_logout_with_nothing_stored_succeeds(self):
        # The helper must answer `erase` of a missing entry with success: measured with podman
        # 4.3.1, a not-found answer here makes `podman logout HOST` crash (Go stack overflow).
        r = self.podman("logout", S.auth.host)
        self.assertOK(r)
        self.assertIn("Removed login credentials for " + S.auth.host, r.stdout)
        self.assertHelperEmpty(S.auth.host)

    def test_logout_all_erases_through_helper(self):
        # `logout --all` erases every credHelpers entry (here one stored, one never stored) and
        # then rewrites the auth file *without* its credHelpers map: put it back afterwards.
        self.addCleanup(_write_json, S.auth_file, _read_json(S.auth_file))
        helper_store(S.auth.host)
        r = self.podman("logout", "--all")
        self.assertOK(r)
        self.assertHelperEmpty(S.auth.host)
        self.assertHelperEmpty(S.public.host)

    def test_login_with_wrong_password_stores_nothing(self):
        r = self.podman("login", "--cert-dir", S.ca.cert_dir, "-u", USER, "--password-stdin",
                        S.auth.host, input="not-the-password\n")
        self.assertUnauthorized(r)
        self.assertHelperEmpty(S.auth.host)
        self.assertNoStoredSecrets()

    def test_pull_and_push_with_helper_credentials(self):
        helper_store(S.auth.host)
        src = "%s/e2e/base:1" % S.auth.host
        r = self.pull(src)
        self.assertOK(r)
        self.assertEqual(self.image_digest(src), S.digest)

        r = self.podman("push", "--cert-dir", S.ca.cert_dir, src,
                        "docker://%s/e2e/podman:1" % S.auth.host)
        self.assertOK(r)
        self.assertIsNotNone(S.auth.manifest_digest("e2e/podman", "1", auth=(USER, PASSWORD)))
        self.assertEqual(self.remote_config_digest("e2e/podman", "1"), S.config_digest)

    def test_pull_without_credentials_registry_says_401(self):
        r = self.pull("%s/e2e/base:1" % S.auth.host)
        self.assertUnauthorized(r)

    def test_public_pull_with_empty_helper(self):
        ref = "%s/e2e/base:1" % S.public.host
        r = self.pull(ref)
        self.assertOK(r)
        self.assertEqual(self.image_digest(ref), S.digest)

    def remote_config_digest(self, repo, ref):
        status, _, body = S.auth.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                                         auth=(USER, PASSWORD),
                                         headers={"Accept": fx.MANIFEST_TYPES})
        self.assertEqual(status, 200)
        return json.loads(body)["config"]["digest"]


# --- buildah -------------------------------------------------------------------------------

class Buildah(HelperTestCase):

    @classmethod
    def setUpClass(cls):
        _need(BUILDAH, "buildah")

    def buildah(self, *args):
        return client([BUILDAH] + list(args))

    def pull(self, ref):
        # --policy always: go to the registry even when an earlier test left the image here.
        self.addCleanup(self.buildah, "rmi", "--force", ref)
        return self.buildah("pull", "--policy", "always", "--cert-dir", S.ca.cert_dir, ref)

    def test_pull_with_helper_credentials(self):
        helper_store(S.auth.host)
        ref = "%s/e2e/base:1" % S.auth.host
        r = self.pull(ref)
        self.assertOK(r)
        image_id = r.stdout.strip().splitlines()[-1]
        r = self.buildah("inspect", "--type", "image", "--format", "{{.FromImageDigest}}", ref)
        self.assertOK(r)
        self.assertEqual(r.stdout.strip(), S.digest)
        r = self.buildah("images", "--quiet", "--no-trunc", ref)
        self.assertOK(r)
        self.assertIn(image_id, r.stdout.replace("sha256:", ""))

    def test_pull_without_credentials_registry_says_401(self):
        r = self.pull("%s/e2e/base:1" % S.auth.host)
        self.assertUnauthorized(r)

    def test_public_pull_with_empty_helper(self):
        ref = "%s/e2e/base:1" % S.public.host
        self.assertOK(self.pull(ref))
        r = self.buildah("inspect", "--type", "image", "--format", "{{.FromImageDigest}}", ref)
        self.assertOK(r)
        self.assertEqual(r.stdout.strip(), S.digest)


# --- docker CLI with a private dockerd -----------------------------------------------------

class DockerDaemon(HelperTestCase):
    """docker pull/push through a private dockerd (DOCKER_HOST): the CLI gets the credentials
    from the helper and hands them to the daemon with each request."""

    @classmethod
    def setUpClass(cls):
        _need(DOCKER, "docker CLI")
        if os.environ.get("E2E_SKIP_DOCKERD"):
            raise unittest.SkipTest("E2E_SKIP_DOCKERD is set")
        # dockerd gets the environment we were started with, not the clients' one.
        cls.dockerd = fx.Dockerd(binary=DOCKERD or "dockerd", env=dict(os.environ),
                                 parent=S.work)
        cls.addClassCleanup(cls.dockerd.stop)
        try:
            cls.dockerd.start()
        except fx.DockerdUnavailable as e:
            # Not installed, or not root. A dockerd that is there but fails to start is an
            # error, not a skip: it has been measured to start on this kind of machine.
            raise unittest.SkipTest("dockerd cannot run here: %s" % e)
        cls.env = dict(S.env, DOCKER_HOST=cls.dockerd.host)

    def docker(self, *args, input=None):
        return client([DOCKER] + list(args), input=input, env=self.env)

    def assertNoLocalImage(self, ref):
        r = self.docker("image", "inspect", ref)
        self.assertNotEqual(r.returncode, 0, "%s is present locally:\n%s" % (ref, _fmt(r)))

    def remove_local(self, *refs):
        self.docker("image", "rm", "--force", *refs)

    def test_login_through_daemon_then_logout(self):
        r = self.docker("login", "-u", USER, "--password-stdin", S.auth.host,
                        input=PASSWORD + "\n")
        self.assertOK(r)
        self.assertIn("Login Succeeded", r.stdout)
        self.assertHelperHas(S.auth.host, USER, PASSWORD)
        self.assertNoStoredSecrets()
        r = self.docker("logout", S.auth.host)
        self.assertOK(r)
        self.assertHelperEmpty(S.auth.host)

    def test_pull_and_push_with_helper_credentials(self):
        helper_store(S.auth.host)
        src = "%s/e2e/base:1" % S.auth.host
        dst = "%s/e2e/docker:1" % S.auth.host
        self.addCleanup(self.remove_local, src, dst)
        r = self.docker("pull", src)
        self.assertOK(r)
        self.assertIn("Digest: " + S.digest, r.stdout)
        r = self.docker("image", "inspect", "--format", "{{json .RepoDigests}}", src)
        self.assertOK(r)
        self.assertIn("%s/e2e/base@%s" % (S.auth.host, S.digest), json.loads(r.stdout))

        self.assertOK(self.docker("tag", src, dst))
        r = self.docker("push", dst)
        self.assertOK(r)
        pushed = S.auth.manifest_digest("e2e/docker", "1", auth=(USER, PASSWORD))
        self.assertIsNotNone(pushed)
        self.assertIn("digest: " + pushed, r.stdout)

    def test_without_credentials_pull_and_push_fail(self):
        src = "%s/e2e/base:1" % S.auth.host
        log_start = os.path.getsize(self.dockerd.log)
        r = self.docker("pull", src)
        self.assertNotEqual(r.returncode, 0, _fmt(r))
        self.assertNoLocalImage(src)
        # dockerd treats 127.0.0.0/8 as an insecure registry: after the https attempt fails
        # with "no basic auth credentials" it falls back to plain http on the TLS port, and the
        # user is shown *that* error (a reset connection). The daemon log has the real reason.
        with open(self.dockerd.log, "rb") as f:
            f.seek(log_start)
            log = f.read().decode(errors="replace")
        self.assertIn('%s/v2/e2e/base/manifests/1\\": no basic auth credentials' % S.auth.host,
                      log, _fmt(r))

        pub = "%s/e2e/base:1" % S.public.host
        dst = "%s/e2e/docker-denied:1" % S.auth.host
        self.addCleanup(self.remove_local, pub, dst)
        self.assertOK(self.docker("pull", pub))
        self.assertOK(self.docker("tag", pub, dst))
        r = self.docker("push", dst)
        self.assertNotEqual(r.returncode, 0, _fmt(r))
        self.assertIn("no basic auth credentials", r.stderr, _fmt(r))
        self.assertIsNone(S.auth.manifest_digest("e2e/docker-denied", "1", auth=(USER, PASSWORD)))

    def test_public_pull_with_empty_helper(self):
        ref = "%s/e2e/base:1" % S.public.host
        self.addCleanup(self.remove_local, ref)
        r = self.docker("pull", ref)
        self.assertOK(r)
        self.assertIn("Digest: " + S.digest, r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
