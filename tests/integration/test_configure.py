#!/usr/bin/env python3
"""configure and doctor, run as a person would: each test gets a fresh HOME and runtime dir.
configure must create the files (0600, dirs 0700) with exact content, keep every other key and
the mode of an existing file, be idempotent, change nothing on --dry-run, and refuse a file it
cannot parse. It writes the keys each file's clients look a host up by (Docker Hub: docker's
https://index.docker.io/v1/ and podman's docker.io), turns URLs and upper case into the host
clients send or refuses what no client sends, finds podman's auth file without XDG_RUNTIME_DIR,
says the next step, takes entries out again with --remove, follows a dangling symlink, and
leaves no password from the files in freed memory. doctor must show a working
keyring and, without a bus, the problem and a fix."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from common import BIN, KeyringSession, Result, forget_kernel_keyring, kernel_keyring_name, run
from fakeserver import FakeServer  # noqa: E402  (common put tests/lib on the path)

MKCA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib", "mkca.sh")

HUB = "https://index.docker.io/v1/"
MARK = "U0hJTS1NQVJLRVItN2YzYTliMmM"  # base64, as an auths password is: found in freed memory?

# Reports every block freed (or left behind by realloc) that still holds $SHIM_MARKER.
FREE_SHIM = b"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void (*real_free)(void *);
static void *(*real_realloc)(void *, size_t);
static char marker[128];
static size_t marker_len;
static int ready;

static void init(void)
{
	const char *m = getenv("SHIM_MARKER");

	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	if (m && strlen(m) < sizeof(marker)) {
		strcpy(marker, m);
		marker_len = strlen(m);
	}
	ready = 1;
}

static void scan(void *p, const char *how)
{
	char line[96];
	int len;

	if (p && marker_len && memmem(p, malloc_usable_size(p), marker, marker_len)) {
		len = snprintf(line, sizeof(line), "SHIM: the secret in %s block\\n", how);
		if (write(2, line, (size_t)len) < 0)
			return;
	}
}

void free(void *p)
{
	if (!ready)
		init();
	scan(p, "a freed");
	real_free(p);
}

/* realloc that moves always, so the block left behind is scanned as well */
void *realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!ready)
		init();
	if (!p || !n)
		return real_realloc(p, n);
	old = malloc_usable_size(p);
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	scan(p, "a realloc'd");
	real_free(p);
	return q;
}
"""

# The shim's positive control: frees one block that holds $SHIM_MARKER.
FREES_MARKER = b"""
#include <stdlib.h>
#include <string.h>

int main(void)
{
	const char *m = getenv("SHIM_MARKER");
	char *p = m ? malloc(strlen(m) + 1) : NULL;

	if (!p)
		return 1;
	strcpy(p, m);
	free(p);
	return 0;
}
"""


def can_unshare():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                          stderr=subprocess.DEVNULL).returncode == 0


USAGE = (
    "Usage: docker-credential-keyring configure [--dry-run] [--remove] [--name NAME] [--store]\n"
    "                                           [--digitalocean] [--rancher] [HOST...]\n"
    "Adds credHelpers entries for each HOST (--digitalocean: registry.digitalocean.com;\n"
    "--rancher: every registry the configured Rancher holds a credential for) to\n"
    "~/.docker/config.json and the containers auth file; --store sets credsStore instead\n"
    "(docker sends every registry to the helper; podman, buildah and skopeo ignore it).\n"
    "--remove takes those entries out again. HOST is what `docker login HOST` takes: a URL\n"
    "or upper case is written as the host clients send; docker.io (Docker Hub) gets the keys\n"
    "docker and podman look up. NAME is the helper's name, the part after docker-credential-\n"
    "(default keyring).\n")

