#!/usr/bin/env python3
"""doctor's credential-source checks through the real binary, against the fake DigitalOcean and
Rancher APIs (TLS from a test CA) with a private keyring: one read-only API call per source (for
DigitalOcean GET /v2/registries, never the endpoint that mints a token), the exact line of each
result, and on failure the exact `fix:` line under it. Then the routing checks: which config
files send which registries here, under the keys each client looks them up by, each problem with
a fix that is one exact command (which the tests run, and doctor is then content)."""
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import unittest

from common import BIN, KeyringCase, KeyringSession, run, store_json
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
                               "REGISTRY_AUTH_FILE")) and \
                    var != "DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING":  # the session's own
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


class Settings(DoctorCase):
    """Every broken setting is a problem with its exact fix, each source is checked on its own,
    and doctor exits 1: it used to say "settings: ok", "none configured", "no problems found"."""

    def test_each_broken_source_setting_is_its_own_problem(self):
        conf = os.path.join(self.dir, "config")
        with open(conf, "w") as f:
            f.write("[rancher]\nurl = https://rancher.example.com\naccess-key = AK\ntimeout = zz\n")
        r, lines = self.doctor(DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY="bogus",
                               DOCKER_CREDENTIAL_KEYRING_CONFIG=conf,
                               DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT=None)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("settings: ok", lines)
        do_line, do_fix = self.source_lines(lines, "digitalocean")
        self.assertEqual(do_line, '  digitalocean: DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY: "bogus" is not '
                                  'a whole number of seconds from 0 to 1576800000 (or a duration '
                                  'such as 12h, or never)')
        self.assertEqual(do_fix, "    fix: `unset DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY` (its default "
                                 "then applies), or set DOCKER_CREDENTIAL_KEYRING_DO_EXPIRY as the "
                                 "line above says")
        rancher_line, rancher_fix = self.source_lines(lines, "rancher")
        self.assertIn('rancher.timeout: "zz" is not a duration', rancher_line)
        self.assertEqual(rancher_fix, "    fix: correct `timeout` in the [rancher] section of %s as "
                                      "the line above says, or remove it for its default" % conf)
        self.assertNotIn("no problems found", lines)

    def test_a_broken_rancher_setting_does_not_hide_digitalocean(self):
        r, lines = self.doctor(RANCHER_URL="https://rancher.example.com", RANCHER_ACCESS_KEY="AK",
                               DOCKER_CREDENTIAL_KEYRING_RANCHER_TIMEOUT="zz")
        self.assertEqual(r.rc, 1, r)
        do_line, _ = self.source_lines(lines, "digitalocean")
        self.assertEqual(do_line, "  digitalocean: not in use: " + DO_NO_TOKEN +
                         "; no doctl config at %s/.config/doctl/config.yaml" % self.dir)

    def test_broken_rancher_project_and_hosts_are_named(self):
        # The messages said "rancher project: …" / "rancher hosts: …", and the fix was to
        # correct `rancher project` "at the top of" the config file, whichever was set.
        conf = os.path.join(self.dir, "config")
        with open(conf, "w") as f:
            f.write("[rancher]\nhosts = good.example, https://\nproject = 1a5\n")
        rancher = dict(RANCHER_URL="https://rancher.example.com", RANCHER_ACCESS_KEY="AK",
                       DOCKER_CREDENTIAL_KEYRING_CONFIG=conf)
        r, lines = self.doctor(**rancher)
        self.assertEqual(self.source_lines(lines, "rancher"), (
            "  rancher: rancher.hosts: not a registry host: https://",
            "    fix: correct `hosts` in the [rancher] section of %s as the line above says, or "
            "remove it for its default" % conf), r)
        r, lines = self.doctor(DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS="all",
                               DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT="bad", **rancher)
        self.assertEqual(self.source_lines(lines, "rancher"), (
            "  rancher: DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT: expected an environment id "
            "like 1a5, got bad",
            "    fix: `unset DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT` (its default then "
            "applies), or set DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT as the line above says"), r)
        with open(conf, "w") as f:
            f.write("[rancher]\nproject = 1b5\n")
        r, lines = self.doctor(DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS="x" * 300, **rancher)
        self.assertEqual(self.source_lines(lines, "rancher"), (
            "  rancher: DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS: a host is too long",
            "    fix: `unset DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS` (its default then applies), "
            "or set DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS as the line above says"), r)
        r, lines = self.doctor(**rancher)
        self.assertEqual(self.source_lines(lines, "rancher"), (
            "  rancher: rancher.project: expected an environment id like 1a5, got 1b5",
            "    fix: correct `project` in the [rancher] section of %s as the line above says, "
            "or remove it for its default" % conf), r)

    def test_a_broken_keyring_setting_is_named(self):
        r, lines = self.doctor(DOCKER_CREDENTIAL_KEYRING_TIMEOUT="30000")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(lines[1:3], [
            'settings: DOCKER_CREDENTIAL_KEYRING_TIMEOUT: "30000" is out of range (1ms to 10m; a '
            'bare number is seconds)',
            "  fix: `unset DOCKER_CREDENTIAL_KEYRING_TIMEOUT` (its default then applies), or set "
            "DOCKER_CREDENTIAL_KEYRING_TIMEOUT as the line above says"], r)


class Keyring(unittest.TestCase):
    """A keyring that cannot serve: locked, or without a default collection (what a headless
    Debian box gets from gnome-keyring's package). Each is a problem with the command that fixes
    it, and store says what is wrong in words and names doctor."""

    START = ("`printf PASSWORD | gnome-keyring-daemon --replace --unlock --components=secrets "
             "--daemonize` (package gnome-keyring)")

    def doctor(self, env):
        r = run(env, "doctor", timeout=30)
        lines = r.out.decode().splitlines()
        i = next(n for n, l in enumerate(lines) if l.startswith("keyring:"))
        return r, lines[i], lines[i + 1]

    def test_a_locked_keyring_with_entries(self):
        with KeyringSession() as ks:
            self.assertEqual(run(ks.env, "store", store_json("a.example", "u", "p")).rc, 0)
            ks.restart_keyring(locked=True)
            r, line, fix = self.doctor(ks.env)
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(line, "keyring: the default keyring (/org/freedesktop/secrets/"
                                   "collection/login) is locked: get cannot read it and store "
                                   "cannot write it")
            self.assertEqual(fix, "  fix: unlock it: log in to the desktop session, or " + self.START +
                             " with the keyring's password")

    def test_no_default_collection(self):
        with KeyringSession(with_keyring=False) as ks:
            subprocess.run(["gnome-keyring-daemon", "--start", "--components=secrets"], env=ks.env,
                           check=True, capture_output=True, timeout=20)
            ks.keyring_pid = ks._wait_for_keyring_pid()
            r, line, fix = self.doctor(ks.env)
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(line, "keyring: the Secret Service has no default keyring: every store "
                                   "would fail")
            self.assertEqual(fix, "  fix: make one (it is what writes go to): " + self.START)
            r = run(ks.env, "store", store_json("a.example", "u", "p"))
            self.assertEqual((r.rc, r.out), (1, b"cannot store in the keyring: the Secret Service has "
                                                b"no default keyring (a keyring daemon started without "
                                                b"a login keyring): see `docker-credential-keyring "
                                                b"doctor`\n"), r)
            # The fix, as printed, works: then store does.
            subprocess.run("printf PASSWORD | gnome-keyring-daemon --replace --unlock "
                           "--components=secrets --daemonize", shell=True, env=ks.env, check=True,
                           capture_output=True, timeout=20)
            ks.keyring_pid = ks._wait_for_keyring_pid()
            r, line, _ = self.doctor(ks.env)
            self.assertTrue(line.startswith("keyring: the Secret Service answers"), line)
            self.assertEqual(run(ks.env, "store", store_json("a.example", "u", "p")).rc, 0)


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