FRESH = ('{\n  "credHelpers": {\n    "a.example": "keyring",\n'
         '    "registry.digitalocean.com": "keyring"\n  }\n}\n')


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Configure(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dck-configure-")
        self.home = os.path.join(self.dir, "home")
        self.rt = os.path.join(self.dir, "run")
        os.makedirs(self.home)
        os.makedirs(self.rt, mode=0o700)
        env = dict(os.environ)
        for var in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(var, None)
        env.update(HOME=self.home, XDG_RUNTIME_DIR=self.rt,
                   XDG_CONFIG_HOME=os.path.join(self.home, ".config"))
        self.env = env
        self.docker = os.path.join(self.home, ".docker", "config.json")
        self.auth = os.path.join(self.rt, "containers", "auth.json")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def configure(self, *args):
        return run(self.env, None, args=["configure"] + list(args))

    def read(self, path):
        with open(path) as f:
            return f.read()

    def write(self, path, text, perm=0o600):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, perm)

    def test_fresh_home_creates_both_files(self):
        r = self.configure("a.example", "--digitalocean")
        self.assertEqual(r.rc, 0, r)
        for path in (self.docker, self.auth):
            self.assertEqual(self.read(path), FRESH, path)
            self.assertEqual(mode(path), 0o600, path)
            self.assertEqual(mode(os.path.dirname(path)), 0o700, path)
            self.assertIn(path.encode(), r.out)
        self.assertEqual(r.err, b"")

    def test_second_run_changes_nothing_and_says_so(self):
        self.assertEqual(self.configure("a.example").rc, 0)
        before = {p: (self.read(p), os.stat(p).st_ino) for p in (self.docker, self.auth)}
        r = self.configure("a.example")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"already configured", r.out)
        self.assertIn(b"nothing changed", r.out)
        for p, (text, ino) in before.items():
            self.assertEqual((self.read(p), os.stat(p).st_ino), (text, ino), p)

    def test_keeps_other_keys_unknown_fields_order_and_auths(self):
        original = {
            "auths": {"https://index.docker.io/v1/": {"auth": "dTpw", "email": "x@y"},
                      "other.example": {}},
            "HttpHeaders": {"User-Agent": "a/b"},
            "credHelpers": {"gcr.io": "gcloud"},
            "psFormat": "table {{.ID}}",
            "zzz-unknown": [1, 2.5, None, True, {"nested": "é/"}],
        }
        self.write(self.docker, json.dumps(original, indent="\t"), 0o640)
        r = self.configure("a.example")
        self.assertEqual(r.rc, 0, r)
        got = json.loads(self.read(self.docker))
        want = json.loads(json.dumps(original))
        want["credHelpers"]["a.example"] = "keyring"
        self.assertEqual(got, want)
        self.assertEqual(list(got), list(original))  # key order kept
        self.assertEqual(list(got["credHelpers"]), ["gcr.io", "a.example"])
        self.assertEqual(mode(self.docker), 0o640)  # mode kept
        self.assertNotIn("\\/", self.read(self.docker))

    @unittest.skipUnless(os.geteuid() == 0, "needs root to make a file another user's")
    def test_keeps_the_owner(self):
        # root running configure on a user's file left it root's (the temporary file's owner).
        self.write(self.docker, '{"auths": {}}', 0o640)
        os.chown(self.docker, 65534, 65534)
        r = self.configure("a.example")
        self.assertEqual(r.rc, 0, r)
        st = os.stat(self.docker)
        self.assertEqual((st.st_uid, st.st_gid, mode(self.docker)), (65534, 65534, 0o640))
        self.assertEqual(self.helpers(self.docker), {"a.example": "keyring"})
        st = os.stat(self.auth)  # a new file is the caller's
        self.assertEqual((st.st_uid, st.st_gid), (0, os.getegid()))

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run configure as another user")
    def test_another_users_file_is_changed_without_its_owner(self):
        # Not root, the file root's (and writable): fchown fails with EPERM, which is no error.
        path = os.path.abspath(BIN)
        while path != "/":
            path = os.path.dirname(path)
            if not os.stat(path).st_mode & stat.S_IXOTH:
                self.skipTest("the binary is out of other users' reach")
        self.write(self.docker, '{"auths": {}}', 0o666)
        os.chmod(self.dir, 0o755)
        for d in (self.home, os.path.dirname(self.docker), self.rt):
            os.chown(d, 65534, 65534)

        def nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        p = subprocess.run([BIN, "configure", "a.example"], env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20, preexec_fn=nobody)
        self.assertEqual(p.returncode, 0, p)
        st = os.stat(self.docker)
        self.assertEqual((st.st_uid, st.st_gid, mode(self.docker)), (65534, 65534, 0o666))
        self.assertEqual(self.helpers(self.docker), {"a.example": "keyring"})

    def test_plaintext_auth_is_kept_with_a_warning(self):
        self.write(self.docker, '{"auths": {"a.example": {"auth": "dTpw"}}}')
        r = self.configure("a.example")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"plaintext", r.out)
        self.assertIn(b"docker login a.example", r.out)
        self.assertEqual(json.loads(self.read(self.docker))["auths"],
                         {"a.example": {"auth": "dTpw"}})

    def test_dry_run_changes_nothing(self):
        self.write(self.docker, '{"auths": {}}')
        r = self.configure("--dry-run", "a.example")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.read(self.docker), '{"auths": {}}')
        self.assertFalse(os.path.exists(self.auth))
        self.assertFalse(os.path.exists(os.path.dirname(self.auth)))
        self.assertIn(b"would", r.out)
        self.assertIn(b'credHelpers["a.example"] = "keyring"', r.out)
        self.assertIn(self.docker.encode(), r.out)
        self.assertIn(self.auth.encode(), r.out)

    def test_unparsable_file_is_refused_and_nothing_changes(self):
        broken = '{"auths": {"a.example": {"auth": "dTpw"}},\n'
        self.write(self.auth, broken, 0o644)
        r = self.configure("a.example")
        self.assertEqual(r.rc, 1, r)
        self.assertIn(self.auth.encode(), r.out)
        self.assertIn(b"not valid JSON", r.out)
        self.assertEqual(self.read(self.auth), broken)
        self.assertEqual(mode(self.auth), 0o644)
        self.assertFalse(os.path.exists(self.docker))  # the other file is left alone too
        self.assertEqual(os.listdir(os.path.dirname(self.auth)), ["auth.json"])  # no temp files

    def test_not_an_object_is_refused(self):
        self.write(self.docker, '[1, 2]')
        r = self.configure("a.example")
        self.assertEqual(r.rc, 1, r)
        self.assertIn(self.docker.encode(), r.out)
        self.assertEqual(self.read(self.docker), '[1, 2]')

    def test_a_fifo_is_refused_at_once(self):
        # configure and doctor blocked forever in open() on a FIFO where a config file should be.
        os.makedirs(os.path.dirname(self.docker))
        os.mkfifo(self.docker)
        r = run(self.env, None, args=["configure", "--dry-run", "a.example"], timeout=5)
        self.assertEqual((r.rc, r.out.decode()), (1, (
            "%s: refusing to change it: %s: not a regular file\nnothing was changed\n")
            % (self.docker, self.docker)), r)
        r = run(self.env, None, args=["doctor"], timeout=5)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("docker config: %s: not a regular file\n" % self.docker, r.out.decode())
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.docker).st_mode))

    def test_store_mode_sets_creds_store(self):
        self.write(self.docker, '{"credsStore": "desktop", "auths": {}}')
        r = self.configure("--store")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(self.read(self.docker)),
                         {"credsStore": "keyring", "auths": {}})
        self.assertIn(b'"desktop" -> "keyring"', r.out)
        self.assertFalse(os.path.exists(self.auth))  # podman ignores credsStore

    def test_name_option_and_docker_config_dir(self):
        d = os.path.join(self.dir, "dockercfg")
        self.env["DOCKER_CONFIG"] = d
        self.env["REGISTRY_AUTH_FILE"] = os.path.join(self.dir, "auth.json")
        r = self.configure("--name", "rancher", "r.example")
        self.assertEqual(r.rc, 0, r)
        for path in (os.path.join(d, "config.json"), self.env["REGISTRY_AUTH_FILE"]):
            self.assertEqual(json.loads(self.read(path)), {"credHelpers": {"r.example": "rancher"}})
        self.assertFalse(os.path.exists(self.docker))

    def run_without_runtime_dir(self, *args):
        """The binary with XDG_RUNTIME_DIR unset (root over ssh, su, a container), in a mount
        namespace whose /run is self.fake_run: podman's /run/containers/UID/auth.json lands
        there, and the real /run is never touched."""
        if not can_unshare():
            self.skipTest("needs root and unshare for a private /run")
        self.fake_run = os.path.join(self.dir, "fake-run")
        os.makedirs(self.fake_run, exist_ok=True)
        env = dict(self.env)
        env.pop("XDG_RUNTIME_DIR", None)
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            'mount --bind "$0" /run && exec "$@"', self.fake_run, BIN] + list(args),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return Result(p.returncode, p.stdout, p.stderr, 0)

    def test_no_runtime_dir_wires_podmans_run_containers_file(self):
        r = self.run_without_runtime_dir("configure", "a.example")
        self.assertEqual(r.rc, 0, r)
        auth = "/run/containers/%d/auth.json" % os.getuid()
        self.assertIn(("%s: created:\n" % auth).encode(), r.out)
        inside = os.path.join(self.fake_run, "containers", str(os.getuid()), "auth.json")
        self.assertEqual(json.loads(self.read(inside)), {"credHelpers": {"a.example": "keyring"}})
        self.assertEqual(mode(inside), 0o600)
        self.assertEqual(mode(os.path.dirname(inside)), 0o700)
        self.assertEqual(json.loads(self.read(self.docker)), {"credHelpers": {"a.example": "keyring"}})
        # doctor reads the same file
        r = self.run_without_runtime_dir("doctor")
        lines = r.out.decode().splitlines()
        i = lines.index("containers auth file: " + auth)
        self.assertEqual(lines[i + 1], "  credHelpers: a.example -> keyring", r)
        self.assertNotIn("routing:", r.out.decode())

    # --- the keys each client looks up ----------------------------------------------------

    def helpers(self, path):
        return json.loads(self.read(path)).get("credHelpers")

    def test_docker_hub_gets_the_keys_each_client_reads(self):
        # docker looks Docker Hub up as https://index.docker.io/v1/; podman, buildah and skopeo
        # as docker.io, in their auth file and in the docker config, which they read too.
        for spelling in ("docker.io", "index.docker.io", "registry-1.docker.io",
                         "https://index.docker.io/v1/", "HTTPS://Index.Docker.IO/v1/"):
            with self.subTest(spelling=spelling):
                for path in (self.docker, self.auth):
                    if os.path.exists(path):
                        os.unlink(path)
                r = self.configure(spelling)
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(self.helpers(self.docker), {HUB: "keyring", "docker.io": "keyring"})
                self.assertEqual(list(self.helpers(self.docker)), [HUB, "docker.io"])
                self.assertEqual(self.helpers(self.auth), {"docker.io": "keyring"})

    def test_urls_and_upper_case_become_the_host_clients_send(self):
        r = self.configure("https://REG.Example:5000/v2/", "HTTP://b.example/", "C.example",
                           "[::1]:5000", "d.example/v1")
        self.assertEqual(r.rc, 0, r)
        want = {"reg.example:5000": "keyring", "b.example": "keyring", "c.example": "keyring",
                "[::1]:5000": "keyring", "d.example": "keyring"}
        for path in (self.docker, self.auth):
            self.assertEqual(self.helpers(path), want, path)
        out = r.out.decode().splitlines()
        self.assertEqual(out[:4], [
            "https://REG.Example:5000/v2/: clients send it as reg.example:5000: that is what is written",
            "HTTP://b.example/: clients send it as b.example: that is what is written",
            "C.example: clients send it as c.example: that is what is written",
            "d.example/v1: clients send it as d.example: that is what is written"], r)
        r = self.configure("reg.example:5000", "REG.EXAMPLE:5000")
        self.assertIn(b"nothing changed", r.out)

    def test_what_no_client_sends_is_refused(self):
        cases = {
            "reg.example/team/app": 'configure: "reg.example/team/app": clients look credential '
                                    'helpers up by registry host, never by path: name the host, '
                                    'reg.example\n',
            "https://reg.example/v2/x": 'configure: "https://reg.example/v2/x": clients look '
                                        'credential helpers up by registry host, never by path: '
                                        'name the host, reg.example\n',
            "ftp://reg.example": 'configure: "ftp://reg.example" is not a registry host (a URL '
                                 'names one only with https:// or http://)\n',
            "reg.example:0": 'configure: "reg.example:0" is not a registry host[:port]\n',
            "reg.example:70000": 'configure: "reg.example:70000" is not a registry host[:port]\n',
            "user@reg.example": 'configure: "user@reg.example" is not a registry host[:port]\n',
            # docker's grammar: no '_', no label that starts or ends with '-'
            "reg_1.example": 'configure: "reg_1.example" is not a registry host[:port]\n',
            "a.-b.example": 'configure: "a.-b.example" is not a registry host[:port]\n',
            "-x.example": "configure: unknown option: -x.example\n" + USAGE,
            "a b": "configure: not a registry host: an argument holds a space, a quote, a "
                   "backslash or a control character\n",
            "a\x1b[2Jb": "configure: not a registry host: an argument holds a space, a quote, a "
                         "backslash or a control character\n",
        }
        for typed, line in cases.items():
            with self.subTest(typed=typed):
                r = self.configure("good.example", typed)
                self.assertEqual((r.rc, r.out), (1, line.encode()), r)
                self.assertFalse(os.path.exists(self.docker))
                self.assertFalse(os.path.exists(self.auth))
        # after --, a word with a dash is a host, here not a valid one
        r = self.configure("--", "-x.example")
        self.assertEqual((r.rc, r.out), (1, b'configure: "-x.example" is not a registry host[:port]\n'))

    def test_says_the_next_step(self):
        r = self.configure("a.example", "docker.io", "--digitalocean")
        self.assertEqual(r.rc, 0, r)
        out = r.out.decode()
        self.assertTrue(out.endswith(
            "next: log in once; the password then goes to the keyring, not into these files:\n"
            "  docker login a.example\n"
            "  docker login\n"
            "  podman login docker.io\n"
            "  (Docker Hub has one keyring entry per client: `docker login` for docker, "
            "`podman login docker.io` for podman, buildah and skopeo; for other registries "
            "`podman login HOST` stores the same entry as docker)\n"
            "registry.digitalocean.com: no login needed: credentials come from the DigitalOcean "
            "API (set DIGITALOCEAN_ACCESS_TOKEN or run "
            "`docker-credential-keyring login digitalocean`)\n"), out)
        r = self.configure("a.example")  # nothing changed: nothing to do next
        self.assertNotIn(b"next:", r.out)

    def test_plaintext_docker_hub_login_is_named_with_its_command(self):
        self.write(self.docker, '{"auths": {"%s": {"auth": "dTpw"}}}' % HUB)
        self.write(self.auth, '{"auths": {"docker.io": {"auth": "dTpw"}}}')
        r = self.configure("docker.io")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(('  warning: auths["%s"] still holds a plaintext password; it is left in '
                       'place: run `docker login` again to move it into the keyring, then remove '
                       'the entry\n' % HUB).encode(), r.out)
        self.assertIn(b'  warning: auths["docker.io"] still holds a plaintext password; it is left '
                      b'in place: run `podman login docker.io` again to move it into the keyring, '
                      b'then remove the entry\n', r.out)

    def test_nothing_to_do_is_an_error(self):
        r = self.configure()
        self.assertEqual(r.rc, 1, r)
        self.assertFalse(os.path.exists(self.docker))
        r = self.configure("--bogus", "a.example")
        self.assertEqual(r.rc, 1, r)
        self.assertFalse(os.path.exists(self.docker))

    # --- --remove -------------------------------------------------------------------------

    def test_remove_takes_out_only_this_helpers_entries(self):
        self.write(self.docker, json.dumps({"credHelpers": {"gcr.io": "gcloud", "b.example": "other"},
                                            "auths": {}}))
        self.assertEqual(self.configure("a.example", "docker.io", "keep.example").rc, 0)
        r = self.configure("--remove", "a.example", "https://index.docker.io/v1/", "b.example")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.decode(), (
            "%s: changed:\n"
            '  credHelpers["a.example"] ("keyring") removed\n'
            '  credHelpers["https://index.docker.io/v1/"] ("keyring") removed\n'
            '  credHelpers["docker.io"] ("keyring") removed\n'
            '  credHelpers["b.example"] names another helper ("other"): left in place\n'
            "%s: changed:\n"
            '  credHelpers["a.example"] ("keyring") removed\n'
            '  credHelpers["docker.io"] ("keyring") removed\n'
            "the logins stay in the keyring; to erase them too:\n"
            "  printf %%s 'a.example' | docker-credential-keyring erase\n"
            "  printf %%s 'https://index.docker.io/v1/' | docker-credential-keyring erase\n"
            "  printf %%s 'docker.io' | docker-credential-keyring erase\n") % (self.docker, self.auth))
        self.assertEqual(json.loads(self.read(self.docker)), {
            "credHelpers": {"gcr.io": "gcloud", "b.example": "other", "keep.example": "keyring"},
            "auths": {}})
        self.assertEqual(self.helpers(self.auth), {"keep.example": "keyring"})
        r = self.configure("--remove", "a.example")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"not routed to this helper, nothing to change", r.out)
        self.assertIn(b"nothing changed", r.out)

    def test_remove_clears_a_key_no_client_sends(self):
        # What an older configure wrote as typed: --remove takes the literal key and the host.
        self.write(self.docker, json.dumps({"credHelpers": {
            "https://Reg.Example/v2/": "keyring", "reg.example": "keyring", "x/y": "keyring"}}))
        r = self.configure("--remove", "https://Reg.Example/v2/", "x/y")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.helpers(self.docker), {})

    def test_remove_store(self):
        self.write(self.docker, '{"credsStore": "keyring"}')
        r = self.configure("--remove", "--store")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(self.read(self.docker)), {})
        self.write(self.docker, '{"credsStore": "desktop"}')
        r = self.configure("--remove", "--store")
        self.assertIn(b'credsStore names another helper ("desktop"): left in place', r.out)
        self.assertEqual(json.loads(self.read(self.docker)), {"credsStore": "desktop"})

    # --- symbolic links -------------------------------------------------------------------

    def test_dangling_symlink_is_followed_and_its_target_created(self):
        dotfiles = os.path.join(self.dir, "dotfiles")
        os.makedirs(dotfiles)
        os.makedirs(os.path.dirname(self.docker))
        os.symlink("../../dotfiles/docker.json", self.docker)  # relative, to nothing yet
        r = self.configure("a.example")
        self.assertEqual(r.rc, 0, r)
        target = os.path.join(self.home, ".docker", "../../dotfiles/docker.json")
        self.assertIn(("%s: created %s, where its symbolic link points:\n"
                       % (self.docker, target)).encode(), r.out)
        self.assertTrue(os.path.islink(self.docker))
        self.assertEqual(os.readlink(self.docker), "../../dotfiles/docker.json")
        self.assertEqual(self.helpers(os.path.join(dotfiles, "docker.json")), {"a.example": "keyring"})
        self.assertEqual(mode(os.path.join(dotfiles, "docker.json")), 0o600)
        r = self.configure("b.example")  # and from then on the link's file is changed in place
        self.assertTrue(os.path.islink(self.docker))
        self.assertEqual(self.helpers(self.docker), {"a.example": "keyring", "b.example": "keyring"})

    def test_symlink_into_a_missing_directory_is_refused(self):
        os.makedirs(os.path.dirname(self.docker))
        target = os.path.join(self.dir, "not-cloned-yet", "docker.json")
        os.symlink(target, self.docker)
        r = self.configure("a.example")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out.decode(), (
            "%s: refusing to change it: %s is a symbolic link to %s, whose directory does not "
            "exist: create that directory, or remove the link\nnothing was changed\n")
            % (self.docker, self.docker, target))
        self.assertEqual(os.readlink(self.docker), target)
        self.assertFalse(os.path.exists(self.auth))

    # --- no password left in freed memory -------------------------------------------------

    def test_no_password_from_the_files_left_in_freed_memory(self):
        with open(BIN, "rb") as f:
            if b"__asan_init" in f.read():
                self.skipTest("AddressSanitizer owns free() in this build")
        shim = os.path.join(self.dir, "free_shim.so")
        src = shim[:-3] + ".c"
        with open(src, "wb") as f:
            f.write(FREE_SHIM)
        if shutil.which("cc") is None:
            self.skipTest("no C compiler (cc) for the free() shim")
        cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", shim, src, "-ldl"],
                            stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr.decode(errors="replace"))
        # Positive control: a program that frees a block holding the marker, under the same
        # preload, must be reported; else the shim is not in effect and every "not found"
        # below would pass for nothing.
        control = os.path.join(self.dir, "frees_marker")
        with open(control + ".c", "wb") as f:
            f.write(FREES_MARKER)
        cc = subprocess.run(["cc", "-O0", "-o", control, control + ".c"], stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr.decode(errors="replace"))
        p = subprocess.run([control], env=dict(self.env, LD_PRELOAD=shim, SHIM_MARKER=MARK),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertEqual((p.returncode, p.stderr), (0, b"SHIM: the secret in a freed block\n"), p)
        # Passwords first, then enough text that a growing buffer must move after them.
        cfg = {"auths": {"a.example": {"auth": MARK + "YWxpY2U6cHc="},
                         "b.example": {"identitytoken": MARK + "-token"}},
               "psFormat": "x" * 5000}
        self.write(self.docker, json.dumps(cfg))
        self.write(self.auth, json.dumps({"auths": {"a.example": {"auth": MARK + "YWxpY2U6cHc="}}}))
        env = dict(self.env, LD_PRELOAD=shim, SHIM_MARKER=MARK)
        for args in (["configure", "a.example"], ["configure", "--store"],
                     ["configure", "--remove", "a.example"], ["doctor"]):
            with self.subTest(args=args):
                r = run(env, None, args=args)
                self.assertIn(r.rc, (0, 1), r)
                self.assertNotIn(b"SHIM:", r.err, r)
        # the shim sees what it looks for: the text is in what configure wrote
        self.assertIn(MARK, self.read(self.docker))
        r = run(env, None, args=["configure", "--dry-run", "c.example"])
        self.assertNotIn(b"SHIM:", r.err, r)


class ConfigureRancher(Configure):
    """configure --rancher: the registries a configured Rancher (the fake, over TLS) holds an
    active credential for, Docker Hub under the keys docker and podman look up."""
    HUB = ["https://index.docker.io/v1/", "docker.io"]

    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="dck-configure-certs-")
        subprocess.run(["sh", MKCA, cls.certs], check=True, timeout=60)
        cls.fake = FakeServer("fake_rancher.py", cls.certs)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        super().setUp()
        for var in list(self.env):
            if var.startswith(("RANCHER_", "CATTLE_", "DOCKER_CREDENTIAL_KEYRING_")) and \
                    var != "DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING":  # the session's own
                del self.env[var]
        self.fake.control("POST", "reset")
        self.fake.control("POST", "seed", {"registries": [
            {"project": "1a5", "serverAddress": host,
             "credentials": [{"publicValue": "u", "secretValue": "s", "state": state}]}
            for host, state in (("Registry.Example.com:5000", "active"), ("index.docker.io", "active"),
                                ("quay.io", "active"), ("old.example.com", "inactive"))]})
        self.env.update(RANCHER_URL="https://localhost:%d/v2-beta/projects/1a5" % self.fake.port,
                        RANCHER_ACCESS_KEY="envkey", RANCHER_SECRET_KEY="envsecret",
                        DOCKER_CREDENTIAL_KEYRING_RANCHER_CA_FILE=os.path.join(self.certs, "ca.pem"))

    # The inherited tests run again with a Rancher configured: it must change nothing for them.

    def test_a_hostile_registry_name_reaches_no_terminal(self):
        # Rancher's serverAddress is printed: an escape sequence in it must not be.
        self.fake.control("POST", "seed", {"registries": [
            {"project": "1a5", "serverAddress": "evil.example/\x1b[2J\x1b]0;owned\x07",
             "credentials": [{"publicValue": "u", "secretValue": "s", "state": "active"}]}]})
        r = self.configure("--rancher", "--dry-run", "a.example")
        self.assertNotIn(b"\x1b", r.out + r.err, r)
        self.assertNotIn(b"\x07", r.out + r.err, r)
        self.assertIn(b"(a name with control characters)", r.out, r)

    def test_rancher_registries_are_wired(self):
        r = self.configure("--rancher", "a.example")
        self.assertEqual(r.rc, 0, r)
        out = r.out.decode().splitlines()
        self.assertEqual(out[0], "rancher: 3 registries with an active credential: "
                                 "Registry.Example.com:5000 index.docker.io quay.io", r)
        self.assertEqual(out[-1], "rancher's registries: no login needed: credentials come from "
                                  "Rancher", r)
        docker = {"a.example": "keyring", "registry.example.com:5000": "keyring",
                  "https://index.docker.io/v1/": "keyring", "docker.io": "keyring",
                  "quay.io": "keyring"}
        # The auth file is read by podman, buildah and skopeo only: no docker key there.
        auth = {"a.example": "keyring", "registry.example.com:5000": "keyring",
                "docker.io": "keyring", "quay.io": "keyring"}
        for path, want in ((self.docker, docker), (self.auth, auth)):
            helpers = json.loads(self.read(path))["credHelpers"]
            self.assertEqual(helpers, want, path)
            self.assertEqual(list(helpers), list(want), path)
        self.assertEqual([q["method"] for q in self.fake.control("GET", "requests")], ["GET", "GET"])
        r = self.configure("--rancher", "a.example")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b"nothing changed", r.out)

    def test_rancher_hosts_setting_limits_what_is_wired(self):
        self.env["DOCKER_CREDENTIAL_KEYRING_RANCHER_HOSTS"] = "quay.io"
        r = self.configure("--rancher", "--dry-run")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(b'credHelpers["quay.io"] = "keyring"', r.out)
        self.assertNotIn(b"docker.io", r.out)
        self.assertFalse(os.path.exists(self.docker))

    def test_rancher_not_configured_is_one_clear_line(self):
        del self.env["RANCHER_URL"]
        r = self.configure("--rancher", "a.example")
        self.assertEqual((r.rc, r.out), (1, b"configure: --rancher: no Rancher is configured: set "
                                            b"RANCHER_URL and RANCHER_ACCESS_KEY (and "
                                            b"RANCHER_SECRET_KEY, or save it with "
                                            b"`docker-credential-keyring login rancher`), or url "
                                            b"and access-key in the [rancher] section of the "
                                            b"config file\n"), r)
        self.assertFalse(os.path.exists(self.docker))
        self.assertFalse(os.path.exists(self.auth))

    def test_rancher_refusing_the_key_changes_nothing(self):
        self.env["RANCHER_SECRET_KEY"] = "wrong"
        r = self.configure("--rancher", "a.example")
        self.assertEqual((r.rc, r.out), (1, (
            "configure: --rancher: cannot get the registries from Rancher: Rancher at "
            "localhost:%d refused the API key envkey (401 Unauthorized): check RANCHER_ACCESS_KEY "
            "and RANCHER_SECRET_KEY\n" % self.fake.port).encode()), r)
        self.assertFalse(os.path.exists(self.docker))

    def test_broken_rancher_setting_stops_only_rancher(self):
        self.env["DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT"] = "bad"
        r = self.configure("--rancher", "a.example")
        self.assertEqual((r.rc, r.out), (1, b"configure: --rancher: "
                                            b"DOCKER_CREDENTIAL_KEYRING_RANCHER_PROJECT: expected an "
                                            b"environment id like 1a5, got bad\n"), r)
        self.assertFalse(os.path.exists(self.docker))
        r = self.configure("a.example")  # named hosts do not need the sources
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(self.read(self.docker)), {"credHelpers": {"a.example": "keyring"}})

    def test_rancher_without_registries(self):
        self.fake.control("POST", "reset")
        r = self.configure("--rancher")
        self.assertEqual((r.rc, r.out), (1, b"rancher: no registry with an active credential: "
                                            b"nothing to do\n"), r)
        self.assertFalse(os.path.exists(self.docker))


class DoctorNoBus(unittest.TestCase):
    def test_no_bus_shows_the_problem_and_a_fix(self):
        d = tempfile.mkdtemp(prefix="dck-doctor-")
        try:
            env = dict(os.environ)
            for var in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "DOCKER_CONFIG",
                        "REGISTRY_AUTH_FILE"):
                env.pop(var, None)
            env.update(HOME=d, XDG_RUNTIME_DIR=os.path.join(d, "run"),
                       DOCKER_CREDENTIAL_KEYRING_KERNEL_KEYRING=kernel_keyring_name(d))
            # No bus at all: the kernel keyring is the store, and doctor says it does not last.
            r = run(env, "doctor")
            self.assertEqual(r.rc, 1, r)  # the routing problem below
            self.assertIn(b"session bus: none", r.out)
            self.assertRegex(r.out, rb"keyring: the kernel keyring \"dck-test-[^\"]+\" \([^)]+\): "
                                    rb"0 entries; .*entries do not survive a reboot\n")
            lines = r.out.decode().splitlines()
            self.assertIn("routing: no config file sends any registry to this helper", lines)
            # The Secret Service forced: the missing bus is the problem, with a fix.
            r = run(dict(env, DOCKER_CREDENTIAL_KEYRING_STORE="secret-service"), "doctor")
            self.assertIn(b"keyring: no D-Bus session bus", r.out)
            lines = r.out.decode().splitlines()
            i = next(n for n, l in enumerate(lines) if l.startswith("keyring:"))
            self.assertTrue(lines[i + 1].strip().startswith("fix: "), r)
        finally:
            forget_kernel_keyring(kernel_keyring_name(d))
            shutil.rmtree(d, ignore_errors=True)


class DoctorWithKeyring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ks = KeyringSession().start()

    @classmethod
    def tearDownClass(cls):
        cls.ks.stop()

    def test_keyring_answers_and_routes_are_listed(self):
        env = dict(self.ks.env)
        self.assertEqual(run(env, None, args=["configure", "a.example"]).rc, 0)
        r = run(env, "doctor")
        out = r.out.decode()
        self.assertIn("keyring: the Secret Service answers", out)
        self.assertIn("credHelpers: a.example -> keyring", out)
        self.assertNotIn("keyring: no", out)
        # The binary under test is not on PATH here: that is the one problem left.
        env["PATH"] = os.path.dirname(os.path.abspath(os.environ.get("DCK_BIN", "x"))) + ":" + \
            env.get("PATH", "")
        r = run(env, "doctor")
        if os.path.basename(os.environ.get("DCK_BIN", "")) == "docker-credential-keyring":
            self.assertEqual((r.rc, r.out.count(b"fix:")), (0, 0), r)
            self.assertIn(b"no problems found", r.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