class Routing(DoctorCase):
    """The routing section: the docker config (~/.docker/config.json) and the containers auth
    file (REGISTRY_AUTH_FILE here), with this binary's directory on PATH."""

    def setUp(self):
        super().setUp()
        self.bindir = os.path.dirname(os.path.abspath(BIN))
        self.denv["PATH"] = self.bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin")
        self.docker = os.path.join(self.dir, ".docker", "config.json")
        self.auth = os.path.join(self.dir, "auth.json")
        self.denv["REGISTRY_AUTH_FILE"] = self.auth

    def write(self, path, obj):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))

    def routing(self, **extra):
        """doctor's lines from the docker config on, without the summary line."""
        r, lines = self.doctor(**extra)
        i = next(n for n, l in enumerate(lines) if l.startswith("docker config:"))
        return r, lines[i:-1]

    def run_fix(self, line, **extra):
        """Run the command of a `fix:` line, as a person would paste it."""
        self.assertTrue(line.startswith("  fix: `"), line)
        cmd = line[len("  fix: `"):line.rindex("`")]
        env = dict(self.denv, **extra)
        p = subprocess.run(cmd, shell=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, (cmd, p.stdout, p.stderr))

    def configure(self, *args):
        r = run(self.denv, None, args=["configure"] + list(args))
        self.assertEqual(r.rc, 0, r)

    def test_podman_logout_all_is_caught_with_one_command(self):
        # podman logout --all rewrites auth.json without credHelpers: the next podman login
        # would write plaintext. Docker Hub's docker key is not one podman needs.
        self.configure("a.example", "docker.io")
        self.write(self.auth, {"auths": {}})
        r, lines = self.routing()
        self.assertEqual(lines, [
            "docker config: " + self.docker,
            "  credHelpers: a.example -> keyring",
            "  credHelpers: https://index.docker.io/v1/ -> keyring",
            "  credHelpers: docker.io -> keyring",
            "containers auth file: " + self.auth,
            "  routes nothing to this helper",
            "routing: in the docker config only (podman login would write these in plaintext): "
            "a.example docker.io",
            "  fix: `docker-credential-keyring configure a.example docker.io`"], r)
        self.run_fix(lines[-1], PATH=self.denv["PATH"])
        r, lines = self.routing()
        self.assertEqual(lines[4:], ["containers auth file: " + self.auth,
                                     "  credHelpers: a.example -> keyring",
                                     "  credHelpers: docker.io -> keyring"], r)

    def test_dockers_hub_key_is_not_missing_from_podmans_file(self):
        # What configure writes for Docker Hub: podman never looks the docker key up.
        self.write(self.docker, {"credHelpers": {"https://index.docker.io/v1/": "keyring",
                                                 "docker.io": "keyring"}})
        self.write(self.auth, {"credHelpers": {"docker.io": "keyring"}})
        r, lines = self.routing()
        self.assertEqual(lines, [
            "docker config: " + self.docker,
            "  credHelpers: https://index.docker.io/v1/ -> keyring",
            "  credHelpers: docker.io -> keyring",
            "containers auth file: " + self.auth,
            "  credHelpers: docker.io -> keyring"], r)
        self.assertNotIn(b"fix:", r.out)

    def test_docker_hub_without_dockers_key_is_caught(self):
        # What `configure docker.io` used to write: docker looks Docker Hub up by another key,
        # and `docker login` stores the password in the docker config.
        self.write(self.docker, {"credHelpers": {"docker.io": "keyring"}})
        self.write(self.auth, {"credHelpers": {"docker.io": "keyring"}})
        r, lines = self.routing()
        self.assertEqual(lines[:4], [
            "docker config: " + self.docker,
            "  credHelpers: docker.io -> keyring",
            "  https://index.docker.io/v1/ is not routed here, though docker looks docker.io up by "
            "that key: docker login writes it here in plaintext",
            "  fix: `docker-credential-keyring configure docker.io`"], r)
        self.assertEqual(r.rc, 1, r)
        self.run_fix(lines[3])
        r, lines = self.routing()
        self.assertNotIn(b"fix:", r.out)

    def test_a_key_no_client_sends_is_caught(self):
        # What an older configure wrote as typed: clients send reg.example.
        self.write(self.docker, {"credHelpers": {"https://REG.Example/v2/": "keyring"}})
        self.write(self.auth, {"credHelpers": {"https://REG.Example/v2/": "keyring"}})
        r, lines = self.routing()
        self.assertEqual(lines, [
            "docker config: " + self.docker,
            "  credHelpers: https://REG.Example/v2/ -> keyring",
            "  reg.example is not routed here, though docker looks reg.example up by that key: "
            "docker login writes it here in plaintext",
            "  fix: `docker-credential-keyring configure reg.example`",
            "containers auth file: " + self.auth,
            "  credHelpers: https://REG.Example/v2/ -> keyring",
            "  reg.example is not routed here, though podman looks reg.example up by that key: "
            "podman login writes it here in plaintext",
            "  fix: `docker-credential-keyring configure reg.example`"], r)
        self.run_fix(lines[3])
        r, lines = self.routing()
        self.assertNotIn(b"fix:", r.out)

    def test_helper_not_on_path_fix_is_the_link_to_make(self):
        self.configure("a.example")
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir)
        path = "/nonexistent-dir:%s:/usr/bin:/bin" % bindir
        r, lines = self.routing(PATH=path)
        self.assertEqual(lines[1:4], [
            "  credHelpers: a.example -> keyring",
            "  docker-credential-keyring is not on PATH: clients fail on these registries",
            "  fix: `ln -s %s %s/docker-credential-keyring`" % (os.path.realpath(BIN), bindir)], r)
        self.run_fix(lines[3], PATH=path)
        r, lines = self.routing(PATH=path)
        self.assertNotIn(b"fix:", r.out)
        self.assertEqual(r.rc, 0, r)

    def test_unreadable_file_fix_names_the_file(self):
        self.write(self.docker, '{"auths": {')
        r, lines = self.routing()
        self.assertEqual(lines[:2], [
            "docker config: %s: not valid JSON (unexpected end of input)" % self.docker,
            "  fix: correct %s so that it is one JSON object (the line above says what is "
            "wrong), then run `docker-credential-keyring doctor` again" % self.docker], r)

    def test_nothing_routed_fix_names_the_registries_logged_in_to(self):
        self.write(self.docker, {"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"},
                                           "Reg.Example:5000": {"auth": "dTpw"}}})
        self.write(self.auth, {"auths": {"quay.io": {"auth": "dTpw"}}})
        r, lines = self.routing()
        self.assertEqual(lines[-2:], [
            "routing: no config file sends any registry to this helper",
            "  fix: `docker-credential-keyring configure docker.io reg.example:5000 quay.io` (the "
            "registries these files hold logins for)"], r)
        self.run_fix(lines[-1])
        r, lines = self.routing()
        self.assertNotIn("routing:", "\n".join(lines), r)
        os.unlink(self.docker)
        os.unlink(self.auth)
        r, lines = self.routing()
        self.assertEqual(lines[-1], "  fix: `docker-credential-keyring configure REGISTRY...` "
                                    "with the registries you use (`docker-credential-keyring "
                                    "configure --store` routes every registry docker uses, but "
                                    "podman, buildah and skopeo ignore it)", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
